// Package fakedrive is an in-process fake of the parts of the Google Drive v3
// API and of Google's OAuth token endpoint that rclone's drive backend uses,
// so that tests can run the real backend without reaching Google.
//
// The fake is an httptest TLS server with its own certificate for
// *.googleapis.com, reached through a small CONNECT proxy that sends every
// host to it. Context (or Configure) points an rclone configuration at the
// proxy and trusts the certificate; nothing else needs to change, so the
// production code path (service-account JSON, token_uri, files API, upload
// URLs) runs unmodified.
//
// It serves: the JWT-bearer token grant at the service account's token_uri;
// files.list with the subset of the q language rclone sends; files.get
// (metadata, and alt=media with Range); files.create (metadata only,
// multipart and resumable uploads, which answer 308 until the last chunk);
// files.update (rename, addParents/removeParents, properties, trash, and
// content through the upload URL); files.delete; drives.get; about.get.
// Access follows a small model of Shared Drive roles (see Role constants)
// and of My Drive ownership. Faults are injected through SetFault.
//
// Files' JSON is the google.golang.org/api/drive/v3 types, cut down to the
// fields a request asks for, as Google does.
package fakedrive

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rclone/rclone/fs"
	drive "google.golang.org/api/drive/v3"
)

// FolderMimeType is the MIME type of a Drive folder.
const FolderMimeType = "application/vnd.google-apps.folder"

// Shared Drive roles, as the Drive API names them. The web interface calls
// them Manager, Content manager, Contributor, Commenter and Viewer.
const (
	RoleOrganizer     = "organizer"
	RoleFileOrganizer = "fileOrganizer" // Content manager
	RoleWriter        = "writer"        // Contributor: may add and edit, not move or delete (a trash answers 403, a delete 404)
	RoleCommenter     = "commenter"
	RoleReader        = "reader"
	roleOwner         = "owner" // of a file in the caller's own My Drive
)

// Hosts the fake answers for; the proxy sends every CONNECT to the fake,
// whatever the host, so a request to anywhere else fails visibly instead of
// leaving the machine.
var googleHosts = []string{"www.googleapis.com", "oauth2.googleapis.com", "googleapis.com", "content.googleapis.com"}

// Server is a fake Google Drive. Create it with New.
type Server struct {
	// MaxPageSize caps files.list pages (Google caps them at 1000), so
	// that tests can make rclone follow nextPageToken.
	MaxPageSize int

	t        testing.TB
	api      *httptest.Server
	proxy    *httptest.Server
	caFile   string
	tokenURI string

	mu       sync.Mutex
	fault    func(Call) *Fault
	files    map[string]*entry
	seq      int
	drives   map[string]*sharedDrive
	accounts map[string]*account
	tokens   map[string]issuedToken
	sessions map[string]*session
	counts   map[string]int
	connects []string
	requests []string
}

type entry struct {
	f     *drive.File
	data  []byte
	owner string // for My Drive items: the account whose drive it is
	seq   int
}

type sharedDrive struct {
	id, name string
	members  map[string]string // email -> role
}

type issuedToken struct {
	email  string
	scope  string
	expiry time.Time
}

// New starts a fake Drive for the test and stops it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		MaxPageSize: 1000,
		t:           t,
		tokenURI:    "https://oauth2.googleapis.com/token",
		files:       map[string]*entry{},
		drives:      map[string]*sharedDrive{},
		accounts:    map[string]*account{},
		tokens:      map[string]issuedToken{},
		sessions:    map[string]*session{},
		counts:      map[string]int{},
	}
	s.startTLS(t)
	s.startProxy(t)
	return s
}

// TokenURI is the token endpoint written into service-account JSON keys.
func (s *Server) TokenURI() string { return s.tokenURI }

// ProxyURL is the URL of the CONNECT proxy in front of the fake.
func (s *Server) ProxyURL() string { return s.proxy.URL }

// CAFile is a PEM file holding the certificate the fake presents.
func (s *Server) CAFile() string { return s.caFile }

// Configure points an rclone configuration at the fake: every HTTPS
// request goes through its proxy, and its certificate is trusted.
// Certificate checks stay on.
func (s *Server) Configure(ci *fs.ConfigInfo) {
	ci.HTTPProxy = s.proxy.URL
	ci.CaCert = []string{s.caFile}
}

// Context returns ctx with an rclone configuration pointed at the fake
// (see Configure).
func (s *Server) Context(ctx context.Context) context.Context {
	ctx, ci := fs.AddConfig(ctx)
	s.Configure(ci)
	return ctx
}

// ConfigureGlobal points rclone's global configuration at the fake, for
// code that builds its own context, and restores it when the test ends.
// Tests using it must not run in parallel with other rclone tests.
func (s *Server) ConfigureGlobal(t testing.TB) {
	ci := fs.GetConfig(context.Background())
	proxy, ca := ci.HTTPProxy, ci.CaCert
	s.Configure(ci)
	t.Cleanup(func() { ci.HTTPProxy, ci.CaCert = proxy, ca })
}

// SetFault installs the fault hook: it is called for every request before
// the request is handled, and a non-nil Fault replaces the normal handling.
// nil removes the hook.
func (s *Server) SetFault(f func(Call) *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// Count returns how many requests of op the fake has received, faulted
// ones included.
func (s *Server) Count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[op]
}

// Connects returns the host:port of every CONNECT the proxy has served.
func (s *Server) Connects() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.connects)
}

// Requests returns one line per request served: operation, method, path
// and status.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Tokens returns every access token the fake has issued.
func (s *Server) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.tokens))
	for tok := range s.tokens {
		out = append(out, tok)
	}
	sort.Strings(out)
	return out
}

// NewSharedDrive creates a Shared Drive and returns its ID, which is also
// the ID of its root folder.
func (s *Server) NewSharedDrive(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newID("0A")
	s.drives[id] = &sharedDrive{id: id, name: name, members: map[string]string{}}
	s.add(&entry{f: &drive.File{Id: id, Name: name, MimeType: FolderMimeType, DriveId: id}})
	return id
}

// AddMember gives the account email a role on the Shared Drive.
func (s *Server) AddMember(driveID, email, role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.drives[driveID]
	if d == nil {
		s.t.Fatalf("fakedrive: no shared drive %q", driveID)
	}
	d.members[email] = role
}

// NewFolder creates a folder named name in the folder parentID and returns
// its ID. The folder is in the same drive as its parent and owned by the
// parent's owner.
func (s *Server) NewFolder(parentID, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.files[parentID]
	if p == nil {
		s.t.Fatalf("fakedrive: no folder %q", parentID)
	}
	e := &entry{f: &drive.File{Name: name, MimeType: FolderMimeType, Parents: []string{parentID}, DriveId: p.f.DriveId}, owner: p.owner}
	e.f.Id = s.newID("1")
	s.add(e)
	return e.f.Id
}

// MyDriveRoot returns the ID of the root folder of the account's own My
// Drive, creating it on first use.
func (s *Server) MyDriveRoot(email string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.myRoot(email)
}

func (s *Server) myRoot(email string) string {
	for _, e := range s.files {
		if e.owner == email && len(e.f.Parents) == 0 && e.f.DriveId == "" {
			return e.f.Id
		}
	}
	e := &entry{f: &drive.File{Id: s.newID("0A"), Name: "My Drive", MimeType: FolderMimeType}, owner: email}
	s.add(e)
	return e.f.Id
}

// File is a snapshot of one item in the fake, for assertions.
type File struct {
	ID         string
	Name       string
	MimeType   string
	Parents    []string
	Trashed    bool
	Properties map[string]string
	Data       []byte
}

// Children returns the items whose parent is folderID, trashed ones
// included, oldest first.
func (s *Server) Children(folderID string) []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []File
	for _, e := range s.sorted() {
		if slices.Contains(e.f.Parents, folderID) {
			out = append(out, File{
				ID: e.f.Id, Name: e.f.Name, MimeType: e.f.MimeType, Parents: slices.Clone(e.f.Parents),
				Trashed: e.f.Trashed, Properties: cloneMap(e.f.Properties), Data: slices.Clone(e.data),
			})
		}
	}
	return out
}

// PutFile stores a file in folderID directly, as another program would
// have uploaded it, and returns its ID.
func (s *Server) PutFile(folderID, name string, data []byte, props map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.files[folderID]
	if p == nil {
		s.t.Fatalf("fakedrive: no folder %q", folderID)
	}
	e := &entry{f: &drive.File{Id: s.newID("1"), Name: name, MimeType: "application/octet-stream",
		Parents: []string{folderID}, DriveId: p.f.DriveId, Properties: cloneMap(props)}, owner: p.owner}
	s.setContent(e, data)
	s.add(e)
	return e.f.Id
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s *Server) sorted() []*entry {
	out := make([]*entry, 0, len(s.files))
	for _, e := range s.files {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

func (s *Server) add(e *entry) {
	s.seq++
	e.seq = s.seq
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if e.f.CreatedTime == "" {
		e.f.CreatedTime = now
	}
	if e.f.ModifiedTime == "" {
		e.f.ModifiedTime = now
	}
	s.files[e.f.Id] = e
}

func (s *Server) setContent(e *entry, data []byte) {
	e.data = data
	m, s1, s256 := md5.Sum(data), sha1.Sum(data), sha256.Sum256(data)
	e.f.Md5Checksum = hex.EncodeToString(m[:])
	e.f.Sha1Checksum = hex.EncodeToString(s1[:])
	e.f.Sha256Checksum = hex.EncodeToString(s256[:])
	e.f.Size = int64(len(data))
}

// newID returns a random ID that looks like Drive's.
func (s *Server) newID(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// role returns the caller's role on e, or "" when it may not see e.
func (s *Server) role(email string, e *entry) string {
	if e.f.DriveId != "" {
		if d := s.drives[e.f.DriveId]; d != nil {
			return d.members[email]
		}
		return ""
	}
	if e.owner == email {
		return roleOwner
	}
	return ""
}

func canWrite(role string) bool {
	switch role {
	case roleOwner, RoleOrganizer, RoleFileOrganizer, RoleWriter:
		return true
	}
	return false
}

// canOrganize says whether the role may move, trash and delete.
func canOrganize(role string) bool {
	switch role {
	case roleOwner, RoleOrganizer, RoleFileOrganizer:
		return true
	}
	return false
}

func capabilities(role string, folder bool) *drive.FileCapabilities {
	w, o := canWrite(role), canOrganize(role)
	return &drive.FileCapabilities{
		CanAddChildren:         w && folder,
		CanListChildren:        folder && role != "",
		CanDownload:            role != "",
		CanEdit:                w,
		CanRename:              w,
		CanTrash:               o,
		CanDelete:              o,
		CanMoveItemWithinDrive: o,
		CanTrashChildren:       o && folder,
		CanDeleteChildren:      o && folder,
	}
}

// apiError is Google's JSON error body.
type apiError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Errors  []struct {
			Domain  string `json:"domain"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"errors"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, code int, reason, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	e.Error.Errors = append(e.Error.Errors, struct {
		Domain  string `json:"domain"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}{"global", reason, msg})
	writeJSON(w, code, e)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter, id string) {
	writeError(w, http.StatusNotFound, "notFound", fmt.Sprintf("File not found: %s.", id))
}

func forbidden(w http.ResponseWriter, what string) {
	writeError(w, http.StatusForbidden, "insufficientFilePermissions",
		"The user does not have sufficient permissions for this file. ("+what+")")
}

// Trash moves the item to the trash, as a person might in the web
// interface.
func (s *Server) Trash(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.files[id]; e != nil {
		e.f.Trashed = true
	}
}

package storage

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/rclone/rclone/fs"
	"github.com/rclone/rclone/fs/fshttp"
	"github.com/rclone/rclone/lib/env"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	drive "google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
)

// folderIDPattern is what a Drive file ID is made of.
var folderIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// ValidFolderID reports whether id looks like a Google Drive folder ID (and
// not, say, a whole folder URL).
func ValidFolderID(id string) bool { return folderIDPattern.MatchString(id) }

// DriveRemote returns the rclone remote string for the Drive folder with
// the given ID, reached through the configured remote name (for example
// "gdrive", set up by RCLONE_CONFIG_GDRIVE_*). The ID goes into rclone's
// root_folder_id option: "gdrive:<ID>" would name a folder called <ID>.
func DriveRemote(name, folderID string) string {
	return name + ",root_folder_id='" + strings.ReplaceAll(folderID, "'", "''") + "':"
}

// OpenOption changes how Open opens a remote.
type OpenOption func(*openConfig)

type openConfig struct {
	folderSource string
	s3           *S3Settings // the S3 shortcut, see WithS3
}

// FolderSource names the setting a Drive folder ID came from (for example
// "GDRIVE_BACKUP_FOLDER_ID"), so that errors say what to change.
func FolderSource(setting string) OpenOption {
	return func(c *openConfig) { c.folderSource = setting }
}

// DriveSettings is how rclone reaches a Google Drive remote, read through
// rclone's own configuration lookup (connection string, RCLONE_CONFIG_*
// variables, config file, defaults), so it is what the backend will use.
type DriveSettings struct {
	Name         string // the remote's name, "gdrive"
	Path         string // the path below the root folder
	RootFolderID string // root_folder_id, "" for the drive's root
	TeamDrive    string // team_drive: the Shared Drive ID, "" for a My Drive
	Scope        string
	// FolderSource names the setting RootFolderID came from, for
	// messages; "" means the remote's own root_folder_id option.
	FolderSource string

	// UseTrash is rclone's use_trash: deletes move files to the trash
	// (the default), else they delete them permanently.
	UseTrash bool

	credentials     string // service-account JSON; secret, never printed
	credentialsFile string
	hasOAuthToken   bool
	envAuth         bool
}

// ReadDriveSettings reads the settings of remote. It reports false when
// remote is not a Google Drive remote.
func ReadDriveSettings(remote string) (DriveSettings, bool, error) {
	info, name, path, m, err := fs.ConfigFs(remote)
	if errors.Is(err, fs.ErrorNotFoundInConfigFile) {
		return DriveSettings{}, false, notConfigured(remote)
	}
	if err != nil {
		return DriveSettings{}, false, err
	}
	if info.Name != "drive" {
		return DriveSettings{}, false, nil
	}
	get := func(k string) string { v, _ := m.Get(k); return v }
	return DriveSettings{
		Name:            strings.TrimPrefix(name, ":"),
		Path:            path,
		RootFolderID:    get("root_folder_id"),
		TeamDrive:       get("team_drive"),
		Scope:           get("scope"),
		credentials:     get("service_account_credentials"),
		credentialsFile: get("service_account_file"),
		UseTrash:        get("use_trash") != "false",
		hasOAuthToken:   get("token") != "",
		envAuth:         get("env_auth") == "true",
	}, true, nil
}

// MayDelete reports whether an account with the given capabilities on a
// folder or Shared Drive (Drive's canTrashChildren, canDeleteChildren) may
// delete there the way rclone will: by trashing, unless use_trash is off.
func (d DriveSettings) MayDelete(canTrash, canDelete bool) bool {
	if d.UseTrash {
		return canTrash
	}
	return canDelete
}

// DeleteFix says what lets the service account (email, "" when unknown)
// delete in the remote: the words of every refused delete, of backupd
// status and of backupd doctor.
func (d DriveSettings) DeleteFix(email string) string {
	who := email
	if who == "" {
		who = "the account of remote " + d.Name
	}
	var fix string
	if d.TeamDrive != "" {
		fix = fmt.Sprintf("the service account may not delete in the Shared Drive; give it the Content Manager role (%s in Shared Drive %s)", who, d.TeamDrive)
	} else {
		fix = fmt.Sprintf("the service account may not delete in the folder: in a My Drive only a file's owner may delete it (%s); keep the backups in a Shared Drive (%s) and give the service account the Content Manager role",
			who, d.Var("team_drive"))
	}
	if !d.UseTrash {
		fix += fmt.Sprintf("; %s=false makes rclone delete permanently, which takes more than trashing: unset it", d.Var("use_trash"))
	}
	return fix
}

// Var names the environment variable that sets option key of this
// remote, "RCLONE_CONFIG_GDRIVE_TEAM_DRIVE".
func (d DriveSettings) Var(key string) string { return fs.ConfigToEnv(d.Name, key) }

// HasCredentials reports whether any way to authenticate is configured.
func (d DriveSettings) HasCredentials() bool {
	return d.credentials != "" || d.credentialsFile != "" || d.hasOAuthToken || d.envAuth
}

// ServiceAccount is the public part of a service-account key.
type ServiceAccount struct {
	Email    string
	Project  string
	TokenURI string
}

// ServiceAccount parses the configured service-account key and checks
// that its private key can be read. Errors never quote the key.
func (d DriveSettings) ServiceAccount() (ServiceAccount, error) {
	raw, err := d.keyJSON()
	if err != nil {
		return ServiceAccount{}, err
	}
	var key struct {
		Type       string `json:"type"`
		Email      string `json:"client_email"`
		Project    string `json:"project_id"`
		TokenURI   string `json:"token_uri"`
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal(raw, &key); err != nil {
		return ServiceAccount{}, fmt.Errorf("%s is not JSON (%s): paste the whole key file the Google Cloud console downloaded",
			d.keySource(), jsonErrorPlace(err))
	}
	if key.Type != "service_account" || key.Email == "" || key.PrivateKey == "" {
		return ServiceAccount{}, fmt.Errorf("%s is not a service-account key (type %q): create a JSON key for the service account in the Google Cloud console",
			d.keySource(), key.Type)
	}
	if err := checkPrivateKey(key.PrivateKey); err != nil {
		return ServiceAccount{}, fmt.Errorf("the private key in %s cannot be read (%v): create a new JSON key for %s",
			d.keySource(), err, key.Email)
	}
	uri := key.TokenURI
	if uri == "" {
		uri = google.Endpoint.TokenURL
	}
	return ServiceAccount{Email: key.Email, Project: key.Project, TokenURI: uri}, nil
}

// keyJSON returns the service-account key: the credentials option, else
// the file the service_account_file option names, as rclone reads them.
func (d DriveSettings) keyJSON() ([]byte, error) {
	switch {
	case d.credentials != "":
		return []byte(d.credentials), nil
	case d.credentialsFile != "":
		b, err := os.ReadFile(env.ShellExpand(d.credentialsFile))
		if err != nil {
			return nil, fmt.Errorf("read the service-account key named by %s: %w", d.Var("service_account_file"), err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("no service-account key: set %s to the JSON key of the service account", d.Var("service_account_credentials"))
}

// keySource names where the key comes from, for messages.
func (d DriveSettings) keySource() string {
	if d.credentials == "" && d.credentialsFile != "" {
		return "the file " + d.credentialsFile + " (" + d.Var("service_account_file") + ")"
	}
	return d.Var("service_account_credentials")
}

// jsonErrorPlace describes a JSON syntax error by position only: the
// error's own text may quote a character of the secret.
func jsonErrorPlace(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	return "not a JSON object"
}

func checkPrivateKey(p string) error {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return errors.New("no PEM block")
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return nil
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return nil
	}
	return errors.New("neither PKCS#8 nor PKCS#1")
}

// driveScopes turns rclone's scope option into OAuth scopes, as the
// backend does.
func driveScopes(scope string) []string {
	if scope == "" {
		scope = "drive"
	}
	var out []string
	for _, s := range strings.Split(scope, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, "https://www.googleapis.com/auth/"+s)
		}
	}
	return out
}

// DriveClient talks to the Drive API directly, with the remote's service
// account and rclone's HTTP settings (proxy, certificates, timeouts), to
// check a configuration in ways rclone does not expose.
type DriveClient struct {
	svc   *drive.Service
	ts    oauth2.TokenSource
	hints *driveHints
}

// Client returns a DriveClient for the remote's service account.
func (d DriveSettings) Client(ctx context.Context) (*DriveClient, error) {
	sa, err := d.ServiceAccount()
	if err != nil {
		return nil, err
	}
	raw, err := d.keyJSON()
	if err != nil {
		return nil, err
	}
	conf, err := google.JWTConfigFromJSON(raw, driveScopes(d.Scope)...)
	if err != nil {
		return nil, fmt.Errorf("read service-account key: %s", jsonErrorPlace(err))
	}
	base := fshttp.NewClient(ctx)
	ctx = context.WithValue(ctx, oauth2.HTTPClient, base)
	ts := conf.TokenSource(ctx)
	svc, err := drive.NewService(ctx, option.WithHTTPClient(oauth2.NewClient(ctx, ts)))
	if err != nil {
		return nil, fmt.Errorf("drive client: %w", err)
	}
	return &DriveClient{svc: svc, ts: ts, hints: &driveHints{settings: d, email: sa.Email}}, nil
}

// Token fetches an access token and returns when it expires. The token
// itself is never returned.
func (c *DriveClient) Token(ctx context.Context) (time.Time, error) {
	tok, err := c.ts.Token()
	if err != nil {
		return time.Time{}, c.hints.explain(err)
	}
	return tok.Expiry, nil
}

// SharedDrive describes a Shared Drive as the service account sees it.
type SharedDrive struct {
	ID, Name  string
	CanAdd    bool // may create files
	CanTrash  bool // may move files to the trash: retention needs it (see DriveSettings.MayDelete)
	CanDelete bool // may delete files permanently
}

// SharedDrive reads the Shared Drive with the given ID.
func (c *DriveClient) SharedDrive(ctx context.Context, id string) (SharedDrive, error) {
	d, err := c.svc.Drives.Get(id).Fields("id,name,capabilities").Context(ctx).Do()
	if err != nil {
		return SharedDrive{}, c.hints.explain(err)
	}
	out := SharedDrive{ID: d.Id, Name: d.Name}
	if cp := d.Capabilities; cp != nil {
		out.CanAdd, out.CanTrash, out.CanDelete = cp.CanAddChildren, cp.CanTrashChildren, cp.CanDeleteChildren
	}
	return out, nil
}

// Folder describes a Drive folder as the service account sees it.
type Folder struct {
	ID, Name  string
	IsFolder  bool
	Trashed   bool
	DriveID   string // the Shared Drive holding it, "" for a My Drive
	CanAdd    bool   // may create files in it
	CanTrash  bool   // may move files in it to the trash
	CanDelete bool   // may delete files in it permanently
}

// Folder reads the folder with the given ID.
func (c *DriveClient) Folder(ctx context.Context, id string) (Folder, error) {
	f, err := c.svc.Files.Get(id).SupportsAllDrives(true).
		Fields("id,name,mimeType,trashed,driveId,capabilities(canAddChildren,canTrashChildren,canDeleteChildren)").
		Context(ctx).Do()
	if err != nil {
		return Folder{}, c.hints.explain(err)
	}
	out := Folder{ID: f.Id, Name: f.Name, IsFolder: f.MimeType == "application/vnd.google-apps.folder", Trashed: f.Trashed, DriveID: f.DriveId}
	if cp := f.Capabilities; cp != nil {
		out.CanAdd, out.CanTrash, out.CanDelete = cp.CanAddChildren, cp.CanTrashChildren, cp.CanDeleteChildren
	}
	return out, nil
}

// FoldersNamed returns the IDs of the folders called name directly in the
// folder parentID of the Shared Drive driveID ("" for a My Drive).
func (c *DriveClient) FoldersNamed(ctx context.Context, parentID, driveID, name string) ([]string, error) {
	q := fmt.Sprintf("'%s' in parents and name = '%s' and mimeType = 'application/vnd.google-apps.folder' and trashed = false",
		queryQuote(parentID), queryQuote(name))
	call := c.svc.Files.List().Q(q).Fields("files(id)").SupportsAllDrives(true).IncludeItemsFromAllDrives(true)
	if driveID != "" {
		call = call.Corpora("drive").DriveId(driveID)
	}
	list, err := call.Context(ctx).Do()
	if err != nil {
		return nil, c.hints.explain(err)
	}
	var ids []string
	for _, f := range list.Files {
		ids = append(ids, f.Id)
	}
	return ids, nil
}

func queryQuote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

// transientTokenError reports whether err is a failure to fetch an access
// token that retrying may cure: the token endpoint answered 5xx or 429, or
// the connection to it failed.
func transientTokenError(err error) bool {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.Response != nil && (re.Response.StatusCode >= 500 || re.Response.StatusCode == http.StatusTooManyRequests)
	}
	// The oauth2 package flattens network errors into text.
	return strings.Contains(err.Error(), "oauth2: cannot fetch token")
}

// uploadLimit reports whether a 403 is the daily upload limit, not a rate
// limit to back off from: the two share their reason and differ only in
// the message, which rclone's stop_on_upload_limit compares.
func uploadLimit(ge *googleapi.Error) bool {
	if len(ge.Errors) == 0 {
		return false
	}
	e := ge.Errors[0]
	return (e.Reason == "userRateLimitExceeded" || e.Reason == "rateLimitExceeded") && e.Message == "User rate limit exceeded."
}

// driveHints is what a Drive error message needs to say what to fix.
type driveHints struct {
	settings DriveSettings
	email    string // the service account, "" when unknown
}

// newDriveHints reads what error messages need from the remote's
// settings; the service account's address is taken from its key.
func newDriveHints(remote, folderSource string) *driveHints {
	d, ok, err := ReadDriveSettings(remote)
	if err != nil || !ok {
		return nil
	}
	var key struct {
		Email string `json:"client_email"`
	}
	if raw, err := d.keyJSON(); err == nil {
		_ = json.Unmarshal(raw, &key)
	}
	d.FolderSource = folderSource
	return &driveHints{settings: d, email: key.Email}
}

// DriveProblem classifies a Drive failure that retrying cannot fix.
type DriveProblem int

// The Drive problems that get an explanation.
const (
	FolderNotFound      DriveProblem = iota + 1 // the root folder does not exist or is not visible
	SharedDriveNotFound                         // the team_drive does not exist or the account is no member
	PermissionDenied                            // the account's role is too weak
	BadCredentials                              // the key or account was refused
	NoStorage                                   // the account or drive is out of storage
	ItemLimit                                   // the Shared Drive holds the most items Google allows
	UploadLimit                                 // the account uploaded 750 GB today
)

// DriveError is a Drive failure that retrying will not fix, with what to
// change. Err is the error from Google or rclone.
type DriveError struct {
	Problem DriveProblem
	Fix     string
	Err     error
}

// Error says what to fix, then quotes the underlying error.
func (e *DriveError) Error() string { return e.Fix + " (" + e.Err.Error() + ")" }

// Unwrap returns the underlying error.
func (e *DriveError) Unwrap() error { return e.Err }

func (h *driveHints) account() string {
	if h.email != "" {
		return "the service account " + h.email
	}
	return "the account of remote " + h.settings.Name
}

func (h *driveHints) folder() string {
	id := h.settings.RootFolderID
	if id == "" {
		return "the root folder of remote " + h.settings.Name
	}
	src := h.settings.FolderSource
	if src == "" {
		src = h.settings.Var("root_folder_id")
	}
	return fmt.Sprintf("folder %s (from %s)", id, src)
}

func (h *driveHints) grant() string {
	if h.settings.TeamDrive != "" {
		return fmt.Sprintf("add %s to the Shared Drive %s as Content manager", h.account(), h.settings.TeamDrive)
	}
	return fmt.Sprintf("share the folder with %s as Content manager (better: keep it in a Shared Drive and set %s)", h.account(), h.settings.Var("team_drive"))
}

// explain turns a permanent Drive failure into a DriveError that says what
// to fix; other errors are returned unchanged. A nil receiver explains
// nothing.
func (h *driveHints) explain(err error) error {
	if h == nil || err == nil {
		return err
	}
	var de *DriveError
	if errors.As(err, &de) {
		return err
	}
	credVar := h.settings.keySource()
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && !transientTokenError(err) {
		fix := fmt.Sprintf("Google refused the key of %s: create a new JSON key for it in the Google Cloud console (IAM > Service accounts > Keys) and put it in %s; if the account was disabled or deleted, enable or recreate it",
			h.account(), credVar)
		if re.ErrorCode == "invalid_scope" {
			fix = fmt.Sprintf("Google refused the OAuth scope %q: set %s=drive", h.settings.Scope, h.settings.Var("scope"))
		}
		return &DriveError{Problem: BadCredentials, Fix: fix, Err: err}
	}
	if msg := err.Error(); strings.Contains(msg, "error processing credentials") || strings.Contains(msg, "private key should be a PEM") {
		// The cause may quote the key's content: keep only the kind.
		return &DriveError{Problem: BadCredentials,
			Fix: fmt.Sprintf("%s does not hold a usable service-account JSON key: paste the whole key file the Google Cloud console downloaded", credVar),
			Err: errors.New("the service-account key could not be parsed")}
	}
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return err
	}
	reason := ""
	if len(ge.Errors) > 0 {
		reason = ge.Errors[0].Reason
	}
	switch {
	case ge.Code == http.StatusUnauthorized:
		return &DriveError{Problem: BadCredentials, Err: err,
			Fix: fmt.Sprintf("Google did not accept the credentials of %s: check the key in %s", h.account(), credVar)}
	case ge.Code == http.StatusNotFound && strings.Contains(ge.Message, "Shared drive not found"):
		return &DriveError{Problem: SharedDriveNotFound, Err: err,
			Fix: fmt.Sprintf("Shared Drive %s (from %s) not found, or %s is not a member: check the ID (the last part of the Shared Drive's URL) and add the service account to it as Content manager",
				h.settings.TeamDrive, h.settings.Var("team_drive"), h.account())}
	case ge.Code == http.StatusNotFound && h.settings.RootFolderID != "" && strings.Contains(ge.Message, h.settings.RootFolderID):
		return &DriveError{Problem: FolderNotFound, Err: err,
			Fix: fmt.Sprintf("Google Drive %s not found, or %s cannot see it: check the ID (the last part of the folder's URL) and %s",
				h.folder(), h.account(), h.grant())}
	case ge.Code == http.StatusForbidden && (reason == "storageQuotaExceeded" || reason == "quotaExceeded"):
		if h.settings.TeamDrive == "" {
			return &DriveError{Problem: NoStorage, Err: err,
				Fix: fmt.Sprintf("%s has no storage of its own: keep the backup folder in a Shared Drive and set %s to the Shared Drive's ID",
					h.account(), h.settings.Var("team_drive"))}
		}
		return &DriveError{Problem: NoStorage, Err: err,
			Fix: fmt.Sprintf("the Shared Drive %s is out of storage (the organisation's pooled storage, where trashed files count until the trash is emptied): empty the Shared Drive's trash, delete files or buy more storage; lowering the number of backups kept (--keep) helps from the next run",
				h.settings.TeamDrive)}
	case ge.Code == http.StatusForbidden && reason == "teamDriveFileLimitExceeded":
		return &DriveError{Problem: ItemLimit, Err: err,
			Fix: fmt.Sprintf("the Shared Drive %s holds the most files Google allows (400,000 files and folders, trashed ones included): empty its trash or move other files out of it, or keep the backups in another Shared Drive (%s)",
				h.settings.TeamDrive, h.settings.Var("team_drive"))}
	case ge.Code == http.StatusForbidden && uploadLimit(ge):
		return &DriveError{Problem: UploadLimit, Err: err,
			Fix: fmt.Sprintf("%s has reached Google's limit of 750 GB uploaded a day: uploads resume within 24 hours by themselves; if this repeats, find what else uploads with this account, or back up with an account of its own",
				h.account())}
	case ge.Code == http.StatusForbidden && reason != "rateLimitExceeded" && reason != "userRateLimitExceeded":
		return &DriveError{Problem: PermissionDenied, Err: err,
			Fix: fmt.Sprintf("%s may not change files in %s: %s (Contributors cannot rename or delete, Viewers and Commenters cannot upload)",
				h.account(), h.folder(), h.grant())}
	}
	return err
}

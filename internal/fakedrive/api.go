package fakedrive

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"time"

	drive "google.golang.org/api/drive/v3"
)

// ServeHTTP answers one request to the fake, after the fault hook.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, id := classify(r)
	s.mu.Lock()
	s.counts[op]++
	call := Call{Op: op, N: s.counts[op], FileID: id, Request: r}
	if op == OpUploadChunk {
		if sess := s.sessions[r.URL.Query().Get("upload_id")]; sess != nil {
			sess.requests++
			call.Chunk = sess.requests
			call.Name = sess.meta.Name
		}
	}
	hook := s.fault
	s.mu.Unlock()

	var f *Fault
	if hook != nil {
		f = hook(call)
	}
	rec := &statusRecorder{ResponseWriter: w}
	switch {
	case f != nil && f.Drop:
		_, _ = io.Copy(io.Discard, r.Body)
		dropConnection(w)
		rec.status = -1
	case f != nil && f.DropAfter:
		s.route(op, id, httptest.NewRecorder(), r)
		dropConnection(w)
		rec.status = -1
	case f != nil:
		_, _ = io.Copy(io.Discard, r.Body)
		msg := f.Message
		if msg == "" {
			msg = http.StatusText(f.Status)
		}
		writeError(rec, f.Status, f.Reason, msg)
	default:
		s.route(op, id, rec, r)
	}
	s.mu.Lock()
	s.requests = append(s.requests, fmt.Sprintf("%s %s %s %d", op, r.Method, r.URL.Path, rec.status))
	s.mu.Unlock()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("fakedrive: response writer cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		// Reset rather than a clean close, as a dropped connection looks.
		if tcp, ok := tc.NetConn().(*net.TCPConn); ok {
			_ = tcp.SetLinger(0)
		}
	}
	_ = conn.Close()
}

// classify names the operation of a request and the ID in its path.
func classify(r *http.Request) (op, id string) {
	p, q := r.URL.Path, r.URL.Query()
	switch {
	case p == "/token":
		return OpToken, ""
	case p == "/upload/drive/v3/files" || strings.HasPrefix(p, "/upload/drive/v3/files/"):
		id = strings.TrimPrefix(strings.TrimPrefix(p, "/upload/drive/v3/files"), "/")
		switch {
		case q.Get("upload_id") != "":
			return OpUploadChunk, id
		case q.Get("uploadType") == "resumable":
			return OpUploadStart, id
		default:
			return OpUploadMultipart, id
		}
	case p == "/drive/v3/files":
		if r.Method == http.MethodPost {
			return OpFilesCreate, ""
		}
		return OpFilesList, ""
	case strings.HasPrefix(p, "/drive/v3/files/"):
		id = strings.TrimPrefix(p, "/drive/v3/files/")
		if strings.Contains(id, "/") {
			return OpUnknown, id
		}
		switch r.Method {
		case http.MethodGet:
			if q.Get("alt") == "media" {
				return OpDownload, id
			}
			return OpFilesGet, id
		case http.MethodPatch:
			return OpFilesUpdate, id
		case http.MethodDelete:
			return OpFilesDelete, id
		}
	case strings.HasPrefix(p, "/drive/v3/drives/") && r.Method == http.MethodGet:
		return OpDrivesGet, strings.TrimPrefix(p, "/drive/v3/drives/")
	case p == "/drive/v3/about" && r.Method == http.MethodGet:
		return OpAboutGet, ""
	}
	return OpUnknown, ""
}

func (s *Server) route(op, id string, w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	if !slices.Contains(googleHosts, host) {
		writeError(w, http.StatusNotFound, "notFound", "fakedrive does not serve host "+host)
		return
	}
	if op == OpToken {
		s.token(w, r)
		return
	}
	email, ok := s.caller(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/"`)
		writeError(w, http.StatusUnauthorized, "authError",
			"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	}
	switch op {
	case OpFilesList:
		s.list(w, r, email)
	case OpFilesGet, OpDownload:
		s.get(w, r, email, id)
	case OpFilesCreate:
		s.createMeta(w, r, email)
	case OpFilesUpdate:
		s.update(w, r, email, id)
	case OpFilesDelete:
		s.delete(w, email, id)
	case OpUploadMultipart:
		s.uploadMultipart(w, r, email, id)
	case OpUploadStart:
		s.uploadStart(w, r, email, id)
	case OpUploadChunk:
		s.uploadChunk(w, r, email)
	case OpDrivesGet:
		s.driveGet(w, r, email, id)
	case OpAboutGet:
		s.about(w, r, email)
	default:
		writeError(w, http.StatusNotFound, "notFound", fmt.Sprintf("fakedrive does not serve %s %s", r.Method, r.URL.Path))
	}
}

// render turns e into JSON with the fields the mask asks for; an empty
// mask gives Google's default fields.
func (s *Server) render(e *entry, email, mask string) map[string]json.RawMessage {
	f := *e.f
	f.Kind = "drive#file"
	f.Capabilities = capabilities(s.role(email, e), e.f.MimeType == FolderMimeType)
	b, err := json.Marshal(&f)
	if err != nil {
		panic(err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		panic(err)
	}
	if e.f.MimeType != FolderMimeType {
		// Google sends these even when zero; omitempty drops them.
		all["size"] = json.RawMessage(strconv.Quote(strconv.FormatInt(e.f.Size, 10)))
	}
	if e.f.Trashed {
		all["trashed"] = json.RawMessage("true")
	} else {
		all["trashed"] = json.RawMessage("false")
	}
	if mask == "" {
		mask = "kind,id,name,mimeType"
	}
	return pick(all, parseMask(mask))
}

// parseMask splits a fields mask at its top-level commas into field name
// and sub-selection: "files(id,name),nextPageToken" gives files -> "id,name"
// and nextPageToken -> "".
func parseMask(mask string) map[string]string {
	out := map[string]string{}
	depth, start := 0, 0
	flush := func(part string) {
		part = strings.TrimSpace(part)
		if part == "" {
			return
		}
		name, sub := part, ""
		if i := strings.IndexByte(part, '('); i >= 0 && strings.HasSuffix(part, ")") {
			name, sub = part[:i], part[i+1:len(part)-1]
		}
		if i := strings.IndexByte(name, '/'); i >= 0 {
			name = name[:i]
		}
		out[name] = sub
	}
	for i, c := range mask {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				flush(mask[start:i])
				start = i + 1
			}
		}
	}
	flush(mask[start:])
	return out
}

func pick(all map[string]json.RawMessage, mask map[string]string) map[string]json.RawMessage {
	if _, ok := mask["*"]; ok {
		return all
	}
	out := map[string]json.RawMessage{}
	for k := range mask {
		if v, ok := all[k]; ok {
			out[k] = v
		}
	}
	return out
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, email string) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	match := func(*entry) bool { return true }
	var parents []string
	if qs := q.Get("q"); qs != "" {
		expr, err := parseQuery(qs)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid", "Invalid Value: "+err.Error())
			return
		}
		match = func(e *entry) bool { return expr.eval(s, e) }
		parents = expr.parents
	}
	driveID := q.Get("driveId")
	if q.Get("corpora") == "drive" || driveID != "" {
		if d := s.drives[driveID]; d == nil || d.members[email] == "" {
			writeError(w, http.StatusNotFound, "notFound", "Shared drive not found: "+driveID)
			return
		}
	}
	for _, p := range parents {
		if e := s.files[p]; e == nil || s.role(email, e) == "" {
			notFound(w, p)
			return
		}
	}
	allDrives := q.Get("includeItemsFromAllDrives") == "true"
	var found []*entry
	for _, e := range s.sorted() {
		switch {
		case len(e.f.Parents) == 0, s.role(email, e) == "":
			continue // roots are never listed; invisible items neither
		case driveID != "" && e.f.DriveId != driveID:
			continue
		case driveID == "" && e.f.DriveId != "" && !allDrives:
			continue
		case !match(e):
			continue
		}
		found = append(found, e)
	}
	size := 100
	if n, err := strconv.Atoi(q.Get("pageSize")); err == nil && n > 0 {
		size = n
	}
	size = min(size, s.MaxPageSize)
	start := 0
	if tok := q.Get("pageToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(found) {
			writeError(w, http.StatusBadRequest, "invalid", "Invalid Value: pageToken")
			return
		}
		start = n
	}
	end := min(start+size, len(found))
	mask := parseMask(q.Get("fields"))
	if q.Get("fields") == "" {
		mask = map[string]string{"kind": "", "files": "", "nextPageToken": "", "incompleteSearch": ""}
	}
	out := map[string]any{"kind": "drive#fileList", "incompleteSearch": false}
	files := make([]map[string]json.RawMessage, 0, end-start)
	for _, e := range found[start:end] {
		files = append(files, s.render(e, email, mask["files"]))
	}
	out["files"] = files
	if end < len(found) {
		out["nextPageToken"] = strconv.Itoa(end)
	}
	for k := range out {
		if _, ok := mask[k]; !ok {
			delete(out, k)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, email, id string) {
	s.mu.Lock()
	if id == "root" {
		id = s.myRoot(email)
	}
	e := s.files[id]
	if e == nil || s.role(email, e) == "" {
		s.mu.Unlock()
		notFound(w, id)
		return
	}
	if r.URL.Query().Get("alt") != "media" {
		out := s.render(e, email, r.URL.Query().Get("fields"))
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
		return
	}
	if e.f.MimeType == FolderMimeType {
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, "fileNotDownloadable", "Only files with binary content can be downloaded.")
		return
	}
	data, name, mime := e.data, e.f.Name, e.f.MimeType
	mod, _ := time.Parse(time.RFC3339Nano, e.f.ModifiedTime)
	s.mu.Unlock()
	w.Header().Set("Content-Type", mime)
	http.ServeContent(w, r, name, mod, bytes.NewReader(data))
}

// decodeBody reads a JSON file resource both as drive.File and as raw
// fields, so that updates can tell "absent" from "empty".
func decodeBody(r io.Reader) (*drive.File, map[string]json.RawMessage, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, err
	}
	meta, raw := new(drive.File), map[string]json.RawMessage{}
	if len(bytes.TrimSpace(b)) == 0 {
		return meta, raw, nil
	}
	if err := json.Unmarshal(b, meta); err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, nil, err
	}
	return meta, raw, nil
}

// failure is an error response to send.
type failure struct {
	status       int
	reason, msg  string
	notFoundFile string
}

func (f *failure) write(w http.ResponseWriter) {
	if f.notFoundFile != "" {
		notFound(w, f.notFoundFile)
		return
	}
	writeError(w, f.status, f.reason, f.msg)
}

func checkProperties(props map[string]string) *failure {
	for k, v := range props {
		if len(k)+len(v) > 124 {
			return &failure{status: http.StatusBadRequest, reason: "invalidProperty",
				msg: fmt.Sprintf("The property %q is too large: key and value together may have at most 124 bytes.", k)}
		}
	}
	return nil
}

// create adds a new file or folder from its metadata and content. Call
// with s.mu held.
func (s *Server) create(email string, meta *drive.File, data []byte, contentType string) (*entry, *failure) {
	parents := meta.Parents
	if len(parents) == 0 {
		parents = []string{s.myRoot(email)}
	}
	if len(parents) > 1 {
		return nil, &failure{status: http.StatusForbidden, reason: "cannotAddParent", msg: "Increasing the number of parents is not allowed."}
	}
	p := s.files[parents[0]]
	if p == nil || s.role(email, p) == "" {
		return nil, &failure{notFoundFile: parents[0]}
	}
	if p.f.MimeType != FolderMimeType {
		return nil, &failure{status: http.StatusBadRequest, reason: "invalidParent", msg: "The parent is not a folder."}
	}
	if !canWrite(s.role(email, p)) {
		return nil, &failure{status: http.StatusForbidden, reason: "insufficientFilePermissions",
			msg: "The user does not have sufficient permissions for this file. (add to folder)"}
	}
	if f := checkProperties(meta.Properties); f != nil {
		return nil, f
	}
	if f := s.checkQuota(p, int64(len(data))); f != nil {
		return nil, f
	}
	mime := meta.MimeType
	if mime == "" {
		mime = contentType
	}
	if mime == "" {
		mime = "application/octet-stream"
	}
	name := meta.Name
	if name == "" {
		name = "Untitled"
	}
	e := &entry{f: &drive.File{
		Id: s.newID("1"), Name: name, MimeType: mime, Parents: parents, DriveId: p.f.DriveId,
		Properties: cloneMap(meta.Properties), Description: meta.Description, Starred: meta.Starred,
		ModifiedTime: normTime(meta.ModifiedTime), CreatedTime: normTime(meta.CreatedTime),
	}, owner: p.owner}
	if mime != FolderMimeType {
		s.setContent(e, data)
	}
	s.add(e)
	return e, nil
}

// normTime keeps a client-supplied RFC 3339 time in Google's form, or ""
// for the server's clock.
func normTime(v string) string {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func (s *Server) checkQuota(parent *entry, n int64) *failure {
	if parent.f.DriveId != "" {
		return nil
	}
	a := s.accounts[parent.owner]
	if a == nil || a.quota < 0 {
		return nil
	}
	var used int64
	for _, e := range s.files {
		if e.owner == parent.owner && e.f.DriveId == "" {
			used += int64(len(e.data))
		}
	}
	if used+n <= a.quota {
		return nil
	}
	if a.quota == 0 {
		return &failure{status: http.StatusForbidden, reason: "storageQuotaExceeded",
			msg: "Service Accounts do not have storage quota. Leverage shared drives (https://developers.google.com/workspace/drive/api/guides/about-shareddrives), or use OAuth delegation instead."}
	}
	return &failure{status: http.StatusForbidden, reason: "storageQuotaExceeded", msg: "The user's Drive storage quota has been exceeded."}
}

func (s *Server) createMeta(w http.ResponseWriter, r *http.Request, email string) {
	meta, _, err := decodeBody(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "parseError", "Parse Error")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, f := s.create(email, meta, nil, "")
	if f != nil {
		f.write(w)
		return
	}
	writeJSON(w, http.StatusOK, s.render(e, email, r.URL.Query().Get("fields")))
}

func splitIDs(v string) []string {
	var out []string
	for _, id := range strings.Split(v, ",") {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// applyUpdate changes e's metadata as files.update does. Call with s.mu
// held.
func (s *Server) applyUpdate(email string, e *entry, meta *drive.File, raw map[string]json.RawMessage, addParents, removeParents []string) *failure {
	role := s.role(email, e)
	if _, ok := raw["parents"]; ok {
		return &failure{status: http.StatusForbidden, reason: "fieldNotWritable",
			msg: "The resource body includes fields which are not directly writable."}
	}
	parents := slices.Clone(e.f.Parents)
	for _, id := range removeParents {
		parents = slices.DeleteFunc(parents, func(p string) bool { return p == id })
	}
	for _, id := range addParents {
		p := s.files[id]
		if p == nil || s.role(email, p) == "" {
			return &failure{notFoundFile: id}
		}
		if p.f.MimeType != FolderMimeType || !canWrite(s.role(email, p)) {
			return &failure{status: http.StatusForbidden, reason: "insufficientFilePermissions",
				msg: "The user does not have sufficient permissions for this file. (add to folder)"}
		}
		if p.f.DriveId != e.f.DriveId {
			return &failure{status: http.StatusForbidden, reason: "teamDrivesParentLimit",
				msg: "Moving items between drives is not supported by fakedrive."}
		}
		if !slices.Contains(parents, id) {
			parents = append(parents, id)
		}
	}
	moved := !slices.Equal(sortedCopy(parents), sortedCopy(e.f.Parents))
	if moved && !canOrganize(role) {
		return &failure{status: http.StatusForbidden, reason: "insufficientFilePermissions",
			msg: "The user does not have sufficient permissions for this file. (move)"}
	}
	if len(parents) != 1 && e.f.DriveId != "" {
		return &failure{status: http.StatusForbidden, reason: "teamDrivesParentLimit", msg: "A shared drive item must have exactly one parent."}
	}
	if _, ok := raw["trashed"]; ok && meta.Trashed != e.f.Trashed && !canOrganize(role) {
		return &failure{status: http.StatusForbidden, reason: "insufficientFilePermissions",
			msg: "The user does not have sufficient permissions for this file. (trash)"}
	}
	if len(raw) > 0 && !canWrite(role) {
		return &failure{status: http.StatusForbidden, reason: "insufficientFilePermissions",
			msg: "The user does not have sufficient permissions for this file. (edit)"}
	}
	props := cloneMap(e.f.Properties)
	if v, ok := raw["properties"]; ok {
		var change map[string]*string
		if err := json.Unmarshal(v, &change); err != nil {
			return &failure{status: http.StatusBadRequest, reason: "parseError", msg: "Parse Error"}
		}
		for k, v := range change {
			if props == nil {
				props = map[string]string{}
			}
			if v == nil {
				delete(props, k)
			} else {
				props[k] = *v
			}
		}
		if f := checkProperties(props); f != nil {
			return f
		}
	}
	e.f.Parents, e.f.Properties = parents, props
	if _, ok := raw["name"]; ok && meta.Name != "" {
		e.f.Name = meta.Name
	}
	if _, ok := raw["mimeType"]; ok && meta.MimeType != "" && e.f.MimeType != FolderMimeType {
		e.f.MimeType = meta.MimeType
	}
	if _, ok := raw["description"]; ok {
		e.f.Description = meta.Description
	}
	if _, ok := raw["starred"]; ok {
		e.f.Starred = meta.Starred
	}
	if _, ok := raw["trashed"]; ok {
		e.f.Trashed = meta.Trashed
	}
	if t := normTime(meta.ModifiedTime); t != "" {
		e.f.ModifiedTime = t
	}
	return nil
}

func sortedCopy(v []string) []string {
	v = slices.Clone(v)
	slices.Sort(v)
	return v
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, email, id string) {
	meta, raw, err := decodeBody(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "parseError", "Parse Error")
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.files[id]
	if e == nil || s.role(email, e) == "" {
		notFound(w, id)
		return
	}
	if f := s.applyUpdate(email, e, meta, raw, splitIDs(q.Get("addParents")), splitIDs(q.Get("removeParents"))); f != nil {
		f.write(w)
		return
	}
	writeJSON(w, http.StatusOK, s.render(e, email, q.Get("fields")))
}

func (s *Server) delete(w http.ResponseWriter, email, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.files[id]
	if e == nil || s.role(email, e) == "" {
		notFound(w, id)
		return
	}
	if !canOrganize(s.role(email, e)) {
		if e.f.DriveId != "" {
			// Drive answers a Shared Drive member who may not delete
			// (a Contributor) as if the file were not there.
			notFound(w, id)
			return
		}
		forbidden(w, "delete")
		return
	}
	s.remove(id)
	w.WriteHeader(http.StatusNoContent)
}

// remove deletes an item and everything below it.
func (s *Server) remove(id string) {
	delete(s.files, id)
	for cid, c := range s.files {
		if slices.Contains(c.f.Parents, id) {
			s.remove(cid)
		}
	}
}

func (s *Server) driveGet(w http.ResponseWriter, r *http.Request, email, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.drives[id]
	if d == nil || d.members[email] == "" {
		writeError(w, http.StatusNotFound, "notFound", "Shared drive not found: "+id)
		return
	}
	role := d.members[email]
	out := &drive.Drive{Kind: "drive#drive", Id: d.id, Name: d.name, CreatedTime: s.files[d.id].f.CreatedTime,
		Capabilities: &drive.DriveCapabilities{
			CanAddChildren: canWrite(role), CanEdit: canWrite(role), CanListChildren: true,
			CanDeleteChildren: canOrganize(role), CanTrashChildren: canOrganize(role),
			CanManageMembers: role == RoleOrganizer,
		}}
	writeMasked(w, r, out, "kind,id,name")
}

func (s *Server) about(w http.ResponseWriter, r *http.Request, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var used int64
	for _, e := range s.files {
		if e.owner == email && e.f.DriveId == "" {
			used += int64(len(e.data))
		}
	}
	q := &drive.AboutStorageQuota{Usage: used, UsageInDrive: used}
	if a := s.accounts[email]; a != nil && a.quota >= 0 {
		q.Limit = a.quota
	}
	out := &drive.About{Kind: "drive#about", StorageQuota: q, User: &drive.User{EmailAddress: email, DisplayName: email}}
	writeMasked(w, r, out, "*")
}

// writeMasked answers with the fields of v that the request's "fields"
// mask names (def when it names none), as Drive does.
func writeMasked(w http.ResponseWriter, r *http.Request, v any, def string) {
	b, _ := json.Marshal(v)
	var all map[string]json.RawMessage
	_ = json.Unmarshal(b, &all)
	mask := r.URL.Query().Get("fields")
	if mask == "" {
		mask = def
	}
	writeJSON(w, http.StatusOK, pick(all, parseMask(mask)))
}

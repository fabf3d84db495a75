package fakedrive

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	drive "google.golang.org/api/drive/v3"
)

// minChunk is the granularity Google requires of every chunk of a
// resumable upload but the last.
const minChunk = 256 << 10

// session is one resumable upload.
type session struct {
	id          string
	email       string
	meta        *drive.File
	raw         map[string]json.RawMessage
	fileID      string // set when the upload replaces a file's content
	contentType string
	total       int64 // -1 until the client says
	data        []byte
	requests    int
	done        *entry
}

// finish creates the uploaded file, or replaces the content of the file
// being updated. Call with s.mu held.
func (s *Server) finish(email string, meta *drive.File, raw map[string]json.RawMessage, fileID, contentType string, data []byte, q url.Values) (*entry, *failure) {
	if fileID == "" {
		return s.create(email, meta, data, contentType)
	}
	e := s.files[fileID]
	if e == nil || s.role(email, e) == "" {
		return nil, &failure{notFoundFile: fileID}
	}
	if !canWrite(s.role(email, e)) {
		return nil, &failure{status: http.StatusForbidden, reason: "insufficientFilePermissions",
			msg: "The user does not have sufficient permissions for this file. (edit)"}
	}
	if f := s.applyUpdate(email, e, meta, raw, splitIDs(q.Get("addParents")), splitIDs(q.Get("removeParents"))); f != nil {
		return nil, f
	}
	s.setContent(e, data)
	return e, nil
}

func (s *Server) uploadMultipart(w http.ResponseWriter, r *http.Request, email, fileID string) {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mediaType, "multipart/") {
		writeError(w, http.StatusBadRequest, "badContent", "Multipart upload needs a multipart/related body.")
		return
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	part, err := mr.NextPart()
	if err != nil {
		writeError(w, http.StatusBadRequest, "badContent", "Missing metadata part.")
		return
	}
	meta, raw, err := decodeBody(part)
	if err != nil {
		writeError(w, http.StatusBadRequest, "parseError", "Parse Error")
		return
	}
	part, err = mr.NextPart()
	if err != nil {
		writeError(w, http.StatusBadRequest, "badContent", "Missing media part.")
		return
	}
	contentType := part.Header.Get("Content-Type")
	data, err := io.ReadAll(part)
	if err != nil {
		writeError(w, http.StatusBadRequest, "badContent", "Unreadable media part.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, f := s.finish(email, meta, raw, fileID, contentType, data, r.URL.Query())
	if f != nil {
		f.write(w)
		return
	}
	writeJSON(w, http.StatusOK, s.render(e, email, r.URL.Query().Get("fields")))
}

func (s *Server) uploadStart(w http.ResponseWriter, r *http.Request, email, fileID string) {
	meta, raw, err := decodeBody(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "parseError", "Parse Error")
		return
	}
	total := int64(-1)
	if v := r.Header.Get("X-Upload-Content-Length"); v != "" {
		if total, err = strconv.ParseInt(v, 10, 64); err != nil || total < 0 {
			writeError(w, http.StatusBadRequest, "badRequest", "Invalid X-Upload-Content-Length.")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Google checks the destination when the session opens, so a missing
	// or read-only folder fails before any data is sent.
	if fileID != "" {
		e := s.files[fileID]
		if e == nil || s.role(email, e) == "" {
			notFound(w, fileID)
			return
		}
		if !canWrite(s.role(email, e)) {
			forbidden(w, "edit")
			return
		}
	} else {
		parents := meta.Parents
		if len(parents) == 0 {
			parents = []string{s.myRoot(email)}
		}
		for _, id := range parents {
			p := s.files[id]
			if p == nil || s.role(email, p) == "" {
				notFound(w, id)
				return
			}
			if !canWrite(s.role(email, p)) {
				forbidden(w, "add to folder")
				return
			}
		}
		if f := checkProperties(meta.Properties); f != nil {
			f.write(w)
			return
		}
	}
	sess := &session{id: s.newID("ABPt"), email: email, meta: meta, raw: raw, fileID: fileID,
		contentType: r.Header.Get("X-Upload-Content-Type"), total: total}
	s.sessions[sess.id] = sess
	q := r.URL.Query()
	q.Set("upload_id", sess.id)
	loc := url.URL{Scheme: "https", Host: "www.googleapis.com", Path: r.URL.Path, RawQuery: q.Encode()}
	w.Header().Set("Location", loc.String())
	w.Header().Set("X-GUploader-UploadID", sess.id)
	w.WriteHeader(http.StatusOK)
}

// parseContentRange reads "bytes a-b/total", "bytes a-b/*" or
// "bytes */total"; first is -1 for the status query form, total -1 for "*".
func parseContentRange(v string) (first, last, total int64, err error) {
	rest, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, 0, 0, fmt.Errorf("bad Content-Range %q", v)
	}
	rng, tot, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, 0, fmt.Errorf("bad Content-Range %q", v)
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
			return 0, 0, 0, fmt.Errorf("bad Content-Range %q", v)
		}
	}
	if rng == "*" {
		return -1, -1, total, nil
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, 0, fmt.Errorf("bad Content-Range %q", v)
	}
	if first, err = strconv.ParseInt(a, 10, 64); err != nil {
		return 0, 0, 0, fmt.Errorf("bad Content-Range %q", v)
	}
	if last, err = strconv.ParseInt(b, 10, 64); err != nil || last < first {
		return 0, 0, 0, fmt.Errorf("bad Content-Range %q", v)
	}
	return first, last, total, nil
}

func (s *Server) uploadChunk(w http.ResponseWriter, r *http.Request, email string) {
	q := r.URL.Query()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "badContent", "Unreadable chunk.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[q.Get("upload_id")]
	if sess == nil || sess.email != email {
		writeError(w, http.StatusNotFound, "notFound", "No upload session with this ID.")
		return
	}
	if sess.done != nil {
		// A retry of the request that completed the upload.
		writeJSON(w, http.StatusOK, s.render(sess.done, email, q.Get("fields")))
		return
	}
	first, last, total, err := parseContentRange(r.Header.Get("Content-Range"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "badRequest", err.Error())
		return
	}
	if total >= 0 {
		if sess.total >= 0 && sess.total != total {
			writeError(w, http.StatusBadRequest, "badRequest", "The upload's total size changed.")
			return
		}
		sess.total = total
	}
	if first >= 0 {
		if int64(len(body)) != last-first+1 {
			writeError(w, http.StatusBadRequest, "badRequest", "Content-Range does not match the body's length.")
			return
		}
		if first > int64(len(sess.data)) {
			writeError(w, http.StatusBadRequest, "badRequest",
				fmt.Sprintf("Chunk starts at %d but only %d bytes were received.", first, len(sess.data)))
			return
		}
		final := sess.total >= 0 && last+1 == sess.total
		if !final && len(body)%minChunk != 0 {
			writeError(w, http.StatusBadRequest, "badRequest", "Every chunk but the last must be a multiple of 256 KiB.")
			return
		}
		// A chunk may repeat bytes already received: the client's retry
		// after a lost response.
		sess.data = append(sess.data[:first], body...)
	}
	if sess.total >= 0 && int64(len(sess.data)) > sess.total {
		writeError(w, http.StatusBadRequest, "badRequest", "More bytes were sent than the upload's total size.")
		return
	}
	if sess.total < 0 || int64(len(sess.data)) < sess.total {
		if len(sess.data) > 0 {
			w.Header().Set("Range", fmt.Sprintf("bytes=0-%d", len(sess.data)-1))
		}
		w.WriteHeader(http.StatusPermanentRedirect)
		return
	}
	e, f := s.finish(email, sess.meta, sess.raw, sess.fileID, sess.contentType, sess.data, q)
	if f != nil {
		f.write(w)
		return
	}
	sess.done = e
	writeJSON(w, http.StatusOK, s.render(e, email, q.Get("fields")))
}

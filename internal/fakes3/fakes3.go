// Package fakes3 is an in-process S3 server for tests: gofakes3 (an
// in-memory S3 implementation) behind an httptest server on the loopback
// interface, so that rclone's real s3 backend runs against it unmodified.
//
// Every request must be signed with the fixture's access key ID (the
// fake checks the Authorization header names it; gofakes3 itself checks no
// signatures), so a test proves the keys reached the backend. Faults are
// injected per request through SetFault.
package fakes3

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/rclone/rclone/fs"
	"github.com/rclone/rclone/fs/config/configmap"
)

// Test credentials. The secret is long enough for the log redaction to
// register it (see internal/cli.AddSecret).
const (
	AccessKeyID     = "tid_FAKEACCESSKEY0001"
	SecretAccessKey = "tsec_fake-secret-access-key-0123456789abcdef"
	Region          = "auto"
)

// Call describes one request as the fault hook sees it.
type Call struct {
	// Op is a rough name of the S3 operation: "GET", "HEAD", "PUT",
	// "COPY" (a PUT with x-amz-copy-source), "PART" (a PUT of one part of
	// a multipart upload), "CREATE-MULTIPART", "COMPLETE-MULTIPART",
	// "ABORT-MULTIPART", "DELETE", "LIST", "POST".
	Op string
	// Key is the object key (without the bucket), "" for bucket requests.
	Key     string
	Request *http.Request
}

// Fault replaces the handling of one request.
type Fault struct {
	// Status answers the request with this HTTP status and an S3 error
	// body, without handling it; Code is the body's error code
	// ("InternalError" when empty; "AccessDenied" is S3's refusal).
	Status int
	Code   string
	// Drop closes the connection without any response.
	Drop bool
	// CutAfter, for a GET, handles the request but closes the connection
	// after this many bytes of the body.
	CutAfter int64
}

// Server is a fake S3 endpoint. Create it with New.
type Server struct {
	// URL is the endpoint, http://127.0.0.1:port.
	URL string

	t       testing.TB
	srv     *httptest.Server
	backend *s3mem.Backend
	faker   *gofakes3.GoFakeS3

	mu    sync.Mutex
	fault func(Call) *Fault
	calls []Call
}

// New starts a fake S3 server for the test and stops it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, backend: s3mem.New()}
	s.faker = gofakes3.New(s.backend, gofakes3.WithLogger(gofakes3.DiscardLog()))
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// NewBucket creates an empty bucket.
func (s *Server) NewBucket(name string) {
	s.t.Helper()
	if err := s.backend.CreateBucket(name); err != nil {
		s.t.Fatalf("fakes3: create bucket %s: %v", name, err)
	}
}

// SetFault installs f, called for every request: a non-nil Fault replaces
// the request's handling. nil removes the hook.
func (s *Server) SetFault(f func(Call) *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// Calls returns the requests served so far, faulted ones included.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Keys returns the keys of the objects in bucket, in order, whatever their
// names: partial uploads, foreign files and all. Multipart uploads not
// completed are not objects and are not listed.
func (s *Server) Keys(bucket string) []string {
	s.t.Helper()
	res, err := s.backend.ListBucket(bucket, &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil {
		s.t.Fatalf("fakes3: list %s: %v", bucket, err)
	}
	var out []string
	for _, c := range res.Contents {
		out = append(out, c.Key)
	}
	return out
}

// Env returns the variables the app sets for its Tigris bucket (see
// storage.S3FromEnv): the endpoint, bucket and keys.
func (s *Server) Env(bucket string) map[string]string {
	return map[string]string{
		"AWS_ENDPOINT":          s.URL,
		"AWS_BUCKET":            bucket,
		"AWS_ACCESS_KEY_ID":     AccessKeyID,
		"AWS_SECRET_ACCESS_KEY": SecretAccessKey,
		"AWS_REGION":            Region,
	}
}

// Fs opens rclone's s3 backend on bucket/path at the fake, configured the
// way an operator would through RCLONE_CONFIG_<NAME>_* variables, but
// without touching the environment.
func (s *Server) Fs(ctx context.Context, bucket, path string) fs.Fs {
	s.t.Helper()
	info, err := fs.Find("s3")
	if err != nil {
		s.t.Fatalf("fakes3: %v", err)
	}
	m := configmap.Simple{
		"provider":          "Other",
		"endpoint":          s.URL,
		"region":            Region,
		"access_key_id":     AccessKeyID,
		"secret_access_key": SecretAccessKey,
		"force_path_style":  "true",
	}
	f, err := info.NewFs(ctx, "fakes3", bucket+"/"+path, fs.ConfigMap(info.Prefix, info.Options, "fakes3", m))
	if err != nil && err != fs.ErrorIsFile {
		s.t.Fatalf("fakes3: open s3 backend: %v", err)
	}
	return f
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.Header.Get("Authorization"), "Credential="+AccessKeyID+"/") {
		http.Error(w, "<Error><Code>InvalidAccessKeyId</Code><Message>unknown access key</Message></Error>", http.StatusForbidden)
		return
	}
	c := Call{Op: opOf(r), Key: keyOf(r), Request: r}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	hook := s.fault
	s.mu.Unlock()
	var f *Fault
	if hook != nil {
		f = hook(c)
	}
	switch {
	case f == nil:
		s.faker.Server().ServeHTTP(w, r)
	case f.Drop:
		hj, ok := w.(http.Hijacker)
		if !ok {
			s.t.Errorf("fakes3: cannot drop a connection")
			return
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			conn.Close()
		}
	case f.Status != 0:
		code := f.Code
		if code == "" {
			code = "InternalError"
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte("<Error><Code>" + code + "</Code><Message>injected fault</Message></Error>"))
	case f.CutAfter > 0:
		s.faker.Server().ServeHTTP(&cutWriter{ResponseWriter: w, left: f.CutAfter}, r)
	default:
		s.faker.Server().ServeHTTP(w, r)
	}
}

// cutWriter passes on the first left bytes of a body, then hijacks and
// closes the connection.
type cutWriter struct {
	http.ResponseWriter
	left int64
	cut  bool
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if c.cut {
		return 0, http.ErrHandlerTimeout
	}
	if int64(len(p)) <= c.left {
		c.left -= int64(len(p))
		return c.ResponseWriter.Write(p)
	}
	n, _ := c.ResponseWriter.Write(p[:c.left])
	if fl, ok := c.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
	c.cut = true
	if hj, ok := c.ResponseWriter.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
		}
	}
	return n, http.ErrHandlerTimeout
}

func keyOf(r *http.Request) string {
	_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return key
}

func opOf(r *http.Request) string {
	q := r.URL.Query()
	switch r.Method {
	case http.MethodGet:
		if keyOf(r) == "" {
			return "LIST"
		}
		return "GET"
	case http.MethodPut:
		switch {
		case r.Header.Get("x-amz-copy-source") != "":
			return "COPY"
		case q.Has("partNumber"):
			return "PART"
		}
		return "PUT"
	case http.MethodPost:
		switch {
		case q.Has("uploads"):
			return "CREATE-MULTIPART"
		case q.Has("uploadId"):
			return "COMPLETE-MULTIPART"
		}
		return "POST"
	case http.MethodDelete:
		if q.Has("uploadId") {
			return "ABORT-MULTIPART"
		}
		return "DELETE"
	}
	return r.Method
}

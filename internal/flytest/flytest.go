// Package flytest is a fake Fly Machines API for tests: it lists the
// machines of one app, records restarts and every request's credentials,
// and can be told to fail.
package flytest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/backupd/backupd/pkg/fly"
)

// Request is what the fake saw of one request.
type Request struct {
	Method, Path, RawQuery string
	Authorization          string
	Body                   string
}

// Server is the fake API. Set Fail to inject faults: when it returns a
// status other than 0 the request is answered with that status and body.
type Server struct {
	*httptest.Server
	App      string
	Machines []fly.Machine
	Fail     func(r *http.Request) (status int, body string)

	mu        sync.Mutex
	requests  []Request
	restarted []string
}

// NewServer starts a fake serving app with the given machine ids. Close it
// when done.
func NewServer(app string, ids ...string) *Server {
	s := &Server{App: app}
	for _, id := range ids {
		s.Machines = append(s.Machines, fly.Machine{ID: id, Name: "m-" + id, State: "started", Region: "ams"})
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Authorization: r.Header.Get("Authorization"), Body: string(body),
	})
	fail := s.Fail
	s.mu.Unlock()
	if fail != nil {
		if status, msg := fail(r); status != 0 {
			http.Error(w, msg, status)
			return
		}
	}
	prefix := "/v1/apps/" + s.App + "/machines"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == prefix:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Machines)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, prefix+"/") && strings.HasSuffix(r.URL.Path, "/restart"):
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, prefix+"/"), "/restart")
		if !s.known(id) {
			http.Error(w, `{"error":"machine not found"}`, http.StatusNotFound)
			return
		}
		s.mu.Lock()
		s.restarted = append(s.restarted, id)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	default:
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
	}
}

func (s *Server) known(id string) bool {
	for _, m := range s.Machines {
		if m.ID == id {
			return true
		}
	}
	return false
}

// SetFail replaces the fault injector while the server runs.
func (s *Server) SetFail(f func(r *http.Request) (int, string)) {
	s.mu.Lock()
	s.Fail = f
	s.mu.Unlock()
}

// Requests returns every request seen so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Restarted returns the ids restarted so far, in order.
func (s *Server) Restarted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.restarted...)
}

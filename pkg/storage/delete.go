package storage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/rclone/rclone/fs"
	"golang.org/x/sys/unix"
	"google.golang.org/api/googleapi"
)

// DeniedError is a delete the remote refused because the account may not
// delete there. Fix says what to change; it reads the same for every file
// of the remote, so that a run, status and an alert all say it alike.
type DeniedError struct {
	Fix  string // what to change, one sentence
	Name string // the file that was to be deleted
	Err  error  // the remote's answer
	// Again is set on the refusals a closed gate returns without asking
	// the remote (see WithDeleteGate).
	Again bool
}

// Error says what to fix, then which delete was refused and how.
func (e *DeniedError) Error() string {
	if e.Again {
		return fmt.Sprintf("%s (delete %s not tried: refused before in this run: %v)", e.Fix, e.Name, e.Err)
	}
	return fmt.Sprintf("%s (delete %s: %v)", e.Fix, e.Name, e.Err)
}

// Unwrap returns the remote's answer.
func (e *DeniedError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrDenied) true.
func (e *DeniedError) Is(target error) bool { return target == ErrDenied }

func (e *DeniedError) again(name string) *DeniedError {
	return &DeniedError{Fix: e.Fix, Name: name, Err: e.Err, Again: true}
}

// DeleteFix says what lets the account delete in this remote: the
// sentence of every *DeniedError it returns.
func (s *Store) DeleteFix() string {
	switch {
	case s.hints != nil:
		return s.hints.settings.DeleteFix(s.hints.email)
	case s.f.Features().IsLocal:
		return fmt.Sprintf("the account running backupd may not delete in %s; give it write permission on the folder", s)
	}
	return fmt.Sprintf("the account may not delete in %s; give it permission to delete there", s)
}

// denied returns the refusal err means for the delete of name, or nil
// when err is another failure; gone reports that the file is not there
// any more (deleted meanwhile by someone else). On Drive, a 403 that is no
// rate limit is a refusal, and so is a 404 for a file that is still there
// afterwards: Drive answers a permanent delete the account may not make
// (a Contributor's) with 404. A local folder refuses with EACCES, EPERM or
// EROFS; an S3 store with 403 AccessDenied.
func (s *Store) denied(ctx context.Context, name string, err error) (d *DeniedError, gone bool) {
	refused := false
	var ge *googleapi.Error
	var code interface{ ErrorCode() string }
	var status interface{ HTTPStatusCode() int }
	switch {
	case errors.As(err, &ge) && ge.Code == http.StatusNotFound:
		_, statErr := s.f.NewObject(ctx, name)
		if errors.Is(statErr, fs.ErrorObjectNotFound) {
			return nil, true
		}
		refused = statErr == nil
	case errors.As(err, &ge) && ge.Code == http.StatusForbidden:
		var de *DriveError
		refused = errors.As(s.hints.explain(err), &de) && de.Problem == PermissionDenied
	case errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EROFS):
		refused = true
	case errors.As(err, &code):
		refused = code.ErrorCode() == "AccessDenied"
	case errors.As(err, &status):
		refused = status.HTTPStatusCode() == http.StatusForbidden
	}
	if !refused {
		return nil, false
	}
	return &DeniedError{Fix: s.DeleteFix(), Name: name, Err: err}, false
}

// gateKey keys the delete gate in a context.
type gateKey struct{}

// deleteGate remembers, per store, the refusal that closed it.
type deleteGate struct {
	mu      sync.Mutex
	refused map[*Store]*DeniedError
}

// WithDeleteGate returns ctx carrying a gate for the deletes of one run:
// once a store refuses a delete because the account may not delete there
// (ErrDenied), every later Delete on that store under the returned
// context returns that refusal at once, without a request. A folder the
// account may not delete in then costs one refused request per run,
// whatever it holds. Each run of backupd (a "backupd now", one scheduled
// run of serve) takes a fresh gate, so that its first delete asks again.
func WithDeleteGate(ctx context.Context) context.Context {
	return context.WithValue(ctx, gateKey{}, &deleteGate{refused: map[*Store]*DeniedError{}})
}

func gateOf(ctx context.Context) *deleteGate {
	g, _ := ctx.Value(gateKey{}).(*deleteGate)
	return g
}

func (g *deleteGate) refusal(s *Store) *DeniedError {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refused[s]
}

func (g *deleteGate) refuse(s *Store, d *DeniedError) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.refused[s] == nil {
		g.refused[s] = d
	}
}

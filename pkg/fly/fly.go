// Package fly restarts the machines of a Fly.io app through the Machines
// API, which is how the "yesterday" app is made to reload a fresh snapshot.
//
// The API token is sent only in the Authorization header. It never appears
// in a URL, an error or a log line: response bodies quoted in errors have it
// blanked out, in case a server echoes the request.
package fly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultAPI is the public Machines API endpoint.
const DefaultAPI = "https://api.machines.dev"

// Client talks to the Machines API for one token.
type Client struct {
	API   string       // base URL, DefaultAPI when empty
	Token string       // bearer token
	HTTP  *http.Client // http.DefaultClient when nil; per-request timeouts come from ctx
	Log   *slog.Logger // optional
}

// Machine is the part of a machine description the restart needs.
type Machine struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	State  string `json:"state"`
	Region string `json:"region"`
}

// String hides the token: a Client printed with %v must not leak it.
func (c *Client) String() string {
	return fmt.Sprintf("fly.Client{API: %s, Token: <redacted>}", c.api())
}

func (c *Client) api() string {
	if c.API == "" {
		return DefaultAPI
	}
	return strings.TrimRight(c.API, "/")
}

func (c *Client) log() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

// requestTimeout bounds one API call; a restart returns once the machine
// is asked to restart, not when the app is up again.
const requestTimeout = time.Minute

// Machines lists the machines of app.
func (c *Client) Machines(ctx context.Context, app string) ([]Machine, error) {
	var ms []Machine
	if err := c.do(ctx, http.MethodGet, "/v1/apps/"+url.PathEscape(app)+"/machines", &ms); err != nil {
		return nil, fmt.Errorf("list machines of app %s: %w", app, err)
	}
	return ms, nil
}

// Restart restarts one machine of app.
func (c *Client) Restart(ctx context.Context, app, id string) error {
	if err := c.do(ctx, http.MethodPost, "/v1/apps/"+url.PathEscape(app)+"/machines/"+url.PathEscape(id)+"/restart", nil); err != nil {
		return fmt.Errorf("restart machine %s of app %s: %w", id, app, err)
	}
	return nil
}

// RestartAll lists the machines of app and restarts each one. A machine
// that fails to restart does not stop the others; the returned error joins
// every failure, and restarted names the machines that did restart. An app
// without machines is an error: the refresh would silently do nothing.
func (c *Client) RestartAll(ctx context.Context, app string) (restarted []string, err error) {
	ms, err := c.Machines(ctx, app)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("restart app %s: it has no machines", app)
	}
	var errs []error
	for _, m := range ms {
		if err := c.Restart(ctx, app, m.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		c.log().Info("machine restarted", "app", app, "machine", m.ID, "name", m.Name, "region", m.Region, "was", m.State)
		restarted = append(restarted, m.ID)
	}
	return restarted, errors.Join(errs...)
}

// StatusError is a non-2xx answer from the API.
type StatusError struct {
	Status string // "401 Unauthorized"
	Body   string // start of the response body, token blanked out
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return "api answered " + e.Status
	}
	return "api answered " + e.Status + ": " + e.Body
}

func (c *Client) do(ctx context.Context, method, path string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.api()+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return c.redact(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return &StatusError{Status: resp.Status, Body: c.redactString(strings.TrimSpace(string(b)))}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

func (c *Client) redactString(s string) string {
	if c.Token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.Token, "<redacted>")
}

// redact keeps a transport error's meaning while making sure the token
// cannot ride along in its text.
func (c *Client) redact(err error) error {
	msg := err.Error()
	if r := c.redactString(msg); r != msg {
		return errors.New(r)
	}
	return err
}

package fly_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/flytest"
	"github.com/backupd/backupd/pkg/fly"
)

const token = "fm2_secret-token-value"

func TestRestartAllRestartsEveryMachineWithTheTokenOnlyInTheHeader(t *testing.T) {
	srv := flytest.NewServer("yesterday", "m1", "m2", "m3")
	defer srv.Close()
	var logs bytes.Buffer
	c := &fly.Client{API: srv.URL, Token: token, Log: slog.New(slog.NewJSONHandler(&logs, nil))}

	restarted, err := c.RestartAll(context.Background(), "yesterday")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := restarted, []string{"m1", "m2", "m3"}; !slices.Equal(got, want) {
		t.Errorf("restarted = %v, want %v", got, want)
	}
	if got, want := srv.Restarted(), []string{"m1", "m2", "m3"}; !slices.Equal(got, want) {
		t.Errorf("server saw restarts of %v, want %v", got, want)
	}
	reqs := srv.Requests()
	if got, want := len(reqs), 4; got != want {
		t.Fatalf("requests = %d, want %d (one list, three restarts)", got, want)
	}
	if reqs[0].Method != http.MethodGet || reqs[0].Path != "/v1/apps/yesterday/machines" {
		t.Errorf("first request = %s %s, want the machine list", reqs[0].Method, reqs[0].Path)
	}
	for _, r := range reqs {
		if got, want := r.Authorization, "Bearer "+token; got != want {
			t.Errorf("%s %s: Authorization = %q, want %q", r.Method, r.Path, got, want)
		}
		for where, s := range map[string]string{"path": r.Path, "query": r.RawQuery, "body": r.Body} {
			if strings.Contains(s, "secret-token") {
				t.Errorf("%s %s: token in the %s", r.Method, r.Path, where)
			}
		}
	}
	if strings.Contains(logs.String(), "secret-token") {
		t.Errorf("token in the log: %s", logs.String())
	}
	if !strings.Contains(logs.String(), `"machine":"m2"`) {
		t.Errorf("log does not name the restarted machines: %s", logs.String())
	}
}

func TestAPIErrorsAreReportedWithoutTheToken(t *testing.T) {
	srv := flytest.NewServer("yesterday", "m1")
	defer srv.Close()
	// A server that echoes the credentials back must not get them into
	// our error text.
	srv.SetFail(func(r *http.Request) (int, string) {
		return http.StatusUnauthorized, "bad token " + r.Header.Get("Authorization")
	})
	c := &fly.Client{API: srv.URL, Token: token}
	_, err := c.RestartAll(context.Background(), "yesterday")
	if err == nil {
		t.Fatal("RestartAll succeeded against a failing API")
	}
	if strings.Contains(err.Error(), "secret-token") {
		t.Errorf("token in the error: %v", err)
	}
	for _, want := range []string{"list machines of app yesterday", "401", "<redacted>"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if got := srv.Restarted(); len(got) != 0 {
		t.Errorf("restarted %v after a failed listing", got)
	}
	if s := fmt.Sprintf("%v", c); strings.Contains(s, "secret-token") {
		t.Errorf("client prints its token: %s", s)
	}
}

func TestOneFailedRestartDoesNotStopTheOthers(t *testing.T) {
	srv := flytest.NewServer("yesterday", "m1", "m2", "m3")
	defer srv.Close()
	srv.SetFail(func(r *http.Request) (int, string) {
		if strings.Contains(r.URL.Path, "/m2/") {
			return http.StatusInternalServerError, "boom"
		}
		return 0, ""
	})
	c := &fly.Client{API: srv.URL, Token: token}
	restarted, err := c.RestartAll(context.Background(), "yesterday")
	if err == nil || !strings.Contains(err.Error(), "restart machine m2") || !strings.Contains(err.Error(), "500") {
		t.Errorf("err = %v, want the failure of m2", err)
	}
	if got, want := restarted, []string{"m1", "m3"}; !slices.Equal(got, want) {
		t.Errorf("restarted = %v, want %v", got, want)
	}
}

func TestAnAppWithoutMachinesIsAnError(t *testing.T) {
	srv := flytest.NewServer("yesterday")
	defer srv.Close()
	c := &fly.Client{API: srv.URL, Token: token}
	if _, err := c.RestartAll(context.Background(), "yesterday"); err == nil || !strings.Contains(err.Error(), "no machines") {
		t.Errorf("err = %v, want it to say the app has no machines", err)
	}
}

func TestUnreachableAPI(t *testing.T) {
	srv := flytest.NewServer("yesterday", "m1")
	srv.Close()
	c := &fly.Client{API: srv.URL, Token: token}
	_, err := c.RestartAll(context.Background(), "yesterday")
	if err == nil {
		t.Fatal("RestartAll succeeded against a closed server")
	}
	if strings.Contains(err.Error(), "secret-token") {
		t.Errorf("token in the error: %v", err)
	}
}

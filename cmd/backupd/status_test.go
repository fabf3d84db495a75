package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/daemon"
	"github.com/backupd/backupd/pkg/storage"
)

// statusNow is the clock of the status golden files.
var statusNow = time.Date(2026, 12, 1, 6, 10, 0, 0, time.UTC)

// statusEntries is a remote of hourly backups from 00:00 to newest, the
// 03:00 one restored at 05:02 on yesterday; suspect marks one backup.
func statusEntries(newest time.Time, suspect string) []catalog.Entry {
	var c catalog.Codec
	var out []catalog.Entry
	for t := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC); !t.After(newest); t = t.Add(time.Hour) {
		name := c.Name(t, catalog.Zstd)
		meta := catalog.Meta(strings.Repeat("ab", 32), 900<<20)
		meta[catalog.MetaTables] = "41"
		if t.Hour() == 3 && t.Day() == 1 {
			meta[catalog.MetaRestored] = catalog.Restored{At: time.Date(2026, 12, 1, 5, 2, 0, 0, time.UTC),
				Host: "yesterday", Tables: 41, Rows: 2134567, RowsApprox: true, Seconds: 93}.String()
		}
		if name == suspect {
			meta[catalog.MetaRawSize] = "1000"
			meta[catalog.MetaSuspect] = "raw"
		}
		out = append(out, catalog.Entry{Name: name, Size: 120 << 20, ModTime: t, Meta: meta})
	}
	return out
}

func statusInputFor(entries []catalog.Entry, serve *daemon.Health) statusInput {
	var c catalog.Codec
	in := statusInput{Now: statusNow, Remote: "gdrive: (folder 1AbCdEfGhIjKlMnOpQrStUvWxYz)", Listing: c.Scan(entries, statusNow),
		Shapes: backup.Shapes(c, entries, statusNow), Limit: 2 * time.Hour, Trash: -1,
		TrashNote: "not reported for Shared Drives", Listen: defaultListen}
	if serve == nil {
		in.ServeErr = "dial tcp " + defaultListen + ": connect: connection refused"
	} else {
		in.Serve = serve
	}
	return in
}

func TestStatusGolden(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      statusInput
		healthy bool
	}{
		{"healthy", statusInputFor(statusEntries(time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC), ""), &daemon.Health{
			Status: "ok", LastAttempt: "2026-12-01T06:00:00Z", LastResult: daemon.ResultSuccess, NextBackup: "2026-12-01T07:00:00Z"}), true},
		{"stale", statusInputFor(statusEntries(time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC), ""), &daemon.Health{
			Status: "unhealthy", LastAttempt: "2026-12-01T06:00:00Z", LastResult: daemon.ResultFailure,
			LastError: "dump: mariadb-dump failed (exit status 2): Access denied for user 'backup'", NextBackup: "2026-12-01T07:00:00Z"}), false},
		{"suspect", statusInputFor(statusEntries(time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC), "db-backup-20261201-050000.sql.zst"), nil), false},
		{"blocked", blockedStatus(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := judge(tc.in)
			if r.Healthy != tc.healthy {
				t.Errorf("healthy = %v, want %v (problems %q)", r.Healthy, tc.healthy, r.Problems)
			}
			var buf bytes.Buffer
			render(&buf, r)
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			if len(lines) > 20 {
				t.Errorf("%d lines, want one screen (20)", len(lines))
			}
			for _, l := range lines {
				if len([]rune(l)) > 80 {
					t.Errorf("line wider than 80 columns: %q", l)
				}
			}
			golden(t, "status-"+tc.name+".golden", buf.String())
			js, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "status-"+tc.name+".json.golden", string(js)+"\n")
		})
	}
}

// TestStatusCommand runs the command on a local folder with a serve
// answering on loopback: exit 0 when healthy, 1 when the newest backup is
// too old.
func TestStatusCommand(t *testing.T) {
	dir := t.TempDir()
	store, err := storage.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	name := catalog.Codec{}.Name(time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC), catalog.Zstd)
	if _, err := store.Put(context.Background(), name, strings.NewReader("data"), func() (map[string]string, error) {
		return map[string]string{catalog.MetaRestored: "2026-12-01T05:02Z yesterday 41t 2134567r 93s 0fb"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(daemon.Health{Status: "ok", LastAttempt: "2026-12-01T06:00:00Z", LastResult: "success", NextBackup: "2026-12-01T07:00:00Z"})
	}))
	defer srv.Close()
	listen := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		now    string
		status int
		want   string
	}{
		{"2026-12-01T06:10:00Z", cli.ExitOK, "HEALTHY"},
		{"2026-12-01T08:00:00Z", cli.ExitFailure, "the newest backup is 2h old, older than 2h"},
	} {
		code, stdout, stderr := runApp(t, map[string]string{"BACKUPD_REMOTE": dir, "BACKUPD_LISTEN": listen}, "status", "--now", tc.now)
		if code != tc.status {
			t.Errorf("at %s: exit %d, want %d; stderr %s", tc.now, code, tc.status, stderr)
		}
		if !strings.Contains(stdout, tc.want) {
			t.Errorf("at %s: output lacks %q:\n%s", tc.now, tc.want, stdout)
		}
		if !strings.Contains(stdout, "last run 06:00 success, next 07:00") {
			t.Errorf("at %s: output lacks serve's runs:\n%s", tc.now, stdout)
		}
	}
}

// TestListShowsRestores: the last restore of each backup is a column of
// the listing and a field of --json.
func TestListShowsRestores(t *testing.T) {
	dir := t.TempDir()
	store, err := storage.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ at, record string }{
		{"20261201-030000", "2026-12-01T05:02Z yesterday 41t ~2134567r 93s 0fb"},
		{"20261201-040000", ""},
	} {
		meta := map[string]string{}
		if tc.record != "" {
			meta[catalog.MetaRestored] = tc.record
		}
		if _, err := store.Put(context.Background(), "db-backup-"+tc.at+".sql.zst", strings.NewReader("data"), func() (map[string]string, error) { return meta, nil }); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runApp(t, map[string]string{"BACKUPD_REMOTE": dir}, "list")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "LAST RESTORED (UTC)") || !strings.Contains(out, "2026-12-01 05:02 on yesterday, 41 tables, ~2.1M rows") {
		t.Errorf("listing lacks the restore:\n%s", out)
	}
	code, out, errOut = runApp(t, map[string]string{"BACKUPD_REMOTE": dir}, "list", "--json")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var items []listItem
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].Restored != nil || items[1].Restored == nil ||
		items[1].Restored.At != "2026-12-01T05:02:00Z" || *items[1].Restored.Rows != 2134567 || !items[1].Restored.RowsEstimated {
		t.Errorf("--json: %s", out)
	}
}

// blockedStatus is a remote whose account may not delete: it holds the
// record of the blocked retention, and serve's health is degraded.
func blockedStatus() statusInput {
	entries := append(statusEntries(time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC), ""),
		catalog.Entry{Name: catalog.Codec{}.BlockedName(), Size: 300, ModTime: time.Date(2026, 11, 30, 14, 0, 3, 0, time.UTC)})
	fix := "the service account may not delete in the Shared Drive; give it the Content Manager role (backupd@prod-app.iam.gserviceaccount.com in Shared Drive 0ABcDeFgHiJkLmNoPq)"
	in := statusInputFor(entries, &daemon.Health{Status: "degraded", Reason: "retention is blocked: " + fix,
		LastAttempt: "2026-12-01T06:00:00Z", LastResult: daemon.ResultSuccess, NextBackup: "2026-12-01T07:00:00Z"})
	in.DeleteFix = fix
	return in
}

// TestStatusShowsTheNewestOfTwoRestoresInAMinute: restore records keep
// seconds, so of two restores in the same minute the later is the last
// restore; two records of the old form (minutes only) that tie go to the
// newer backup.
func TestStatusShowsTheNewestOfTwoRestoresInAMinute(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		at0300, at0400, want string
	}{
		{"seconds", "2026-12-01T05:02:50Z", "2026-12-01T05:02:10Z", "db-backup-20261201-030000.sql.zst"},
		{"minutes, a tie", "2026-12-01T05:02Z", "2026-12-01T05:02Z", "db-backup-20261201-040000.sql.zst"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			store, err := storage.Open(context.Background(), dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			for name, at := range map[string]string{"db-backup-20261201-030000.sql.zst": tc.at0300, "db-backup-20261201-040000.sql.zst": tc.at0400} {
				meta := map[string]string{catalog.MetaRestored: at + " yesterday 41t 2134567r 93s 0fb"}
				if _, err := store.Put(context.Background(), name, strings.NewReader("data"), func() (map[string]string, error) { return meta, nil }); err != nil {
					t.Fatal(err)
				}
			}
			_, out, errOut := runApp(t, map[string]string{"BACKUPD_REMOTE": dir, "BACKUPD_LISTEN": "off"}, "status", "--json", "--now", "2026-12-01T06:00:00Z")
			var r statusReport
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("%v\n%s%s", err, out, errOut)
			}
			if r.LastRestore == nil || r.LastRestore.Backup != tc.want {
				t.Errorf("last restore %+v, want on %s", r.LastRestore, tc.want)
			}
		})
	}
}

// While serve runs a backup, status says since when beside the last run.
func TestStatusShowsARunGoingOn(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"status":"ok","running_since":"2026-12-01T06:00:00Z","last_attempt":"2026-12-01T05:00:00Z","last_result":"success","next_backup":"2026-12-01T07:00:00Z"}`))
	}))
	defer srv.Close()
	_, out, errOut := runApp(t, map[string]string{"BACKUPD_REMOTE": dir, "BACKUPD_LISTEN": strings.TrimPrefix(srv.URL, "http://")}, "status", "--now", "2026-12-01T06:03:00Z")
	if !strings.Contains(out, "running since 06:00, last run 05:00 success") {
		t.Errorf("status does not show the run going on:\n%s%s", out, errOut)
	}
	_, out, _ = runApp(t, map[string]string{"BACKUPD_REMOTE": dir, "BACKUPD_LISTEN": strings.TrimPrefix(srv.URL, "http://")}, "status", "--json", "--now", "2026-12-01T06:03:00Z")
	if !strings.Contains(out, `"running_since": "2026-12-01T06:00:00Z"`) {
		t.Errorf("status --json lacks running_since:\n%s", out)
	}
}

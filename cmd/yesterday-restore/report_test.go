package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/internal/notifytest"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/storage"
)

type ping struct{ Path, Body string }

func pings(t *testing.T) (url string, got func() []ping) {
	var mu sync.Mutex
	var all []ping
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		all = append(all, ping{r.URL.Path, string(b)})
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/ping/restore-check-key", func() []ping {
		mu.Lock()
		defer mu.Unlock()
		return append([]ping(nil), all...)
	}
}

// restoreSetup is a database to restore into and a store holding a good
// backup of the fixture (02:58) and a corrupt one closer to 03:00.
type restoreSetup struct {
	srv           *testdb.Server
	src           string
	env           map[string]string
	good, corrupt string
	rows          int64
}

func newRestoreSetup(t *testing.T, remote string, st *storage.Store) *restoreSetup {
	t.Helper()
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.LoadFile(t, src, "../../testdata/fixture.sql")
	job := backup.Job{Dumper: &dump.Dumper{Conn: srv.Root(src)}, Store: st, Codec: catalog.Codec{}, Time: time.Date(2026, 3, 14, 2, 58, 0, 0, time.UTC)}
	rep, err := job.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	s := &restoreSetup{srv: srv, src: src, good: rep.Name, corrupt: "db-backup-20260314-030000.sql.zst"}
	if _, err := st.Put(t.Context(), s.corrupt, strings.NewReader("\x28\xb5\x2f\xfd garbage"), func() (map[string]string, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	out := srv.Exec(t, src, "SELECT (SELECT COUNT(*) FROM users)+(SELECT COUNT(*) FROM orders)+(SELECT COUNT(*) FROM blobs)+(SELECT COUNT(*) FROM `empty table`)+(SELECT COUNT(*) FROM `we;ird``name`)+(SELECT COUNT(*) FROM audit)")
	if s.rows, err = strconv.ParseInt(strings.TrimSpace(out), 10, 64); err != nil {
		t.Fatalf("count the fixture's rows: %q: %v", out, err)
	}
	target := srv.NewDatabase(t, "app")
	user := srv.NewUser(t, target, "restore-pw-1234")
	for _, db := range []string{target + "_restore", target + "_restore_old"} {
		srv.Exec(t, "", fmt.Sprintf("GRANT ALL ON `%s`.* TO '%s'@'localhost'", strings.ReplaceAll(db, "_", `\_`), user))
		t.Cleanup(func() { _, _ = srv.Run("", "DROP DATABASE IF EXISTS `"+db+"`") })
	}
	s.env = map[string]string{
		"BACKUPD_REMOTE": remote, "DB_SOCKET": srv.Socket, "DB_DATABASE": target, "DB_USERNAME": user,
		"DB_PASSWORD": "restore-pw-1234", "FLY_APP_NAME": "yesterday",
	}
	return s
}

// TestRestoreReports: a restore that fell back pings its start and its
// result, alerts about the fallback, and records itself on the backup it
// restored; a restore of nothing pings the failure and alerts.
func TestRestoreReports(t *testing.T) {
	dir := t.TempDir()
	st, err := storage.Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newRestoreSetup(t, dir, st)
	pingURL, got := pings(t)
	hook := notifytest.NewWebhook(t)
	s.env["RESTORE_PING_URL"] = pingURL
	s.env["RESTORE_NOTIFY_URLS"] = hook.URL()

	code, out, errOut := run(t, s.env, "--now", "2026-03-15T05:00:00Z")
	if code != cli.ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	p := got()
	if len(p) != 2 || p[0].Path != "/ping/restore-check-key/start" || p[1].Path != "/ping/restore-check-key" {
		t.Fatalf("pings %+v, want start and success", p)
	}
	wantBody := fmt.Sprintf("restored %s: 6 tables, about %d rows, ", s.good, s.rows)
	if !strings.HasPrefix(p[1].Body, wantBody) || !strings.HasSuffix(p[1].Body, "after skipping 1 unusable backup") {
		t.Errorf("success ping body %q, want it to start %q and name the fallback", p[1].Body, wantBody)
	}
	msgs := hook.Messages()
	if len(msgs) != 1 || !strings.HasSuffix(msgs[0].Title, ": restore fell back to an older backup") || !strings.Contains(msgs[0].Body, s.corrupt) {
		t.Errorf("alerts %+v, want one about the fallback naming %s", msgs, s.corrupt)
	}
	entries, err := st.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var rec *catalog.Restored
	for _, b := range (catalog.Codec{}).Scan(entries, time.Now()).Backups {
		if b.Name == s.good {
			rec = b.Restored
		} else if b.Restored != nil {
			t.Errorf("%s carries a restore record", b.Name)
		}
	}
	if rec == nil {
		t.Fatalf("no restore record on %s\nstderr:\n%s", s.good, errOut)
	}
	if rec.Host != "yesterday" || rec.Tables != 6 || rec.Rows != s.rows || !rec.RowsApprox || rec.Fallbacks != 1 || time.Since(rec.At) > time.Hour {
		t.Errorf("record %+v, want yesterday, 6 tables, about %d rows, 1 fallback, now", rec, s.rows)
	}
	if strings.Contains(out+errOut, "restore-check-key") || strings.Contains(out+errOut, "restore-pw-1234") {
		t.Errorf("a secret reached the output:\n%s%s", out, errOut)
	}

	// Only the corrupt backup: nothing restored, a fail ping with the
	// reason, an alert.
	if err := st.Delete(context.Background(), s.good); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(t, s.env, "--now", "2026-03-15T05:00:00Z")
	if code != cli.ExitFailure {
		t.Fatalf("exit %d with only a corrupt backup\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	p = got()[2:]
	if len(p) != 2 || p[1].Path != "/ping/restore-check-key/fail" || !strings.Contains(p[1].Body, "no usable backup") {
		t.Errorf("pings %+v, want start and a fail saying why", p)
	}
	if msgs := hook.Messages(); len(msgs) != 2 || !strings.HasSuffix(msgs[1].Title, ": restore failed") {
		t.Errorf("alerts %+v, want a second one about the failure", msgs)
	}
}

// TestRestoreOnAReadOnlyRemote: where the account may not write (here a
// remote that keeps no metadata, as a Viewer's Drive folder keeps none of
// its writes), the restore succeeds, says once that it records nothing,
// and the ping carries the result.
func TestRestoreOnAReadOnlyRemote(t *testing.T) {
	remote := ":memory:" + strings.ReplaceAll(t.Name(), "/", "_")
	st, err := storage.Open(t.Context(), remote, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newRestoreSetup(t, remote, st)
	pingURL, got := pings(t)
	s.env["RESTORE_PING_URL"] = pingURL
	code, out, errOut := run(t, s.env, "--now", "2026-03-15T05:00:00Z")
	if code != cli.ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if n := strings.Count(errOut, "the restore is not recorded on the backup"); n != 1 {
		t.Errorf("said %d times that the restore is not recorded, want once:\n%s", n, errOut)
	}
	if p := got(); len(p) != 2 || !strings.Contains(p[1].Body, "restored "+s.good) {
		t.Errorf("pings %+v, want the result in the success ping", p)
	}
}

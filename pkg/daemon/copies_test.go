package daemon

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/pkg/backup"
)

// TestPartialRun: a backup published on the primary whose copy failed is
// a "partial" run: counted under its own label, said in the ping body and
// the log, and still fresh for the health check.
func TestPartialRun(t *testing.T) {
	srv, pings := pingServer(t, http.StatusOK)
	log, logs := newLog()
	d, err := New(Config{
		Schedule: mustSchedule(t, "0 * * * *"),
		Backup: func(ctx context.Context) (backup.Report, error) {
			rep := report(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))
			rep.Copies = []backup.CopyResult{{Remote: "tigris:"}, {Remote: "offsite:", Err: errors.New("bucket refused the upload")}}
			return rep, nil
		},
		Ping: &Pinger{URL: srv.URL + "/ping/key", Log: log},
		Log:  log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.runBackup(context.Background()); got != ResultPartial {
		t.Errorf("run = %s, want %s", got, ResultPartial)
	}
	if got := counter(t, d, "backupd_backup_runs_total", ResultPartial); got != 1 {
		t.Errorf("partial runs = %v, want 1", got)
	}
	p := pings()
	if len(p) != 2 || p[1].Path != "/ping/key" || !strings.Contains(p[1].Body, "partial") || !strings.Contains(p[1].Body, "offsite:: bucket refused the upload") {
		t.Errorf("pings = %+v, want a success ping saying which copy failed", p)
	}
	if !strings.Contains(logs.String(), "result=partial") && !strings.Contains(logs.String(), `"result":"partial"`) {
		t.Errorf("log does not say partial:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "bucket refused the upload") {
		t.Errorf("log does not say why the copy failed:\n%s", logs)
	}
}

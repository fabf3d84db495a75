package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/internal/fakedrive"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/slot"
)

// blockedDrive is production with the service account a Contributor of
// the Shared Drive, as production's was: it may upload, and Drive refuses
// every trash (403 insufficientFilePermissions) and every delete. The
// folder holds old backups, the newest an hour old.
func blockedDrive(t *testing.T, old int) *fakedrive.Production {
	t.Helper()
	p, _, _ := driveProduction(t)
	p.AddMember(p.DriveID, p.Account.Email, fakedrive.RoleWriter)
	putOldBackups(p, old)
	return p
}

// putOldBackups stores n small backups named for the hours before this
// one, as earlier runs would have left them.
func putOldBackups(p *fakedrive.Production, n int) {
	hour := time.Now().UTC().Truncate(time.Hour)
	for i := 1; i <= n; i++ {
		name := catalog.Codec{}.Name(hour.Add(-time.Duration(i)*time.Hour), catalog.Zstd)
		p.PutFile(p.FolderID, name, []byte("old backup "+name), nil)
	}
}

// requestsBy sums request lines ("op method path status") by operation
// and status, for messages.
func requestsBy(lines []string) string {
	n := map[string]int{}
	for _, l := range lines {
		f := strings.Fields(l)
		n[f[0]+" "+f[len(f)-1]]++
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, n[k])
	}
	return b.String()
}

// nowRequests runs "backupd now --keep 5" and returns how many requests
// the fake Drive served for it.
func nowRequests(t *testing.T, p *fakedrive.Production) (int, driveResult) {
	t.Helper()
	before := len(p.Requests())
	r := driveRun(t, "now", "--keep", "5")
	reqs := p.Requests()[before:]
	t.Logf("%d requests: %s", len(reqs), requestsBy(reqs))
	if want := fmt.Sprintf("\n  requests   %d to the remotes\n", len(reqs)); !strings.Contains(r.stdout, want) {
		t.Errorf("the run does not print its %d requests:\n%s", len(reqs), r.stdout)
	}
	return len(reqs), r
}

// keptBackups counts the backups in the folder that are not trashed.
func keptBackups(p *fakedrive.Production) int {
	n := 0
	for _, f := range p.Children(p.FolderID) {
		if b, ok := (catalog.Codec{}).Parse(f.Name); ok && !b.Partial && !f.Trashed {
			n++
		}
	}
	return n
}

// blockedRole is what a blocked run must say.
const blockedRole = "the service account may not delete in the Shared Drive; give it the Content Manager role"

// TestRetentionBlockedRequestBudget is production's request storm: with
// the service account unable to delete, every hourly run retried every
// excess backup. A run with 59 undeletable backups must make no more
// requests than one with 28, at most twice a plain run's; it must say
// which role to grant; and every backup must still be there. A later run
// tries one delete, and once the role is granted, retention catches up.
func TestRetentionBlockedRequestBudget(t *testing.T) {
	plain, r := nowRequests(t, blockedDrive(t, 0))
	if r.code != 0 {
		t.Fatalf("plain run exited %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	counts := map[int]int{}
	var p59 *fakedrive.Production
	for _, old := range []int{28, 59} {
		p := blockedDrive(t, old)
		n, r := nowRequests(t, p)
		counts[old] = n
		if r.code != cli.ExitPruneFailed {
			t.Errorf("%d undeletable backups: exit %d, want %d (published, retention failed)", old, r.code, cli.ExitPruneFailed)
		}
		if !strings.Contains(r.stdout, "retention  BLOCKED: "+blockedRole) || !strings.Contains(r.stderr, "retention is blocked: "+blockedRole) {
			t.Errorf("%d undeletable backups: the run does not say which role to grant\nstdout:\n%s\nstderr:\n%s", old, r.stdout, r.stderr)
		}
		if got := keptBackups(p); got != old+1 {
			t.Errorf("%d undeletable backups: %d backups left, want %d", old, got, old+1)
		}
		p59 = p
	}
	t.Logf("requests of backupd now --keep 5: plain run %d, 28 undeletable backups %d, 59 undeletable backups %d", plain, counts[28], counts[59])
	if counts[59] > counts[28] {
		t.Errorf("59 undeletable backups cost %d requests, 28 cost %d: the run grows with what it cannot delete", counts[59], counts[28])
	}
	if counts[59] > 2*plain {
		t.Errorf("59 undeletable backups cost %d requests, more than twice a plain run's %d", counts[59], plain)
	}

	// The next run finds the record and tries one delete: the record.
	n, r := nowRequests(t, p59)
	t.Logf("the next run, still blocked: %d requests", n)
	if n > counts[59] || r.code != cli.ExitPruneFailed || !strings.Contains(r.stdout, blockedRole) {
		t.Errorf("next blocked run: %d requests (first %d), exit %d\n%s", n, counts[59], r.code, r.stdout)
	}
	if got := keptBackups(p59); got != 61 {
		t.Errorf("%d backups left after the next run, want 61", got)
	}

	// Content Manager: the probe succeeds and retention catches up.
	p59.AddMember(p59.DriveID, p59.Account.Email, fakedrive.RoleFileOrganizer)
	n, r = nowRequests(t, p59)
	t.Logf("the run after the role was granted: %d requests", n)
	if r.code != 0 || strings.Contains(r.stdout, "BLOCKED") {
		t.Errorf("run after the role was granted: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if got := keptBackups(p59); got != 5 {
		t.Errorf("%d backups left once deleting works, want 5", got)
	}
	for _, f := range p59.Children(p59.FolderID) {
		if f.Name == (catalog.Codec{}).BlockedName() && !f.Trashed {
			t.Error("the record of the blocked retention is still there")
		}
	}
}

// serveRequests runs "backupd serve" in-process for one backup (taken at
// start), stops it, and returns how many requests the fake Drive served
// over the whole process: start-up, the run with its slot claim, and the
// shutdown. The claim settles for a second.
func serveRequests(t *testing.T, p *fakedrive.Production) (int, string) {
	t.Helper()
	dir := t.TempDir()
	out, err := os.Create(dir + "/stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	errf, err := os.Create(dir + "/stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer errf.Close()
	logged := func() string { b, _ := os.ReadFile(errf.Name()); return string(b) }
	t.Setenv("BACKUPD_LOCK_FILE", dir+"/backupd.lock")
	a := &app{stdout: out, stderr: errf, getenv: os.Getenv}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := len(p.Requests())
	done := make(chan int, 1)
	go func() {
		done <- a.run(ctx, []string{"serve", "--keep", "5", "--backup-at-start", "--listen", "off", "--claim-settle", "1s", "--schedule", "0 0 1 1 *"})
	}()
	waitFor(t, "the run's summary line", func() bool { return strings.Contains(logged(), `"msg":"backup run"`) })
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d\n%s", code, logged())
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not stop")
	}
	reqs := p.Requests()[before:]
	t.Logf("serve: %d requests: %s", len(reqs), requestsBy(reqs))
	return len(reqs), logged()
}

// putOldClaims stores n claims of earlier hourly slots, as the two
// machines of an app leave them while deletes are refused.
func putOldClaims(p *fakedrive.Production, n int) {
	hour := time.Now().UTC().Truncate(time.Hour)
	for i := 1; i <= n; i++ {
		at := hour.Add(-time.Duration(i) * time.Hour)
		p.PutFile(p.FolderID, (slot.Names{}).Name(at, at, "1a2b3c4d", "machine-b"), []byte("host=machine-b\n"), nil)
	}
}

// TestServeRetentionBlockedRequestBudget is the storm under serve, slot
// claims included: the old claims pile up too while deletes are refused.
// One serve run (start-up to shutdown) with 59 undeletable backups and 59
// claims costs no more than with 28 of each, at most twice a plain run's;
// it is degraded, and says which role to grant.
func TestServeRetentionBlockedRequestBudget(t *testing.T) {
	plain, _ := serveRequests(t, blockedDrive(t, 0))
	counts := map[int]int{}
	for _, old := range []int{28, 59} {
		p := blockedDrive(t, old)
		putOldClaims(p, old)
		n, log := serveRequests(t, p)
		counts[old] = n
		if !strings.Contains(log, `"retention_blocked":"retention is blocked: `+blockedRole) {
			t.Errorf("%d undeletable backups: the run's line does not say which role to grant:\n%s", old, log)
		}
		if got := keptBackups(p); got != old+1 {
			t.Errorf("%d undeletable backups: %d backups left, want %d", old, got, old+1)
		}
	}
	t.Logf("requests of one backupd serve run (start to stop, --keep 5): plain run %d, 28 undeletable backups and claims %d, 59 undeletable backups and claims %d", plain, counts[28], counts[59])
	if counts[59] > counts[28] {
		t.Errorf("59 undeletable backups cost %d requests, 28 cost %d: the run grows with what it cannot delete", counts[59], counts[28])
	}
	if counts[59] > 2*plain {
		t.Errorf("59 undeletable backups cost %d requests, more than twice a plain run's %d", counts[59], plain)
	}
}

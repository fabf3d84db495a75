package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/cli"
)

// A backup of an emptied database is published, reported as suspect with a
// failing status, and holds retention until an operator accepts it.
func TestSuspectBackupPausesRetention(t *testing.T) {
	dir := t.TempDir()
	full := script(t, "#!/bin/sh\nfor i in 1 2 3; do printf -- 'CREATE TABLE t%s (id int, v text);\\n' $i; done\nseq 1 3000 | sed 's/.*/INSERT INTO t1 VALUES (&, \x27some row text for the shape\x27);/'\nprintf -- '-- Dump completed on 2025-01-01 03:00:00\\n'\n")
	empty := script(t, "#!/bin/sh\nprintf -- '-- MariaDB dump\\n-- Dump completed on 2025-01-01 03:00:00\\n'\n")
	env := map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app", "BACKUPD_KEEP": "1"}
	now := func(dumper string) (int, string, string) {
		t.Helper()
		code, out, errOut := runApp(t, env, "now", "--mysqldump", dumper, "--remote", dir)
		// Backups are named to the second.
		time.Sleep(1100 * time.Millisecond)
		return code, out, errOut
	}
	if code, out, errOut := now(full); code != cli.ExitOK {
		t.Fatalf("first backup: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := now(full); code != cli.ExitOK {
		t.Fatalf("second backup: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := now(empty)
	if code != cli.ExitFailure {
		t.Errorf("backup of an emptied database: exit %d, want %d\n%s%s", code, cli.ExitFailure, out, errOut)
	}
	m := regexp.MustCompile(`(?m)^backup (\S+)`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "SUSPECT") || !strings.Contains(out, "backupd accept "+m[1]) {
		t.Fatalf("now does not report the suspect backup and how to accept it:\n%s%s", out, errOut)
	}
	suspect := m[1]
	if _, err := os.Stat(filepath.Join(dir, suspect)); err != nil {
		t.Errorf("the suspect backup was not published: %v", err)
	}
	backups := func() int {
		n, _ := filepath.Glob(filepath.Join(dir, "db-backup-*.sql.zst"))
		return len(n)
	}
	// --keep 1 pruned the first backup after the second.
	if got := backups(); got != 2 {
		t.Fatalf("%d backups, want 2", got)
	}

	code, out, errOut = runApp(t, env, "prune", "--remote", dir)
	if code != cli.ExitOK || !strings.Contains(out, "retention paused") || !strings.Contains(out, suspect) {
		t.Errorf("prune while suspect: exit %d\n%s%s", code, out, errOut)
	}
	if got := backups(); got != 2 {
		t.Errorf("prune deleted backups while retention is paused: %d left", got)
	}

	if code, out, errOut := runApp(t, env, "accept", suspect, "--remote", dir); code != cli.ExitOK {
		t.Fatalf("accept: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runApp(t, env, "prune", "--remote", dir); code != cli.ExitOK || strings.Contains(out, "paused") {
		t.Errorf("prune after accept: exit %d\n%s%s", code, out, errOut)
	}
	if got := backups(); got != 1 {
		t.Errorf("%d backups after accepting and pruning with --keep 1, want 1", got)
	}
	if code, _, errOut := runApp(t, env, "accept", "db-backup-20000101-000000.sql.zst", "--remote", dir); code == cli.ExitOK {
		t.Errorf("accept of a missing backup succeeded: %s", errOut)
	}
}

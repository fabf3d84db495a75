package main

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/internal/testdb"
)

// TestNowRunsOnOneProc: "backupd now" runs Go on one P while it dumps (the
// stream has one goroutine's work at a time; a second P only wakes
// threads on the core the app needs), unless GOMAXPROCS is set, and gives
// the setting back when it ends.
func TestNowRunsOnOneProc(t *testing.T) { testOneProc(t, "now") }

// TestServeRunsOnOneProc: so does "backupd serve", whose backups are the
// ones production takes every hour.
func TestServeRunsOnOneProc(t *testing.T) { testOneProc(t, "serve") }

func testOneProc(t *testing.T, command string) {
	srv := testdb.Get(t)
	db := srv.NewDatabase(t, "procs")
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for _, tc := range []struct {
		name   string
		env    string // GOMAXPROCS as the operator set it
		during int
	}{
		{"unset", "", 1},
		{"set", "2", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			started, goOn := filepath.Join(dir, "started"), filepath.Join(dir, "go")
			tool := filepath.Join(dir, "fake-dump")
			script := "#!/bin/sh\n" +
				"[ \"$1\" = --version ] && { echo 'mariadb-dump from 11.8.6-MariaDB, client 10.19 for debian-linux-gnu (x86_64)'; exit 0; }\n" +
				": > '" + started + "'\n" +
				"while [ ! -e '" + goOn + "' ]; do sleep 0.01; done\n" +
				"echo '-- MariaDB dump'\necho '-- Dump completed on 2026-11-26  4:00:00'\n"
			if err := os.WriteFile(tool, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"DB_DATABASE": db, "DB_USERNAME": "root", "DB_SOCKET": srv.Socket,
				"BACKUPD_MYSQLDUMP": tool, "GOMAXPROCS": tc.env}
			args := []string{"now", "--remote", filepath.Join(dir, "backups")}
			if command == "serve" {
				args = []string{"serve", "--remote", filepath.Join(dir, "backups"), "--backup-at-start", "--listen", "off",
					"--schedule", "0 0 1 1 *", "--no-slot-claims"}
			}
			done := make(chan int)
			go func() {
				code, _, stderr := runApp(t, env, args...)
				if code != cli.ExitOK {
					t.Errorf("exit %d; stderr:\n%s", code, stderr)
				}
				done <- code
			}()
			deadline := time.Now().Add(time.Minute)
			for {
				if _, err := os.Stat(started); err == nil {
					break
				} else if !errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
					t.Fatalf("the dump did not start: %v", err)
				}
				time.Sleep(10 * time.Millisecond)
			}
			during := runtime.GOMAXPROCS(0)
			if err := os.WriteFile(goOn, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if command == "serve" {
				// serve runs until it is told to stop: the signal it
				// catches while it runs.
				waitFile(t, filepath.Join(dir, "backups"), ".sql.zst")
				if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			}
			<-done
			if during != tc.during {
				t.Errorf("GOMAXPROCS while dumping = %d, want %d", during, tc.during)
			}
			if got := runtime.GOMAXPROCS(0); got != 2 {
				t.Errorf("GOMAXPROCS after the backup = %d, want 2 back", got)
			}
		})
	}
}

// waitFile waits until dir holds a file whose name ends in suffix.
func waitFile(t *testing.T, dir, suffix string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), suffix) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s file in %s after a minute", suffix, dir)
}

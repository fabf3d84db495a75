package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/internal/flytest"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/lock"
)

// These tests run the real backupd binary against a local folder remote,
// with a shell script standing in for mariadb-dump: what they exercise is
// the process (locking, signals, exit status), not the database.

// bound limits every wait on a child process; it guards against hangs and
// is not a performance assertion.
const bound = 30 * time.Second

func buildBackupd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "backupd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// fakeDump writes a dump program: it prints a dump header, then body (shell
// code), then the completion trailer. It records its pid in <dir>/dump.pid.
func fakeDump(t *testing.T, dir, body string) string {
	t.Helper()
	path := filepath.Join(dir, "fake-dump.sh")
	script := "#!/bin/sh\n" +
		"echo $$ > " + filepath.Join(dir, "dump.pid") + "\n" +
		"echo '-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)'\n" +
		"echo 'CREATE TABLE big (v text);'\n" +
		body + "\n" +
		"echo '-- Dump completed on 2025-03-01 10:00:00'\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// lotsOfRows prints about 4 MB of incompressible rows, enough for the upload
// to stream into the remote rather than be buffered.
const lotsOfRows = `head -c 3000000 /dev/urandom | base64 | sed 's/.*/INSERT INTO big VALUES ("&");/'`

func waitForFile(gate string) string {
	return "while [ ! -e " + gate + " ]; do sleep 0.05; done"
}

type env struct {
	dir, remote, lockFile string
	vars                  []string
}

func newEnv(t *testing.T, dumpBody string) *env {
	dir := t.TempDir()
	e := &env{dir: dir, remote: filepath.Join(dir, "remote"), lockFile: filepath.Join(dir, "run", "backupd.lock")}
	srv := testdb.Get(t)
	srv.Account(t, "backup", "not-on-the-command-line")
	e.vars = []string{
		"DB_SOCKET=" + srv.Socket,
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"TMPDIR=" + dir,
		"DB_DATABASE=app",
		"DB_USERNAME=backup",
		"DB_PASSWORD=not-on-the-command-line",
		"BACKUPD_MYSQLDUMP=" + fakeDump(t, dir, dumpBody),
		"BACKUPD_REMOTE=" + e.remote,
		"BACKUPD_LOCK_FILE=" + e.lockFile,
		// One machine: no peers to claim slots against (see
		// TestTwoServesShareOneSlot).
		"BACKUPD_SLOT_CLAIMS=false",
	}
	return e
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type proc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

func (e *env) start(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = e.vars
	p.cmd.Stdout = p.stderr
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits (bounded) for the process to exit and returns its exit status.
func (p *proc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("%s did not exit within %s; output:\n%s", p.cmd.Args, within, p.stderr)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holder waits until the lock file names pid as its holder.
func (e *env) holder(t *testing.T, pid int) lock.Owner {
	t.Helper()
	var o lock.Owner
	waitFor(t, fmt.Sprintf("pid %d to hold the lock", pid), func() bool {
		b, err := os.ReadFile(e.lockFile)
		return err == nil && json.Unmarshal(b, &o) == nil && o.PID == pid
	})
	return o
}

func (e *env) remoteFiles(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(e.remote)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range ents {
		names = append(names, de.Name())
	}
	return names
}

func (e *env) hasPartial(t *testing.T) bool {
	for _, n := range e.remoteFiles(t) {
		if strings.HasSuffix(n, catalog.PartialSuffix) {
			return true
		}
	}
	return false
}

func TestSecondBackupFailsWithExitLockedOrWaits(t *testing.T) {
	bin := buildBackupd(t)
	gate := filepath.Join(t.TempDir(), "gate")
	e := newEnv(t, waitForFile(gate))

	first := e.start(t, bin, "now")
	owner := e.holder(t, first.cmd.Process.Pid)

	// A second backup fails at once, saying by whom and since when.
	second := e.start(t, bin, "now")
	if got := second.wait(t, bound); got != cli.ExitLocked {
		t.Fatalf("second backupd now exited %d, want %d; output:\n%s", got, cli.ExitLocked, second.stderr)
	}
	msg := second.stderr.String()
	for _, want := range []string{
		fmt.Sprintf("pid %d", first.cmd.Process.Pid),
		"(backupd now)",
		"since " + owner.Since.Format("2006-01-02 15:04:05 UTC"),
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}

	// A third one asked to wait does, and runs once the first is done.
	third := e.start(t, bin, "now", "--wait", "2m")
	waitFor(t, "the waiting backup to say it waits", func() bool {
		return strings.Contains(third.stderr.String(), "waiting for the running backup to finish")
	})
	select {
	case <-third.done:
		t.Fatalf("the waiting backup exited while the lock was held:\n%s", third.stderr)
	default:
	}
	// Backups are named by the second they start; let the clock pass the
	// first one's second so the two names differ.
	waitFor(t, "the next second", func() bool { return time.Now().Truncate(time.Second).After(owner.Since) })
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := first.wait(t, bound); got != 0 {
		t.Fatalf("first backupd now exited %d:\n%s", got, first.stderr)
	}
	if got := third.wait(t, bound); got != 0 {
		t.Fatalf("waiting backupd now exited %d:\n%s", got, third.stderr)
	}
	l := catalog.Codec{}.Scan(entries(t, e), time.Now())
	if len(l.Backups) != 2 || len(l.Partials) != 0 || len(l.Foreign) != 0 {
		t.Errorf("remote holds %v, want two backups and nothing else", e.remoteFiles(t))
	}
}

func entries(t *testing.T, e *env) []catalog.Entry {
	var es []catalog.Entry
	for _, n := range e.remoteFiles(t) {
		st, err := os.Stat(filepath.Join(e.remote, n))
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, catalog.Entry{Name: n, Size: st.Size()})
	}
	return es
}

func TestSIGTERMCancelsALongBackupAndLeavesNothing(t *testing.T) {
	bin := buildBackupd(t)
	// A large table that never ends: rows keep coming until the dump is
	// killed.
	e := newEnv(t, lotsOfRows+"\nwhile :; do echo 'INSERT INTO big VALUES (\"more\");'; sleep 0.1; done")
	const grace = 2 * time.Second
	serve := e.start(t, bin, "serve", "--backup-at-start", "--shutdown-grace", grace.String(), "--listen", "127.0.0.1:0")
	waitFor(t, "the upload to be under way", func() bool { return e.hasPartial(t) })
	e.holder(t, serve.cmd.Process.Pid)

	// backupd now, run by hand meanwhile, meets the daemon's lock.
	now := e.start(t, bin, "now")
	if got := now.wait(t, bound); got != cli.ExitLocked {
		t.Errorf("backupd now during a scheduled backup exited %d, want %d:\n%s", got, cli.ExitLocked, now.stderr)
	}
	if msg := now.stderr.String(); !strings.Contains(msg, "(backupd serve)") || !strings.Contains(msg, fmt.Sprintf("pid %d", serve.cmd.Process.Pid)) {
		t.Errorf("backupd now does not name the daemon as the holder: %s", msg)
	}

	dumpPID := readPID(t, filepath.Join(e.dir, "dump.pid"))
	start := time.Now()
	if err := serve.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := serve.wait(t, grace+15*time.Second); got != 0 {
		t.Errorf("serve exited %d after SIGTERM, want 0:\n%s", got, serve.stderr)
	}
	t.Logf("serve exited %s after SIGTERM (grace %s)", time.Since(start).Round(time.Millisecond), grace)

	if files := e.remoteFiles(t); len(files) != 0 {
		t.Errorf("remote holds %v after the cancelled backup, want nothing", files)
	}
	if err := syscall.Kill(dumpPID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the dump program (pid %d) is still there: %v", dumpPID, err)
	}
	log := serve.stderr.String()
	for _, want := range []string{"grace period over", `"result":"cancelled"`, `"msg":"stopped"`} {
		if !strings.Contains(log, want) {
			t.Errorf("serve log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, "not-on-the-command-line") {
		t.Error("the database password reached the log")
	}
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	waitFor(t, "the dump program's pid", func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		_, err = fmt.Sscan(string(b), &pid)
		return err == nil && pid > 0
	})
	return pid
}

func TestSIGTERMWithinGraceLetsTheBackupFinish(t *testing.T) {
	bin := buildBackupd(t)
	gate := filepath.Join(t.TempDir(), "gate")
	e := newEnv(t, lotsOfRows+"\n"+waitForFile(gate))
	serve := e.start(t, bin, "serve", "--backup-at-start", "--listen", "off")
	waitFor(t, "the upload to be under way", func() bool { return e.hasPartial(t) })

	if err := serve.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "serve to acknowledge the signal", func() bool {
		return strings.Contains(serve.stderr.String(), "waiting for the running job to finish")
	})
	select {
	case <-serve.done:
		t.Fatalf("serve exited before its backup finished:\n%s", serve.stderr)
	default:
	}
	// The dump finishes well within the default 30s grace.
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := serve.wait(t, bound); got != 0 {
		t.Errorf("serve exited %d, want 0:\n%s", got, serve.stderr)
	}
	l := catalog.Codec{}.Scan(entries(t, e), time.Now())
	if len(l.Backups) != 1 || len(l.Partials) != 0 {
		t.Errorf("remote holds %v, want exactly one published backup", e.remoteFiles(t))
	}
	if !strings.Contains(serve.stderr.String(), `"result":"success"`) {
		t.Errorf("no successful run logged:\n%s", serve.stderr)
	}
}

func TestServeRefusesBadSettings(t *testing.T) {
	base := map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "backup", "BACKUPD_MYSQLDUMP": "true"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bad schedule flag", nil, []string{"--schedule", "every hour"}, `invalid schedule from --schedule: "every hour"`},
		{"six fields", nil, []string{"--schedule", "0 0 * * * *"}, "expected exactly 5 fields"},
		{"bad schedule env", map[string]string{"BACKUPD_SCHEDULE": "61 * * * *"}, nil, "invalid schedule from BACKUPD_SCHEDULE"},
		{"bad refresh schedule", map[string]string{"BACKUPD_REFRESH_APP": "yesterday", "FLY_YESTERDAY_RESTART_TOKEN": "t"}, []string{"--refresh-schedule", "5am"}, "invalid refresh-schedule"},
		{"app without token", map[string]string{"BACKUPD_REFRESH_APP": "yesterday"}, nil, "FLY_YESTERDAY_RESTART_TOKEN is not"},
		{"bad ping url", map[string]string{"BACKUPD_PING_URL": "hc-ping.com/abc"}, nil, "invalid ping URL"},
		{"bad grace", nil, []string{"--shutdown-grace", "soon"}, "shutdown-grace"},
		{"bad at-start env", map[string]string{"BACKUPD_BACKUP_AT_START": "maybe"}, nil, "BACKUPD_BACKUP_AT_START"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tc.env {
				env[k] = v
			}
			code, _, stderr := runApp(t, env, append([]string{"serve"}, tc.args...)...)
			if code != cli.ExitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", code, cli.ExitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q lacks %q", stderr, tc.want)
			}
		})
	}
}

func TestRefreshCommand(t *testing.T) {
	const token = "fm2_refresh-secret"
	api := flytest.NewServer("yesterday", "m1", "m2")
	defer api.Close()
	env := map[string]string{"BACKUPD_REFRESH_APP": "yesterday", "FLY_API_URL": api.URL, "FLY_YESTERDAY_RESTART_TOKEN": token}

	code, stdout, stderr := runApp(t, env, "refresh")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := api.Restarted(); len(got) != 2 {
		t.Errorf("restarted %v, want both machines", got)
	}
	if !strings.Contains(stdout, "restarted machine m1") || !strings.Contains(stdout, "2 machine(s) restarted") {
		t.Errorf("stdout %q does not report the restarts", stdout)
	}

	api.SetFail(func(r *http.Request) (int, string) { return http.StatusUnauthorized, `{"error":"unauthorized"}` })
	code, _, stderr = runApp(t, env, "refresh")
	if code != cli.ExitFailure {
		t.Errorf("exit %d against a failing API, want %d", code, cli.ExitFailure)
	}
	if !strings.Contains(stderr, "401") || strings.Contains(stderr, token) {
		t.Errorf("stderr %q: want the 401 and never the token", stderr)
	}
	for _, r := range api.Requests() {
		if r.Authorization != "Bearer "+token {
			t.Errorf("%s %s: Authorization %q", r.Method, r.Path, r.Authorization)
		}
	}
}

func TestServePrunesAfterEachBackup(t *testing.T) {
	bin := buildBackupd(t)
	e := newEnv(t, `echo "CREATE TABLE t (id int);"; echo "-- Dump completed on 2026-11-26  3:00:00"`)
	e.vars = append(e.vars, "BACKUPD_KEEP=3")
	if err := os.MkdirAll(e.remote, 0o755); err != nil {
		t.Fatal(err)
	}
	codec := catalog.Codec{}
	for h := range 5 {
		name := codec.Name(time.Date(2026, 1, 1, h, 0, 0, 0, time.UTC), catalog.Zstd)
		if err := os.WriteFile(filepath.Join(e.remote, name), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(e.remote, "notes.txt"), []byte("foreign"), 0o644); err != nil {
		t.Fatal(err)
	}
	serve := e.start(t, bin, "serve", "--backup-at-start", "--listen", "off")
	waitFor(t, "the first run to finish", func() bool {
		return strings.Contains(serve.stderr.String(), `"result":"success"`)
	})
	if err := serve.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := serve.wait(t, bound); got != 0 {
		t.Errorf("serve exited %d:\n%s", got, serve.stderr)
	}
	l := codec.Scan(entries(t, e), time.Now())
	if len(l.Backups) != 3 || len(l.Foreign) != 1 {
		t.Fatalf("remote holds %v, want the 3 newest backups and the foreign file", e.remoteFiles(t))
	}
	if got, want := l.Backups[0].Name, codec.Name(time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC), catalog.Zstd); got != want {
		t.Errorf("oldest kept = %s, want %s", got, want)
	}
	if l.Backups[2].Time.Year() == 2026 && l.Backups[2].Time.Month() == 1 {
		t.Errorf("the new backup was not kept: %v", e.remoteFiles(t))
	}
}

// Two serve processes on two machines (separate lock files) sharing one
// remote take one backup per slot: the loser says who took it and counts
// the run as skipped, not failed.
func TestTwoServesShareOneSlot(t *testing.T) {
	bin := buildBackupd(t)
	a := newEnv(t, `echo "CREATE TABLE t (id int);"; echo "-- Dump completed on 2026-11-26  3:00:00"`)
	b := newEnv(t, `echo "CREATE TABLE t (id int);"; echo "-- Dump completed on 2026-11-26  3:00:00"`)
	b.remote = a.remote
	for _, e := range []*env{a, b} {
		e.vars = slices.DeleteFunc(e.vars, func(v string) bool {
			return strings.HasPrefix(v, "BACKUPD_SLOT_CLAIMS=") || strings.HasPrefix(v, "BACKUPD_REMOTE=")
		})
	}
	a.vars = append(a.vars, "BACKUPD_REMOTE="+a.remote, "BACKUPD_HOST=machine-a", "BACKUPD_CLAIM_SETTLE=2s")
	b.vars = append(b.vars, "BACKUPD_REMOTE="+a.remote, "BACKUPD_HOST=machine-b", "BACKUPD_CLAIM_SETTLE=2s")
	// The minute must not turn between the two starts, or they would
	// claim two slots.
	if s := time.Now().Second(); s > 45 {
		time.Sleep(time.Duration(61-s) * time.Second)
	}
	pa := a.start(t, bin, "serve", "--backup-at-start", "--listen", "off", "--schedule", "0 0 1 1 *")
	pb := b.start(t, bin, "serve", "--backup-at-start", "--listen", "off", "--schedule", "0 0 1 1 *")
	var winner, loser *proc
	waitFor(t, "one run to succeed and the other to be skipped", func() bool {
		switch {
		case strings.Contains(pa.stderr.String(), `"result":"success"`) && strings.Contains(pb.stderr.String(), `"result":"skipped"`):
			winner, loser = pa, pb
		case strings.Contains(pb.stderr.String(), `"result":"success"`) && strings.Contains(pa.stderr.String(), `"result":"skipped"`):
			winner, loser = pb, pa
		}
		return winner != nil
	})
	if !strings.Contains(loser.stderr.String(), "taken by machine-") {
		t.Errorf("the loser does not say who took the slot:\n%s", loser.stderr)
	}
	for _, p := range []*proc{pa, pb} {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if got := p.wait(t, bound); got != 0 {
			t.Errorf("serve exited %d:\n%s", got, p.stderr)
		}
	}
	if l := (catalog.Codec{}).Scan(entries(t, a), time.Now()); len(l.Backups) != 1 {
		t.Errorf("remote holds %v, want one backup", a.remoteFiles(t))
	}
}

// At start-up serve has its dump tool write the schema and reads it as the
// restore would: a pairing whose output the restore refuses fails health
// at once and is logged, before any backup; one it takes is logged too.
func TestServeChecksWhatTheRestoreWouldRefuse(t *testing.T) {
	bin := buildBackupd(t)
	for _, tc := range []struct {
		name, body, log string
		healthy         bool
	}{
		{"refused", `echo "GRANT ALL ON *.* TO 'x'@'%';"`, "the restore would refuse what this dump tool writes", false},
		{"taken", `echo "INSERT INTO big VALUES ('a');"`, "the restore takes this dump tool's schema", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.body)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			serve := e.start(t, bin, "serve", "--listen", addr)
			waitFor(t, "the start-up check", func() bool { return strings.Contains(serve.stderr.String(), tc.log) })
			var code int
			waitFor(t, "health", func() bool {
				resp, err := http.Get("http://" + addr + "/healthz")
				if err != nil {
					return false
				}
				resp.Body.Close()
				code = resp.StatusCode
				return true
			})
			if (code == http.StatusOK) != tc.healthy {
				t.Errorf("health answered %d, want healthy %v:\n%s", code, tc.healthy, serve.stderr)
			}
		})
	}
}

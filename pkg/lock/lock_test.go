package lock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestSecondHolderIsToldWhoAndSince(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "backupd.lock")
	before := time.Now().UTC().Truncate(time.Second)
	first, err := TryAcquire(path, "backupd serve")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Release()

	// flock locks belong to the open file, so a second open in this same
	// process contends exactly as another process would.
	second, err := TryAcquire(path, "backupd now")
	if err == nil {
		second.Release()
		t.Fatal("second TryAcquire succeeded while the lock was held")
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("err = %T, want *HeldError", err)
	}
	if got, want := held.Owner.PID, os.Getpid(); got != want {
		t.Errorf("owner pid = %d, want %d", got, want)
	}
	if got, want := held.Owner.Command, "backupd serve"; got != want {
		t.Errorf("owner command = %q, want %q", got, want)
	}
	if held.Owner.Since.Before(before) || held.Owner.Since.After(time.Now().Add(time.Second)) {
		t.Errorf("owner since = %v, want about %v", held.Owner.Since, before)
	}
	msg := err.Error()
	for _, want := range []string{fmt.Sprintf("pid %d", os.Getpid()), "(backupd serve)", "since " + held.Owner.Since.Format("2006-01-02 15:04:05 UTC"), path} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

func TestReleaseLetsTheNextOneIn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backupd.lock")
	first, err := TryAcquire(path, "one")
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if err := first.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the lock file is left after release (%v): lock files would pile up", err)
	}
	second, err := TryAcquire(path, "two")
	if err != nil {
		t.Fatalf("TryAcquire after release: %v", err)
	}
	second.Release()
}

func TestLeftoverRecordDoesNotBlock(t *testing.T) {
	// A holder killed with SIGKILL leaves its record in the file; the
	// kernel dropped its flock, so the file alone must not block.
	path := filepath.Join(t.TempDir(), "backupd.lock")
	if err := os.WriteFile(path, []byte(`{"pid":999999,"since":"2020-01-01T00:00:00Z"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := TryAcquire(path, "after crash")
	if err != nil {
		t.Fatalf("TryAcquire over a leftover record: %v", err)
	}
	defer l.Release()
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), fmt.Sprintf(`"pid":%d`, os.Getpid())) {
		t.Errorf("lock file = %q, want this process's record", b)
	}
}

func TestAcquireWaitsForTheHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backupd.lock")
	first, err := TryAcquire(path, "one")
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(100 * time.Millisecond)
		first.Release()
		close(released)
	}()
	second, err := Acquire(context.Background(), path, "two", time.Minute, 10*time.Millisecond)
	if err != nil {
		t.Fatalf("Acquire with a wait: %v", err)
	}
	defer second.Release()
	select {
	case <-released:
	default:
		t.Fatal("Acquire returned before the holder released")
	}
}

func TestAcquireGivesUpAfterTheWait(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backupd.lock")
	first, err := TryAcquire(path, "one")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Release()
	_, err = Acquire(context.Background(), path, "two", 50*time.Millisecond, 10*time.Millisecond)
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("err = %v, want *HeldError", err)
	}
	if held.Waited < 50*time.Millisecond {
		t.Errorf("waited = %v, want at least the 50ms asked for", held.Waited)
	}
	if !strings.Contains(err.Error(), "gave up after waiting") {
		t.Errorf("message %q does not say it waited", err)
	}
}

func TestAcquireStopsWithTheContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backupd.lock")
	first, err := TryAcquire(path, "one")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Release()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err = Acquire(ctx, path, "two", time.Hour, 10*time.Millisecond)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestUnusablePathIsAPlainError(t *testing.T) {
	// A path under a regular file cannot be created, whoever we run as.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := TryAcquire(filepath.Join(file, "backupd.lock"), "x")
	if err == nil || errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want a plain error", err)
	}
}

func TestHolderWithoutARecord(t *testing.T) {
	// A holder that has not written its record yet (or a foreign tool
	// locking the same file) still blocks; the message says what it can.
	path := filepath.Join(t.TempDir(), "backupd.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	_, err = TryAcquire(path, "backupd now")
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("err = %v, want *HeldError", err)
	}
	if held.Owner.PID != 0 {
		t.Errorf("owner = %+v, want unknown", held.Owner)
	}
	if want := "the lock " + path + " is held"; !strings.Contains(err.Error(), want) {
		t.Errorf("message %q lacks %q", err, want)
	}
}

// TestAnotherUsersLockFile runs a helper process as user nobody against a
// lock file root created: it cannot write the file but must still lock it.
func TestAnotherUsersLockFile(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("needs root to run a helper as another user, and CI runs as root")
		}
		t.Skip("needs root to run a helper as another user")
	}
	dir := t.TempDir()
	// The helper must reach its binary and the lock file; the folder is
	// like /tmp, where the default lock files live: everyone may create
	// files, and remove only their own.
	for d, mode := range map[string]os.FileMode{dir: 0o777 | os.ModeSticky, filepath.Dir(dir): 0o755} {
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "backupd.lock")
	mine, err := TryAcquire(path, "root")
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "lock.test")
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	helper := func() (string, error) {
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = []string{"LOCK_HELPER_PATH=" + path}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// Held by root: the other user is refused, told by whom.
	out, err := helper()
	if err == nil || !strings.Contains(out, "pid "+strconv.Itoa(os.Getpid())+" (root)") {
		t.Errorf("helper while root holds the lock: %v\n%s", err, out)
	}
	// Free, root's file removed: the other user takes it in a file of its
	// own, and removes that.
	mine.Release()
	out, err = helper()
	if err != nil || !strings.Contains(out, "acquired") {
		t.Errorf("helper on a free lock: %v\n%s", err, out)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the other user's lock file is left: %v", err)
	}
	// Free, root's file left behind (a root process killed outright): the
	// other user locks it though it cannot write or remove it.
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = helper()
	if err != nil || !strings.Contains(out, "acquired") {
		t.Errorf("helper on root's free lock file: %v\n%s", err, out)
	}
}

func TestMain(m *testing.M) {
	if path := os.Getenv("LOCK_HELPER_PATH"); path != "" {
		l, err := TryAcquire(path, "helper")
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("acquired")
		l.Release()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestRefusesASymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "backupd.lock")
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	if l, err := TryAcquire(path, "backupd now"); err == nil {
		l.Release()
		t.Fatal("took a lock through a symlink")
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("the symlink's target was changed: %q", b)
	}
}

// The classic race of removing a lock file: a process opens the file, the
// holder removes it and lets go, a newcomer creates a new file at the path
// and locks it; the first process's flock on the removed file then
// succeeds, and must not count as holding the lock.
func TestLockOnARemovedFileIsNoLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backupd.lock")
	holder, err := TryAcquire(path, "holder")
	if err != nil {
		t.Fatal(err)
	}
	var newcomer *Lock
	betweenOpenAndLock = func() {
		betweenOpenAndLock = nil
		if err := holder.Release(); err != nil {
			t.Error(err)
		}
		if newcomer, err = TryAcquire(path, "newcomer"); err != nil {
			t.Error(err)
		}
	}
	defer func() { betweenOpenAndLock = nil }()
	late, err := TryAcquire(path, "late")
	if err == nil {
		late.Release()
		t.Fatal("took the lock on a removed file while the newcomer holds the path's")
	}
	var held *HeldError
	if !errors.As(err, &held) || held.Owner.Command != "newcomer" {
		t.Errorf("err = %v, want held by the newcomer", err)
	}
	if newcomer != nil {
		newcomer.Release()
	}
}

// A holder whose file was removed under it (a /tmp cleaner) and replaced
// by another's leaves the other's file alone when it lets go.
func TestReleaseLeavesAnotherHoldersFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backupd.lock")
	first, err := TryAcquire(path, "first")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	second, err := TryAcquire(path, "second")
	if err != nil {
		t.Fatal(err)
	}
	defer second.Release()
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := TryAcquire(path, "third"); !errors.Is(err, ErrLocked) {
		t.Errorf("after the first holder let go, the second's lock is gone: %v", err)
	}
}

// Many takers at once, each removing the file when it lets go: never two
// holders at a time, and every one gets its turn.
func TestOneHolderAtATimeWhileFilesComeAndGo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backupd.lock")
	const takers, rounds = 8, 200
	var holders, most, turns atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, takers)
	for i := range takers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				l, err := Acquire(context.Background(), path, fmt.Sprint("taker ", i), time.Minute, time.Millisecond)
				if err != nil {
					errs <- err
					return
				}
				n := holders.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				turns.Add(1)
				holders.Add(-1)
				if err := l.Release(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if most.Load() != 1 || turns.Load() != takers*rounds {
		t.Errorf("at most %d holders at once (want 1), %d turns (want %d)", most.Load(), turns.Load(), takers*rounds)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the lock file is left after the last release: %v", err)
	}
}

package mariadb_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/backupd/backupd/internal/mariadb"
)

// TestRemoveStaleOptionFiles plants what an earlier crash leaves behind,
// and things that merely look like it.
func TestRemoveStaleOptionFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("[client]\npassword=\"secret\"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stale1 := write("backupd-client-123.cnf")
	stale2 := write("backupd-client-9876543.cnf")
	other := write("backupd-client-123.cnf.keep")
	foreign := write("my.cnf")
	target := filepath.Join(t.TempDir(), "target.cnf")
	if err := os.WriteFile(target, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "backupd-client-4242.cnf")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "backupd-client-4343.cnf")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}

	n, err := mariadb.RemoveStaleOptionFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("removed %d files, want 2", n)
	}
	for _, p := range []string{stale1, stale2} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
	for _, p := range []string{other, foreign, link, sub, target} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s was touched: %v", p, err)
		}
	}
	if _, err := mariadb.RemoveStaleOptionFiles(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("missing dir: %v", err)
	}
}

// TestCommandRemovesStaleOptionFiles: the first client tool a process
// starts with a temp dir clears what a crash left there.
func TestCommandRemovesStaleOptionFiles(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "backupd-client-55.cnf")
	if err := os.WriteFile(stale, []byte("[client]\npassword=\"secret\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, err := mariadb.Conn{User: "u", Password: "pw"}.Command(context.Background(), dir, "true")
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(stale); !os.IsNotExist(err) {
		t.Errorf("stale option file still there: %v", err)
	}
}

package restore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/selector"
)

// TestRestoreFallsBackOnPrivilegeErrors offers backups whose statements
// ask for what the restore account may not do (read another database,
// create a table outside staging, change a global setting), ranked
// before a good one: each is the backup's fault and is skipped.
func TestRestoreFallsBackOnPrivilegeErrors(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.LoadFile(t, src, fixturePath)
	dir := t.TempDir()
	good := backupdBackup(t, srv, src, dir, at(0, 0))
	crafted := []struct {
		hour int
		sql  string
		code int
	}{
		{3, "CREATE TABLE t (id INT);\nCREATE VIEW v AS SELECT User FROM mysql.user;\n", mariadb.ErTableAccessDenied},
		{2, "CREATE TABLE t (id INT);\nCREATE TABLE mysql.t (id INT);\n", mariadb.ErTableAccessDenied},
		{4, "CREATE TABLE t (id INT);\nSET GLOBAL max_connections = 5;\n", mariadb.ErSpecificAccess},
	}
	var names []string
	for _, c := range crafted {
		names = append(names, put(t, dir, at(c.hour, 0), catalog.Gzip, gzipBytes(t, []byte(c.sql+"-- Dump completed on 2026-03-14  3:00:00\n"))))
	}

	target := srv.NewDatabase(t, "app")
	prefill(t, srv, target)
	conn := limitedUser(t, srv, target)
	r := &Restorer{Store: openStore(t, dir, nil), Conn: conn, SnapshotFile: filepath.Join(t.TempDir(), "snapshot"), Log: testLog(t)}
	rep, err := restoreNow(t, r, r.Store)
	if err != nil {
		t.Fatalf("restore: %v; want the crafted backups skipped and %s restored", err, good.Name)
	}
	if rep.Backup.Name != good.Name {
		t.Errorf("restored %s, want %s", rep.Backup.Name, good.Name)
	}
	if len(rep.Skipped) != len(names) {
		t.Fatalf("skipped %v, want %v", rep.Skipped, names)
	}
	for i, s := range rep.Skipped {
		t.Logf("skipped %s: %v", s.Backup, s.Err)
		if s.Backup != names[i] {
			t.Errorf("skipped[%d] = %s, want %s", i, s.Backup, names[i])
		}
	}
	if got, want := srv.Fingerprint(t, target), srv.Fingerprint(t, src); got != want {
		t.Errorf("restored database differs from the source\n--- got\n%s\n--- want\n%s", got, want)
	}
}

// TestRestoreStopsOnMissingGrants checks that an account without the
// documented grants is refused at once, with every GRANT it needs, before
// any backup is opened.
func TestRestoreStopsOnMissingGrants(t *testing.T) {
	srv := testdb.Get(t)
	target := srv.NewDatabase(t, "app")
	user := srv.NewUser(t, target, "pw")
	conn := mariadb.Conn{Socket: srv.Socket, User: user, Password: "pw", Database: target}
	store := &countingStore{Store: openStore(t, t.TempDir(), nil)}
	r := &Restorer{Store: store, Conn: conn, Log: testLog(t)}
	b, _ := codec.Parse(codec.Name(at(3, 0), catalog.Zstd))
	_, err := r.Restore(t.Context(), []catalog.Backup{b})
	esc := strings.ReplaceAll(target, "_", "\\_")
	for _, want := range []string{
		fmt.Sprintf("GRANT ALL PRIVILEGES ON `%s\\_restore`.* TO '%s'@'localhost';", esc, user),
		fmt.Sprintf("GRANT ALL PRIVILEGES ON `%s\\_restore\\_old`.* TO '%s'@'localhost';", esc, user),
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant it to name %s", err, want)
		}
	}
	if store.opened > 0 {
		t.Errorf("a backup was opened %d times before the grants were found missing", store.opened)
	}
}

type countingStore struct {
	Store
	opened int
}

func (c *countingStore) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	c.opened++
	return c.Store.Open(ctx, name)
}

// TestRestoreWrongPasswordFailsFast checks that a refused password ends the
// wait for the database with a message naming the account, where it was
// refused and the setting to fix, not "did not answer".
func TestRestoreWrongPasswordFailsFast(t *testing.T) {
	srv := testdb.Get(t)
	target := srv.NewDatabase(t, "app")
	conn := limitedUser(t, srv, target)
	conn.Password = "not-the-password"
	r := &Restorer{Store: openStore(t, t.TempDir(), nil), Conn: conn, Wait: 30 * time.Second, Log: testLog(t)}
	b, _ := codec.Parse(codec.Name(at(3, 0), catalog.Zstd))
	_, err := r.Restore(t.Context(), []catalog.Backup{b})
	if err == nil {
		t.Fatal("restore with a wrong password succeeded")
	}
	msg := err.Error()
	for _, want := range []string{"1045", conn.User, srv.Socket, "DB_USERNAME", "DB_PASSWORD"} {
		if !strings.Contains(msg, want) {
			t.Errorf("err = %v\nwant it to name %q", err, want)
		}
	}
	for _, bad := range []string{"did not answer", "not-the-password"} {
		if strings.Contains(msg, bad) {
			t.Errorf("err = %v\nwant no %q", err, bad)
		}
	}
}

// TestRestoreUnknownDatabaseFailsFast names a target that does not exist
// and that the account may not create.
func TestRestoreUnknownDatabaseFailsFast(t *testing.T) {
	srv := testdb.Get(t)
	target := srv.NewDatabase(t, "app")
	conn := limitedUser(t, srv, target)
	conn.Database = target + "_typo"
	store := &countingStore{Store: openStore(t, t.TempDir(), nil)}
	r := &Restorer{Store: store, Conn: conn, Wait: 30 * time.Second, Log: testLog(t)}
	b, _ := codec.Parse(codec.Name(at(3, 0), catalog.Zstd))
	_, err := r.Restore(t.Context(), []catalog.Backup{b})
	if err == nil {
		t.Fatal("restore into a database the account has no rights on succeeded")
	}
	want := fmt.Sprintf("GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'localhost';", strings.ReplaceAll(conn.Database, "_", "\\_"), conn.User)
	for _, w := range []string{"DB_DATABASE", conn.Database, want} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("err = %v\nwant it to name %q", err, w)
		}
	}
	if store.opened > 0 {
		t.Errorf("a backup was opened before the database was found unusable")
	}
}

// TestRestoreUnverified restores a backup without a recorded checksum and
// reports it as unverified; with RequireChecksum it is skipped.
func TestRestoreUnverified(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.LoadFile(t, src, fixturePath)
	sqlText := mysqldumpText(t, srv, src)
	data := gzipBytes(t, sqlText)
	dir := t.TempDir()
	unverified := put(t, dir, at(3, 0), catalog.Gzip, data)
	verified := put(t, dir, at(4, 0), catalog.Gzip, data)
	sum := sha256.Sum256(data)
	meta := map[string]map[string]string{verified: catalog.Meta(hex.EncodeToString(sum[:]), int64(len(sqlText)))}
	onlyUnverified := t.TempDir()
	put(t, onlyUnverified, at(3, 0), catalog.Gzip, data)

	target := srv.NewDatabase(t, "app")
	conn := limitedUser(t, srv, target)
	status := filepath.Join(t.TempDir(), "status.json")
	readStatus := func(t *testing.T) Status {
		t.Helper()
		raw, err := os.ReadFile(status)
		if err != nil {
			t.Fatal(err)
		}
		var st Status
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), `"verified"`) {
			t.Errorf("status file has no verified field:\n%s", raw)
		}
		return st
	}

	t.Run("reported", func(t *testing.T) {
		r := &Restorer{Store: openStore(t, dir, meta), Conn: conn, StatusFile: status, Log: testLog(t)}
		rep, err := restoreNow(t, r, r.Store)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Backup.Name != unverified || rep.Verified {
			t.Errorf("restored %s verified=%v, want %s unverified", rep.Backup.Name, rep.Verified, unverified)
		}
		if st := readStatus(t); st.Backup != unverified || st.Verified {
			t.Errorf("status: %s verified=%v, want %s unverified", st.Backup, st.Verified, unverified)
		}
	})
	t.Run("required", func(t *testing.T) {
		r := &Restorer{Store: openStore(t, dir, meta), Conn: conn, StatusFile: status, RequireChecksum: true, Log: testLog(t)}
		rep, err := restoreNow(t, r, r.Store)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Backup.Name != verified || !rep.Verified {
			t.Errorf("restored %s verified=%v, want %s verified", rep.Backup.Name, rep.Verified, verified)
		}
		if len(rep.Skipped) != 1 || rep.Skipped[0].Backup != unverified || !errors.Is(rep.Skipped[0].Err, ErrUnverified) {
			t.Errorf("skipped %v, want %s for ErrUnverified", rep.Skipped, unverified)
		}
		if st := readStatus(t); st.Backup != verified || !st.Verified {
			t.Errorf("status: %s verified=%v, want %s verified", st.Backup, st.Verified, verified)
		}
	})
	t.Run("required, none has a checksum", func(t *testing.T) {
		r := &Restorer{Store: openStore(t, onlyUnverified, nil), Conn: conn, RequireChecksum: true, Log: testLog(t)}
		_, err := restoreNow(t, r, r.Store)
		if !errors.Is(err, ErrUnverified) || !errors.Is(err, selector.ErrNoBackup) {
			t.Errorf("err = %v, want ErrUnverified and ErrNoBackup", err)
		}
	})
}

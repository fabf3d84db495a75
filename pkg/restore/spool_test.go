package restore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/selector"
	"github.com/backupd/backupd/pkg/storage"
)

// forgedMark names every table of a forged dump, so that the server's
// general log shows whether any of its statements arrived.
const forgedMark = "forged_mark"

// forgedDump is a dump of src as the dump programs write one, whose
// statements all name forgedMark.
func forgedDump(src string) []byte {
	var b strings.Builder
	b.WriteString("-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)\n--\n" +
		"-- Host: localhost    Database: " + src + "\n-- ------------------------------------------------------\n\n" +
		"/*!40101 SET NAMES utf8mb4 */;\n")
	for i := range 3 {
		fmt.Fprintf(&b, "DROP TABLE IF EXISTS `%s_%d`;\nCREATE TABLE `%s_%d` (id INT PRIMARY KEY) ENGINE=InnoDB;\n"+
			"LOCK TABLES `%s_%d` WRITE;\nINSERT INTO `%s_%d` VALUES (1),(2);\nUNLOCK TABLES;\n", forgedMark, i, forgedMark, i, forgedMark, i, forgedMark, i)
	}
	b.WriteString("CREATE VIEW `" + forgedMark + "_v` AS SELECT 1 AS `x`;\n-- Dump completed on 2026-03-14  3:00:01\n")
	return []byte(b.String())
}

// sameSize compresses sql with zstd and pads it with a skippable frame,
// which decoders pass over, to exactly size bytes.
func sameSize(t *testing.T, sql []byte, size int) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	out := enc.EncodeAll(sql, nil)
	pad := size - len(out) - 8
	if pad < 0 {
		t.Fatalf("the forged dump compresses to %d bytes, more than the %d to stand in for", len(out), size)
	}
	out = binary.LittleEndian.AppendUint32(out, 0x184D2A50)
	out = binary.LittleEndian.AppendUint32(out, uint32(pad))
	return append(out, make([]byte, pad)...)
}

// comCounters returns the server's Com_* counters of the statements a
// dump runs, which a restore that loads nothing never runs itself.
func comCounters(t *testing.T, srv *testdb.Server) map[string]int {
	t.Helper()
	out := srv.Exec(t, "", "SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_create_table', 'Com_drop_table', 'Com_insert', "+
		"'Com_lock_tables', 'Com_unlock_tables', 'Com_create_view', 'Com_alter_table', 'Com_replace', 'Com_update', 'Com_delete')")
	m := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, "\t")
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("status line %q: %v", line, err)
		}
		m[k] = n
	}
	if len(m) != 10 {
		t.Fatalf("status: %q", out)
	}
	return m
}

// forgedArrived returns the statements of a forged dump in the server's
// general log (which logs every statement as it arrives, before it runs).
func forgedArrived(t *testing.T, srv *testdb.Server) string {
	t.Helper()
	// Off first: the query that looks must not find itself.
	srv.Exec(t, "", "SET GLOBAL general_log = OFF")
	defer srv.Exec(t, "", "SET GLOBAL general_log = ON")
	return srv.Exec(t, "", "SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log WHERE CONVERT(argument USING utf8mb4) LIKE '%"+forgedMark+"%'")
}

// TestSignedBytesReplaced replaces a signed backup's bytes with other SQL
// of the same stored size (zstd and a skippable frame), and restores
// under RequireSignature with that backup ranked above a good one: not
// one of its statements may reach the server, which its general log and
// its statement counters show, and the good one is restored. It runs on a
// server of its own, whose counters no other test moves.
func TestSignedBytesReplaced(t *testing.T) {
	srv := testdb.StartPrivate(t, t.TempDir())
	src := srv.NewDatabase(t, "src")
	srv.LoadFile(t, src, fixturePath)
	want := srv.Fingerprint(t, src)
	k := newKeys(t)
	dir := t.TempDir()
	good := sealedBackup(t, srv, src, dir, at(2, 0), backup.Seal{SignKey: &k.sign})
	replaced := sealedBackup(t, srv, src, dir, at(3, 0), backup.Seal{SignKey: &k.sign})
	path := filepath.Join(dir, replaced)
	forged := sameSize(t, forgedDump(src), len(read(t, dir, replaced)))
	// Written over the same file, which keeps its extended attributes:
	// the recorded checksum, size and signature.
	if err := os.WriteFile(path, forged, 0o644); err != nil {
		t.Fatal(err)
	}
	if m := listedMeta(t, dir, replaced); m[catalog.MetaSHA256] == "" || len(read(t, dir, replaced)) != len(forged) {
		t.Fatalf("the replaced backup lost its metadata: %v", m)
	}
	srv.Exec(t, "", "SET GLOBAL log_output = 'TABLE'; TRUNCATE mysql.general_log; SET GLOBAL general_log = ON")

	users := []struct {
		name string
		conn func(t *testing.T, target string) mariadb.Conn
	}{
		{"app user", func(t *testing.T, target string) mariadb.Conn { return limitedUser(t, srv, target) }},
		{"root", func(t *testing.T, target string) mariadb.Conn { return srv.Root(target) }},
	}
	for _, u := range users {
		for _, l := range bothLoaders {
			t.Run(u.name+"/"+l.name, func(t *testing.T) {
				srv.Exec(t, "", "TRUNCATE mysql.general_log")
				target := srv.NewDatabase(t, "app")
				conn := u.conn(t, target)
				restorer := func() *Restorer {
					return &Restorer{Store: openStore(t, dir, nil), Conn: conn, Loader: l.ld, Log: testLog(t),
						VerifyKeys: k.verify(), RequireSignature: true, WorkDir: t.TempDir()}
				}

				// Alone, it is refused, and none of the statements a dump
				// runs were run.
				before := comCounters(t, srv)
				r := restorer()
				_, err := r.Restore(t.Context(), candidates(t, r.Store, replaced))
				if err == nil || !strings.Contains(err.Error(), dump.ErrChecksum.Error()) {
					t.Fatalf("restore of the replaced backup: err = %v, want a checksum mismatch", err)
				}
				if after := comCounters(t, srv); fmt.Sprint(after) != fmt.Sprint(before) {
					t.Errorf("statements ran:\nbefore %v\nafter  %v", before, after)
				}
				if got := forgedArrived(t, srv); got != "" {
					t.Fatalf("the forged statements reached the server:\n%s", got)
				}

				// Ranked above a good backup: refused, the good one restored.
				r = restorer()
				rep, err := restoreNow(t, r, r.Store)
				if err != nil {
					t.Fatal(err)
				}
				if rep.Backup.Name != good || len(rep.Skipped) != 1 || rep.Skipped[0].Backup != replaced {
					t.Errorf("restored %s after skipping %v; want %s after %s", rep.Backup.Name, rep.Skipped, good, replaced)
				}
				if got := srv.Fingerprint(t, target); got != want {
					t.Errorf("restored database differs from the good backup\n--- got\n%s\n--- want\n%s", got, want)
				}
				if got := forgedArrived(t, srv); got != "" {
					t.Fatalf("the forged statements reached the server:\n%s", got)
				}
				if leftovers, _ := filepath.Glob(filepath.Join(r.WorkDir, "*")); len(leftovers) != 0 {
					t.Errorf("files left in the work directory: %v", leftovers)
				}
			})
		}
	}
	if !bytes.Contains(forged, []byte{0x50, 0x2a, 0x4d, 0x18}) {
		t.Fatal("no skippable frame")
	}
}

// candidates is the backup named name in store, as a restore by name
// gets it.
func candidates(t *testing.T, store Lister, name string) []catalog.Backup {
	t.Helper()
	ch, err := Choose(context.Background(), store, codec, now, selector.DefaultPolicy(), name)
	if err != nil {
		t.Fatal(err)
	}
	return ch.Candidates
}

// storeFunc is a Store whose Open is given by the test.
type storeFunc func(name string) (io.ReadCloser, error)

func (f storeFunc) List(context.Context) ([]catalog.Entry, error) { return nil, nil }
func (f storeFunc) Open(_ context.Context, name string) (io.ReadCloser, error) {
	return f(name)
}

// failingReader returns data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func (r *failingReader) Close() error { return nil }

// TestSpool checks the file a backup is spooled into: private, without a
// name from the start, its bytes the ones recorded, and nothing left in
// the work directory whatever happens.
func TestSpool(t *testing.T) {
	data := bytes.Repeat([]byte("stored bytes of a backup "), 100000)
	sum := sha256.Sum256(data)
	good := catalog.Backup{Name: "db-backup-20260314-030000.sql.zst", Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
	serve := func(b []byte, err error) storeFunc {
		return func(string) (io.ReadCloser, error) { return &failingReader{data: b, err: err}, nil }
	}
	tests := []struct {
		name    string
		b       catalog.Backup
		store   storeFunc
		free    int64
		want    error // nil: spooled
		machine bool  // the run stops: not the backup's fault
	}{
		{"good", good, serve(data, io.EOF), 1 << 40, nil, false},
		{"bytes replaced", good, serve(append(data[:len(data)-1:len(data)-1], 'X'), io.EOF), 1 << 40, dump.ErrChecksum, false},
		{"longer than listed", good, serve(append(data[:len(data):len(data)], data...), io.EOF), 1 << 40, dump.ErrSize, false},
		{"shorter than listed", good, serve(data[:len(data)/2], io.EOF), 1 << 40, dump.ErrSize, false},
		{"read fails", good, serve(data[:len(data)/2], errors.New("connection reset")), 1 << 40, errors.New("connection reset"), false},
		{"open fails", good, func(string) (io.ReadCloser, error) { return nil, errors.New("not found") }, 1 << 40, errors.New("not found"), false},
		{"no room", good, serve(data, io.EOF), int64(len(data)) + SpoolReserve - 1, errors.New("RESTORE_WORK_DIR"), true},
		{"size unknown, no room", catalog.Backup{Name: good.Name, Size: -1, SHA256: good.SHA256}, serve(data, io.EOF), SpoolReserve, errors.New("RESTORE_WORK_DIR"), true},
		{"size unknown, fills the disk", catalog.Backup{Name: good.Name, Size: -1, SHA256: good.SHA256}, serve(data, io.EOF), SpoolReserve + 1000, errors.New("RESTORE_WORK_DIR"), true},
		{"size unknown", catalog.Backup{Name: good.Name, Size: -1, SHA256: good.SHA256}, serve(data, io.EOF), 1 << 40, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := freeSpace
			t.Cleanup(func() { freeSpace = old })
			freeSpace = func(string) (int64, bool, error) { return tt.free, false, nil }
			dir := t.TempDir()
			r := &Restorer{Store: tt.store}
			f, err := r.spool(t.Context(), tt.b, dir, "app_restore", new(Progress), testLog(t))
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("the work directory holds %v", entries)
			}
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				st, err := f.Stat()
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != 0o600 {
					t.Errorf("spool file mode %v, want 0600", st.Mode().Perm())
				}
				got, err := io.ReadAll(f)
				if err != nil || !bytes.Equal(got, data) {
					t.Errorf("spooled %d bytes (%v), want the %d stored", len(got), err, len(data))
				}
				return
			}
			var be *backupError
			switch {
			case err == nil:
				f.Close()
				t.Fatal("spooled")
			case !strings.Contains(err.Error(), tt.want.Error()):
				t.Errorf("err = %v, want %v", err, tt.want)
			case errors.As(err, &be) == tt.machine:
				t.Errorf("err = %v: the backup's fault %v, want %v", err, !tt.machine, !tt.machine)
			}
		})
	}
}

// TestWorkDir checks that the work directory is made private, and that
// one that is not this user's to keep private is refused.
func TestWorkDir(t *testing.T) {
	base := t.TempDir()
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if dir, err := (&Restorer{WorkDir: open}).openWorkDir(); err != nil || dir != open {
		t.Fatalf("openWorkDir = %q, %v", dir, err)
	}
	if st, err := os.Stat(open); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("mode %v, %v; want 0700", st.Mode().Perm(), err)
	}
	fresh := filepath.Join(base, "a", "b")
	if _, err := (&Restorer{WorkDir: fresh}).openWorkDir(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(fresh); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("mode %v, %v; want 0700", st.Mode().Perm(), err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(open, link); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{link, file} {
		if _, err := (&Restorer{WorkDir: dir}).openWorkDir(); err == nil || !strings.Contains(err.Error(), "RESTORE_WORK_DIR") {
			t.Errorf("openWorkDir(%s) = %v, want a refusal naming the setting", dir, err)
		}
	}
}

// TestRestoreRemovesSpoolLeftovers checks that a restore removes what an
// earlier run killed while spooling left in the work directory, and
// nothing of another database's.
func TestRestoreRemovesSpoolLeftovers(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.LoadFile(t, src, fixturePath)
	dir := t.TempDir()
	backupdBackup(t, srv, src, dir, at(3, 0))
	target := srv.NewDatabase(t, "app")
	work := t.TempDir()
	leftover := filepath.Join(work, spoolPrefix(target+StagingSuffix)+"123")
	others := filepath.Join(work, spoolPrefix("other"+StagingSuffix)+"123")
	for _, f := range []string{leftover, others} {
		if err := os.WriteFile(f, []byte("half a backup"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := &Restorer{Store: openStore(t, dir, nil), Conn: limitedUser(t, srv, target), WorkDir: work, Log: testLog(t)}
	if _, err := restoreNow(t, r, r.Store); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the leftover spool file is still there: %v", err)
	}
	if _, err := os.Stat(others); err != nil {
		t.Errorf("another database's file was removed: %v", err)
	}
}

// BenchmarkSpool compares reading a backup of 64 MiB from a local-folder
// store as the restore did before (streamed, hashed once on the way) with
// spooling it (hashed into a file of the work directory, checked, then
// read back from the file and hashed again by dump.Stream): the price of
// checking before anything runs, without the load that follows either.
//
//	go test ./pkg/restore -run '^$' -bench Spool -count 3
func BenchmarkSpool(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 64<<20)
	for i := range data {
		data[i] = byte(i*2654435761>>13) ^ byte(i>>7)
	}
	name := codec.Name(at(3, 0), catalog.Zstd)
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256(data)
	bk := catalog.Backup{Name: name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
	s, err := storage.Open(context.Background(), dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	work := b.TempDir()
	hashAll := func(r io.Reader) {
		h := sha256.New()
		if _, err := io.CopyBuffer(h, r, make([]byte, 1<<20)); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("stream", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			rc, err := s.Open(context.Background(), name)
			if err != nil {
				b.Fatal(err)
			}
			hashAll(rc)
			rc.Close()
		}
	})
	b.Run("spool", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		r := &Restorer{Store: s}
		log := slog.New(slog.DiscardHandler)
		for b.Loop() {
			f, err := r.spool(context.Background(), bk, work, "bench_restore", new(Progress), log)
			if err != nil {
				b.Fatal(err)
			}
			hashAll(f)
			f.Close()
		}
	})
}

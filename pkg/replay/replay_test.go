package replay

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/binlog"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/recovery"
	"github.com/backupd/backupd/pkg/seal"
	"github.com/backupd/backupd/pkg/storage"
	"github.com/backupd/backupd/pkg/stream"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// family is one server family's source and target, with its tools.
type family struct {
	product string
	dumpBin string // the dump tool of the pairing
	source  *testdb.Server
	target  *testdb.Server
}

func newFamily(t *testing.T, product, dumpProduct, dumpTool string) *family {
	t.Helper()
	f := &family{product: product, dumpBin: testdb.Tool(t, dumpProduct, dumpTool)}
	opts := []string{"--log-bin=mariadb-bin", "--server-id=7", "--binlog-format=ROW"}
	if testdb.MySQL(product) {
		opts = nil // binary log and GTIDs on by default
	}
	f.source = testdb.StartPrivateProduct(t, product, opts...)
	f.target = testdb.StartPrivateProduct(t, product)
	return f
}

// tools puts the family's binary log tool and client first on PATH.
func (f *family) tools(t *testing.T) {
	t.Helper()
	bin := filepath.Dir(testdb.Tool(t, f.product, "mysql", "mariadb"))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// world is a source being written to, streamed and backed up.
type world struct {
	t        *testing.T
	f        *family
	dir      string // the backups' folder; the segments are in its binlog folder
	backups  *storage.Store
	segments *storage.Store
	stop     func()
	mu       sync.Mutex
	rows     []row // committed rows of app.t, by id
	writing  sync.WaitGroup
	halt     chan struct{}
	turn     sync.Mutex // held by the writer for each commit; a test holds it for quiet
}

type row struct {
	id int
	ts time.Time // when the statement ran, the server's clock
}

func newWorld(t *testing.T, f *family) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{t: t, f: f, dir: dir, halt: make(chan struct{})}
	var err error
	if w.backups, err = storage.Open(context.Background(), dir, nil); err != nil {
		t.Fatal(err)
	}
	if w.segments, err = storage.Open(context.Background(), filepath.Join(dir, binlog.Folder), nil); err != nil {
		t.Fatal(err)
	}
	f.source.Exec(t, "", "CREATE DATABASE app; CREATE DATABASE other;"+
		"CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(40), n INT NOT NULL DEFAULT 0, ts DATETIME(6) NOT NULL);"+
		"CREATE TABLE app.u (k VARCHAR(10) PRIMARY KEY, c INT);"+
		"CREATE TABLE other.secret (id INT PRIMARY KEY)")
	s := &stream.Streamer{Source: stream.ServerSource{Conn: account(t, f.source, binlogAccount, ""), ReplicaID: stream.ReplicaID(t.Name()), Heartbeat: stream.Heartbeat(time.Second)},
		Store: w.segments, Flush: 300 * time.Millisecond, Writer: stream.ReplicaID(t.Name()), Log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Run(ctx)
	}()
	w.stop = func() { cancel(); <-done }
	t.Cleanup(w.stop)
	return w
}

// write commits a row about every 100 ms (some in transactions of
// several statements, some changing other tables and databases) until
// halted.
func (w *world) write() {
	w.writing.Add(1)
	go func() {
		defer w.writing.Done()
		db, err := w.f.source.Root("app").OpenDB(nil, true)
		if err != nil {
			w.t.Error(err)
			return
		}
		defer db.Close()
		for i := 0; ; i++ {
			select {
			case <-w.halt:
				return
			case <-time.After(time.Duration(80+rand.IntN(40)) * time.Millisecond):
			}
			x, err := w.commit(db, i)
			if err != nil {
				w.t.Error(err)
				return
			}
			w.mu.Lock()
			w.rows = append(w.rows, x)
			w.mu.Unlock()
			if i%7 == 3 {
				_, _ = db.Exec("INSERT INTO other.secret VALUES (?)", i)
			}
		}
	}()
}

// admin runs definitions between the writer's rows, and statements
// replay leaves out.
func (w *world) admin() {
	w.t.Helper()
	w.turn.Lock()
	defer w.turn.Unlock()
	for _, q := range []string{"ALTER TABLE t ADD COLUMN extra INT", "CREATE INDEX t_v ON t (v)",
		"CREATE USER IF NOT EXISTS 'pitr_evil'@'%' IDENTIFIED BY 'x'", "GRANT SELECT ON app.* TO 'pitr_evil'@'%'",
		"CREATE VIEW tv AS SELECT id, v FROM t", "ANALYZE TABLE t"} {
		w.f.source.Exec(w.t, "app", q)
	}
}

// commit commits one transaction of the writer: a new row, and changes
// to others.
func (w *world) commit(db *sql.DB, i int) (row, error) {
	w.turn.Lock()
	defer w.turn.Unlock()
	tx, err := db.Begin()
	if err != nil {
		return row{}, err
	}
	defer func() { _ = tx.Rollback() }()
	var unix string
	if err := tx.QueryRow("SELECT UNIX_TIMESTAMP(NOW(6))").Scan(&unix); err != nil {
		return row{}, err
	}
	res, err := tx.Exec("INSERT INTO t (v, ts) VALUES (?, NOW(6))", fmt.Sprintf("row %d", i))
	if err == nil && i%3 == 0 {
		_, err = tx.Exec("UPDATE t SET n = n + 1 WHERE id % 5 = ?", i%5)
	}
	if err == nil && i%4 == 0 {
		_, err = tx.Exec("INSERT INTO u VALUES (?, 1) ON DUPLICATE KEY UPDATE c = c + 1", fmt.Sprint(i%7))
	}
	if err == nil && i%10 == 5 {
		_, err = tx.Exec("DELETE FROM u WHERE k = ?", fmt.Sprint(i%7))
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return row{}, err
	}
	id, _ := res.LastInsertId()
	return row{int(id), unixTime(unix)}, nil
}

// settle halts the writer and waits until the segments hold everything the
// source has logged.
func (w *world) settle() {
	w.t.Helper()
	close(w.halt)
	w.writing.Wait()
	end, err := w.f.source.Root("").Binlog(context.Background(), nil)
	if err != nil {
		w.t.Fatal(err)
	}
	want := binlog.Pos{File: end.File, Offset: end.Offset}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		segs := w.listSegments()
		for _, s := range segs {
			if s.To() == want {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	w.t.Fatalf("the segments never reached %s", want)
}

func (w *world) listSegments() []binlog.Segment {
	entries, err := w.segments.List(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return binlog.Codec{}.Scan(entries, time.Now().Add(time.Hour)).Segments
}

func (w *world) listBackups() []catalog.Backup {
	entries, err := w.backups.List(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return catalog.Codec{}.Scan(entries, time.Now().Add(time.Hour)).Backups
}

// backup takes a backup with coordinates, as serve --binlog does.
func (w *world) backup() backup.Report {
	w.t.Helper()
	job := backup.Job{Dumper: &dump.Dumper{Program: w.f.dumpBin, Conn: account(w.t, w.f.source, backupAccount, "app"), Coordinates: true},
		Store: w.backups, Time: time.Now()}
	rep, err := job.Run(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	if rep.Binlog.IsZero() {
		w.t.Fatalf("backup without coordinates: %s", rep.BinlogProblem)
	}
	return rep
}

func (w *world) recoverer(db string) *Recoverer {
	conn := account(w.t, w.f.target, recoverAccount, db)
	return &Recoverer{Backups: w.backups, Segments: w.segments, Target: conn, Log: slog.New(slog.DiscardHandler), Progress: &Progress{}}
}

// ids lists the ids of app.t in db on srv.
func ids(t *testing.T, srv *testdb.Server, db string) string {
	t.Helper()
	return strings.Join(strings.Fields(srv.Exec(t, db, "SELECT id FROM t ORDER BY id")), " ")
}

func TestRecover(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		product               string
		dumpProduct, dumpTool string
	}{
		{"MySQL 9.7 dumped by mariadb-dump 11.8", testdb.MySQL97, testdb.MariaDB118, "mariadb-dump"},
		{"MariaDB 11.8", testdb.MariaDB118, testdb.MariaDB118, "mariadb-dump"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFamily(t, tc.product, tc.dumpProduct, tc.dumpTool)
			f.tools(t)
			w := newWorld(t, f)
			w.write()
			time.Sleep(1500 * time.Millisecond)
			first := w.backup()
			time.Sleep(1000 * time.Millisecond)
			target := w.quiet()
			time.Sleep(1000 * time.Millisecond)
			second := w.backup()
			time.Sleep(500 * time.Millisecond)
			w.admin()
			time.Sleep(1000 * time.Millisecond)
			w.settle()

			// Latest: every committed row and change, nothing of the other
			// database, no account.
			plan := recovery.Make(w.listBackups(), w.listSegments(), time.Time{})
			if plan.Backup.Name != second.Name || !plan.Complete {
				t.Fatalf("plan from %s, complete %v, missing %v", plan.Backup.Name, plan.Complete, plan.Missing)
			}
			r := w.recoverer("app")
			rep, err := r.Run(context.Background(), plan)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Stopped != nil {
				t.Fatalf("stopped: %v", rep.Stopped)
			}
			if got, want := f.target.Fingerprint(t, "app"), f.source.Fingerprint(t, "app"); got != want {
				t.Errorf("recovered app differs from the source:\n%s\nwant\n%s", got, want)
			}
			if out := f.target.Exec(t, "", "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'other'; SELECT COUNT(*) FROM mysql.user WHERE user = 'pitr_evil'"); strings.Fields(out)[0] != "0" || strings.Fields(out)[1] != "0" {
				t.Errorf("other database or account on the target: %q", out)
			}
			if rep.Result.SkippedStatements["create user"] != 1 || rep.Result.SkippedStatements["grant"] != 1 {
				t.Errorf("skipped %v", rep.Result.SkippedStatements)
			}

			// The target exists now: left as it is without --replace.
			before := f.target.Fingerprint(t, "app")
			if _, err := r.Run(context.Background(), plan); !errors.Is(err, ErrTargetExists) {
				t.Errorf("second recovery: %v, want ErrTargetExists", err)
			}
			if f.target.Fingerprint(t, "app") != before {
				t.Error("the existing target was changed")
			}

			// A moment between the two backups, into another database: the
			// rows that committed before it, to the second.
			plan = recovery.Make(w.listBackups(), w.listSegments(), target)
			if plan.Backup.Name != first.Name || !plan.Complete {
				t.Fatalf("plan to %v from %s, complete %v, missing %v", target, plan.Backup.Name, plan.Complete, plan.Missing)
			}
			r = w.recoverer("app_then")
			rep, err = r.Run(context.Background(), plan)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, x := range w.rows {
				if x.ts.Before(target) {
					want = append(want, fmt.Sprint(x.id))
				}
			}
			if got := ids(t, f.target, "app_then"); got != strings.Join(want, " ") {
				t.Errorf("rows recovered to %v:\n%s\nwant\n%s", target, got, strings.Join(want, " "))
			}
			if !rep.Reached.Before(target) || target.Sub(rep.Reached) > 2*time.Second {
				t.Errorf("reached %v, want the last commit before %v", rep.Reached, target)
			}
			// With --replace, the same again.
			r.Replace = true
			if _, err := r.Run(context.Background(), plan); err != nil {
				t.Fatalf("with --replace: %v", err)
			}
			if got := ids(t, f.target, "app_then"); got != strings.Join(want, " ") {
				t.Errorf("rows after --replace:\n%s", got)
			}
		})
	}
}

// quiet holds the writer for a while and returns a whole second within
// that time, away from every commit.
func (w *world) quiet() time.Time {
	w.turn.Lock()
	defer w.turn.Unlock()
	start := time.Now()
	target := start.Add(100 * time.Millisecond).Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(target.Add(200 * time.Millisecond)))
	return target.UTC()
}

// unixTime reads UNIX_TIMESTAMP(NOW(6)).
func unixTime(s string) time.Time {
	sec, frac, _ := strings.Cut(s, ".")
	n, _ := strconv.ParseInt(sec, 10, 64)
	frac = (frac + "000000")[:6]
	us, _ := strconv.ParseInt(frac, 10, 64)
	return time.Unix(n, us*1000).UTC()
}

// What the remote holds is checked before it runs: a segment whose bytes
// changed, a backup whose recorded coordinates differ from its own text,
// a target of the other family, unsigned segments when signatures are
// required.
func TestRecoverRefuses(t *testing.T) {
	f := newFamily(t, testdb.MariaDB118, testdb.MariaDB118, "mariadb-dump")
	f.tools(t)
	w := newWorld(t, f)
	w.write()
	time.Sleep(500 * time.Millisecond)
	w.backup()
	time.Sleep(1000 * time.Millisecond)
	w.settle()
	plan := recovery.Make(w.listBackups(), w.listSegments(), time.Time{})
	if !plan.Complete || len(plan.Segments) == 0 {
		t.Fatalf("plan %+v", plan)
	}
	absent := func(db string) {
		t.Helper()
		if out := f.target.Exec(t, "", "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '"+db+"'"); strings.TrimSpace(out) != "0" {
			t.Errorf("database %s was created", db)
		}
	}

	t.Run("changed segment", func(t *testing.T) {
		p := plan
		p.Segments = append([]binlog.Segment(nil), plan.Segments...)
		p.Segments[0].SHA256 = strings.Repeat("0", 64)
		_, err := w.recoverer("changed").Run(context.Background(), p)
		if !errors.Is(err, dump.ErrChecksum) {
			t.Errorf("err = %v, want a checksum error", err)
		}
		absent("changed")
	})
	t.Run("coordinates changed", func(t *testing.T) {
		p := plan
		from := p.From
		from.Offset += 100
		p.From = from
		p.Backup.Binlog = from.String()
		_, err := w.recoverer("moved").Run(context.Background(), p)
		if err == nil || !strings.Contains(err.Error(), "the metadata was changed; nothing was replayed") {
			t.Errorf("err = %v", err)
		}
		absent("moved")
	})
	t.Run("backup bytes replaced", func(t *testing.T) {
		// A backup whose bytes were replaced under its name (its
		// checksum and signature left as they were), with a statement
		// planted: the bytes are checked before any of them runs.
		path := filepath.Join(w.dir, plan.Backup.Name)
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.WriteFile(path, orig, 0o600) })
		zr, err := zstd.NewReader(bytes.NewReader(orig))
		if err != nil {
			t.Fatal(err)
		}
		text, err := io.ReadAll(zr)
		zr.Close()
		if err != nil {
			t.Fatal(err)
		}
		at := bytes.Index(text, []byte("\n-- Table structure for table "))
		if at < 0 {
			t.Fatalf("no table in the backup")
		}
		planted := append(append(append([]byte(nil), text[:at+1]...), "CREATE TABLE planted (x INT);\n"...), text[at+1:]...)
		zw, _ := zstd.NewWriter(nil)
		if err := os.WriteFile(path, zw.EncodeAll(planted, nil), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err = w.recoverer("replaced").Run(context.Background(), plan)
		if !errors.Is(err, dump.ErrChecksum) && !errors.Is(err, dump.ErrSize) {
			t.Errorf("err = %v, want a checksum or size error", err)
		}
		absent("replaced")
	})
	t.Run("other family", func(t *testing.T) {
		r := w.recoverer("mysql_target")
		r.Target = testdb.For(t, testdb.MySQL97).Root("mysql_target")
		_, err := r.Run(context.Background(), plan)
		if !errors.Is(err, ErrFamily) {
			t.Errorf("err = %v, want ErrFamily", err)
		}
	})
	t.Run("verify key given", func(t *testing.T) {
		// A verify key alone refuses what carries no signature.
		key, err := seal.GenerateSigningKey()
		if err != nil {
			t.Fatal(err)
		}
		r := w.recoverer("unsigned_key")
		r.VerifyKeys = []seal.VerifyKey{key.Public()}
		_, err = r.Run(context.Background(), plan)
		if !errors.Is(err, seal.ErrUnsigned) {
			t.Errorf("err = %v, want ErrUnsigned", err)
		}
		absent("unsigned_key")
	})
	t.Run("signature required", func(t *testing.T) {
		r := w.recoverer("unsigned")
		r.RequireSignature = true
		_, err := r.Run(context.Background(), plan)
		if err == nil || !strings.Contains(err.Error(), "signature") {
			t.Errorf("err = %v", err)
		}
		absent("unsigned")
	})
}

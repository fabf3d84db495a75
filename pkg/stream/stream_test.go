package stream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/binlog"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/seal"
	"github.com/backupd/backupd/pkg/storage"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// reports collects what a streamer reports.
type reports struct {
	mu  sync.Mutex
	all []Report
	ch  chan struct{}
}

func newReports() *reports { return &reports{ch: make(chan struct{}, 1)} }

func (r *reports) add(rep Report) {
	r.mu.Lock()
	r.all = append(r.all, rep)
	r.mu.Unlock()
	select {
	case r.ch <- struct{}{}:
	default:
	}
}

// wait waits until ok holds of the reports so far.
func (r *reports) wait(t *testing.T, what string, d time.Duration, ok func([]Report) bool) []Report {
	t.Helper()
	deadline := time.After(d)
	for {
		r.mu.Lock()
		all := append([]Report(nil), r.all...)
		r.mu.Unlock()
		if ok(all) {
			return all
		}
		select {
		case <-r.ch:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s did not happen within %s; last reports: %v", what, d, all[max(0, len(all)-5):])
		}
	}
}

func count(rs []Report, k Kind) int {
	n := 0
	for _, r := range rs {
		if r.Kind == k {
			n++
		}
	}
	return n
}

// running is a streamer running in the background.
type running struct {
	s    *Streamer
	rep  *reports
	stop func()
}

func startStreamer(t *testing.T, s *Streamer) *running {
	t.Helper()
	rep := newReports()
	s.Report = rep.add
	if s.Log == nil {
		s.Log = testLog(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &running{s: s, rep: rep, stop: stop}
}

func localSegments(t *testing.T) (*storage.Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), binlog.Folder)
	st, err := storage.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st, dir
}

func source(srv *testdb.Server) ServerSource {
	return ServerSource{Conn: srv.Root(""), ReplicaID: ReplicaID("test"), Heartbeat: Heartbeat(300 * time.Millisecond)}
}

// binlogServer starts a private server with a binary log.
func binlogServer(t *testing.T, product string) *testdb.Server {
	t.Helper()
	if testdb.MySQL(product) {
		return testdb.StartPrivateProduct(t, product)
	}
	return testdb.StartPrivateProduct(t, product, "--log-bin=mariadb-bin", "--server-id=7", "--binlog-format=ROW")
}

// segments lists and reads the segments in store, checking that they
// follow on from from without a gap or an overlap.
func segments(t *testing.T, store *storage.Store, ids []age.Identity) ([]binlog.Segment, [][]byte) {
	t.Helper()
	entries, err := store.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l := binlog.Codec{}.Scan(entries, time.Now().Add(time.Hour))
	if len(l.Ignored) > 0 || len(l.Foreign) > 0 {
		t.Errorf("ignored %v foreign %v", l.Ignored, l.Foreign)
	}
	var data [][]byte
	for i, s := range l.Segments {
		rc, err := store.Open(context.Background(), s.Name)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = bytes.NewReader(stored)
		if s.Encrypted {
			if r, err = seal.Decrypt(r, ids); err != nil {
				t.Fatal(err)
			}
		}
		z, err := zstd.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(z)
		z.Close()
		if err != nil {
			t.Fatalf("segment %s: %v", s.Name, err)
		}
		if s.RawSize != int64(len(raw)) {
			t.Errorf("segment %s: %d raw bytes, %d recorded", s.Name, len(raw), s.RawSize)
		}
		data = append(data, raw)
		if i == 0 {
			continue
		}
		p := l.Segments[i-1]
		next, _ := binlog.Next(p.File)
		switch {
		case s.File == p.File && s.Start == p.End && !p.Rotated:
		case p.Rotated && s.File == next && s.Start == binlog.FirstOffset:
		default:
			t.Errorf("segment %s does not follow on from %s", s.Name, p.Name)
		}
	}
	return l.Segments, data
}

// rowsOf counts the row events in data (segments' bytes).
func rowsOf(t *testing.T, data [][]byte) int {
	t.Helper()
	n := 0
	for _, d := range data {
		rd, err := binlog.NewReader(bytes.NewReader(d))
		if err != nil {
			t.Fatal(err)
		}
		for {
			e, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Type == 30 || e.Type == 23 { // WRITE_ROWS
				n++
			}
		}
	}
	return n
}

// testLog logs to the test's log.
func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestStreamPublishesSegments(t *testing.T) {
	for _, product := range []string{testdb.MySQL97, testdb.MariaDB118} {
		t.Run(product, func(t *testing.T) {
			srv := binlogServer(t, product)
			srv.Exec(t, "", "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(10))")
			store, _ := localSegments(t)
			id, _ := age.GenerateX25519Identity()
			key, _ := seal.GenerateSigningKey()
			r := startStreamer(t, &Streamer{Source: source(srv), Store: store, Flush: 300 * time.Millisecond,
				Recipients: []age.Recipient{id.Recipient()}, SignKey: &key})
			r.rep.wait(t, "the start", 20*time.Second, func(rs []Report) bool { return count(rs, Started) > 0 })
			for i := range 20 {
				srv.Exec(t, "app", fmt.Sprintf("INSERT INTO t (v) VALUES ('r%d')", i))
				if i == 10 {
					srv.Exec(t, "", "FLUSH BINARY LOGS")
				}
				time.Sleep(30 * time.Millisecond)
			}
			want := strings.TrimSpace(srv.Exec(t, "", "SELECT COUNT(*) FROM app.t"))
			r.rep.wait(t, "the rows published", 20*time.Second, func(rs []Report) bool {
				segs, data := segments(t, store, []age.Identity{id})
				return len(segs) > 0 && fmt.Sprint(rowsOf(t, data)) == want
			})
			r.stop()
			segs, _ := segments(t, store, []age.Identity{id})
			rotated := 0
			for _, s := range segs {
				if s.Rotated {
					rotated++
				}
				if !s.Encrypted || s.Signature == "" && store.Fs().Features().UserMetadata {
					t.Errorf("segment %s not sealed: %+v", s.Name, s)
				}
				if got := seal.Check(s.Backup(), []seal.VerifyKey{key.Public()}); store.Fs().Features().UserMetadata && got != seal.Valid {
					t.Errorf("segment %s signature %v", s.Name, got)
				}
				if s.Last.Sub(s.First) > time.Second+300*time.Millisecond {
					t.Errorf("segment %s spans %s, more than the flush interval", s.Name, s.Last.Sub(s.First))
				}
			}
			if rotated == 0 {
				t.Errorf("no segment ends its file, after FLUSH BINARY LOGS")
			}
			if n := count(r.rep.all, Gap); n != 1 {
				t.Errorf("%d gaps reported, want the one of a fresh start", n)
			}
		})
	}
}

// streamedAndStopped starts a stream of a MariaDB 11.8 server's binary log
// into a local folder (dir), writes 5 rows to app.t, waits for a segment
// and stops the stream; write writes n more rows.
func streamedAndStopped(t *testing.T) (srv *testdb.Server, store *storage.Store, dir string, write func(n int)) {
	t.Helper()
	srv = binlogServer(t, testdb.MariaDB118)
	srv.Exec(t, "", "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(10))")
	store, dir = localSegments(t)
	write = func(n int) {
		for i := range n {
			srv.Exec(t, "app", fmt.Sprintf("INSERT INTO t (v) VALUES ('r%d')", i))
		}
	}
	first := startStreamer(t, &Streamer{Source: source(srv), Store: store, Flush: 200 * time.Millisecond})
	first.rep.wait(t, "the start", 20*time.Second, func(rs []Report) bool { return count(rs, Started) > 0 })
	write(5)
	first.rep.wait(t, "a segment", 20*time.Second, func(rs []Report) bool { return count(rs, Published) > 0 })
	first.stop()
	return srv, store, dir, write
}

// After a restart the stream goes on from the last segment in the remote:
// nothing lost, nothing twice.
func TestStreamResumes(t *testing.T) {
	srv, store, _, write := streamedAndStopped(t)
	write(5) // while nothing streams
	second := startStreamer(t, &Streamer{Source: source(srv), Store: store, Flush: 200 * time.Millisecond})
	write(5)
	second.rep.wait(t, "the rows", 20*time.Second, func([]Report) bool {
		_, data := segments(t, store, nil)
		return rowsOf(t, data) == 15
	})
	second.stop()
	if n := count(second.rep.all, Gap); n != 0 {
		t.Errorf("the second run reports %d gaps", n)
	}
	_, data := segments(t, store, nil)
	if n := rowsOf(t, data); n != 15 {
		t.Errorf("%d rows in the segments, want 15", n)
	}
}

// A file planted in the remote under a segment's name of this server,
// reaching past what the server has logged, does not make a restarted
// stream resume from it: it goes on after its own last segment and copies
// every row.
func TestStreamResumesPastAPlantedName(t *testing.T) {
	srv, store, dir, write := streamedAndStopped(t)
	segs, _ := segments(t, store, nil)
	last := segs[len(segs)-1]
	planted := last
	planted.Start, planted.End = last.End, last.End+1000000
	planted.First, planted.Last = time.Now().UTC(), time.Now().UTC()
	planted.Name = binlog.Codec{}.Name(planted)
	path := filepath.Join(dir, planted.Name)
	if err := os.WriteFile(path, []byte("planted"), 0o600); err != nil {
		t.Fatal(err)
	}
	write(5) // while nothing streams
	second := startStreamer(t, &Streamer{Source: source(srv), Store: store, Flush: 200 * time.Millisecond})
	second.rep.wait(t, "the start", 20*time.Second, func(rs []Report) bool { return count(rs, Started) > 0 })
	// Where to resume is decided: the planted file goes, so that the
	// segments read are the stream's.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	write(5)
	second.rep.wait(t, "the rows", 20*time.Second, func([]Report) bool {
		_, data := segments(t, store, nil)
		return rowsOf(t, data) == 15
	})
	second.stop()
}

// A log the server purged before it was copied is a gap; the stream goes
// on from the log's end.
func TestStreamGapWhenPurged(t *testing.T) {
	srv := binlogServer(t, testdb.MySQL97)
	srv.Exec(t, "", "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(10))")
	store, _ := localSegments(t)
	first := startStreamer(t, &Streamer{Source: source(srv), Store: store, Flush: 200 * time.Millisecond})
	first.rep.wait(t, "the start", 20*time.Second, func(rs []Report) bool { return count(rs, Started) > 0 })
	srv.Exec(t, "app", "INSERT INTO t (v) VALUES ('a')")
	first.rep.wait(t, "a segment", 20*time.Second, func(rs []Report) bool { return count(rs, Published) > 0 })
	first.stop()
	srv.Exec(t, "app", "INSERT INTO t (v) VALUES ('lost')")
	srv.Exec(t, "", "FLUSH BINARY LOGS")
	file := strings.Fields(srv.Exec(t, "", "SHOW BINARY LOG STATUS"))[0]
	srv.Exec(t, "", "PURGE BINARY LOGS TO '"+file+"'")
	second := startStreamer(t, &Streamer{Source: source(srv), Store: store, Flush: 200 * time.Millisecond})
	// The start after the gap, at the log's end: a row written before it
	// would be behind it.
	rs := second.rep.wait(t, "the gap and the start after it", 20*time.Second, func(rs []Report) bool {
		for i, r := range rs {
			if r.Kind == Gap {
				return count(rs[i:], Started) > 0
			}
		}
		return false
	})
	for _, r := range rs {
		if r.Kind == Gap && !strings.Contains(r.Reason, "purged") {
			t.Errorf("gap reason %q", r.Reason)
		}
	}
	srv.Exec(t, "app", "INSERT INTO t (v) VALUES ('b')")
	second.rep.wait(t, "streaming after the gap", 20*time.Second, func(rs []Report) bool {
		for _, r := range rs {
			if r.Kind == Published && r.Segment.File == file {
				return true
			}
		}
		return false
	})
}

// failingStore fails every Put while fail is set.
type failingStore struct {
	*storage.Store
	mu   sync.Mutex
	fail bool
}

func (f *failingStore) Put(ctx context.Context, name string, r io.Reader, commit func() (map[string]string, error)) (catalog.Entry, error) {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return catalog.Entry{}, errors.New("remote unreachable")
	}
	return f.Store.Put(ctx, name, r, commit)
}

func (f *failingStore) set(v bool) {
	f.mu.Lock()
	f.fail = v
	f.mu.Unlock()
}

// A stream that cannot publish for twice the flush interval is stalled;
// it says so, and again when it goes on.
func TestStreamStallsAndResumes(t *testing.T) {
	srv := binlogServer(t, testdb.MariaDB118)
	srv.Exec(t, "", "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(10))")
	st, _ := localSegments(t)
	store := &failingStore{Store: st}
	flush := 200 * time.Millisecond
	r := startStreamer(t, &Streamer{Source: source(srv), Store: store, Flush: flush})
	r.rep.wait(t, "the start", 20*time.Second, func(rs []Report) bool { return count(rs, Started) > 0 })
	store.set(true)
	start := time.Now()
	srv.Exec(t, "app", "INSERT INTO t (v) VALUES ('a')")
	rs := r.rep.wait(t, "a stall", 20*time.Second, func(rs []Report) bool { return count(rs, Stalled) > 0 })
	if d := time.Since(start); d < 2*flush || d > 10*flush {
		t.Errorf("stall reported after %s, want soon after %s", d, 2*flush)
	}
	for _, x := range rs {
		if x.Kind == Stalled && !strings.Contains(x.Reason, "remote unreachable") {
			t.Errorf("stall reason %q", x.Reason)
		}
	}
	store.set(false)
	r.rep.wait(t, "the resumption", 20*time.Second, func(rs []Report) bool { return count(rs, Resumed) > 0 && count(rs, Published) > 0 })

	// A server that goes away stalls the stream too.
	srv.Stop()
	r.rep.wait(t, "a second stall", 30*time.Second, func(rs []Report) bool { return count(rs, Stalled) > 1 })
}

// The stream starts at the newest backup's coordinates when the remote
// holds no segment.
func TestStreamStartsAtBackup(t *testing.T) {
	srv := binlogServer(t, testdb.MariaDB118)
	srv.Exec(t, "", "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(10))")
	src, err := srv.Root("").Binlog(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	at := binlog.Pos{File: src.File, Offset: src.Offset}
	srv.Exec(t, "app", "INSERT INTO t (v) VALUES ('x')")
	store, _ := localSegments(t)
	r := startStreamer(t, &Streamer{Source: source(srv), Store: store, Flush: 200 * time.Millisecond,
		Start: func(_ context.Context, server string) (binlog.Pos, bool, error) {
			if server != "id7" {
				t.Errorf("asked for server %q", server)
			}
			return at, true, nil
		}})
	r.rep.wait(t, "the row", 20*time.Second, func([]Report) bool {
		_, data := segments(t, store, nil)
		return rowsOf(t, data) == 1
	})
	segs, _ := segments(t, store, nil)
	if segs[0].From() != at {
		t.Errorf("first segment from %v, want %v", segs[0].From(), at)
	}
	if n := count(r.rep.all, Gap); n != 0 {
		t.Errorf("%d gaps", n)
	}
}

// A segment is published at most the flush interval after its first
// event, even when the server then goes quiet.
func TestStreamFlushesOnTime(t *testing.T) {
	srv := binlogServer(t, testdb.MariaDB118)
	srv.Exec(t, "", "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(10))")
	store, _ := localSegments(t)
	flush := 700 * time.Millisecond
	r := startStreamer(t, &Streamer{Source: source(srv), Store: store, Flush: flush})
	r.rep.wait(t, "the start", 20*time.Second, func(rs []Report) bool { return count(rs, Started) > 0 })
	time.Sleep(2 * flush) // what the start published is out
	before := count(r.rep.all, Published)
	start := time.Now()
	srv.Exec(t, "app", "INSERT INTO t (v) VALUES ('a')")
	r.rep.wait(t, "the segment", 20*time.Second, func(rs []Report) bool { return count(rs, Published) > before })
	if d := time.Since(start); d > flush+time.Second {
		t.Errorf("published %s after the commit, want at most %s (the flush interval) and an upload", d, flush)
	}
}

// A transaction larger than twice the segment size is split; the pieces
// follow on, and replay puts it together.
func TestStreamSplitsLargeTransactions(t *testing.T) {
	srv := binlogServer(t, testdb.MySQL97)
	srv.Exec(t, "", "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v TEXT)")
	store, _ := localSegments(t)
	r := startStreamer(t, &Streamer{Source: source(srv), Store: store, Flush: 300 * time.Millisecond, MaxSegment: 4096})
	r.rep.wait(t, "the start", 20*time.Second, func(rs []Report) bool { return count(rs, Started) > 0 })
	var sql strings.Builder
	sql.WriteString("BEGIN;")
	for i := range 50 {
		fmt.Fprintf(&sql, "INSERT INTO t (v) VALUES (REPEAT('x', %d));", 1000+i)
	}
	sql.WriteString("COMMIT;")
	srv.Exec(t, "app", sql.String())
	r.rep.wait(t, "the rows", 20*time.Second, func([]Report) bool {
		_, data := segments(t, store, nil)
		return rowsOf(t, data) == 50
	})
	segs, data := segments(t, store, nil)
	if len(segs) < 5 {
		t.Errorf("%d segments, want the transaction split", len(segs))
	}
	var out bytes.Buffer
	rp, err := binlog.NewReplay(&out, binlog.ReplayOptions{Database: "app", From: segs[0].From()})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range segs {
		if err := rp.Segment(s, bytes.NewReader(data[i])); err != nil {
			t.Fatalf("replay of %s: %v", s.Name, err)
		}
	}
	res, err := rp.Close()
	if err != nil || res.Applied < 1 || strings.Contains(out.String(), "ROLLBACK") {
		t.Errorf("replay %+v, %v", res, err)
	}
	for _, s := range segs {
		if s.End-s.Start > 2*4096+2000 {
			t.Errorf("segment %s holds %d bytes", s.Name, s.End-s.Start)
		}
	}
}

// Two machines stream the same log into one remote: each writes names of
// its own, and either's segments follow on.
func TestTwoStreams(t *testing.T) {
	srv := binlogServer(t, testdb.MariaDB118)
	srv.Exec(t, "", "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(10))")
	store, _ := localSegments(t)
	var rs []*running
	for _, w := range []uint32{1001, 1002} {
		src := source(srv)
		src.ReplicaID = w
		rs = append(rs, startStreamer(t, &Streamer{Source: src, Store: store, Flush: 300 * time.Millisecond, Writer: w}))
	}
	for _, r := range rs {
		r.rep.wait(t, "the start", 20*time.Second, func(rs []Report) bool { return count(rs, Started) > 0 })
	}
	for i := range 10 {
		srv.Exec(t, "app", fmt.Sprintf("INSERT INTO t (v) VALUES ('r%d')", i))
		time.Sleep(50 * time.Millisecond)
	}
	for _, r := range rs {
		r.rep.wait(t, "the rows", 20*time.Second, func(reps []Report) bool { return count(reps, Published) >= 2 })
		r.stop()
	}
	entries, err := store.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l := binlog.Codec{}.Scan(entries, time.Now().Add(time.Hour))
	names := map[string]bool{}
	by := map[uint32][]binlog.Segment{}
	for _, s := range l.Segments {
		if names[s.Name] {
			t.Errorf("name %s written twice", s.Name)
		}
		names[s.Name] = true
		by[s.Writer] = append(by[s.Writer], s)
	}
	for w, segs := range by {
		for i := 1; i < len(segs); i++ {
			if segs[i].Start != segs[i-1].End {
				t.Errorf("writer %d: %s does not follow on from %s", w, segs[i].Name, segs[i-1].Name)
			}
		}
	}
	if len(by[1001]) == 0 || len(by[1002]) == 0 {
		t.Errorf("segments by writer: %d and %d", len(by[1001]), len(by[1002]))
	}
}

// lostAnswerStore publishes the first segment but answers its Put with an
// error, as a remote does whose answer is lost after the upload landed.
type lostAnswerStore struct {
	*storage.Store
	mu   sync.Mutex
	lost bool
}

func (s *lostAnswerStore) Put(ctx context.Context, name string, r io.Reader, commit func() (map[string]string, error)) (catalog.Entry, error) {
	e, err := s.Store.Put(ctx, name, r, commit)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil && !s.lost {
		s.lost = true
		return catalog.Entry{}, errors.New("connection reset after the upload")
	}
	return e, err
}

// A segment whose upload landed though its answer was lost is found
// published when the retry meets it under its name; the stream goes on.
func TestStreamPublishedDespiteALostAnswer(t *testing.T) {
	srv := binlogServer(t, testdb.MariaDB118)
	srv.Exec(t, "", "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(10))")
	st, _ := localSegments(t)
	store := &lostAnswerStore{Store: st}
	r := startStreamer(t, &Streamer{Source: source(srv), Store: store, Flush: 200 * time.Millisecond})
	r.rep.wait(t, "the start", 20*time.Second, func(rs []Report) bool { return count(rs, Started) > 0 })
	srv.Exec(t, "app", "INSERT INTO t (v) VALUES ('a')")
	r.rep.wait(t, "the first segment published", 20*time.Second, func(rs []Report) bool { return count(rs, Published) > 0 })
	srv.Exec(t, "app", "INSERT INTO t (v) VALUES ('b')")
	r.rep.wait(t, "a second segment published", 20*time.Second, func(rs []Report) bool { return count(rs, Published) > 1 })
	r.stop()
	segs, data := segments(t, st, nil)
	if len(segs) < 2 || rowsOf(t, data) != 2 {
		t.Errorf("%d segments holding %d rows, want 2 rows", len(segs), rowsOf(t, data))
	}
}

// plantedStore has another file put under the first segment's name just
// before the segment's own upload.
type plantedStore struct {
	*storage.Store
	mu      sync.Mutex
	planted bool
}

func (s *plantedStore) Put(ctx context.Context, name string, r io.Reader, commit func() (map[string]string, error)) (catalog.Entry, error) {
	s.mu.Lock()
	if !s.planted {
		s.planted = true
		junk := []byte("not a segment")
		sum := sha256.Sum256(junk)
		if _, err := s.Store.Put(ctx, name, bytes.NewReader(junk), func() (map[string]string, error) {
			return catalog.Meta(hex.EncodeToString(sum[:]), int64(len(junk))), nil
		}); err != nil {
			s.mu.Unlock()
			return catalog.Entry{}, err
		}
	}
	s.mu.Unlock()
	return s.Store.Put(ctx, name, r, commit)
}

// Another file under a segment's name is not taken for the segment: the
// stream does not go on past it, and stalls loudly.
func TestStreamRefusesAFileInItsPlace(t *testing.T) {
	srv := binlogServer(t, testdb.MariaDB118)
	srv.Exec(t, "", "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(10))")
	st, _ := localSegments(t)
	r := startStreamer(t, &Streamer{Source: source(srv), Store: &plantedStore{Store: st}, Flush: 200 * time.Millisecond, Grace: time.Second})
	r.rep.wait(t, "the start", 20*time.Second, func(rs []Report) bool { return count(rs, Started) > 0 })
	srv.Exec(t, "app", "INSERT INTO t (v) VALUES ('a')")
	rs := r.rep.wait(t, "a stall", 20*time.Second, func(rs []Report) bool { return count(rs, Stalled) > 0 })
	if n := count(rs, Published); n != 0 {
		t.Errorf("%d segments reported published over a planted file", n)
	}
}

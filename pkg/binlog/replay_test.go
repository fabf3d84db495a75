package binlog

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// replayAll runs segments (with their data) through a replay from from.
func replayAll(t *testing.T, opts ReplayOptions, segs []Segment, data [][]byte) ([]string, Result, error) {
	t.Helper()
	var out bytes.Buffer
	r, err := NewReplay(&out, opts)
	if err != nil {
		t.Fatal(err)
	}
	var runErr error
	for i, s := range segs {
		if runErr = r.Segment(s, bytes.NewReader(data[i])); runErr != nil {
			break
		}
	}
	res, err := r.Close()
	if err != nil {
		t.Fatal(err)
	}
	return describe(t, out.Bytes()), res, runErr
}

func TestReplayKeepsOnlyTheDatabase(t *testing.T) {
	for _, mariadb := range []bool{false, true} {
		name := "mysql"
		if mariadb {
			name = "mariadb"
		}
		t.Run(name, func(t *testing.T) {
			b := newBuilder(mariadb)
			fde := b.fde()
			from := uint64(b.pos)
			evs := [][]byte{
				b.rowTxn(1, "app", "t"),
				b.rowTxn(2, "other", "t"),
				b.ddl(3, "app", "CREATE DEFINER=`root`@`%` PROCEDURE p() SELECT 1"),
				b.ddl(4, "app", "GRANT SELECT ON app.* TO x@y"),
				b.ddl(5, "", "CREATE USER 'evil'@'%' IDENTIFIED BY 'x'"),
				b.ddl(6, "other", "DROP TABLE t"),
				b.ddl(7, "", "ALTER TABLE app.t ADD COLUMN c INT"),
			}
			seg, data := b.segmentOf("binlog.000001", from, fde, evs...)
			got, res, err := replayAll(t, ReplayOptions{Database: "app", From: Pos{"binlog.000001", from}}, []Segment{seg}, [][]byte{data})
			if err != nil {
				t.Fatal(err)
			}
			gtid, begin := "GTID", []string{"QUERY app: BEGIN"}
			if mariadb {
				gtid, begin = "GTID (MariaDB)", nil
			}
			want := append([]string{"FORMAT_DESCRIPTION", gtid}, begin...)
			want = append(want, "TABLE_MAP app.t", "WRITE_ROWS", "XID",
				gtid, "QUERY app: CREATE PROCEDURE p() SELECT 1",
				gtid, "QUERY : ALTER TABLE app.t ADD COLUMN c INT")
			if join(got) != join(want) {
				t.Errorf("replayed\n%s\nwant\n%s", join(got), join(want))
			}
			if res.Applied != 3 || res.Skipped != 4 || res.SkippedStatements["grant"] != 1 {
				t.Errorf("result %+v", res)
			}
			if res.End != (Pos{"binlog.000001", uint64(b.pos)}) {
				t.Errorf("end %v, want %d", res.End, b.pos)
			}
		})
	}
}

func TestReplayRenamesTheDatabase(t *testing.T) {
	b := newBuilder(false)
	fde := b.fde()
	from := uint64(b.pos)
	seg, data := b.segmentOf("binlog.000001", from, fde, b.rowTxn(1, "app", "t"), b.ddl(2, "app", "ALTER TABLE t ADD COLUMN c INT"))
	got, _, err := replayAll(t, ReplayOptions{Database: "app", Target: "app_recovered", From: Pos{"binlog.000001", from}}, []Segment{seg}, [][]byte{data})
	if err != nil {
		t.Fatal(err)
	}
	want := "FORMAT_DESCRIPTION\nGTID\nQUERY app_recovered: BEGIN\nTABLE_MAP app_recovered.t\nWRITE_ROWS\nXID\nGTID\nQUERY app_recovered: ALTER TABLE t ADD COLUMN c INT"
	if join(got) != want {
		t.Errorf("replayed\n%s\nwant\n%s", join(got), want)
	}

	// A statement naming the source's database cannot be renamed: it stops.
	b = newBuilder(false)
	fde = b.fde()
	from = uint64(b.pos)
	seg, data = b.segmentOf("binlog.000001", from, fde, b.ddl(1, "app", "ALTER TABLE app.t ADD COLUMN c INT"))
	_, _, err = replayAll(t, ReplayOptions{Database: "app", Target: "app_recovered", From: Pos{"binlog.000001", from}}, []Segment{seg}, [][]byte{data})
	var se *StopError
	if !errors.As(err, &se) || !strings.Contains(se.Reason, "`app`") {
		t.Errorf("err = %v, want a stop naming `app`", err)
	}
}

func TestReplayStops(t *testing.T) {
	for _, tc := range []struct {
		name string
		txn  func(b *logBuilder) []byte
		kind string
	}{
		{"drop database", func(b *logBuilder) []byte { return b.ddl(2, "app", "DROP DATABASE app") }, "drop database"},
		{"foreign name", func(b *logBuilder) []byte {
			return b.ddl(2, "app", "CREATE TABLE t2 AS SELECT * FROM mysql.user")
		}, "create table"},
		{"system database in a comment that runs", func(b *logBuilder) []byte {
			return b.ddl(2, "app", "INSERT INTO t /*!50001 SELECT * FROM mysql.user */")
		}, "insert"},
		{"foreign in a routine", func(b *logBuilder) []byte {
			return b.ddl(2, "app", "CREATE PROCEDURE p() DELETE FROM `other`.`t`")
		}, "create procedure"},
		{"plugin", func(b *logBuilder) []byte {
			return b.ddl(2, "app", "CREATE FUNCTION f RETURNS STRING SONAME 'evil.so'")
		}, "create function"},
		{"other database naming this one", func(b *logBuilder) []byte {
			return b.ddl(2, "other", "INSERT INTO app.t SELECT * FROM secrets")
		}, "statement"},
		{"unknown statement", func(b *logBuilder) []byte { return b.ddl(2, "app", "SET GLOBAL read_only=1") }, "set"},
		{"unclosed quote", func(b *logBuilder) []byte { return b.ddl(2, "app", "INSERT INTO t VALUES ('x") }, "statement"},
		{"failed statement", func(b *logBuilder) []byte {
			return append(b.gtid(2, true), b.queryWith("app", "INSERT INTO t VALUES (1)", nil, 1062)...)
		}, "insert"},
		{"mixed row changes", func(b *logBuilder) []byte {
			var out []byte
			out = append(out, b.gtid(2, false)...)
			out = append(out, b.query("app", "BEGIN")...)
			out = append(out, b.tableMap(7, "app", "t")...)
			out = append(out, b.tableMap(8, "other", "t")...)
			out = append(out, b.rows(7, false)...)
			out = append(out, b.rows(8, true)...)
			return append(out, b.xid()...)
		}, "row changes"},
		{"case twin", func(b *logBuilder) []byte { return b.rowTxn(2, "APP", "t") }, "row changes"},
		{"unmapped rows", func(b *logBuilder) []byte {
			out := append(b.gtid(2, false), b.query("app", "BEGIN")...)
			out = append(out, b.rows(9, true)...)
			return append(out, b.xid()...)
		}, "row changes"},
		{"incident", func(b *logBuilder) []byte { return b.event(typeIncident, 0, []byte{1, 0, 0}) }, "incident"},
		{"compressed transaction", func(b *logBuilder) []byte {
			return append(b.gtid(2, false), b.event(typePayload, 0, []byte{0})...)
		}, "compressed transaction"},
		{"load data", func(b *logBuilder) []byte {
			return append(b.gtid(2, false), b.event(17, 0, []byte{0, 0, 0, 0, 'x'})...)
		}, "BEGIN_LOAD_QUERY"},
		{"xa", func(b *logBuilder) []byte { return b.ddl(2, "app", "XA START 'x'") }, "xa"},
		// mysqlbinlog prints a table map's names raw in a comment line:
		// a newline in one would start a line the client runs.
		{"table name with a newline", func(b *logBuilder) []byte {
			return b.rowTxn(2, "app", "x\nDROP DATABASE other/*!*/;\n#")
		}, "row changes"},
		{"table name with a control byte", func(b *logBuilder) []byte { return b.rowTxn(2, "app", "x\ry") }, "row changes"},
		// In gbk (28) 0xbf 0x5c is one character: the server's string
		// ends at the quote after it, the gate's would not.
		{"multi-byte character set", func(b *logBuilder) []byte {
			status := []byte{qSQLMode, 0, 0, 0, 0, 0, 0, 0, 0, qCharset, 28, 0, 28, 0, 45, 0}
			return append(b.gtid(2, true), b.queryWith("app", "UPDATE t SET a='\xbf\\' WHERE 1=0, b = 1 -- '", status, 0)...)
		}, "update"},
		{"hidden second statement", func(b *logBuilder) []byte {
			return b.ddl(2, "app", "CREATE TABLE t10 (a INT) --\x01/*!*/;DROP DATABASE other")
		}, "create table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(false)
			fde := b.fde()
			from := uint64(b.pos)
			first := b.rowTxn(1, "app", "t")
			second := b.pos
			b.now = b.now.Add(time.Second)
			evs := [][]byte{first, tc.txn(b), b.rowTxn(3, "app", "t")}
			seg, data := b.segmentOf("binlog.000001", from, fde, evs...)
			got, res, err := replayAll(t, ReplayOptions{Database: "app", Foreign: []string{"other"}, From: Pos{"binlog.000001", from}},
				[]Segment{seg}, [][]byte{data})
			var se *StopError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a StopError", err)
			}
			inTxn := tc.kind != "incident"
			if se.Kind != tc.kind || se.At != (Pos{"binlog.000001", uint64(second)}) || inTxn && !se.Commit.Equal(t0.Add(time.Second)) {
				t.Errorf("stop %+v (%v), want kind %q at %d", se, se, tc.kind, second)
			}
			if res.Applied != 1 || res.Last.GTID == "" {
				t.Errorf("result %+v, want the first transaction applied", res)
			}
			// The first transaction whole; of the refused one, at most
			// what it wrote before the refusal, then a ROLLBACK.
			if len(got) < 6 || join(got[:6]) != "FORMAT_DESCRIPTION\nGTID\nQUERY app: BEGIN\nTABLE_MAP app.t\nWRITE_ROWS\nXID" {
				t.Fatalf("replayed\n%s", join(got))
			}
			rest := got[6:]
			if len(rest) > 0 && rest[len(rest)-1] != "QUERY : ROLLBACK" {
				t.Errorf("a refused transaction that wrote events is not rolled back:\n%s", join(rest))
			}
			for _, l := range rest {
				if strings.Contains(l, "other") || l == "XID" {
					t.Errorf("wrote %q of the refused transaction", l)
				}
			}
		})
	}
}

func TestReplayUntil(t *testing.T) {
	for _, mariadb := range []bool{false, true} {
		b := newBuilder(mariadb)
		fde := b.fde()
		from := uint64(b.pos)
		var evs [][]byte
		for i := range 5 {
			b.now = t0.Add(time.Duration(i) * time.Second)
			evs = append(evs, b.rowTxn(uint64(i+1), "app", "t"))
		}
		seg, data := b.segmentOf("binlog.000001", from, fde, evs...)
		got, res, err := replayAll(t, ReplayOptions{Database: "app", From: Pos{"binlog.000001", from}, Until: t0.Add(3 * time.Second)},
			[]Segment{seg}, [][]byte{data})
		if !errors.Is(err, io.EOF) {
			t.Fatalf("err = %v, want io.EOF (until reached)", err)
		}
		if res.Applied != 3 || !res.Last.Commit.Equal(t0.Add(2*time.Second)) || !res.Next.Commit.Equal(t0.Add(3*time.Second)) {
			t.Errorf("result %+v", res)
		}
		if n := strings.Count(join(got), "XID"); n != 3 {
			t.Errorf("%d commits replayed, want 3", n)
		}
	}
}

func TestReplayFollowsSegments(t *testing.T) {
	b := newBuilder(false)
	fde1 := b.fde()
	from := uint64(b.pos)
	a := b.rowTxn(1, "app", "t")
	mid := uint64(b.pos)
	c := b.rowTxn(2, "app", "t")
	end1 := uint64(b.pos)
	rot := b.rotate("binlog.000002")
	s1, d1 := b.segmentOf("binlog.000001", from, fde1, a)
	s1.End = mid
	// An overlapping segment from a second stream: from the start again.
	s2, d2 := b.segmentOf("binlog.000001", from, fde1, a, c, rot)
	s2.Rotated = true

	b2 := newBuilder(false)
	fde2 := b2.fde()
	s3, d3 := b2.segmentOf("binlog.000002", FirstOffset, fde2, b2.rowTxn(3, "app", "t"))

	got, res, err := replayAll(t, ReplayOptions{Database: "app", From: Pos{"binlog.000001", from}}, []Segment{s1, s2, s3}, [][]byte{d1, d2, d3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied != 3 || res.End != (Pos{"binlog.000002", uint64(b2.pos)}) {
		t.Errorf("result %+v", res)
	}
	if n := strings.Count(join(got), "XID"); n != 3 {
		t.Errorf("%d commits replayed, want 3 (none twice)", n)
	}
	if n := strings.Count(join(got), "FORMAT_DESCRIPTION"); n != 2 {
		t.Errorf("%d format descriptions, want one per file", n)
	}
	_ = end1
}

func TestReplayFindsGaps(t *testing.T) {
	b := newBuilder(false)
	fde := b.fde()
	from := uint64(b.pos)
	a := b.rowTxn(1, "app", "t")
	mid := uint64(b.pos)
	c := b.rowTxn(2, "app", "t")
	full, data := b.segmentOf("binlog.000001", from, fde, a, c)

	// The second transaction alone, in a segment of its own.
	tail := append([]byte(Magic), fde...)
	tail = append(tail, c...)
	tailSeg := Segment{Name: "tail", Server: "id1", File: "binlog.000001", Start: mid, End: full.End}

	if err := CheckEvents(full, bytes.NewReader(data)); err != nil {
		t.Errorf("CheckEvents of a whole segment: %v", err)
	}
	for _, tc := range []struct {
		name string
		from Pos
		segs []Segment
		data [][]byte
		want string
	}{
		{"starts after the position", Pos{"binlog.000001", from}, []Segment{tailSeg}, [][]byte{tail}, "gap"},
		{"name says more than it holds", Pos{"binlog.000001", from},
			[]Segment{{Name: "x", Server: "id1", File: "binlog.000001", Start: from, End: full.End + 10}}, [][]byte{data}, "its name says"},
		{"name shifts the events", Pos{"binlog.000001", from},
			[]Segment{{Name: "x", Server: "id1", File: "binlog.000001", Start: from - 1, End: full.End - 1}}, [][]byte{data}, "says it ends at"},
		{"next file without an end", Pos{"binlog.000001", from},
			[]Segment{full, {Name: "y", Server: "id1", File: "binlog.000002", Start: 4, End: 10}}, [][]byte{data, data}, "was not seen to end"},
		{"position inside an event", Pos{"binlog.000001", from + 3}, []Segment{full}, [][]byte{data}, "not an event boundary"},
		{"corrupt event", Pos{"binlog.000001", from}, []Segment{full}, [][]byte{flip(data, len(data)-5)}, "checksum"},
		{"truncated", Pos{"binlog.000001", from}, []Segment{full}, [][]byte{data[:len(data)-5]}, "ends inside"},
		{"not a binary log", Pos{"binlog.000001", from}, []Segment{full}, [][]byte{[]byte("CREATE USER evil")}, "magic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := replayAll(t, ReplayOptions{Database: "app", From: tc.from}, tc.segs, tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
			// What a segment holds on its own is found before any of
			// it is used.
			var errs []error
			for i, s := range tc.segs {
				errs = append(errs, CheckEvents(s, bytes.NewReader(tc.data[i])))
			}
			if err := errors.Join(errs...); tc.want != "gap" && tc.want != "was not seen to end" && tc.want != "not an event boundary" &&
				(err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("CheckEvents: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x40
	return c
}

func TestReplayRollsBackAnOpenEnd(t *testing.T) {
	b := newBuilder(false)
	fde := b.fde()
	from := uint64(b.pos)
	evs := [][]byte{b.gtid(1, false), b.query("app", "BEGIN"), b.tableMap(5, "app", "t"), b.rows(5, true)}
	seg, data := b.segmentOf("binlog.000001", from, fde, evs...)
	got, res, err := replayAll(t, ReplayOptions{Database: "app", From: Pos{"binlog.000001", from}}, []Segment{seg}, [][]byte{data})
	if err != nil {
		t.Fatal(err)
	}
	if got[len(got)-1] != "QUERY : ROLLBACK" || res.Applied != 0 {
		t.Errorf("replayed\n%s\nresult %+v", join(got), res)
	}
}

func FuzzReplay(f *testing.F) {
	b := newBuilder(false)
	fde := b.fde()
	from := uint64(b.pos)
	_, data := b.segmentOf("binlog.000001", from, fde, b.rowTxn(1, "app", "t"), b.ddl(2, "app", "CREATE TABLE x (a INT)"),
		b.rowTxn(3, "other", "t"), b.ddl(4, "", "GRANT ALL ON *.* TO x"))
	f.Add(data, uint64(b.pos))
	m := newBuilder(true)
	fde = m.fde()
	_, data = m.segmentOf("mariadb-bin.000001", from, fde, m.rowTxn(1, "app", "t"), m.ddl(2, "app", "DROP TABLE t"))
	f.Add(data, uint64(m.pos))
	f.Fuzz(func(t *testing.T, data []byte, end uint64) {
		var out bytes.Buffer
		r, err := NewReplay(&out, ReplayOptions{Database: "app", Target: "rec", From: Pos{"binlog.000001", from}})
		if err != nil {
			t.Fatal(err)
		}
		_ = r.Segment(Segment{Name: "f", Server: "id1", File: "binlog.000001", Start: from, End: end}, bytes.NewReader(data))
		if _, err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if out.Len() == 0 {
			return
		}
		// Whatever went out names only the target database.
		rd, err := NewReader(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("output does not read: %v", err)
		}
		fmt := rd.Format()
		for {
			e, err := rd.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("output does not read: %v", err)
				}
				return
			}
			switch e.Type {
			case typeTableMap:
				tm, _, err := fmt.decodeTableMap(e)
				if err != nil || tm.DB != "rec" {
					t.Fatalf("wrote a table map of %q (%v)", tm.DB, err)
				}
			case typeQuery:
				q, err := fmt.decodeQuery(e)
				if err != nil || q.DB != "rec" && q.DB != "" {
					t.Fatalf("wrote a statement in %q (%v)", q.DB, err)
				}
				toks, ok := lex(q.Text, q.SQLMode)
				if !ok {
					t.Fatalf("wrote a statement that does not read: %q", q.Text)
				}
				for _, n := range qualifiers(toks) {
					if strings.EqualFold(n, "app") || strings.EqualFold(n, "mysql") {
						t.Fatalf("wrote a statement naming %s: %q", n, q.Text)
					}
				}
			}
		}
	})
}

// Transaction control is written as its plain word: whatever else its
// text held (a comment the client would read as statements) is not.
func TestReplayWritesControlPlain(t *testing.T) {
	b := newBuilder(false)
	fde := b.fde()
	from := uint64(b.pos)
	var txn []byte
	txn = append(txn, b.gtid(1, false)...)
	txn = append(txn, b.query("app", "BEGIN --\x01/*!*/;DROP DATABASE other")...)
	txn = append(txn, b.query("app", "INSERT INTO t VALUES (1)")...)
	txn = append(txn, b.query("app", "COMMIT # x\n--\x01/*!*/;DROP DATABASE other")...)
	seg, data := b.segmentOf("binlog.000001", from, fde, txn)
	got, _, err := replayAll(t, ReplayOptions{Database: "app", From: Pos{"binlog.000001", from}}, []Segment{seg}, [][]byte{data})
	if err != nil {
		t.Fatal(err)
	}
	want := "FORMAT_DESCRIPTION\nGTID\nQUERY app: BEGIN\nQUERY app: INSERT INTO t VALUES (1)\nQUERY app: COMMIT"
	if join(got) != want {
		t.Errorf("replayed\n%s\nwant\n%s", join(got), want)
	}
}

package sqltext

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// chunkReader returns at most n bytes a read, n taken in turn from sizes,
// so that the splitter's buffer runs out at every place of a statement.
type chunkReader struct {
	r     io.Reader
	sizes []byte
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	n := 1
	if len(c.sizes) > 0 {
		n = 1 + int(c.sizes[c.i%len(c.sizes)])%13
		c.i++
	}
	return c.r.Read(p[:min(n, len(p))])
}

// passRun is what the gate made of a dump: the statements it let through,
// as they were when it returned each, and its error.
type passRun struct {
	sts  []Statement
	sqls [][]byte // each statement's SQL as returned, not copied
	err  error
}

// runGate reads a whole dump through the gate, the pass on or off; with the
// pass on the splitter keeps every statement and reads in small chunks
// (sizes) from a buffer of four bytes (of 1 MiB, with large).
func runGate(data []byte, pass, large bool, sizes []byte, opts GateOptions) passRun {
	var sp *Splitter
	if pass {
		size := 4
		if large {
			size = splitMinBuf
		}
		sp = newSplitterSize(&chunkReader{r: bytes.NewReader(data), sizes: sizes}, size)
		sp.Keep = true
	} else {
		sp = NewSplitter(bytes.NewReader(data))
	}
	opts.noPass, opts.LoadText = !pass, pass
	g := NewGate(sp, opts)
	var run passRun
	for n := 0; n < 1000; n++ {
		st, err := g.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				run.err = err
			}
			break
		}
		run.sqls = append(run.sqls, st.SQL)
		st.SQL = bytes.Clone(st.SQL)
		run.sts = append(run.sts, st)
	}
	return run
}

// checkPass compares the gate's reading of a dump with the pass and
// without it: the same statements (class, kind, table, SQL, line) and the
// same refusal. With the pass every statement stays as it was returned
// (Splitter.Keep), and the LOAD DATA text it wrote is AppendLoadText's for
// the statement's rows, for every column kinds it fits (kinds, one a
// value, cycled).
func checkPass(t *testing.T, data []byte, large bool, sizes []byte, kinds []FieldKind, opts GateOptions) {
	t.Helper()
	with := runGate(data, true, large, sizes, opts)
	without := runGate(data, false, false, nil, opts)
	if (with.err == nil) != (without.err == nil) || (with.err != nil && with.err.Error() != without.err.Error()) {
		t.Fatalf("errors differ:\n  pass %v\nparser %v\n(%q)", with.err, without.err, data)
	}
	if len(with.sts) != len(without.sts) {
		t.Fatalf("%d statements with the pass, %d without (%q)", len(with.sts), len(without.sts), data)
	}
	for i, a := range with.sts {
		b := without.sts[i]
		if a.Class != b.Class || a.Kind != b.Kind || a.Table != b.Table || a.Create != b.Create || a.Line != b.Line || !bytes.Equal(a.SQL, b.SQL) {
			t.Fatalf("statement %d differs:\n  pass %+v\nparser %+v", i, a, b)
		}
		if (len(a.SQL) > 0 && !a.Owned) || !bytes.Equal(with.sqls[i], a.SQL) {
			t.Fatalf("statement %d changed after it was returned (owned %v): %q, now %q", i, a.Owned, a.SQL, with.sqls[i])
		}
		if a.Text == nil {
			continue
		}
		in, ok := ReadInsert(a.SQL)
		if !ok || in.Replace != a.Text.Replace || strings.Join(in.Columns, "`") != strings.Join(a.Text.Columns, "`") || (in.Columns == nil) != (a.Text.Columns == nil) {
			t.Fatalf("text for a statement that is not a plain INSERT as the pass read it (%+v): %q", a.Text, a.SQL)
		}
		for width := 1; width <= 4; width++ {
			ks := make([]FieldKind, width)
			for j := range ks {
				ks[j] = kinds[j%len(kinds)]
			}
			want, rows, ok := AppendLoadText(nil, in.Values, ks)
			if fits := a.Text.Fits(ks); fits != ok {
				t.Fatalf("kinds %v: Fits %v, AppendLoadText %v: %q", ks, fits, ok, a.SQL)
			}
			if ok && (!bytes.Equal(a.Text.Text, want) || rows != a.Text.Rows) {
				t.Fatalf("kinds %v: the pass wrote %q (%d rows), AppendLoadText %q (%d): %q", ks, a.Text.Text, a.Text.Rows, want, rows, a.SQL)
			}
		}
	}
}

// passSeeds are dumps of data statements in and off the pass's shape.
var passSeeds = []string{
	"INSERT INTO `t` VALUES (1,'a'),(2,'b');",
	"INSERT INTO `t` VALUES\n(1,'a\\'b',NULL,-1.5e3),\n(2,'c\\\\d',0x00ff,_binary 'x\\0y');\n",
	"insert into`t`(`a`,`b`)values(1,2);",
	"REPLACE INTO `t` (`a`) VALUES ('x''y'),(\"z\"\"w\");",
	"INSERT INTO `t` VALUES (1),(2,3);",
	"INSERT INTO `t` VALUES ('');",
	"INSERT INTO `t` VALUES ('a\tb\nc');",
	"INSERT INTO `t` VALUES (N'a',b'101',0b11,X'0a',_utf8mb4'x',_binary 0b101);",
	"INSERT INTO `t` VALUES (1) ON DUPLICATE KEY UPDATE a=1;",
	"INSERT INTO `t` VALUES (1 /* c */);",
	"INSERT INTO `t` VALUES (1)\t;",
	"INSERT INTO `t` VALUES (1);\nINSERT INTO `u` VALUES (2)",
	"INSERT INTO `t` VALUES ('unclosed);",
	"INSERT INTO `t` VALUES (1),\n(2",
	"INSERT INTO src.`t` VALUES (1);",
	"INSERT INTO `src`.`t` VALUES (1);",
	"INSERT INTO `t``q` VALUES (1);",
	"INSERT INTO `` VALUES (1);",
	"INSERT IGNORE INTO `t` VALUES (1);",
	"INSERT INTO t VALUES (1);",
	"INSERT INTO `t` VALUE (1);",
	"INSERT INTO `t` VALUES (NOW());",
	"INSERT INTO `t` VALUES (1);SELECT 1;",
	"INSERT INTO `t` VALUES (1); DROP TABLE other.x;",
	"INSERT INTO `t` VALUES ('a;b'),(';');",
	"INSERT INTO `t` VALUES (1)-- c\n;",
	"INSERT INTO `t` VALUES (-- 1\n2);",
	"INSERT INTO `t` VALUES (1e,1.2.3,1x,.5,+7,'7');",
	"INSERT INTO `t` VALUES (0x,0xg,x'1',X'ab');",
	"INSERT INTO `t` VALUES (NULL,null,NULLx);",
	"DELIMITER ;;\nINSERT INTO `t` VALUES (1);;\nDELIMITER ;\nINSERT INTO `t` VALUES (2);",
	"/*!40000 INSERT INTO `t` VALUES (1) */;",
	"INSERT /*!40000 INTO */ `t` VALUES (1);",
	"INSERT INTO `t` VALUES (1)/*!40000 ,(2) */;",
	"INSERT INTO `t` VALUES ('\xff\xfe'),(`x`);",
	"INSERT INTO `t` VALUES (1),\r\n(2);",
	"INSERT INTO `t` VALUES (1)\\g",
	"INSERT INTO `t` VALUES (_binary '\\'),('x');",
}

// The pass lets through what the gate's parser lets through, with the same
// statements and refusals, and writes AppendLoadText's text.
func TestDataPass(t *testing.T) {
	kinds := []FieldKind{FieldNumber, FieldText, FieldBinary, FieldOther}
	for _, s := range passSeeds {
		for _, dump := range []string{header + "CREATE TABLE `t` (a int);\n" + s + "\n", s} {
			for _, whole := range []bool{false, true} {
				for _, sizes := range [][]byte{nil, {3, 200, 7}, {255}} {
					checkPass(t, []byte(dump), false, sizes, kinds, GateOptions{Server: maria1011, Foreign: []string{"other"}, Whole: whole})
				}
			}
		}
	}
	// A row the buffer runs out in is read again from its start; one
	// longer than passMaxRow is read the usual way.
	long := header + "CREATE TABLE `t` (a text);\nINSERT INTO `t` VALUES ('" + strings.Repeat("x", passMaxRow+10) + "'),('y');\n"
	checkPass(t, []byte(long), true, []byte{255, 255, 255, 255, 255, 255, 255, 255, 255, 254}, []FieldKind{FieldText}, GateOptions{Server: maria1011})
	bench := benchDump(3 << 20)
	checkPass(t, []byte(bench), true, []byte{200}, benchKinds, GateOptions{Server: maria1011, Whole: true})
	run := runGate([]byte(bench), true, true, []byte{200}, GateOptions{Server: maria1011, Whole: true})
	data := 0
	for _, st := range run.sts {
		if st.Class == ClassData {
			data++
			if st.Text == nil || !st.Text.Fits(benchKinds) {
				t.Fatalf("no LOAD DATA text for a statement of the bench's dump at line %d", st.Line)
			}
		}
	}
	if data < 3 {
		t.Fatalf("%d data statements", data)
	}
}

// FuzzDataPass checks on arbitrary dumps, read in arbitrary chunks, that
// the gate reads the same statements and refuses the same ones with the
// pass as without it, and that the text the pass writes is
// AppendLoadText's.
func FuzzDataPass(f *testing.F) {
	for _, s := range passSeeds {
		f.Add([]byte(header+"CREATE TABLE `t` (a int);\n"+s+"\n"), []byte{3, 200, 7}, []byte{1, 2, 3})
	}
	f.Add([]byte(mysql80Dump), []byte{5}, []byte{1})
	f.Fuzz(func(t *testing.T, data, sizes, kindBytes []byte) {
		if len(kindBytes) == 0 || len(kindBytes) > 8 {
			return
		}
		kinds := make([]FieldKind, len(kindBytes))
		for i, k := range kindBytes {
			kinds[i] = FieldKind(k % 4)
		}
		for _, whole := range []bool{false, true} {
			checkPass(t, data, false, sizes, kinds, GateOptions{Server: maria1011, Foreign: []string{"other"}, Whole: whole, Dialect: &Dialect{}})
		}
	})
}

package sqltext

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// splitAll splits everything r holds.
func splitAll(r io.Reader, max int) ([]string, []int64, error) {
	return splitAllSize(r, max, splitMinBuf)
}

// splitAllSize splits with a first buffer of size bytes; small ones make
// every statement cross refills, shifts and growths.
func splitAllSize(r io.Reader, max, size int) ([]string, []int64, error) {
	s := newSplitterSize(r, size)
	s.MaxStatement = max
	var out []string
	var lines []int64
	for {
		stmt, err := s.Next()
		if errors.Is(err, io.EOF) {
			return out, lines, nil
		}
		if err != nil {
			return out, lines, err
		}
		out = append(out, string(stmt))
		lines = append(lines, s.Line())
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"plain", "SELECT 1;\nSELECT 2;\n", []string{"SELECT 1", "SELECT 2"}},
		{"last without delimiter", "SELECT 1;\nSELECT 2\n", []string{"SELECT 1", "SELECT 2"}},
		{"empty statements", ";;  ;\nSELECT 1;;", []string{"SELECT 1"}},
		{"semicolon in strings", `INSERT INTO t VALUES ('a;b',"c;d");`, []string{`INSERT INTO t VALUES ('a;b',"c;d")`}},
		{"escaped quotes", `INSERT INTO t VALUES ('it\'s;','it''s;','\\',"\";");SELECT 2;`,
			[]string{`INSERT INTO t VALUES ('it\'s;','it''s;','\\',"\";")`, "SELECT 2"}},
		{"backslash before closing quote", `SELECT 'a\\';SELECT '\\\\';`, []string{`SELECT 'a\\'`, `SELECT '\\\\'`}},
		{"newlines in strings", "SELECT 'a\n;\nb';", []string{"SELECT 'a\n;\nb'"}},
		{"backtick identifiers", "CREATE TABLE `we;ird``na'me` (`a\\` int);SELECT 1;",
			[]string{"CREATE TABLE `we;ird``na'me` (`a\\` int)", "SELECT 1"}},
		{"comments", "-- x;\n# y;\n/* z; */ SELECT 1 /* ; */ -- ;\n, 2 # ;\n;",
			[]string{"SELECT 1 /* ; */ -- ;\n, 2 # ;"}},
		{"double dash without blank", "SELECT 1--1;SELECT 2;", []string{"SELECT 1--1", "SELECT 2"}},
		{"double dash at end of line", "--\n-- Table\n--\nSELECT 1;", []string{"SELECT 1"}},
		{"conditional comments are code", "/*!40101 SET NAMES utf8mb4 */;\n/*M!100101 SET x=1 */;",
			[]string{"/*!40101 SET NAMES utf8mb4 */", "/*M!100101 SET x=1 */"}},
		{"sandbox marker", "/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump\n/*!40101 SET NAMES utf8mb4 */;",
			[]string{"/*!40101 SET NAMES utf8mb4 */"}},
		{"conditional comment without version", "/*! SET x=1 */;", []string{"/*! SET x=1 */"}},
		{"delimiter blocks", "DELIMITER ;;\nCREATE TRIGGER a BEGIN SET x = 1; SET y = ';;'; END ;;\nDELIMITER ;\nSELECT 1;",
			[]string{"CREATE TRIGGER a BEGIN SET x = 1; SET y = ';;'; END", "SELECT 1"}},
		{"mysqldump trigger", "DELIMITER ;;\n/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER t AFTER INSERT ON o FOR EACH ROW\nBEGIN\n  INSERT INTO a VALUES (';');\nEND \n*/;;\nDELIMITER ;\n",
			[]string{"/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER t AFTER INSERT ON o FOR EACH ROW\nBEGIN\n  INSERT INTO a VALUES (';');\nEND \n*/"}},
		{"other delimiters", "delimiter $$\nSELECT 1; SELECT 2$$\nDelimiter //\nSELECT '//'//\nDELIMITER ;\n",
			[]string{"SELECT 1; SELECT 2", "SELECT '//'"}},
		{"delimiter after comment and crlf", "-- c\r\nDELIMITER ;;\r\nSELECT 1;;\r\nDELIMITER ;\r\nSELECT 2;\r\n",
			[]string{"SELECT 1", "SELECT 2"}},
		{"delimiter word inside a statement", "SELECT 'DELIMITER ;;' ; SELECT 2;", []string{"SELECT 'DELIMITER ;;'", "SELECT 2"}},
		{"lock tables", "LOCK TABLES `t` WRITE;\n/*!40000 ALTER TABLE `t` DISABLE KEYS */;\nUNLOCK TABLES;",
			[]string{"LOCK TABLES `t` WRITE", "/*!40000 ALTER TABLE `t` DISABLE KEYS */", "UNLOCK TABLES"}},
		{"binary bytes", "INSERT INTO b VALUES ('\x00\xff\\'\x1a;\r\n');", []string{"INSERT INTO b VALUES ('\x00\xff\\'\x1a;\r\n')"}},
		{"only comments", "-- Dump completed\n", nil},
		{"slash and dash in code", "SELECT 4/2, 3-1, a-b;", []string{"SELECT 4/2, 3-1, a-b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, one := range []bool{false, true} {
				var r io.Reader = strings.NewReader(tt.in)
				size := splitMinBuf
				if one {
					r = iotest.OneByteReader(r)
					size = 4
				}
				got, _, err := splitAllSize(r, 0, size)
				if err != nil {
					t.Fatalf("one byte at a time %v: %v", one, err)
				}
				if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
					t.Errorf("one byte at a time %v:\n got %q\nwant %q", one, got, tt.want)
				}
			}
		})
	}
}

func TestSplitLines(t *testing.T) {
	in := "-- head\n\nSELECT 1;\nSELECT\n'a\nb';\n\n/* c\n*/ SELECT 3; SELECT 4;\nDELIMITER ;;\nSELECT 5;;\n"
	_, lines, err := splitAll(strings.NewReader(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(lines), "[3 4 9 9 11]"; got != want {
		t.Errorf("lines = %s, want %s", got, want)
	}
}

func TestSplitErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want error
	}{
		{"ends in a string", "SELECT 1;\nINSERT INTO t VALUES ('abc", 0, io.ErrUnexpectedEOF},
		{"ends after a backslash", "INSERT INTO t VALUES ('abc\\", 0, io.ErrUnexpectedEOF},
		{"ends in a comment", "SELECT 1 /* abc", 0, io.ErrUnexpectedEOF},
		{"ends in a leading comment", "SELECT 1; /* abc", 0, io.ErrUnexpectedEOF},
		{"ends opening a comment", "SELECT 1 /*", 0, io.ErrUnexpectedEOF},
		{"ends opening a comment after a comment", "SELECT 1 */*0", 0, io.ErrUnexpectedEOF},
		{"too long", "SELECT '" + strings.Repeat("x", 3<<20) + "';", 1 << 20, ErrStatementTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := splitAll(strings.NewReader(tt.in), tt.max)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	_, _, err := splitAll(strings.NewReader("DELIMITER \nSELECT 1;"), 0)
	if err == nil {
		t.Error("DELIMITER without an argument: no error")
	}
	_, _, err = splitAll(iotest.TimeoutReader(strings.NewReader(strings.Repeat("SELECT 1;", 1<<17))), 0)
	if !errors.Is(err, iotest.ErrTimeout) {
		t.Errorf("read error: err = %v, want %v", err, iotest.ErrTimeout)
	}
}

// A statement that straddles many buffer refills and grows the buffer.
func TestSplitLongStatement(t *testing.T) {
	var b strings.Builder
	b.WriteString("INSERT INTO t VALUES ")
	for i := range 200000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(%d,'a\\'b;c\\\\',\"x;\")", i)
	}
	long := b.String()
	in := "SELECT 1;\n" + long + ";\nSELECT 2;\n"
	got, _, err := splitAll(iotest.HalfReader(strings.NewReader(in)), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1] != long || got[2] != "SELECT 2" {
		t.Errorf("got %d statements, the long one intact: %v", len(got), len(got) > 1 && got[1] == long)
	}
}

// escapeString escapes a value as mysqldump does (mysql_real_escape_string).
func escapeString(v []byte) string {
	var b strings.Builder
	for _, c := range v {
		switch c {
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '"':
			b.WriteString(`\"`)
		case 0x1a:
			b.WriteString(`\Z`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// renderDump writes statements built from vals the way mysqldump lays them
// out, and returns the text and the statements a client would send.
func renderDump(vals [][]byte, delim string) (string, []string) {
	var b strings.Builder
	var want []string
	stmt := func(s, d string) {
		b.WriteString(s)
		b.WriteString(d)
		b.WriteString("\n")
		want = append(want, s)
	}
	b.WriteString("/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19\n--\n-- Host: localhost\n\n")
	stmt("/*!40101 SET NAMES utf8mb4 */", ";")
	stmt("/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */", ";")
	for i, v := range vals {
		name := "`t" + strings.ReplaceAll(string(v[:min(len(v), 8)]), "`", "``") + "`"
		comment := strings.NewReplacer("\n", " ", "\r", " ").Replace(name)
		fmt.Fprintf(&b, "\n--\n-- Table structure for table %s\n--\n\n", comment)
		stmt("DROP TABLE IF EXISTS "+name, ";")
		stmt("CREATE TABLE "+name+" (\n  `v` longblob\n) ENGINE=InnoDB", ";")
		fmt.Fprintf(&b, "\n--\n-- Dumping data for table %s\n--\n\n", comment)
		stmt("LOCK TABLES "+name+" WRITE", ";")
		stmt("/*!40000 ALTER TABLE "+name+" DISABLE KEYS */", ";")
		row := "('" + escapeString(v) + "')"
		stmt("INSERT INTO "+name+" VALUES "+row+",\n"+row+",(NULL)", ";")
		stmt("/*!40000 ALTER TABLE "+name+" ENABLE KEYS */", ";")
		stmt("UNLOCK TABLES", ";")
		b.WriteString("DELIMITER " + delim + "\n")
		stmt(fmt.Sprintf("/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER tr%d AFTER INSERT ON %s FOR EACH ROW\nBEGIN\n  SET @v = '%s';\n  SET @w = \"%s\";\nEND \n*/", i, name, escapeString(v), escapeString(v)), delim)
		b.WriteString("DELIMITER ;\n")
	}
	b.WriteString("\n-- Dump completed on 2026-01-01  0:00:00\n")
	return b.String(), want
}

// FuzzSplit renders rows of arbitrary bytes (quotes, backslashes,
// semicolons, DELIMITER, binary) as mysqldump would, and checks that the
// splitter gives back exactly the statements, whatever the read sizes.
func FuzzSplit(f *testing.F) {
	f.Add([]byte("plain"), uint8(0))
	f.Add([]byte("it's; a \\ \"test\"\n"), uint8(1))
	f.Add([]byte("DELIMITER ;;\nEND;;\n*/;; -- x\n# y\n/* z */"), uint8(2))
	f.Add([]byte{0, 0x1a, 0xff, 0xfe, '\'', '\\', ';', '`', '\r', '\n'}, uint8(3))
	f.Add([]byte("`back``tick`;$$//"), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		var vals [][]byte
		n := 1 + int(mode%4)
		for i := range n {
			vals = append(vals, data[i*len(data)/n:(i+1)*len(data)/n])
		}
		// Not "//": after "*/" the client, too, would take "*//" as "*" and a delimiter.
		delim := []string{";;", "$$"}[int(mode/4)%2]
		in, want := renderDump(vals, delim)
		readers := []io.Reader{strings.NewReader(in), iotest.OneByteReader(strings.NewReader(in)), iotest.HalfReader(strings.NewReader(in))}
		for i, r := range readers {
			got, _, err := splitAllSize(r, 0, 2+i*61)
			if err != nil {
				t.Fatalf("reader %d: %v", i, err)
			}
			if len(got) != len(want) {
				t.Fatalf("reader %d: %d statements, want %d\n got %q\nwant %q", i, len(got), len(want), got, want)
			}
			for j := range got {
				if got[j] != want[j] {
					t.Fatalf("reader %d: statement %d:\n got %q\nwant %q", i, j, got[j], want[j])
				}
			}
		}
	})
}

// FuzzSplitReads feeds arbitrary text and checks that how the stream is
// read never changes the statements or the error, and that nothing panics.
func FuzzSplitReads(f *testing.F) {
	f.Add([]byte("SELECT 1; SELECT 'a;b' -- c\n;"))
	f.Add([]byte("DELIMITER ;;\nSELECT 1;;\nDELIMITER ;\n/* x */ SELECT \"\\\"\";"))
	f.Add([]byte("/*M!999999\\- x */\n--\n#\nSELECT `a``b`;"))
	f.Add([]byte("SELECT 'unterminated"))
	f.Fuzz(func(t *testing.T, in []byte) {
		whole, _, errWhole := splitAllSize(bytes.NewReader(in), 0, len(in)+2)
		one, _, errOne := splitAllSize(iotest.OneByteReader(bytes.NewReader(in)), 0, 2)
		if (errWhole == nil) != (errOne == nil) {
			t.Fatalf("errors differ: whole %v, one byte %v", errWhole, errOne)
		}
		if fmt.Sprintf("%q", whole) != fmt.Sprintf("%q", one) {
			t.Fatalf("statements differ:\nwhole %q\n one %q", whole, one)
		}
	})
}

// BenchmarkSplit measures the splitter alone on extended INSERTs like
// mysqldump's.
func BenchmarkSplit(b *testing.B) {
	var sb strings.Builder
	for sb.Len() < 64<<20 {
		sb.WriteString("INSERT INTO `t` VALUES ")
		for i := range 4000 {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "(%d,'name %d with \\'quotes\\' and ; semicolons',-12.50,'2026-01-02 03:04:05',NULL,'%s')", i, i, strings.Repeat("text ", 20))
		}
		sb.WriteString(";\n")
	}
	in := sb.String()
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	for b.Loop() {
		s := NewSplitter(strings.NewReader(in))
		for {
			if _, err := s.Next(); err != nil {
				if !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
				break
			}
		}
	}
}

// A statement of 1 MiB or more is handed over with its buffer: it stays as
// it was while the splitter reads on, and the splitter's buffer shrinks
// back.
func TestSplitHandsOverLargeStatements(t *testing.T) {
	big := "INSERT INTO t VALUES ('" + strings.Repeat("x", 3<<20) + "')"
	var grew int
	sp := NewSplitter(strings.NewReader("SELECT 1;\n" + big + ";\nSELECT 2;\n" + big + ";\nSELECT 3;"))
	sp.Grew = func() { grew++ }
	var kept [][]byte
	for {
		stmt, err := sp.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if got, want := sp.Owned(), len(stmt) >= 1<<20; got != want {
			t.Errorf("Owned() = %v for a statement of %d bytes", got, len(stmt))
		}
		if sp.Owned() {
			kept = append(kept, stmt)
		}
		if len(sp.buf) >= len(big) && !sp.Owned() {
			t.Errorf("the buffer kept %d bytes after a large statement", len(sp.buf))
		}
	}
	if len(kept) != 2 || string(kept[0]) != big || string(kept[1]) != big {
		t.Errorf("the statements handed over changed")
	}
	if grew != 0 {
		t.Errorf("Grew called %d times for buffers under 16 MiB", grew)
	}
}

// With Keep, every statement is handed over: each stays as it was while
// the splitter reads on, through buffers of every size, and the
// statements are the ones it cuts without Keep.
func TestSplitKeep(t *testing.T) {
	var sb strings.Builder
	for i := range 300 {
		fmt.Fprintf(&sb, "INSERT INTO t VALUES (%d,'%s');\n-- c\nSELECT %d;\n", i, strings.Repeat("v", i*37%2000), i)
	}
	sb.WriteString("INSERT INTO t VALUES ('" + strings.Repeat("x", 3<<20) + "');\nSELECT 'end'")
	in := sb.String()
	want, _, err := splitAll(strings.NewReader(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{4, 1000, splitMinBuf} {
		sp := newSplitterSize(iotest.HalfReader(strings.NewReader(in)), size)
		sp.Keep = true
		var kept [][]byte
		for {
			stmt, err := sp.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if !sp.Owned() {
				t.Fatalf("size %d: statement %d not handed over", size, len(kept))
			}
			kept = append(kept, stmt)
		}
		if len(kept) != len(want) {
			t.Fatalf("size %d: %d statements, want %d", size, len(kept), len(want))
		}
		for i, stmt := range kept {
			if string(stmt) != want[i] {
				t.Fatalf("size %d: statement %d changed after it was returned: %.60q, want %.60q", size, i, stmt, want[i])
			}
		}
	}
}

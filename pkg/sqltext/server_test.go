package sqltext

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// byteClass is how a byte outside quotes is read: part of a name, a
// blank, and whether "--" followed by it starts a comment.
type byteClass struct{ name, blank, comment bool }

func (c byteClass) String() string {
	return fmt.Sprintf("name %v, blank %v, comment after -- %v", c.name, c.blank, c.comment)
}

// serverClass asks the server, in the session's character set, how it
// reads the character b outside quotes.
func serverClass(ctx context.Context, t *testing.T, conn *sql.Conn, b []byte) byteClass {
	t.Helper()
	one := func(q string) (string, int) {
		var s string
		err := conn.QueryRowContext(ctx, q).Scan(&s)
		if err != nil && !mariadb.IsServerError(err) {
			t.Fatalf("%q: %v", q, err)
		}
		return s, mariadb.Code(err)
	}
	c := string(b)
	var cl byteClass
	// A name byte makes one name of "a?b"; the server may then find the
	// name badly formed in its character set (1300), which is after it
	// read it as one.
	if _, code := one("SELECT 1 AS a" + c + "b"); code == 0 || code == 1300 {
		cl.name = true
	}
	v, _ := one("SELECT 1" + c + "*5")
	cl.blank = v == "5"
	v, _ = one("SELECT 1 --" + c + "\n*5")
	cl.comment = v == "5"
	return cl
}

// TestServerReadsBytes checks, for every client character set the gate
// lets a dump set and every byte, that the gate reads the byte outside
// quotes the way the server does, or refuses it: this is what lets the
// gate read a dump as the server will.
func TestServerReadsBytes(t *testing.T) {
	srv := testdb.Get(t)
	db, err := srv.Root("").OpenDB(nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var sets []string
	for cs := range clientCharsets {
		sets = append(sets, cs)
	}
	slices.Sort(sets)
	for _, cs := range sets {
		if _, err := conn.ExecContext(ctx, "SET NAMES "+cs); err != nil {
			t.Errorf("SET NAMES %s: %v", cs, err)
			continue
		}
		var wrong []string
		for i := 1; i < 256; i++ {
			b := byte(i)
			if strings.IndexByte("#'\"`\\;.", b) >= 0 {
				continue // their meaning is fixed in every character set
			}
			lx := &lexer{cs: cs}
			if _, refused := lx.highByte([]byte{b}, 0); refused {
				continue // refused outside quotes
			}
			gate := byteClass{name: isWordByte(b), blank: isSpace(b), comment: isCommentDash(b)}
			got := serverClass(ctx, t, conn, []byte{b})
			if b == 0x7f && !nameBytes[cs] {
				got.comment = gate.comment // the gate refuses "--\x7f" there
			}
			if got != gate {
				wrong = append(wrong, fmt.Sprintf("0x%02X: server %v; gate %v", b, got, gate))
			}
		}
		// Characters of several bytes the gate reads as part of a name.
		for _, c := range []string{"\u00a0", "\u00e4", "\u2028", "\u3000", "\uffff", "\U0001F600"} {
			lx := &lexer{cs: cs}
			if _, refused := lx.highByte([]byte(c), 0); refused {
				continue
			}
			if got, want := serverClass(ctx, t, conn, []byte(c)), (byteClass{name: true}); got != want {
				wrong = append(wrong, fmt.Sprintf("%q: server %v; gate %v", c, got, want))
			}
		}
		if len(wrong) > 0 {
			t.Errorf("in %s the gate reads %d bytes differently from the server:\n%s", cs, len(wrong), strings.Join(wrong, "\n"))
		}
	}
}

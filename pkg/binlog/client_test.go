package binlog

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// Statements the gate lets run, with quotes, comments, control bytes and
// semicolons where the client and the server could disagree, read the
// same through each family's command-line client as the binary log tool
// feeds it (its delimiter "/*!*/;" after each) and over the Go driver one
// by one: the same rows, and no statement the gate did not see (none
// writes to marker).
func TestClientReadsWhatTheGateRuns(t *testing.T) {
	corpus := []string{
		"INSERT INTO t VALUES (1, 'a\nb;c')",
		"INSERT INTO t VALUES (2, '\x01\x02--\x01\x7f')",
		"INSERT INTO t VALUES (3, 'it''s \\' ; INSERT INTO marker VALUES (3) -- ')",
		"INSERT INTO t VALUES (4, \"dq \\\" ; x\") # ' ; INSERT INTO marker VALUES (4)\n",
		"INSERT INTO t VALUES (5, 'x') -- ' ; INSERT INTO marker VALUES (5)\n",
		"INSERT INTO t VALUES (6, 'x') /* ' ; INSERT INTO marker VALUES (6) */",
		"INSERT INTO t (`n`, `v`) VALUES (7, 'x')",
		"INSERT INTO t VALUES (8, '\\\\')",
		"INSERT INTO t VALUES (9, 'x');",
		"INSERT INTO t VALUES (10, 'a\r\nb')",
		"INSERT INTO t VALUES (11, _binary'\x00\xff\x80\\0')",
		"INSERT INTO t VALUES (12, 'x\n the word delimiter, not at a line start')",
		"INSERT INTO t VALUES (13, 'x')\t--\t' ; INSERT INTO marker VALUES (13)",
		"INSERT INTO t VALUES (14, 'x') #",
		"INSERT INTO t VALUES (15, 'caf\xc3\xa9 \xe2\x80\x94 \\' ;')",
	}
	g := statementGate{own: "app", foreign: func(string) bool { return false }}
	var input bytes.Buffer
	input.WriteString("DELIMITER /*!*/;\n")
	for _, s := range corpus {
		if j := g.judge(Query{DB: "app", Text: []byte(s)}, 0); j.act != run {
			t.Fatalf("the gate does not run %q: %s", s, j.reason)
		}
		input.WriteString(s + "\n/*!*/;\n")
	}
	for _, product := range []string{testdb.MainProduct(), testdb.MySQL97} {
		t.Run(product, func(t *testing.T) {
			srv := testdb.For(t, product)
			client := testdb.Tool(t, product, "mariadb", "mysql")
			db := srv.NewDatabase(t, "clientread")
			srv.Exec(t, db, "CREATE TABLE t (n INT, v BLOB); CREATE TABLE marker (n INT); CREATE TABLE t2 LIKE t")
			args := []string{"--no-defaults", "--socket=" + srv.Socket, "-uroot", "--binary-mode", "--local-infile=0"}
			if filepath.Base(client) == "mariadb" {
				args = append(args, "--skip-ssl")
			}
			cmd := exec.Command(client, append(args, db)...)
			cmd.Stdin = bytes.NewReader(input.Bytes())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v: %s", client, err, out)
			}
			conn, err := srv.Root(db).OpenDB(nil, true)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			for _, s := range corpus {
				if _, err := conn.Exec(strings.Replace(s, "INTO t ", "INTO t2 ", 1)); err != nil {
					t.Fatalf("%q over the driver: %v", s, err)
				}
			}
			q := "SELECT n, HEX(v) FROM %s ORDER BY n"
			got, want := srv.Exec(t, db, strings.Replace(q, "%s", "t", 1)), srv.Exec(t, db, strings.Replace(q, "%s", "t2", 1))
			if got != want || strings.Count(want, "\n") != len(corpus) {
				t.Errorf("through the client:\n%s\nover the driver:\n%s", got, want)
			}
			if m := srv.Exec(t, db, "SELECT COUNT(*) FROM marker"); strings.TrimSpace(m) != "0" {
				t.Errorf("the client ran statements the gate did not see: %s rows in marker", m)
			}
		})
	}
}

package loader

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/sqltext"
)

// fakeClient writes a shell script that stands in for the mariadb client.
func fakeClient(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mariadb")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeConn is a user with a password on the test server: the loader asks
// the server its version and databases before it starts the client.
func fakeConn(t *testing.T) mariadb.Conn {
	t.Helper()
	srv := testdb.Get(t)
	db := srv.NewDatabase(t, "app_restore")
	const pw = "s3cret pw"
	return mariadb.Conn{Socket: srv.Socket, User: srv.NewUser(t, db, pw), Password: pw, Database: db}
}

// someRows is a valid dump of a few statements.
const someRows = "INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\n"

func TestClientLoaderArgumentsAndOptionFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "seen")
	// The script records its arguments, the option file's mode and
	// content, and what it read.
	prog := fakeClient(t, `cnf=${1#--defaults-extra-file=}
{ echo "args: $*"; stat -L -c 'mode: %a' "$cnf"; cat "$cnf"; echo "stdin:"; cat; } > `+out)
	conn := fakeConn(t)
	err := Client{Program: prog}.Load(context.Background(), strings.NewReader("-- Host: h    Database: prod\nSELECT SETVAL(prod.s, 1, 0);\nLOCK TABLES t WRITE;\nINSERT INTO t VALUES ('a;b');\n"), conn)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	seen := string(b)
	args, _, _ := strings.Cut(seen, "\n")
	for _, want := range []string{"--defaults-extra-file=", "--binary-mode", "--local-infile=0", "--comments", "--default-character-set=utf8mb4", "-- " + conn.Database} {
		if !strings.Contains(args, want) {
			t.Errorf("arguments %q lack %q", args, want)
		}
	}
	if strings.Contains(args, "s3cret") {
		t.Errorf("the password is on the command line: %q", args)
	}
	// The client gets the statements the gate let through, the dump's own
	// database taken out of names, each with a delimiter it does not hold.
	for _, want := range []string{"mode: 600", `password="s3cret pw"`, "stdin:\nSELECT SETVAL(s, 1, 0)\n;\nDELIMITER ;;\nINSERT INTO t VALUES ('a;b')\n;;\n"} {
		if !strings.Contains(seen, want) {
			t.Errorf("client saw %q, want it to contain %q", seen, want)
		}
	}
}

func TestClientLoaderFailures(t *testing.T) {
	ctx := context.Background()
	conn := fakeConn(t)
	t.Run("server error", func(t *testing.T) {
		prog := fakeClient(t, `cat >/dev/null; echo "--------------" >&2; echo "INSERT INTO t VALUES ('row data')" >&2; echo "ERROR 1064 (42000) at line 3: You have an error" >&2; exit 1`)
		err := Client{Program: prog}.Load(ctx, strings.NewReader(someRows), conn)
		var ce *mariadb.ToolError
		if !errors.As(err, &ce) || ce.Code != 1064 || ce.Unreachable() {
			t.Fatalf("err = %#v, want a ClientError with code 1064", err)
		}
		if strings.Contains(ce.Error(), "row data") || !strings.Contains(ce.Error(), "ERROR 1064 (42000) at line 3") {
			t.Errorf("error %q should carry the ERROR line and not the echoed statement", ce)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		prog := fakeClient(t, `echo "ERROR 2002 (HY000): Can't connect to local server through socket" >&2; exit 1`)
		err := Client{Program: prog}.Load(ctx, strings.NewReader(someRows), conn)
		var ce *mariadb.ToolError
		if !errors.As(err, &ce) || ce.Code != 2002 || !ce.Unreachable() {
			t.Fatalf("err = %v, want an unreachable ClientError", err)
		}
	})
	t.Run("killed", func(t *testing.T) {
		prog := fakeClient(t, `cat >/dev/null; kill -9 $$`)
		err := Client{Program: prog}.Load(ctx, strings.NewReader(someRows), conn)
		var ce *mariadb.ToolError
		if !errors.As(err, &ce) || !strings.Contains(ce.State, "killed") {
			t.Fatalf("err = %v, want a killed client", err)
		}
	})
	t.Run("source fails", func(t *testing.T) {
		// The client would exit 0 at the end of its input; a failing
		// source must still fail the load.
		prog := fakeClient(t, `cat >/dev/null`)
		boom := errors.New("decompress: corrupt input")
		r := io.MultiReader(strings.NewReader(strings.Repeat(someRows, 1<<14)), iotest.ErrReader(boom))
		err := Client{Program: prog}.Load(ctx, r, conn)
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want the source's error", err)
		}
	})
	t.Run("stops reading", func(t *testing.T) {
		prog := fakeClient(t, `exec 0<&-; sleep 0.2; exit 0`)
		err := Client{Program: prog}.Load(ctx, strings.NewReader(strings.Repeat(someRows, 1<<16)), conn)
		if err == nil || !strings.Contains(err.Error(), "stopped reading") {
			t.Fatalf("err = %v, want a client that stopped reading", err)
		}
	})
	t.Run("no database", func(t *testing.T) {
		c := conn
		c.Database = ""
		if err := (Client{Program: "/bin/true"}).Load(ctx, strings.NewReader(""), c); err == nil {
			t.Fatal("load without a database succeeded")
		}
	})
}

// A statement the gate refuses stops the load; the client never gets it.
func TestClientLoaderRefuses(t *testing.T) {
	out := filepath.Join(t.TempDir(), "seen")
	prog := fakeClient(t, `cat > `+out)
	dump := someRows + "DROP DATABASE other;\n" + someRows
	err := Client{Program: prog}.Load(context.Background(), strings.NewReader(dump), fakeConn(t))
	var re *sqltext.RefusedError
	if !errors.As(err, &re) || re.Line != 3 || re.Kind != "DROP DATABASE" {
		t.Fatalf("err = %v, want the DROP DATABASE at line 3 refused", err)
	}
	if b, _ := os.ReadFile(out); strings.Contains(string(b), "DROP") {
		t.Errorf("the client got the refused statement: %q", b)
	}
}

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

var fakeConn = mariadb.Conn{Socket: "/nonexistent.sock", User: "app", Password: "s3cret pw", Database: "app_restore"}

func TestClientLoaderArgumentsAndOptionFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "seen")
	// The script records its arguments, the option file's mode and
	// content, and what it read.
	prog := fakeClient(t, `cnf=${1#--defaults-extra-file=}
{ echo "args: $*"; stat -L -c 'mode: %a' "$cnf"; cat "$cnf"; echo "stdin:"; cat; } > `+out)
	err := Client{Program: prog}.Load(context.Background(), strings.NewReader("SELECT 1;\n"), fakeConn)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	seen := string(b)
	args, _, _ := strings.Cut(seen, "\n")
	for _, want := range []string{"--defaults-extra-file=", "--binary-mode", "--default-character-set=utf8mb4", "-- app_restore"} {
		if !strings.Contains(args, want) {
			t.Errorf("arguments %q lack %q", args, want)
		}
	}
	if strings.Contains(args, "s3cret") {
		t.Errorf("the password is on the command line: %q", args)
	}
	for _, want := range []string{"mode: 600", `password="s3cret pw"`, "stdin:\nSELECT 1;\n"} {
		if !strings.Contains(seen, want) {
			t.Errorf("client saw %q, want it to contain %q", seen, want)
		}
	}
}

func TestClientLoaderFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("server error", func(t *testing.T) {
		prog := fakeClient(t, `cat >/dev/null; echo "--------------" >&2; echo "INSERT INTO t VALUES ('row data')" >&2; echo "ERROR 1064 (42000) at line 3: You have an error" >&2; exit 1`)
		err := Client{Program: prog}.Load(ctx, strings.NewReader("x"), fakeConn)
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
		err := Client{Program: prog}.Load(ctx, strings.NewReader("x"), fakeConn)
		var ce *mariadb.ToolError
		if !errors.As(err, &ce) || ce.Code != 2002 || !ce.Unreachable() {
			t.Fatalf("err = %v, want an unreachable ClientError", err)
		}
	})
	t.Run("killed", func(t *testing.T) {
		prog := fakeClient(t, `cat >/dev/null; kill -9 $$`)
		err := Client{Program: prog}.Load(ctx, strings.NewReader("x"), fakeConn)
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
		r := io.MultiReader(strings.NewReader(strings.Repeat("x", 1<<20)), iotest.ErrReader(boom))
		err := Client{Program: prog}.Load(ctx, r, fakeConn)
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want the source's error", err)
		}
	})
	t.Run("stops reading", func(t *testing.T) {
		prog := fakeClient(t, `exec 0<&-; sleep 0.2; exit 0`)
		err := Client{Program: prog}.Load(ctx, strings.NewReader(strings.Repeat("x", 4<<20)), fakeConn)
		if err == nil || !strings.Contains(err.Error(), "stopped reading") {
			t.Fatalf("err = %v, want a client that stopped reading", err)
		}
	})
	t.Run("no database", func(t *testing.T) {
		c := fakeConn
		c.Database = ""
		if err := (Client{Program: "/bin/true"}).Load(ctx, strings.NewReader(""), c); err == nil {
			t.Fatal("load without a database succeeded")
		}
	})
}

package dump

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// serverConn reaches the test server as root, for the dump's own questions
// to the server; a fake tool ignores it.
func serverConn(t testing.TB) mariadb.Conn {
	t.Helper()
	c := testdb.Get(t).Root("")
	c.Database = "app"
	return c
}

// fakeTool writes an executable shell script standing in for mariadb-dump.
func fakeTool(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fake-dump")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodDump = `echo "-- MariaDB dump"
echo "CREATE TABLE t (id int);"
echo "INSERT INTO t VALUES (1);"
echo "-- Dump completed on 2026-11-26  4:00:00"
`

func decompress(t *testing.T, b []byte) string {
	t.Helper()
	d, err := zstd.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	out, err := io.ReadAll(d)
	if err != nil {
		t.Fatalf("decompress: %v", err)
	}
	return string(out)
}

func TestDumpGood(t *testing.T) {
	d := &Dumper{Program: fakeTool(t, goodDump), Conn: serverConn(t)}
	var buf bytes.Buffer
	var c Counters
	res, err := d.Dump(context.Background(), &buf, &c)
	if err != nil {
		t.Fatal(err)
	}
	sql := decompress(t, buf.Bytes())
	if !strings.Contains(sql, "INSERT INTO t VALUES (1);") {
		t.Errorf("dump text lost: %q", sql)
	}
	if got, want := res.RawBytes, int64(len(sql)); got != want {
		t.Errorf("RawBytes = %d, want %d", got, want)
	}
	if got, want := res.StoredBytes, int64(buf.Len()); got != want {
		t.Errorf("StoredBytes = %d, want %d", got, want)
	}
	if c.Raw.Load() != res.RawBytes || c.Stored.Load() != res.StoredBytes {
		t.Errorf("counters %d/%d disagree with result %+v", c.Raw.Load(), c.Stored.Load(), res)
	}
	chk, err := Check(bytes.NewReader(buf.Bytes()), nil)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if chk.SHA256 != res.SHA256 || chk.RawBytes != res.RawBytes || chk.Compression != CompressionZstd {
		t.Errorf("Check = %+v, dump result %+v", chk, res)
	}
}

func TestDumpFailures(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string // in the error message
	}{
		{"half dump then exit 2", `echo "CREATE TABLE t (id int);"; echo "mariadb-dump: Error 2013: Lost connection" >&2; exit 2`, "exit status 2"},
		{"killed by a signal", `echo "CREATE TABLE t (id int);"; kill -9 $$`, "signal: killed"},
		{"exit 0 without trailer", `echo "CREATE TABLE t (id int);"; echo "INSERT INTO t VALUES (1);"`, "does not end with"},
		{"trailer not last", `echo "-- Dump completed on 2026-11-26"; echo "INSERT INTO t VALUES (1);"`, "does not end with"},
		{"empty output", `exit 0`, "does not end with"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Dumper{Program: fakeTool(t, tt.body), Conn: serverConn(t)}
			_, err := d.Dump(context.Background(), io.Discard, nil)
			if err == nil {
				t.Fatal("Dump succeeded, want error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestDumpErrorCarriesStderr(t *testing.T) {
	body := `i=0; while [ $i -lt 20 ]; do echo "noise $i" >&2; i=$((i+1)); done
echo "mariadb-dump: Got error: 1045: Access denied for user 'u'@'localhost'" >&2; exit 2`
	d := &Dumper{Program: fakeTool(t, body), Conn: serverConn(t)}
	_, err := d.Dump(context.Background(), io.Discard, nil)
	var te *mariadb.ToolError
	if !errors.As(err, &te) {
		t.Fatalf("error %v is not a ToolError", err)
	}
	if !strings.Contains(te.Stderr, "Access denied") || strings.Contains(te.Stderr, "noise 10") || te.Code != 1045 {
		t.Errorf("ToolError should hold only the error line and its code: %+v", te)
	}
}

func TestDumpCancelKillsProgram(t *testing.T) {
	d := &Dumper{Program: fakeTool(t, `echo "CREATE TABLE t (id int);"; exec sleep 60`), Conn: serverConn(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := d.Dump(ctx, io.Discard, nil); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "cancelled") {
			t.Errorf("err = %v, want a cancellation", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Dump did not return after cancellation")
	}
}

func TestDumpWriterFailureStopsProgram(t *testing.T) {
	// A program that would write forever: the failing writer must stop it.
	d := &Dumper{Program: fakeTool(t, `exec od -An -x /dev/urandom`), Conn: serverConn(t)}
	boom := errors.New("upload failed")
	done := make(chan error, 1)
	go func() { _, err := d.Dump(context.Background(), failAfter{n: 1 << 20, err: boom}, nil); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want %v", err, boom)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Dump did not stop the program after the writer failed")
	}
}

type failAfter struct {
	n   int
	err error
}

func (f failAfter) Write(p []byte) (int, error) { return 0, f.err }

func TestHasTrailer(t *testing.T) {
	tests := map[string]bool{
		"x;\n-- Dump completed on 2026-11-26  4:00:00\n": true,
		"-- Dump completed\n\n":                          true,
		"-- Dump completed on 2026\nINSERT 1;\n":         false,
		"":                                               false,
		"x; -- Dump completed\n":                         false,
	}
	for in, want := range tests {
		if got := HasTrailer([]byte(in)); got != want {
			t.Errorf("HasTrailer(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestCheckGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	io.WriteString(zw, "CREATE TABLE t (id int);\n-- Dump completed on 2026-01-01  3:00:00\n")
	zw.Close()
	res, err := Check(bytes.NewReader(buf.Bytes()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Compression != CompressionGzip || !res.Trailer || res.StoredBytes != int64(buf.Len()) {
		t.Errorf("Check = %+v", res)
	}
	// A flipped byte in the deflate data is caught by the gzip CRC.
	bad := bytes.Clone(buf.Bytes())
	bad[len(bad)-12] ^= 0xff
	if _, err := Check(bytes.NewReader(bad), nil); err == nil {
		t.Error("corrupt gzip accepted")
	}
}

func TestNewReaderRejectsUnknown(t *testing.T) {
	if _, _, err := NewReader(strings.NewReader("CREATE TABLE t")); !errors.Is(err, ErrUnknownCompression) {
		t.Errorf("err = %v, want ErrUnknownCompression", err)
	}
	if _, _, err := NewReader(strings.NewReader("")); err == nil {
		t.Error("empty stream accepted")
	}
}

func TestDumpMaxAllowedPacket(t *testing.T) {
	tool := fakeTool(t, `echo "-- args: $*"`+"\n"+goodDump)
	tests := []struct {
		set  int64
		want string // argument, or error text
		ok   bool
	}{
		{0, "--max-allowed-packet=1073741824 ", true},
		{64 << 20, "--max-allowed-packet=67108864 ", true},
		{1 << 31, "out of range", false},
		{100, "out of range", false},
	}
	for _, tt := range tests {
		d := &Dumper{Program: tool, Conn: serverConn(t), MaxAllowedPacket: tt.set}
		var buf bytes.Buffer
		_, err := d.Dump(context.Background(), &buf, nil)
		switch {
		case tt.ok && err != nil:
			t.Errorf("MaxAllowedPacket %d: %v", tt.set, err)
		case tt.ok && !strings.Contains(decompress(t, buf.Bytes()), tt.want):
			t.Errorf("MaxAllowedPacket %d: tool's arguments lack %q: %s", tt.set, tt.want, decompress(t, buf.Bytes()))
		case !tt.ok && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("MaxAllowedPacket %d: error %v, want %q", tt.set, err, tt.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1G", 1 << 30, true},
		{"64M", 64 << 20, true},
		{"16k", 16 << 10, true},
		{"4096", 4096, true},
		{" 1g ", 1 << 30, true},
		{"", 0, false},
		{"G", 0, false},
		{"-1M", 0, false},
		{"1.5G", 0, false},
		{"1T", 0, false},
		{"99999999999999999G", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// A server that cannot be reached is met once, by the dump's own question
// to it: the tool never runs, and one error names the server.
func TestDumpUnreachableServerOneAttempt(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ran := filepath.Join(t.TempDir(), "ran")
	tool := fakeTool(t, `if [ "$1" = --version ]; then echo 'mariadb-dump from 11.8.9-MariaDB, client 10.20'; exit 0; fi
touch `+ran+"\n"+goodDump)
	d := &Dumper{Program: tool, Conn: mariadb.Conn{Host: "127.0.0.1", Port: port, User: "u", Database: "app"}}
	_, err = d.Dump(context.Background(), io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "connection refused") || strings.Count(err.Error(), "refused") != 1 {
		t.Errorf("err = %v, want one connection refused", err)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("the dump tool ran against a server that could not be reached")
	}
}

// A server that takes the connection and never answers is met once too,
// and the error says it did not answer in time.
func TestDumpSilentServerOneAttempt(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	defer func(old time.Duration) { pairTimeout = old }(pairTimeout)
	pairTimeout = 500 * time.Millisecond
	ran := filepath.Join(t.TempDir(), "ran")
	tool := fakeTool(t, `if [ "$1" = --version ]; then echo 'mariadb-dump from 11.8.9-MariaDB, client 10.20'; exit 0; fi
touch `+ran+"\n"+goodDump)
	d := &Dumper{Program: tool, Conn: mariadb.Conn{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, User: "u", Database: "app"}}
	_, err = d.Dump(context.Background(), io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "did not answer within 500ms") {
		t.Errorf("err = %v, want one saying the server did not answer within 500ms", err)
	}
	if n := len(accepted); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("the dump tool ran against a server that did not answer")
	}
}

// The dump tool writes through stdio: into a pipe, a write every 4 KiB
// (the pipe's block size), and as many wake-ups of the reader. It runs
// with its standard output buffered in PipeSize blocks, as stdbuf -o
// sets it: coreutils' libstdbuf is in the tool's process, told the size.
func TestDumpToolStdoutBuffered(t *testing.T) {
	tool := fakeTool(t, `echo "-- stdbuf: $_STDBUF_O"
grep -q /libstdbuf.so /proc/$$/maps && echo "-- libstdbuf mapped"
`+goodDump)
	d := &Dumper{Program: tool, Conn: serverConn(t)}
	var buf bytes.Buffer
	if _, err := d.Dump(context.Background(), &buf, nil); err != nil {
		t.Fatal(err)
	}
	sql := decompress(t, buf.Bytes())
	for _, want := range []string{"-- stdbuf: 1048576\n", "-- libstdbuf mapped\n"} {
		if !strings.Contains(sql, want) {
			t.Errorf("the tool's output lacks %q:\n%s", want, sql)
		}
	}
}

// A dump tool that does not start with libstdbuf preloaded (its C library
// is not the one the installed libstdbuf was built for: the loader refuses
// to start it) is run without it, unbuffered, and the backup is taken.
func TestDumpToolThatRefusesThePreload(t *testing.T) {
	tool := fakeTool(t, `if [ -n "$LD_PRELOAD" ]; then echo "$LD_PRELOAD: version GLIBC_2.99 not found" >&2; exit 127; fi
echo "-- stdbuf: $_STDBUF_O"
`+goodDump)
	d := &Dumper{Program: tool, Conn: serverConn(t)}
	var buf bytes.Buffer
	if _, err := d.Dump(context.Background(), &buf, nil); err != nil {
		t.Fatal(err)
	}
	if sql := decompress(t, buf.Bytes()); !strings.Contains(sql, "-- stdbuf: \n") || !strings.Contains(sql, "INSERT INTO t VALUES (1);") {
		t.Errorf("the tool's output:\n%s", sql)
	}
}

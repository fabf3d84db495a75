package dump_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"

	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/dump"
)

// pipeSizeTool is the argument that makes this test binary stand in for
// the dump tool and report the size of the pipe it writes to (see
// TestMain).
const pipeSizeTool = "dump-tool-reporting-its-pipe"

// reportPipeSize writes a complete dump whose text names the capacity of
// standard output's pipe.
func reportPipeSize() int {
	n, err := unix.FcntlInt(uintptr(1), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "F_GETPIPE_SZ:", err)
		return 2
	}
	fmt.Printf("-- MariaDB dump\n-- stdout pipe holds %d bytes\n-- Dump completed on 2026-11-26  4:00:00\n", n)
	return 0
}

// tool writes a shell script standing in for mariadb-dump.
func tool(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fake-dump")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func dumpWith(t *testing.T, program string) []byte {
	t.Helper()
	c := testdb.Get(t).Root("")
	c.Database = "app"
	d := &dump.Dumper{Program: program, Conn: c}
	var buf bytes.Buffer
	if _, err := d.Dump(context.Background(), &buf, nil); err != nil {
		t.Fatalf("dump: %v", err)
	}
	return buf.Bytes()
}

// TestDumpPipeSize: the dump tool writes into a pipe of PipeSize bytes, not
// the kernel's default 64 KiB, so that it can run ahead of the encoder and
// both sides wake less often.
func TestDumpPipeSize(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	stored := dumpWith(t, tool(t, fmt.Sprintf("[ \"$1\" = --version ] && exit 1\nexec '%s' %s\n", exe, pipeSizeTool)))
	d, err := zstd.NewReader(bytes.NewReader(stored))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	text, err := io.ReadAll(d)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`stdout pipe holds (\d+) bytes`).FindSubmatch(text)
	if m == nil {
		t.Fatalf("the tool did not report its pipe: %q", text)
	}
	if n, _ := strconv.Atoi(string(m[1])); n < dump.PipeSize {
		t.Errorf("the dump tool's stdout pipe holds %d bytes, want %d", n, dump.PipeSize)
	}
}

// TestDumpWindow: the stored stream asks its decoder for no more than
// WindowSize bytes of history (zstd -3's own window), so that a restore
// on a small machine needs little memory for it.
func TestDumpWindow(t *testing.T) {
	// 4 MiB of SQL, more than the window.
	stored := dumpWith(t, tool(t, `echo "-- MariaDB dump"
yes "INSERT INTO t VALUES (1,'some text that repeats');" | head -c 4194304
echo
echo "-- Dump completed on 2026-11-26  4:00:00"
`))
	var h zstd.Header
	if err := h.Decode(stored); err != nil {
		t.Fatalf("frame header: %v", err)
	}
	if h.WindowSize == 0 || h.WindowSize > dump.WindowSize {
		t.Errorf("frame window %d bytes, want at most %d", h.WindowSize, dump.WindowSize)
	}
}

// A stream of bytes hashed before (a spooled copy) reports the sum it was
// given and reads the same SQL; any other hashes what it reads.
func TestStreamHashed(t *testing.T) {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	sql := "CREATE TABLE t (id int);\n-- Dump completed on 2026-12-08  3:00:00\n"
	stored := enc.EncodeAll([]byte(sql), nil)
	for _, c := range []struct {
		opts []dump.StreamOption
		want string
	}{
		{nil, fmt.Sprintf("%x", sha256.Sum256(stored))},
		{[]dump.StreamOption{dump.Hashed("given")}, "given"},
	} {
		s, err := dump.NewStream(bytes.NewReader(stored), nil, nil, c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(s)
		if err != nil || string(got) != sql {
			t.Fatalf("read %q, %v", got, err)
		}
		res := s.Finish()
		if res.SHA256 != c.want || res.StoredBytes != int64(len(stored)) || !res.Trailer {
			t.Errorf("%d options: %+v, want sha256 %s and %d stored bytes", len(c.opts), res, c.want, len(stored))
		}
	}
}

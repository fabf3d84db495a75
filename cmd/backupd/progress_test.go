package main

import (
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/catalog"
)

func TestDumpProgress(t *testing.T) {
	for _, tc := range []struct {
		raw, stored, estimate int64
		elapsed               time.Duration
		want                  string
	}{
		{50 << 20, 10 << 20, 0, 10 * time.Second,
			"dumping: 50 MiB of SQL, 10 MiB stored, 10s, 5 MiB/s of SQL"},
		{50 << 20, 10 << 20, 200 << 20, 10 * time.Second,
			"dumping: 50 MiB of SQL of about 200 MiB (25%, as large as the last backup), 10 MiB stored, 10s, 5 MiB/s of SQL, ETA 30s"},
		{250 << 20, 50 << 20, 200 << 20, 50 * time.Second,
			"dumping: 250 MiB of SQL, past the 200 MiB expected (as large as the last backup), 50 MiB stored, 50s, 5 MiB/s of SQL"},
	} {
		if got := dumpProgress(tc.raw, tc.stored, tc.elapsed, tc.estimate, "as large as the last backup"); got != tc.want {
			t.Errorf("dumpProgress = %q\nwant          %q", got, tc.want)
		}
	}
}

func TestNewestRawSize(t *testing.T) {
	l := catalog.Listing{Backups: []catalog.Backup{{Name: "a", RawSize: 10}, {Name: "b", RawSize: 42}}}
	if n, ok := newestRawSize(l); !ok || n != 42 {
		t.Errorf("newestRawSize = %d, %v; want 42 from the newest", n, ok)
	}
	l.Backups[1].RawSize = -1
	if _, ok := newestRawSize(l); ok {
		t.Error("an unrecorded size gave an estimate")
	}
}

// Until the dump tool writes, the progress says the run is waiting for
// the database and asks the server nothing of its own: a server that does
// not answer is met once, by the backup.
func TestNowProgressAsksNothingBeforeTheDump(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			// Silent, then gone: the driver's handshake fails after a while.
			time.AfterFunc(2*time.Second, func() { c.Close() })
		}
	}()
	defer func(old time.Duration) { cli.ProgressLogEvery = old }(cli.ProgressLogEvery)
	cli.ProgressLogEvery = 50 * time.Millisecond
	env := map[string]string{"DB_HOST": "127.0.0.1", "DB_PORT": fmt.Sprint(ln.Addr().(*net.TCPAddr).Port), "DB_DATABASE": "app", "DB_USERNAME": "u", "DB_PASSWORD": "x"}
	code, _, errOut := runApp(t, env, "now", "--remote", t.TempDir())
	if code != cli.ExitFailure {
		t.Errorf("exit %d, want %d", code, cli.ExitFailure)
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("the server was asked %d times, want once", n)
	}
	if strings.Contains(errOut, "dumping: 0 B") || !strings.Contains(errOut, "waiting for the database") {
		t.Errorf("progress while connecting:\n%s", errOut)
	}
}

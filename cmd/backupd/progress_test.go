package main

import (
	"testing"
	"time"

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

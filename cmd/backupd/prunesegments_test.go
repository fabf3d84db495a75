package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/binlog"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/storage"
)

// put stores data under name with its checksum and extra metadata.
func put(t *testing.T, st *storage.Store, name string, data []byte, extra map[string]string) {
	t.Helper()
	sum := sha256.Sum256(data)
	meta := catalog.Meta(hex.EncodeToString(sum[:]), int64(len(data)))
	for k, v := range extra {
		meta[k] = v
	}
	if _, err := st.Put(context.Background(), name, bytes.NewReader(data), func() (map[string]string, error) { return meta, nil }); err != nil {
		t.Fatal(err)
	}
}

// serve's pass over the segments after the backups' retention deletes
// those that end at or before the oldest kept backup's coordinates, and
// never one after them, of a server with no kept backup's coordinates one
// newer than the oldest kept backup, or a file that is no segment.
func TestPruneSegments(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	backups, err := storage.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	segments, err := storage.Open(ctx, filepath.Join(dir, binlog.Folder), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := catalog.Codec{}
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	// The oldest kept backup stands at binlog.000002:500 of server s1.
	put(t, backups, c.Name(at(1), catalog.Zstd), []byte("a"), map[string]string{catalog.MetaBinlog: "binlog.000002:500",
		catalog.MetaBinlogServer: "s1", catalog.MetaBinlogAt: at(1).Format(catalog.BinlogAtLayout)})
	put(t, backups, c.Name(at(2), catalog.Zstd), []byte("b"), map[string]string{catalog.MetaBinlog: "binlog.000003:100",
		catalog.MetaBinlogServer: "s1", catalog.MetaBinlogAt: at(2).Format(catalog.BinlogAtLayout)})
	seg := func(server, file string, start, end uint64, rotated bool, last time.Time) string {
		name := binlog.Codec{}.Name(binlog.Segment{Server: server, Writer: 1, File: file, Start: start, End: end, Rotated: rotated, First: last, Last: last})
		put(t, segments, name, []byte(name), nil)
		return name
	}
	gone := []string{
		seg("s1", "binlog.000001", 4, 900, true, at(0)),
		seg("s1", "binlog.000002", 4, 500, false, at(1)),
		seg("other", "binlog.000009", 4, 100, false, at(0)),
	}
	kept := []string{
		seg("s1", "binlog.000002", 500, 800, false, at(1)),
		seg("s1", "binlog.000002", 300, 600, false, at(1)),
		seg("s1", "binlog.000003", 4, 100, false, at(2)),
		seg("other", "binlog.000010", 4, 100, false, at(2)),
	}
	put(t, segments, "notes.txt", []byte("x"), nil)

	n, err := pruneSegments(ctx, cli.Settings{}, backups, segments, slog.New(slog.DiscardHandler))
	if err != nil || n != len(gone) {
		t.Fatalf("pruneSegments = %d, %v; want %d deleted", n, err, len(gone))
	}
	entries, err := segments.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name)
	}
	want := append(append([]string(nil), kept...), "notes.txt")
	slices.Sort(left)
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("left\n%v\nwant\n%v", left, want)
	}
}

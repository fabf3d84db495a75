package backup

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/seal"
)

// coordDumper is a dump that recorded binary log coordinates.
type coordDumper struct {
	d *dump.Dumper
	c dump.Coordinates
}

func (c coordDumper) Dump(ctx context.Context, w io.Writer, cs *dump.Counters) (dump.Result, error) {
	res, err := c.d.Dump(ctx, w, cs)
	res.Binlog = c.c
	return res, err
}

// A backup's binary log coordinates are recorded with it and signed: a
// changed position no longer verifies.
func TestCoordinatesRecordedAndSigned(t *testing.T) {
	key, err := seal.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	store, _ := localStore(t, nil)
	at := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	coords := dump.Coordinates{Pos: "binlog.000012:4711", Server: "72e53b50-f287-11f1-8d2c-02fc00000001", At: at.Add(1500 * time.Millisecond)}
	job := Job{Dumper: coordDumper{&dump.Dumper{Program: fakeDump(t, sealDump), Conn: testdb.Get(t).Root("app")}, coords},
		Store: store, Time: at, Seal: Seal{SignKey: &key}}
	rep, err := job.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Binlog != coords {
		t.Errorf("report %+v", rep.Binlog)
	}
	entries := mustList(t, store)
	l := catalog.Codec{}.Scan(entries, at)
	if len(l.Backups) != 1 {
		t.Fatalf("listing %+v", l)
	}
	b := l.Backups[0]
	if b.Binlog != coords.Pos || b.BinlogServer != coords.Server || !b.BinlogAt.Equal(coords.At) || !b.Recoverable() {
		t.Errorf("recorded %q %q %v", b.Binlog, b.BinlogServer, b.BinlogAt)
	}
	keys := []seal.VerifyKey{key.Public()}
	if got := seal.Check(b, keys); got != seal.Valid {
		t.Fatalf("signature %v", got)
	}
	for _, change := range []func(*catalog.Backup){
		func(b *catalog.Backup) { b.Binlog = "binlog.000012:4712" },
		func(b *catalog.Backup) { b.BinlogServer = "id1" },
		func(b *catalog.Backup) { b.BinlogAt = b.BinlogAt.Add(-time.Hour) },
		func(b *catalog.Backup) { b.Binlog, b.BinlogServer, b.BinlogAt = "", "", time.Time{} },
	} {
		c := b
		change(&c)
		if got := seal.Check(c, keys); got != seal.Invalid {
			t.Errorf("changed coordinates %q %q %v: signature %v", c.Binlog, c.BinlogServer, c.BinlogAt, got)
		}
	}
}

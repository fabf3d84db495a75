package backup

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/seal"
	"github.com/backupd/backupd/pkg/storage"
)

// sealDump writes some 600 KiB of SQL text that compresses poorly, so
// that the envelope has several chunks, and the trailer.
const sealDump = `echo "CREATE TABLE t (v text);"
head -c 300000 /dev/urandom | od -An -x | sed "s/.*/INSERT INTO t VALUES ('&');/"
echo "-- Dump completed on 2026-11-26  4:00:00"
`

func TestSealedBackups(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	key, err := seal.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	keys := []seal.VerifyKey{key.Public()}
	stores := map[string]func(t *testing.T) *storage.Store{
		"local": func(t *testing.T) *storage.Store { s, _ := localStore(t, nil); return s },
		"memory": func(t *testing.T) *storage.Store {
			s, err := storage.Open(context.Background(), ":memory:"+t.Name(), nil)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
	seals := map[string]Seal{
		"encrypted and signed": {Recipients: []age.Recipient{id.Recipient()}, SignKey: &key},
		"encrypted":            {Recipients: []age.Recipient{id.Recipient()}},
		"signed":               {SignKey: &key},
		"plain":                {},
	}
	prog := fakeDump(t, sealDump)
	for sname, newStore := range stores {
		for kind, sl := range seals {
			t.Run(sname+"/"+kind, func(t *testing.T) {
				store := newStore(t)
				at := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
				job := Job{Dumper: &dump.Dumper{Program: prog, Conn: testdb.Get(t).Root("app")}, Store: store, Time: at, Seal: sl}
				rep, err := job.Run(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				encrypted := len(sl.Recipients) > 0
				if got, want := strings.HasSuffix(rep.Name, ".sql.zst.age"), encrypted; got != want {
					t.Errorf("name %s ends in .age: %v, want %v", rep.Name, got, want)
				}
				l := catalog.Codec{}.Scan(mustList(t, store), at)
				if len(l.Backups) != 1 {
					t.Fatalf("listing = %+v", l)
				}
				b := l.Backups[0]
				if b.Encrypted() != encrypted {
					t.Errorf("Encrypted = %v, want %v", b.Encrypted(), encrypted)
				}
				metadata := store.Fs().Features().UserMetadata
				wantSig := seal.Unsigned
				if sl.SignKey != nil && metadata {
					wantSig = seal.Valid
				}
				if got := seal.Check(b, keys); got != wantSig {
					t.Errorf("signature %v, want %v", got, wantSig)
				}
				if sl.SignKey != nil && !metadata {
					// A remote that keeps no metadata (rclone's memory
					// backend) cannot keep a signature either: a restore
					// that requires one refuses the backup.
					if err := seal.Problem(b, keys, true); err == nil {
						t.Error("a backup whose signature was lost passes as signed")
					}
				}
				if metadata && (b.SHA256 != rep.SHA256 || b.Size != rep.StoredBytes || b.RawSize != rep.RawBytes) {
					t.Errorf("recorded %+v, report %+v", b, rep)
				}

				rc, err := store.Open(context.Background(), b.Name)
				if err != nil {
					t.Fatal(err)
				}
				stored, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Fatal(err)
				}
				if got, want := seal.IsEncrypted(stored), encrypted; got != want {
					t.Errorf("stored bytes are an age file: %v, want %v", got, want)
				}
				if int64(len(stored)) != rep.StoredBytes {
					t.Errorf("stored %d bytes, reported %d", len(stored), rep.StoredBytes)
				}
				chk, err := dump.Check(bytes.NewReader(stored), nil, dump.WithIdentities([]age.Identity{id}), dump.Encrypted(b.Encrypted()))
				if err != nil {
					t.Fatal(err)
				}
				if p := chk.Problems(b); len(p) > 0 {
					t.Errorf("Problems = %v", p)
				}
				if chk.SHA256 != rep.SHA256 || chk.RawBytes != rep.RawBytes {
					t.Errorf("read sha256 %s, %d bytes of SQL; reported %s, %d", chk.SHA256, chk.RawBytes, rep.SHA256, rep.RawBytes)
				}
				if encrypted {
					if _, err := dump.Check(bytes.NewReader(stored), nil); err == nil {
						t.Error("an encrypted backup was read without an identity")
					}
				}
			})
		}
	}
}

// An encrypted backup whose dump fails publishes nothing, like a plain one.
func TestSealedFailurePublishesNothing(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	key, _ := seal.GenerateSigningKey()
	store, _ := localStore(t, nil)
	for i, body := range []string{
		`head -c 300000 /dev/urandom | od -An -x; echo "Error 2013" >&2; exit 1`,
		`head -c 300000 /dev/urandom | od -An -x`,
	} {
		job := Job{
			Dumper: &dump.Dumper{Program: fakeDump(t, body), Conn: testdb.Get(t).Root("app")},
			Store:  store,
			Time:   time.Date(2026, 11, 26, 3, i, 0, 0, time.UTC),
			Seal:   Seal{Recipients: []age.Recipient{id.Recipient()}, SignKey: &key},
		}
		if _, err := job.Run(context.Background()); err == nil {
			t.Fatalf("dump %d: backup succeeded, want failure", i)
		}
	}
	if got := listNames(t, store); !slices.Equal(got, nil) {
		t.Errorf("remote holds %v after failed backups, want nothing", got)
	}
}

// BenchmarkSealWriter writes the same zstd stream through the job's writer
// chain plain and sealed (age envelope, its sha256 and count), for the
// cost of encryption on the backup side:
//
//	go test -run XXX -bench SealWriter -benchtime 20x ./pkg/backup/
func BenchmarkSealWriter(b *testing.B) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	stream := make([]byte, 32<<20) // the compressed stream: random, as zstd output is
	for i := range stream {
		stream[i] = byte(i*2654435761>>13) ^ byte(i>>7)
	}
	for _, c := range []struct {
		name string
		seal Seal
	}{{"plain", Seal{}}, {"sealed", Seal{Recipients: []age.Recipient{id.Recipient()}}}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(stream)))
			for b.Loop() {
				w, finish, err := c.seal.writer(io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				for off := 0; off < len(stream); off += 256 << 10 {
					if _, err := w.Write(stream[off:min(off+256<<10, len(stream))]); err != nil {
						b.Fatal(err)
					}
				}
				var res dump.Result
				if err := finish(&res); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

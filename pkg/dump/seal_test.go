package dump

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/seal"
)

// sealedDump returns a zstd dump of sql inside an age envelope to id.
func sealedDump(t *testing.T, id *age.X25519Identity, sql string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := seal.Encrypt(&buf, []age.Recipient{id.Recipient()})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := zstd.NewWriter(w)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Write([]byte(sql)); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func bigSQL() string {
	var b strings.Builder
	b.WriteString("CREATE TABLE t (id int, v text);\n")
	rnd := rand.New(rand.NewPCG(1, 2))
	for b.Len() < 1200<<10 {
		fmt.Fprintf(&b, "INSERT INTO t VALUES (1, '%x%x');\n", rnd.Uint64(), rnd.Uint64())
	}
	b.WriteString("-- Dump completed on 2026-11-26  4:00:00\n")
	return b.String()
}

func TestCheckEncrypted(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	sql := bigSQL()
	stored := sealedDump(t, id, sql)
	sum := sha256.Sum256(stored)
	b := catalog.Backup{Name: "db-backup-20260102-030000.sql.zst.age", Format: catalog.ZstdAge,
		Size: int64(len(stored)), RawSize: int64(len(sql)), SHA256: hex.EncodeToString(sum[:])}
	ids := WithIdentities([]age.Identity{id})

	t.Run("good", func(t *testing.T) {
		res, err := Check(bytes.NewReader(stored), nil, ids, Encrypted(true))
		if err != nil {
			t.Fatal(err)
		}
		if !res.Encrypted || res.Compression != CompressionZstd {
			t.Errorf("Encrypted, Compression = %v, %v; want true, zstd", res.Encrypted, res.Compression)
		}
		if p := res.Problems(b); len(p) > 0 {
			t.Errorf("Problems = %v", p)
		}
	})
	t.Run("no identity", func(t *testing.T) {
		_, err := Check(bytes.NewReader(stored), nil)
		if !errors.Is(err, seal.ErrNoIdentity) {
			t.Fatalf("err = %v, want ErrNoIdentity", err)
		}
	})
	t.Run("other identity", func(t *testing.T) {
		other, _ := age.GenerateX25519Identity()
		_, err := Check(bytes.NewReader(stored), nil, WithIdentities([]age.Identity{other}))
		if !errors.Is(err, seal.ErrNoIdentity) {
			t.Fatalf("err = %v, want ErrNoIdentity", err)
		}
	})
	t.Run("name says plain", func(t *testing.T) {
		if _, err := Check(bytes.NewReader(stored), nil, ids, Encrypted(false)); err == nil {
			t.Fatal("an age file under a plain name was read")
		}
	})
	t.Run("name says encrypted", func(t *testing.T) {
		var plain bytes.Buffer
		enc, _ := zstd.NewWriter(&plain)
		enc.Write([]byte(sql))
		enc.Close()
		if _, err := Check(bytes.NewReader(plain.Bytes()), nil, ids, Encrypted(true)); err == nil {
			t.Fatal("a plain zstd file under an .age name was read")
		}
	})
	if len(stored) < 3*64<<10 {
		t.Fatalf("the test dump is %d bytes stored; it needs several chunks", len(stored))
	}
	for _, at := range []int{len(stored) / 2, len(stored) - 20} {
		t.Run("flipped byte", func(t *testing.T) {
			bad := bytes.Clone(stored)
			bad[at] ^= 0x40
			res, err := Check(bytes.NewReader(bad), nil, ids)
			if err == nil || res.StreamErr == nil || !strings.Contains(res.StreamErr.Error(), "decrypt") {
				t.Fatalf("err = %v, StreamErr = %v; want a decrypt error", err, res.StreamErr)
			}
			if res.RawBytes >= int64(len(sql)) {
				t.Errorf("all %d bytes of SQL came out of a damaged envelope", res.RawBytes)
			}
			if p := res.Problems(b); len(p) == 0 {
				t.Error("Problems found nothing wrong")
			}
		})
	}
	t.Run("truncated at a chunk", func(t *testing.T) {
		// The header, the nonce and the first full chunk: a whole chunk
		// that is not marked last.
		hdr := bytes.Index(stored, []byte("\n--- "))
		hdr += bytes.IndexByte(stored[hdr+1:], '\n') + 2
		cut := stored[:hdr+16+64<<10+16]
		res, err := Check(bytes.NewReader(cut), nil, ids)
		if err == nil {
			t.Fatalf("a truncated envelope passed: %+v", res)
		}
	})
	t.Run("extended", func(t *testing.T) {
		long := append(bytes.Clone(stored), "-- more\n"...)
		if _, err := Check(bytes.NewReader(long), nil, ids); err == nil {
			t.Fatal("bytes after the last chunk went unnoticed")
		}
	})
}

// BenchmarkStream reads the same dump plain and in an age envelope, as a
// restore does (hash, decrypt, decompress), for the cost of the envelope:
//
//	go test -run XXX -bench Stream -benchtime 20x ./pkg/dump/
func BenchmarkStream(b *testing.B) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	var sql strings.Builder
	rnd := rand.New(rand.NewPCG(3, 4))
	for sql.Len() < 64<<20 {
		fmt.Fprintf(&sql, "INSERT INTO t VALUES (%d, 'user%d@example.com', '%x');\n", rnd.IntN(1e6), rnd.IntN(1e5), rnd.Uint32())
	}
	sql.WriteString("-- Dump completed on 2026-11-26  4:00:00\n")
	var plain bytes.Buffer
	enc, _ := zstd.NewWriter(&plain)
	enc.Write([]byte(sql.String()))
	enc.Close()
	var sealed bytes.Buffer
	w, _ := seal.Encrypt(&sealed, []age.Recipient{id.Recipient()})
	w.Write(plain.Bytes())
	w.Close()
	for _, c := range []struct {
		name string
		data []byte
	}{{"plain", plain.Bytes()}, {"sealed", sealed.Bytes()}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(sql.Len()))
			for b.Loop() {
				if _, err := Check(bytes.NewReader(c.data), nil, WithIdentities([]age.Identity{id})); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

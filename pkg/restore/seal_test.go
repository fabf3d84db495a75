package restore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/seal"
	"github.com/backupd/backupd/pkg/selector"
	"github.com/backupd/backupd/pkg/storage"
)

// keys are one production's keys, and an outsider's signing key.
type keys struct {
	id       *age.X25519Identity
	sign     seal.SigningKey
	outsider seal.SigningKey
}

func newKeys(t *testing.T) keys {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	var k keys
	k.id = id
	if k.sign, err = seal.GenerateSigningKey(); err != nil {
		t.Fatal(err)
	}
	if k.outsider, err = seal.GenerateSigningKey(); err != nil {
		t.Fatal(err)
	}
	return k
}

func (k keys) recipients() []age.Recipient { return []age.Recipient{k.id.Recipient()} }
func (k keys) identities() []age.Identity  { return []age.Identity{k.id} }
func (k keys) verify() []seal.VerifyKey    { return []seal.VerifyKey{k.sign.Public()} }

// sealedBackup takes a backup of db with backupd's pipeline, sealed by sl,
// into the local folder dir (which keeps metadata as extended attributes).
func sealedBackup(t *testing.T, srv *testdb.Server, db, dir string, ts time.Time, sl backup.Seal) string {
	t.Helper()
	store, err := storage.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	job := backup.Job{Dumper: &dump.Dumper{Conn: srv.Root(db)}, Store: store, Codec: codec, Time: ts, Seal: sl}
	rep, err := job.Run(context.Background())
	if err != nil {
		t.Fatalf("backup %s: %v", db, err)
	}
	return rep.Name
}

// bigSource is the fixture and a table large enough that its encrypted
// dump spans several of age's 64 KiB chunks.
func bigSource(t *testing.T, srv *testdb.Server) string {
	t.Helper()
	src := srv.NewDatabase(t, "src")
	srv.LoadFile(t, src, fixturePath)
	srv.Exec(t, src, "CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(200)); INSERT INTO big SELECT seq, CONCAT(SHA2(seq, 256), SHA2(-seq, 256)) FROM seq_1_to_6000")
	return src
}

func TestRestoreSealed(t *testing.T) {
	srv := testdb.Get(t)
	src := bigSource(t, srv)
	k := newKeys(t)
	tests := []struct {
		name      string
		seal      backup.Seal
		encrypted bool
		signed    bool
	}{
		{"encrypted and signed", backup.Seal{Recipients: k.recipients(), SignKey: &k.sign}, true, true},
		{"encrypted", backup.Seal{Recipients: k.recipients()}, true, false},
		{"signed", backup.Seal{SignKey: &k.sign}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			name := sealedBackup(t, srv, src, dir, at(3, 0), tt.seal)
			target := srv.NewDatabase(t, "app")
			prefill(t, srv, target)
			before := srv.Fingerprint(t, target)
			conn := limitedUser(t, srv, target)

			// Without the keys: an encrypted backup is refused, and with
			// nothing else to restore that is a setting to fix.
			r := &Restorer{Store: openStore(t, dir, nil), Conn: conn, Log: testLog(t)}
			rep, err := restoreNow(t, r, r.Store)
			if tt.encrypted {
				var ke *KeyError
				if !errors.Is(err, seal.ErrNoIdentity) || !errors.As(err, &ke) || !ke.Identity || errors.Is(err, selector.ErrNoBackup) {
					t.Fatalf("restore without an identity: err = %v, want a KeyError for the identity wrapping ErrNoIdentity", err)
				}
				if got := srv.Fingerprint(t, target); got != before {
					t.Fatal("the target changed")
				}
			} else if err != nil || rep.Signature != seal.Unchecked {
				t.Fatalf("restore of a signed backup without a verify key: %v, signature %v; want restored, unchecked", err, rep.Signature)
			}

			// A signature required: only a signed backup passes.
			r = &Restorer{Store: openStore(t, dir, nil), Conn: conn, Log: testLog(t),
				Identities: k.identities(), VerifyKeys: k.verify(), RequireSignature: true}
			rep, err = restoreNow(t, r, r.Store)
			if !tt.signed {
				if !errors.Is(err, seal.ErrUnsigned) || !errors.Is(err, selector.ErrNoBackup) {
					t.Fatalf("err = %v, want ErrUnsigned and ErrNoBackup", err)
				}
				r.RequireSignature = false
				rep, err = restoreNow(t, r, r.Store)
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Backup.Name != name || rep.Encrypted != tt.encrypted || !rep.Verified {
				t.Errorf("restored %s, encrypted %v, verified %v; want %s, %v, true", rep.Backup.Name, rep.Encrypted, rep.Verified, name, tt.encrypted)
			}
			wantSig := seal.Unsigned
			if tt.signed {
				wantSig = seal.Valid
			}
			if rep.Signature != wantSig {
				t.Errorf("signature %v, want %v", rep.Signature, wantSig)
			}
			if st := rep.Status(); st.Encrypted != tt.encrypted || st.Signature != string(wantSig) {
				t.Errorf("status encrypted %v, signature %q", st.Encrypted, st.Signature)
			}
			if got, want := srv.Fingerprint(t, target), srv.Fingerprint(t, src); got != want {
				t.Errorf("restored database differs from the source\n--- got\n%s\n--- want\n%s", got, want)
			}
		})
	}
}

// TestRestoreRefusesForgedAndUnsigned offers, before a good backup, one
// that an outsider encrypted to the same recipient and signed with their
// own key, one renamed to a later time, and an unsigned one: with a
// signature required each is refused before it is read, and the good one
// is restored.
func TestRestoreRefusesForgedAndUnsigned(t *testing.T) {
	srv := testdb.Get(t)
	src := bigSource(t, srv)
	other := srv.NewDatabase(t, "other")
	srv.Exec(t, other, "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(20)); INSERT INTO users VALUES (1, 'mallory')")
	k := newKeys(t)
	dir := t.TempDir()
	good := sealedBackup(t, srv, src, dir, at(1, 0), backup.Seal{Recipients: k.recipients(), SignKey: &k.sign})
	forged := sealedBackup(t, srv, other, dir, at(3, 0), backup.Seal{Recipients: k.recipients(), SignKey: &k.outsider})
	unsigned := sealedBackup(t, srv, other, dir, at(2, 0), backup.Seal{Recipients: k.recipients()})
	// A real signed backup moved to a better time, with its metadata:
	// the name is signed.
	elsewhere := t.TempDir()
	replayed := sealedBackup(t, srv, src, elsewhere, at(0, 0), backup.Seal{Recipients: k.recipients(), SignKey: &k.sign})
	moved := put(t, dir, at(4, 0), catalog.ZstdAge, read(t, elsewhere, replayed))
	meta := map[string]map[string]string{moved: listedMeta(t, elsewhere, replayed)}
	if meta[moved][catalog.MetaSignature] == "" {
		t.Fatal("the replayed backup carries no signature")
	}

	target := srv.NewDatabase(t, "app")
	prefill(t, srv, target)
	conn := limitedUser(t, srv, target)
	r := &Restorer{Store: openStore(t, dir, meta), Conn: conn, Log: testLog(t),
		Identities: k.identities(), VerifyKeys: k.verify(), RequireSignature: true}
	rep, err := restoreNow(t, r, r.Store)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Backup.Name != good {
		t.Fatalf("restored %s, want %s", rep.Backup.Name, good)
	}
	want := map[string]error{forged: seal.ErrBadSignature, unsigned: seal.ErrUnsigned, moved: seal.ErrBadSignature}
	if len(rep.Skipped) != len(want) {
		t.Fatalf("skipped %v, want %v", rep.Skipped, want)
	}
	for _, s := range rep.Skipped {
		if !errors.Is(s.Err, want[s.Backup]) {
			t.Errorf("skipped %s: %v, want %v", s.Backup, s.Err, want[s.Backup])
		}
	}
	if got, want := srv.Fingerprint(t, target), srv.Fingerprint(t, src); got != want {
		t.Errorf("restored database differs from the source\n--- got\n%s\n--- want\n%s", got, want)
	}
}

// TestRestoreFlippedCiphertext flips one byte in the middle of an
// encrypted backup: its recorded checksum no longer matches, so nothing of
// it is loaded; listed without a checksum, it is streamed, and age fails
// the chunk that holds the byte, so the load stops there, with the earlier
// chunks in staging only. Either way the target is left alone, and the
// next candidate is restored.
func TestRestoreFlippedCiphertext(t *testing.T) {
	srv := testdb.Get(t)
	src := bigSource(t, srv)
	k := newKeys(t)
	sl := backup.Seal{Recipients: k.recipients(), SignKey: &k.sign}
	dir := t.TempDir()
	bad := sealedBackup(t, srv, src, dir, at(3, 0), sl)
	stored := read(t, dir, bad)
	if len(stored) < 3*64<<10 {
		t.Fatalf("the encrypted backup is %d bytes: too small to have a chunk in the middle", len(stored))
	}
	flipInPlace(t, filepath.Join(dir, bad), len(stored)/2)

	target := srv.NewDatabase(t, "app")
	prefill(t, srv, target)
	before := srv.Fingerprint(t, target)
	conn := limitedUser(t, srv, target)
	r := &Restorer{Store: openStore(t, dir, nil), Conn: conn, Log: testLog(t),
		Identities: k.identities(), VerifyKeys: k.verify(), RequireSignature: true}
	_, err := restoreNow(t, r, r.Store)
	if !errors.Is(err, dump.ErrChecksum) {
		t.Fatalf("err = %v, want a checksum mismatch", err)
	}
	if got := srv.Fingerprint(t, target); got != before {
		t.Fatal("the target changed")
	}
	unrecorded := &Restorer{Store: openStore(t, dir, map[string]map[string]string{bad: {}}), Conn: conn, Log: testLog(t),
		Identities: k.identities()}
	_, err = restoreNow(t, unrecorded, unrecorded.Store)
	if err == nil || !strings.Contains(err.Error(), "decrypt") {
		t.Fatalf("err = %v, want the damaged chunk named", err)
	}
	if got := srv.Fingerprint(t, target); got != before {
		t.Fatal("the target changed")
	}

	good := sealedBackup(t, srv, src, dir, at(1, 0), sl)
	rep, err := restoreNow(t, r, r.Store)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Backup.Name != good || len(rep.Skipped) != 1 || rep.Skipped[0].Backup != bad {
		t.Errorf("restored %s after skipping %v; want %s after %s", rep.Backup.Name, rep.Skipped, good, bad)
	}
}

// listedMeta is the metadata the local folder dir keeps for name.
func listedMeta(t *testing.T, dir, name string) map[string]string {
	t.Helper()
	s, err := storage.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	es, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Name == name {
			return e.Meta
		}
	}
	t.Fatalf("%s is not in %s", name, dir)
	return nil
}

// flipInPlace changes one byte of the file at path without replacing the
// file, so that its extended attributes (the recorded checksum and
// signature) stay.
func flipInPlace(t *testing.T, path string, at int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, int64(at)); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x20
	if _, err := f.WriteAt(b, int64(at)); err != nil {
		t.Fatal(err)
	}
}

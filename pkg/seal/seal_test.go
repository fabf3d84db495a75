package seal

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/backupd/backupd/pkg/catalog"
)

func newIdentity(t testing.TB) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func newSigningKey(t testing.TB) SigningKey {
	t.Helper()
	k, err := GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestEncryptDecrypt(t *testing.T) {
	id := newIdentity(t)
	rs, err := ParseRecipients(id.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	plain := bytes.Repeat([]byte("INSERT INTO t VALUES (1);\n"), 20000) // several 64 KiB chunks
	var buf bytes.Buffer
	w, err := Encrypt(&buf, rs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !IsEncrypted(buf.Bytes()) {
		t.Fatalf("the envelope does not begin with %q", Magic)
	}
	ids, err := ParseIdentities("# created: now\n" + id.String() + "\n")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("round trip", func(t *testing.T) {
		r, err := Decrypt(bytes.NewReader(buf.Bytes()), ids)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("decrypted %d bytes, err %v; want the %d bytes written", len(got), err, len(plain))
		}
	})
	t.Run("flipped byte", func(t *testing.T) {
		bad := bytes.Clone(buf.Bytes())
		bad[len(bad)-200] ^= 1 // in the last chunk
		r, err := Decrypt(bytes.NewReader(bad), ids)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err == nil {
			t.Fatal("a flipped byte went unnoticed")
		}
		// Only the chunks before the damaged one were released.
		if len(got) >= len(plain) || !bytes.Equal(got, plain[:len(got)]) || len(got)%(64<<10) != 0 {
			t.Errorf("released %d bytes before the error, want whole good chunks only", len(got))
		}
	})
	t.Run("truncated", func(t *testing.T) {
		r, err := Decrypt(bytes.NewReader(buf.Bytes()[:buf.Len()-1000]), ids)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(r); err == nil {
			t.Fatal("a truncated envelope went unnoticed")
		}
	})
	t.Run("other identity", func(t *testing.T) {
		_, err := Decrypt(bytes.NewReader(buf.Bytes()), []age.Identity{newIdentity(t)})
		if !errors.Is(err, ErrNoIdentity) {
			t.Fatalf("err = %v, want ErrNoIdentity", err)
		}
	})
	t.Run("no identity", func(t *testing.T) {
		_, err := Decrypt(bytes.NewReader(buf.Bytes()), nil)
		if !errors.Is(err, ErrNoIdentity) {
			t.Fatalf("err = %v, want ErrNoIdentity", err)
		}
	})
	t.Run("several identities", func(t *testing.T) {
		r, err := Decrypt(bytes.NewReader(buf.Bytes()), []age.Identity{newIdentity(t), ids[0]})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := io.ReadAll(r); !bytes.Equal(got, plain) {
			t.Fatal("the second identity did not open it")
		}
	})
}

func TestParseRecipients(t *testing.T) {
	a, b := newIdentity(t).Recipient().String(), newIdentity(t).Recipient().String()
	for _, text := range []string{a + "," + b, a + ", " + b, "# keys\n" + a + "\n\n" + b + "\n"} {
		rs, err := ParseRecipients(text)
		if err != nil || len(rs) != 2 {
			t.Errorf("ParseRecipients(%q) = %d recipients, %v; want 2", text, len(rs), err)
		}
	}
	id := newIdentity(t)
	for _, text := range []string{"", " , ", "age1nope", id.String()} {
		_, err := ParseRecipients(text)
		if err == nil {
			t.Errorf("ParseRecipients(%q) succeeded", text)
			continue
		}
		if strings.Contains(err.Error(), id.String()) {
			t.Errorf("the error quotes the secret: %v", err)
		}
	}
}

func TestBelong(t *testing.T) {
	a, b := newIdentity(t), newIdentity(t)
	ra, _ := ParseRecipients(a.Recipient().String())
	rab, _ := ParseRecipients(a.Recipient().String() + "," + b.Recipient().String())
	if !Belong(ra, []age.Identity{a}) || !Belong(rab, []age.Identity{b, a}) {
		t.Error("matching keys do not belong together")
	}
	if Belong(rab, []age.Identity{a}) || Belong(ra, []age.Identity{b}) {
		t.Error("a recipient without its identity belongs")
	}
}

func TestSigningKeyLines(t *testing.T) {
	k := newSigningKey(t)
	k2, err := ParseSigningKey("\n" + k.String() + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if !k2.Public().Equal(k.Public()) {
		t.Fatal("the parsed signing key differs")
	}
	vs, err := ParseVerifyKeys(k.Public().String() + "\n")
	if err != nil || len(vs) != 1 || !vs[0].Equal(k.Public()) {
		t.Fatalf("ParseVerifyKeys = %v, %v", vs, err)
	}
	if _, err := ParseVerifyKeys(k.String()); err == nil || strings.Contains(err.Error(), k.String()) {
		t.Errorf("a signing key given as verify key: err = %v", err)
	}
	if _, err := ParseSigningKey(k.Public().String()); err == nil {
		t.Error("a verify key parsed as signing key")
	}
	for _, bad := range []string{"", SigningKeyPrefix, SigningKeyPrefix + "AAAA", k.String() + "\n" + k.String()} {
		if _, err := ParseSigningKey(bad); err == nil {
			t.Errorf("ParseSigningKey(%q) succeeded", bad)
		}
	}
}

func TestSignature(t *testing.T) {
	k, other := newSigningKey(t), newSigningKey(t)
	keys := []VerifyKey{k.Public()}
	b := catalog.Backup{
		Name: "db-backup-20260102-030000.sql.zst.age", Size: 1234, RawSize: 99999,
		SHA256: strings.Repeat("ab", 32), Version: catalog.FormatVersion,
	}
	b.Signature = k.Sign(StatementOf(b))
	if n := len(b.Signature); n != 86 {
		t.Errorf("signature is %d characters, want 86", n)
	}
	if got := Check(b, keys); got != Valid {
		t.Fatalf("Check = %v, want valid", got)
	}
	if got := Check(b, []VerifyKey{other.Public(), k.Public()}); got != Valid {
		t.Errorf("Check with a second key = %v, want valid", got)
	}
	upper := b
	upper.SHA256 = strings.ToUpper(b.SHA256)
	if got := Check(upper, keys); got != Valid {
		t.Errorf("Check of the checksum in capitals = %v, want valid", got)
	}
	changes := map[string]func(*catalog.Backup){
		"renamed":       func(b *catalog.Backup) { b.Name = "db-backup-20260103-030000.sql.zst.age" },
		"other format":  func(b *catalog.Backup) { b.Name = "db-backup-20260102-030000.sql.zst" },
		"other sha256":  func(b *catalog.Backup) { b.SHA256 = strings.Repeat("cd", 32) },
		"no sha256":     func(b *catalog.Backup) { b.SHA256 = "" },
		"other size":    func(b *catalog.Backup) { b.Size++ },
		"other raw":     func(b *catalog.Backup) { b.RawSize-- },
		"other version": func(b *catalog.Backup) { b.Version = "2" },
		"other key":     func(b *catalog.Backup) { b.Signature = other.Sign(StatementOf(*b)) },
		"garbage":       func(b *catalog.Backup) { b.Signature = "not base64!" },
		"short":         func(b *catalog.Backup) { b.Signature = b.Signature[:40] },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			c := b
			change(&c)
			if got := Check(c, keys); got != Invalid {
				t.Errorf("Check = %v, want invalid", got)
			}
			if err := Problem(c, keys, false); !errors.Is(err, ErrBadSignature) {
				t.Errorf("Problem = %v, want ErrBadSignature", err)
			}
		})
	}
	unsigned := b
	unsigned.Signature = ""
	tests := []struct {
		name    string
		b       catalog.Backup
		keys    []VerifyKey
		require bool
		state   SigState
		want    error
	}{
		{"signed, checked", b, keys, true, Valid, nil},
		{"signed, no key", b, nil, false, Unchecked, nil},
		{"signed, no key, required", b, nil, true, Unchecked, ErrBadSignature},
		{"unsigned", unsigned, keys, false, Unsigned, nil},
		{"unsigned, required", unsigned, keys, true, Unsigned, ErrUnsigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Check(tt.b, tt.keys); got != tt.state {
				t.Errorf("Check = %v, want %v", got, tt.state)
			}
			if err := Problem(tt.b, tt.keys, tt.require); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Problem = %v, want %v", err, tt.want)
			}
		})
	}
}

// The signature and the envelope come from the untrusted folder.
func FuzzVerify(f *testing.F) {
	k, err := GenerateSigningKey()
	if err != nil {
		f.Fatal(err)
	}
	s := Statement{Name: "db-backup-20260102-030000.sql.zst", SHA256: "ab", Size: 1, RawSize: 2, Version: "1"}
	f.Add(s.Name, k.Sign(s))
	f.Add("", "")
	f.Add("x", strings.Repeat("A", 86))
	keys := []VerifyKey{k.Public()}
	f.Fuzz(func(t *testing.T, name, sig string) {
		st := s
		st.Name = name
		if Verify(keys, st, sig) && name != s.Name {
			t.Fatalf("a signature of %q verifies for %q", s.Name, name)
		}
	})
}

func FuzzDecrypt(f *testing.F) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	w, _ := Encrypt(&buf, []age.Recipient{id.Recipient()})
	w.Write([]byte("-- Dump completed\n"))
	w.Close()
	f.Add(buf.Bytes())
	f.Add([]byte(Magic + "v1\n-> X25519 \n--- \n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Decrypt(bytes.NewReader(data), []age.Identity{id})
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<20))
	})
}

// A statement without binary log coordinates signs what it signed before
// they existed; with them, each is covered.
func TestStatementCoordinates(t *testing.T) {
	old := Statement{Name: "db-backup-20261126-030000.sql.zst", SHA256: "AB", Size: 10, RawSize: 100, Version: "1"}
	var want []byte
	want = append(want, "backupd backup signature v1\x00"...)
	for _, f := range []string{old.Name, "ab", "10", "100", "1"} {
		want = append(want, byte(len(f)))
		want = append(want, f...)
	}
	if got := old.message(); string(got) != string(want) {
		t.Errorf("message without coordinates changed:\n%q\nwant\n%q", got, want)
	}
	key, err := GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	with := old
	with.Binlog = [3]string{"binlog.000001:4", "id1", "2026-11-26T03:00:01.000000Z"}
	sig := key.Sign(with)
	if !Verify([]VerifyKey{key.Public()}, with, sig) {
		t.Fatal("does not verify")
	}
	for i := range with.Binlog {
		c := with
		c.Binlog[i] += "x"
		if Verify([]VerifyKey{key.Public()}, c, sig) {
			t.Errorf("a changed coordinate %d verifies", i)
		}
	}
	if Verify([]VerifyKey{key.Public()}, old, sig) {
		t.Error("dropping the coordinates verifies")
	}
}

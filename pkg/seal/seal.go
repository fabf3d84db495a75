// Package seal is the envelope and the signature of a backup.
//
// The envelope is age (filippo.io/age): production encrypts the zstd
// stream to one or more recipients (public keys) as it is written, and
// only the holder of a matching identity (private key) can read it. age
// cuts the stream into 64 KiB chunks, each authenticated before it is
// released, so a changed byte fails at the chunk that holds it.
//
// The signature is Ed25519 over a Statement: the backup's name, the
// sha256 and size of its stored bytes, its SQL size and the format
// version. It is stored beside the backup as metadata (MetaSignature) and
// checked against the listing before a byte of the backup is read; the
// stream is then held to the signed checksum and sizes. Whoever can write
// the folder but does not hold the signing key can neither sign a backup
// of their own nor move a signed one to another name.
//
// Keys are one-line texts: age's own "AGE-SECRET-KEY-1..." identities and
// "age1..." recipients, and this package's SigningKeyPrefix and
// VerifyKeyPrefix lines for Ed25519.
package seal

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"

	"github.com/backupd/backupd/pkg/catalog"
)

// Errors a backup is refused with. A restore skips such a backup and tries
// the next candidate.
var (
	// ErrNoIdentity means a backup is encrypted and no identity given
	// opens it.
	ErrNoIdentity = errors.New("encrypted, and no age identity given opens it")
	// ErrOtherRecipient means a backup is encrypted to a recipient none of
	// the identities given is; it wraps ErrNoIdentity.
	ErrOtherRecipient = fmt.Errorf("%w: it was encrypted to another recipient", ErrNoIdentity)
	// ErrUnsigned means a backup carries no signature and one is required.
	ErrUnsigned = errors.New("unsigned, and a signature is required")
	// ErrBadSignature means a backup's signature does not verify under any
	// of the given keys: it was not signed by the holder of the signing
	// key, or its name, checksum or sizes changed since.
	ErrBadSignature = errors.New("the signature does not verify under the given verify key")
)

// Magic is how every age file begins (its version line follows).
const Magic = "age-encryption.org/"

// IsEncrypted reports whether a stream that begins with head is an age
// file; head needs len(Magic) bytes.
func IsEncrypted(head []byte) bool { return bytes.HasPrefix(head, []byte(Magic)) }

// ParseRecipients reads age recipients ("age1..."), separated by commas,
// new lines or both; blank lines and lines starting with "#" are skipped.
// It fails when there is none or one does not parse.
func ParseRecipients(text string) ([]age.Recipient, error) {
	var rs []age.Recipient
	for i, line := range fields(text) {
		r, err := age.ParseRecipients(strings.NewReader(line))
		if err != nil {
			return nil, fmt.Errorf("age recipient %d: not a recipient (want age1...): %v", i+1, err)
		}
		rs = append(rs, r...)
	}
	if len(rs) == 0 {
		return nil, errors.New("no age recipient (want one or more age1... lines)")
	}
	return rs, nil
}

// ParseIdentities reads age identities ("AGE-SECRET-KEY-1..."), one a
// line; blank lines and lines starting with "#" (age-keygen's comments)
// are skipped. Several identities open backups encrypted to any of them,
// so that old backups stay readable after a new key is made. Errors never
// quote the text.
func ParseIdentities(text string) ([]age.Identity, error) {
	ids, err := age.ParseIdentities(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("age identity: %v", err)
	}
	return ids, nil
}

// fields splits text at commas and new lines, dropping blanks and
// comment lines.
func fields(text string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for f := range strings.SplitSeq(line, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

// Encrypt returns a writer that encrypts what is written to it to rs and
// writes the age file to w, a chunk at a time (memory stays flat). Close
// writes the last chunk; without it the file is incomplete. It does not
// close w.
func Encrypt(w io.Writer, rs []age.Recipient) (io.WriteCloser, error) {
	if len(rs) == 0 {
		return nil, errors.New("encrypt: no recipient")
	}
	enc, err := age.Encrypt(w, rs...)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	return enc, nil
}

// Decrypt reads the age file r with the first of ids that opens it and
// returns the plaintext; a chunk that fails authentication is a read
// error and nothing of it is returned. Without a matching identity the
// error wraps ErrNoIdentity.
func Decrypt(r io.Reader, ids []age.Identity) (io.Reader, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w (give one with --age-identity)", ErrNoIdentity)
	}
	pr, err := age.Decrypt(r, ids...)
	var nm *age.NoIdentityMatchError
	if errors.As(err, &nm) {
		return nil, ErrOtherRecipient
	}
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	return pr, nil
}

// Belong reports whether every recipient in rs is the recipient of one of
// ids: a backup encrypted to rs can then be read with ids.
func Belong(rs []age.Recipient, ids []age.Identity) bool {
	have := map[string]bool{}
	for _, id := range ids {
		switch i := id.(type) {
		case *age.X25519Identity:
			have[i.Recipient().String()] = true
		case *age.HybridIdentity:
			have[i.Recipient().String()] = true
		}
	}
	for _, r := range rs {
		s, ok := r.(fmt.Stringer)
		if !ok || !have[s.String()] {
			return false
		}
	}
	return len(rs) > 0
}

// Prefixes of the key lines of this package.
const (
	SigningKeyPrefix = "BACKUPD-SIGN-KEY-1"
	VerifyKeyPrefix  = "backupd-sign-pub-1"
)

var b64 = base64.RawURLEncoding

// SigningKey signs backups. Its String is the secret line of sign.key.
type SigningKey struct{ priv ed25519.PrivateKey }

// GenerateSigningKey makes a new Ed25519 signing key.
func GenerateSigningKey() (SigningKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SigningKey{}, fmt.Errorf("generate signing key: %w", err)
	}
	return SigningKey{priv}, nil
}

// ParseSigningKey reads a signing key line (SigningKeyPrefix and the
// key's seed), ignoring surrounding blanks and "#" comment lines. Errors
// never quote the text.
func ParseSigningKey(text string) (SigningKey, error) {
	lines := fields(text)
	if len(lines) != 1 {
		return SigningKey{}, fmt.Errorf("signing key: want one %s... line, found %d lines", SigningKeyPrefix, len(lines))
	}
	enc, ok := strings.CutPrefix(lines[0], SigningKeyPrefix)
	if !ok {
		return SigningKey{}, fmt.Errorf("signing key: not a %s... line (a verify key, %s..., goes to the restore side)", SigningKeyPrefix, VerifyKeyPrefix)
	}
	seed, err := b64.DecodeString(enc)
	if err != nil || len(seed) != ed25519.SeedSize {
		return SigningKey{}, errors.New("signing key: damaged: the key after the prefix is not 32 bytes of base64url")
	}
	return SigningKey{ed25519.NewKeyFromSeed(seed)}, nil
}

// String is the secret line: SigningKeyPrefix and the key's seed.
func (k SigningKey) String() string { return SigningKeyPrefix + b64.EncodeToString(k.priv.Seed()) }

// Public returns the key that verifies this key's signatures.
func (k SigningKey) Public() VerifyKey { return VerifyKey{k.priv.Public().(ed25519.PublicKey)} }

// Sign signs s and returns the signature as unpadded base64url (86
// characters), the form stored in MetaSignature.
func (k SigningKey) Sign(s Statement) string {
	return b64.EncodeToString(ed25519.Sign(k.priv, s.message()))
}

// VerifyKey checks signatures. Its String is the line of sign.pub.
type VerifyKey struct{ pub ed25519.PublicKey }

// ParseVerifyKeys reads one or more verify key lines (VerifyKeyPrefix and
// the public key), separated by commas or new lines; blanks and "#"
// comment lines are skipped. Several keys accept a backup signed by any
// of them, for the time a signing key is being replaced.
func ParseVerifyKeys(text string) ([]VerifyKey, error) {
	var ks []VerifyKey
	for i, f := range fields(text) {
		enc, ok := strings.CutPrefix(f, VerifyKeyPrefix)
		if !ok {
			if strings.HasPrefix(f, SigningKeyPrefix) {
				return nil, fmt.Errorf("verify key %d: this is the secret signing key; give its public half (sign.pub, %s...)", i+1, VerifyKeyPrefix)
			}
			return nil, fmt.Errorf("verify key %d: not a %s... line", i+1, VerifyKeyPrefix)
		}
		pub, err := b64.DecodeString(enc)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("verify key %d: damaged: the key after the prefix is not 32 bytes of base64url", i+1)
		}
		ks = append(ks, VerifyKey{ed25519.PublicKey(pub)})
	}
	if len(ks) == 0 {
		return nil, fmt.Errorf("no verify key (want one or more %s... lines)", VerifyKeyPrefix)
	}
	return ks, nil
}

// String is the public line: VerifyKeyPrefix and the public key.
func (v VerifyKey) String() string { return VerifyKeyPrefix + b64.EncodeToString(v.pub) }

// Equal reports whether v and w are the same key.
func (v VerifyKey) Equal(w VerifyKey) bool { return v.pub.Equal(w.pub) }

// Statement is what a signature vouches for: the backup's name (its time
// and format), the sha256 and size of its stored bytes, its SQL size and
// the format version of its metadata.
type Statement struct {
	Name    string
	SHA256  string // hex; compared in lower case
	Size    int64  // stored bytes
	RawSize int64  // SQL bytes
	Version string
	// Binlog are the binary log coordinates recorded with a backup
	// (catalog.MetaBinlog, MetaBinlogServer, MetaBinlogAt, as stored);
	// a backup without them signs none, as before they existed.
	Binlog [3]string
}

// StatementOf is the statement a listed backup claims: its name, the
// stored size the store lists and the checksum, SQL size and version
// recorded with it.
func StatementOf(b catalog.Backup) Statement {
	s := Statement{Name: b.Name, SHA256: b.SHA256, Size: b.Size, RawSize: b.RawSize, Version: b.Version}
	if b.Binlog != "" {
		s.Binlog = [3]string{b.Binlog, b.BinlogServer, b.BinlogAt.UTC().Format(catalog.BinlogAtLayout)}
	}
	return s
}

// message encodes s without ambiguity: a fixed context string, then each
// field with its length.
func (s Statement) message() []byte {
	m := []byte("backupd backup signature v1\x00")
	fields := []string{s.Name, strings.ToLower(s.SHA256), fmt.Sprint(s.Size), fmt.Sprint(s.RawSize), s.Version}
	if s.Binlog != [3]string{} {
		fields = append(fields, "binlog", s.Binlog[0], s.Binlog[1], s.Binlog[2])
	}
	for _, f := range fields {
		m = binary.AppendUvarint(m, uint64(len(f)))
		m = append(m, f...)
	}
	return m
}

// Verify reports whether sig (unpadded base64url) is a signature of s by
// one of keys.
func Verify(keys []VerifyKey, s Statement, sig string) bool {
	raw, err := b64.DecodeString(sig)
	if err != nil || len(raw) != ed25519.SignatureSize {
		return false
	}
	m := s.message()
	for _, k := range keys {
		if ed25519.Verify(k.pub, m, raw) {
			return true
		}
	}
	return false
}

// SigState is what is known of a backup's signature.
type SigState string

// The states of a signature.
const (
	Unsigned  SigState = "none"      // no signature recorded
	Unchecked SigState = "unchecked" // signed, and no verify key given
	Valid     SigState = "valid"     // verifies under a given key
	Invalid   SigState = "invalid"   // does not verify under any given key
)

// Check says what is known of b's signature with keys (none: Unchecked
// for a signed backup).
func Check(b catalog.Backup, keys []VerifyKey) SigState {
	switch {
	case b.Signature == "":
		return Unsigned
	case len(keys) == 0:
		return Unchecked
	case Verify(keys, StatementOf(b), b.Signature):
		return Valid
	}
	return Invalid
}

// Problem says why b is refused for its signature, or nil: with keys
// given, a signature that does not verify (ErrBadSignature); with require
// set, a backup without a valid signature (ErrUnsigned, ErrBadSignature).
// A backup that passes is held to the signed checksum and sizes when it
// is read (dump.CheckResult.Problems), which completes the check.
func Problem(b catalog.Backup, keys []VerifyKey, require bool) error {
	switch Check(b, keys) {
	case Invalid:
		return ErrBadSignature
	case Unsigned:
		if require {
			return ErrUnsigned
		}
	case Unchecked:
		if require {
			return fmt.Errorf("%w: no verify key given", ErrBadSignature)
		}
	}
	return nil
}

package dump

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync/atomic"

	"filippo.io/age"
	"github.com/backupd/backupd/internal/count"
	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/seal"
)

// ErrChecksum means a backup's bytes do not hash to the checksum recorded
// when it was published.
var ErrChecksum = errors.New("sha256 does not match the recorded checksum")

// ErrSize means a backup's stored or SQL size differs from the recorded one.
var ErrSize = errors.New("size does not match the recorded size")

// CheckResult describes a stored dump read to its end.
type CheckResult struct {
	Compression Compression
	// Encrypted says the stored bytes were an age envelope, opened with
	// one of the identities given (WithIdentities).
	Encrypted   bool
	StoredBytes int64
	RawBytes    int64
	SHA256      string // hex, of the stored bytes
	Trailer     bool   // the SQL ends with the completion trailer
	// SQLEnded says the SQL text was read to its end (a loader that stops
	// early leaves it false).
	SQLEnded bool
	// StreamErr is why the stored bytes could not be read or decompressed
	// to their end; nil when they could.
	StreamErr error
}

// Stream reads a stored dump: it counts and hashes the stored bytes,
// decompresses them and keeps the end of the SQL text to look for the
// trailer. Read returns the SQL text; Finish reads what is left of the
// stored bytes and returns the figures. It is the one way both verify and
// the restore read a backup, so that both judge it alike.
type Stream struct {
	stored    *count.Reader
	hash      hash.Hash // nil when the bytes were hashed before (Hashed)
	hashed    string
	decrypted *firstErr // the age envelope's plaintext; nil when not encrypted
	dec       io.ReadCloser
	raw       *count.Reader
	tail      *mariadb.Tail
	res       CheckResult
}

// StreamOption sets how NewStream and Check read a stored dump.
type StreamOption func(*streamConfig)

type streamConfig struct {
	ids    []age.Identity
	expect *bool
	hashed string
}

// WithIdentities gives the age identities that open an encrypted dump.
// Without one that matches, an encrypted dump fails NewStream with an
// error wrapping seal.ErrNoIdentity.
func WithIdentities(ids []age.Identity) StreamOption {
	return func(c *streamConfig) { c.ids = ids }
}

// Encrypted says whether the dump must be an age envelope (its name ends
// in .age: catalog.Backup.Encrypted) or must not be; a dump that is not
// what its name says fails NewStream. Without it either is read.
func Encrypted(encrypted bool) StreamOption {
	return func(c *streamConfig) { c.expect = &encrypted }
}

// Hashed says the stored bytes were hashed before they reach NewStream, to
// sum: a copy spooled and checked against its recorded checksum. They are
// not hashed again, and the result's SHA256 is sum.
func Hashed(sum string) StreamOption {
	return func(c *streamConfig) { c.hashed = sum }
}

// NewStream starts reading the stored dump r. stored and raw, when not nil,
// count the stored and SQL bytes as they pass, for progress reports. An
// age envelope (see pkg/seal) is opened first, with the identities of
// WithIdentities; the stored bytes counted and hashed are the envelope's.
// It fails when what r holds (inside the envelope) starts with neither
// zstd's nor gzip's magic bytes.
func NewStream(r io.Reader, stored, raw *atomic.Int64, opts ...StreamOption) (*Stream, error) {
	var cfg streamConfig
	for _, o := range opts {
		o(&cfg)
	}
	s := &Stream{tail: &mariadb.Tail{Max: 256}, hashed: cfg.hashed}
	if cfg.hashed == "" {
		s.hash = sha256.New()
		r = io.TeeReader(r, s.hash)
	}
	s.stored = count.NewReader(r, stored)
	s.stored.N.Store(0)
	br := bufio.NewReaderSize(s.stored, 64<<10)
	head, _ := br.Peek(len(seal.Magic))
	encrypted := seal.IsEncrypted(head)
	switch {
	case cfg.expect != nil && *cfg.expect && !encrypted:
		return nil, errors.New("named as encrypted (.age), but it is not an age file")
	case cfg.expect != nil && !*cfg.expect && encrypted:
		return nil, errors.New("an age file under a name without .age")
	}
	var src io.Reader = br
	if encrypted {
		pr, err := seal.Decrypt(br, cfg.ids)
		if err != nil {
			return nil, err
		}
		s.decrypted = &firstErr{r: pr}
		s.res.Encrypted, src = true, s.decrypted
	}
	dec, comp, err := NewReader(src)
	if err != nil {
		return nil, err
	}
	s.dec = dec
	s.res.Compression = comp
	s.raw = count.NewReader(io.TeeReader(dec, s.tail), raw)
	s.raw.N.Store(0)
	return s, nil
}

// Read reads SQL text. A corrupt or truncated stream is a read error.
func (s *Stream) Read(p []byte) (int, error) {
	n, err := s.raw.Read(p)
	switch {
	case errors.Is(err, io.EOF):
		s.res.SQLEnded = true
	case err != nil && s.res.StreamErr == nil && s.decrypted != nil && s.decrypted.err != nil:
		s.res.StreamErr = fmt.Errorf("decrypt: %w", s.decrypted.err)
	case err != nil && s.res.StreamErr == nil:
		s.res.StreamErr = fmt.Errorf("decompress: %w", err)
	}
	return n, err
}

// firstErr keeps the first error other than EOF its reader returned, so
// that a chunk that fails authentication is named as such, whatever the
// decompressor makes of it.
type firstErr struct {
	r   io.Reader
	err error
}

func (f *firstErr) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && f.err == nil {
		f.err = err
	}
	return n, err
}

// Finish reads the rest of the stored bytes (trailing padding, or what a
// consumer left unread) into the hash, releases the decoder and returns
// the figures.
func (s *Stream) Finish() CheckResult {
	// The decoder goes first: its goroutines must not read on while the
	// rest is drained here.
	s.dec.Close()
	if s.decrypted != nil && s.res.StreamErr == nil {
		// The rest of the envelope is authenticated to its final chunk,
		// so that a truncated or extended envelope is caught.
		if _, err := io.Copy(io.Discard, s.decrypted); err != nil {
			s.res.StreamErr = fmt.Errorf("decrypt: %w", err)
		}
	}
	if _, err := io.Copy(io.Discard, s.stored); err != nil && s.res.StreamErr == nil {
		s.res.StreamErr = fmt.Errorf("read: %w", err)
	}
	s.res.StoredBytes = s.stored.N.Load()
	s.res.RawBytes = s.raw.N.Load()
	s.res.SHA256 = s.hashed
	if s.hash != nil {
		s.res.SHA256 = hex.EncodeToString(s.hash.Sum(nil))
	}
	s.res.Trailer = HasTrailer(s.tail.Bytes())
	return s.res
}

// Close releases the decoder without reading further, for a consumer that
// gave up; Finish need not be called then.
func (s *Stream) Close() { s.dec.Close() }

// Check reads a stored dump to its end without keeping it and returns the
// figures. The error is the first problem of the stream itself: it cannot
// be opened (an age envelope without a matching identity), read,
// decrypted or decompressed (res.StreamErr), or it lacks the trailer
// (ErrNoTrailer); use Problems to compare it with what was recorded. raw,
// when not nil, counts SQL bytes as they pass.
func Check(r io.Reader, raw *atomic.Int64, opts ...StreamOption) (CheckResult, error) {
	s, err := NewStream(r, nil, raw, opts...)
	if err != nil {
		return CheckResult{}, err
	}
	_, _ = io.CopyBuffer(io.Discard, s, make([]byte, 256<<10))
	res := s.Finish()
	switch {
	case res.StreamErr != nil:
		return res, res.StreamErr
	case !res.Trailer:
		return res, ErrNoTrailer
	}
	return res, nil
}

// Problems compares a finished reading of b with what its listing
// records and returns what is wrong, most telling first: a checksum that
// does not match (which explains any other fault), a stored size that
// differs, a stream that cannot be read or decompressed, an SQL size that
// differs, a missing trailer. It is empty for a good backup. A size or
// checksum that was not recorded (RawSize < 0, Size < 0, SHA256 "") is not
// compared.
func (res CheckResult) Problems(b catalog.Backup) []error {
	var p []error
	if b.SHA256 != "" && !strings.EqualFold(res.SHA256, b.SHA256) {
		p = append(p, fmt.Errorf("%w: read %s, recorded %s", ErrChecksum, res.SHA256, b.SHA256))
	}
	if b.Size >= 0 && res.StoredBytes != b.Size {
		p = append(p, fmt.Errorf("stored %w: read %d bytes, the remote lists %d", ErrSize, res.StoredBytes, b.Size))
	}
	if res.StreamErr != nil {
		// Figures from a stream read only partly mean nothing more.
		return append(p, fmt.Errorf("cannot read or decompress it: %w", res.StreamErr))
	}
	if b.RawSize >= 0 && res.RawBytes != b.RawSize {
		p = append(p, fmt.Errorf("SQL %w: decompressed to %d bytes, %d recorded", ErrSize, res.RawBytes, b.RawSize))
	}
	if !res.Trailer {
		p = append(p, ErrNoTrailer)
	}
	return p
}

package dump

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression names the compression of a stored dump, found from its magic bytes.
type Compression string

// The compressions a stored dump can have.
const (
	CompressionZstd Compression = "zstd"
	CompressionGzip Compression = "gzip"
)

var (
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	gzipMagic = []byte{0x1f, 0x8b}
)

// ErrUnknownCompression means a stream starts with neither the zstd nor the
// gzip magic bytes.
var ErrUnknownCompression = errors.New("not a zstd or gzip stream")

// NewReader returns the SQL text of a stored dump, compressed with zstd (by
// backupd) or gzip (by the legacy script); the compression is detected from
// the first bytes. Corruption surfaces as a read error. Close releases the
// decoder but does not close r.
func NewReader(r io.Reader) (io.ReadCloser, Compression, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if err != nil && !(errors.Is(err, io.EOF) && len(head) > 0) {
		if errors.Is(err, io.EOF) {
			return nil, "", fmt.Errorf("read dump header: empty stream")
		}
		return nil, "", fmt.Errorf("read dump header: %w", err)
	}
	switch {
	case bytes.HasPrefix(head, zstdMagic):
		d, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(2), zstd.WithDecoderMaxWindow(128<<20))
		if err != nil {
			return nil, "", fmt.Errorf("zstd decoder: %w", err)
		}
		return zstdReadCloser{d}, CompressionZstd, nil
	case bytes.HasPrefix(head, gzipMagic):
		g, err := gzip.NewReader(br)
		if err != nil {
			return nil, "", fmt.Errorf("gzip decoder: %w", err)
		}
		return g, CompressionGzip, nil
	}
	return nil, "", ErrUnknownCompression
}

type zstdReadCloser struct{ *zstd.Decoder }

func (z zstdReadCloser) Close() error { z.Decoder.Close(); return nil }

// CheckResult describes a stored dump read to its end.
type CheckResult struct {
	Compression Compression
	StoredBytes int64
	RawBytes    int64
	SHA256      string // hex, of the stored bytes
	Trailer     bool   // the SQL ends with the completion trailer
}

// Check reads a stored dump to its end without keeping it: it hashes the
// stored bytes, decompresses them fully and looks for the trailer. It
// returns an error when the stream cannot be read or decompressed; a missing
// trailer is reported in the result (with ErrNoTrailer) so the caller can
// still show the figures. raw, when not nil, counts SQL bytes as they pass.
func Check(r io.Reader, raw *atomic.Int64) (CheckResult, error) {
	var res CheckResult
	h := sha256.New()
	cr := &countReader{r: io.TeeReader(r, h)}
	dr, comp, err := NewReader(cr)
	if err != nil {
		return res, err
	}
	defer dr.Close()
	res.Compression = comp
	if raw == nil {
		raw = new(atomic.Int64)
	}
	tail := &Tail{Max: 256}
	if _, err := io.CopyBuffer(&countWriter{w: tail, n: raw}, dr, make([]byte, 256<<10)); err != nil {
		return res, fmt.Errorf("decompress: %w", err)
	}
	// Drain what the decoder did not need (trailing padding) so the hash
	// covers the whole object.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return res, fmt.Errorf("read: %w", err)
	}
	res.StoredBytes = cr.n
	res.RawBytes = raw.Load()
	res.SHA256 = hex.EncodeToString(h.Sum(nil))
	res.Trailer = HasTrailer(tail.Bytes())
	if !res.Trailer {
		return res, ErrNoTrailer
	}
	return res, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

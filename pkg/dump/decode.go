package dump

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"

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
		// On one core, decoding in the reader's own calls costs less CPU
		// than handing blocks between two goroutines; with more, the
		// second decodes beside the reader's consumer.
		d, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(min(2, runtime.GOMAXPROCS(0))), zstd.WithDecoderMaxWindow(128<<20))
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

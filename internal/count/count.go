// Package count has the one counting reader and writer: progress reports,
// checks and reports read their byte counts while the stream still flows.
package count

import (
	"io"
	"sync/atomic"
)

// Reader counts the bytes read through it into N, which may be read
// concurrently.
type Reader struct {
	R io.Reader
	N *atomic.Int64
}

// NewReader returns a Reader over r that counts into n, or into a counter
// of its own when n is nil.
func NewReader(r io.Reader, n *atomic.Int64) *Reader {
	if n == nil {
		n = new(atomic.Int64)
	}
	return &Reader{R: r, N: n}
}

func (c *Reader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N.Add(int64(n))
	return n, err
}

// Writer counts the bytes written through it into N, which may be read
// concurrently.
type Writer struct {
	W io.Writer
	N *atomic.Int64
}

// NewWriter returns a Writer over w (io.Discard when nil) that counts into
// n, or into a counter of its own when n is nil.
func NewWriter(w io.Writer, n *atomic.Int64) *Writer {
	if w == nil {
		w = io.Discard
	}
	if n == nil {
		n = new(atomic.Int64)
	}
	return &Writer{W: w, N: n}
}

func (c *Writer) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.N.Add(int64(n))
	return n, err
}

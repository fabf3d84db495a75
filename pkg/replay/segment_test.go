package replay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/backupd/backupd/pkg/binlog"
)

// files is an Opener of stored bytes by name, counting opens.
type files struct {
	data  map[string][]byte
	opens int
}

func (f *files) Open(_ context.Context, name string) (io.ReadCloser, error) {
	f.opens++
	return io.NopCloser(bytes.NewReader(f.data[name])), nil
}

// A segment is held to fixed bounds and its events are read through
// before any of it is used, whatever its listing says: a listed size no
// segment has is refused before it is opened; bytes that are not a binary
// log, or a compression window far larger than the stream writes, are
// refused by the check, not found out while its events run.
func TestSegmentCheckedBeforeUse(t *testing.T) {
	listed := func(name string, stored []byte, raw int64) binlog.Segment {
		sum := sha256.Sum256(stored)
		s := binlog.Segment{Server: "id1", File: "binlog.000001", Start: 4, End: 200, First: time.Unix(1, 0), Last: time.Unix(2, 0),
			Size: int64(len(stored)), RawSize: raw, SHA256: hex.EncodeToString(sum[:])}
		s.Name = name
		return s
	}
	enc := func(opts ...zstd.EOption) func([]byte) []byte {
		return func(b []byte) []byte {
			z, err := zstd.NewWriter(nil, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer z.Close()
			return z.EncodeAll(b, nil)
		}
	}
	plain := enc()
	wide := enc(zstd.WithWindowSize(64<<20), zstd.WithSingleSegment(true))
	notLog := plain([]byte("CREATE USER evil IDENTIFIED BY 'x'"))
	zeros := make([]byte, 32<<20)
	wideData := wide(append([]byte(binlog.Magic), zeros...))

	for _, tc := range []struct {
		name   string
		seg    binlog.Segment
		stored []byte
		opened bool
		want   string
	}{
		{"listed larger than a segment", func() binlog.Segment {
			s := listed("huge", notLog, -1)
			s.Size = 1 << 40
			return s
		}(), notLog, false, "more than a segment holds"},
		{"not a binary log", listed("notlog", notLog, -1), notLog, true, "not a binary log"},
		{"window wider than the stream's", listed("wide", wideData, int64(4+len(zeros))), wideData, true, "decompressed size exceeds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &files{data: map[string][]byte{tc.seg.Name: tc.stored}}
			r := &Recoverer{Segments: f, TempDir: t.TempDir()}
			_, err := r.segment(context.Background(), tc.seg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
			if (f.opens > 0) != tc.opened {
				t.Errorf("opened %d times", f.opens)
			}
		})
	}
}

package stream

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"github.com/backupd/backupd/pkg/binlog"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/seal"
)

// open is the segment being written: the events of one file from start
// on, kept raw until it closes.
type open struct {
	file     string
	start    uint64
	end      uint64
	fde      []byte // the format description the segment's data starts with
	buf      bytes.Buffer
	opened   time.Time // when its first event arrived, this machine's clock
	rotated  bool
	first    binlog.Txn // the first transaction it holds (or the one it starts inside)
	last     binlog.Txn
	hasTxn   bool
	lastTime time.Time // the time of its last event, when it holds no transaction
	// The last point between transactions: a connection that breaks
	// goes back there.
	safeLen  int
	safeEnd  uint64
	safeTxn  binlog.Txn
	safeHas  bool
	safeTime time.Time
}

func newOpen(file string, start uint64, fde []byte, now time.Time) *open {
	o := &open{file: file, start: start, end: start, fde: fde, opened: now, safeEnd: start}
	o.buf.WriteString(binlog.Magic)
	o.buf.Write(fde)
	o.safeLen = o.buf.Len()
	return o
}

// add appends an event that ends at end: part of transaction txn (nil
// for an event between transactions); boundary says that no transaction
// is open after it.
func (o *open) add(raw []byte, end uint64, txn *binlog.Txn, boundary bool, at time.Time) {
	o.buf.Write(raw)
	o.end = end
	if txn != nil {
		if !o.hasTxn {
			o.first, o.hasTxn = *txn, true
		}
		o.last = *txn
	}
	o.lastTime = at
	if boundary {
		o.safeLen, o.safeEnd, o.safeTxn, o.safeHas, o.safeTime = o.buf.Len(), o.end, o.last, o.hasTxn, o.lastTime
	}
}

// truncate drops what came after the last point between transactions.
func (o *open) truncate() {
	o.buf.Truncate(o.safeLen)
	o.end, o.last, o.hasTxn, o.lastTime = o.safeEnd, o.safeTxn, o.safeHas, o.safeTime
	if !o.hasTxn {
		o.first = binlog.Txn{}
	}
}

// empty reports whether the segment holds no event of its own.
func (o *open) empty() bool { return o.end == o.start && !o.rotated }

// raw is the size of its data.
func (o *open) raw() int64 { return int64(o.buf.Len()) }

// closed is a segment ready to publish.
type closed struct {
	seg    binlog.Segment
	data   []byte // as stored: compressed, maybe encrypted
	sha256 string
	raw    int64
	opened time.Time
}

// seal is how segments are stored: the backups' envelope and signature.
type sealing struct {
	recipients []age.Recipient
	signKey    *seal.SigningKey
}

// close names the segment and compresses (and maybe encrypts) its data.
func (o *open) close(server string, writer uint32, c binlog.Codec, s sealing) (closed, error) {
	seg := binlog.Segment{Server: server, Writer: writer, File: o.file, Start: o.start, End: o.end, Rotated: o.rotated,
		Encrypted: len(s.recipients) > 0}
	switch {
	case o.hasTxn:
		seg.First, seg.Last = o.first.Commit, o.last.Commit
		seg.FirstGTID, seg.LastGTID = o.first.GTID, o.last.GTID
		if seg.FirstGTID == "" || seg.LastGTID == "" || binlog.CheckSegment(seg) != nil {
			seg.FirstGTID, seg.LastGTID = "", ""
		}
	default:
		seg.First, seg.Last = o.lastTime, o.lastTime
	}
	seg.First, seg.Last = seg.First.UTC().Truncate(time.Second), seg.Last.UTC().Truncate(time.Second)
	if seg.Last.Before(seg.First) {
		// A clock set back between two commits.
		seg.Last = seg.First
	}
	if err := binlog.CheckSegment(seg); err != nil {
		return closed{}, err
	}
	seg.Name = c.Name(seg)
	var out bytes.Buffer
	var w io.Writer = &out
	var env io.WriteCloser
	if seg.Encrypted {
		var err error
		if env, err = seal.Encrypt(&out, s.recipients); err != nil {
			return closed{}, err
		}
		w = env
	}
	// The dumps' window (2 MiB): a decoder keeps no more history.
	enc, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(2<<20), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return closed{}, err
	}
	if _, err := enc.Write(o.buf.Bytes()); err != nil {
		return closed{}, err
	}
	if err := enc.Close(); err != nil {
		return closed{}, err
	}
	if env != nil {
		if err := env.Close(); err != nil {
			return closed{}, err
		}
	}
	sum := sha256.Sum256(out.Bytes())
	return closed{seg: seg, data: out.Bytes(), sha256: hex.EncodeToString(sum[:]), raw: o.raw(), opened: o.opened}, nil
}

// meta is what a published segment records: its checksum, sizes, format
// version and signature.
func (c closed) meta(s sealing) map[string]string {
	m := catalog.Meta(c.sha256, c.raw)
	if s.signKey != nil {
		m[catalog.MetaSignature] = s.signKey.Sign(seal.Statement{Name: c.seg.Name, SHA256: c.sha256, Size: int64(len(c.data)),
			RawSize: c.raw, Version: m[catalog.MetaVersion]})
	}
	return m
}

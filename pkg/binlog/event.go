package binlog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
)

// Magic starts every binary log file.
const Magic = "\xfebin"

// HeaderSize is the size of an event's header in binary log version 4,
// which every MySQL since 5.0 and every MariaDB writes.
const HeaderSize = 19

// MaxEvent bounds the size of one event: a server sends none larger than
// its max_allowed_packet, at most 1 GiB.
const MaxEvent = 1 << 30

// The event types backupd tells apart: MySQL's numbers, and MariaDB's from
// 160 on.
const (
	typeQuery          = 2
	typeStop           = 3
	typeRotate         = 4
	typeIntvar         = 5
	typeRand           = 13
	typeUserVar        = 14
	typeFormat         = 15
	typeXID            = 16
	typeTableMap       = 19
	typeWriteRowsV1    = 23
	typeDeleteRowsV1   = 25
	typeIncident       = 26
	typeHeartbeat      = 27
	typeRowsQuery      = 29
	typeWriteRowsV2    = 30
	typeDeleteRowsV2   = 32
	typeGTID           = 33
	typeAnonymousGTID  = 34
	typePreviousGTIDs  = 35
	typePartialUpdate  = 39
	typePayload        = 40
	typeHeartbeatV2    = 41
	typeGTIDTagged     = 42
	typeAnnotateRows   = 160
	typeCheckpoint     = 161
	typeMariaGTID      = 162
	typeGTIDList       = 163
	typeQueryZip       = 165
	typeRowsZipFirst   = 166 // WRITE_ROWS_COMPRESSED_EVENT_V1
	typeRowsZipLast    = 171 // DELETE_ROWS_COMPRESSED_EVENT
	flagArtificial     = 0x20
	flagIgnorable      = 0x80
	rowsStmtEnd        = 0x01
	mariaStandalone    = 0x01
	mariaGroupCommitID = 0x02
	mariaPreparedXA    = 0x40
	mariaCompletedXA   = 0x80
)

// typeNames name the event types in messages.
var typeNames = map[byte]string{
	1: "START_V3", typeQuery: "QUERY", typeStop: "STOP", typeRotate: "ROTATE", typeIntvar: "INTVAR",
	6: "LOAD", 7: "SLAVE", 8: "CREATE_FILE", 9: "APPEND_BLOCK", 10: "EXEC_LOAD", 11: "DELETE_FILE", 12: "NEW_LOAD",
	typeRand: "RAND", typeUserVar: "USER_VAR", typeFormat: "FORMAT_DESCRIPTION", typeXID: "XID",
	17: "BEGIN_LOAD_QUERY", 18: "EXECUTE_LOAD_QUERY", typeTableMap: "TABLE_MAP",
	20: "PRE_GA_WRITE_ROWS", 21: "PRE_GA_UPDATE_ROWS", 22: "PRE_GA_DELETE_ROWS",
	23: "WRITE_ROWS_V1", 24: "UPDATE_ROWS_V1", 25: "DELETE_ROWS_V1", typeIncident: "INCIDENT",
	typeHeartbeat: "HEARTBEAT", 28: "IGNORABLE", typeRowsQuery: "ROWS_QUERY",
	30: "WRITE_ROWS", 31: "UPDATE_ROWS", 32: "DELETE_ROWS", typeGTID: "GTID", typeAnonymousGTID: "ANONYMOUS_GTID",
	typePreviousGTIDs: "PREVIOUS_GTIDS", 36: "TRANSACTION_CONTEXT", 37: "VIEW_CHANGE", 38: "XA_PREPARE",
	typePartialUpdate: "PARTIAL_UPDATE_ROWS", typePayload: "TRANSACTION_PAYLOAD", typeHeartbeatV2: "HEARTBEAT_V2",
	typeGTIDTagged: "GTID_TAGGED", typeAnnotateRows: "ANNOTATE_ROWS", typeCheckpoint: "BINLOG_CHECKPOINT",
	typeMariaGTID: "GTID (MariaDB)", typeGTIDList: "GTID_LIST", 164: "START_ENCRYPTION", typeQueryZip: "QUERY_COMPRESSED",
	166: "WRITE_ROWS_COMPRESSED_V1", 167: "UPDATE_ROWS_COMPRESSED_V1", 168: "DELETE_ROWS_COMPRESSED_V1",
	169: "WRITE_ROWS_COMPRESSED", 170: "UPDATE_ROWS_COMPRESSED", 171: "DELETE_ROWS_COMPRESSED",
}

// TypeName names an event type: "QUERY", "TABLE_MAP", "type 99".
func TypeName(t byte) string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type %d", t)
}

func isRows(t byte) bool {
	return t >= typeWriteRowsV1 && t <= typeDeleteRowsV1 || t >= typeWriteRowsV2 && t <= typeDeleteRowsV2 ||
		t == typePartialUpdate || t >= typeRowsZipFirst && t <= typeRowsZipLast
}

// Header is an event's common header.
type Header struct {
	Time     uint32 // seconds since 1970, the server's clock
	Type     byte
	ServerID uint32
	Size     uint32 // of the whole event, header and checksum included
	LogPos   uint32 // offset after the event in its file; 0 when the server did not say
	Flags    uint16
}

func parseHeader(b []byte) Header {
	return Header{
		Time:     binary.LittleEndian.Uint32(b[0:]),
		Type:     b[4],
		ServerID: binary.LittleEndian.Uint32(b[5:]),
		Size:     binary.LittleEndian.Uint32(b[9:]),
		LogPos:   binary.LittleEndian.Uint32(b[13:]),
		Flags:    binary.LittleEndian.Uint16(b[17:]),
	}
}

// Event is one event as the server wrote it: Raw holds it whole, header
// and checksum included.
type Event struct {
	Header
	Raw []byte
}

// ParseEvent reads the header of one whole event, checking that its size
// is the length of raw. It does not check the checksum (Format.Check).
func ParseEvent(raw []byte) (Event, error) {
	if len(raw) < HeaderSize {
		return Event{}, fmt.Errorf("event of %d bytes: shorter than its header", len(raw))
	}
	h := parseHeader(raw)
	if int(h.Size) != len(raw) {
		return Event{}, fmt.Errorf("%s event says it is %d bytes, not %d", TypeName(h.Type), h.Size, len(raw))
	}
	return Event{Header: h, Raw: raw}, nil
}

// Format is what a format description event says of the events after it.
type Format struct {
	Version    string // the server's version: "9.7.4-2", "11.8.9-MariaDB-0+deb13u1-log"
	Checksum   bool   // every event ends in a CRC32
	postHeader []byte // post-header lengths by type-1
	Raw        []byte // the event itself
}

// MariaDB reports whether the log was written by MariaDB.
func (f *Format) MariaDB() bool { return strings.Contains(f.Version, "MariaDB") }

// errFormat is wrapped by every event that does not read as its type says.
var errFormat = errors.New("malformed event")

func malformed(e Event, format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", errFormat, TypeName(e.Type), fmt.Sprintf(format, a...))
}

// ParseFormat reads a FORMAT_DESCRIPTION event (binary log version 4, a
// 19-byte header, a checksum algorithm byte) and checks its own checksum.
func ParseFormat(e Event) (*Format, error) {
	if e.Type != typeFormat {
		return nil, malformed(e, "not a format description")
	}
	b := e.Raw[HeaderSize:]
	// version(2) server version(50) created(4) header length(1), then the
	// post-header lengths, the checksum algorithm(1) and a checksum(4).
	if len(b) < 2+50+4+1+5 {
		return nil, malformed(e, "%d bytes", len(e.Raw))
	}
	if v := binary.LittleEndian.Uint16(b); v != 4 {
		return nil, malformed(e, "binary log version %d, want 4", v)
	}
	if b[56] != HeaderSize {
		return nil, malformed(e, "header length %d, want %d", b[56], HeaderSize)
	}
	f := &Format{Version: string(bytes.TrimRight(b[2:52], "\x00")), Raw: e.Raw}
	if strings.IndexFunc(f.Version, func(r rune) bool { return r < ' ' || r > '~' }) >= 0 {
		return nil, malformed(e, "server version %q", f.Version)
	}
	alg := b[len(b)-5]
	switch alg {
	case 0:
	case 1:
		f.Checksum = true
	default:
		return nil, malformed(e, "checksum algorithm %d", alg)
	}
	f.postHeader = b[57 : len(b)-5]
	// Every server since MySQL 5.0 writes QUERY events with a 13-byte
	// post-header; replay writes its own ROLLBACK in that form.
	if n, ok := f.postHeaderLen(typeQuery); !ok || n != queryPostHeader {
		return nil, malformed(e, "QUERY events with a post-header of %d bytes, want %d", n, queryPostHeader)
	}
	if f.Checksum && !crcOK(e.Raw) {
		return nil, fmt.Errorf("%w: FORMAT_DESCRIPTION", ErrChecksum)
	}
	return f, nil
}

// ErrChecksum means an event's CRC32 does not match its bytes.
var ErrChecksum = errors.New("event checksum does not match")

func crcOK(raw []byte) bool {
	n := len(raw) - 4
	return n >= HeaderSize && crc32.ChecksumIEEE(raw[:n]) == binary.LittleEndian.Uint32(raw[n:])
}

// Check checks e's checksum, when the format has them.
func (f *Format) Check(e Event) error {
	if e.Type == typeFormat || !f.Checksum {
		return nil
	}
	if !crcOK(e.Raw) {
		return fmt.Errorf("%w: %s event", ErrChecksum, TypeName(e.Type))
	}
	return nil
}

// data is e's bytes after the header, without the checksum.
func (f *Format) data(e Event) []byte {
	b := e.Raw[HeaderSize:]
	if f.Checksum && len(b) >= 4 {
		b = b[:len(b)-4]
	}
	return b
}

// postHeaderLen is the post-header length the format gives events of
// type t; ok is false when it gives none.
func (f *Format) postHeaderLen(t byte) (int, bool) {
	if int(t) < 1 || int(t) > len(f.postHeader) {
		return 0, false
	}
	return int(f.postHeader[t-1]), true
}

// rebuild is e with data (the bytes after the header) replaced: its size
// and checksum are set anew; its position is kept, which tools reading a
// file do not check.
func (f *Format) rebuild(e Event, data []byte) Event {
	n := HeaderSize + len(data)
	if f.Checksum {
		n += 4
	}
	raw := make([]byte, n)
	copy(raw, e.Raw[:HeaderSize])
	copy(raw[HeaderSize:], data)
	binary.LittleEndian.PutUint32(raw[9:], uint32(n))
	if f.Checksum {
		binary.LittleEndian.PutUint32(raw[n-4:], crc32.ChecksumIEEE(raw[:n-4]))
	}
	ev, _ := ParseEvent(raw)
	return ev
}

// Reader reads the events of one binary log file, or of a segment (the
// file's format description, then events of one stretch of it): the magic
// bytes, a format description first, then events whose sizes and
// checksums hold.
type Reader struct {
	r      *bufio.Reader
	format *Format
	hdr    [HeaderSize]byte
}

// NewReader checks the magic bytes of r and reads its format description.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var magic [4]byte
	_, err := io.ReadFull(br, magic[:])
	switch {
	case err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("read the binary log: %w", err)
	case err != nil || string(magic[:]) != Magic:
		return nil, errors.New("not a binary log: no magic bytes")
	}
	rd := &Reader{r: br}
	e, err := rd.read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("binary log ends before its format description")
	}
	if err != nil {
		return nil, err
	}
	if rd.format, err = ParseFormat(e); err != nil {
		return nil, err
	}
	return rd, nil
}

// Format is the format description the file starts with.
func (r *Reader) Format() *Format { return r.format }

// read reads one event whole; io.EOF only at an event boundary.
func (r *Reader) read() (Event, error) {
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return Event{}, io.EOF
		}
		return Event{}, fmt.Errorf("binary log ends inside an event header: %w", err)
	}
	h := parseHeader(r.hdr[:])
	if h.Size < HeaderSize || h.Size > MaxEvent {
		return Event{}, fmt.Errorf("%w: %s event of %d bytes", errFormat, TypeName(h.Type), h.Size)
	}
	// The buffer grows with what arrives, not with what the header
	// claims.
	buf := bytes.NewBuffer(make([]byte, 0, min(int(h.Size), 64<<10)))
	buf.Write(r.hdr[:])
	if _, err := io.CopyN(buf, r.r, int64(h.Size-HeaderSize)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Event{}, fmt.Errorf("binary log ends inside a %s event: %w", TypeName(h.Type), err)
	}
	return Event{Header: h, Raw: buf.Bytes()}, nil
}

// Next returns the next event, its checksum checked, or io.EOF after the
// last one. A later format description replaces the current one.
func (r *Reader) Next() (Event, error) {
	e, err := r.read()
	if err != nil {
		return Event{}, err
	}
	if e.Type == typeFormat {
		f, err := ParseFormat(e)
		if err != nil {
			return Event{}, err
		}
		r.format = f
		return e, nil
	}
	return e, r.format.Check(e)
}

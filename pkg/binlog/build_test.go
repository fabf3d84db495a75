package binlog

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"testing"
	"time"
)

// logBuilder writes binary log events as the servers do, for tests: a
// format description, then events whose positions follow on.
type logBuilder struct {
	mariadb  bool
	checksum bool
	serverID uint32
	pos      uint32 // the offset of the next event in the file
	now      time.Time
}

func newBuilder(mariadb bool) *logBuilder {
	return &logBuilder{mariadb: mariadb, checksum: true, serverID: 1, pos: FirstOffset, now: t0}
}

// event builds one event of type t with data after the header; it ends at
// the builder's position.
func (b *logBuilder) event(t byte, flags uint16, data []byte) []byte {
	n := HeaderSize + len(data)
	if b.checksum {
		n += 4
	}
	raw := make([]byte, n)
	binary.LittleEndian.PutUint32(raw[0:], uint32(b.now.Unix()))
	raw[4] = t
	binary.LittleEndian.PutUint32(raw[5:], b.serverID)
	binary.LittleEndian.PutUint32(raw[9:], uint32(n))
	b.pos += uint32(n)
	binary.LittleEndian.PutUint32(raw[13:], b.pos)
	binary.LittleEndian.PutUint16(raw[17:], flags)
	copy(raw[HeaderSize:], data)
	if b.checksum {
		binary.LittleEndian.PutUint32(raw[n-4:], crc32.ChecksumIEEE(raw[:n-4]))
	}
	return raw
}

func (b *logBuilder) fde() []byte {
	data := make([]byte, 2+50+4+1)
	binary.LittleEndian.PutUint16(data, 4)
	v := "9.7.4-2"
	if b.mariadb {
		v = "11.8.9-MariaDB-log"
	}
	copy(data[2:], v)
	data[56] = HeaderSize
	post := make([]byte, 171)
	post[typeQuery-1] = queryPostHeader
	post[typeTableMap-1] = tableMapPostHeader
	for t := typeWriteRowsV1; t <= typeDeleteRowsV1; t++ {
		post[t-1] = 8
	}
	for t := typeWriteRowsV2; t <= typeDeleteRowsV2; t++ {
		post[t-1] = 10
	}
	for t := typeRowsZipFirst; t <= typeRowsZipLast; t++ {
		post[t-1] = 10
	}
	post[typeRotate-1] = 8
	data = append(data, post...)
	alg := byte(0)
	if b.checksum {
		alg = 1
	}
	data = append(data, alg)
	if !b.checksum {
		// The checksum field is there even without checksums.
		data = append(data, 0, 0, 0, 0)
	}
	return b.event(typeFormat, 0, data)
}

// gtid starts a transaction committed at the builder's clock.
func (b *logBuilder) gtid(seq uint64, standalone bool) []byte {
	if b.mariadb {
		data := binary.LittleEndian.AppendUint64(nil, seq)
		data = binary.LittleEndian.AppendUint32(data, 0)
		flags := byte(0)
		if standalone {
			flags = mariaStandalone
		}
		return b.event(typeMariaGTID, 0, append(data, flags))
	}
	data := []byte{1}
	data = append(data, bytes.Repeat([]byte{0xab}, 16)...)
	data = binary.LittleEndian.AppendUint64(data, seq)
	data = append(data, 2)
	data = binary.LittleEndian.AppendUint64(data, 0)
	data = binary.LittleEndian.AppendUint64(data, 0)
	us := binary.LittleEndian.AppendUint64(nil, uint64(b.now.UnixMicro()))
	data = append(data, us[:7]...)
	data = append(data, 0) // transaction length
	return b.event(typeGTID, 0, data)
}

func (b *logBuilder) queryWith(db, text string, status []byte, code uint16) []byte {
	data := make([]byte, queryPostHeader)
	data[8] = byte(len(db))
	binary.LittleEndian.PutUint16(data[9:], code)
	binary.LittleEndian.PutUint16(data[11:], uint16(len(status)))
	data = append(data, status...)
	data = append(data, db...)
	data = append(data, 0)
	data = append(data, text...)
	return b.event(typeQuery, 0, data)
}

func (b *logBuilder) query(db, text string) []byte {
	// flags2, sql_mode, charset: what servers write before every statement.
	status := []byte{qFlags2, 0, 0, 0, 0, qSQLMode, 0, 0, 0, 0, 0, 0, 0, 0, qCharset, 45, 0, 45, 0, 45, 0}
	return b.queryWith(db, text, status, 0)
}

func (b *logBuilder) tableMap(id uint64, db, table string) []byte {
	data := make([]byte, 6)
	for i := range 6 {
		data[i] = byte(id >> (8 * i))
	}
	data = append(data, 0, 0)
	data = append(data, byte(len(db)))
	data = append(data, db...)
	data = append(data, 0, byte(len(table)))
	data = append(data, table...)
	data = append(data, 0)
	data = append(data, 1, 3, 0, 0) // one INT column, its metadata, nullability
	return b.event(typeTableMap, 0, data)
}

func (b *logBuilder) rows(id uint64, end bool) []byte {
	data := make([]byte, 6)
	for i := range 6 {
		data[i] = byte(id >> (8 * i))
	}
	flags := uint16(0)
	if end {
		flags = rowsStmtEnd
	}
	data = binary.LittleEndian.AppendUint16(data, flags)
	data = binary.LittleEndian.AppendUint16(data, 2) // extra data length
	data = append(data, 1, 0xff, 0, 7, 0, 0, 0)      // one column, a row
	return b.event(typeWriteRowsV2, 0, data)
}

func (b *logBuilder) xid() []byte {
	return b.event(typeXID, 0, binary.LittleEndian.AppendUint64(nil, 42))
}

func (b *logBuilder) rotate(next string) []byte {
	data := binary.LittleEndian.AppendUint64(nil, FirstOffset)
	return b.event(typeRotate, 0, append(data, next...))
}

// rowTxn is one transaction of row changes to db.table, as MySQL writes
// it (MariaDB: without BEGIN).
func (b *logBuilder) rowTxn(seq uint64, db, table string) []byte {
	var out []byte
	out = append(out, b.gtid(seq, false)...)
	if !b.mariadb {
		out = append(out, b.query(db, "BEGIN")...)
	}
	out = append(out, b.tableMap(100+seq, db, table)...)
	out = append(out, b.rows(100+seq, true)...)
	return append(out, b.xid()...)
}

// ddl is one statement that commits itself.
func (b *logBuilder) ddl(seq uint64, db, text string) []byte {
	return append(b.gtid(seq, true), b.query(db, text)...)
}

// segmentOf makes a segment of events that the builder wrote from start
// on (events), in file.
func (b *logBuilder) segmentOf(file string, start uint64, fde []byte, events ...[]byte) (Segment, []byte) {
	data := []byte(Magic)
	data = append(data, fde...)
	for _, e := range events {
		data = append(data, e...)
	}
	seg := Segment{Name: "seg-" + file, Server: "id1", File: file, Start: start, End: uint64(b.pos), First: t0, Last: b.now}
	return seg, data
}

// describe lists the events of a binary log as type, database and text.
func describe(t *testing.T, log []byte) []string {
	t.Helper()
	if len(log) == 0 {
		return nil
	}
	rd, err := NewReader(bytes.NewReader(log))
	if err != nil {
		t.Fatalf("the replay's output does not read: %v", err)
	}
	out := []string{"FORMAT_DESCRIPTION"}
	f := rd.Format()
	for {
		e, err := rd.Next()
		if err != nil {
			break
		}
		switch e.Type {
		case typeQuery:
			q, err := f.decodeQuery(e)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, "QUERY "+q.DB+": "+string(q.Text))
		case typeTableMap:
			tm, _, err := f.decodeTableMap(e)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, "TABLE_MAP "+tm.DB+"."+tm.Table)
		default:
			out = append(out, TypeName(e.Type))
		}
	}
	return out
}

func join(s []string) string { return strings.Join(s, "\n") }

package binlog

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// Txn is what the event that starts a transaction says of it.
type Txn struct {
	// Commit is when it committed, the server's clock: to the
	// microsecond on MySQL 8 (immediate_commit_timestamp), else to the
	// second.
	Commit time.Time
	// GTID is "uuid:gno" (MySQL), "domain-server-seq" (MariaDB), "" for
	// an anonymous transaction.
	GTID string
	// Standalone: MariaDB writes no COMMIT for it; it ends after its one
	// statement.
	Standalone bool
	// XA: a transaction of two-phase commit, which replay refuses.
	XA bool
}

// isTxnStart reports whether events of type t start a transaction.
func isTxnStart(t byte) bool {
	return t == typeGTID || t == typeAnonymousGTID || t == typeGTIDTagged || t == typeMariaGTID
}

// decodeTxn reads a GTID event of either family.
func (f *Format) decodeTxn(e Event) (Txn, error) {
	b := f.data(e)
	tx := Txn{Commit: time.Unix(int64(e.Time), 0).UTC()}
	switch e.Type {
	case typeGTID, typeAnonymousGTID:
		// flags(1) sid(16) gno(8) [type 2: last_committed(8)
		// sequence_number(8) immediate_commit_timestamp(7) ...]
		if len(b) < 25 {
			return tx, malformed(e, "%d bytes", len(b))
		}
		if e.Type == typeGTID {
			sid := hex.EncodeToString(b[1:17])
			tx.GTID = sid[0:8] + "-" + sid[8:12] + "-" + sid[12:16] + "-" + sid[16:20] + "-" + sid[20:32] + ":" +
				strconv.FormatUint(binary.LittleEndian.Uint64(b[17:]), 10)
		}
		if len(b) >= 25+17+7 && b[25] == 2 {
			var ts [8]byte
			copy(ts[:], b[42:49])
			us := binary.LittleEndian.Uint64(ts[:]) &^ (1 << 55)
			if us > 0 {
				tx.Commit = time.UnixMicro(int64(us)).UTC()
			}
		}
	case typeGTIDTagged:
		// A tagged GTID's serialised form is not read: the header's
		// time is its commit time, to the second.
		tx.GTID = "tagged"
	case typeMariaGTID:
		// seq_no(8) domain_id(4) flags(1) ...
		if len(b) < 13 {
			return tx, malformed(e, "%d bytes", len(b))
		}
		seq, domain, flags := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint32(b[8:]), b[12]
		tx.GTID = fmt.Sprintf("%d-%d-%d", domain, e.ServerID, seq)
		tx.Standalone = flags&mariaStandalone != 0
		tx.XA = flags&(mariaPreparedXA|mariaCompletedXA) != 0
	default:
		return tx, malformed(e, "not a GTID event")
	}
	return tx, nil
}

// Query is a QUERY event read.
type Query struct {
	DB       string // the default database; "" for none
	Text     []byte
	TimeZone string // the session's time_zone, when the event records it
	SQLMode  uint64 // the session's sql_mode, when the event records it
	Code     uint16 // the error the statement ended with on the server
	// Charset is the session's character_set_client (a collation
	// number), when hasCharset: the event records it.
	Charset    uint16
	hasCharset bool
	status     []byte // the status variables, as they were
	thread     []byte // thread id, exec time (8 bytes)
}

// Status variable codes of QUERY events (MySQL's, then MariaDB's from 128).
const (
	qFlags2              = 0
	qSQLMode             = 1
	qCatalog             = 2
	qAutoIncrement       = 3
	qCharset             = 4
	qTimeZone            = 5
	qCatalogNZ           = 6
	qLCTimeNames         = 7
	qCharsetDatabase     = 8
	qTableMapForUpdate   = 9
	qMasterDataWritten   = 10
	qInvoker             = 11
	qUpdatedDBNames      = 12
	qMicroseconds        = 13
	qExplicitDefaultsTS  = 16
	qDDLLoggedWithXID    = 17
	qDefaultCollation    = 18
	qRequirePrimaryKey   = 19
	qDefaultEncryption   = 20
	qHRNow               = 128
	qXID                 = 129
	qGTIDFlags3          = 130
	qCharsetCollations   = 131
	overMaxDBs           = 254
	flags3CommitAlter    = 4 // Gtid_log_event::FL_COMMIT_ALTER_E1
	flags3RollbackAlter  = 8 // Gtid_log_event::FL_ROLLBACK_ALTER_E1
	queryPostHeader      = 13
	tableMapPostHeader   = 8
	maxNameLen           = 64
	timeZoneCharsAllowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_/+-:."
)

// fixedStatus are the status variables of a fixed size.
var fixedStatus = map[byte]int{
	qFlags2: 4, qSQLMode: 8, qAutoIncrement: 4, qCharset: 6, qLCTimeNames: 2, qCharsetDatabase: 2,
	qTableMapForUpdate: 8, qMasterDataWritten: 4, qMicroseconds: 3, qExplicitDefaultsTS: 1,
	qDDLLoggedWithXID: 8, qDefaultCollation: 2, qRequirePrimaryKey: 1, qDefaultEncryption: 1,
	qHRNow: 3, qXID: 8,
}

// decodeQuery reads a QUERY event. Every status variable must be one the
// servers of today write, so that none is left unread that a tool would
// print: an unknown one is an error.
func (f *Format) decodeQuery(e Event) (Query, error) {
	if n, ok := f.postHeaderLen(typeQuery); !ok || n != queryPostHeader {
		return Query{}, malformed(e, "the format gives QUERY a post-header of %d bytes, want %d", n, queryPostHeader)
	}
	b := f.data(e)
	if len(b) < queryPostHeader {
		return Query{}, malformed(e, "%d bytes", len(b))
	}
	dbLen := int(b[8])
	q := Query{Code: binary.LittleEndian.Uint16(b[9:]), thread: b[:8]}
	statusLen := int(binary.LittleEndian.Uint16(b[11:]))
	rest := b[queryPostHeader:]
	if statusLen > len(rest) || dbLen+1 > len(rest)-statusLen {
		return Query{}, malformed(e, "status variables or database name past the end")
	}
	q.status = rest[:statusLen]
	if err := q.readStatus(e); err != nil {
		return Query{}, err
	}
	rest = rest[statusLen:]
	if rest[dbLen] != 0 {
		return Query{}, malformed(e, "database name not ended by a zero byte")
	}
	q.DB, q.Text = string(rest[:dbLen]), rest[dbLen+1:]
	return q, nil
}

// readStatus walks the status variables, keeping the time zone.
func (q *Query) readStatus(e Event) error {
	s := q.status
	for i := 0; i < len(s); {
		code := s[i]
		i++
		if n, ok := fixedStatus[code]; ok {
			if i+n > len(s) {
				return malformed(e, "status variable %d past the end", code)
			}
			switch code {
			case qSQLMode:
				q.SQLMode = binary.LittleEndian.Uint64(s[i:])
			case qCharset:
				q.Charset, q.hasCharset = binary.LittleEndian.Uint16(s[i:]), true
			}
			i += n
			continue
		}
		switch code {
		case qTimeZone, qCatalogNZ:
			if i >= len(s) || i+1+int(s[i]) > len(s) {
				return malformed(e, "status variable %d past the end", code)
			}
			v := string(s[i+1 : i+1+int(s[i])])
			if code == qTimeZone {
				for _, r := range v {
					if !containsRune(timeZoneCharsAllowed, r) {
						return malformed(e, "time zone %q", v)
					}
				}
				q.TimeZone = v
			}
			i += 1 + int(s[i])
		case qCatalog:
			if i >= len(s) || i+2+int(s[i]) > len(s) {
				return malformed(e, "status variable %d past the end", code)
			}
			i += 2 + int(s[i])
		case qInvoker:
			for range 2 {
				if i >= len(s) || i+1+int(s[i]) > len(s) {
					return malformed(e, "invoker past the end")
				}
				i += 1 + int(s[i])
			}
		case qUpdatedDBNames:
			if i >= len(s) {
				return malformed(e, "updated databases past the end")
			}
			n := int(s[i])
			i++
			if n == overMaxDBs {
				continue
			}
			for range n {
				j := i
				for j < len(s) && s[j] != 0 {
					j++
				}
				if j >= len(s) {
					return malformed(e, "updated databases past the end")
				}
				i = j + 1
			}
		case qGTIDFlags3:
			if i >= len(s) {
				return malformed(e, "status variable %d past the end", code)
			}
			extra := s[i]
			i++
			if extra&(flags3CommitAlter|flags3RollbackAlter) != 0 {
				if i+8 > len(s) {
					return malformed(e, "status variable %d past the end", code)
				}
				i += 8
			}
		case qCharsetCollations:
			if i >= len(s) || i+1+4*int(s[i]) > len(s) {
				return malformed(e, "status variable %d past the end", code)
			}
			i += 1 + 4*int(s[i])
		default:
			return malformed(e, "unknown status variable %d", code)
		}
	}
	return nil
}

func containsRune(s string, r rune) bool {
	for _, c := range s {
		if c == r {
			return true
		}
	}
	return false
}

// encodeQuery is the event data of q (as decodeQuery read it) with its
// database and text replaced.
func encodeQuery(q Query, db string, text []byte) []byte {
	out := make([]byte, 0, queryPostHeader+len(q.status)+len(db)+1+len(text))
	out = append(out, q.thread...)
	out = append(out, byte(len(db)))
	out = binary.LittleEndian.AppendUint16(out, q.Code)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(q.status)))
	out = append(out, q.status...)
	out = append(out, db...)
	out = append(out, 0)
	return append(out, text...)
}

// tableIDLen is the size of table ids in TABLE_MAP and rows events: 6
// bytes, 4 when the post-header is 6 bytes long (MySQL before 5.1.4).
func (f *Format) tableIDLen(t byte) int {
	if n, ok := f.postHeaderLen(t); ok && n == 6 {
		return 4
	}
	return 6
}

func readID(b []byte, n int) uint64 {
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// TableMap is a TABLE_MAP event read.
type TableMap struct {
	ID    uint64
	DB    string
	Table string
}

// decodeTableMap reads a TABLE_MAP event; the rest (its columns) is the
// server's to read.
func (f *Format) decodeTableMap(e Event) (TableMap, []byte, error) {
	b := f.data(e)
	idLen := f.tableIDLen(typeTableMap)
	if len(b) < idLen+2+1 {
		return TableMap{}, nil, malformed(e, "%d bytes", len(b))
	}
	tm := TableMap{ID: readID(b, idLen)}
	i := idLen + 2
	n := int(b[i])
	if i+1+n+1 > len(b) || b[i+1+n] != 0 {
		return TableMap{}, nil, malformed(e, "database name past the end")
	}
	tm.DB = string(b[i+1 : i+1+n])
	i += 1 + n + 1
	if i >= len(b) {
		return TableMap{}, nil, malformed(e, "table name past the end")
	}
	n = int(b[i])
	if i+1+n+1 > len(b) || b[i+1+n] != 0 {
		return TableMap{}, nil, malformed(e, "table name past the end")
	}
	tm.Table = string(b[i+1 : i+1+n])
	return tm, b, nil
}

// encodeTableMap is data (a TABLE_MAP's, as decodeTableMap returned it)
// with its database name replaced.
func (f *Format) encodeTableMap(data []byte, tm TableMap, db string) []byte {
	idLen := f.tableIDLen(typeTableMap)
	head := data[:idLen+2]
	rest := data[idLen+2+1+len(tm.DB)+1:]
	out := make([]byte, 0, len(data)+len(db))
	out = append(out, head...)
	out = append(out, byte(len(db)))
	out = append(out, db...)
	out = append(out, 0)
	return append(out, rest...)
}

// decodeRows reads the table id and flags of a rows event.
func (f *Format) decodeRows(e Event) (id uint64, flags uint16, err error) {
	b := f.data(e)
	idLen := f.tableIDLen(e.Type)
	if len(b) < idLen+2 {
		return 0, 0, malformed(e, "%d bytes", len(b))
	}
	return readID(b, idLen), binary.LittleEndian.Uint16(b[idLen:]), nil
}

// dummyTable is the table id of the rows event that only ends a statement.
func dummyTable(id uint64, idLen int) bool { return id == 1<<(8*idLen)-1 }

// decodeRotate reads where a ROTATE event says the log goes on.
func (f *Format) decodeRotate(e Event) (Pos, error) { return rotation(e, f.data(e)) }

// rotation reads b, a ROTATE event's data: the offset, then the file.
func rotation(e Event, b []byte) (Pos, error) {
	if len(b) < 8+1 {
		return Pos{}, malformed(e, "%d bytes", len(b))
	}
	p := Pos{File: string(b[8:]), Offset: binary.LittleEndian.Uint64(b)}
	if err := CheckFile(p.File); err != nil {
		return Pos{}, malformed(e, "%v", err)
	}
	return p, nil
}

// decodeUserVar reads the name of a USER_VAR event.
func (f *Format) decodeUserVar(e Event) (string, error) {
	b := f.data(e)
	if len(b) < 4 {
		return "", malformed(e, "%d bytes", len(b))
	}
	n := binary.LittleEndian.Uint32(b)
	if n == 0 || n > maxNameLen || int(n) > len(b)-4 {
		return "", malformed(e, "user variable name of %d bytes", n)
	}
	name := string(b[4 : 4+n])
	if !nameSafe(name, "_$") {
		return "", malformed(e, "user variable name %q", name)
	}
	return name, nil
}

// Rotation reads where a ROTATE event says the log goes on. The event
// may end in a checksum or not (the server sends the first one of a
// connection without): a last four bytes that are the CRC32 of the rest
// are taken for one.
func Rotation(raw []byte) (Pos, error) {
	e, err := ParseEvent(raw)
	if err != nil {
		return Pos{}, err
	}
	if e.Type != typeRotate {
		return Pos{}, malformed(e, "not a ROTATE")
	}
	b := raw[HeaderSize:]
	if crcOK(raw) {
		b = b[:len(b)-4]
	}
	return rotation(e, b)
}

package binlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/backupd/backupd/pkg/sqltext"
)

// systemDatabases are foreign to every replay.
var systemDatabases = []string{"mysql", "sys", "information_schema", "performance_schema"}

// ReplayOptions say what a replay lets through.
type ReplayOptions struct {
	// Database is the recovered database, as the source server names it.
	Database string
	// Target is the database the events go to; Database when "". A
	// different name is written into every event that names the
	// database (TABLE_MAP, QUERY).
	Target string
	// Foreign are the target server's other databases (compared without
	// case): no statement that runs may name them. The system databases
	// are always foreign, and so is Database when Target differs.
	Foreign []string
	// From is where the log is replayed from: the backup's coordinates.
	From Pos
	// Until, when not zero, ends the replay before the first transaction
	// that committed at or after it (MariaDB records commit times to the
	// second, MySQL 8 to the microsecond).
	Until time.Time
}

// Replay writes a binary log holding, of the segments it is given, only
// what changes the recovered database, for the server family's own tool
// (mysqlbinlog, mariadb-binlog) to turn into statements. It is the one
// home of what a replay may run:
//   - transactions are followed by their GTID events; one that committed
//     at or after Until ends the replay;
//   - row changes go through when every table their statement maps is in
//     the recovered database; a statement that maps only other
//     databases' tables is left out; one that maps both stops the
//     replay;
//   - statements (QUERY events) of the recovered database run when they
//     are data changes or definitions of its objects (tables, indexes,
//     views, triggers, routines, events, sequences), with DEFINER clauses
//     taken out, and name no other database; privileges, accounts and
//     maintenance are left out; anything else stops the replay; other
//     databases' statements are left out;
//   - events a tool would print as text without need (the statements
//     annotated on row events) are left out; event types it does not know
//     stop the replay.
//
// Nothing is trusted: every event's size, checksum and position is
// checked, and positions must follow on from one segment to the next. A
// replay that stops in the middle of a transaction ends it with ROLLBACK.
type Replay struct {
	w        io.Writer
	opts     ReplayOptions
	gate     statementGate
	started  bool   // the magic bytes are out
	fdeFile  string // the file whose format description was written last
	format   *Format
	pos      Pos  // where the next event must start
	fileDone bool // the current file ended (ROTATE, STOP, or a segment marked rotated)
	next     Pos  // where a ROTATE said the log goes on

	tx      *txnState
	res     Result
	stopped error
}

// txnState follows the transaction being read.
type txnState struct {
	txn      Txn
	start    Pos
	explicit bool    // BEGIN, or a MariaDB GTID that is not standalone
	pending  []Event // its events not written yet
	written  bool    // something of it is out
	vars     []Event // INTVAR, RAND, USER_VAR for the next statement
	maps     []mapped
	keep     int // of the current statement's row changes: 0 undecided, 1 kept, -1 left out
	skipped  []string
}

type mapped struct {
	ev Event
	tm TableMap
}

// Result is what a replay did.
type Result struct {
	Applied int // transactions written, whole or in part
	Skipped int // transactions left out whole: other databases'
	// SkippedStatements counts the statements of the recovered database
	// left out, by kind ("grant", "analyze", ...).
	SkippedStatements map[string]int
	Last              Txn // the last transaction written
	End               Pos // where the events read end
	// Next is the first transaction not replayed because it committed
	// at or after Until; zero when Until was not reached.
	Next Txn
}

// StopError is a transaction the replay does not run, and why; the replay
// ends before it.
type StopError struct {
	At     Pos       // where its first event starts
	Commit time.Time // when it committed
	GTID   string
	Kind   string // "drop database", "row changes", ...
	Reason string
}

func (e *StopError) Error() string {
	id := ""
	if e.GTID != "" {
		id = " " + e.GTID
	}
	return fmt.Sprintf("replay stopped before the transaction%s at %s, committed %s: %s: %s", id, e.At,
		e.Commit.UTC().Format("2006-01-02 15:04:05.000000 UTC"), e.Kind, e.Reason)
}

// NewReplay starts a replay into w.
func NewReplay(w io.Writer, opts ReplayOptions) (*Replay, error) {
	if opts.Database == "" {
		return nil, errors.New("replay: no database named")
	}
	if _, err := ParsePos(opts.From.String()); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if opts.Target == "" {
		opts.Target = opts.Database
	}
	foreign := map[string]bool{}
	for _, n := range append(append([]string(nil), systemDatabases...), opts.Foreign...) {
		foreign[strings.ToLower(n)] = true
	}
	delete(foreign, strings.ToLower(opts.Target))
	if opts.Target != opts.Database {
		foreign[strings.ToLower(opts.Database)] = true
	}
	r := &Replay{w: w, opts: opts, pos: opts.From, res: Result{SkippedStatements: map[string]int{}, End: opts.From}}
	names := make([]string, 0, len(foreign))
	for n := range foreign {
		names = append(names, n)
	}
	sort.Strings(names)
	r.gate = statementGate{own: opts.Database, foreignNames: names, foreign: func(n string) bool { return foreign[strings.ToLower(n)] }}
	return r, nil
}

// Pos is where the next event must start.
func (r *Replay) Pos() Pos { return r.pos }

// Segment replays the events of seg (data: the segment uncompressed, a
// binary log file of its own) from the replay's position on: events
// before it are skipped (an overlapping segment), and the segment must
// reach it. It returns a *StopError when the gate refuses a transaction,
// and io.EOF once Until was reached; both end the replay.
func (r *Replay) Segment(seg Segment, data io.Reader) error {
	if r.stopped != nil {
		return r.stopped
	}
	if err := r.enter(seg); err != nil {
		return err
	}
	err := walk(seg, data, func(f *Format, first uint64) {
		r.format = f
		if r.pos.Offset == FirstOffset {
			r.pos.Offset = first
		}
	}, func(e Event, start, end uint64) error {
		if end <= r.pos.Offset {
			return nil // replayed already
		}
		if start != r.pos.Offset {
			return fmt.Errorf("segment %s: no event starts at %s (one starts at %d): the position is not an event boundary", seg.Name, r.pos, start)
		}
		if err := r.event(e, Pos{File: seg.File, Offset: start}); err != nil {
			return r.stop(err)
		}
		r.pos.Offset = end
		r.res.End = r.pos
		return nil
	})
	if err != nil {
		return err
	}
	if seg.Rotated {
		r.fileDone = true
	}
	return nil
}

// CheckEvents reads the events of seg (data: the segment uncompressed)
// and checks what Replay.Segment checks of them on its own, before any is
// used: the format description, every event's size and checksum, that each
// ends where its header says, and that they end where seg's name says. A
// replay that checks a segment first sends nothing of one that is not
// what its name says.
func CheckEvents(seg Segment, data io.Reader) error {
	return walk(seg, data, func(*Format, uint64) {}, func(Event, uint64, uint64) error { return nil })
}

// walk reads the events of seg, checking them as CheckEvents says, and
// calls format with the segment's format description and where its first
// event starts, then each with every event and where it starts and ends.
// An error of each is returned as it is.
func walk(seg Segment, data io.Reader, format func(f *Format, first uint64), each func(e Event, start, end uint64) error) error {
	rd, err := NewReader(data)
	if err != nil {
		return fmt.Errorf("segment %s: %w", seg.Name, err)
	}
	cur := seg.Start
	if seg.Start == FirstOffset {
		// The file's own format description comes first.
		fde := rd.Format().Raw
		if lp := parseHeader(fde).LogPos; lp != 0 && lp != FirstOffset+uint32(len(fde)) {
			return fmt.Errorf("segment %s: its format description ends at %d, not %d", seg.Name, lp, FirstOffset+len(fde))
		}
		cur += uint64(len(fde))
	}
	format(rd.Format(), cur)
	for {
		e, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("segment %s at %d: %w", seg.Name, cur, err)
		}
		start, end := cur, cur+uint64(e.Size)
		cur = end
		if e.LogPos != 0 && uint64(e.LogPos) != end&0xffffffff {
			return fmt.Errorf("segment %s: the %s event at %d says it ends at %d, not %d: events are missing or the segment is not what its name says",
				seg.Name, TypeName(e.Type), start, e.LogPos, end)
		}
		if e.Type == typeFormat {
			return fmt.Errorf("segment %s: a second format description at %d", seg.Name, start)
		}
		if err := each(e, start, end); err != nil {
			return err
		}
	}
	if cur != seg.End {
		return fmt.Errorf("segment %s: its events end at %d, its name says %d", seg.Name, cur, seg.End)
	}
	return nil
}

// enter checks that seg continues the log where the replay stands.
func (r *Replay) enter(seg Segment) error {
	if seg.File == r.pos.File {
		if seg.Start > r.pos.Offset || seg.End < r.pos.Offset || seg.End == r.pos.Offset && !seg.Rotated {
			return fmt.Errorf("segment %s holds %d to %d, not %s: the log has a gap", seg.Name, seg.Start, seg.End, r.pos)
		}
		return nil
	}
	want, _ := Next(r.pos.File)
	if r.next.File != "" {
		want = r.next.File
	}
	switch {
	case !r.fileDone:
		return fmt.Errorf("segment %s starts file %s, but %s was not seen to end at %d: the log has a gap", seg.Name, seg.File, r.pos.File, r.pos.Offset)
	case r.tx != nil:
		return fmt.Errorf("segment %s starts file %s inside a transaction of %s", seg.Name, seg.File, r.pos.File)
	case seg.File != want || seg.Start != FirstOffset:
		return fmt.Errorf("segment %s holds %s from %d, not %s from the start: the log has a gap", seg.Name, seg.File, seg.Start, want)
	}
	r.pos, r.fileDone, r.next = Pos{File: seg.File, Offset: FirstOffset}, false, Pos{}
	return nil
}

// stop ends the replay at err: a transaction left open is rolled back.
func (r *Replay) stop(err error) error {
	if r.tx != nil && r.tx.written {
		if werr := r.write(r.rollback()); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	r.tx = nil
	r.stopped = err
	return err
}

// Close ends the replay: a transaction the segments leave open (the log
// ends inside it) is rolled back. It returns what the replay did.
func (r *Replay) Close() (Result, error) {
	if r.stopped == nil && r.tx != nil && r.tx.written {
		if err := r.write(r.rollback()); err != nil {
			return r.res, err
		}
	}
	if !r.started && r.format != nil {
		// Nothing ran: the tool still reads a binary log, one without
		// events.
		if err := r.write(); err != nil {
			return r.res, err
		}
	}
	r.tx = nil
	return r.res, nil
}

// write sends events on, after the magic bytes and the format
// description of the file they come from.
func (r *Replay) write(evs ...Event) error {
	if !r.started {
		if _, err := io.WriteString(r.w, Magic); err != nil {
			return err
		}
		r.started = true
	}
	if r.fdeFile != r.pos.File {
		if _, err := r.w.Write(r.format.Raw); err != nil {
			return err
		}
		r.fdeFile = r.pos.File
	}
	for _, e := range evs {
		if _, err := r.w.Write(e.Raw); err != nil {
			return err
		}
	}
	return nil
}

// refused is the StopError for the current transaction.
func (r *Replay) refused(kind, reason string) error {
	se := &StopError{At: r.pos, Kind: kind, Reason: reason}
	if r.tx != nil {
		se.At, se.Commit, se.GTID = r.tx.start, r.tx.txn.Commit, r.tx.txn.GTID
	}
	return se
}

// event handles one event that starts at p.
func (r *Replay) event(e Event, p Pos) error {
	f := r.format
	switch {
	case isTxnStart(e.Type):
		if r.tx != nil {
			return r.refused("transaction", "a transaction starts inside another")
		}
		txn, err := f.decodeTxn(e)
		if err != nil {
			return err
		}
		if !r.opts.Until.IsZero() && !txn.Commit.Before(r.opts.Until) {
			r.res.Next = txn
			return io.EOF
		}
		r.tx = &txnState{txn: txn, start: p, explicit: e.Type == typeMariaGTID && !txn.Standalone, pending: []Event{e}}
		if txn.XA {
			return r.refused("xa", "XA transactions are not replayed")
		}
		return nil
	case e.Type == typeQuery:
		return r.query(e)
	case e.Type == typeXID:
		if r.tx == nil {
			return r.refused("xid", "a commit outside a transaction")
		}
		return r.end(e)
	case e.Type == typeTableMap:
		return r.tableMap(e)
	case isRows(e.Type):
		return r.rows(e)
	case e.Type == typeIntvar || e.Type == typeRand || e.Type == typeUserVar:
		if r.tx == nil {
			return r.refused(TypeName(e.Type), "outside a transaction")
		}
		if e.Type == typeUserVar {
			if _, err := f.decodeUserVar(e); err != nil {
				return err
			}
		}
		r.tx.vars = append(r.tx.vars, e)
		return nil
	case e.Type == typeAnnotateRows || e.Type == typeRowsQuery:
		return nil // the statement behind row changes, as text: not needed
	case e.Type == typeRotate:
		if e.Flags&flagArtificial != 0 {
			return nil
		}
		if r.tx != nil {
			return r.refused("rotate", "the file ends inside a transaction")
		}
		next, err := f.decodeRotate(e)
		if err != nil {
			return err
		}
		r.fileDone, r.next = true, next
		return nil
	case e.Type == typeStop:
		if r.tx != nil {
			return r.refused("stop", "the server stopped inside a transaction")
		}
		r.fileDone = true
		return nil
	case e.Type == typePreviousGTIDs || e.Type == typeGTIDList || e.Type == typeCheckpoint ||
		e.Type == typeHeartbeat || e.Type == typeHeartbeatV2:
		if r.tx != nil {
			return r.refused(TypeName(e.Type), "inside a transaction")
		}
		return nil
	case e.Type == typeIncident:
		return r.refused("incident", "the server recorded an incident: changes after it may be missing from the log")
	case e.Type == typePayload:
		return r.refused("compressed transaction", "the server compresses transactions (binlog_transaction_compression=ON), which replay does not read: turn it off")
	case e.Type == typeQueryZip:
		return r.refused("compressed statement", "the server compresses statements (log_bin_compress=ON), which replay does not read: turn it off")
	case e.Flags&flagIgnorable != 0:
		return nil // a type this replay does not know, which the server marks as safe to ignore
	}
	return r.refused(TypeName(e.Type), "replay does not run events of this type")
}

// query handles a QUERY event.
func (r *Replay) query(e Event) error {
	q, err := r.format.decodeQuery(e)
	if err != nil {
		return err
	}
	j := r.gate.judge(q, q.SQLMode)
	tx := r.tx
	if tx == nil {
		return r.refused(j.kind, "a statement outside a transaction")
	}
	if word, ok := controlWords[j.act]; ok {
		// Whatever database the session was in, the tool is to use the
		// target (a database named in a USE must exist); and the text is
		// the plain word, without the comments the gate read past.
		if q.DB != r.opts.Target || string(q.Text) != word {
			e = r.format.rebuild(e, encodeQuery(q, r.opts.Target, []byte(word)))
		}
	}
	switch j.act {
	case begin:
		if tx.written || len(tx.pending) > 1 {
			return r.refused("begin", "BEGIN inside a transaction")
		}
		tx.explicit = true
		tx.pending = append(tx.pending, e)
		return nil
	case commit, rollback:
		return r.end(e)
	case refuse:
		return r.refused(j.kind, j.reason)
	case skip:
		tx.vars = nil
		tx.skipped = append(tx.skipped, j.kind)
		if !tx.explicit {
			return r.end(Event{})
		}
		return nil
	}
	db := q.DB
	if db == r.opts.Database {
		db = r.opts.Target
	}
	if db != q.DB || string(j.text) != string(q.Text) {
		e = r.format.rebuild(e, encodeQuery(q, db, j.text))
	}
	if err := r.emit(append(tx.vars, e)...); err != nil {
		return err
	}
	tx.vars = nil
	if !tx.explicit {
		return r.end(Event{})
	}
	return nil
}

// controlWords are the texts transaction control is written as.
var controlWords = map[action]string{begin: "BEGIN", commit: "COMMIT", rollback: "ROLLBACK"}

// emit writes events of the current transaction, after what of it is
// pending.
func (r *Replay) emit(evs ...Event) error {
	tx := r.tx
	if err := r.write(append(tx.pending, evs...)...); err != nil {
		return err
	}
	tx.pending, tx.written = nil, true
	return nil
}

// end ends the current transaction with e (XID, COMMIT or ROLLBACK; none
// for a statement that commits itself).
func (r *Replay) end(e Event) error {
	tx := r.tx
	if tx.written {
		if e.Raw != nil {
			if err := r.write(e); err != nil {
				return err
			}
		}
		r.res.Applied++
		r.res.Last = tx.txn
	} else {
		r.res.Skipped++
	}
	for _, k := range tx.skipped {
		r.res.SkippedStatements[k]++
	}
	r.tx = nil
	return nil
}

// tableMap handles a TABLE_MAP event.
func (r *Replay) tableMap(e Event) error {
	tx := r.tx
	if tx == nil {
		return r.refused("row changes", "a table map outside a transaction")
	}
	if tx.keep != 0 {
		return r.refused("row changes", "a table map among a statement's row changes")
	}
	tm, data, err := r.format.decodeTableMap(e)
	if err != nil {
		return err
	}
	if p := nameProblem(tm.DB + tm.Table); p != "" && tm.DB == r.opts.Database {
		return r.refused("row changes", fmt.Sprintf("table %q.%q: %s", tm.DB, tm.Table, p))
	}
	if tm.DB != r.opts.Database && strings.EqualFold(tm.DB, r.opts.Database) {
		return r.refused("row changes", fmt.Sprintf("table %s is in a database whose name differs from %s only in case",
			sqltext.Qualified(tm.DB, tm.Table), sqltext.Ident(r.opts.Database)))
	}
	if tm.DB == r.opts.Database && r.opts.Target != r.opts.Database {
		e = r.format.rebuild(e, r.format.encodeTableMap(data, tm, r.opts.Target))
	}
	tx.maps = append(tx.maps, mapped{ev: e, tm: tm})
	return nil
}

// rows handles a rows event.
func (r *Replay) rows(e Event) error {
	tx := r.tx
	if tx == nil {
		return r.refused("row changes", "row changes outside a transaction")
	}
	id, flags, err := r.format.decodeRows(e)
	if err != nil {
		return err
	}
	known := dummyTable(id, r.format.tableIDLen(e.Type))
	for _, m := range tx.maps {
		if m.tm.ID == id {
			known = true
		}
	}
	if !known || len(tx.maps) == 0 {
		return r.refused("row changes", fmt.Sprintf("row changes of table id %d, which no table map names", id))
	}
	if tx.keep == 0 {
		own, other := 0, []string{}
		for _, m := range tx.maps {
			if m.tm.DB == r.opts.Database {
				own++
			} else {
				other = append(other, sqltext.Qualified(m.tm.DB, m.tm.Table))
			}
		}
		switch {
		case own > 0 && len(other) > 0:
			sort.Strings(other)
			return r.refused("row changes", "one statement changes the recovered database and "+strings.Join(other, ", "))
		case own > 0:
			tx.keep = 1
			evs := make([]Event, 0, len(tx.maps))
			for _, m := range tx.maps {
				evs = append(evs, m.ev)
			}
			if err := r.emit(evs...); err != nil {
				return err
			}
		default:
			tx.keep = -1
		}
	}
	if tx.keep > 0 {
		if err := r.write(e); err != nil {
			return err
		}
	}
	if flags&rowsStmtEnd != 0 {
		tx.maps, tx.keep = nil, 0
	}
	return nil
}

// rollback is a QUERY event "ROLLBACK", for a transaction the replay
// cannot finish.
func (r *Replay) rollback() Event {
	data := make([]byte, queryPostHeader, queryPostHeader+1+8)
	data = append(data, 0)
	data = append(data, "ROLLBACK"...)
	n := HeaderSize + len(data)
	if r.format.Checksum {
		n += 4
	}
	raw := make([]byte, n)
	if r.tx != nil {
		binary.LittleEndian.PutUint32(raw[0:], uint32(r.tx.txn.Commit.Unix()))
	}
	raw[4] = typeQuery
	binary.LittleEndian.PutUint32(raw[9:], uint32(n))
	copy(raw[HeaderSize:], data)
	if r.format.Checksum {
		binary.LittleEndian.PutUint32(raw[n-4:], crc32.ChecksumIEEE(raw[:n-4]))
	}
	e, _ := ParseEvent(raw)
	return e
}

// Package binlog holds what backupd knows of a server's binary log without
// a server: positions in it, the segments that serve writes to the remote
// and their names, the events of a binary log file, and the replay gate,
// which lets through to the server only what changes the one database
// being recovered.
//
// Everything here reads untrusted input (segments come from a folder many
// people can write) and is fuzzed. The clock is always passed in.
package binlog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// FirstOffset is where the first event of a binary log file starts, after
// the four magic bytes.
const FirstOffset = 4

// Pos is a position in a server's binary log: a file and the byte offset
// of an event boundary in it.
type Pos struct {
	File   string // "binlog.000003"
	Offset uint64
}

// IsZero reports whether p names no position.
func (p Pos) IsZero() bool { return p.File == "" }

// String is "binlog.000003:157".
func (p Pos) String() string {
	if p.IsZero() {
		return ""
	}
	return p.File + ":" + strconv.FormatUint(p.Offset, 10)
}

// ParsePos reads "binlog.000003:157". The file must be a binary log file
// name (see CheckFile) and the offset at least FirstOffset.
func ParsePos(s string) (Pos, error) {
	file, off, ok := strings.Cut(s, ":")
	if !ok {
		return Pos{}, fmt.Errorf("binary log position %q: want file:offset", s)
	}
	if err := CheckFile(file); err != nil {
		return Pos{}, fmt.Errorf("binary log position %q: %w", s, err)
	}
	n, err := strconv.ParseUint(off, 10, 64)
	if err != nil || n < FirstOffset || off != strconv.FormatUint(n, 10) {
		return Pos{}, fmt.Errorf("binary log position %q: the offset is not a number of 4 or more", s)
	}
	return Pos{File: file, Offset: n}, nil
}

// errFile is wrapped by every refusal of CheckFile.
var errFile = errors.New("not a binary log file name")

// CheckFile says why name is not the name of a binary log file as servers
// write them: a base name of letters, digits, '-', '_' and '.' (at most 64
// bytes), a dot, and a sequence number of 1 to 10 digits. Nil when it is.
func CheckFile(name string) error {
	base, seq, ok := splitFile(name)
	switch {
	case !ok:
		return fmt.Errorf("%w: %q has no .<number> ending", errFile, name)
	case base == "" || len(base) > 64:
		return fmt.Errorf("%w: %q has an empty or too long base name", errFile, name)
	case len(seq) > 10:
		return fmt.Errorf("%w: %q has too long a sequence number", errFile, name)
	}
	for _, r := range base {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("%w: %q holds %q", errFile, name, r)
		}
	}
	return nil
}

// splitFile cuts "binlog.000003" into "binlog" and "000003".
func splitFile(name string) (base, seq string, ok bool) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 || i == len(name)-1 {
		return "", "", false
	}
	seq = name[i+1:]
	for _, r := range seq {
		if r < '0' || r > '9' {
			return "", "", false
		}
	}
	return name[:i], seq, true
}

// Seq is the sequence number of a binary log file name, and its base
// name; ok is false for a name that is not one (CheckFile).
func Seq(file string) (base string, n uint64, ok bool) {
	if CheckFile(file) != nil {
		return "", 0, false
	}
	base, seq, _ := splitFile(file)
	n, err := strconv.ParseUint(seq, 10, 64)
	return base, n, err == nil
}

// Next is the name of the file a server writes after file: the same base
// name, the sequence number one up, as wide as before (or wider).
func Next(file string) (string, bool) {
	base, n, ok := Seq(file)
	if !ok {
		return "", false
	}
	_, seq, _ := splitFile(file)
	return fmt.Sprintf("%s.%0*d", base, len(seq), n+1), true
}

// Compare orders two positions of one server's log: by the files'
// sequence numbers, then by offset. It reports false when the files'
// base names differ or either is not a binary log file name: such
// positions are not in one log.
func Compare(a, b Pos) (int, bool) {
	ab, an, ok1 := Seq(a.File)
	bb, bn, ok2 := Seq(b.File)
	if !ok1 || !ok2 || ab != bb {
		return 0, false
	}
	switch {
	case an < bn:
		return -1, true
	case an > bn:
		return 1, true
	case a.Offset < b.Offset:
		return -1, true
	case a.Offset > b.Offset:
		return 1, true
	}
	return 0, true
}

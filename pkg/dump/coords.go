package dump

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
)

// Coordinates are where a dump stands in the source server's binary log:
// the position the dump tool read while its snapshot was held (with
// --single-transaction, under a brief FLUSH TABLES WITH READ LOCK on MySQL,
// from the snapshot itself on MariaDB), so that replaying the log from
// there loses and doubles no transaction.
type Coordinates struct {
	Pos    string    // "binlog.000003:157"
	Server string    // the server's identity (mariadb.BinlogSource.Identity)
	At     time.Time // when the tool printed them: the snapshot was taken before
}

// IsZero reports whether c holds no coordinates.
func (c Coordinates) IsZero() bool { return c.Pos == "" }

// CoordFlags are the options that make tool t print the binary log
// coordinates of its snapshot, as a comment: --source-data=2 for Oracle's
// mysqldump 8.0.26 and later, --master-data=2 for MariaDB's tool and
// older ones.
func CoordFlags(t mariadb.Tool) []string {
	if !t.MariaDB && t.AtLeast(8, 0) && !(t.Major == 8 && t.Minor == 0 && patch(t.Version) < 26) {
		return []string{"--source-data=2"}
	}
	return []string{"--master-data=2"}
}

// patch is the third number of a version, 0 when there is none.
func patch(v string) int {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 3 {
		return 0
	}
	n := 0
	for _, r := range parts[2] {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// coordLine is the comment the tools write with --master-data=2 or
// --source-data=2.
var coordLine = regexp.MustCompile(`(?m)^-- CHANGE (?:MASTER|REPLICATION SOURCE) TO (?:MASTER|SOURCE)_LOG_FILE='([A-Za-z0-9_.-]{1,80})', (?:MASTER|SOURCE)_LOG_POS=([0-9]{1,19});\r?$`)

// headMax bounds what a dump holds back while it waits for the tool's
// coordinates.
const headMax = 64 << 10

// head is the start of a dump, read until the tool's coordinates, its
// first table, or headMax bytes.
type head struct {
	held  []byte
	pos   string    // "" when the tool printed none
	at    time.Time // when they were read
	ended bool      // the tool's output ended within the head
}

// readHead reads the head of the tool's output from r.
func readHead(r io.Reader, now func() time.Time) (head, error) {
	var h head
	buf := make([]byte, 4096)
	scanned := 0
	for len(h.held) < headMax {
		n, err := r.Read(buf)
		h.held = append(h.held, buf[:n]...)
		// Whole lines only; a line may come in two reads.
		end := bytes.LastIndexByte(h.held, '\n') + 1
		if end > scanned {
			lines := h.held[scanned:end]
			scanned = end
			if m := coordLine.FindSubmatch(lines); m != nil {
				h.pos, h.at = string(m[1])+":"+string(m[2]), now()
				return h, nil
			}
			if bytes.Contains(lines, []byte("\n-- Table structure for table ")) || bytes.HasPrefix(lines, []byte("-- Table structure for table ")) {
				return h, nil
			}
		}
		if errors.Is(err, io.EOF) {
			h.ended = true
			return h, nil
		}
		if err != nil {
			return h, err
		}
	}
	return h, nil
}

// errCoordPrivileges marks a dump that failed for want of the privileges
// its coordinates need.
var errCoordPrivileges = errors.New("the dump account may not read the binary log coordinates")

// coordDenied reports whether a tool failed for want of the privileges
// the coordinates need: FLUSH TABLES WITH READ LOCK (RELOAD, or
// FLUSH_TABLES on MySQL 8.0.23 on) and SHOW BINARY LOG STATUS
// (REPLICATION CLIENT).
func coordDenied(err error) bool {
	var te *mariadb.ToolError
	if !errors.As(err, &te) {
		return false
	}
	return te.Code == mariadb.ErSpecificAccess || strings.Contains(te.Stderr, fmt.Sprintf("(%d)", mariadb.ErSpecificAccess))
}

// hostLine is the header line that names the dumped database.
var hostLine = regexp.MustCompile(`(?m)^-- Host: \S*\s+Database: ([^\r\n]+?)\r?$`)

// HeadMax is how much of a dump's text ReadHead needs: the header and the
// coordinates come first.
const HeadMax = headMax

// Head is what the start of a dump's text says: the database dumped and
// the binary log coordinates the tool printed ("" when none).
type Head struct {
	Database string
	Binlog   string
}

// ReadHead reads the start of a dump's SQL text (HeadMax bytes, or the
// whole of a shorter dump).
func ReadHead(text []byte) Head {
	var h Head
	// The header ends where the first table begins: nothing after it is
	// the tool's to say.
	if i := bytes.Index(text, []byte("\n-- Table structure for table ")); i >= 0 {
		text = text[:i+1]
	}
	if m := hostLine.FindSubmatch(text); m != nil {
		h.Database = string(m[1])
	}
	if m := coordLine.FindSubmatch(text); m != nil {
		h.Binlog = string(m[1]) + ":" + string(m[2])
	}
	return h
}

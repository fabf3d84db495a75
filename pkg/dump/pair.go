package dump

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/catalog"
)

// Tool is a dump program's flavour and version, as its --version line
// says.
type Tool struct {
	Line    string // the --version line
	MariaDB bool   // MariaDB's mariadb-dump (or its mysqldump link), not Oracle's mysqldump
	Version string // the product's version: "8.0.36", "5.7.44", "10.11.19-MariaDB", "11.8.6-MariaDB"
	Major   int    // 8, 5, 10, 11; 0 when unknown
}

// ParseTool reads a --version line:
//
//	mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)
//	mysqldump  Ver 10.13 Distrib 5.7.44, for Linux (x86_64)
//	mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
//	mariadb-dump from 11.8.6-MariaDB, client 10.19 for debian-linux-gnu (x86_64)
//
// "Distrib X" names the product's version where it is given (5.7 and
// MariaDB 10), "from X" for MariaDB 11 on, "Ver X" for MySQL 8 on: "Ver"
// alone would make 5.7's "10.13" look newer than 8.0.
func ParseTool(line string) (Tool, error) {
	t := Tool{Line: line, MariaDB: strings.Contains(line, "MariaDB")}
	word := func(after string) string {
		_, rest, ok := strings.Cut(line, after)
		if !ok {
			return ""
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return ""
		}
		return strings.TrimSuffix(f[0], ",")
	}
	switch {
	case word(" Distrib ") != "":
		t.Version = word(" Distrib ")
	case word(" from ") != "":
		t.Version = word(" from ")
	default:
		t.Version = word(" Ver ")
	}
	major, _, _ := strings.Cut(t.Version, ".")
	n, err := strconv.Atoi(major)
	if t.Version == "" || err != nil {
		return Tool{Line: line}, fmt.Errorf("dump tool version %q: not a mysqldump or mariadb-dump --version line", line)
	}
	t.Major = n
	return t, nil
}

// String names the tool: "MySQL mysqldump 8.0.36", "MariaDB mariadb-dump
// 10.11.19-MariaDB".
func (t Tool) String() string {
	if t.MariaDB {
		return "MariaDB dump " + t.Version
	}
	return "MySQL dump " + t.Version
}

// Server is a database server's flavour and version.
type Server struct {
	Version string // SELECT @@version: "8.0.36", "10.11.19-MariaDB-0+deb12u1"
	Comment string // SELECT @@version_comment: "MySQL Community Server - GPL", "Debian 12"
	// GTIDMode is MySQL's @@GLOBAL.gtid_mode ("ON", "OFF", ...); "" on
	// MariaDB, which has no such setting.
	GTIDMode string
}

// MariaDB reports whether the server is MariaDB, which always has
// "MariaDB" in its version (@@version_comment is the distribution's to
// choose).
func (s Server) MariaDB() bool { return strings.Contains(s.Version, "MariaDB") }

// String names the server as the backup records it (catalog.MetaSource):
// "MySQL 8.0.36", "MariaDB 10.11.19".
func (s Server) String() string {
	v, _, _ := strings.Cut(s.Version, "-")
	name := "MySQL"
	if s.MariaDB() {
		name = "MariaDB"
	}
	out := name + " " + v
	if len(out) > catalog.MaxSourceLen {
		out = out[:catalog.MaxSourceLen]
	}
	return out
}

// PairFlags are the options a dump tool needs against a server, beyond
// Flags:
//   - Oracle's mysqldump 8 asks information_schema.COLUMN_STATISTICS,
//     which MariaDB does not have: --column-statistics=0;
//   - Oracle's mysqldump against a MySQL server with GTIDs writes the
//     server's GTID state (SET @@GLOBAL.GTID_PURGED) and turns the binary
//     log off for the load, which describe the source, not the data:
//     --set-gtid-purged=OFF. MariaDB's tool has no such option, nor
//     needs it.
func PairFlags(t Tool, s Server) []string {
	var out []string
	if t.MariaDB || t.Major == 0 {
		return nil
	}
	if t.Major >= 8 && s.MariaDB() {
		out = append(out, "--column-statistics=0")
	}
	if !s.MariaDB() && s.GTIDMode != "" && !strings.EqualFold(s.GTIDMode, "OFF") {
		out = append(out, "--set-gtid-purged=OFF")
	}
	return out
}

// AskServer asks the server its flavour and version.
func AskServer(ctx context.Context, conn mariadb.Conn, log *slog.Logger) (Server, error) {
	var s Server
	db, err := conn.OpenDB(log, false)
	if err != nil {
		return s, err
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, "SELECT @@version, @@version_comment").Scan(&s.Version, &s.Comment); err != nil {
		return s, fmt.Errorf("ask %s its version: %w", conn, err)
	}
	if !s.MariaDB() {
		if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_mode").Scan(&s.GTIDMode); err != nil {
			return s, fmt.Errorf("ask %s its gtid_mode: %w", conn, err)
		}
	}
	return s, nil
}

// Pairing is what a dump tool and a server need of each other.
type Pairing struct {
	Tool   Tool
	Server Server
	Flags  []string // PairFlags
}

// probe asks the tool and the server what they are. Either may fail to
// say (a tool that prints something else, a server that does not answer
// yet): the dump then runs with Flags alone and says so in the log, and
// fails on its own if the pairing needed more.
func (d *Dumper) probe(ctx context.Context, prog string, log *slog.Logger) Pairing {
	var p Pairing
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	line, err := toolVersion(ctx, prog)
	if err == nil {
		p.Tool, err = ParseTool(line)
	}
	if err != nil {
		log.Warn("could not tell the dump tool's version; dumping with the default options", "err", err)
		return p
	}
	p.Server, err = AskServer(ctx, d.Conn, log)
	if err != nil {
		log.Warn("could not ask the database its version; dumping with the default options", "err", err)
		return p
	}
	p.Flags = PairFlags(p.Tool, p.Server)
	log.Info("dump pairing", "tool", p.Tool.String(), "server", p.Server.String(), "extra_flags", strings.Join(p.Flags, " "))
	return p
}

// toolVersion runs program --version as mariadb.Version does, keeping at
// most 4 KiB of what it prints and giving it 5 seconds: a program that is
// not a dump tool may print without end.
func toolVersion(ctx context.Context, program string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, program, "--version")
	cmd.Env = mariadb.ChildEnv()
	cmd.WaitDelay = time.Second
	out := &mariadb.Tail{Max: 4096}
	cmd.Stdout = out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s --version: %w", filepath.Base(program), err)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(out.String()), "\n")
	return line, nil
}

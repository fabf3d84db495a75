package dump

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/catalog"
)

// PairFlags are the options a dump tool needs against a server, beyond
// Flags:
//   - Oracle's mysqldump 8 asks information_schema.COLUMN_STATISTICS,
//     which MariaDB does not have: --column-statistics=0;
//   - Oracle's mysqldump against a MySQL server with GTIDs writes the
//     server's GTID state (SET @@GLOBAL.GTID_PURGED) and turns the binary
//     log off for the load, which describe the source, not the data:
//     --set-gtid-purged=OFF. MariaDB's tool has no such option, nor
//     needs it;
//   - Oracle's mysqldump 9.7 reads the server's data masking policies,
//     which an account without global SELECT may not (it says so and
//     goes on) and which MariaDB cannot load: --skip-masking-policies.
func PairFlags(t mariadb.Tool, s mariadb.Server) []string {
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
	if t.AtLeast(9, 7) {
		out = append(out, "--skip-masking-policies")
	}
	return out
}

// Source names the server as the backup records it (catalog.MetaSource):
// "MySQL 8.0.36", "MariaDB 10.11.19"; "" when the server did not say.
func Source(s mariadb.Server) string {
	if s.Version == "" {
		return ""
	}
	out := s.Name()
	if len(out) > catalog.MaxSourceLen {
		out = out[:catalog.MaxSourceLen]
	}
	return out
}

// Pairing is what a dump tool and a server need of each other.
type Pairing struct {
	Tool   mariadb.Tool
	Server mariadb.Server
	Flags  []string // PairFlags
}

// pairTimeout bounds Pair: the tool's --version and the server's answer.
var pairTimeout = 15 * time.Second

// Pair asks the tool and the server what they are, and so which options
// the dump needs and how it connects (the server's certificate, when the
// connection is encrypted, is pinned for the tool: Conn.TLSPin). A tool
// that prints no version line is run with Flags alone, and says so in the
// log; a server that does not answer is an error, which the dump would
// only meet again.
func Pair(ctx context.Context, conn mariadb.Conn, prog string, log *slog.Logger) (Pairing, mariadb.Conn, error) {
	var p Pairing
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, pairTimeout)
	defer cancel()
	tool, err := mariadb.ToolVersion(ctx, prog)
	if err != nil {
		log.Warn("could not tell the dump tool's version; dumping with the default options", "err", err)
	}
	p.Tool = tool
	p.Server, err = conn.Ask(ctx, log)
	if err != nil && ctx.Err() != nil && parent.Err() == nil {
		return p, conn, fmt.Errorf("dump: %w (the server did not answer within %s)", err, pairTimeout)
	}
	if err != nil {
		return p, conn, fmt.Errorf("dump: %w", err)
	}
	conn.TLSPin = p.Server.Fingerprint
	p.Flags = PairFlags(p.Tool, p.Server)
	log.Info("dump pairing", "tool", p.Tool.String(), "server", Source(p.Server), "extra_flags", strings.Join(p.Flags, " "),
		"tls", TLSState(conn, p.Server))
	return p, conn, nil
}

// TLSState says how the connection to s was made, for logs and doctor:
// "socket", "encrypted (TLS_AES_256_GCM_SHA384), certificate not
// checked", "encrypted (...), certificate checked", "not encrypted".
func TLSState(conn mariadb.Conn, s mariadb.Server) string {
	switch {
	case conn.Socket != "":
		return "socket, no TLS"
	case s.Cipher == "":
		return "not encrypted (DB_TLS=" + string(mode(conn)) + ")"
	case mode(conn) == mariadb.TLSVerify:
		return "encrypted (" + s.Cipher + "), certificate checked (DB_TLS=verify)"
	}
	return "encrypted (" + s.Cipher + "), certificate not checked (DB_TLS=" + string(mode(conn)) + ")"
}

func mode(c mariadb.Conn) mariadb.TLSMode {
	if c.TLS == "" {
		return mariadb.TLSPrefer
	}
	return c.TLS
}

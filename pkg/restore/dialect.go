package restore

import (
	"log/slog"
	"strings"

	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/sqltext"
)

// source says where a backup came from: the source recorded when it was
// taken, else what its dump's header says.
func source(b catalog.Backup, d *sqltext.Dialect) string {
	if b.Source != "" {
		return b.Source
	}
	return d.Source().String()
}

// logDialect logs where a loaded backup came from and what of MySQL's
// dialect was mapped.
func logDialect(log *slog.Logger, res loadResult) {
	if res.source != "" {
		log.Info("backup source", "source", res.source)
	}
	if len(res.mapped) == 0 {
		return
	}
	log.Warn("mapped MySQL's dialect to MariaDB's", "changes", Changes(res.mapped))
}

// Changes joins what the mapping changed into one line:
// "mapped 12 collations utf8mb4_0900_ai_ci -> utf8mb4_uca1400_nopad_ai_ci,
// dropped 1 GTID_PURGED".
func Changes(cs []sqltext.Change) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.String()
	}
	return strings.Join(s, ", ")
}

package restore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"
)

// endSwapSession ends the session that ran the swap j journals
// (endSession), unless the server started after that swap began: its
// sessions are gone then, and the id may be another's now (an app's
// connection, or this run's own), as after the machine's every restart.
func endSwapSession(ctx context.Context, db *sql.DB, j journal, log *slog.Logger) error {
	var start int64
	err := db.QueryRowContext(ctx, "SELECT CAST(UNIX_TIMESTAMP() - VARIABLE_VALUE AS SIGNED)"+
		" FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME'").Scan(&start)
	if err != nil {
		return fmt.Errorf("ask when the server started: %w", err)
	}
	if start > j.Started.Unix() {
		log.Info("the server restarted since the interrupted swap: its session is gone", "session", j.ConnID,
			"swap_started", j.Started.UTC().Format(time.RFC3339), "server_started", time.Unix(start, 0).UTC().Format(time.RFC3339))
		return nil
	}
	return endSession(ctx, db, j.ConnID, log)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/daemon"
	"github.com/backupd/backupd/pkg/notify"
	"github.com/backupd/backupd/pkg/restore"
	"github.com/backupd/backupd/pkg/sqltext"
	"github.com/backupd/backupd/pkg/storage"
)

// reporting tells the world how a restore went, so that a backup that does
// not restore is noticed without anyone looking: heartbeat pings in the
// healthchecks.io convention (as serve sends them), alerts on a failed or
// fallen-back restore, and a record of a good restore on the backup itself
// (catalog.Restored), which backupd list and status show on production.
type reporting struct {
	ping   *daemon.Pinger
	notify *notify.Notifier
	store  interface {
		SetMeta(ctx context.Context, name string, meta map[string]string) error
	}
	conn mariadb.Conn
	host string
	log  *slog.Logger
	rid  string
}

func (r *reporting) start(ctx context.Context) {
	r.rid = uuid.NewString()
	r.ping.Start(ctx, r.rid)
}

// finish reports the outcome of a restore that started at start.
func (r *reporting) finish(ctx context.Context, rep restore.Report, err error, start time.Time) {
	if err != nil {
		reason := err.Error()
		r.ping.Fail(ctx, r.rid, reason)
		r.notify.Notify(ctx, notify.RestoreFailed, "yesterday-restore on "+r.host+" restored nothing: "+reason)
		return
	}
	rec := catalog.Restored{At: start.UTC().Truncate(time.Second), Host: r.host, Tables: rep.Tables, Rows: -1,
		Seconds: int64(rep.Duration.Round(time.Second).Seconds()), Fallbacks: len(rep.Skipped)}
	rec.Rows, rec.RowsApprox = r.rows(ctx, rep.Database)
	summary := fmt.Sprintf("restored %s: %d tables, %s, %ds", rep.Backup.Name, rec.Tables, rowsText(rec), rec.Seconds)
	if len(rep.Skipped) > 0 {
		var why []string
		for _, s := range rep.Skipped {
			why = append(why, fmt.Sprintf("%s: %v", s.Backup, s.Err))
		}
		summary += fmt.Sprintf(", after skipping %d unusable %s", len(rep.Skipped), plural(len(rep.Skipped), "backup", "backups"))
		r.notify.Notify(ctx, notify.RestoreFellBack, summary+"\n\n"+strings.Join(why, "\n"))
	}
	err = r.store.SetMeta(ctx, rep.Backup.Name, map[string]string{catalog.MetaRestored: rec.String()})
	switch {
	case err == nil:
		r.log.Info("recorded the restore on the backup", "backup", rep.Backup.Name, catalog.MetaRestored, rec.String())
	case errors.Is(err, storage.ErrReadOnly), errors.Is(err, storage.ErrNoMetadata):
		r.log.Info("the restore is not recorded on the backup: this account may not write to the backup folder; the ping carries the result",
			"backup", rep.Backup.Name, "reason", err.Error())
	default:
		r.log.Warn("could not record the restore on the backup", "backup", rep.Backup.Name, "err", err)
	}
	r.ping.Success(ctx, r.rid, summary)
}

// rows is the number of rows in the restored database: the server's
// estimate (information_schema.TABLES.TABLE_ROWS, after ANALYZE TABLE so
// that a fresh load is counted), as counting every row would read the
// whole database again. -1 when the server does not say.
func (r *reporting) rows(ctx context.Context, database string) (int64, bool) {
	db, err := r.conn.OpenDB(r.log, false)
	if err != nil {
		return -1, false
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	tables, err := db.QueryContext(ctx, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'", database)
	if err != nil {
		r.log.Debug("count rows", "err", err)
		return -1, false
	}
	var names []string
	for tables.Next() {
		var n string
		if tables.Scan(&n) == nil {
			names = append(names, sqltext.Qualified(database, n))
		}
	}
	tables.Close()
	if len(names) > 0 {
		if _, err := db.ExecContext(ctx, "ANALYZE TABLE "+strings.Join(names, ", ")); err != nil {
			r.log.Debug("analyze tables before counting rows", "err", err)
		}
	}
	var n *int64
	if err := db.QueryRowContext(ctx, "SELECT SUM(TABLE_ROWS) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'", database).Scan(&n); err != nil {
		r.log.Debug("count rows", "err", err)
		return -1, false
	}
	if n == nil {
		return 0, false
	}
	return *n, true
}

func rowsText(r catalog.Restored) string {
	if r.Rows < 0 {
		return "rows unknown"
	}
	if r.RowsApprox {
		return fmt.Sprintf("about %d rows", r.Rows)
	}
	return fmt.Sprintf("%d rows", r.Rows)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// recordHost names this machine in the restore record: the Fly app's
// name, which says more than a machine ID, else the host name.
func recordHost(getenv func(string) string) string {
	if h := getenv("FLY_APP_NAME"); h != "" {
		return h
	}
	h, _ := os.Hostname()
	return h
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/binlog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/recovery"
	"github.com/backupd/backupd/pkg/storage"
	"github.com/backupd/backupd/pkg/stream"
)

// coordFlags is the switch of point-in-time recovery on the backup side:
// backups record their binary log coordinates.
type coordFlags struct {
	Binlog bool `name:"binlog" help:"point-in-time recovery: backups record where they stand in the server's binary log (the dump account needs FLUSH_TABLES or RELOAD, and REPLICATION CLIENT, on MySQL), and serve streams the binary log to the remote (docs/recovery.md)" env:"BACKUPD_BINLOG"`
}

// binlogFlags are serve's settings of the binary log stream.
type binlogFlags struct {
	Coords       coordFlags    `embed:""`
	Flush        time.Duration `name:"binlog-flush" help:"with --binlog, the longest a binary log segment stays open after its first event: the most a lost database loses" default:"60s" env:"BACKUPD_BINLOG_FLUSH"`
	User         string        `name:"binlog-user" help:"with --binlog, the account that reads the binary log (REPLICATION SLAVE, REPLICATION CLIENT); when unset, the database user; its password is BACKUPD_BINLOG_PASSWORD or --binlog-password-file" env:"BACKUPD_BINLOG_USER"`
	PasswordFile string        `name:"binlog-password-file" help:"file holding the password of --binlog-user; BACKUPD_BINLOG_PASSWORD holds the password itself (set one of the two)" env:"BACKUPD_BINLOG_PASSWORD_FILE"`
	ServerID     uint32        `name:"binlog-server-id" help:"with --binlog, the server id the stream registers as a replica with: unique among the server's replicas; when unset, derived from this machine's name" env:"BACKUPD_BINLOG_SERVER_ID"`
}

// binlogSettings are the resolved settings of the stream.
type binlogSettings struct {
	on        bool
	flush     time.Duration
	user      string
	password  string
	replicaID uint32
}

// resolve reads the stream's settings, recording what is wrong in p.
func (b *binlogFlags) resolve(p *cli.Problems, host string) binlogSettings {
	s := binlogSettings{on: b.Coords.Binlog, flush: b.Flush, user: b.User, replicaID: b.ServerID}
	if b.Flush < time.Second || b.Flush > time.Hour {
		p.Invalid("binlog-flush", b.Flush, "want 1s to 1h")
	}
	s.password = passwordSetting(p, "BACKUPD_BINLOG_PASSWORD", "binlog-password-file", b.PasswordFile)
	if (s.password != "" || b.PasswordFile != "") && b.User == "" {
		p.Addf("a binary log password is set but no %s: set the account too, or neither to use the database's", p.Name("binlog-user"))
	}
	if s.replicaID == 0 {
		s.replicaID = stream.ReplicaID(host)
	}
	return s
}

// conn is the connection of the stream: the database's, with the binary
// log account when one is set.
func (s binlogSettings) conn(st cli.Settings) cli.Settings {
	if s.user != "" {
		st.Conn.User, st.Conn.Password = s.user, s.password
	}
	return st
}

// recordCoordinates makes job's dump record its binary log coordinates.
func recordCoordinates(job *backup.Job) {
	if d, ok := job.Dumper.(*dump.Dumper); ok {
		d.Coordinates = true
	}
}

// streamer is the binary log stream of serve --binlog into the segments'
// folder of the remote.
func newStreamer(st cli.Settings, bs binlogSettings, backups, segments *storage.Store, sl backup.Seal, grace time.Duration, log *slog.Logger) *stream.Streamer {
	conn := bs.conn(st).Conn
	return &stream.Streamer{
		Source:     stream.ServerSource{Conn: conn, ReplicaID: bs.replicaID, Heartbeat: stream.Heartbeat(bs.flush), Log: log},
		Store:      segments,
		Codec:      binlog.Codec{Prefix: st.Prefix},
		Writer:     bs.replicaID,
		Flush:      bs.flush,
		Recipients: sl.Recipients,
		SignKey:    sl.SignKey,
		Grace:      grace,
		Log:        log,
		// With no segment of the server yet: from the newest backup that
		// has coordinates of it.
		Start: func(ctx context.Context, server string) (binlog.Pos, bool, error) {
			entries, err := backups.List(ctx)
			if err != nil {
				return binlog.Pos{}, false, fmt.Errorf("list backups: %w", err)
			}
			l := st.Codec().Scan(entries, time.Now())
			for i := len(l.Backups) - 1; i >= 0; i-- {
				b := l.Backups[i]
				if !b.Recoverable() || b.BinlogServer != server {
					continue
				}
				if pos, err := binlog.ParsePos(b.Binlog); err == nil {
					log.Info("starting the binary log stream at the newest backup's coordinates", "backup", b.Name, "pos", pos.String())
					return pos, true, nil
				}
			}
			return binlog.Pos{}, false, nil
		},
	}
}

// pruneSegments deletes the segments no kept backup needs
// (recovery.Unneeded), after the backups were pruned. It returns how many
// it deleted.
func pruneSegments(ctx context.Context, st cli.Settings, backups, segments *storage.Store, log *slog.Logger) (int, error) {
	entries, err := backups.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("list backups: %w", err)
	}
	kept := st.Codec().Scan(entries, time.Now()).Backups
	segEntries, err := segments.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("list binary log segments: %w", err)
	}
	l := binlog.Codec{Prefix: st.Prefix}.Scan(segEntries, time.Now())
	var errs []error
	n := 0
	for _, s := range recovery.Unneeded(l.Segments, kept) {
		if err := segments.Delete(ctx, s.Name); err != nil && !errors.Is(err, storage.ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		n++
	}
	if n > 0 {
		log.Info("deleted binary log segments no kept backup needs", "deleted", n)
	}
	return n, errors.Join(errs...)
}

// passwordSetting reads a password given in the variable env or in the
// file named by the flag fileFlag (file, which its own variable may set
// too): the flag wins over the variable, and the two variables together
// are contradictory. It records in p what is wrong, and registers the
// password as a secret.
func passwordSetting(p *cli.Problems, env, fileFlag, file string) string {
	value := p.Getenv(env)
	var pw string
	switch {
	case value != "" && file != "" && !p.FromFlag(fileFlag):
		p.Addf("contradictory password settings: set %s or %s, not both", env, p.Name(fileFlag))
	case file != "":
		raw, err := os.ReadFile(file)
		if err != nil {
			p.Addf("cannot read the password file named by %s: %v", p.Source(fileFlag), err)
		}
		pw = strings.TrimRight(string(raw), "\r\n")
	default:
		pw = value
	}
	cli.AddSecret(pw)
	return pw
}

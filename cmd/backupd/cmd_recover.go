package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/binlog"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/recovery"
	"github.com/backupd/backupd/pkg/replay"
	"github.com/backupd/backupd/pkg/sqltext"
)

// recoverCmd brings a database back to a moment: the newest backup before
// it, then the binary log segments up to it.
type recoverCmd struct {
	Remote     cli.RemoteFlags `embed:""`
	Keys       cli.OpenFlags   `embed:""`
	Into       intoFlags       `embed:""`
	To         string          `name:"to" help:"the moment to recover to: latest (the end of the binary log copied), or a time in RFC 3339, UTC (2026-12-07T21:45:00Z)" required:""`
	DryRun     bool            `name:"dry-run" help:"print the plan (the backup, the segments, the moment it reaches, what is missing) and change nothing"`
	Replace    bool            `help:"drop the target database first when it exists; without it an existing database is left as it is and nothing runs"`
	BinlogTool string          `name:"binlog-tool" help:"the binary log tool: MySQL's mysqlbinlog 8.0 on, MariaDB's mariadb-binlog; when unset, the source family's own on PATH" env:"BACKUPD_BINLOG_TOOL"`
	Client     string          `name:"client" help:"the database client the replay runs through; when unset, the target family's own on PATH" env:"BACKUPD_CLIENT"`
	// AllowUnsigned keeps unsigned files in the plan though a verify key
	// is given.
	AllowUnsigned bool `name:"allow-unsigned" help:"with a verify key given, still plan with backups and binary log segments that carry no signature (anyone who can write to the remote can add such a file under any name); without it they are left out and the plan says so" env:"RECOVER_ALLOW_UNSIGNED"`
	Debug         bool `help:"log debugging detail"`
}

// intoFlags name the server and database recovered into.
type intoFlags struct {
	Host         string `name:"into-host" help:"host of the server recovered into" default:"127.0.0.1" env:"RECOVER_DB_HOST"`
	Port         int    `name:"into-port" help:"port of the server recovered into, 1 to 65535" default:"3306" env:"RECOVER_DB_PORT"`
	Socket       string `name:"into-socket" help:"unix socket of the server recovered into, instead of host and port" env:"RECOVER_DB_SOCKET"`
	Database     string `name:"into-database" help:"the database recovered into; created, or with --replace dropped and created" env:"RECOVER_DB_DATABASE"`
	User         string `name:"into-user" help:"account on the server recovered into (see docs/recovery.md for its grants)" env:"RECOVER_DB_USERNAME"`
	PasswordFile string `name:"into-password-file" help:"file holding that account's password; RECOVER_DB_PASSWORD holds the password itself (set one of the two)" env:"RECOVER_DB_PASSWORD_FILE"`
	TLS          string `name:"into-tls" help:"TLS to the server recovered into over TCP: prefer, require, verify or off" default:"prefer" env:"RECOVER_DB_TLS"`
}

// conn resolves the target, recording what is wrong in p; the password is
// registered as a secret.
func (f *intoFlags) conn(p *cli.Problems) mariadb.Conn {
	c := mariadb.Conn{Host: f.Host, Port: f.Port, Socket: f.Socket, Database: f.Database, User: f.User}
	if f.Port < 1 || f.Port > 65535 {
		p.Invalid("into-port", f.Port, "want a whole number from 1 to 65535")
	}
	if f.Database == "" {
		p.Missing("into-database", "database to recover into")
	}
	if f.User == "" {
		p.Missing("into-user", "account on the server recovered into")
	}
	mode, err := mariadb.ParseTLSMode(f.TLS)
	if err != nil {
		p.Invalid("into-tls", f.TLS, "want prefer, require, verify or off")
	}
	c.TLS = mode
	c.Password = passwordSetting(p, "RECOVER_DB_PASSWORD", "into-password-file", f.PasswordFile)
	return c
}

// parseTo reads --to: "latest" is the zero time.
func parseTo(p *cli.Problems, s string) time.Time {
	if strings.EqualFold(strings.TrimSpace(s), "latest") {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		p.Invalid("to", s, "want latest, or a time in RFC 3339 such as 2026-12-07T21:45:00Z")
		return time.Time{}
	}
	return t.UTC()
}

func (c *recoverCmd) run(ctx context.Context, a *app, p *cli.Problems) error {
	st := c.Remote.Resolve(p)
	keys := c.Keys.Resolve(p)
	target := parseTo(p, c.To)
	var into mariadb.Conn
	if !c.DryRun || c.Into.Database != "" {
		into = c.Into.conn(p)
	}
	if err := p.Err(); err != nil {
		return err
	}
	log := cli.NewLogger(a.stderr, c.Debug)
	store, l, err := listBackups(ctx, st, log)
	if err != nil {
		return err
	}
	segStore, err := cli.OpenSegments(ctx, st, log)
	if err != nil {
		return err
	}
	segEntries, err := segStore.List(ctx)
	if err != nil {
		return fmt.Errorf("list binary log segments in %s: %w", segStore, err)
	}
	sl := binlog.Codec{Prefix: st.Prefix}.Scan(segEntries, time.Now())
	plan, ignored := planFor(l.Backups, sl.Segments, target, keys, c.AllowUnsigned)
	sl.Ignored = append(sl.Ignored, ignored...)
	printPlan(a.stdout, plan, sl)
	if plan.Backup.Name == "" {
		return fmt.Errorf("%w to recover from: %s", cli.ErrNoBackup, strings.Join(plan.Missing, "; "))
	}
	if c.DryRun {
		if into.Database != "" {
			fmt.Fprintf(a.stdout, "  into       %s\n", into)
		}
		return nil
	}

	var prog replay.Progress
	r := &replay.Recoverer{Backups: store, Segments: segStore, Target: into, Replace: c.Replace,
		Identities: keys.Identities, VerifyKeys: keys.VerifyKeys, RequireSignature: keys.RequireSignature, AllowUnsigned: c.AllowUnsigned,
		BinlogTool: c.BinlogTool, Client: c.Client, Log: log, Progress: &prog}
	start := time.Now()
	stop := cli.StartProgress(a.stderr, log, func() string { return recoverProgress(&prog, plan, time.Since(start)) })
	rep, err := r.Run(ctx, plan)
	stop()
	if errors.Is(err, replay.ErrTargetExists) || errors.Is(err, replay.ErrFamily) {
		return cli.Usagef("%v", err)
	}
	if err != nil {
		return err
	}
	printRecovered(a.stdout, into, plan, rep, time.Since(start))
	switch {
	case rep.Stopped != nil:
		return fmt.Errorf("recovered only to %s: %v", rep.Reached.UTC().Format(time.RFC3339Nano), rep.Stopped)
	case !plan.Complete:
		return fmt.Errorf("recovered only to %s: %s", rep.Reached.UTC().Format(time.RFC3339Nano), strings.Join(plan.Missing, "; "))
	}
	return nil
}

// planFor plans the recovery to target from the backups and segments the
// remote lists that the keys vouch for (replay.Usable): an unsigned or
// badly signed file cannot steer the plan, nor make it look complete. It
// returns the segments left out for their signature.
func planFor(backups []catalog.Backup, segs []binlog.Segment, target time.Time, keys cli.Keys, allowUnsigned bool) (recovery.Plan, []binlog.IgnoredSegment) {
	require := replay.RequiresSignature(keys.VerifyKeys, keys.RequireSignature, allowUnsigned)
	okB, okS, passed, ignored := replay.Usable(backups, segs, keys.VerifyKeys, require)
	p := recovery.Make(okB, okS, target)
	p.Passed = append(p.Passed, passed...)
	if p.Backup.Name == "" && len(passed) > 0 {
		p.Missing = append(p.Missing, fmt.Sprintf("%d backups left out for their signature (see passed)", len(passed)))
	}
	return p, ignored
}

// printPlan says what the recovery will do.
func printPlan(w io.Writer, p recovery.Plan, l binlog.Listing) {
	to := "latest"
	if !p.Target.IsZero() {
		to = p.Target.UTC().Format(time.RFC3339Nano)
	}
	fmt.Fprintf(w, "recover to %s\n", to)
	if p.Backup.Name != "" {
		fmt.Fprintf(w, "  backup     %s (%s), at %s of server %s\n", p.Backup.Name, p.Backup.TimeString(), p.From, p.Backup.BinlogServer)
	} else {
		fmt.Fprintln(w, "  backup     none")
	}
	if n := len(p.Segments); n > 0 {
		var size int64
		for _, s := range p.Segments {
			size += s.Size
		}
		first, last := p.Segments[0], p.Segments[n-1]
		fmt.Fprintf(w, "  segments   %d, %s, from %s to %s (commits %s to %s)\n", n, cli.Bytes(size), p.From, last.To(),
			first.First.UTC().Format("2006-01-02 15:04:05"), last.Last.UTC().Format("2006-01-02 15:04:05 UTC"))
	} else if p.Backup.Name != "" {
		fmt.Fprintln(w, "  segments   none")
	}
	if p.Backup.Name != "" {
		reach := p.Reach.UTC().Format("2006-01-02 15:04:05 UTC")
		if p.Complete && !p.Target.IsZero() {
			reach += ", every transaction committed before it"
		} else if p.Complete {
			reach += " (the last transaction copied; the replay says the exact one)"
		}
		fmt.Fprintf(w, "  reaches    %s\n", reach)
	}
	if len(p.Missing) > 0 {
		for _, m := range p.Missing {
			fmt.Fprintf(w, "  missing    %s\n", m)
		}
	} else {
		fmt.Fprintln(w, "  missing    nothing")
	}
	for i, x := range p.Passed {
		if i == 5 {
			fmt.Fprintf(w, "  passed     and %d more backups\n", len(p.Passed)-5)
			break
		}
		fmt.Fprintf(w, "  passed     %s: %s\n", x.Backup.Name, x.Reason)
	}
	for _, x := range l.Ignored {
		fmt.Fprintf(w, "  ignored    %s: %s\n", x.Segment.Name, x.Reason)
	}
}

// recoverProgress is the progress line of a running recovery.
func recoverProgress(p *replay.Progress, plan recovery.Plan, elapsed time.Duration) string {
	phase, _ := p.Phase.Load().(string)
	switch phase {
	case "downloading":
		return fmt.Sprintf("downloading %s to check it before it runs: %s of %s, %s", plan.Backup.Name, cli.Bytes(p.Stored.Load()),
			cli.Bytes(plan.Backup.Size), elapsed.Round(time.Second))
	case "loading":
		return fmt.Sprintf("loading %s: %s of SQL, %s", plan.Backup.Name, cli.Bytes(p.Raw.Load()), elapsed.Round(time.Second))
	case "replaying":
		line := fmt.Sprintf("replaying the binary log: %d of %d segments", p.Segments.Load(), len(plan.Segments))
		if r := p.Reached.Load(); r > 0 {
			line += ", at " + time.Unix(r, 0).UTC().Format("2006-01-02 15:04:05 UTC")
		}
		return line + ", " + elapsed.Round(time.Second).String()
	case "":
		return "starting, " + elapsed.Round(time.Second).String()
	}
	return phase + ", " + elapsed.Round(time.Second).String()
}

// printRecovered says what the recovery did.
func printRecovered(w io.Writer, into mariadb.Conn, p recovery.Plan, rep replay.Report, took time.Duration) {
	fmt.Fprintf(w, "recovered into %s\n", into)
	fmt.Fprintf(w, "  loaded     %s (database %s) in %s\n", rep.Backup, sqltext.Ident(rep.Source), rep.Load.Round(time.Millisecond))
	if len(p.Segments) > 0 {
		res := rep.Result
		fmt.Fprintf(w, "  replayed   %d of %d segments in %s: %d transactions, %d of other databases left out, to %s\n",
			rep.Segments, len(p.Segments), rep.Replay.Round(time.Millisecond), res.Applied, res.Skipped, res.End)
		if len(res.SkippedStatements) > 0 {
			var kinds []string
			for k, n := range res.SkippedStatements {
				kinds = append(kinds, fmt.Sprintf("%d %s", n, k))
			}
			fmt.Fprintf(w, "  left out   %s (they change no data of the database)\n", strings.Join(kinds, ", "))
		}
		if !res.Next.Commit.IsZero() {
			fmt.Fprintf(w, "  next       the first transaction not replayed committed %s\n", res.Next.Commit.UTC().Format(time.RFC3339Nano))
		}
	}
	last := "the backup's snapshot"
	if g := rep.Result.Last.GTID; g != "" {
		last = "transaction " + g
	} else if rep.Result.Applied > 0 {
		last = "the last transaction replayed"
	}
	fmt.Fprintf(w, "  reached    %s (%s)\n", rep.Reached.UTC().Format(time.RFC3339Nano), last)
	if rep.Stopped != nil {
		fmt.Fprintf(w, "  stopped    %v\n", rep.Stopped)
	}
	fmt.Fprintf(w, "  tables     %d\n", rep.Tables)
	fmt.Fprintf(w, "  took       %s\n", took.Round(time.Millisecond))
}

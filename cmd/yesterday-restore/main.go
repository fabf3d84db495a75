// Command yesterday-restore loads a recent backup into the local MariaDB of
// the read-only "yesterday" copy of the app, at boot.
//
// It picks yesterday's backup closest to 03:00 UTC (see --at), downloads it
// from the backup remote into --work-dir and checks it against its
// recorded checksum, loads it into a staging database and swaps it in
// only when all of it loaded and checked out; a corrupt backup makes it try
// the next best one. After a restore it writes the snapshot time for the
// app's banner (--snapshot-file) and a JSON record (--status-file).
//
//	yesterday-restore [flags]
//	yesterday-restore --dry-run [--json]   show the choice, change nothing
//	yesterday-restore --version            print the version and VCS revision
//
// Encrypted backups (.sql.zst.age) are opened with --age-identity, and
// signatures checked with --verify-key; --require-signature skips backups
// that are not signed by production (see docs/encryption.md).
//
// Exit status: 0 restored, 1 failed (the database is left as it was,
// unless the message says the swap could not be undone or that only the
// snapshot files failed), 2 bad settings (keys that open or check none of
// the backups among them), 3 no backup to restore, 11 another restore of
// the same database is running.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/daemon"
	"github.com/backupd/backupd/pkg/loader"
	"github.com/backupd/backupd/pkg/restore"
	"github.com/backupd/backupd/pkg/seal"
	"github.com/backupd/backupd/pkg/selector"
)

type app struct {
	stdout, stderr *os.File
	getenv         func(string) string
	buildInfo      func() (*debug.BuildInfo, bool) // nil: debug.ReadBuildInfo
}

func main() {
	a := &app{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(a.main(os.Args[1:]))
}

func (a *app) main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Exit(a.stderr, "yesterday-restore", a.run(ctx, args))
}

// flags is yesterday-restore's command line.
type flags struct {
	Help     cli.HelpFlag      `short:"h" help:"show help"`
	Version  cli.VersionFlag   `help:"print the version and VCS revision"`
	Remote   cli.RemoteFlags   `embed:""`
	Database cli.DatabaseFlags `embed:""`
	// Fallbacks are read when the primary lacks a backup or a read fails;
	// by default the remotes backupd copies to.
	Fallbacks []string      `name:"fallback-remote" placeholder:"REMOTE" help:"when reading a backup from the remote fails, read it from this one (repeatable, in order; the variables take a comma-separated list); when unset, the backup copies named by BACKUPD_COPY_TO" env:"RESTORE_FALLBACK_REMOTES,BACKUPD_COPY_TO"`
	Keys      cli.OpenFlags `embed:""`

	Name         string        `help:"restore this backup (a file name) instead of choosing one"`
	Now          time.Time     `help:"decide as if it were this time, RFC 3339 such as 2026-03-15T06:00:00Z; when unset, now" format:"2006-01-02T15:04:05Z07:00"`
	At           string        `help:"preferred snapshot time of day yesterday, HH:MM UTC" default:"03:00" env:"RESTORE_AT"`
	Wait         time.Duration `help:"how long to wait for the database to answer" default:"${wait}" env:"RESTORE_WAIT"`
	StagingDB    string        `name:"staging-db" help:"database to load into before the swap; when unset, <db>${staging_suffix}" env:"RESTORE_STAGING_DB"`
	WorkDir      string        `name:"work-dir" placeholder:"DIR" help:"a directory of this user's, on disk, where a backup is checked before it runs (it needs the backup's stored size free) and the swap keeps its journal; when unset, ${work_dir}" env:"RESTORE_WORK_DIR"`
	SnapshotFile string        `help:"write the restored snapshot's time here, \"YYYY-MM-DD HH:MM:SS UTC\"" env:"YESTERDAY_SNAPSHOT_FILE"`
	StatusFile   string        `help:"write a JSON record of the restore here" env:"YESTERDAY_STATUS_FILE"`
	Loader       string        `help:"\"parallel\" (several connections) or \"client\" (the mariadb client, one connection)" default:"parallel" env:"RESTORE_LOADER"`
	Parallel     int           `help:"connections loading data with the parallel loader, 0 to 64; 0 means the number of CPUs, at least 2" default:"0" env:"RESTORE_PARALLEL"`
	DryRun       bool          `help:"print the choice, its reason and the candidates; change nothing"`
	// RequireChecksum refuses backups that carry no recorded sha256.
	RequireChecksum bool `help:"refuse backups without a recorded checksum: skip them like corrupt ones" env:"RESTORE_REQUIRE_CHECKSUM"`
	// Strict maps nothing of a MySQL dump's dialect (docs/mysql.md).
	Strict bool `help:"map nothing of a MySQL dump's dialect (0900 collations, GTID state, ...): refuse such a backup like a corrupt one" env:"RESTORE_STRICT"`
	JSON   bool `name:"json" help:"print the result as one JSON object"`
	// Reporting: see report.go.
	PingURL    string            `name:"ping-url" help:"heartbeat URL (healthchecks.io style): <url>/start, <url> with the result on success, <url>/fail with the reason" env:"RESTORE_PING_URL"`
	Notify     string            `name:"notify" help:"send alerts to these shoutrrr URLs, comma-separated (see docs/alerts.md): on a failed restore and on one that fell back to an older backup" env:"RESTORE_NOTIFY_URLS"`
	RecordHost string            `help:"this machine's name in the restore record written on the backup; when unset, FLY_APP_NAME, else the host name" env:"RESTORE_RECORD_HOST"`
	Debug      bool              `help:"log debugging detail"`
	Log        cli.LogFormatFlag `embed:""`
}

// parse parses the command line and environment; it returns ErrHelp after
// printing help or the version.
func (a *app) parse(args []string) (*flags, *cli.Problems, error) {
	var f flags
	parser, err := cli.NewParser(cli.Program{
		Name:        "yesterday-restore",
		Description: "Load the backup closest to yesterday 03:00 UTC into the local MariaDB, all or nothing. Flags win over the environment.",
		Grammar:     &f,
		Getenv:      a.getenv,
		Stdout:      a.stdout,
		BuildInfo:   a.buildInfo,
		Vars:        kong.Vars{"wait": restore.DefaultWait.String(), "staging_suffix": restore.StagingSuffix, "work_dir": restore.DefaultWorkDir()},
	})
	if err != nil {
		return nil, nil, err
	}
	if _, err := parser.Parse(args); err != nil {
		return nil, nil, err
	}
	return &f, parser.Problems(), nil
}

func (a *app) run(ctx context.Context, args []string) error {
	c, p, err := a.parse(args)
	if err != nil {
		return err
	}
	if err := c.Log.Apply(p); err != nil {
		return err
	}
	cli.SetReport(a.stdout)
	now := c.Now
	if now.IsZero() {
		now = time.Now()
	}
	at, err := selector.ParseAt(c.At)
	if err != nil {
		p.Invalid("at", c.At, "want HH:MM, 00:00 to 23:59")
	}
	policy := selector.Policy{At: at}
	if c.Wait < 0 {
		p.Invalid("wait", c.Wait, "want a duration of 0 or more")
	}
	if c.Parallel < 0 || c.Parallel > 64 {
		p.Invalid("parallel", c.Parallel, "want a whole number from 0 to 64")
	}
	if c.Loader != "parallel" && c.Loader != "client" {
		p.Invalid("loader", c.Loader, "want parallel or client")
	}
	st := c.Remote.Resolve(p)
	keys := c.Keys.Resolve(p)
	if !c.DryRun { // a dry run needs no database
		st.Conn = c.Database.Resolve(p)
	}
	if c.PingURL != "" {
		if err := daemon.ParsePingURL(c.PingURL); err != nil {
			p.Addf("invalid ping URL from %s: %v", p.Source("ping-url"), err)
		}
	}
	if err := p.Err(); err != nil {
		return err
	}
	log := cli.NewLogger(a.stderr, c.Debug)
	notifier, err := cli.NewNotifier(c.Notify, "yesterday-restore", log, nil)
	if err != nil {
		return cli.Usagef("invalid notify from %s: %v", p.Source("notify"), err)
	}
	primary, err := cli.OpenStore(ctx, st, log)
	if err != nil {
		return err
	}
	store := withFallbacks(ctx, primary, c.Fallbacks, log)
	prog := new(restore.Progress)
	r := &restore.Restorer{
		Store:            store,
		Conn:             st.Conn,
		RequireChecksum:  c.RequireChecksum,
		Strict:           c.Strict,
		Identities:       keys.Identities,
		VerifyKeys:       keys.VerifyKeys,
		RequireSignature: keys.RequireSignature,
		StagingDB:        c.StagingDB,
		Wait:             c.Wait,
		WorkDir:          c.WorkDir,
		SnapshotFile:     c.SnapshotFile,
		StatusFile:       c.StatusFile,
		Progress:         prog,
		Log:              log,
	}
	if c.Loader == "client" {
		r.Loader = loader.Client{Log: log}
	} else {
		r.Loader = loader.Parallel{Parallel: c.Parallel, Log: log}
	}
	if !c.DryRun {
		if err := r.Validate(); err != nil {
			return cli.Usagef("%v", err)
		}
	}
	rp := &reporting{ping: &daemon.Pinger{URL: c.PingURL, Log: log.With("component", "ping")}, notify: notifier,
		store: primary, conn: st.Conn, host: c.RecordHost, log: log}
	if rp.host == "" {
		rp.host = recordHost(a.getenv)
	}
	// A folder that does not exist is a mistyped setting, not an empty
	// remote.
	var choice selector.Choice
	err = primary.CheckFolder(ctx)
	if err == nil {
		choice, err = restore.Choose(ctx, store, st.Codec(), now, policy, c.Name)
	}
	if errors.Is(err, selector.ErrNoBackup) {
		hint := ""
		if c.Name != "" {
			hint = ` (run "backupd list" with the same remote for the names)`
		}
		err = fmt.Errorf("%w; looked in %s%s", err, store, hint)
	}
	if err != nil {
		if !c.DryRun {
			rp.start(ctx)
			rp.finish(ctx, restore.Report{}, err, time.Now())
		}
		return err
	}
	if c.DryRun {
		chosen, verdicts, err := r.Plan(ctx, choice.Candidates)
		if err != nil {
			return keySetting(p, err)
		}
		return a.printChoice(choice, chosen, verdicts, c.JSON)
	}
	log.Info("ranked the backups", "best", choice.Backup.Name, "snapshot", choice.Backup.TimeString(),
		"reason", choice.Reason, "candidates", len(choice.Candidates))
	rp.start(ctx)
	start := time.Now()
	stop := cli.StartProgress(a.stderr, log, func() string { return progressLine(prog.State()) })
	rep, err := r.Restore(ctx, choice.Candidates)
	stop()
	rp.finish(ctx, rep, err, start)
	if err != nil {
		return keySetting(p, err)
	}
	return a.printReport(rep, c.JSON)
}

// keySetting turns a restore whose keys refused every candidate
// (restore.KeyError) into the setting error it is, naming the settings.
func keySetting(p *cli.Problems, err error) error {
	var ke *restore.KeyError
	if !errors.As(err, &ke) {
		return err
	}
	var set []string
	if ke.Identity {
		set = append(set, fmt.Sprintf("%s (or %s) to the identity of the recipient backupd encrypts to (its --encrypt-to)", p.Name("age-identity"), cli.AgeIdentityEnv))
	}
	if ke.Verify {
		set = append(set, fmt.Sprintf("%s to the public half of the key backupd signs with (its --sign-key)", p.Name("verify-key")))
	}
	return cli.Usagef("%v: set %s", err, strings.Join(set, "; set "))
}

// progressLine describes a running restore: bytes, rate and, from the
// stored size in the listing, the time left.
func progressLine(s restore.ProgressState) string {
	switch s.Phase {
	case "downloading":
		line := fmt.Sprintf("downloading %s to check it before it runs: %s", s.Backup, cli.Bytes(s.Stored))
		if s.Total > 0 {
			line += fmt.Sprintf(" of %s (%.0f%%)", cli.Bytes(s.Total), 100*float64(s.Stored)/float64(s.Total))
		}
		line += ", " + cli.Rate(s.Stored, s.Elapsed)
		if s.Total > 0 && s.Stored > 0 && s.Stored < s.Total {
			left := time.Duration(float64(s.Elapsed) * float64(s.Total-s.Stored) / float64(s.Stored))
			line += ", ETA " + left.Round(time.Second).String()
		}
		return line
	case "loading":
		line := fmt.Sprintf("restoring %s: %s", s.Backup, cli.Bytes(s.Stored))
		if s.Total > 0 {
			line += fmt.Sprintf(" of %s (%.0f%%)", cli.Bytes(s.Total), 100*float64(s.Stored)/float64(s.Total))
		}
		line += fmt.Sprintf(", %s of SQL loaded, %s of SQL", cli.Bytes(s.Raw), cli.Rate(s.Raw, s.Elapsed))
		if s.Total > 0 && s.Stored > 0 && s.Stored < s.Total {
			left := time.Duration(float64(s.Elapsed) * float64(s.Total-s.Stored) / float64(s.Stored))
			line += ", ETA " + left.Round(time.Second).String()
		}
		return line
	case "":
		return "starting"
	case "swapping":
		return fmt.Sprintf("swapping in %s (%s)", s.Backup, s.Elapsed.Round(time.Second))
	}
	return fmt.Sprintf("%s (%s)", s.Phase, s.Elapsed.Round(time.Second))
}

type candidateJSON struct {
	Name string    `json:"name"`
	Time time.Time `json:"time"`
	Size int64     `json:"size"`
	// Skipped says why the restore would skip it before loading it.
	Skipped string `json:"skipped,omitempty"`
}

type choiceJSON struct {
	Name       string          `json:"name"`
	Time       time.Time       `json:"time"`
	Snapshot   string          `json:"snapshot"`
	Reason     string          `json:"reason"`
	Target     time.Time       `json:"target"`
	Size       int64           `json:"size"`
	SHA256     string          `json:"sha256,omitempty"`
	Candidates []candidateJSON `json:"candidates"`
}

// printChoice shows what a restore would do: the candidate it would load
// (verdicts[chosen]) and why, and every candidate with the reason it
// would be skipped.
func (a *app) printChoice(c selector.Choice, chosen int, verdicts []restore.Verdict, asJSON bool) error {
	b := verdicts[chosen].Backup
	if asJSON {
		out := choiceJSON{
			Name: b.Name, Time: b.Time.UTC(), Snapshot: b.TimeString(),
			Reason: c.ReasonFor(chosen), Target: c.Target.UTC(), Size: b.Size, SHA256: b.SHA256,
		}
		for _, v := range verdicts {
			cj := candidateJSON{Name: v.Backup.Name, Time: v.Backup.Time.UTC(), Size: v.Backup.Size}
			if v.Skip != nil {
				cj.Skipped = v.Skip.Error()
			}
			out.Candidates = append(out.Candidates, cj)
		}
		return writeJSON(a.stdout, out)
	}
	fmt.Fprintf(a.stdout, "would restore %s\n", b.Name)
	fmt.Fprintf(a.stdout, "  snapshot   %s\n", b.TimeString())
	fmt.Fprintf(a.stdout, "  reason     %s\n", c.ReasonFor(chosen))
	fmt.Fprintf(a.stdout, "  size       %s\n", size(b))
	fmt.Fprintf(a.stdout, "candidates, best first (a corrupt backup falls back to the next):\n")
	for i, v := range verdicts {
		note := ""
		switch {
		case i == chosen:
			note = "  would restore"
		case v.Skip != nil:
			note = "  skipped: " + v.Skip.Error()
		}
		fmt.Fprintf(a.stdout, "  %3d  %s  %s%s\n", i+1, v.Backup.Name, size(v.Backup), note)
	}
	return nil
}

func (a *app) printReport(rep restore.Report, asJSON bool) error {
	if asJSON {
		return writeJSON(a.stdout, rep.Status())
	}
	fmt.Fprintf(a.stdout, "restored %s into %s\n", rep.Backup.Name, rep.Database)
	fmt.Fprintf(a.stdout, "  snapshot   %s\n", rep.Backup.TimeString())
	fmt.Fprintf(a.stdout, "  tables     %d\n", rep.Tables)
	fmt.Fprintf(a.stdout, "  loaded     %s of SQL from %s stored (%s)\n", cli.Bytes(rep.RawBytes), cli.Bytes(rep.StoredBytes), rep.Compression)
	fmt.Fprintf(a.stdout, "  duration   %s, %s of SQL\n", rep.Duration.Round(time.Millisecond), cli.Rate(rep.RawBytes, rep.Duration))
	if rep.Verified {
		fmt.Fprintf(a.stdout, "  verified   sha256 %s matches the recorded checksum\n", rep.SHA256)
	} else {
		fmt.Fprintf(a.stdout, "  UNVERIFIED no checksum was recorded for this backup\n")
	}
	if rep.Source != "" {
		fmt.Fprintf(a.stdout, "  source     %s\n", rep.Source)
	}
	for _, m := range rep.Mapped {
		fmt.Fprintf(a.stdout, "  mapped     %s\n", m)
	}
	if rep.Encrypted {
		fmt.Fprintf(a.stdout, "  encrypted  yes, opened with the age identity\n")
	}
	switch rep.Signature {
	case seal.Valid:
		fmt.Fprintf(a.stdout, "  signature  valid\n")
	case seal.Unchecked:
		fmt.Fprintf(a.stdout, "  signature  not checked (no verify key given)\n")
	default:
		fmt.Fprintf(a.stdout, "  signature  none\n")
	}
	if rep.Recovery != nil {
		fmt.Fprintf(a.stdout, "  recovery   %s\n", rep.Recovery.Note)
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(a.stdout, "  skipped    %s: %v\n", s.Backup, s.Err)
	}
	return nil
}

func size(b catalog.Backup) string {
	if b.Size < 0 {
		return "size unknown"
	}
	return cli.Bytes(b.Size)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// Command yesterday-restore loads a recent backup into the local MariaDB of
// the read-only "yesterday" copy of the app, at boot.
//
// It picks yesterday's backup closest to 03:00 UTC (see --at), streams it
// from the backup remote, loads it into a staging database and swaps it in
// only when all of it loaded and checked out; a corrupt backup makes it try
// the next best one. After a restore it writes the snapshot time for the
// app's banner (--snapshot-file) and a JSON record (--status-file).
//
//	yesterday-restore [flags]
//	yesterday-restore --dry-run [--json]   show the choice, change nothing
//
// Exit status: 0 restored, 1 failed (the database is left as it was,
// unless the message says the swap could not be undone or that only the
// snapshot files failed), 2 bad settings, 3 no backup to restore, 11 another restore of the same
// database is running.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/loader"
	"github.com/backupd/backupd/pkg/restore"
	"github.com/backupd/backupd/pkg/selector"
)

type app struct {
	stdout, stderr *os.File
	getenv         func(string) string
}

func main() {
	a := &app{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(a.main(os.Args[1:]))
}

func (a *app) main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return a.exit(a.run(ctx, args))
}

// config is everything the flags and the environment say.
type config struct {
	common       *cli.Common
	name         string
	now          time.Time
	policy       selector.Policy
	wait         time.Duration
	stagingDB    string
	snapshotFile string
	statusFile   string
	loader       string // "parallel" or "client"
	parallel     int
	dryRun, json bool
	debug        bool
	requireSum   bool
}

func (a *app) parse(args []string) (config, error) {
	set := cli.NewSet("yesterday-restore", a.getenv)
	c := config{common: cli.AddCommon(set)}
	name := set.String("name", nil, "", "restore this backup (a file name) instead of choosing one")
	now := set.String("now", nil, "", "decide as if it were this time (RFC 3339, default now)")
	at := set.String("at", []string{"RESTORE_AT"}, "03:00", "preferred snapshot time of day yesterday, HH:MM UTC")
	wait := set.String("wait", []string{"RESTORE_WAIT"}, restore.DefaultWait.String(), "how long to wait for the database to answer")
	staging := set.String("staging-db", []string{"RESTORE_STAGING_DB"}, "", "database to load into before the swap (default <db>"+restore.StagingSuffix+")")
	snapshot := set.String("snapshot-file", []string{"YESTERDAY_SNAPSHOT_FILE"}, "", "write the restored snapshot's time here, \"YYYY-MM-DD HH:MM:SS UTC\"")
	status := set.String("status-file", []string{"YESTERDAY_STATUS_FILE"}, "", "write a JSON record of the restore here")
	loader := set.String("loader", []string{"RESTORE_LOADER"}, "parallel", `"parallel" (several connections) or "client" (the mariadb client, one connection)`)
	parallel := set.String("parallel", []string{"RESTORE_PARALLEL"}, "0", "connections loading data with the parallel loader (0: the number of CPUs, at least 2)")
	dryRun := set.Bool("dry-run", "print the choice, its reason and the candidates; change nothing")
	asJSON := set.Bool("json", "print the result as one JSON object")
	debug := set.Bool("debug", "log debugging detail")
	requireSum := set.Bool("require-checksum", "refuse backups without a recorded checksum: skip them like corrupt ones (env RESTORE_REQUIRE_CHECKSUM=true)")
	if err := set.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(a.stdout, "usage: yesterday-restore [flags]")
			fmt.Fprintln(a.stdout)
			set.Usage(a.stdout)
		}
		return c, err
	}
	if set.FS.NArg() > 0 {
		return c, cli.Usagef("unexpected arguments %q", set.FS.Args())
	}
	c.name, c.dryRun, c.json, c.debug, c.requireSum = set.Get(name), *dryRun, *asJSON, *debug, *requireSum
	flagSet := false
	set.FS.Visit(func(f *flag.Flag) { flagSet = flagSet || f.Name == "require-checksum" })
	if v := a.getenv("RESTORE_REQUIRE_CHECKSUM"); v != "" && !flagSet {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, cli.Usagef("invalid RESTORE_REQUIRE_CHECKSUM %q: want true or false", v)
		}
		c.requireSum = b
	}
	c.stagingDB, c.snapshotFile, c.statusFile = set.Get(staging), set.Get(snapshot), set.Get(status)

	c.now = time.Now()
	if v := set.Get(now); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return c, cli.Usagef("invalid --now %q: want RFC 3339, such as 2026-03-15T06:00:00Z", v)
		}
		c.now = t
	}
	atVal, src := set.Value(at)
	d, err := selector.ParseAt(atVal)
	if err != nil {
		return c, cli.Usagef("invalid --at %q from %s: want HH:MM, 00:00 to 23:59", atVal, src)
	}
	c.policy = selector.Policy{At: d}
	if c.wait, err = set.Duration(wait); err != nil {
		return c, err
	}
	if c.parallel, err = set.Int(parallel, 0, 64); err != nil {
		return c, err
	}
	c.loader, src = set.Value(loader)
	if c.loader != "parallel" && c.loader != "client" {
		return c, cli.Usagef("invalid --loader %q from %s: want parallel or client", c.loader, src)
	}
	return c, nil
}

func (a *app) run(ctx context.Context, args []string) error {
	c, err := a.parse(args)
	if err != nil {
		return err
	}
	var st cli.Settings
	if c.dryRun {
		st, err = c.common.Remote() // a dry run needs no database
	} else {
		st, err = c.common.Resolve(false)
	}
	if err != nil {
		return err
	}
	log := cli.NewLogger(a.stderr, c.debug)
	store, err := cli.OpenStore(ctx, st, log)
	if err != nil {
		return err
	}
	prog := new(restore.Progress)
	r := &restore.Restorer{
		Store:        store,
		Conn:         st.Conn,
		StagingDB:    c.stagingDB,
		Wait:         c.wait,
		SnapshotFile: c.snapshotFile,
		StatusFile:   c.statusFile,
		Progress:     prog,
		Log:          log,

		RequireChecksum: c.requireSum,
	}
	if c.loader == "client" {
		r.Loader = loader.Client{Log: log}
	} else {
		r.Loader = loader.Parallel{Parallel: c.parallel, Log: log}
	}
	if !c.dryRun {
		if err := r.Check(); err != nil {
			return cli.Usagef("%v", err)
		}
	}
	choice, err := restore.Choose(ctx, store, st.Codec(), c.now, c.policy, c.name)
	if err != nil {
		return err
	}
	if c.dryRun {
		return a.printChoice(choice, c.json)
	}
	log.Info("chose a backup", "backup", choice.Backup.Name, "snapshot", choice.Backup.TimeString(),
		"reason", choice.Reason, "candidates", len(choice.Candidates))
	stop := cli.StartProgress(a.stderr, log, func() string { return progressLine(prog.State()) })
	rep, err := r.Restore(ctx, choice.Candidates)
	stop()
	if err != nil {
		return err
	}
	return a.printReport(rep, c.json)
}

// progressLine describes a running restore: bytes, rate and, from the
// stored size in the listing, the time left.
func progressLine(s restore.ProgressState) string {
	switch s.Phase {
	case "loading":
		line := fmt.Sprintf("restoring %s: %s", s.Backup, cli.Bytes(s.Stored))
		if s.Total > 0 {
			line += fmt.Sprintf(" of %s (%.0f%%)", cli.Bytes(s.Total), 100*float64(s.Stored)/float64(s.Total))
		}
		line += fmt.Sprintf(", %s SQL, %s", cli.Bytes(s.Raw), cli.Rate(s.Stored, s.Elapsed))
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

func (a *app) printChoice(c selector.Choice, asJSON bool) error {
	if asJSON {
		out := choiceJSON{
			Name: c.Backup.Name, Time: c.Backup.Time.UTC(), Snapshot: c.Backup.TimeString(),
			Reason: c.Reason, Target: c.Target.UTC(), Size: c.Backup.Size, SHA256: c.Backup.SHA256,
		}
		for _, b := range c.Candidates {
			out.Candidates = append(out.Candidates, candidateJSON{Name: b.Name, Time: b.Time.UTC(), Size: b.Size})
		}
		return writeJSON(a.stdout, out)
	}
	fmt.Fprintf(a.stdout, "would restore %s\n", c.Backup.Name)
	fmt.Fprintf(a.stdout, "  snapshot   %s\n", c.Backup.TimeString())
	fmt.Fprintf(a.stdout, "  reason     %s\n", c.Reason)
	fmt.Fprintf(a.stdout, "  size       %s\n", size(c.Backup))
	fmt.Fprintf(a.stdout, "candidates, best first (a corrupt backup falls back to the next):\n")
	for i, b := range c.Candidates {
		fmt.Fprintf(a.stdout, "  %3d  %s  %s\n", i+1, b.Name, size(b))
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
	fmt.Fprintf(a.stdout, "  duration   %s, %s\n", rep.Duration.Round(time.Millisecond), cli.Rate(rep.RawBytes, rep.Duration))
	if rep.Verified {
		fmt.Fprintf(a.stdout, "  verified   sha256 %s matches the recorded checksum\n", rep.SHA256)
	} else {
		fmt.Fprintf(a.stdout, "  UNVERIFIED no checksum was recorded for this backup\n")
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

// exit maps an error to the exit status, printing one line.
func (a *app) exit(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return cli.ExitOK
	case cli.IsUsage(err):
		fmt.Fprintf(a.stderr, "yesterday-restore: %v\n", err)
		return cli.ExitUsage
	case errors.Is(err, selector.ErrNoBackup):
		fmt.Fprintf(a.stderr, "yesterday-restore: %v\n", err)
		return cli.ExitNoBackup
	case errors.Is(err, restore.ErrLocked):
		fmt.Fprintf(a.stderr, "yesterday-restore: %v\n", err)
		return cli.ExitLocked
	}
	fmt.Fprintf(a.stderr, "yesterday-restore: %v\n", err)
	return cli.ExitFailure
}

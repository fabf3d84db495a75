// Command backupd takes hourly MariaDB backups into a Google Shared Drive
// folder (or any rclone remote) and keeps the newest of them.
//
//	backupd now        take one backup in the foreground
//	backupd serve      take backups on a schedule, serve health and metrics
//	backupd list       list the backups, newest first
//	backupd status     say whether backups work; exit 1 when not
//	backupd prune      apply the retention policy now
//	backupd verify     check a backup end to end without writing it anywhere
//	backupd recover    bring the database back to a moment: a backup, then the binary log
//	backupd refresh    restart the yesterday app's machines once
//	backupd repair-copies  fill the --copy-to remotes from the primary
//	backupd doctor     check the configuration without taking a backup
//	backupd keygen     make the keys that encrypt and sign backups
//	backupd version    print the version and VCS revision
//
// Settings come from flags or the environment the old scripts used; flags
// win. Run "backupd help" for the commands and "backupd help CMD" (or
// "backupd CMD --help") for a command's flags, their types, defaults and
// environment variables.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/internal/initgc"
	"github.com/backupd/backupd/pkg/daemon"
	"github.com/backupd/backupd/pkg/fly"
	"github.com/backupd/backupd/pkg/retention"
	"github.com/backupd/backupd/pkg/slot"
)

// app is what every command gets from main.
type app struct {
	stdout, stderr *os.File
	getenv         func(string) string
	buildInfo      func() (*debug.BuildInfo, bool) // nil: debug.ReadBuildInfo
	parser         *cli.Parser
}

// commands is backupd's command line: each command with the flags it uses.
type commands struct {
	Help    cli.HelpFlag      `short:"h" help:"show help: the commands, or after a command its flags"`
	Log     cli.LogFormatFlag `embed:""`
	Now     nowCmd            `cmd:"" help:"take one backup now, in the foreground"`
	Serve   serveCmd          `cmd:"" help:"run the daemon: scheduled backups, retention, refresh, health, metrics"`
	Prune   pruneCmd          `cmd:"" help:"delete the backups the retention policy no longer keeps"`
	List    listCmd           `cmd:"" help:"list the backups, newest first"`
	Status  statusCmd         `cmd:"" help:"say whether backups work: newest backup, last proven restore, suspect backups, serve; exit 1 when not"`
	Verify  verifyCmd         `cmd:"" help:"download a backup and check its checksum, compression and trailer"`
	Recover recoverCmd        `cmd:"" help:"bring the database back to a moment (--to latest or a time) into another server: the newest backup before it, then the binary log up to it"`
	Accept  acceptCmd         `cmd:"" help:"accept a suspect backup's shape (a database that really shrank): retention resumes"`
	Repair  repairCopiesCmd   `cmd:"" name:"repair-copies" help:"copy to each --copy-to remote the primary's backups it lacks, checksums verified"`
	Refresh refreshCmd        `cmd:"" help:"restart the yesterday app's machines now"`
	Doctor  doctorCmd         `cmd:"" help:"check the configuration (Drive, credentials, database) without taking a backup"`
	Keygen  keygenCmd         `cmd:"" help:"make the keys that encrypt and sign backups (see docs/encryption.md)"`
	Version versionCmd        `cmd:"" help:"print the version and VCS revision"`
	HelpCmd helpCmd           `cmd:"" name:"help" help:"show the commands, or one command's flags"`
}

// runner is a command: it runs with its flags parsed, resolving the
// settings that need more than a parse through p.
type runner interface {
	run(ctx context.Context, a *app, p *cli.Problems) error
}

var (
	_ runner = (*nowCmd)(nil)
	_ runner = (*serveCmd)(nil)
	_ runner = (*pruneCmd)(nil)
	_ runner = (*listCmd)(nil)
	_ runner = (*statusCmd)(nil)
	_ runner = (*verifyCmd)(nil)
	_ runner = (*recoverCmd)(nil)
	_ runner = (*refreshCmd)(nil)
	_ runner = (*repairCopiesCmd)(nil)
	_ runner = (*doctorCmd)(nil)
	_ runner = (*keygenCmd)(nil)
	_ runner = (*versionCmd)(nil)
	_ runner = (*helpCmd)(nil)
)

// vars are the defaults the grammar's tags name as ${name}.
var vars = kong.Vars{
	"keep":             strconv.Itoa(retention.DefaultKeep),
	"grace":            daemon.DefaultGrace.String(),
	"claim_settle":     slot.DefaultSettle.String(),
	"fly_api":          fly.DefaultAPI,
	"schedule":         defaultSchedule,
	"refresh_schedule": defaultRefreshSchedule,
	"listen":           defaultListen,
}

func main() {
	initgc.Restore()
	a := &app{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(a.main(os.Args[1:]))
}

func (a *app) main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return a.run(ctx, args)
}

// run is main under ctx, which ends the command as a signal would.
func (a *app) run(ctx context.Context, args []string) int {
	var grammar commands
	parser, err := cli.NewParser(cli.Program{
		Name:        "backupd",
		Description: "Hourly MariaDB backups into a Google Shared Drive folder or any rclone remote. Flags win over the environment. Run \"backupd help CMD\" for the flags of a command.",
		Grammar:     &grammar,
		Getenv:      a.getenv,
		Stdout:      a.stdout,
		BuildInfo:   a.buildInfo,
		Vars:        vars,
	})
	if err != nil {
		return cli.Exit(a.stderr, "backupd", err)
	}
	a.parser = parser
	if len(args) == 0 {
		parser.PrintHelp()
		return cli.ExitUsage
	}
	prefix := "backupd"
	if !strings.HasPrefix(args[0], "-") {
		if !slices.Contains(parser.Commands(), args[0]) {
			hint := ""
			if c := cli.Closest(args[0], parser.Commands()); c != "" {
				hint = fmt.Sprintf(", did you mean %q?", c)
			}
			fmt.Fprintf(a.stderr, "backupd: unknown command %q%s (run \"backupd help\")\n", args[0], hint)
			return cli.ExitUsage
		}
	}
	for _, arg := range args {
		// The command, even after a global flag such as --log-format.
		if slices.Contains(parser.Commands(), arg) {
			prefix += " " + arg
			break
		}
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		return cli.Exit(a.stderr, prefix, err)
	}
	if err := grammar.Log.Apply(parser.Problems()); err != nil {
		return cli.Exit(a.stderr, prefix, err)
	}
	// Every command but serve prints a report for a person.
	if _, daemon := kctx.Selected().Target.Addr().Interface().(*serveCmd); !daemon {
		cli.SetReport(a.stdout)
	} else {
		cli.SetReport(nil)
	}
	cmd, ok := kctx.Selected().Target.Addr().Interface().(runner)
	if !ok {
		return cli.Exit(a.stderr, prefix, cli.Usagef("no command: run \"backupd help\""))
	}
	return cli.Exit(a.stderr, prefix, cmd.run(ctx, a, parser.Problems()))
}

// versionCmd prints the version line.
type versionCmd struct{}

func (c *versionCmd) run(_ context.Context, a *app, _ *cli.Problems) error {
	fmt.Fprintln(a.stdout, a.parser.Version())
	return nil
}

// helpCmd prints the help of backupd or of one command.
type helpCmd struct {
	Command []string `arg:"" optional:"" help:"the command to describe"`
}

func (c *helpCmd) run(_ context.Context, a *app, _ *cli.Problems) error {
	return a.parser.PrintHelp(c.Command...)
}

// Command backupd takes hourly MariaDB backups into a Google Shared Drive
// folder (or any rclone remote) and keeps the newest of them.
//
//	backupd now        take one backup in the foreground
//	backupd serve      take backups on a schedule, serve health and metrics
//	backupd list       list the backups, newest first
//	backupd prune      apply the retention policy now
//	backupd verify     check a backup end to end without writing it anywhere
//	backupd refresh    restart the yesterday app's machines once
//	backupd doctor     check the configuration without taking a backup
//
// Settings come from flags or the environment the old scripts used; flags
// win. Run "backupd help" for the commands and "backupd CMD -h" for flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/lock"
)

// app is what every command gets from main.
type app struct {
	stdout, stderr *os.File
	getenv         func(string) string
}

type command struct {
	name, summary string
	run           func(ctx context.Context, a *app, args []string) error
}

var commands = []command{
	{"now", "take one backup now, in the foreground", runNow},
	{"serve", "run the daemon: scheduled backups, retention, refresh, health, metrics", runServe},
	{"prune", "delete the backups the retention policy no longer keeps", runPrune},
	{"list", "list the backups, newest first", runList},
	{"verify", "download a backup and check its checksum, compression and trailer", runVerify},
	{"refresh", "restart the yesterday app's machines now", runRefresh},
	{"doctor", "check the configuration (Drive, credentials, database) without taking a backup", runDoctor},
}

func main() {
	a := &app{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(a.main(os.Args[1:]))
}

func (a *app) main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		a.usage(a.stdout)
		if len(args) == 0 {
			return cli.ExitUsage
		}
		return cli.ExitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return a.exit(c.name, c.run(ctx, a, args[1:]))
		}
	}
	fmt.Fprintf(a.stderr, "backupd: unknown command %q (run \"backupd help\")\n", args[0])
	return cli.ExitUsage
}

func (a *app) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: backupd COMMAND [flags]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun \"backupd COMMAND -h\" for the flags of a command.")
}

// exit maps a command's error to its exit status, printing one line.
func (a *app) exit(name string, err error) int {
	switch {
	case err == nil:
		return cli.ExitOK
	case errors.Is(err, flag.ErrHelp):
		return cli.ExitOK
	case cli.IsUsage(err):
		fmt.Fprintf(a.stderr, "backupd %s: %v\n", name, err)
		return cli.ExitUsage
	case errors.Is(err, lock.ErrLocked):
		fmt.Fprintf(a.stderr, "backupd %s: %v\n", name, err)
		return cli.ExitLocked
	}
	fmt.Fprintf(a.stderr, "backupd %s: %v\n", name, err)
	if code, ok := retentionExit(err); ok {
		return code
	}
	return cli.ExitFailure
}

// parse parses a command's flags, printing its help for -h.
func (a *app) parse(set *cli.Set, args []string) error {
	err := set.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(a.stdout, "usage: backupd %s [flags]\n\n", set.FS.Name())
		set.Usage(a.stdout)
	}
	return err
}

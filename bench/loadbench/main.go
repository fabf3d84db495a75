// Command loadbench loads one stored dump (zstd or gzip) into a database
// with dump.Load, for bench/restore.sh. It connects over a socket as a user
// without a password, which is how the benchmark's private server is set up.
//
//	loadbench -socket S -user root -database DB [-parallel N] [-cpuprofile F] DUMP
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"time"

	"github.com/backupd/backupd/pkg/dump"
)

func main() {
	socket := flag.String("socket", "", "server socket")
	user := flag.String("user", "root", "user (no password)")
	database := flag.String("database", "", "database to load into")
	parallel := flag.Int("parallel", 0, "data connections (0: number of CPUs, at least 2)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the load to this file")
	flag.Parse()
	if flag.NArg() != 1 || *database == "" {
		fmt.Fprintln(os.Stderr, "usage: loadbench -socket S -database DB [-parallel N] DUMP")
		os.Exit(2)
	}
	if err := run(*socket, *user, *database, *parallel, *cpuprofile, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

func run(socket, user, database string, parallel int, cpuprofile, path string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, comp, err := dump.NewReader(f)
	if err != nil {
		return err
	}
	defer r.Close()
	if cpuprofile != "" {
		pf, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	conn := dump.Conn{Socket: socket, User: user, Database: database}
	st, err := dump.Load(ctx, r, conn, dump.LoadOptions{Parallel: parallel, Log: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "loadbench: %s, %d MB of SQL, %d statements (%d inserts), %d connections, %s (%.0f MB/s)\n",
		comp, st.Bytes>>20, st.Statements, st.Inserts, st.Parallel, st.Duration.Round(time.Millisecond),
		float64(st.Bytes)/1e6/st.Duration.Seconds())
	return nil
}

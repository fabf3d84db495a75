// Command loadcpu measures the client side's CPU of loading one dump: the
// parallel loader (loader.Load in this process, reading the dump through
// dump.NewReader as the restore does) against the mariadb command-line
// client fed the same SQL, side by side in one run, as CPU seconds (user
// and system) per 100 MB of SQL. Each round loads into a fresh database of
// the given server, the methods interleaved; it prints the median and the
// range of each, and can write a CPU profile of the loader's last round.
// It prints figures; it asserts nothing.
//
//	go run ./bench/loadcpu -socket /tmp/db/mysqld.sock -dump dump.sql.zst -rounds 5
//	go run ./bench/loadcpu -socket /tmp/db/mysqld.sock -dump dump.sql.zst -cpuprofile loader.pprof
//
// The client reads the SQL from a decompressed copy of the dump, so that its
// figure is the client's alone; "zstd -dc" is measured on its own, and the
// loader is measured reading the compressed dump (its zstd decoding
// included) and the decompressed copy.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/loader"
)

func main() {
	socket := flag.String("socket", "", "server socket (root, no password)")
	user := flag.String("user", "root", "the account that loads (no password; it needs CREATE and DROP on the databases loadcpu_*)")
	path := flag.String("dump", "", "the dump: SQL, or SQL compressed with zstd or gzip")
	rounds := flag.Int("rounds", 3, "rounds of every method")
	parallel := flag.Int("parallel", 2, "the loader's connections")
	client := flag.String("client", "mariadb", "the mariadb command-line client")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the loader's last round (from the compressed dump) here")
	flag.Parse()
	if *socket == "" || *path == "" {
		log.Fatal("-socket and -dump are required")
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "loadcpu-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	raw := filepath.Join(dir, "dump.sql")
	size, err := decompress(*path, raw)
	if err != nil {
		log.Fatal(err)
	}
	root := mariadb.Conn{Socket: *socket, User: "root"}
	db, err := root.OpenDB(nil, false)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	var version string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		log.Fatal(err)
	}

	type method struct {
		name string
		run  func(database string, last bool) (cpu float64, err error)
	}
	load := func(file string, prof bool) func(string, bool) (float64, error) {
		return func(database string, last bool) (float64, error) {
			r, closeFn, err := open(file)
			if err != nil {
				return 0, err
			}
			defer closeFn()
			if prof && last && *profile != "" {
				pf, err := os.Create(*profile)
				if err != nil {
					return 0, err
				}
				defer pf.Close()
				if err := pprof.StartCPUProfile(pf); err != nil {
					return 0, err
				}
				defer pprof.StopCPUProfile()
			}
			conn := mariadb.Conn{Socket: *socket, User: *user, Database: database}
			before := selfCPU()
			if _, err := loader.Load(ctx, r, conn, loader.Options{Parallel: *parallel}); err != nil {
				return 0, err
			}
			return selfCPU() - before, nil
		}
	}
	methods := []method{
		{"loader, from " + filepath.Base(*path), load(*path, true)},
		{"mariadb client, from SQL", func(database string, _ bool) (float64, error) {
			return child(raw, *client, "--no-defaults", "--socket="+*socket, "-u"+*user, database)
		}},
	}
	if compressed := strings.HasSuffix(*path, ".zst") || strings.HasSuffix(*path, ".gz"); compressed {
		methods = append(methods, method{"loader, from SQL", load(raw, false)})
		methods = append(methods, method{"decompressing alone", func(string, bool) (float64, error) {
			return decompressCPU(*path)
		}})
	}
	cpu := make([][]float64, len(methods))
	wall := make([][]float64, len(methods))
	for round := 1; round <= *rounds; round++ {
		for i, m := range methods {
			name := fmt.Sprintf("loadcpu_%d", i)
			if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
				log.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4"); err != nil {
				log.Fatal(err)
			}
			start := time.Now()
			c, err := m.run(name, round == *rounds)
			if err != nil {
				log.Fatalf("%s: %v", m.name, err)
			}
			cpu[i] = append(cpu[i], c)
			wall[i] = append(wall[i], time.Since(start).Seconds())
			fmt.Fprintf(os.Stderr, "round %d: %-32s %6.2f s CPU %6.2f s wall\n", round, m.name, c, time.Since(start).Seconds())
			if _, err := db.ExecContext(ctx, "DROP DATABASE "+name); err != nil {
				log.Fatal(err)
			}
		}
	}
	per := 100e6 / float64(size)
	fmt.Printf("dump %s: %.1f MB of SQL; server %s; %d round(s), medians [min-max]\n", filepath.Base(*path), float64(size)/1e6, version, *rounds)
	fmt.Printf("%-32s %24s %24s %10s\n", "method", "CPU s per 100 MB", "wall s", "CPU vs client")
	client0 := median(cpu[1])
	for i, m := range methods {
		fmt.Printf("%-32s %8.3f [%.3f-%.3f] %10.2f [%.2f-%.2f] %9.2fx\n", m.name,
			median(cpu[i])*per, slices.Min(cpu[i])*per, slices.Max(cpu[i])*per,
			median(wall[i]), slices.Min(wall[i]), slices.Max(wall[i]), median(cpu[i])/client0)
	}
}

// selfCPU returns this process's user and system CPU seconds so far.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		log.Fatal(err)
	}
	return tv(ru.Utime) + tv(ru.Stime)
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// child runs a program with stdin from the file in, and returns its CPU
// seconds.
func child(in, prog string, args ...string) (float64, error) {
	f, err := os.Open(in)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	cmd := exec.Command(prog, args...)
	cmd.Stdin = f
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%v: %s", err, stderr.String())
	}
	return cmd.ProcessState.UserTime().Seconds() + cmd.ProcessState.SystemTime().Seconds(), nil
}

// decompressCPU returns the CPU seconds of zstd -dc (or gzip -dc) of file
// into /dev/null.
func decompressCPU(file string) (float64, error) {
	prog := "zstd"
	if strings.HasSuffix(file, ".gz") {
		prog = "gzip"
	}
	cmd := exec.Command(prog, "-dc", file)
	if err := cmd.Run(); err != nil {
		return 0, err
	}
	return cmd.ProcessState.UserTime().Seconds() + cmd.ProcessState.SystemTime().Seconds(), nil
}

// open returns the SQL of the dump at file, decompressed when it is.
func open(file string) (io.Reader, func(), error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	r, _, err := dump.NewReader(f)
	if errors.Is(err, dump.ErrUnknownCompression) {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, nil, err
		}
		return f, func() { f.Close() }, nil
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return r, func() { r.Close(); f.Close() }, nil
}

// decompress writes the SQL of the dump at file to out and returns its
// size.
func decompress(file, out string) (int64, error) {
	r, closeFn, err := open(file)
	if err != nil {
		return 0, err
	}
	defer closeFn()
	o, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(o, r)
	if cerr := o.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

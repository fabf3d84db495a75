// Command loadmem measures the parallel loader's peak memory on a dump
// made of one large statement: a single-row INSERT of one long value, or an
// extended INSERT of many short rows. It writes the dump to a temporary
// file first (in small chunks, so that writing costs no memory), loads it
// with loader.Load into a fresh database, and prints the process's peak RSS
// (getrusage) next to the size of the largest statement. It prints figures;
// it asserts nothing.
//
//	go run ./bench/loadmem -socket /tmp/db/mysqld.sock -shape single -mib 64
//	go run ./bench/loadmem -socket /tmp/db/mysqld.sock -shape extended -mib 60
//	go run ./bench/loadmem -socket /tmp/db/mysqld.sock -shape extended -mib 60 -as-written
//	go run ./bench/loadmem -socket /tmp/db/mysqld.sock -shape single -mib 40 -count 3
//
// The server's max_allowed_packet must exceed the statement
// (scripts/mariadb-private.sh starts one with 256M).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/backupd/backupd/internal/count"
	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/loader"
)

func main() {
	socket := flag.String("socket", "", "server socket (root, no password)")
	shape := flag.String("shape", "single", "single: one row of one long value; extended: one INSERT of many rows")
	mib := flag.Int("mib", 64, "size of the statement in MiB")
	parallel := flag.Int("parallel", 2, "loader connections")
	asWritten := flag.Bool("as-written", false, "run the statement as an INSERT, not as LOAD DATA")
	count := flag.Int("count", 1, "statements of that size, one after the other")
	flag.Parse()
	if *socket == "" {
		log.Fatal("-socket is required")
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "loadmem-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "dump.sql")
	stmtLen, err := writeDump(path, *shape, *mib<<20, *count)
	if err != nil {
		log.Fatal(err)
	}

	root := mariadb.Conn{Socket: *socket, User: "root"}
	db, err := root.OpenDB(nil, false)
	if err != nil {
		log.Fatal(err)
	}
	name := fmt.Sprintf("loadmem_%d", time.Now().UnixNano()%1e9)
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		log.Fatal(err)
	}
	defer db.ExecContext(ctx, "DROP DATABASE "+name) //nolint:errcheck
	defer db.Close()

	before := maxRSS()
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	conn := root
	conn.Database = name
	start := time.Now()
	st, err := loader.Load(ctx, f, conn, loader.Options{Parallel: *parallel, AsWritten: *asWritten})
	if err != nil {
		log.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	peak := maxRSS()
	fmt.Printf("shape=%s statement=%.1f MiB count=%d parallel=%d load=%s statements=%d as LOAD DATA=%d\n",
		*shape, float64(stmtLen)/(1<<20), *count, *parallel, time.Since(start).Round(time.Millisecond), st.Statements, st.Texts)
	fmt.Printf("peak RSS before load %.1f MiB, after %.1f MiB (%.2f x statement); Go heap sys %.1f MiB, GCs %d\n",
		mb(before), mb(peak), float64(peak)/float64(stmtLen), mb(int64(ms.HeapSys)), ms.NumGC)
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

// maxRSS returns the process's peak resident set, in bytes.
func maxRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		log.Fatal(err)
	}
	return ru.Maxrss << 10
}

// writeDump writes a dump of one table whose data is statements statements of
// about size bytes, and returns the length of the first.
func writeDump(path, shape string, size, statements int) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 64<<10)
	fmt.Fprintf(w, "-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB\n--\n-- Host: localhost    Database: src\n")
	fmt.Fprintf(w, "/*!40101 SET NAMES utf8mb4 */;\nDROP TABLE IF EXISTS `t`;\nCREATE TABLE `t` (`id` int NOT NULL, `v` longtext, PRIMARY KEY (`id`)) ENGINE=InnoDB;\n")
	n := 0
	id := 1
	for k := 0; k < statements; k++ {
		cw := count.NewWriter(w, nil)
		switch shape {
		case "single":
			fmt.Fprintf(cw, "INSERT INTO `t` VALUES (%d,'", id)
			id++
			line := []byte("abcdefghijklmnopqrstuvwxyz0123456789 it\\'s a row; -- not a comment\\n")
			for cw.N.Load() < int64(size) {
				cw.Write(line)
			}
			fmt.Fprint(cw, "')")
		case "extended":
			fmt.Fprint(cw, "INSERT INTO `t` VALUES ")
			for first := true; cw.N.Load() < int64(size); id++ {
				if !first {
					fmt.Fprint(cw, ",")
				}
				first = false
				fmt.Fprintf(cw, "(%d,'row %d: some text, it\\'s here; and more')", id, id)
			}
		default:
			return 0, fmt.Errorf("unknown shape %q", shape)
		}
		if k == 0 {
			n = int(cw.N.Load())
		}
		fmt.Fprint(w, ";\n")
	}
	fmt.Fprint(w, "-- Dump completed on 2026-03-14  3:00:01\n")
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return n, f.Close()
}

package sqltext

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchDump is a dump like mariadb-dump 11.8's of bench/restore.sh's big
// set: a table of ints, a decimal, short and long strings with escaped
// quotes and backslashes, datetimes and NULLs, in extended INSERTs of
// about 1 MB with a row on each line.
func benchDump(size int) string {
	var sb strings.Builder
	sb.WriteString(header)
	sb.WriteString("/*!40101 SET NAMES utf8mb4 */;\n/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;\n")
	sb.WriteString("DROP TABLE IF EXISTS `t1`;\nCREATE TABLE `t1` (\n  `id` int(10) unsigned NOT NULL,\n  `account_id` int(11) NOT NULL,\n  `amount` decimal(12,2) NOT NULL,\n  `qty` int(11) NOT NULL,\n  `code` varchar(32) NOT NULL,\n  `name` varchar(120) NOT NULL,\n  `note` text DEFAULT NULL,\n  `created_at` datetime NOT NULL,\n  `updated_at` datetime DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  KEY `account_id` (`account_id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n")
	id := 0
	for sb.Len() < size {
		sb.WriteString("INSERT INTO `t1` VALUES\n")
		start := sb.Len()
		for first := true; sb.Len()-start < 1<<20-1024; first = false {
			id++
			if !first {
				sb.WriteString(",\n")
			}
			h := fmt.Sprintf("%016x%016x", uint64(id)*0x9e3779b97f4a7c15, uint64(id)*0xc2b2ae3d27d4eb4f)
			note := strings.Repeat(h, 3)
			if id%10 == 0 {
				note += ` back\\slash; semi`
			}
			updated := fmt.Sprintf("'2024-01-%02d %02d:%02d:%02d'", 1+id%28, id%24, id%60, id%60)
			if id%3 == 0 {
				updated = "NULL"
			}
			fmt.Fprintf(&sb, `(%d,%d,%d.%02d,%d,'%s','Customer %d O\'Brien \"1\"','%s','2020-01-01 %02d:%02d:00',%s)`,
				id, id%5000, id*37%100000, id%100, id%97, h[:16], id, note, id%24, id%60, updated)
		}
		sb.WriteString(";\n")
	}
	return sb.String()
}

// benchKinds are the kinds of benchDump's columns.
var benchKinds = []FieldKind{FieldNumber, FieldNumber, FieldNumber, FieldNumber, FieldText, FieldText, FieldText, FieldText, FieldText}

// BenchmarkReadDump measures what the parallel loader's dispatcher and
// workers do with a dump on the client side, without a server: the gate
// over every statement, and the rows of each data statement as LOAD DATA
// text. "pass" writes the text in the pass that splits and gates the
// statement, and keeps every statement in the splitter's buffers;
// "after" reads the statement the usual way, copies it, and writes its
// text from the copy (the loader before the pass).
func BenchmarkReadDump(b *testing.B) {
	in := benchDump(32 << 20)
	for _, pass := range []bool{true, false} {
		name := "pass"
		if !pass {
			name = "after"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			var buf []byte
			cpu := processCPU()
			b.ResetTimer()
			for b.Loop() {
				sp := NewSplitter(strings.NewReader(in))
				sp.Keep = pass
				g := NewGate(sp, GateOptions{Server: maria1011, Whole: true, LoadText: pass, noPass: !pass})
				rows := 0
				for {
					st, err := g.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					if st.Class != ClassData {
						continue
					}
					if pass {
						if st.Text == nil || !st.Text.Fits(benchKinds) {
							b.Fatal("no LOAD DATA text")
						}
						rows += st.Text.Rows
						continue
					}
					sql := string(st.SQL)
					in, ok := ReadInsert([]byte(sql))
					if !ok {
						b.Fatal("not a plain INSERT")
					}
					text, n, ok := AppendLoadText(buf[:0], in.Values, benchKinds)
					if !ok {
						b.Fatal("no LOAD DATA text")
					}
					buf = text
					rows += n
				}
				if rows == 0 {
					b.Fatal("no rows")
				}
			}
			reportCPU(b, cpu, len(in))
		})
	}
}

// processCPU returns the process's user and system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time since start per 100 MB of input, which
// other work on a shared machine moves less than the wall time.
func reportCPU(b *testing.B, start time.Duration, size int) {
	b.ReportMetric((processCPU()-start).Seconds()/float64(b.N)*100e6/float64(size), "cpu-s/100MB")
}

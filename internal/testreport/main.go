// Command testreport turns the output of "go test -json" into what a person
// watching scripts/test.sh wants to see: one line per package as it
// finishes, the output of every failed test, and a closing summary line
// with the counts ("tests: N passed, N failed, N skipped") and, with
// -server, the database server the tests ran against. Tests under a
// subtest named for a pairing leg ("dump=...,source=...,restore=...", see
// internal/pairing) are also counted per leg. It exits non-zero when a
// test or a build failed.
//
//	go test -json ./... | go run ./internal/testreport -server "MariaDB 10.11.14"
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// event is one line of "go test -json" (see "go doc test2json").
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

type pkgState struct {
	passed, failed, skipped int
	output                  map[string][]string // per test, kept until it passes
	pkgOutput               []string            // lines outside any test (build errors, panics)
}

// report reads events from r and writes the report to w. It returns the
// number of failures (failed tests, and failed packages with no failed test).
func report(r io.Reader, w io.Writer, server string) int {
	var (
		total   pkgState
		pkgs    = map[string]*pkgState{}
		skipped []string
		failed  int
		legs    = map[string]*pkgState{}
	)
	get := func(p string) *pkgState {
		s := pkgs[p]
		if s == nil {
			s = &pkgState{output: map[string][]string{}}
			pkgs[p] = s
		}
		return s
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// Not JSON: a build error printed by go itself.
			fmt.Fprintln(w, sc.Text())
			continue
		}
		s := get(e.Package)
		if l := legOf(e.Test); l != "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip") {
			if legs[l] == nil {
				legs[l] = &pkgState{}
			}
			switch e.Action {
			case "pass":
				legs[l].passed++
			case "fail":
				legs[l].failed++
			default:
				legs[l].skipped++
			}
		}
		switch {
		case e.Action == "output" && e.Test != "":
			s.output[e.Test] = append(s.output[e.Test], e.Output)
		case e.Action == "output":
			s.pkgOutput = append(s.pkgOutput, e.Output)
		case e.Test != "" && e.Action == "pass":
			s.passed++
			delete(s.output, e.Test)
		case e.Test != "" && e.Action == "skip":
			s.skipped++
			skipped = append(skipped, e.Package+" "+e.Test+": "+skipReason(s.output[e.Test]))
			delete(s.output, e.Test)
		case e.Test != "" && e.Action == "fail":
			s.failed++
			fmt.Fprintf(w, "--- FAIL: %s %s\n", e.Package, e.Test)
			for _, l := range s.output[e.Test] {
				fmt.Fprint(w, "    "+l)
			}
			delete(s.output, e.Test)
		case e.Test == "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip"):
			status := "ok  "
			switch {
			case e.Action == "fail":
				status = "FAIL"
				if s.failed == 0 {
					// A build failure, a panic or a timeout: show what it printed.
					for _, l := range s.pkgOutput {
						fmt.Fprint(w, "    "+l)
					}
					failed++
				}
			case s.passed+s.failed+s.skipped == 0:
				status = "-   "
			}
			elapsed := (time.Duration(e.Elapsed*1000) * time.Millisecond).String()
			if status == "-   " {
				fmt.Fprintf(w, "%s %s (no tests)\n", status, e.Package)
			} else {
				fmt.Fprintf(w, "%s %s %s (%d passed, %d failed, %d skipped)\n", status, e.Package, elapsed, s.passed, s.failed, s.skipped)
			}
			total.passed += s.passed
			total.failed += s.failed
			total.skipped += s.skipped
		}
	}
	if len(skipped) > 0 {
		sort.Strings(skipped)
		fmt.Fprintln(w, "skipped:")
		for _, s := range skipped {
			fmt.Fprintln(w, "    "+s)
		}
	}
	if len(legs) > 0 {
		names := make([]string, 0, len(legs))
		for l := range legs {
			names = append(names, l)
		}
		sort.Strings(names)
		fmt.Fprintln(w, "pairing legs:")
		for _, l := range names {
			fmt.Fprintf(w, "    %s: %d passed, %d failed, %d skipped\n", l, legs[l].passed, legs[l].failed, legs[l].skipped)
		}
	}
	if server != "" {
		fmt.Fprintf(w, "database server: %s\n", server)
	}
	fmt.Fprintf(w, "tests: %d passed, %d failed, %d skipped\n", total.passed, total.failed, total.skipped)
	return total.failed + failed
}

// legOf returns the pairing leg a test belongs to: the element of its name
// that reads "dump=...,source=...,restore=...", or "".
func legOf(test string) string {
	for _, part := range strings.Split(test, "/") {
		if strings.HasPrefix(part, "dump=") && strings.Contains(part, ",source=") && strings.Contains(part, ",restore=") {
			return part
		}
	}
	return ""
}

// skipReason is the last line a skipped test logged, its t.Skip message.
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "--- SKIP") || strings.HasPrefix(l, "=== ") {
			continue
		}
		return l
	}
	return "no reason given"
}

func main() {
	server := flag.String("server", "", "the database server the tests ran against, for the summary")
	flag.Parse()
	if report(os.Stdin, os.Stdout, *server) > 0 {
		os.Exit(1)
	}
}

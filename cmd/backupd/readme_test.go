package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/cli"
)

// The README's table for backupd now lists every flag the command takes,
// so that the quick start never hides one.
func TestReadmeListsEveryNowFlag(t *testing.T) {
	section := readmeSection(t, "### backupd now")
	code, help, _ := runApp(t, nil, "help", "now")
	if code != 0 {
		t.Fatalf("help now: exit %d", code)
	}
	for _, m := range regexp.MustCompile(`(?m)^\s+(?:-\w, )?--(?:\[no-\])?([a-z][a-z0-9-]+)`).FindAllStringSubmatch(help, -1) {
		if m[1] == "help" {
			continue
		}
		if !strings.Contains(section, "`--"+m[1]+"`") {
			t.Errorf("README's backupd now table lacks --%s", m[1])
		}
	}
}

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readmeSection returns the README from heading to the next "## ".
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	text := readme(t)
	i := strings.Index(text, heading+"\n")
	if i < 0 {
		t.Fatalf("the README has no %q", heading)
	}
	section := text[i:]
	if j := strings.Index(section[1:], "\n## "); j >= 0 {
		section = section[:j]
	}
	return section
}

// exampleBlock returns the lines of the indented example that starts with
// a line beginning with first (after its indent).
func exampleBlock(t *testing.T, text, first string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if len(out) == 0 {
			if strings.HasPrefix(strings.TrimSpace(l), first) && strings.HasPrefix(l, "    ") {
				out = append(out, strings.TrimPrefix(l, "    "))
			}
			continue
		}
		if !strings.HasPrefix(l, "    ") {
			break
		}
		out = append(out, strings.TrimPrefix(l, "    "))
	}
	if len(out) == 0 {
		t.Fatalf("no example starting with %q", first)
	}
	return out
}

// labels are the first words of a report's lines.
func labels(lines []string) []string {
	var out []string
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 0 {
			out = append(out, f[0])
		}
	}
	return out
}

// The README's example of backupd now's report has the lines now prints.
func TestReadmeNowReportIsWhatNowPrints(t *testing.T) {
	dumper := script(t, "#!/bin/sh\nprintf -- 'CREATE TABLE t (id int);\\n-- Dump completed on 2025-01-01 03:00:00\\n'\n")
	code, out, errOut := runApp(t, map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app"}, "now", "--mysqldump", dumper, "--remote", t.TempDir())
	if code != cli.ExitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	want := labels(exampleBlock(t, readme(t), "backup db-backup-"))
	if got := labels(strings.Split(strings.TrimSpace(out), "\n")); !slices.Equal(got, want) {
		t.Errorf("backupd now prints the lines %q; the README shows %q\n%s", got, want, out)
	}
}

// Every backupd command the README names is one.
func TestReadmeNamesOnlyRealCommands(t *testing.T) {
	_, help, _ := runApp(t, nil, "help")
	text := readme(t)
	seen := 0
	for _, re := range []string{"`backupd ([a-z][a-z-]*)", `(?m)^\s+(?:\$ )?backupd ([a-z][a-z-]*)`} {
		for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(text, -1) {
			seen++
			if !regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(m[1]) + `\b`).MatchString(help) {
				t.Errorf("the README names backupd %s, which backupd help does not list", m[1])
			}
		}
	}
	if seen < 10 {
		t.Errorf("found %d commands named in the README: the pattern is wrong", seen)
	}
}

// The README's table of exit statuses lists the statuses of internal/cli.
func TestReadmeExitStatuses(t *testing.T) {
	text := readme(t)
	i := strings.Index(text, "## Exit statuses")
	if i < 0 {
		t.Fatal("no Exit statuses section")
	}
	var got []int
	for _, m := range regexp.MustCompile(`(?m)^\| (\d+) \|`).FindAllStringSubmatch(text[i:], -1) {
		n, _ := strconv.Atoi(m[1])
		got = append(got, n)
	}
	want := []int{cli.ExitOK, cli.ExitFailure, cli.ExitUsage, cli.ExitNoBackup, cli.ExitPruneFailed, cli.ExitLocked}
	if !slices.Equal(got, want) {
		t.Errorf("the README lists exit statuses %v, internal/cli has %v", got, want)
	}
}

// The README is a quick start: its figures live in docs/performance.md,
// which it links to, and it holds no table of them.
func TestReadmeKeepsFiguresInPerformance(t *testing.T) {
	section := readmeSection(t, "## Performance")
	if strings.Contains(section, "\n|") || !strings.Contains(section, "(docs/performance.md)") {
		t.Errorf("the README's Performance section holds tables or does not link docs/performance.md:\n%s", section)
	}
	perf, err := os.ReadFile("../../docs/performance.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"bench/backup.sh", "bench/restore.sh", "ROWS=1000000 ROUNDS=3 COMPARE=main bench/backup.sh", "SIZE_ROWS=200000 MANY=2000 REPEAT=3 COMPARE=a500278 bench/restore.sh",
		"SERVER=mysql-9.7 TOOL=mariadb-11.8 ROWS=600000 ROUNDS=5 bench/backup.sh", "SERVER=system ROWS=600000 ROUNDS=5 bench/backup.sh",
		"SERVER=mariadb-11.8 SHAPES=one SIZE_ROWS=200000 MANY=0 REPEAT=5 KEEP=1", "SERVER=mariadb-11.8 SHAPES=two SIZE_ROWS=200000 MANY=0 REPEAT=5 bench/restore.sh",
		`SERVER=system SHAPES="one two" SIZE_ROWS=200000 MANY=0 REPEAT=5 KEEP=1 bench/restore.sh`,
		"SERVER=mysql-9.7 TOOL=mariadb-11.8 ROWS=600000 ROUNDS=5 COMPARE=a5cfaf4 bench/backup.sh", "SERVER=system ROWS=600000 ROUNDS=5 COMPARE=a5cfaf4 bench/backup.sh",
		`SERVER=mariadb-11.8 SHAPES="one two" SIZE_ROWS=200000 MANY=0 REPEAT=5 COMPARE=a5cfaf4 bench/restore.sh`,
		`SERVER=system SHAPES="one two" SIZE_ROWS=200000 MANY=0 REPEAT=5 COMPARE=a5cfaf4 bench/restore.sh`,
		"go run ./bench/loadcpu"} {
		if !strings.Contains(strings.Join(strings.Fields(string(perf)), " "), cmd) {
			t.Errorf("docs/performance.md lacks %q", cmd)
		}
	}
}

// Every relative link of the README and of every document in docs names a
// file that exists and, with an anchor, a heading of it.
func TestReadmeLinksResolve(t *testing.T) {
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(docs) == 0 {
		t.Fatalf("no documents in docs: %v", err)
	}
	for _, doc := range append([]string{"../../README.md"}, docs...) {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`\]\(([^)#\s]*)(#[^)\s]*)?\)`).FindAllStringSubmatch(string(b), -1) {
			target, anchor := m[1], strings.TrimPrefix(m[2], "#")
			if strings.Contains(target, "://") {
				continue
			}
			path := filepath.Join(filepath.Dir(doc), target)
			if target == "" {
				path = doc
			}
			body, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%s links %s: %v", doc, m[0], err)
				continue
			}
			if anchor != "" && !hasHeading(string(body), anchor) {
				t.Errorf("%s links %s: no heading %q in %s", doc, m[0], anchor, path)
			}
		}
	}
}

// hasHeading reports whether a Markdown text has a heading whose anchor
// (as GitHub makes it) is anchor.
func hasHeading(text, anchor string) bool {
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(text, -1) {
		slug := strings.ToLower(m[1])
		slug = regexp.MustCompile("[^a-z0-9 _-]").ReplaceAllString(slug, "")
		if strings.ReplaceAll(slug, " ", "-") == anchor {
			return true
		}
	}
	return false
}

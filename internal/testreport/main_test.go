package main

import (
	"bytes"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestReport(t *testing.T) {
	in, err := os.Open("testdata/events.json")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out bytes.Buffer
	if got, want := report(in, &out, "MariaDB 10.11.14"), 2; got != want {
		t.Errorf("report returned %d failures, want %d", got, want)
	}
	if *update {
		if err := os.WriteFile("testdata/events.golden", out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/events.golden")
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("report:\n%s\nwant:\n%s", out.String(), want)
	}
}

// The README quotes the closing line with N for the number of tests: it
// must be the line report prints, whatever the count.
func TestReadmeQuotesTheClosingLine(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("`(tests: [^`]*)`").FindSubmatch(bytes.Join(bytes.Fields(readme), []byte(" ")))
	if m == nil {
		t.Fatal("the README quotes no closing line `tests: ...`")
	}
	quoted := string(m[1])
	var out bytes.Buffer
	report(strings.NewReader(""), &out, "")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	printed := regexp.MustCompile(`\d+`).ReplaceAllString(lines[len(lines)-1], "0")
	if want := strings.Replace(printed, "0", "N", 1); quoted != want {
		t.Errorf("the README quotes %q; report prints %q (N for the count of tests passed)", quoted, want)
	}
}

package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The README's table for backupd now lists every flag the command takes,
// so that the quick start never hides one.
func TestReadmeListsEveryNowFlag(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i := strings.Index(readme, "### backupd now")
	if i < 0 {
		t.Fatal("README has no backupd now section")
	}
	section := readme[i:]
	if j := strings.Index(section[1:], "\n## "); j >= 0 {
		section = section[:j]
	}
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

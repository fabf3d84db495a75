package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/cli"
)

// A dry run says what would be kept, and lists what would go oldest first.
func TestPruneDryRunWording(t *testing.T) {
	dir := t.TempDir()
	remoteFixture(t, dir, time.Now())
	code, out, errOut := runApp(t, nil, "prune", "--dry-run", "--remote", dir)
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	if !strings.Contains(out, "would keep 168 backups, would delete 33") {
		t.Errorf("summary does not say what would be kept:\n%s", out)
	}
	var stamps []string
	for _, m := range regexp.MustCompile(`(?m)^would delete  \S*?(\d{8}-\d{6})`).FindAllStringSubmatch(out, -1) {
		stamps = append(stamps, m[1])
	}
	if len(stamps) < 2 || !slices.IsSorted(stamps) {
		t.Errorf("deletions are not listed oldest first: %v\n%s", stamps, out)
	}
}

// Settings that would be ignored are refused, naming what to do instead.
func TestIgnoredSettingsAreRefused(t *testing.T) {
	remote := filepath.Join(t.TempDir(), "backups")
	if err := os.MkdirAll(remote, 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"partials without json", nil, []string{"list", "--partials", "--remote", remote},
			"--partials applies to --json"},
		{"refresh schedule without app", map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app", "BACKUPD_REMOTE": remote},
			[]string{"serve", "--refresh-schedule", "0 6 * * *", "--listen", "off"},
			"--refresh-schedule sets a refresh schedule, but no app is named to refresh: set --refresh-app or BACKUPD_REFRESH_APP too"},
		{"refresh schedule from the environment", map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app", "BACKUPD_REMOTE": remote, "BACKUPD_REFRESH_SCHEDULE": "x"},
			[]string{"serve", "--listen", "off"},
			"BACKUPD_REFRESH_SCHEDULE sets a refresh schedule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runApp(t, tt.env, tt.args...)
			if code != cli.ExitUsage {
				t.Errorf("exit %d, want %d\n%s%s", code, cli.ExitUsage, out, errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q does not say %q", errOut, tt.want)
			}
		})
	}
}

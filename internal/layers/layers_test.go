// Package layers holds the test that keeps the dependency arrows of
// docs/architecture.md true.
package layers

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/backupd/backupd/"

// level of each package: a package may import only packages of a lower
// level. The order is the one docs/architecture.md draws.
var level = map[string]int{
	"cmd/backupd":           7,
	"cmd/yesterday-restore": 7,
	"internal/cli":          6,
	"pkg/daemon":            5,
	"pkg/restore":           5,
	"pkg/replay":            5,
	"pkg/backup":            4,
	"pkg/storage":           4,
	"pkg/selector":          3,
	"pkg/retention":         3,
	"pkg/lock":              4,
	"pkg/slot":              4,
	"pkg/fly":               4,
	"pkg/stream":            4,
	"pkg/recovery":          4,
	"pkg/dump":              3,
	"pkg/binlog":            3,
	"pkg/loader":            3,
	"pkg/sqltext":           2,
	"pkg/seal":              2,
	"internal/mariadb":      2,
	"internal/count":        2,
	"pkg/notify":            2,
	"pkg/catalog":           1,
	"internal/initgc":       1,
}

// testOnly packages are test doubles and helpers: no program imports them.
var testOnly = map[string]bool{
	"internal/fakedrive":     true,
	"internal/fakes3":        true,
	"internal/storagetest":   true,
	"internal/flytest":       true,
	"internal/notifytest":    true,
	"internal/testdb":        true,
	"internal/layers":        true,
	"internal/testreport":    true,
	"internal/pairing":       true,
	"bench/loadmem":          true,
	"bench/loadcpu":          true,
	"bench/fakedrive":        true,
	"internal/yesterdayboot": true,
}

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func TestArrowsPointDown(t *testing.T) {
	for _, line := range goList(t, "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"...") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		if testOnly[pkg] {
			continue
		}
		from, ok := level[pkg]
		if !ok {
			t.Errorf("package %s has no level: add it to this test and to docs/architecture.md", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			dep, ours := strings.CutPrefix(imp, module)
			if !ours {
				continue
			}
			if testOnly[dep] {
				t.Errorf("%s imports the test double %s", pkg, dep)
				continue
			}
			if to, ok := level[dep]; ok && to >= from {
				t.Errorf("%s (level %d) imports %s (level %d): arrows must point down", pkg, from, dep, to)
			}
		}
	}
}

// The backup and restore logic must not need rclone: the store is an
// interface they declare, and only the commands bring the real one in.
func TestBackupAndRestoreNeedNoRclone(t *testing.T) {
	for _, pkg := range []string{"pkg/backup", "pkg/restore"} {
		for _, dep := range goList(t, "-deps", module+pkg) {
			if strings.HasPrefix(dep, "github.com/rclone/rclone") {
				t.Errorf("%s depends on %s", pkg, dep)
				break
			}
		}
	}
}

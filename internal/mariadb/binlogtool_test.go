package mariadb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTool writes a program that prints line for --version.
func fakeVersionTool(t *testing.T, dir, name, line string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho '"+line+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// One family's binary log tool cannot read the other's log: each family
// gets its own, and a tool of the other family is named in the error.
func TestFindBinlogTool(t *testing.T) {
	dir := t.TempDir()
	mysql97 := fakeVersionTool(t, dir, "mysqlbinlog", "/usr/bin/mysqlbinlog  Ver 9.7.4-2 for Linux on x86_64 ((Debian))")
	mdir := filepath.Join(dir, "m")
	if err := os.Mkdir(mdir, 0o755); err != nil {
		t.Fatal(err)
	}
	maria := fakeVersionTool(t, mdir, "mariadb-binlog", "/usr/bin/mariadb-binlog from 11.8.9-MariaDB, client 3.5 for debian-linux-gnu (x86_64)")
	maria10 := fakeVersionTool(t, mdir, "mysqlbinlog", "/usr/bin/mysqlbinlog Ver 3.5 for debian-linux-gnu at x86_64")
	old := fakeVersionTool(t, dir, "mysqlbinlog57", "mysqlbinlog Ver 3.4 for Linux at x86_64")
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		mariaDB bool
		program string
		want    string // the path found, or part of the error
		ok      bool
	}{
		{"MySQL's for MySQL", false, mysql97, mysql97, true},
		{"MariaDB's for MariaDB", true, maria, maria, true},
		{"MariaDB's for MySQL", false, maria, "found only " + maria, false},
		{"MySQL's for MariaDB", true, mysql97, "found only " + mysql97, false},
		{"MySQL 5.7's for MySQL 8", false, old, "MySQL's mysqlbinlog 8.0 or later", false},
		{"MariaDB 10's mysqlbinlog for MySQL", false, maria10, "MySQL's mysqlbinlog 8.0 or later", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FindBinlogTool(ctx, tc.mariaDB, tc.program)
			switch {
			case tc.ok && (err != nil || got != tc.want):
				t.Errorf("FindBinlogTool = %q, %v; want %q", got, err, tc.want)
			case !tc.ok && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("FindBinlogTool = %q, %v; want an error saying %q", got, err, tc.want)
			}
		})
	}
	// On PATH: the family's own, whatever else is there.
	t.Setenv("PATH", mdir+string(os.PathListSeparator)+dir)
	if got, err := FindBinlogTool(ctx, true, ""); err != nil || got != maria {
		t.Errorf("MariaDB on PATH: %q, %v", got, err)
	}
	if got, err := FindBinlogTool(ctx, false, ""); err == nil {
		t.Errorf("MySQL on a PATH whose first mysqlbinlog is MariaDB 10's: %q", got)
	}
}

package mariadb

import "testing"

// The --version lines the real tools print.
var (
	oracle80    = "mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)"
	oracle97    = "mysqldump  Ver 9.7.4-2 for Linux on x86_64 ((Debian))"
	ubuntu80    = "mysqldump  Ver 8.0.42-0ubuntu0.24.04.1 for Linux on x86_64 ((Ubuntu))"
	oracle57    = "mysqldump  Ver 10.13 Distrib 5.7.44, for Linux (x86_64)"
	maria1011   = "mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)"
	mariaLink   = "mysqldump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)"
	maria118    = "mariadb-dump from 11.8.9-MariaDB, client 10.20 for debian-linux-gnu (x86_64)"
	mariaByPath = "/usr/bin/mariadb-dump from 11.8.6-MariaDB, client 10.19"
	mariaClient = "mariadb from 11.8.9-MariaDB, client 15.2 for debian-linux-gnu (x86_64) using  EditLine wrapper"
)

func TestParseTool(t *testing.T) {
	for _, tt := range []struct {
		line         string
		mariadb      bool
		version      string
		major, minor int
	}{
		{oracle80, false, "8.0.36", 8, 0},
		{oracle97, false, "9.7.4-2", 9, 7},
		{ubuntu80, false, "8.0.42-0ubuntu0.24.04.1", 8, 0},
		{oracle57, false, "5.7.44", 5, 7},
		{maria1011, true, "10.11.19-MariaDB", 10, 11},
		{mariaLink, true, "10.11.19-MariaDB", 10, 11},
		{maria118, true, "11.8.9-MariaDB", 11, 8},
		{mariaByPath, true, "11.8.6-MariaDB", 11, 8},
		{mariaClient, true, "11.8.9-MariaDB", 11, 8},
	} {
		got, err := ParseTool(tt.line)
		if err != nil || got.MariaDB != tt.mariadb || got.Version != tt.version || got.Major != tt.major || got.Minor != tt.minor {
			t.Errorf("ParseTool(%q) = %+v, %v; want MariaDB %v, %s, %d.%d", tt.line, got, err, tt.mariadb, tt.version, tt.major, tt.minor)
		}
	}
	for _, bad := range []string{"", "-- args: --version", "hello"} {
		if _, err := ParseTool(bad); err == nil {
			t.Errorf("ParseTool(%q) accepted", bad)
		}
	}
	if m, _ := ParseTool(maria118); !m.AtLeast(11, 4) || m.AtLeast(11, 9) || m.AtLeast(12, 0) {
		t.Errorf("AtLeast wrong for %+v", m)
	}
}

package dump

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/internal/testdb"
)

// The --version lines the real tools print (MySQL 8.0 and 5.7 cannot be
// installed here; these are the lines of their builds).
var (
	oracle80  = "mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)"
	oracle97  = "mysqldump  Ver 9.7.4-2 for Linux on x86_64 ((Debian))"
	ubuntu80  = "mysqldump  Ver 8.0.42-0ubuntu0.24.04.1 for Linux on x86_64 ((Ubuntu))"
	oracle57  = "mysqldump  Ver 10.13 Distrib 5.7.44, for Linux (x86_64)"
	maria1011 = "mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)"
	mariaLink = "mysqldump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)"
	maria118  = "mariadb-dump from 11.8.9-MariaDB, client 10.20 for debian-linux-gnu (x86_64)"
)

func TestPairFlags(t *testing.T) {
	maria := mariadb.Server{Version: "10.11.19-MariaDB-0+deb12u1", Comment: "Debian 12"}
	mysqlGTID := mariadb.Server{Version: "8.0.36", Comment: "MySQL Community Server - GPL", GTIDMode: "ON"}
	mysqlNoGTID := mariadb.Server{Version: "8.0.36", Comment: "MySQL Community Server - GPL", GTIDMode: "OFF"}
	mysql57GTID := mariadb.Server{Version: "5.7.44-log", GTIDMode: "ON_PERMISSIVE"}
	for _, tt := range []struct {
		name string
		tool string
		srv  mariadb.Server
		want []string
	}{
		{"Oracle 8.0 against MariaDB", oracle80, maria, []string{"--column-statistics=0"}},
		{"Ubuntu's 8.0 against MariaDB", ubuntu80, maria, []string{"--column-statistics=0"}},
		{"Oracle 8.0 against MySQL with GTIDs", oracle80, mysqlGTID, []string{"--set-gtid-purged=OFF"}},
		{"Oracle 8.0 against MySQL without GTIDs", oracle80, mysqlNoGTID, nil},
		{"Oracle 5.7 against MySQL 5.7 with GTIDs", oracle57, mysql57GTID, []string{"--set-gtid-purged=OFF"}},
		{"Oracle 5.7 against MariaDB", oracle57, maria, nil},
		{"MariaDB against MySQL with GTIDs", maria1011, mysqlGTID, nil},
		{"MariaDB 11 against MySQL with GTIDs", maria118, mysqlGTID, nil},
		{"MariaDB against MariaDB", mariaLink, maria, nil},
		{"Oracle 9.7 against MySQL with GTIDs", oracle97, mysqlGTID, []string{"--set-gtid-purged=OFF", "--skip-masking-policies"}},
		{"Oracle 9.7 against MariaDB", oracle97, maria, []string{"--column-statistics=0", "--skip-masking-policies"}},
	} {
		tool, err := mariadb.ParseTool(tt.tool)
		if err != nil {
			t.Fatal(err)
		}
		if got := PairFlags(tool, tt.srv); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	if got, want := Source(mysqlGTID), "MySQL 8.0.36"; got != want {
		t.Errorf("source %q, want %q", got, want)
	}
	if got, want := Source(maria), "MariaDB 10.11.19"; got != want {
		t.Errorf("source %q, want %q", got, want)
	}
}

// A dump runs with the flags its tool needs against the real server, and
// records the server's flavour and version. The tools are shell scripts
// that print the real tools' --version lines and echo their arguments.
func TestDumpPairsToolAndServer(t *testing.T) {
	srv := testdb.Get(t)
	db := srv.NewDatabase(t, "src")
	for _, tt := range []struct {
		name, version string
		want, not     []string
	}{
		{"Oracle mysqldump 8.0", oracle80, []string{"--column-statistics=0"}, []string{"--set-gtid-purged"}},
		{"mariadb-dump", maria1011, nil, []string{"--column-statistics", "--set-gtid-purged"}},
		{"not a dump tool's version", "hello", nil, []string{"--column-statistics", "--set-gtid-purged"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tool := fakeTool(t, `if [ "$1" = --version ]; then echo '`+tt.version+`'; exit 0; fi
echo "-- args: $*"
`+goodDump)
			d := &Dumper{Program: tool, Conn: srv.Root(db)}
			var buf bytes.Buffer
			res, err := d.Dump(context.Background(), &buf, nil)
			if err != nil {
				t.Fatal(err)
			}
			args := decompress(t, buf.Bytes())
			for _, w := range tt.want {
				if !strings.Contains(args, " "+w+" ") {
					t.Errorf("arguments lack %s: %s", w, args)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(args, n) {
					t.Errorf("arguments have %s: %s", n, args)
				}
			}
			if tt.version == "hello" {
				return
			}
			if !regexp.MustCompile(`^MariaDB 1[01]\.[0-9]+\.[0-9]+$`).MatchString(res.Source) {
				t.Errorf("source %q, want MariaDB and its version", res.Source)
			}
		})
	}
}

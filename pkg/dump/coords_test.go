package dump

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/internal/testdb"
)

func TestCoordFlags(t *testing.T) {
	for line, want := range map[string]string{
		"mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)":                   "--source-data=2",
		"mysqldump  Ver 8.0.25 for Linux on x86_64 (MySQL Community Server - GPL)":                   "--master-data=2",
		"mysqldump  Ver 9.7.4-2 for Linux on x86_64 ((Debian))":                                      "--source-data=2",
		"mysqldump  Ver 10.13 Distrib 5.7.44, for Linux (x86_64)":                                    "--master-data=2",
		"mariadb-dump from 11.8.6-MariaDB, client 10.19 for debian-linux-gnu (x86_64)":               "--master-data=2",
		"mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)":            "--master-data=2",
		"mysqldump from 11.8.6-MariaDB, client 10.19 for debian-linux-gnu (x86_64) (a MariaDB link)": "--master-data=2",
	} {
		tool, err := mariadb.ParseTool(line)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(CoordFlags(tool), " "); got != want {
			t.Errorf("CoordFlags(%q) = %s, want %s", line, got, want)
		}
	}
}

func TestReadHead(t *testing.T) {
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return at }
	mysql := "-- MySQL dump 10.13\n--\n-- Position to start replication or point-in-time recovery from\n--\n" +
		"-- CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='binlog.000001', SOURCE_LOG_POS=2180;\n\n-- Table structure for table `t`\nCREATE TABLE t (a int);\n"
	maria := "/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump\n-- CHANGE MASTER TO MASTER_LOG_FILE='mariadb-bin.000012', MASTER_LOG_POS=1659;\n--\n-- Table structure for table `t`\n"
	for _, tc := range []struct {
		name, text, pos string
		ended           bool
	}{
		{"mysqldump", mysql, "binlog.000001:2180", false},
		{"mariadb-dump", maria, "mariadb-bin.000012:1659", false},
		{"crlf", strings.ReplaceAll(maria, "\n", "\r\n"), "mariadb-bin.000012:1659", false},
		{"no coordinates before the tables", "-- MariaDB dump\n-- Table structure for table `t`\n-- CHANGE MASTER TO MASTER_LOG_FILE='x.000001', MASTER_LOG_POS=4;\n", "", false},
		{"ended", "-- MariaDB dump\n", "", true},
		{"a name that is not a file's", "-- CHANGE MASTER TO MASTER_LOG_FILE='a b.1', MASTER_LOG_POS=4;\n", "", true},
		{"in a row", "INSERT INTO t VALUES ('\n-- CHANGE MASTER TO MASTER_LOG_FILE=''x.1'', MASTER_LOG_POS=4;\n');\n", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One byte at a time: lines come in pieces.
			h, err := readHead(iotest.OneByteReader(strings.NewReader(tc.text)), now)
			if err != nil {
				t.Fatal(err)
			}
			if h.pos != tc.pos || h.ended != tc.ended {
				t.Errorf("pos %q ended %v, want %q %v", h.pos, h.ended, tc.pos, tc.ended)
			}
			if h.pos != "" && !h.at.Equal(at) {
				t.Errorf("at %v", h.at)
			}
			rest, _ := io.ReadAll(strings.NewReader(tc.text[len(h.held):]))
			if string(h.held)+string(rest) != tc.text {
				t.Errorf("held %q is not the start of the text", h.held)
			}
		})
	}
	big := strings.Repeat("-- comment\n", headMax/10)
	h, err := readHead(strings.NewReader(big), now)
	if err != nil || h.pos != "" || h.ended || len(h.held) < headMax || len(h.held) > headMax+4096 {
		t.Errorf("a long head: held %d bytes, ended %v, err %v", len(h.held), h.ended, err)
	}
}

// binlogServer is a server with a binary log: MySQL 9.7 writes one by
// default; MariaDB is started with one.
func binlogServer(t *testing.T, product string) *testdb.Server {
	t.Helper()
	if testdb.MySQL(product) {
		return testdb.For(t, product)
	}
	return testdb.StartPrivateProduct(t, product, "--log-bin=mariadb-bin", "--server-id=7")
}

// A dump asked for coordinates records them, as each tool prints them
// against each server family, and the server's identity.
func TestDumpRecordsCoordinates(t *testing.T) {
	for _, tc := range []struct{ name, server, toolProduct, tool string }{
		{"mariadb-dump 11.8 from MySQL 9.7", testdb.MySQL97, testdb.MariaDB118, "mariadb-dump"},
		{"mysqldump 9.7 from MySQL 9.7", testdb.MySQL97, testdb.MySQL97, "mysqldump"},
		{"mariadb-dump 11.8 from MariaDB 11.8", testdb.MariaDB118, testdb.MariaDB118, "mariadb-dump"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := binlogServer(t, tc.server)
			db := srv.NewDatabase(t, "coords")
			srv.Exec(t, db, "CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2)")
			d := &Dumper{Program: testdb.Tool(t, tc.toolProduct, tc.tool), Conn: srv.Root(db), Coordinates: true}
			before := time.Now()
			var buf bytes.Buffer
			res, err := d.Dump(context.Background(), &buf, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.BinlogProblem != "" {
				t.Fatalf("no coordinates: %s", res.BinlogProblem)
			}
			if !regexp.MustCompile(`^[a-z-]*bin(log)?\.[0-9]{6}:[0-9]+$`).MatchString(res.Binlog.Pos) {
				t.Errorf("coordinates %q", res.Binlog.Pos)
			}
			var want string
			if testdb.MySQL(tc.server) {
				want = strings.TrimSpace(srv.Exec(t, "", "SELECT @@server_uuid"))
			} else {
				want = "id7"
			}
			if res.Binlog.Server != want {
				t.Errorf("server %q, want %q", res.Binlog.Server, want)
			}
			if res.Binlog.At.Before(before) || res.Binlog.At.After(time.Now()) {
				t.Errorf("coordinates read at %v, not during the dump", res.Binlog.At)
			}
			sql := decompress(t, buf.Bytes())
			file, pos, _ := strings.Cut(res.Binlog.Pos, ":")
			if !strings.Contains(sql, "_LOG_FILE='"+file+"', ") || !strings.Contains(sql, "_LOG_POS="+pos+";") {
				t.Errorf("the dump's own text does not hold %s", res.Binlog.Pos)
			}
			if !HasTrailer([]byte(sql)) || strings.Count(sql, Trailer) != 1 {
				t.Errorf("the dump does not end with one trailer")
			}
		})
	}
}

// An account that may not take the coordinates still makes a backup,
// without them, and says why; nothing of the first attempt is in it.
func TestDumpWithoutCoordinatePrivileges(t *testing.T) {
	srv := testdb.For(t, testdb.MySQL97)
	db := srv.NewDatabase(t, "nocoords")
	srv.Exec(t, db, "CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)")
	user := srv.NewUser(t, db, "pw-1")
	for _, tool := range []string{testdb.Tool(t, testdb.MariaDB118, "mariadb-dump"), testdb.Tool(t, testdb.MySQL97, "mysqldump")} {
		t.Run(tool, func(t *testing.T) {
			conn := mariadb.Conn{Socket: srv.Socket, User: user, Password: "pw-1", Database: db}
			d := &Dumper{Program: tool, Conn: conn, Coordinates: true}
			var buf bytes.Buffer
			res, err := d.Dump(context.Background(), &buf, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Binlog.IsZero() || !strings.Contains(res.BinlogProblem, "may not read the binary log coordinates") ||
				!strings.Contains(res.BinlogProblem, "1227") {
				t.Errorf("coordinates %+v, problem %q", res.Binlog, res.BinlogProblem)
			}
			c, err := Check(bytes.NewReader(buf.Bytes()), nil)
			if err != nil || c.StoredBytes != res.StoredBytes {
				t.Fatalf("the backup does not check: %v (%+v)", err, c)
			}
			if sql := decompress(t, buf.Bytes()); len(regexp.MustCompile(`(?m)^-- (MariaDB|MySQL) dump`).FindAllString(sql, -1)) != 1 || !regexp.MustCompile("INSERT INTO `t` VALUES\\s*\\(1\\)").MatchString(sql) {
				t.Errorf("the dump is not one whole dump:\n%s", sql)
			}
		})
	}
}

// A server without a binary log gives backups without coordinates.
func TestDumpServerWithoutBinlog(t *testing.T) {
	srv := testdb.StartPrivateProduct(t, testdb.MariaDB118)
	db := srv.NewDatabase(t, "nolog")
	d := &Dumper{Program: testdb.Tool(t, testdb.MariaDB118, "mariadb-dump"), Conn: srv.Root(db), Coordinates: true}
	var buf bytes.Buffer
	res, err := d.Dump(context.Background(), &buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Binlog.IsZero() || !strings.Contains(res.BinlogProblem, "log_bin is OFF") {
		t.Errorf("coordinates %+v, problem %q", res.Binlog, res.BinlogProblem)
	}
}

func TestReadHeadOfText(t *testing.T) {
	text := "-- MySQL dump 10.13\n--\n-- Host: 10.0.0.1    Database: app db\n-- ---\n" +
		"-- CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='binlog.000001', SOURCE_LOG_POS=2180;\n" +
		"-- Table structure for table `t`\n"
	if h := ReadHead([]byte(text)); h.Database != "app db" || h.Binlog != "binlog.000001:2180" {
		t.Errorf("head %+v", h)
	}
	// What comes after the first table is the data's, not the tool's.
	late := "-- MySQL dump 10.13\n-- Host: localhost    Database: app\n-- Table structure for table `t`\n" +
		"INSERT INTO t VALUES ('\n-- CHANGE MASTER TO MASTER_LOG_FILE='x.000001', MASTER_LOG_POS=4;\n');\n"
	if h := ReadHead([]byte(late)); h.Database != "app" || h.Binlog != "" {
		t.Errorf("head %+v", h)
	}
}

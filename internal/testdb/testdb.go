// Package testdb gives tests a real MariaDB server: the one named by
// BACKUPD_TEST_SOCKET (started by .ci/run), or a private one that this test
// binary starts with scripts/mariadb-private.sh and stops when it exits.
//
// When no server can be had, tests skip on a developer machine and fail when
// CI is set, so that CI never passes without having run them.
package testdb

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
)

// Server is a running MariaDB server that root can use over its socket.
type Server struct {
	Socket string
	Host   string
	Port   int
	// Product is the build (System, MariaDB118, MySQL97); Bin is the
	// folder of its client tools, "" for the system's on PATH.
	Product string
	Bin     string
	dir     string // set when this process started the server
}

var (
	once      sync.Once
	shared    *Server
	sharedErr error
	dbSeq     atomic.Int64
)

// Main runs the tests of a package and stops the private server, if one was
// started. Use it from TestMain: os.Exit(testdb.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	dropAccounts()
	if shared != nil && shared.dir != "" {
		shared.Stop()
		os.RemoveAll(shared.dir)
	}
	stopProducts()
	return code
}

// Get returns the shared server, starting it on first use.
func Get(t testing.TB) *Server {
	t.Helper()
	once.Do(func() {
		if sock := os.Getenv("BACKUPD_TEST_SOCKET"); sock != "" {
			port, _ := strconv.Atoi(os.Getenv("BACKUPD_TEST_PORT"))
			shared = &Server{Socket: sock, Host: "127.0.0.1", Port: port, Product: mainProduct(), Bin: binFromEnv(mainProduct())}
			return
		}
		dir, err := os.MkdirTemp("", "backupd-mariadb-")
		if err != nil {
			sharedErr = err
			return
		}
		shared, sharedErr = start(dir)
		if sharedErr != nil {
			os.RemoveAll(dir)
		}
	})
	if sharedErr != nil {
		Unavailable(t, sharedErr)
	}
	return shared
}

// StartPrivate starts a server of its own for one test, under dir, and stops
// it when the test ends: of the main server's product (MariaDB 11.8 under
// scripts/test.sh), so that what a private server tests holds there.
func StartPrivate(t testing.TB, dir string) *Server {
	t.Helper()
	if p := mainProduct(); p != System {
		bin := Bin(t, p)
		s, err := startProduct(dir, p)
		if err != nil {
			unavailableProduct(t, p, err)
		}
		s.Product, s.Bin = p, bin
		t.Cleanup(s.Stop)
		return s
	}
	s, err := start(dir)
	if err != nil {
		Unavailable(t, err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Unavailable skips the test, or fails it when CI is set.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("MariaDB is required in CI: %v", err)
	}
	t.Skipf("MariaDB not available (install mariadb-server mariadb-client): %v", err)
}

// Script is the path of scripts/mariadb-private.sh.
func Script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "scripts", "mariadb-private.sh")
}

func start(dir string) (*Server, error) {
	s, err := startWith(exec.Command(Script(), "start", dir), dir)
	if s != nil {
		s.Product = System
	}
	return s, err
}

// startWith runs the start command of scripts/mariadb-private.sh and reads
// the settings it prints.
func startWith(cmd *exec.Cmd, dir string) (*Server, error) {
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("start mariadb: %v: %s", err, ee.Stderr)
		}
		return nil, fmt.Errorf("start mariadb: %w", err)
	}
	s := &Server{dir: dir}
	for _, line := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "DB_SOCKET":
			s.Socket = v
		case "DB_HOST":
			s.Host = v
		case "DB_PORT":
			s.Port, _ = strconv.Atoi(v)
		case "DB_BIN":
			s.Bin = v
		}
	}
	return s, nil
}

// Stop stops a server this process started; it does nothing otherwise.
func (s *Server) Stop() {
	if s.dir == "" {
		return
	}
	_ = exec.Command(Script(), "stop", s.dir).Run()
}

// Root returns a root connection over the socket to database db.
func (s *Server) Root(db string) mariadb.Conn {
	return mariadb.Conn{Socket: s.Socket, User: "root", Database: db}
}

// NewDatabase creates an empty database with a unique name starting with
// prefix and drops it when the test ends.
func (s *Server) NewDatabase(t testing.TB, prefix string) string {
	t.Helper()
	name := fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), dbSeq.Add(1))
	s.Exec(t, "", "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
	t.Cleanup(func() { _, _ = s.Run("", "DROP DATABASE IF EXISTS `"+name+"`") })
	return name
}

// NewUser creates a user with a password and all privileges on db only,
// like the app's own user, and drops it when the test ends.
func (s *Server) NewUser(t testing.TB, db, password string) string {
	t.Helper()
	user := fmt.Sprintf("u%d_%d", os.Getpid(), dbSeq.Add(1))
	pw := Quote(password)
	s.Exec(t, "", fmt.Sprintf("CREATE USER '%s'@'localhost' IDENTIFIED BY %s; CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY %s;"+
		" GRANT ALL ON `%s`.* TO '%s'@'localhost'; GRANT ALL ON `%s`.* TO '%s'@'127.0.0.1'",
		user, pw, user, pw, db, user, db, user))
	t.Cleanup(func() {
		_, _ = s.Run("", fmt.Sprintf("DROP USER IF EXISTS '%s'@'localhost', '%s'@'127.0.0.1'", user, user))
	})
	return user
}

// Account makes sure an account user@localhost with password exists on
// the server, without privileges: enough to log in and ask the server its
// version, as a backup does before it runs the dump tool. Tests whose dump
// tool is a script use it, so that the backup's question to the server
// finds one. It is dropped when the test binary exits (see Main).
func (s *Server) Account(t testing.TB, user, password string) {
	t.Helper()
	s.Exec(t, "", fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'localhost'; ALTER USER '%s'@'localhost' IDENTIFIED BY %s",
		user, user, Quote(password)))
	accountsMu.Lock()
	defer accountsMu.Unlock()
	if accounts[s] == nil {
		accounts[s] = map[string]bool{}
	}
	accounts[s][user] = true
}

var (
	accountsMu sync.Mutex
	accounts   = map[*Server]map[string]bool{}
)

// dropAccounts drops the accounts Account made.
func dropAccounts() {
	accountsMu.Lock()
	defer accountsMu.Unlock()
	for s, users := range accounts {
		for u := range users {
			_, _ = s.Run("", fmt.Sprintf("DROP USER IF EXISTS '%s'@'localhost'", u))
		}
	}
}

// HasCollation reports whether the server has a collation by that name
// (MariaDB 11.4.5 on has MySQL's utf8mb4_0900_* ones).
func (s *Server) HasCollation(t testing.TB, name string) bool {
	t.Helper()
	out := s.Exec(t, "", "SELECT COUNT(*) FROM information_schema.collations WHERE collation_name = "+Quote(name))
	return strings.TrimSpace(out) == "1"
}

// Ident returns s as a quoted SQL identifier.
func Ident(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// Quote returns s as an SQL string literal.
func Quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// Run runs SQL as root in db ("" for none) with the mariadb client and
// returns its tab-separated output without column names.
func (s *Server) Run(db, sql string) (string, error) {
	args := []string{"--no-defaults", "--socket=" + s.Socket, "-uroot", "-N", "-B", "--default-character-set=utf8mb4"}
	if db != "" {
		args = append(args, db)
	}
	client := s.client()
	if filepath.Base(client) == "mariadb" {
		// MariaDB's client 11.4 on insists on TLS even over a socket,
		// unless told not to; a server without TLS would refuse it.
		args = append(args, "--skip-ssl")
	}
	cmd := exec.Command(client, args...)
	cmd.Stdin = strings.NewReader(sql)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("mariadb: %v: %s", err, stderr.String())
	}
	return string(out), nil
}

// Exec is Run that fails the test on error.
func (s *Server) Exec(t testing.TB, db, sql string) string {
	t.Helper()
	out, err := s.Run(db, sql)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// LoadFile runs an SQL file as root into db.
func (s *Server) LoadFile(t testing.TB, db, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Exec(t, db, string(b))
}

// client is the server's own command-line client: that of its product,
// else the one on PATH.
func (s *Server) client() string {
	for _, n := range []string{"mariadb", "mysql"} {
		if p := filepath.Join(s.Bin, n); s.Bin != "" && isExec(p) {
			return p
		}
	}
	return Client()
}

// Client is the mariadb (or mysql) command-line client.
func Client() string {
	p, err := mariadb.FindTool("mariadb", "mysql")
	if err != nil {
		return "mariadb"
	}
	return p
}

// Fingerprint describes the content of db so that two databases can be
// compared: CHECKSUM TABLE of every base table, and the definitions of
// views, routines, triggers and events with the database name and DEFINER
// clauses taken out.
func (s *Server) Fingerprint(t testing.TB, db string) string {
	t.Helper()
	var b strings.Builder
	tables := s.Exec(t, "", fmt.Sprintf("SELECT table_name FROM information_schema.tables WHERE table_schema='%s' AND table_type='BASE TABLE' ORDER BY table_name", db))
	// One name a line: names may hold blanks and backticks.
	for _, tbl := range strings.Split(strings.TrimRight(tables, "\n"), "\n") {
		if tbl == "" {
			continue
		}
		out := s.Exec(t, db, "CHECKSUM TABLE "+Ident(tbl)+" EXTENDED")
		_, sum, _ := strings.Cut(strings.TrimSpace(out), "\t")
		fmt.Fprintf(&b, "table %s %s\n", tbl, sum)
	}
	queries := []string{
		"SELECT table_name, view_definition FROM information_schema.views WHERE table_schema='%s' ORDER BY table_name",
		"SELECT routine_type, routine_name, routine_definition, dtd_identifier, sql_mode FROM information_schema.routines WHERE routine_schema='%s' ORDER BY routine_type, routine_name",
		"SELECT trigger_name, event_manipulation, event_object_table, action_timing, action_statement FROM information_schema.triggers WHERE trigger_schema='%s' ORDER BY trigger_name",
		"SELECT event_name, event_definition, interval_value, interval_field, status FROM information_schema.events WHERE event_schema='%s' ORDER BY event_name",
		"SELECT table_name, column_name, column_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema='%s' ORDER BY table_name, ordinal_position",
		"SELECT constraint_name, table_name, referenced_table_name FROM information_schema.referential_constraints WHERE constraint_schema='%s' ORDER BY constraint_name",
	}
	for _, q := range queries {
		out := s.Exec(t, "", fmt.Sprintf(q, db))
		b.WriteString(strings.ReplaceAll(out, "`"+db+"`", "`DB`"))
	}
	return b.String()
}

// Kill kills a server this process started with SIGKILL, as a machine that
// loses its power would lose it, and waits until it is gone. It fails the
// test for a server it did not start.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	if s.dir == "" {
		t.Fatal("testdb: Kill of a server this process did not start")
	}
	b, err := os.ReadFile(filepath.Join(s.dir, "mysqld.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Signal(syscall.SIGKILL)
	for range 200 {
		if p.Signal(syscall.Signal(0)) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server %d still runs after SIGKILL", pid)
}

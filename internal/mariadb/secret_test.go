package mariadb_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/internal/testdb"
)

// childEnv, when set, makes the test binary act as a backupd process that
// starts a client tool and blocks: the value names the moment to stop at.
const childEnv = "BACKUPD_TEST_OPTFILE_CHILD"

func TestMain(m *testing.M) {
	if moment := os.Getenv(childEnv); moment != "" {
		os.Exit(child(moment))
	}
	os.Exit(testdb.Main(m))
}

// child prepares (and for "running" starts) the mariadb client with the
// connection from the environment, prints "ready <tool pid>" and waits to
// be killed.
func child(moment string) int {
	port, _ := strconv.Atoi(os.Getenv("CHILD_DB_PORT"))
	conn := mariadb.Conn{Host: "127.0.0.1", Port: port, User: os.Getenv("CHILD_DB_USER"),
		Password: os.Getenv("CHILD_DB_PASSWORD"), Database: os.Getenv("CHILD_DB_NAME")}
	os.Unsetenv("CHILD_DB_PASSWORD")
	cmd, err := conn.Command(context.Background(), "", testdb.Client(), "-N", "-e", "SELECT SLEEP(600)")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pid := 0
	if moment != "prepared" {
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		pid = cmd.Cmd.Process.Pid
	}
	fmt.Printf("ready %d\n", pid)
	select {}
}

// TestOptionFileGoneAfterKill kills a backupd process (and its client tool)
// with SIGKILL at several moments, and then looks for the password in every
// file of the temp dir: nothing there may hold it.
func TestOptionFileGoneAfterKill(t *testing.T) {
	srv := testdb.Get(t)
	db := srv.NewDatabase(t, "optfile")
	password := "pw-" + randomHex(t)
	user := srv.NewUser(t, db, password)

	for _, moment := range []string{"prepared", "running", "tool-killed-first"} {
		t.Run(moment, func(t *testing.T) {
			tmp := t.TempDir()
			self, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			mode := moment
			if moment == "tool-killed-first" {
				mode = "running"
			}
			c := exec.Command(self, "-test.run=^$")
			c.Env = append(os.Environ(), childEnv+"="+mode, "TMPDIR="+tmp,
				"CHILD_DB_PORT="+strconv.Itoa(srv.Port), "CHILD_DB_USER="+user,
				"CHILD_DB_PASSWORD="+password, "CHILD_DB_NAME="+db)
			c.Stderr = os.Stderr
			out, err := c.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil {
				t.Fatalf("child: %v", err)
			}
			toolPid, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "ready ")))
			if toolPid != 0 {
				t.Cleanup(func() { _ = syscall.Kill(toolPid, syscall.SIGKILL) })
				// The tool logged in with the password from its option
				// file: its query shows up in the process list.
				waitForQuery(t, srv, user)
			}
			scanFor(t, tmp, password, "while running")

			if moment == "tool-killed-first" {
				_ = syscall.Kill(toolPid, syscall.SIGKILL)
			}
			if err := c.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = c.Wait()
			scanFor(t, tmp, password, "after SIGKILL")
			if toolPid != 0 {
				_ = syscall.Kill(toolPid, syscall.SIGKILL)
				scanFor(t, tmp, password, "after the tool died")
			}
		})
	}
}

func waitForQuery(t *testing.T, srv *testdb.Server, user string) {
	t.Helper()
	q := fmt.Sprintf("SELECT COUNT(*) FROM information_schema.processlist WHERE user='%s' AND info LIKE 'SELECT SLEEP%%'", user)
	for i := 0; i < 200; i++ {
		if strings.TrimSpace(srv.Exec(t, "", q)) != "0" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the client tool of user %s never ran its query", user)
}

// scanFor fails the test if any file under dir holds secret.
func scanFor(t *testing.T, dir, secret, when string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), secret) {
			t.Errorf("%s: %s holds the password", when, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func randomHex(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestClientToolsReadOptionFile runs the real mariadb and mariadb-dump
// against the test server over TCP with a password user: they can log in
// only if they read the connection settings Command hands them.
func TestClientToolsReadOptionFile(t *testing.T) {
	srv := testdb.Get(t)
	db := srv.NewDatabase(t, "optread")
	srv.Exec(t, db, "CREATE TABLE marker (id int)")
	password := `p"w\` + randomHex(t) + ` #;`
	user := srv.NewUser(t, db, password)
	conn := mariadb.Conn{Host: "127.0.0.1", Port: srv.Port, User: user, Password: password, Database: db}
	ctx := context.Background()

	cmd, err := conn.Command(ctx, t.TempDir(), testdb.Client(), "-N", "-e", "SELECT CURRENT_USER()")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("mariadb: %v", err)
	}
	if got := strings.TrimSpace(out.String()); !strings.HasPrefix(got, user+"@") {
		t.Errorf("CURRENT_USER() = %q, want %s@...", got, user)
	}

	dumpProg, err := mariadb.FindTool("mariadb-dump", "mysqldump")
	if err != nil {
		t.Fatal(err)
	}
	cmd, err = conn.Command(ctx, t.TempDir(), dumpProg, "--no-data", "--", db)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	cmd.Cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("mariadb-dump: %v", err)
	}
	if !strings.Contains(out.String(), "CREATE TABLE `marker`") {
		t.Errorf("mariadb-dump did not dump the table:\n%s", out.String())
	}
}

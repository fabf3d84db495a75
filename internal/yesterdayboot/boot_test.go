package yesterdayboot

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/storage"
)

// bin holds yesterday-restore, built from this tree.
var bin string

func TestMain(m *testing.M) {
	if os.Getenv(appEnv) != "" {
		os.Exit(runApp())
	}
	dir, err := os.MkdirTemp("", "backupd-boot-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "./cmd/yesterday-restore")
	build.Dir = testdb.Root()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build yesterday-restore: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	bin = dir
	code := testdb.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// Settings, from the environment (scripts/yesterday-boot-test.sh):
// BOOT_ROWS, the rows of bench/data.sh's main table (the snapshots are
// about 270 bytes of SQL a row); BOOT_CPU, the CPU the machine runs on
// ("all" for no pinning); BOOT_REPORT, a file that receives the report.
func rows() int {
	if n, err := strconv.Atoi(os.Getenv("BOOT_ROWS")); err == nil && n >= 40 {
		return n
	}
	return 20000
}

// day is the date of the first snapshot; day+n is the n-th morning.
var day = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

func snapshotAt(n int) time.Time { return day.AddDate(0, 0, n).Add(3 * time.Hour) }
func morning(n int) time.Time    { return day.AddDate(0, 0, n).Add(5 * time.Hour) }
func banner(n int) string        { return snapshotAt(n).Format("2006-01-02 15:04:05 UTC") }

// source is production's database, on MariaDB 11.8 and dumped with its
// mariadb-dump: bench/data.sh's five tables, with a
// view, a procedure and a trigger; each generation changes rows and the
// view's and procedure's definitions (compatibly, as a deploy would).
type source struct {
	srv      *testdb.Server
	db       string
	store    string
	dumpTool string // the app image's mariadb-dump, 11.8
}

func newSource(t *testing.T, store string) *source {
	t.Helper()
	srv := testdb.For(t, testdb.MariaDB118)
	s := &source{srv: srv, db: srv.NewDatabase(t, "bootsrc"), store: store,
		dumpTool: testdb.Tool(t, testdb.MariaDB118, "mariadb-dump")}
	fill := exec.Command("bash", "-c", `. bench/data.sh && bench_fill "$1" "$2"`, "fill", s.db, strconv.Itoa(rows()))
	fill.Dir = testdb.Root()
	fill.Env = append(os.Environ(), "BENCH_SOCKET="+srv.Socket,
		"PATH="+filepath.Dir(s.dumpTool)+string(os.PathListSeparator)+os.Getenv("PATH"))
	if out, err := fill.CombinedOutput(); err != nil {
		t.Fatalf("bench_fill: %v\n%s", err, out)
	}
	srv.Exec(t, s.db, "CREATE TRIGGER orders_paid BEFORE UPDATE ON orders FOR EACH ROW"+
		" SET NEW.created_at = IF(NEW.status = 'paid' AND OLD.status <> 'paid', NOW(), NEW.created_at);"+
		" CREATE TABLE generation (n INT PRIMARY KEY)")
	s.generation(t, 1)
	return s
}

// generation makes the source generation n: new view and procedure
// definitions naming n, and rows that do (the table generation, read by
// the view beside its own number), and for n > 1 changed rows.
func (s *source) generation(t *testing.T, n int) {
	t.Helper()
	extra := ""
	if n > 1 {
		extra = ", u.name"
		s.srv.Exec(t, s.db, fmt.Sprintf("UPDATE users SET balance = balance + %d WHERE id %% 7 = 0;"+
			" UPDATE orders SET status = 'paid' WHERE id %% 11 = %d", n, n))
	}
	s.srv.Exec(t, s.db, fmt.Sprintf("DELETE FROM generation; INSERT INTO generation VALUES (%d);"+
		" CREATE OR REPLACE VIEW order_view AS SELECT o.id, o.status, o.total, u.email%s,"+
		" CONCAT('%d/', (SELECT n FROM generation)) AS generation FROM orders o JOIN users u ON u.id = o.user_id;"+
		" CREATE OR REPLACE PROCEDURE user_orders(IN p_user INT) READS SQL DATA"+
		" SELECT COUNT(*) AS orders, COALESCE(SUM(total), 0) AS total, '%d' AS generation FROM orders WHERE user_id = p_user",
		n, extra, n, n))
}

// backup takes a backup of the source with backupd's pipeline, named for
// the n-th day's 03:00.
func (s *source) backup(t *testing.T, n int) string {
	t.Helper()
	ctx := context.Background()
	store, err := storage.Open(ctx, s.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := (&backup.Job{Dumper: &dump.Dumper{Program: s.dumpTool, Conn: s.srv.Root(s.db)}, Store: store, Codec: catalog.Codec{}, Time: snapshotAt(n)}).Run(ctx)
	if err != nil {
		t.Fatalf("backup of day %d: %v", n, err)
	}
	return rep.Name
}

// corrupt flips a byte in the middle of a stored backup, in place: its
// recorded checksum stays.
func (s *source) corrupt(t *testing.T, name string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(s.store, name), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, st.Size()/2); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x55
	if _, err := f.WriteAt(b, st.Size()/2); err != nil {
		t.Fatal(err)
	}
}

// machine is the yesterday machine: a folder for its volume, one for what
// lives on its own disk (the socket), and the settings its image and
// fly.toml give it.
type machine struct {
	t       *testing.T
	dir     string
	vol     string
	socket  string
	pidFile string
	env     []string
	osUser  string
	boots   int
	results []result
}

func newMachine(t *testing.T, remote string) *machine {
	t.Helper()
	base := filepath.Dir(testdb.Bin(t, testdb.MariaDB118))
	dir := t.TempDir()
	m := &machine{t: t, dir: dir, vol: filepath.Join(dir, "volume"), socket: filepath.Join(dir, "run", "mysqld.sock"),
		pidFile: filepath.Join(dir, "run", "mysqld.pid")}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	m.osUser = u.Username
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	m.env = []string{
		"PATH=" + strings.Join([]string{filepath.Join(base, "bin"), filepath.Join(base, "sbin"), bin, os.Getenv("PATH")}, ":"),
		"HOME=" + os.Getenv("HOME"),
		"DB_DATABASE=app", "DB_USERNAME=app", "DB_PASSWORD=boot pass 'with' \\quotes",
		"BACKUPD_REMOTE=" + remote,
		"YESTERDAY_DATA=" + m.vol,
		"YESTERDAY_MARIADB_CNF=" + filepath.Join(testdb.Root(), "deploy", "yesterday", "yesterday.cnf"),
		"YESTERDAY_MARIADB_SOCKET=" + m.socket,
		"YESTERDAY_MARIADB_USER=" + u.Username,
		// Its own temporary folder: the machine's /tmp is its own too.
		fmt.Sprintf("YESTERDAY_MARIADB_OPTS=--basedir=%s --plugin-dir=%s --port=%d --pid-file=%s --tmpdir=%s",
			base, filepath.Join(base, "lib", "mysql", "plugin"), port, m.pidFile, filepath.Join(dir, "run")),
		"YESTERDAY_INSTALL_OPTS=--basedir=" + base,
		"YESTERDAY_RETRY=5",
		fmt.Sprintf("BOOT_USERS=%d", rows()/20), fmt.Sprintf("BOOT_ORDERS=%d", rows()/4),
	}
	return m
}

// boot is one run of the machine, from yesterday-start.sh's start to its
// stop.
type boot struct {
	m      *machine
	name   string
	cmd    *exec.Cmd
	start  time.Time
	log    string // the machine's output: the script, MariaDB, yesterday-restore
	events string // the app's
	done   chan error
	rss    int64 // mariadbd's peak resident set, KiB
	// disk is the data directory's largest size seen (sampled every
	// 200 ms) and its size at the stop, in bytes.
	diskPeak, diskEnd atomic.Int64
	sampling          chan struct{}
}

// boot starts the machine as the morning of day n.
func (m *machine) boot(name string, n int) *boot {
	m.t.Helper()
	m.boots++
	b := &boot{m: m, name: name, log: filepath.Join(m.dir, fmt.Sprintf("boot%d.log", m.boots)),
		events: filepath.Join(m.dir, fmt.Sprintf("boot%d.events", m.boots)), done: make(chan error, 1), sampling: make(chan struct{})}
	out, err := os.Create(b.log)
	if err != nil {
		m.t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		m.t.Fatal(err)
	}
	args := []string{filepath.Join(testdb.Root(), "deploy", "yesterday", "yesterday-start.sh"), exe, "-test.run=^$"}
	if cpu := os.Getenv("BOOT_CPU"); cpu != "all" {
		if cpu == "" {
			cpu = "0"
		}
		args = append([]string{"taskset", "-c", cpu}, args...)
	}
	b.cmd = exec.Command(args[0], args[1:]...)
	b.cmd.Env = append(append([]string{}, m.env...), appEnv+"="+b.events,
		"YESTERDAY_RESTORE_FLAGS=--now="+morning(n).Format(time.RFC3339))
	b.cmd.Stdout, b.cmd.Stderr = out, out
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	b.start = time.Now()
	if err := b.cmd.Start(); err != nil {
		m.t.Fatal(err)
	}
	go func() {
		b.done <- b.cmd.Wait()
		out.Close()
	}()
	go func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			n := diskUsage(filepath.Join(m.vol, "mysql"))
			b.diskEnd.Store(n)
			if n > b.diskPeak.Load() {
				b.diskPeak.Store(n)
			}
			select {
			case <-b.sampling:
				return
			case <-tick.C:
			}
		}
	}()
	m.t.Cleanup(func() {
		if b.cmd.ProcessState == nil {
			_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
			<-b.done
		}
	})
	return b
}

// output returns what the machine printed so far.
func (b *boot) output() string {
	out, err := os.ReadFile(b.log)
	if err != nil {
		b.m.t.Fatal(err)
	}
	return string(out)
}

// wait waits until the machine's output holds one of the lines (parts of
// them) and returns the first that does; it fails after ten minutes or
// when the machine stops first.
func (b *boot) wait(what ...string) string {
	b.m.t.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		out := b.output()
		for _, w := range what {
			if strings.Contains(out, w) {
				return w
			}
		}
		select {
		case err := <-b.done:
			b.done <- err
			b.m.t.Fatalf("%s: the machine stopped (%v) before %q; its output:\n%s", b.name, err, what, tail(out))
		default:
		}
		if time.Now().After(deadline) {
			b.m.t.Fatalf("%s: no %q after ten minutes; the machine's output:\n%s", b.name, what, tail(out))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// restoreEnded waits until the restore of this boot has ended.
func (b *boot) restoreEnded() string {
	return b.wait("yesterday-start: restore done", "yesterday-start: yesterday-restore exited")
}

// stop stops the machine as Fly does (SIGTERM) and waits for it, after
// noting the server's peak memory.
func (b *boot) stop() {
	b.m.t.Helper()
	if pid, err := os.ReadFile(b.m.pidFile); err == nil {
		b.rss = peakRSS(strings.TrimSpace(string(pid)))
	}
	close(b.sampling)
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		b.m.t.Fatal(err)
	}
	select {
	case err := <-b.done:
		b.done <- err
	case <-time.After(2 * time.Minute):
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		b.m.t.Fatalf("%s: the machine did not stop within two minutes of SIGTERM; its output:\n%s", b.name, tail(b.output()))
	}
	if out := b.output(); !strings.Contains(out, "Shutdown complete") {
		b.m.t.Errorf("%s: the database server did not shut down cleanly:\n%s", b.name, tail(out))
	}
}

// diskUsage is the space the files under dir take on disk, in bytes.
func diskUsage(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			}
		}
		return nil
	})
	return n
}

// peakRSS is a process's peak resident set in KiB (VmHWM), 0 when unknown.
func peakRSS(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// descendant returns the pid of the process named comm that runs under
// the machine's process tree, 0 when there is none.
func (b *boot) descendant(comm string) int {
	parent := map[int]int{}
	names := map[int]string{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		i := bytes.LastIndexByte(stat, ')')
		j := bytes.IndexByte(stat, '(')
		if i < 0 || j < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 {
			continue
		}
		parent[pid], _ = strconv.Atoi(f[1])
		names[pid] = string(stat[j+1 : i])
	}
	for pid, name := range names {
		if name != comm {
			continue
		}
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == b.cmd.Process.Pid {
				return pid
			}
		}
	}
	return 0
}

func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return strings.Join(lines, "\n")
}

// TestYesterdayMachineLife plays the yesterday machine's mornings with
// deploy/yesterday's files, and checks that the app never sees a
// database error: on a first boot (and after the volume was lost) it shows
// the status file's "restoring" page until the restore ends; with a
// previous snapshot on the volume it reads it from the first moment, with
// the banner naming it, through the load, the swap and a restore killed
// in the middle of its swap.
func TestYesterdayMachineLife(t *testing.T) {
	store := t.TempDir()
	src := newSource(t, store)
	var names [6]string
	names[1] = src.backup(t, 1)
	m := newMachine(t, store)

	// The first boot: no database on the volume.
	m.morning("first boot, no data", 2, nil,
		expectation{restored: true, pages: true, lastBanner: banner(1), firstGen: "1/1", lastGen: "1/1"})

	// A refresh: yesterday's backup is newer; the previous snapshot is
	// served meanwhile.
	src.generation(t, 2)
	names[2] = src.backup(t, 2)
	m.morning("refresh, newer backup", 3, nil,
		expectation{restored: true, firstBanner: banner(1), lastBanner: banner(2), firstGen: "1/1", lastGen: "2/2"})

	// A refresh whose newest backup is corrupt: it is skipped, and the
	// next candidate is the snapshot the database holds.
	src.generation(t, 3)
	names[3] = src.backup(t, 3)
	src.corrupt(t, names[3])
	b := m.morning("refresh, newest backup corrupt", 4, nil,
		expectation{restored: true, firstBanner: banner(2), lastBanner: banner(2), firstGen: "2/2", lastGen: "2/2"})
	if out := b.output(); !strings.Contains(out, "backup is unusable; skipping it") || !strings.Contains(out, names[3]) {
		t.Errorf("%s: the corrupt backup was not skipped:\n%s", b.name, tail(out))
	}

	// A refresh whose restore is killed in the middle of its swap: a
	// reader holds a table, so that the RENAME waits; the restore is
	// killed while it does, the reader lets go, and the server completes
	// the RENAME of a client that is gone. The app goes on reading the
	// new tables (4) through the old views and routines (2).
	src.generation(t, 4)
	names[4] = src.backup(t, 4)
	m.morning("refresh, restore killed during its swap", 5, func(b *boot) {
		b.wait("yesterday-start: started the restore")
		b.killDuringSwap()
		time.Sleep(3 * time.Second)
	}, expectation{firstBanner: banner(2), firstGen: "2/2", lastGen: "2/4"})

	// The boot after it: the restore finishes the interrupted swap first.
	b = m.morning("the boot after the kill", 5, nil, expectation{restored: true, lastBanner: banner(4), lastGen: "4/4"})
	if out := b.output(); !strings.Contains(out, "recovered: finished the swap of "+names[4]) {
		t.Errorf("%s: no recovery of the interrupted swap:\n%s", b.name, tail(out))
	}

	// The volume is lost: a new, empty one.
	if err := os.RemoveAll(m.vol); err != nil {
		t.Fatal(err)
	}
	m.morning("volume lost", 5, nil,
		expectation{restored: true, pages: true, lastBanner: banner(4), firstGen: "4/4", lastGen: "4/4"})

	report(t, m.results)
}

// morning boots the machine as day n's morning and lets during act on it
// (nil: wait until the restore has ended, and a second more); then it
// stops the machine and checks what the app saw against e.
func (m *machine) morning(name string, n int, during func(*boot), e expectation) *boot {
	m.t.Helper()
	b := m.boot(name, n)
	if during == nil {
		b.restoreEnded()
		time.Sleep(time.Second)
	} else {
		during(b)
	}
	b.stop()
	r := b.analyse()
	m.results = append(m.results, r)
	r.expect(m.t, e)
	return b
}

// killDuringSwap holds the table users as a reader would, from the
// moment the server answers, until the restore's RENAME waits for it;
// kills the restore with SIGKILL; lets go of the table, and waits until
// the server has completed the RENAME of the client that is gone.
func (b *boot) killDuringSwap() {
	t := b.m.t
	t.Helper()
	b.wait("yesterday-start: the database server is up")
	reader := exec.Command(b.m.client(), "--no-defaults", "--socket="+b.m.socket, "--user="+b.m.osUser, "--batch", "--skip-column-names", "--unbuffered")
	in, err := reader.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := reader.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := reader.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		in.Close()
		_ = reader.Wait()
	}()
	if _, err := io.WriteString(in, "LOCK TABLES `app`.`users` READ; SELECT 'locked';\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("%s: the reader did not lock users: %q %v", b.name, line, err)
	}
	renameWaits := func() bool {
		return strings.TrimSpace(b.m.admin("SELECT COUNT(*) FROM information_schema.processlist"+
			" WHERE info LIKE 'RENAME TABLE%' AND state LIKE '%metadata lock%'")) != "0"
	}
	deadline := time.Now().Add(10 * time.Minute)
	for !renameWaits() {
		if strings.Contains(b.output(), "yesterday-start: restore done") || time.Now().After(deadline) {
			t.Fatalf("%s: the swap did not wait for the reader; the machine's output:\n%s", b.name, tail(b.output()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	pid := b.descendant("yesterday-resto")
	if pid == 0 {
		t.Fatalf("%s: no yesterday-restore process", b.name)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	b.wait("yesterday-restore exited 137")
	if _, err := io.WriteString(in, "UNLOCK TABLES;\n"); err != nil {
		t.Fatal(err)
	}
	for renameWaits() {
		time.Sleep(20 * time.Millisecond)
	}
}

// client is MariaDB 11.8's mariadb client.
func (m *machine) client() string { return testdb.Tool(m.t, testdb.MariaDB118, "mariadb") }

// admin runs sql on the machine's server as the OS user's own account
// (the one mariadb-install-db makes, over the socket) and returns its
// output.
func (m *machine) admin(sql string) string {
	m.t.Helper()
	out, err := exec.Command(m.client(), "--no-defaults", "--socket="+m.socket, "--user="+m.osUser,
		"--batch", "--skip-column-names", "-e", sql).CombinedOutput()
	if err != nil {
		m.t.Fatalf("%s: %v\n%s", sql, err, out)
	}
	return string(out)
}

// Package mariadb is the one place that talks to a MariaDB or MySQL server:
// the connection settings, the option file that carries them (with the
// password) to the client tools, finding those tools, the environment they
// run with, the database/sql connector, the server's error numbers and the
// error of a failed client tool. Every client tool is started through
// Conn.Command, so that none can run without the option file or with the
// process's secrets in its environment.
package mariadb

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Conn says how to reach a MariaDB server. The password is handed to the
// client tools only through an option file that lives in memory (see
// Command), never on a command line or on disk.
type Conn struct {
	Host     string // ignored when Socket is set
	Port     int    // 0 means the client's default
	Socket   string
	User     string
	Password string
	Database string
	// TLS is how a TCP connection is encrypted ("" is TLSPrefer); TLSCA
	// is the CA file that TLSVerify checks the certificate against ("":
	// the system's roots).
	TLS   TLSMode
	TLSCA string
	// TLSPin is the fingerprint (Fingerprint) of the certificate this
	// process saw on a driver connection to the server, from Ask: the
	// client tools that can pin it refuse any other, or none.
	TLSPin string
}

// Where names the server: its socket, else host and port.
func (c Conn) Where() string {
	if c.Socket != "" {
		return c.Socket
	}
	if c.Port != 0 {
		return c.Host + ":" + strconv.Itoa(c.Port)
	}
	return c.Host
}

// String describes the connection without its password.
func (c Conn) String() string {
	where := c.Where()
	pw := ""
	if c.Password != "" {
		pw = " password=<redacted>"
	}
	return fmt.Sprintf("%s@%s/%s%s", c.User, where, c.Database, pw)
}

// optionValue quotes a value for a MySQL option file, where backslash
// escapes are interpreted inside double quotes.
func optionValue(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(v) + `"`
}

// optionText is the [client] section with the connection settings (and
// the password) for tool t.
func (c Conn) optionText(t Tool) string {
	var b strings.Builder
	b.WriteString("[client]\n")
	if c.User != "" {
		fmt.Fprintf(&b, "user=%s\n", optionValue(c.User))
	}
	if c.Password != "" {
		fmt.Fprintf(&b, "password=%s\n", optionValue(c.Password))
	}
	if c.Socket != "" {
		fmt.Fprintf(&b, "socket=%s\n", optionValue(c.Socket))
		b.WriteString("protocol=socket\n")
	} else {
		if c.Host != "" {
			fmt.Fprintf(&b, "host=%s\n", optionValue(c.Host))
		}
		if c.Port != 0 {
			fmt.Fprintf(&b, "port=%d\n", c.Port)
		}
		b.WriteString("protocol=tcp\n")
	}
	for _, l := range c.toolTLS(t) {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// optionFD is the descriptor number the option file has in the client
// tool: exec.Cmd.ExtraFiles[0].
const optionFD = 3

// optionFile puts the connection settings (with the password) into a file
// that lives only in memory (memfd_create): it has no name on any disk, so
// no crash, not even SIGKILL, can leave the password behind; it goes away
// when the last process holding it exits. The client tool gets it as
// descriptor 3 and reads it as /dev/fd/3. The file is 0600 (MariaDB
// ignores a world-writable option file) and sealed against change.
func (c Conn) optionFile(t Tool) (*os.File, error) {
	fd, err := unix.MemfdCreate("backupd-client.cnf", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("create client option file in memory: %w", err)
	}
	f := os.NewFile(uintptr(fd), "backupd-client.cnf")
	fail := func(op string, err error) (*os.File, error) {
		f.Close()
		return nil, fmt.Errorf("%s client option file: %w", op, err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail("protect", err)
	}
	if _, err := f.WriteString(c.optionText(t)); err != nil {
		return fail("write", err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return fail("rewind", err)
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		return fail("seal", err)
	}
	return f, nil
}

// StaleOptionPattern is the name the option files of earlier versions had
// in the temp dir ("*" is a number): such a version wrote the password
// there, and a crash left the file behind.
const StaleOptionPattern = "backupd-client-*.cnf"

// RemoveStaleOptionFiles deletes the option files that an earlier crash
// left in dir (the system temp dir when ""): regular files named like
// StaleOptionPattern and owned by the current user. Symbolic links are
// never followed, other files are never touched, and a missing dir holds
// nothing. It returns how many files it removed. Command calls it once
// per process and dir; the commands may call it at start-up.
func RemoveStaleOptionFiles(dir string) (int, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("look for stale client option files: %w", err)
	}
	uid := os.Getuid()
	n := 0
	var errs []error
	for _, e := range entries {
		if !staleOptionName(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			continue // gone meanwhile
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != uid {
			continue
		}
		// unlink removes the name only, whatever it names by now; it never
		// follows a link and never removes a directory.
		if err := unix.Unlink(p); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("remove stale client option file %s: %w", p, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

func staleOptionName(name string) bool {
	mid, ok := strings.CutPrefix(name, "backupd-client-")
	if !ok {
		return false
	}
	mid, ok = strings.CutSuffix(mid, ".cnf")
	if !ok || mid == "" {
		return false
	}
	for _, r := range mid {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

var swept sync.Map // dir -> struct{}: RemoveStaleOptionFiles ran there

// sweepOnce runs RemoveStaleOptionFiles on dir the first time a process
// starts a client tool with it. A failure is not the tool's: it is ignored
// here and reported by the commands that call RemoveStaleOptionFiles
// themselves.
func sweepOnce(dir string) {
	if dir == "" {
		dir = os.TempDir()
	}
	if _, done := swept.LoadOrStore(dir, struct{}{}); done {
		return
	}
	_, _ = RemoveStaleOptionFiles(dir)
}

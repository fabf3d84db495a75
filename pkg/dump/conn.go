package dump

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Conn says how to reach a MariaDB server. The password is handed to the
// client tools only through a 0600 option file, never on a command line.
type Conn struct {
	Host     string // ignored when Socket is set
	Port     int    // 0 means the client's default
	Socket   string
	User     string
	Password string
	Database string
}

// String describes the connection without its password.
func (c Conn) String() string {
	where := c.Socket
	if where == "" {
		where = c.Host
		if c.Port != 0 {
			where += ":" + strconv.Itoa(c.Port)
		}
	}
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

// DefaultsFile writes the connection settings (with the password) as a
// [client] section into a new 0600 file in dir (the system temp dir when
// empty). The caller passes "--defaults-extra-file=<path>" as the first
// argument of a client tool and calls remove when the tool has exited.
func (c Conn) DefaultsFile(dir string) (path string, remove func(), err error) {
	f, err := os.CreateTemp(dir, "backupd-client-*.cnf")
	if err != nil {
		return "", nil, fmt.Errorf("create client option file: %w", err)
	}
	remove = func() { _ = os.Remove(f.Name()) }
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
	// CreateTemp already makes the file 0600; Chmod keeps that true under
	// any umask and documents the intent.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		remove()
		return "", nil, fmt.Errorf("protect client option file: %w", err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		remove()
		return "", nil, fmt.Errorf("write client option file: %w", err)
	}
	if err := f.Close(); err != nil {
		remove()
		return "", nil, fmt.Errorf("write client option file: %w", err)
	}
	return f.Name(), remove, nil
}

// FindTool returns the first of names found on PATH (or the name itself when
// it contains a slash and exists).
func FindTool(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("none of %s found on PATH", strings.Join(names, ", "))
}

// ChildEnv is the environment for the client tools: the process's own,
// without the secrets it may hold (the database password, the rclone
// remotes' credentials, the Fly token), which the tools do not need and
// which would otherwise be readable in their /proc/<pid>/environ.
func ChildEnv() []string {
	env := os.Environ()
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "DB_PASSWORD", name == "MYSQL_PWD",
			strings.HasPrefix(name, "RCLONE_CONFIG_"),
			strings.HasPrefix(name, "FLY_"):
			continue
		}
		out = append(out, kv)
	}
	return out
}

// Package mariadb is the one place that talks to a MariaDB or MySQL server:
// the connection settings, the option file that carries them (with the
// password) to the client tools, finding those tools, the environment they
// run with, the database/sql connector, the server's error numbers and the
// error of a failed client tool. Every client tool is started through
// Conn.Command, so that none can run without the option file or with the
// process's secrets in its environment.
package mariadb

import (
	"fmt"
	"os"
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

// optionFile writes the connection settings (with the password) as a
// [client] section into a new 0600 file in dir (the system temp dir when
// empty). The tool gets "--defaults-extra-file=<path>" as its first
// argument; remove deletes the file once the tool has exited.
func (c Conn) optionFile(dir string) (path string, remove func(), err error) {
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

package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/storage"
)

// DefaultLocalRemote is the embedded default remote: a local folder.
const DefaultLocalRemote = "./backups"

// Common declares the settings backupd and yesterday-restore share: where
// backups live and how to reach the database.
type Common struct {
	set                                    *Set
	remote, prefix                         *Setting
	host, port, socket, name, user, pwFile *Setting
	dumpProgram                            *Setting
}

// AddCommon declares the shared settings on s.
func AddCommon(s *Set) *Common {
	return &Common{
		set:         s,
		remote:      s.String("remote", []string{"BACKUPD_REMOTE"}, "", "rclone remote or local folder holding the backups (default gdrive: when GDRIVE_BACKUP_FOLDER_ID is set, else "+DefaultLocalRemote+")"),
		prefix:      s.String("prefix", []string{"BACKUPD_PREFIX"}, catalog.DefaultPrefix, "backup file name prefix"),
		host:        s.String("db-host", []string{"DB_HOST"}, "127.0.0.1", "database host"),
		port:        s.String("db-port", []string{"DB_PORT"}, "3306", "database port"),
		socket:      s.String("db-socket", []string{"DB_SOCKET"}, "", "database unix socket (instead of host and port)"),
		name:        s.String("db-name", []string{"DB_DATABASE"}, "", "database name"),
		user:        s.String("db-user", []string{"DB_USERNAME"}, "", "database user"),
		pwFile:      s.String("db-password-file", nil, "", "file holding the database password (env DB_PASSWORD holds the value, DB_PASSWORD_FILE a file)"),
		dumpProgram: s.String("mysqldump", []string{"BACKUPD_MYSQLDUMP"}, "", "dump program (default mariadb-dump, else mysqldump)"),
	}
}

// Settings are the resolved shared settings.
type Settings struct {
	Remote    string
	Prefix    string
	Conn      dump.Conn
	Mysqldump string // "" when not needed or not found
}

// Codec is the name codec for the configured prefix.
func (s Settings) Codec() catalog.Codec { return catalog.Codec{Prefix: s.Prefix} }

// Remote resolves only the remote and prefix, for commands that need no
// database.
func (c *Common) Remote() (Settings, error) {
	remote := c.set.Get(c.remote)
	if remote == "" {
		if c.set.Getenv("GDRIVE_BACKUP_FOLDER_ID") != "" {
			remote = "gdrive:"
		} else {
			remote = DefaultLocalRemote
		}
	}
	prefix := c.set.Get(c.prefix)
	if prefix == "" || strings.ContainsAny(prefix, "/\\") {
		return Settings{}, Usagef("invalid prefix %q: set %s to a plain file name prefix", prefix, c.prefix.Name())
	}
	return Settings{Remote: remote, Prefix: prefix}, nil
}

// Resolve resolves every shared setting. needDump also finds the dump
// program.
func (c *Common) Resolve(needDump bool) (Settings, error) {
	st, err := c.Remote()
	if err != nil {
		return st, err
	}
	conn := dump.Conn{Host: c.set.Get(c.host), Socket: c.set.Get(c.socket)}
	if conn.Port, err = c.set.Int(c.port, 1, 65535); err != nil {
		return st, err
	}
	if conn.Database, err = c.set.Required(c.name, "database name"); err != nil {
		return st, err
	}
	if conn.User, err = c.set.Required(c.user, "database user"); err != nil {
		return st, err
	}
	if conn.Password, err = c.password(); err != nil {
		return st, err
	}
	st.Conn = conn
	if needDump {
		prog, src := c.set.Value(c.dumpProgram)
		if prog == "" {
			p, err := dump.FindTool("mariadb-dump", "mysqldump")
			if err != nil {
				return st, Usagef("no dump program: install mariadb-client or set %s", c.dumpProgram.Name())
			}
			prog = p
		} else if _, err := dump.FindTool(prog); err != nil {
			return st, Usagef("dump program %q from %s not found", prog, src)
		}
		st.Mysqldump = prog
	}
	return st, nil
}

func (c *Common) password() (string, error) {
	if v, src := c.set.Value(c.pwFile); src != "default" {
		return readPassword(v, "--db-password-file")
	}
	value, file := c.set.Getenv("DB_PASSWORD"), c.set.Getenv("DB_PASSWORD_FILE")
	switch {
	case value != "" && file != "":
		return "", Usagef("contradictory password settings: set DB_PASSWORD or DB_PASSWORD_FILE, not both")
	case file != "":
		return readPassword(file, "DB_PASSWORD_FILE")
	}
	return value, nil
}

func readPassword(path, from string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", Usagef("cannot read the password file named by %s: %v", from, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// OpenStore opens the configured remote.
func OpenStore(ctx context.Context, st Settings, log *slog.Logger) (*storage.Store, error) {
	s, err := storage.Open(ctx, st.Remote, log.With("component", "storage"))
	if err != nil {
		return nil, fmt.Errorf("open backup remote: %w", err)
	}
	return s, nil
}

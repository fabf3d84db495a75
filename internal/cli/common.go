package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/rclone/rclone/fs"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/storage"
)

// DefaultLocalRemote is the embedded default remote: a local folder.
const DefaultLocalRemote = "./backups"

// DriveRemoteName is the rclone remote production configures through
// RCLONE_CONFIG_GDRIVE_* variables.
const DriveRemoteName = "gdrive"

// FolderIDEnv holds the ID of the Google Drive backup folder. With it set
// and no --remote, backups go to that folder on the gdrive remote.
const FolderIDEnv = "GDRIVE_BACKUP_FOLDER_ID"

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
		remote:      s.String("remote", []string{"BACKUPD_REMOTE"}, "", "rclone remote or local folder holding the backups (default: the Google Drive folder "+FolderIDEnv+" on remote "+DriveRemoteName+" when that is set, else "+DefaultLocalRemote+")"),
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
	Conn      mariadb.Conn
	Mysqldump string // "" when not needed or not found

	// FolderSource names the setting the remote's Drive folder ID came
	// from, "" when the remote names none.
	FolderSource string
}

// Codec is the name codec for the configured prefix.
func (s Settings) Codec() catalog.Codec { return catalog.Codec{Prefix: s.Prefix} }

// Remote resolves only the remote and prefix, for commands that need no
// database.
//
// Without --remote, GDRIVE_BACKUP_FOLDER_ID selects the Drive folder with
// that ID on the gdrive remote. The ID becomes rclone's root_folder_id: the
// old scripts' "gdrive:<ID>/" named a folder called <ID> instead. A
// configured gdrive remote without a folder ID is an error rather than a
// silent fall back to the local folder.
func (c *Common) Remote() (Settings, error) {
	prefix := c.set.Get(c.prefix)
	if prefix == "" || strings.ContainsAny(prefix, "/\\") {
		return Settings{}, Usagef("invalid prefix %q: set %s to a plain file name prefix", prefix, c.prefix.Name())
	}
	st := Settings{Remote: c.set.Get(c.remote), Prefix: prefix}
	if st.Remote != "" {
		return st, nil
	}
	folder := strings.TrimSpace(c.set.Getenv(FolderIDEnv))
	typeVar := fs.ConfigToEnv(DriveRemoteName, "type")
	configured := c.set.Getenv(typeVar) != ""
	switch {
	case folder != "" && !storage.ValidFolderID(folder):
		return Settings{}, Usagef("%s=%q is not a folder ID: use the last part of the folder's URL, https://drive.google.com/drive/folders/<ID>", FolderIDEnv, folder)
	case folder != "" && !configured:
		return Settings{}, Usagef("%s is set but the %s remote is not configured: set %s=drive and %s", FolderIDEnv, DriveRemoteName, typeVar,
			fs.ConfigToEnv(DriveRemoteName, "service_account_credentials"))
	case folder != "":
		st.Remote, st.FolderSource = storage.DriveRemote(DriveRemoteName, folder), FolderIDEnv
	case configured:
		return Settings{}, Usagef("missing %s: the %s remote is configured (%s) but no backup folder is named; set %s to the ID of the backup folder (the last part of its URL), or pass --remote",
			FolderIDEnv, DriveRemoteName, typeVar, FolderIDEnv)
	default:
		st.Remote = DefaultLocalRemote
	}
	return st, nil
}

// Resolve resolves every shared setting. needDump also finds the dump
// program.
func (c *Common) Resolve(needDump bool) (Settings, error) {
	st, err := c.Remote()
	if err != nil {
		return st, err
	}
	conn := mariadb.Conn{Host: c.set.Get(c.host), Socket: c.set.Get(c.socket)}
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
	AddSecret(conn.Password)
	st.Conn = conn
	if needDump {
		prog, src := c.set.Value(c.dumpProgram)
		if prog == "" {
			p, err := mariadb.FindTool("mariadb-dump", "mysqldump")
			if err != nil {
				return st, Usagef("no dump program: install mariadb-client or set %s", c.dumpProgram.Name())
			}
			prog = p
		} else if _, err := mariadb.FindTool(prog); err != nil {
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

// OpenStore opens the configured remote. It first logs a warning for each
// RCLONE_* variable that weakens security (see RcloneWarnings).
func OpenStore(ctx context.Context, st Settings, log *slog.Logger) (*storage.Store, error) {
	AddRcloneSecrets(os.Environ())
	WarnRcloneEnv(log, os.Environ())
	var opts []storage.OpenOption
	if st.FolderSource != "" {
		opts = append(opts, storage.FolderSource(st.FolderSource))
	}
	s, err := storage.Open(ctx, st.Remote, log.With("component", "storage"), opts...)
	if err != nil {
		return nil, fmt.Errorf("open backup remote: %w", err)
	}
	return s, nil
}

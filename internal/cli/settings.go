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
	"github.com/backupd/backupd/pkg/dump"
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

// RemoteFlags are the settings of where backups live.
type RemoteFlags struct {
	Remote string `help:"rclone remote (name:path) or local folder holding the backups; when unset, the Google Drive folder GDRIVE_BACKUP_FOLDER_ID on remote gdrive if that is set, else ./backups" env:"BACKUPD_REMOTE"`
	Prefix string `help:"backup file name prefix" default:"${prefix}" env:"BACKUPD_PREFIX"`
}

// DatabaseFlags are the settings of how to reach the database.
type DatabaseFlags struct {
	Host         string `name:"db-host" help:"database host" default:"127.0.0.1" env:"DB_HOST"`
	Port         int    `name:"db-port" help:"database port, 1 to 65535" default:"3306" env:"DB_PORT"`
	Socket       string `name:"db-socket" help:"database unix socket, instead of host and port" env:"DB_SOCKET"`
	Name         string `name:"db-name" help:"database name, required" env:"DB_DATABASE"`
	User         string `name:"db-user" help:"database user, required" env:"DB_USERNAME"`
	PasswordFile string `name:"db-password-file" help:"file holding the database password; DB_PASSWORD holds the password itself (set one of the two)" env:"DB_PASSWORD_FILE"`
	TLS          string `name:"db-tls" help:"TLS to the database over TCP: prefer (encrypted when the server offers it, certificate not checked), require (encrypted, not checked), verify (encrypted, certificate and host name checked against --db-tls-ca or the system's roots) or off" default:"prefer" env:"DB_TLS"`
	TLSCA        string `name:"db-tls-ca" help:"file of the CA certificate(s) that signed the database's certificate, for --db-tls=verify" env:"DB_TLS_CA"`
}

// DumpFlags are the settings of the dump program.
type DumpFlags struct {
	Mysqldump        string `name:"mysqldump" help:"dump program; when unset, mariadb-dump, else mysqldump, found in PATH" env:"BACKUPD_MYSQLDUMP"`
	MaxAllowedPacket string `name:"max-allowed-packet" help:"largest row the dump program accepts (its --max-allowed-packet), 4K to 1G" default:"1G" env:"BACKUPD_MAX_ALLOWED_PACKET"`
}

// Common are the settings of a command that dumps the database: where
// backups live, the database and the dump program.
type Common struct {
	Remote   RemoteFlags   `embed:""`
	Database DatabaseFlags `embed:""`
	Dump     DumpFlags     `embed:""`
}

// Resolve resolves every setting of c, recording what is wrong in p.
func (c *Common) Resolve(p *Problems) Settings {
	st := c.Remote.Resolve(p)
	st.Conn = c.Database.Resolve(p)
	st.Mysqldump = c.Dump.Resolve(p)
	st.MaxAllowedPacket = c.Dump.Packet(p)
	return st
}

// Settings are the resolved shared settings.
type Settings struct {
	Remote    string
	Prefix    string
	Conn      mariadb.Conn
	Mysqldump string // "" when not needed
	// MaxAllowedPacket is the dump program's --max-allowed-packet in bytes.
	MaxAllowedPacket int64

	// FolderSource names the setting the remote's Drive folder ID came
	// from, "" when the remote names none.
	FolderSource string
}

// Codec is the name codec for the configured prefix.
func (s Settings) Codec() catalog.Codec { return catalog.Codec{Prefix: s.Prefix} }

// Resolve resolves the remote and prefix, recording what is wrong in p.
//
// Without --remote, GDRIVE_BACKUP_FOLDER_ID selects the Drive folder with
// that ID on the gdrive remote. The ID becomes rclone's root_folder_id: the
// old scripts' "gdrive:<ID>/" named a folder called <ID> instead. A
// configured gdrive remote without a folder ID is an error rather than a
// silent fall back to the local folder.
func (r *RemoteFlags) Resolve(p *Problems) Settings {
	st := Settings{Remote: r.Remote, Prefix: r.Prefix}
	if r.Prefix == "" || strings.ContainsAny(r.Prefix, "/\\") {
		p.Addf("invalid prefix %q: set %s to a plain file name prefix", r.Prefix, p.Name("prefix"))
	}
	if st.Remote != "" {
		return st
	}
	folder := strings.TrimSpace(p.Getenv(FolderIDEnv))
	typeVar := fs.ConfigToEnv(DriveRemoteName, "type")
	configured := p.Getenv(typeVar) != ""
	switch {
	case folder != "" && !storage.ValidFolderID(folder):
		p.Addf("%s=%q is not a folder ID: use the last part of the folder's URL, https://drive.google.com/drive/folders/<ID>", FolderIDEnv, folder)
	case folder != "" && !configured:
		p.Addf("%s is set but the %s remote is not configured: set %s=drive and %s", FolderIDEnv, DriveRemoteName, typeVar,
			fs.ConfigToEnv(DriveRemoteName, "service_account_credentials"))
	case folder != "":
		st.Remote, st.FolderSource = storage.DriveRemote(DriveRemoteName, folder), FolderIDEnv
	case configured:
		p.Addf("missing %s: the %s remote is configured (%s) but no backup folder is named; set %s to the ID of the backup folder (the last part of its URL), or pass --remote",
			FolderIDEnv, DriveRemoteName, typeVar, FolderIDEnv)
	default:
		st.Remote = DefaultLocalRemote
	}
	return st
}

// Resolve returns the connection settings, password included, recording
// what is missing or wrong in p. The password is registered with
// AddSecret.
func (d *DatabaseFlags) Resolve(p *Problems) mariadb.Conn {
	conn := mariadb.Conn{Host: d.Host, Port: d.Port, Socket: d.Socket, Database: d.Name, User: d.User}
	if d.Port < 1 || d.Port > 65535 {
		p.Invalid("db-port", d.Port, "want a whole number from 1 to 65535")
	}
	if d.Name == "" {
		p.Missing("db-name", "database name")
	}
	if d.User == "" {
		p.Missing("db-user", "database user")
	}
	conn.Password = d.password(p)
	AddSecret(conn.Password)
	mode, err := mariadb.ParseTLSMode(d.TLS)
	if err != nil {
		p.Invalid("db-tls", d.TLS, "want prefer, require, verify or off")
	}
	conn.TLS = mode
	if d.TLSCA != "" {
		if mode != mariadb.TLSVerify {
			p.Addf("%s is set but %s is %q: the CA is used only with verify", p.Name("db-tls-ca"), p.Name("db-tls"), d.TLS)
		} else if _, err := os.Stat(d.TLSCA); err != nil {
			p.Addf("cannot read the CA file named by %s: %v", p.Source("db-tls-ca"), err)
		}
		conn.TLSCA = d.TLSCA
	}
	return conn
}

// password reads --db-password-file when given; else DB_PASSWORD holds the
// value and DB_PASSWORD_FILE names a file, and setting both is an error.
func (d *DatabaseFlags) password(p *Problems) string {
	if p.FromFlag("db-password-file") {
		return readPassword(p, d.PasswordFile, "--db-password-file")
	}
	value, file := p.Getenv("DB_PASSWORD"), p.Getenv("DB_PASSWORD_FILE")
	switch {
	case value != "" && file != "":
		p.Addf("contradictory password settings: set DB_PASSWORD or DB_PASSWORD_FILE, not both")
		return ""
	case file != "":
		return readPassword(p, file, "DB_PASSWORD_FILE")
	}
	return value
}

func readPassword(p *Problems, path, from string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		p.Addf("cannot read the password file named by %s: %v", from, err)
		return ""
	}
	return strings.TrimRight(string(b), "\r\n")
}

// Resolve finds the dump program, recording in p when there is none.
func (d *DumpFlags) Resolve(p *Problems) string {
	if d.Mysqldump == "" {
		prog, err := mariadb.FindTool("mariadb-dump", "mysqldump")
		if err != nil {
			p.Addf("no dump program: install mariadb-client or set %s", p.Name("mysqldump"))
		}
		return prog
	}
	if _, err := mariadb.FindTool(d.Mysqldump); err != nil {
		p.Addf("dump program %q from %s not found", d.Mysqldump, p.Source("mysqldump"))
	}
	return d.Mysqldump
}

// Packet parses the dump program's max-allowed-packet, recording in p when
// it is not a size from 4K to 1G.
func (d *DumpFlags) Packet(p *Problems) int64 {
	n, err := dump.ParseSize(d.MaxAllowedPacket)
	if err == nil && (n < dump.MinMaxAllowedPacket || n > dump.MaxMaxAllowedPacket) {
		err = fmt.Errorf("want 4K to 1G")
	}
	if err != nil {
		p.Addf("invalid max-allowed-packet=%q from %s: %v", d.MaxAllowedPacket, p.Source("max-allowed-packet"), err)
		return 0
	}
	return n
}

// OpenStore opens the configured remote. It first logs a warning for each
// RCLONE_* variable that weakens security (see RcloneWarnings).
func OpenStore(ctx context.Context, st Settings, log *slog.Logger) (*storage.Store, error) {
	var opts []storage.OpenOption
	if st.FolderSource != "" {
		opts = append(opts, storage.FolderSource(st.FolderSource))
	}
	return OpenRemote(ctx, st.Remote, log, opts...)
}

// OpenRemote opens any remote: a configured rclone remote, a local folder,
// or the S3 shortcut "tigris:" (storage.TigrisRemoteName) when AWS_BUCKET
// and the other AWS_* variables name the app's bucket. It registers the
// secrets it finds in the environment with AddSecret and logs the insecure
// rclone settings (see RcloneWarnings).
func OpenRemote(ctx context.Context, remote string, log *slog.Logger, opts ...storage.OpenOption) (*storage.Store, error) {
	AddRcloneSecrets(os.Environ())
	AddSecret(os.Getenv(storage.EnvS3SecretKey))
	WarnRcloneEnv(log, os.Environ())
	if s3, ok := storage.S3FromEnv(os.Getenv); ok {
		opts = append(opts, storage.WithS3(s3))
	}
	// storage.Open's errors say "open remote ..." already.
	return storage.Open(ctx, remote, log.With("component", "storage"), opts...)
}

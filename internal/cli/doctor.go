package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/sqltext"
	"github.com/backupd/backupd/pkg/storage"
)

// Status is the outcome of one doctor check.
type Status string

// The outcomes of a check. Only Fail makes the doctor fail.
const (
	OK   Status = "ok"
	Warn Status = "WARN"
	Fail Status = "FAIL"
)

// Check is one line of the doctor's report.
type Check struct {
	Status Status
	Name   string
	Detail string
}

// String formats the check as the doctor prints it: status, name, detail.
func (c Check) String() string { return fmt.Sprintf("%-4s  %-13s %s", c.Status, c.Name, c.Detail) }

// ProbeMetaKey is the metadata key the doctor's probe file carries.
const ProbeMetaKey = "backupd-probe"

// DoctorTimeout bounds the database check.
var DoctorTimeout = time.Minute

// Doctor checks a configuration without taking a backup: the rclone
// environment, the remote, for Google Drive the service-account key, the
// token, the Shared Drive and the folder, then that the folder is writable
// (a probe file is created, listed and deleted), the dump tool and the
// database. It reports each check as it completes and stops a line of
// checks at the first failure that makes the rest meaningless. It never
// prints a secret.
//
// The settings come from c, resolved through p: a problem with the
// settings is reported as a failed "settings" check, and the checks that
// need them are skipped. Doctor returns a UsageError when any setting was
// missing or bad, so that the command exits with ExitUsage. It changes
// nothing: a local folder that does not exist yet is not created (the
// first backup creates it), and the write probe is deleted.
func Doctor(ctx context.Context, p *Problems, c *Common, log *slog.Logger, report func(Check)) error {
	var bad []string
	settings := func(err error) {
		report(Check{Fail, "settings", err.Error()})
		bad = append(bad, err.Error())
	}
	warnings := RcloneWarnings(os.Environ())
	for _, w := range warnings {
		report(Check{Warn, "rclone env", w})
	}
	if len(warnings) == 0 {
		report(Check{OK, "rclone env", "no RCLONE_* setting weakens security"})
	}
	pr := p.Fresh()
	if st := c.Remote.Resolve(pr); pr.Err() != nil {
		settings(pr.Err())
	} else if err := doctorRemote(ctx, st, log, report); err != nil {
		settings(err)
	}
	if err := doctorDatabase(ctx, p.Fresh(), c, report); err != nil {
		settings(err)
	}
	if len(bad) > 0 {
		return &UsageError{Msg: "the settings are incomplete or wrong: " + strings.Join(bad, "; ")}
	}
	return nil
}

// doctorRemote checks the remote; it returns the remote's settings error,
// if any, unreported.
func doctorRemote(ctx context.Context, st Settings, log *slog.Logger, report func(Check)) error {
	d, isDrive, err := storage.ReadDriveSettings(st.Remote)
	var se *storage.SettingError
	if errors.As(err, &se) {
		return err
	}
	if err != nil {
		report(Check{Fail, "remote", fmt.Sprintf("%s: %v", st.Remote, err)})
		return nil
	}
	if !isDrive {
		report(Check{OK, "remote", st.Remote})
	} else {
		d.FolderSource = st.FolderSource
		desc := fmt.Sprintf("Google Drive remote %s", d.Name)
		if d.RootFolderID != "" {
			src := d.FolderSource
			if src == "" {
				src = d.Var("root_folder_id")
			}
			desc += fmt.Sprintf(", folder %s (from %s)", d.RootFolderID, src)
		}
		report(Check{OK, "remote", desc})
		if !doctorDrive(ctx, d, report) {
			return nil
		}
	}
	return doctorWrite(ctx, st, log, report)
}

// doctorDrive checks what rclone does not show: the key, the token, the
// Shared Drive and the folder. It reports false when writing cannot work.
func doctorDrive(ctx context.Context, d storage.DriveSettings, report func(Check)) bool {
	sa, err := d.ServiceAccount()
	if err != nil {
		report(Check{Fail, "credentials", err.Error()})
		return false
	}
	report(Check{OK, "credentials", fmt.Sprintf("service account %s (project %s); the key parses", sa.Email, sa.Project)})
	client, err := d.Client(ctx)
	if err != nil {
		report(Check{Fail, "token", err.Error()})
		return false
	}
	exp, err := client.Token(ctx)
	if err != nil {
		report(Check{Fail, "token", err.Error()})
		return false
	}
	report(Check{OK, "token", fmt.Sprintf("access token fetched from %s, valid until %s", sa.TokenURI, exp.UTC().Format("15:04 UTC"))})

	ok := true
	if d.TeamDrive == "" {
		report(Check{Warn, "shared drive", fmt.Sprintf("none set (%s): the service account writes to a My Drive, limited to a 15 GB quota (new service accounts get none); use a Shared Drive",
			d.Var("team_drive"))})
	} else if sd, err := client.SharedDrive(ctx, d.TeamDrive); err != nil {
		report(Check{Fail, "shared drive", err.Error()})
		ok = false
	} else if !sd.CanAdd {
		report(Check{Fail, "shared drive", fmt.Sprintf("%q (%s): %s may not add files there: give it the Content manager role",
			sd.Name, sd.ID, sa.Email)})
		ok = false
	} else if !d.MayDelete(sd.CanTrash, sd.CanDelete) {
		report(Check{Fail, "shared drive", fmt.Sprintf("%q (%s): %s", sd.Name, sd.ID, d.DeleteFix(sa.Email))})
		ok = false
	} else {
		report(Check{OK, "shared drive", fmt.Sprintf("%q (%s): %s may add and delete files", sd.Name, sd.ID, sa.Email)})
	}

	if d.RootFolderID == "" {
		report(Check{Warn, "folder", fmt.Sprintf("no folder ID: backups go to the root of remote %s", d.Name)})
		return ok
	}
	f, err := client.Folder(ctx, d.RootFolderID)
	switch {
	case err != nil:
		report(Check{Fail, "folder", err.Error()})
		return false
	case !f.IsFolder:
		report(Check{Fail, "folder", fmt.Sprintf("%s (%q) is a file, not a folder: check the ID", f.ID, f.Name)})
		return false
	case f.Trashed:
		report(Check{Fail, "folder", fmt.Sprintf("%q (%s) is in the trash: restore it", f.Name, f.ID)})
		return false
	case d.TeamDrive != "" && f.DriveID != d.TeamDrive:
		where := "a My Drive"
		if f.DriveID != "" {
			where = "Shared Drive " + f.DriveID
		}
		report(Check{Fail, "folder", fmt.Sprintf("%q (%s) is in %s, not in the Shared Drive %s named by %s: fix one of the two IDs",
			f.Name, f.ID, where, d.TeamDrive, d.Var("team_drive"))})
		return false
	case !f.CanAdd:
		report(Check{Fail, "folder", fmt.Sprintf("%q (%s): %s may not add files in it: give it the Content manager role", f.Name, f.ID, sa.Email)})
		return false
	case f.DriveID != "" && !d.MayDelete(f.CanTrash, f.CanDelete):
		report(Check{Fail, "folder", fmt.Sprintf("%q (%s): %s", f.Name, f.ID, d.DeleteFix(sa.Email))})
		return false
	case f.DriveID == "":
		report(Check{Warn, "folder", fmt.Sprintf("%q (%s) is in a My Drive: the service account's files count against its own quota (15 GB, none for new accounts); move the folder to a Shared Drive",
			f.Name, f.ID)})
	default:
		report(Check{OK, "folder", fmt.Sprintf("%q (%s) in Shared Drive %s", f.Name, f.ID, f.DriveID)})
	}
	if f.DriveID != "" {
		// The old script's "gdrive:<ID>/" made a folder named after the ID
		// at the drive's root and put the backups there.
		ids, err := client.FoldersNamed(ctx, f.DriveID, f.DriveID, d.RootFolderID)
		switch {
		case err != nil:
			report(Check{Warn, "old folder", fmt.Sprintf("could not look for a folder named %s: %v", d.RootFolderID, err)})
		case len(ids) > 0:
			report(Check{Warn, "old folder", fmt.Sprintf("the Shared Drive's root holds a folder named %s (%s): the old script's gdrive:%s/ wrote backups there, not into the folder with that ID; move them into %q to keep them under retention",
				d.RootFolderID, strings.Join(ids, ", "), d.RootFolderID, f.Name)})
		default:
			report(Check{OK, "old folder", fmt.Sprintf("no folder named %s at the Shared Drive's root", d.RootFolderID)})
		}
	}
	return ok
}

// doctorWrite creates, lists and deletes a probe file through the same
// code that stores backups. It returns the remote's settings error, if
// any, unreported.
func doctorWrite(ctx context.Context, st Settings, log *slog.Logger, report func(Check)) error {
	store, err := OpenStore(ctx, st, log)
	var se *storage.SettingError
	if errors.As(err, &se) {
		return err
	}
	if err != nil {
		report(Check{Fail, "write", err.Error()})
		return nil
	}
	if err := store.CheckFolder(ctx); errors.Is(err, storage.ErrNoFolder) && store.Fs().Features().IsLocal {
		// Creating it here would be a side effect of a check.
		report(Check{Warn, "write", fmt.Sprintf("%s does not exist yet: the first backup creates it (mode 0700); not probed", store)})
		return nil
	}
	name := fmt.Sprintf("backupd-doctor-%d.probe", time.Now().UnixNano())
	meta := map[string]string{ProbeMetaKey: "1"}
	if _, err := store.Put(ctx, name, strings.NewReader("backupd doctor probe\n"), func() (map[string]string, error) { return meta, nil }); err != nil {
		report(Check{Fail, "write", fmt.Sprintf("cannot create a file in %s: %v", store, err)})
		return nil
	}
	entries, err := store.List(ctx)
	listed, withMeta := false, false
	for _, e := range entries {
		if e.Name == name {
			listed, withMeta = true, e.Meta[ProbeMetaKey] == "1"
		}
	}
	delErr := store.Delete(ctx, name)
	switch {
	case err != nil:
		report(Check{Fail, "write", fmt.Sprintf("created %s but cannot list %s: %v", name, store, err)})
	case !listed:
		report(Check{Fail, "write", fmt.Sprintf("created %s but it is not listed in %s", name, store)})
	case !withMeta && store.Fs().Features().UserMetadata:
		report(Check{Fail, "write", fmt.Sprintf("created %s but its metadata did not come back: backups would have no recorded checksum", name)})
	case delErr != nil:
		report(Check{Fail, "write", fmt.Sprintf("created and listed %s but cannot delete it (delete it by hand): %v", name, delErr)})
	default:
		report(Check{OK, "write", fmt.Sprintf("created, listed and deleted %s in %s", name, store)})
	}
	return nil
}

// doctorDatabase finds the dump tool, connects to the server as a backup
// does (saying how the connection is encrypted), has the tool dump the
// schema with the same options as a backup, and reads that schema through
// the restore's statement gate. It returns the database settings'
// problems, if any, unreported.
func doctorDatabase(ctx context.Context, p *Problems, c *Common, report func(Check)) error {
	st := Settings{Conn: c.Database.Resolve(p), Mysqldump: c.Dump.Resolve(p), MaxAllowedPacket: c.Dump.Packet(p)}
	if err := p.Err(); err != nil {
		return err
	}
	tool, err := mariadb.ToolVersion(ctx, st.Mysqldump)
	switch {
	case err != nil && tool.Line == "":
		report(Check{Fail, "dump tool", err.Error()})
		return nil
	case err != nil:
		report(Check{Warn, "dump tool", fmt.Sprintf("%s (%s): not a mysqldump or mariadb-dump version line; backups run without the options a tool and server pairing may need", st.Mysqldump, tool.Line)})
	default:
		report(Check{OK, "dump tool", fmt.Sprintf("%s (%s: %s)", st.Mysqldump, tool, tool.Line)})
	}

	ctx, cancel := context.WithTimeout(ctx, DoctorTimeout)
	defer cancel()
	d := &dump.Dumper{Program: st.Mysqldump, Conn: st.Conn, MaxAllowedPacket: st.MaxAllowedPacket}
	sc, err := d.CheckSchema(ctx)
	srv := sc.Pairing.Server
	if srv.Version == "" {
		detail := DatabaseHint(p, st.Conn, err).Error()
		if !strings.Contains(detail, st.Conn.String()) {
			detail = st.Conn.String() + ": " + detail
		}
		report(Check{Fail, "database", detail})
		return nil
	}
	detail := fmt.Sprintf("%s: %s (version %s, %s), %s", st.Conn, dump.Source(srv), srv.Version, srv.Comment, dump.TLSState(st.Conn, srv))
	if srv.GTIDMode != "" {
		detail += ", gtid_mode " + srv.GTIDMode
	}
	report(Check{OK, "server", detail})
	if pair := sc.Pairing.Flags; len(pair) > 0 {
		report(Check{OK, "dump options", fmt.Sprintf("%s against %s: backups add %s", sc.Pairing.Tool, dump.Source(srv), strings.Join(pair, " "))})
	}
	if sc.Gap != nil {
		report(Check{Fail, "objects", sc.Gap.Error()})
	}
	if err != nil {
		var te *mariadb.ToolError
		if errors.Is(ctx.Err(), context.DeadlineExceeded) || !errors.As(err, &te) || te.Stderr == "" {
			report(Check{Fail, "database", fmt.Sprintf("%s: schema dump failed: %v", st.Conn, DatabaseHint(p, st.Conn, err))})
		} else {
			report(Check{Fail, "database", fmt.Sprintf("%s: schema dump failed: %s", st.Conn, DatabaseHint(p, st.Conn, te))})
		}
		return nil
	}
	report(Check{OK, "database", fmt.Sprintf("%s: schema dumped (%d bytes)", st.Conn, sc.Bytes)})
	if sc.Gap == nil {
		report(Check{OK, "objects", fmt.Sprintf("the schema dump holds all that %s sees of the database, and it sees all of it: %s", sc.Inventory.Account, sc.Dumped)})
	}
	if sc.Refused != nil {
		report(Check{Fail, "restore", fmt.Sprintf("the restore would refuse line %d of the schema: %s: %s %s (%s against %s; see docs/statement-gate.md)",
			sc.Refused.Line, sc.Refused.Kind, sc.Refused.Reason, sc.Refused.Prefix, sc.Pairing.Tool, dump.Source(srv))})
		return nil
	}
	report(Check{OK, "restore", fmt.Sprintf("the restore's gate (as MariaDB %d.%d) lets the whole schema through: %d statements",
		dump.RestoreServer.N/10000, dump.RestoreServer.N/100%100, sc.Statements)})
	return nil
}

// DatabaseHint adds to a failed connection or dump the settings to check:
// the user and password when the server refused the login, the database
// name, the host and port when it could not be reached, and the TLS
// settings when its certificate was not accepted or it offers no TLS.
func DatabaseHint(p *Problems, conn mariadb.Conn, err error) error {
	mode := conn.TLS
	if mode == "" {
		mode = mariadb.TLSPrefer
	}
	switch code := mariadb.Code(err); {
	case err == nil:
		return nil
	case mariadb.IsCertificateError(err):
		return fmt.Errorf("%w (the server's certificate was not accepted under %s=%s: give the CA that signed it in %s, or set %s=require to encrypt without checking the certificate)",
			err, p.Name("db-tls"), mode, p.Name("db-tls-ca"), p.Name("db-tls"))
	case mariadb.IsNoTLSError(err):
		return fmt.Errorf("%w (the server offers no TLS and %s=%s requires it: configure TLS on the server, or set %s=prefer)",
			err, p.Name("db-tls"), mode, p.Name("db-tls"))
	case code == mariadb.ErDBAccessDenied:
		// The login worked: the name is wrong, or the account has no
		// grant on it.
		return fmt.Errorf("%w (the account logged in but may not use database %q: check the name in %s, or grant it the dump's privileges: %s; see docs/mysql.md#privileges)",
			err, conn.Database, p.Name("db-name"), dumpGrant(conn, err))
	case code == mariadb.ErAccessDenied:
		return fmt.Errorf("%w (check %s, and the password in DB_PASSWORD or %s)", err, p.Name("db-user"), p.Name("db-password-file"))
	case code == mariadb.ErBadDB:
		return fmt.Errorf("%w (check %s)", err, p.Name("db-name"))
	case code >= 2000 && code < 3000, isNetError(err):
		return fmt.Errorf("%w (check %s and %s, or %s)", err, p.Name("db-host"), p.Name("db-port"), p.Name("db-socket"))
	}
	return err
}

// deniedAccount finds the account a server's "Access denied for user
// 'u'@'h'" names.
var deniedAccount = regexp.MustCompile(`for user '([^']*)'@'([^']*)'`)

// dumpGrant is the GRANT that gives the dump account what a backup needs
// on conn's database, naming the account as the server did.
func dumpGrant(conn mariadb.Conn, err error) string {
	account := fmt.Sprintf("'%s'@'%%'", conn.User)
	if m := deniedAccount.FindStringSubmatch(err.Error()); m != nil {
		account = fmt.Sprintf("'%s'@'%s'", m[1], m[2])
	}
	return fmt.Sprintf("GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON %s.* TO %s", sqltext.Ident(conn.Database), account)
}

// isNetError reports whether err is the Go driver's failure to reach the
// server (refused, timed out, no such host).
func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rclone/rclone/fs"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/internal/fakedrive"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
)

// driveResult is what one run of backupd left behind.
type driveResult struct {
	code           int
	stdout, stderr string
}

// driveRun runs backupd as main does, with the process environment.
func driveRun(t *testing.T, args ...string) driveResult {
	t.Helper()
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("BACKUPD_LOCK_FILE") == "" {
		t.Setenv("BACKUPD_LOCK_FILE", filepath.Join(dir, "backupd.lock"))
	}
	a := &app{stdout: out, stderr: errf, getenv: os.Getenv}
	code := a.main(args)
	out.Close()
	errf.Close()
	o, _ := os.ReadFile(out.Name())
	e, _ := os.ReadFile(errf.Name())
	return driveResult{code: code, stdout: string(o), stderr: string(e)}
}

const drivePassword = "Pw-for-the-drive-test-9"

// driveProduction sets up the production environment against a fake
// Drive and a real database loaded with the fixture: the variables the
// old scripts used, nothing more (plus test tuning for rclone).
func driveProduction(t *testing.T) (*fakedrive.Production, *testdb.Server, string) {
	t.Helper()
	srv := testdb.Get(t)
	db := srv.NewDatabase(t, "drive")
	srv.LoadFile(t, db, "../../testdata/fixture.sql")
	user := srv.NewUser(t, db, drivePassword)
	// The fixture's routines are defined by root; production's belong to
	// the app user, who may show them. This grant stands in for that.
	srv.Exec(t, "", fmt.Sprintf("GRANT SELECT ON mysql.proc TO '%s'@'localhost', '%s'@'127.0.0.1'", user, user))
	p := fakedrive.NewProduction(t)
	p.Setenv(t)
	p.ConfigureGlobal(t)
	if srv.Port != 0 {
		t.Setenv("DB_HOST", "127.0.0.1")
		t.Setenv("DB_PORT", strconv.Itoa(srv.Port))
	} else {
		t.Setenv("DB_SOCKET", srv.Socket)
	}
	t.Setenv("DB_DATABASE", db)
	t.Setenv("DB_USERNAME", user)
	t.Setenv("DB_PASSWORD", drivePassword)
	for _, k := range []string{"BACKUPD_REMOTE", "BACKUPD_PREFIX", "DB_PASSWORD_FILE", "BACKUPD_MYSQLDUMP"} {
		t.Setenv(k, "")
	}
	return p, srv, db
}

// assertNoSecrets checks that nothing secret reached the output.
func assertNoSecrets(t *testing.T, p *fakedrive.Production, texts ...string) {
	t.Helper()
	body := p.Account.PrivateKey
	body = body[strings.Index(body, "\n")+1:]
	secrets := map[string]string{
		"private key":        body[:40],
		"private key (JSON)": strings.ReplaceAll(body[:80], "\n", `\n`),
		"private key id":     p.Account.KeyID,
		"database password":  drivePassword,
	}
	for i, tok := range p.Tokens() {
		secrets["access token "+strconv.Itoa(i)] = tok
		secrets["access token body "+strconv.Itoa(i)] = strings.TrimPrefix(tok, "ya29.")
	}
	if len(p.Tokens()) == 0 {
		t.Error("the fake issued no token: the run never authenticated")
	}
	for _, text := range texts {
		for what, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("output contains the %s", what)
			}
		}
		if strings.Contains(text, "BEGIN PRIVATE KEY") {
			t.Error("output contains a PEM private key")
		}
	}
}

// TestNowProductionEnv takes a backup through the real "backupd now" path
// with the production environment and no flags, into the fake Drive, at
// rclone's most verbose logging, and checks the stored backup and that no
// secret reached the output.
func TestNowProductionEnv(t *testing.T) {
	p, _, _ := driveProduction(t)
	ci := fs.GetConfig(context.Background())
	level := ci.LogLevel
	ci.LogLevel = fs.LogLevelDebug
	t.Cleanup(func() { ci.LogLevel = level })

	r := driveRun(t, "now", "--debug")
	if r.code != 0 {
		t.Fatalf("backupd now exited %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	files := p.Children(p.FolderID)
	if len(files) != 1 {
		t.Fatalf("the backup folder holds %d files, want 1: %+v", len(files), files)
	}
	f := files[0]
	b, ok := catalog.Codec{}.Parse(f.Name)
	if !ok || b.Partial || b.Format != catalog.Zstd || f.Trashed {
		t.Fatalf("stored %q (trashed=%v), want a published zstd backup", f.Name, f.Trashed)
	}
	if !strings.Contains(r.stdout, "backup "+f.Name) {
		t.Errorf("stdout does not report %s:\n%s", f.Name, r.stdout)
	}
	sum := sha256.Sum256(f.Data)
	if got, want := f.Properties[catalog.MetaSHA256], hex.EncodeToString(sum[:]); got != want {
		t.Errorf("property %s = %q, want the stored bytes' %q", catalog.MetaSHA256, got, want)
	}
	if got, want := f.Properties[catalog.MetaVersion], catalog.FormatVersion; got != want {
		t.Errorf("property %s = %q, want %q", catalog.MetaVersion, got, want)
	}
	res, err := dump.Check(bytes.NewReader(f.Data), nil)
	if err != nil {
		t.Fatalf("stored backup does not check: %v", err)
	}
	if got, want := f.Properties[catalog.MetaRawSize], strconv.FormatInt(res.RawBytes, 10); got != want {
		t.Errorf("property %s = %q, want %q", catalog.MetaRawSize, got, want)
	}
	if !strings.Contains(r.stdout, hex.EncodeToString(sum[:])) {
		t.Errorf("stdout does not show the sha256:\n%s", r.stdout)
	}
	for _, c := range p.Connects() {
		if host, _, _ := strings.Cut(c, ":"); !strings.HasSuffix(host, ".googleapis.com") {
			t.Errorf("backupd connected to %s", c)
		}
	}
	if !strings.Contains(r.stderr, `"component":"rclone"`) {
		t.Errorf("no rclone log lines captured, so the secrets check saw none:\n%s", r.stderr)
	}
	assertNoSecrets(t, p, r.stdout, r.stderr)
}

// TestNowRedactsDumpedTraffic turns on rclone's HTTP dumps, headers and
// auth included, as RCLONE_DUMP would: tokens go through the log handler
// and must come out redacted, and backupd warns about the setting.
func TestNowRedactsDumpedTraffic(t *testing.T) {
	p, _, _ := driveProduction(t)
	ci := fs.GetConfig(context.Background())
	level, dumpFlags := ci.LogLevel, ci.Dump
	ci.LogLevel, ci.Dump = fs.LogLevelDebug, fs.DumpHeaders|fs.DumpAuth|fs.DumpRequests|fs.DumpResponses
	t.Cleanup(func() { ci.LogLevel, ci.Dump = level, dumpFlags })
	t.Setenv("RCLONE_DUMP", "headers,auth")

	r := driveRun(t, "now", "--debug")
	if r.code != 0 {
		t.Fatalf("backupd now exited %d\nstderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "Authorization: Bearer") && !strings.Contains(r.stderr, "Authorization: <redacted>") {
		t.Fatalf("the dump did not reach the log, so redaction was not tested:\n%.3000s", r.stderr)
	}
	if !strings.Contains(r.stderr, "RCLONE_DUMP=headers,auth") {
		t.Errorf("no warning about RCLONE_DUMP in the log")
	}
	assertNoSecrets(t, p, r.stdout, r.stderr)
}

// TestNowMidUploadFailure makes Drive refuse a chunk half way through a
// multi-chunk upload of a real dump: backupd fails, and nothing appears
// under a backup name.
func TestNowMidUploadFailure(t *testing.T) {
	p, srv, db := driveProduction(t)
	// About 2 MB of random bytes: the compressed dump spans many chunks.
	srv.Exec(t, db, "CREATE TABLE noise (b BLOB); INSERT INTO noise SELECT RANDOM_BYTES(1024) FROM seq_1_to_2000")
	p.SetFault(fakedrive.Times(1, fakedrive.Chunk(3), fakedrive.BadRequest("Invalid upload request.")))
	r := driveRun(t, "now")
	if r.code != cli.ExitFailure {
		t.Fatalf("backupd now exited %d, want %d\nstderr:\n%s", r.code, cli.ExitFailure, r.stderr)
	}
	if !strings.Contains(r.stderr, "Invalid upload request") {
		t.Errorf("the error does not say what Drive refused:\n%s", r.stderr)
	}
	if got := p.Count(fakedrive.OpUploadChunk); got != 3 {
		t.Errorf("%d chunk requests, want 3 (two good, one refused, no retry)", got)
	}
	for _, f := range p.Children(p.FolderID) {
		if b, ok := (catalog.Codec{}).Parse(f.Name); ok && !b.Partial {
			t.Errorf("%s exists after the failed upload", f.Name)
		}
		if !f.Trashed {
			t.Errorf("%s left visible after the failed upload", f.Name)
		}
	}
}

// TestNowTransientFailure injects what Google asks clients to retry into
// a real backup: it must succeed.
func TestNowTransientFailure(t *testing.T) {
	p, srv, db := driveProduction(t)
	srv.Exec(t, db, "CREATE TABLE noise (b BLOB); INSERT INTO noise SELECT RANDOM_BYTES(1024) FROM seq_1_to_1000")
	var faults []func(fakedrive.Call) *fakedrive.Fault
	faults = append(faults,
		fakedrive.Times(1, fakedrive.Chunk(2), fakedrive.ServerError(503)),
		fakedrive.Times(1, fakedrive.Chunk(4), fakedrive.DropConnection()),
		fakedrive.Times(1, fakedrive.Op(fakedrive.OpFilesUpdate), fakedrive.RateLimited()),
	)
	p.SetFault(func(c fakedrive.Call) *fakedrive.Fault {
		for _, f := range faults {
			if x := f(c); x != nil {
				return x
			}
		}
		return nil
	})
	r := driveRun(t, "now")
	if r.code != 0 {
		t.Fatalf("backupd now exited %d\nstderr:\n%s", r.code, r.stderr)
	}
	var published []string
	for _, f := range p.Children(p.FolderID) {
		if !f.Trashed {
			published = append(published, f.Name)
			if _, err := dump.Check(bytes.NewReader(f.Data), nil); err != nil {
				t.Errorf("%s does not check: %v", f.Name, err)
			}
		}
	}
	if len(published) != 1 || !strings.HasSuffix(published[0], ".sql.zst") {
		t.Errorf("published %v, want one backup", published)
	}
}

// TestNowConfigurationErrors checks the messages for a wrong production
// configuration: they name what to fix, and nothing is dumped.
func TestNowConfigurationErrors(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, p *fakedrive.Production)
		code  int
		want  []string
	}{
		{
			name:  "folder ID missing",
			setup: func(t *testing.T, p *fakedrive.Production) { t.Setenv("GDRIVE_BACKUP_FOLDER_ID", "") },
			code:  cli.ExitUsage,
			want:  []string{"missing GDRIVE_BACKUP_FOLDER_ID", "RCLONE_CONFIG_GDRIVE_TYPE"},
		},
		{
			name: "folder ID is a URL",
			setup: func(t *testing.T, p *fakedrive.Production) {
				t.Setenv("GDRIVE_BACKUP_FOLDER_ID", "https://drive.google.com/drive/folders/"+p.FolderID)
			},
			code: cli.ExitUsage,
			want: []string{"not a folder ID", "last part of the folder's URL"},
		},
		{
			name: "folder ID unknown",
			setup: func(t *testing.T, p *fakedrive.Production) {
				t.Setenv("GDRIVE_BACKUP_FOLDER_ID", "1UnknownFolderIdXXXXXXXXXXXXXXXXX")
			},
			code: cli.ExitFailure,
			want: []string{"1UnknownFolderIdXXXXXXXXXXXXXXXXX", "from GDRIVE_BACKUP_FOLDER_ID", "Content manager", p0Email},
		},
		{
			name: "credentials not JSON",
			setup: func(t *testing.T, p *fakedrive.Production) {
				t.Setenv("RCLONE_CONFIG_GDRIVE_SERVICE_ACCOUNT_CREDENTIALS", "{not json")
			},
			code: cli.ExitFailure,
			want: []string{"RCLONE_CONFIG_GDRIVE_SERVICE_ACCOUNT_CREDENTIALS", "JSON key"},
		},
		{
			name:  "key refused",
			setup: func(t *testing.T, p *fakedrive.Production) { p.DisableAccount(p.Account.Email) },
			code:  cli.ExitFailure,
			want:  []string{"RCLONE_CONFIG_GDRIVE_SERVICE_ACCOUNT_CREDENTIALS", "new JSON key", p0Email},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, _, _ := driveProduction(t)
			tc.setup(t, p)
			r := driveRun(t, "now")
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", r.code, tc.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, r.stderr)
				}
			}
			if p.Count(fakedrive.OpUploadStart)+p.Count(fakedrive.OpUploadMultipart) != 0 {
				t.Error("an upload started despite the configuration error")
			}
			body := p.Account.PrivateKey[strings.Index(p.Account.PrivateKey, "\n")+1:]
			if strings.Contains(r.stderr, body[:40]) || strings.Contains(r.stderr, p.Account.KeyID) {
				t.Error("stderr quotes the key")
			}
		})
	}
}

const p0Email = "backupd@prod-app.iam.gserviceaccount.com"

// driveDoctorLine finds the doctor's line for a check.
func driveDoctorLine(out, name string) string {
	re := regexp.MustCompile(`(?m)^(ok|WARN|FAIL)\s+` + regexp.QuoteMeta(name) + `\s.*$`)
	return re.FindString(out)
}

// TestDoctor runs "backupd doctor" against good and broken setups.
func TestDoctor(t *testing.T) {
	t.Run("production", func(t *testing.T) {
		p, _, _ := driveProduction(t)
		r := driveRun(t, "doctor")
		if r.code != 0 {
			t.Fatalf("doctor exited %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		for _, name := range []string{"rclone env", "remote", "credentials", "token", "shared drive", "folder", "old folder", "write", "dump tool", "server", "database"} {
			if line := driveDoctorLine(r.stdout, name); !strings.HasPrefix(line, "ok") {
				t.Errorf("check %q: %q, want ok\n%s", name, line, r.stdout)
			}
		}
		if line := driveDoctorLine(r.stdout, "server"); !regexp.MustCompile(`: MariaDB 1[01]\.`).MatchString(line) {
			t.Errorf("server check does not name the flavour and version: %q", line)
		}
		if line := driveDoctorLine(r.stdout, "dump tool"); !strings.Contains(line, "MariaDB tool 1") {
			t.Errorf("dump tool check does not name the flavour and version: %q", line)
		}
		if !strings.Contains(r.stdout, p0Email) {
			t.Errorf("doctor does not name the service account:\n%s", r.stdout)
		}
		for _, f := range p.Children(p.FolderID) {
			if !f.Trashed {
				t.Errorf("doctor left %s in the folder", f.Name)
			}
		}
		if p.Count(fakedrive.OpFilesUpdate) == 0 {
			t.Error("the probe was never renamed: the write check skipped publishing")
		}
		assertNoSecrets(t, p, r.stdout, r.stderr)
	})
	t.Run("Oracle mysqldump 8.0 against MariaDB", func(t *testing.T) {
		driveProduction(t)
		// MySQL 8.0 cannot be installed here: a script prints the real
		// tool's --version line and otherwise runs the local dump tool,
		// which would refuse --column-statistics: the script takes it out
		// after checking it came.
		real, err := exec.LookPath("mariadb-dump")
		if err != nil {
			t.Fatal(err)
		}
		tool := filepath.Join(t.TempDir(), "mysqldump")
		script := "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)'; exit 0; fi\n" +
			"seen=no; for a in \"$@\"; do [ \"$a\" = --column-statistics=0 ] && seen=yes; done\n" +
			"[ $seen = yes ] || { echo 'mysqldump: Couldn'\\''t execute: Unknown table COLUMN_STATISTICS in information_schema (1109)' >&2; exit 2; }\n" +
			"for a in \"$@\"; do shift; [ \"$a\" = --column-statistics=0 ] || set -- \"$@\" \"$a\"; done\n" +
			"exec " + real + " \"$@\"\n"
		if err := os.WriteFile(tool, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("BACKUPD_MYSQLDUMP", tool)
		// Over the socket: the TLS options of Oracle's family, which the
		// real tool underneath does not know, are for TCP only.
		t.Setenv("DB_SOCKET", testdb.Get(t).Socket)
		r := driveRun(t, "doctor")
		if r.code != 0 {
			t.Fatalf("doctor exited %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		if line := driveDoctorLine(r.stdout, "dump tool"); !strings.Contains(line, "MySQL tool 8.0.36") {
			t.Errorf("dump tool: %q", line)
		}
		if line := driveDoctorLine(r.stdout, "dump options"); !strings.Contains(line, "--column-statistics=0") {
			t.Errorf("dump options: %q\n%s", line, r.stdout)
		}
		if line := driveDoctorLine(r.stdout, "database"); !strings.HasPrefix(line, "ok") {
			t.Errorf("database: %q", line)
		}
	})
	t.Run("My Drive and an old folder", func(t *testing.T) {
		p, _, _ := driveProduction(t)
		p.NewFolder(p.DriveID, p.FolderID) // where gdrive:<ID>/ wrote
		r := driveRun(t, "doctor")
		if r.code != 0 {
			t.Fatalf("doctor exited %d\n%s", r.code, r.stdout)
		}
		if line := driveDoctorLine(r.stdout, "old folder"); !strings.HasPrefix(line, "WARN") || !strings.Contains(line, "gdrive:"+p.FolderID+"/") {
			t.Errorf("old folder: %q, want a warning\n%s", line, r.stdout)
		}
		mine := p.NewFolder(p.MyDriveRoot(p.Account.Email), "backups")
		t.Setenv("GDRIVE_BACKUP_FOLDER_ID", mine)
		t.Setenv("RCLONE_CONFIG_GDRIVE_TEAM_DRIVE", "")
		r = driveRun(t, "doctor")
		if r.code != 0 {
			t.Fatalf("doctor exited %d\n%s", r.code, r.stdout)
		}
		for _, name := range []string{"shared drive", "folder"} {
			if line := driveDoctorLine(r.stdout, name); !strings.HasPrefix(line, "WARN") || !strings.Contains(line, "15 GB") {
				t.Errorf("check %q: %q, want a My Drive warning\n%s", name, line, r.stdout)
			}
		}
		if line := driveDoctorLine(r.stdout, "write"); !strings.HasPrefix(line, "ok") {
			t.Errorf("write: %q, want ok", line)
		}
	})
	t.Run("key in a file", func(t *testing.T) {
		p, _, _ := driveProduction(t)
		file := filepath.Join(t.TempDir(), "sa.json")
		if err := os.WriteFile(file, []byte(p.Account.JSON), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("RCLONE_CONFIG_GDRIVE_SERVICE_ACCOUNT_CREDENTIALS", "")
		t.Setenv("RCLONE_CONFIG_GDRIVE_SERVICE_ACCOUNT_FILE", file)
		r := driveRun(t, "doctor")
		if r.code != 0 {
			t.Fatalf("doctor exited %d\n%s", r.code, r.stdout)
		}
		for _, name := range []string{"credentials", "token", "write"} {
			if line := driveDoctorLine(r.stdout, name); !strings.HasPrefix(line, "ok") {
				t.Errorf("check %q: %q, want ok", name, line)
			}
		}
	})
	t.Run("broken", func(t *testing.T) {
		cases := []struct {
			name, check string
			setup       func(t *testing.T, p *fakedrive.Production)
			want        string
		}{
			{"unknown folder", "folder", func(t *testing.T, p *fakedrive.Production) {
				t.Setenv("GDRIVE_BACKUP_FOLDER_ID", "1UnknownFolderIdXXXXXXXXXXXXXXXXX")
			}, "GDRIVE_BACKUP_FOLDER_ID"},
			{"Contributor role", "shared drive", func(t *testing.T, p *fakedrive.Production) {
				p.AddMember(p.DriveID, p.Account.Email, fakedrive.RoleWriter)
			}, "the service account may not delete in the Shared Drive; give it the Content Manager role (" + p0Email},
			{"Contributor role, permanent deletes", "folder", func(t *testing.T, p *fakedrive.Production) {
				p.AddMember(p.DriveID, p.Account.Email, fakedrive.RoleWriter)
				t.Setenv("RCLONE_CONFIG_GDRIVE_USE_TRASH", "false")
			}, "RCLONE_CONFIG_GDRIVE_USE_TRASH=false makes rclone delete permanently"},
			{"disabled account", "token", func(t *testing.T, p *fakedrive.Production) { p.DisableAccount(p.Account.Email) }, "new JSON key"},
			{"truncated key", "credentials", func(t *testing.T, p *fakedrive.Production) {
				t.Setenv("RCLONE_CONFIG_GDRIVE_SERVICE_ACCOUNT_CREDENTIALS", p.Account.JSON[:len(p.Account.JSON)/2])
			}, "not JSON"},
			{"wrong Shared Drive", "shared drive", func(t *testing.T, p *fakedrive.Production) {
				t.Setenv("RCLONE_CONFIG_GDRIVE_TEAM_DRIVE", "0ANoSuchDriveXXXXXXXX")
			}, "RCLONE_CONFIG_GDRIVE_TEAM_DRIVE"},
			{"database password", "database", func(t *testing.T, p *fakedrive.Production) { t.Setenv("DB_PASSWORD", "wrong-password-1") }, "Access denied"},
			{"no database named", "settings", func(t *testing.T, p *fakedrive.Production) { t.Setenv("DB_DATABASE", "") }, "DB_DATABASE"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				p, _, _ := driveProduction(t)
				tc.setup(t, p)
				r := driveRun(t, "doctor")
				want := cli.ExitFailure
				if tc.check == "settings" {
					// A missing setting is the operator's to fix: exit 2.
					want = cli.ExitUsage
				}
				if r.code != want {
					t.Errorf("doctor exited %d, want %d", r.code, want)
				}
				if line := driveDoctorLine(r.stdout, tc.check); !strings.HasPrefix(line, "FAIL") || !strings.Contains(line, tc.want) {
					t.Errorf("check %q: %q, want FAIL mentioning %q\n%s", tc.check, line, tc.want, r.stdout)
				}
				if strings.Contains(r.stdout, "BEGIN PRIVATE KEY") || strings.Contains(r.stdout, p.Account.KeyID) {
					t.Error("doctor printed the key")
				}
			})
		}
	})
}

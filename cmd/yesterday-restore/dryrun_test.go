package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/seal"
	"github.com/backupd/backupd/pkg/storage"
)

// sealedRemote is a folder of backups of a fixture database taken with the
// seals given, and the settings that restore from it.
type sealedRemote struct {
	dir string
	env map[string]string
	src string
	srv *testdb.Server
}

func newSealedRemote(t *testing.T) *sealedRemote {
	t.Helper()
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.LoadFile(t, src, "../../testdata/fixture.sql")
	dir := t.TempDir()
	target := srv.NewDatabase(t, "app")
	for _, db := range []string{target + "_restore", target + "_restore_old"} {
		t.Cleanup(func() { _, _ = srv.Run("", "DROP DATABASE IF EXISTS `"+db+"`") })
	}
	conn := srv.Root(target)
	env := map[string]string{
		"BACKUPD_REMOTE": dir,
		"DB_SOCKET":      srv.Socket,
		"DB_DATABASE":    target,
		"DB_USERNAME":    conn.User,
		"DB_PASSWORD":    conn.Password,
	}
	if srv.Port != 0 {
		env["DB_SOCKET"], env["DB_HOST"], env["DB_PORT"] = "", "127.0.0.1", fmt.Sprint(srv.Port)
	}
	return &sealedRemote{dir: dir, env: env, src: src, srv: srv}
}

func (s *sealedRemote) take(t *testing.T, at time.Time, sl backup.Seal) string {
	t.Helper()
	st, err := storage.Open(t.Context(), s.dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	job := backup.Job{Dumper: &dump.Dumper{Conn: s.srv.Root(s.src)}, Store: st, Codec: catalog.Codec{}, Time: at, Seal: sl}
	rep, err := job.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return rep.Name
}

func (s *sealedRemote) with(kv ...string) map[string]string {
	env := map[string]string{}
	for k, v := range s.env {
		env[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

// TestDryRunNamesWhatTheRestoreRestores: with a signature and a checksum
// required, the better-ranked backups that lack them are skipped by the
// dry run as by the real run, each with its reason, and both name the
// same backup.
func TestDryRunNamesWhatTheRestoreRestores(t *testing.T) {
	s := newSealedRemote(t)
	sk, err := seal.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	signed := s.take(t, time.Date(2026, 3, 14, 1, 0, 0, 0, time.UTC), backup.Seal{SignKey: &sk})
	unsigned := s.take(t, time.Date(2026, 3, 14, 3, 10, 0, 0, time.UTC), backup.Seal{})
	// Ranked first, and carrying neither a checksum nor a signature: a
	// dry run does not read it, and neither may the real run.
	noChecksum := "db-backup-20260314-030000.sql.zst"
	putFile(t, s.dir, noChecksum, []byte("never read"))

	env := s.with("BACKUPD_VERIFY_KEY", sk.Public().String(), "RESTORE_REQUIRE_SIGNATURE", "true", "RESTORE_REQUIRE_CHECKSUM", "true")
	const now = "2026-03-15T05:00:00Z"
	code, out, errOut := run(t, env, "--now", now, "--dry-run")
	if code != cli.ExitOK {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"would restore " + signed,
		noChecksum + "  10 B  skipped: the backup has no recorded checksum",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`  3  ` + regexp.QuoteMeta(signed) + ` .* would restore\n`).MatchString(out) {
		t.Errorf("dry run does not mark %s as the one it would restore:\n%s", signed, out)
	}
	if !regexp.MustCompile(regexp.QuoteMeta(unsigned) + ` .* skipped: unsigned, and a signature is required\n`).MatchString(out) {
		t.Errorf("dry run does not say why %s is skipped:\n%s", unsigned, out)
	}

	code, out, errOut = run(t, env, "--now", now, "--dry-run", "--json")
	if code != cli.ExitOK {
		t.Fatalf("dry run --json: exit %d\n%s", code, errOut)
	}
	var got struct {
		Name       string `json:"name"`
		Candidates []struct {
			Name    string `json:"name"`
			Skipped string `json:"skipped"`
		} `json:"candidates"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Name != signed || len(got.Candidates) != 3 || got.Candidates[0].Skipped == "" || got.Candidates[1].Skipped == "" || got.Candidates[2].Skipped != "" {
		t.Errorf("dry run --json: %+v", got)
	}

	code, out, errOut = run(t, env, "--now", now)
	if code != cli.ExitOK {
		t.Fatalf("restore: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "restored "+signed) {
		t.Errorf("the restore did not restore %s, which the dry run named:\n%s", signed, out)
	}
}

// TestDryRunExitsAsTheRestore: with only encrypted backups and no
// identity, or only backups whose signatures the verify key rejects, the
// dry run fails as the real run does, with a setting error that names the
// setting; an identity that is not the recipient's is found by reading
// the envelope's header.
func TestDryRunExitsAsTheRestore(t *testing.T) {
	s := newSealedRemote(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	sk, err := seal.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := seal.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	sl := backup.Seal{Recipients: []age.Recipient{id.Recipient()}, SignKey: &sk}
	s.take(t, time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC), sl)
	s.take(t, time.Date(2026, 3, 14, 3, 0, 0, 0, time.UTC), sl)
	const now = "2026-03-15T05:00:00Z"
	cases := []struct {
		name    string
		env     map[string]string
		setting string
	}{
		{"no identity", s.with(), "--age-identity"},
		{"another identity", s.with(cli.AgeIdentityEnv, other.String()), "BACKUPD_AGE_IDENTITY"},
		{"wrong verify key", s.with(cli.AgeIdentityEnv, id.String(), "BACKUPD_VERIFY_KEY", wrong.Public().String()), "BACKUPD_VERIFY_KEY"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dry, dryOut, dryErr := run(t, tc.env, "--now", now, "--dry-run")
			real, realOut, realErr := run(t, tc.env, "--now", now)
			if dry != cli.ExitUsage || real != cli.ExitUsage {
				t.Errorf("dry run exit %d, restore exit %d; want %d for both\ndry run:\n%s%s\nrestore:\n%s%s", dry, real, cli.ExitUsage, dryOut, dryErr, realOut, realErr)
			}
			for _, msg := range []string{dryErr, realErr} {
				if !strings.Contains(msg, tc.setting) || strings.Contains(msg, "no backup to restore") {
					t.Errorf("message does not name %s as the setting to fix:\n%s", tc.setting, msg)
				}
			}
		})
	}
	code, out, errOut := run(t, s.with(cli.AgeIdentityEnv, id.String(), "BACKUPD_VERIFY_KEY", sk.Public().String()), "--now", now, "--dry-run")
	if code != cli.ExitOK || !strings.Contains(out, "would restore db-backup-20260314-030000.sql.zst.age") {
		t.Errorf("with the right keys: exit %d\n%s%s", code, out, errOut)
	}
}

// TestEmptyFolderSaysSo: a folder without backups is reported as such,
// with where the restore looked.
func TestEmptyFolderSaysSo(t *testing.T) {
	dir := t.TempDir()
	putFile(t, dir, "notes.txt", []byte("x"))
	for _, args := range [][]string{{"--dry-run"}, {}} {
		code, _, errOut := run(t, map[string]string{"BACKUPD_REMOTE": dir, "DB_DATABASE": "app", "DB_USERNAME": "app", "DB_SOCKET": dir + "/no.sock"}, args...)
		if code != cli.ExitNoBackup || !strings.Contains(errOut, "the folder holds no backups") || !strings.Contains(errOut, dir) || !strings.Contains(errOut, "db-backup-") {
			t.Errorf("%v: exit %d\n%s", args, code, errOut)
		}
	}
}

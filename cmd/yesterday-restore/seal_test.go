package main

import (
	"fmt"
	"os"
	"path/filepath"
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

// TestRestoreSealedFromEnvironment restores an encrypted, signed backup
// with the keys as the yesterday app's secrets hold them: the identity in
// BACKUPD_AGE_IDENTITY, the verify key in BACKUPD_VERIFY_KEY and
// RESTORE_REQUIRE_SIGNATURE=true. Without the identity the run exits 2,
// and an unsigned backup is skipped for the signed one.
func TestRestoreSealedFromEnvironment(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.LoadFile(t, src, "../../testdata/fixture.sql")
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	sk, err := seal.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := storage.Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	take := func(at time.Time, sl backup.Seal) string {
		job := backup.Job{Dumper: &dump.Dumper{Conn: srv.Root(src)}, Store: st, Codec: catalog.Codec{}, Time: at, Seal: sl}
		rep, err := job.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return rep.Name
	}
	recipients := []age.Recipient{id.Recipient()}
	signed := take(time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC), backup.Seal{Recipients: recipients, SignKey: &sk})
	unsigned := take(time.Date(2026, 3, 14, 3, 0, 0, 0, time.UTC), backup.Seal{Recipients: recipients})

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
	const now = "2026-03-15T05:00:00Z"

	code, out, errOut := run(t, env, "--now", now)
	if code != cli.ExitUsage || !strings.Contains(errOut, "no age identity") {
		t.Fatalf("without the identity: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, cli.ExitUsage, out, errOut)
	}

	env[cli.AgeIdentityEnv] = id.String() + "\n"
	env["BACKUPD_VERIFY_KEY"] = sk.Public().String()
	env["RESTORE_REQUIRE_SIGNATURE"] = "true"
	code, out, errOut = run(t, env, "--now", now)
	if code != cli.ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "restored "+signed) || !strings.Contains(out, "skipped    "+unsigned) || !strings.Contains(out, "signature  valid") {
		t.Errorf("report:\n%s", out)
	}
	if strings.Contains(out+errOut, id.String()) || strings.Contains(out+errOut, sk.String()) {
		t.Error("a secret key shows in the output")
	}
	if got, want := srv.Fingerprint(t, target), srv.Fingerprint(t, src); got != want {
		t.Errorf("restored database differs from the source\n--- got\n%s\n--- want\n%s", got, want)
	}

	// The identity given on the command line must be a file name.
	code, _, errOut = run(t, map[string]string{"BACKUPD_REMOTE": dir}, "--dry-run", "--age-identity", id.String())
	if code != cli.ExitUsage || strings.Contains(errOut, id.String()) {
		t.Errorf("--age-identity with the key itself: exit %d, stderr %q", code, errOut)
	}
	keyFile := filepath.Join(t.TempDir(), "id")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, map[string]string{"BACKUPD_REMOTE": dir}, "--dry-run", "--age-identity", keyFile); code != cli.ExitOK {
		t.Errorf("--age-identity FILE: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := run(t, map[string]string{"BACKUPD_REMOTE": dir, "RESTORE_REQUIRE_SIGNATURE": "true"}, "--dry-run"); code != cli.ExitUsage || !strings.Contains(errOut, "verify-key") {
		t.Errorf("a signature required without a verify key: exit %d\n%s", code, errOut)
	}
}

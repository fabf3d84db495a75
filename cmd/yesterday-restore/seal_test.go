package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/seal"
)

// TestRestoreSealedFromEnvironment restores an encrypted, signed backup
// with the keys as the yesterday app's secrets hold them: the identity in
// BACKUPD_AGE_IDENTITY, the verify key in BACKUPD_VERIFY_KEY and
// RESTORE_REQUIRE_SIGNATURE=true. Without the identity the run exits 2,
// and an unsigned backup is skipped for the signed one.
func TestRestoreSealedFromEnvironment(t *testing.T) {
	s := newSealedRemote(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	sk, err := seal.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	recipients := []age.Recipient{id.Recipient()}
	signed := s.take(t, time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC), backup.Seal{Recipients: recipients, SignKey: &sk})
	unsigned := s.take(t, time.Date(2026, 3, 14, 3, 0, 0, 0, time.UTC), backup.Seal{Recipients: recipients})
	srv, src, dir, env := s.srv, s.src, s.dir, s.with()
	target := env["DB_DATABASE"]
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

package main

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/seal"
)

// The README's example of a restore's report has the lines a restore of
// an encrypted, signed backup prints.
func TestReadmeRestoreReportIsWhatRestorePrints(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range strings.Split(string(b), "\n") {
		if len(want) == 0 && !strings.HasPrefix(l, "    restored db-backup-") {
			continue
		}
		if !strings.HasPrefix(l, "    ") {
			break
		}
		want = append(want, strings.Fields(l)[0])
	}
	if len(want) == 0 {
		t.Fatal("the README shows no restore report")
	}

	s := newSealedRemote(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	sk, err := seal.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	s.take(t, time.Date(2026, 3, 14, 3, 0, 0, 0, time.UTC), backup.Seal{Recipients: []age.Recipient{id.Recipient()}, SignKey: &sk})
	code, out, errOut := run(t, s.with(cli.AgeIdentityEnv, id.String(), "BACKUPD_VERIFY_KEY", sk.Public().String()), "--now", "2026-03-15T05:00:00Z")
	if code != cli.ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		got = append(got, strings.Fields(l)[0])
	}
	if !slices.Equal(got, want) {
		t.Errorf("yesterday-restore prints the lines %q; the README shows %q\n%s", got, want, out)
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/internal/count"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/seal"
	"github.com/backupd/backupd/pkg/storage"
)

// verifyCmd checks one backup end to end without writing it anywhere.
type verifyCmd struct {
	Remote cli.RemoteFlags `embed:""`
	Keys   cli.OpenFlags   `embed:""`
	Debug  bool            `help:"log debugging detail"`
	Name   string          `arg:"" optional:"" help:"the backup to check (a file name); default the newest"`
}

func (c *verifyCmd) run(ctx context.Context, a *app, p *cli.Problems) error {
	st := c.Remote.Resolve(p)
	keys := c.Keys.Resolve(p)
	if err := p.Err(); err != nil {
		return err
	}
	log := cli.NewLogger(a.stderr, c.Debug)
	store, l, err := listBackups(ctx, st, log)
	if err != nil {
		return err
	}
	b, err := findBackup(l, c.Name, store.String())
	if err != nil {
		return err
	}

	// The signature speaks for the listing, before a byte is read; the
	// check then holds the bytes to what it signs.
	sigErr := seal.Problem(b, keys.VerifyKeys, keys.RequireSignature)
	if b.Encrypted() && len(keys.Identities) == 0 {
		fmt.Fprintf(a.stdout, "backup     %s (%s)\n", b.Name, b.TimeString())
		printSignature(a.stdout, b, keys, sigErr)
		fmt.Fprintf(a.stdout, "envelope   encrypted; no age identity given, so it cannot be read\n")
		fmt.Fprintln(a.stdout, "result     FAILED")
		// Nothing can be checked without a setting: exit 2.
		return cli.Usagef("cannot check %s: it is %v: set %s (or %s) to the identity of the recipient backupd encrypts to", b.Name, seal.ErrNoIdentity, p.Name("age-identity"), cli.AgeIdentityEnv)
	}

	rc, err := store.Open(ctx, b.Name)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%w named %s in %s: it was deleted while verifying", cli.ErrNoBackup, b.Name, store)
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	var stored, raw atomic.Int64
	start := time.Now()
	stop := cli.StartProgress(a.stderr, log, func() string {
		return fmt.Sprintf("verifying %s: %s of %s read, %s of SQL, %s", b.Name,
			cli.Bytes(stored.Load()), cli.Bytes(b.Size), cli.Bytes(raw.Load()),
			cli.Rate(stored.Load(), time.Since(start)))
	})
	res, checkErr := dump.Check(count.NewReader(rc, &stored), &raw,
		dump.WithIdentities(keys.Identities), dump.Encrypted(b.Encrypted()))
	stop()

	problems := verdict(a.stdout, b, res, checkErr)
	printSignature(a.stdout, b, keys, sigErr)
	if sigErr != nil {
		problems = append(problems, sigErr.Error())
	}
	if len(problems) > 0 {
		fmt.Fprintln(a.stdout, "result     FAILED")
		return fmt.Errorf("%s: %s", b.Name, strings.Join(problems, "; "))
	}
	fmt.Fprintln(a.stdout, "result     OK")
	return nil
}

// printSignature says what is known of b's signature.
func printSignature(w io.Writer, b catalog.Backup, keys cli.Keys, sigErr error) {
	switch seal.Check(b, keys.VerifyKeys) {
	case seal.Valid:
		fmt.Fprintln(w, "signature  valid: made with the signing key, for this name, checksum and sizes")
	case seal.Invalid:
		fmt.Fprintln(w, "signature  INVALID: not made by the verify key's signing key for this name, checksum and sizes")
	case seal.Unchecked:
		fmt.Fprintln(w, "signature  present, not checked (no verify key given)")
	case seal.Unsigned:
		if sigErr != nil {
			fmt.Fprintln(w, "signature  MISSING, and one is required")
		} else {
			fmt.Fprintln(w, "signature  none")
		}
	}
}

// findBackup picks the named complete backup, or the newest when name is
// empty; it returns an error wrapping cli.ErrNoBackup when there is none.
func findBackup(l catalog.Listing, name, remote string) (catalog.Backup, error) {
	if name == "" {
		if len(l.Backups) == 0 {
			return catalog.Backup{}, fmt.Errorf("%w in %s", cli.ErrNoBackup, remote)
		}
		return l.Backups[len(l.Backups)-1], nil
	}
	for _, b := range l.Backups {
		if b.Name == name {
			return b, nil
		}
	}
	for _, b := range l.Partials {
		if b.Name == name {
			return catalog.Backup{}, fmt.Errorf("%w named %s in %s: it is an unfinished upload", cli.ErrNoBackup, name, remote)
		}
	}
	for _, i := range l.Ignored {
		if i.Backup.Name == name {
			return catalog.Backup{}, fmt.Errorf("%w named %s in %s: it is not a backup: %s", cli.ErrNoBackup, name, remote, i.Reason)
		}
	}
	return catalog.Backup{}, fmt.Errorf("%w named %q in %s (run \"backupd list\" for the names)", cli.ErrNoBackup, name, remote)
}

// verdict prints what the check found about b and returns the problems,
// as dump.CheckResult.Problems judges them (the restore judges alike).
func verdict(w io.Writer, b catalog.Backup, res dump.CheckResult, checkErr error) []string {
	fmt.Fprintf(w, "backup     %s (%s)\n", b.Name, b.TimeString())
	if res.Compression == "" {
		// Not even the header could be read.
		fmt.Fprintf(w, "stream     DAMAGED: %v\n", checkErr)
		return []string{fmt.Sprintf("cannot read or decompress it: %v", checkErr)}
	}
	switch {
	case b.SHA256 == "":
		fmt.Fprintf(w, "sha256     %s, none recorded (checked by decompressing only)\n", res.SHA256)
	case strings.EqualFold(b.SHA256, res.SHA256):
		fmt.Fprintf(w, "sha256     %s, matches the recorded one\n", res.SHA256)
	default:
		fmt.Fprintf(w, "sha256     MISMATCH: read %s, recorded %s\n", res.SHA256, b.SHA256)
	}
	comp := string(res.Compression)
	if res.Encrypted {
		comp = "age envelope, " + comp
	}
	fmt.Fprintf(w, "stored     %s (%d bytes), %s\n", cli.Bytes(res.StoredBytes), res.StoredBytes, comp)
	if res.StreamErr != nil {
		// The stream could not be read or decompressed to its end; the
		// SQL size and trailer of a partial read mean nothing.
		fmt.Fprintf(w, "stream     DAMAGED: %v\n", res.StreamErr)
	} else {
		switch {
		case b.RawSize < 0:
			fmt.Fprintf(w, "sql        %s (%d bytes), size not recorded\n", cli.Bytes(res.RawBytes), res.RawBytes)
		case b.RawSize == res.RawBytes:
			fmt.Fprintf(w, "sql        %s (%d bytes), matches the recorded size\n", cli.Bytes(res.RawBytes), res.RawBytes)
		default:
			fmt.Fprintf(w, "sql        MISMATCH: %d bytes, recorded %d\n", res.RawBytes, b.RawSize)
		}
		if res.Trailer {
			fmt.Fprintf(w, "trailer    present (%q)\n", dump.Trailer)
		} else {
			fmt.Fprintf(w, "trailer    MISSING: the dump does not end with %q\n", dump.Trailer)
		}
	}
	var problems []string
	for _, p := range res.Problems(b) {
		problems = append(problems, p.Error())
	}
	return problems
}

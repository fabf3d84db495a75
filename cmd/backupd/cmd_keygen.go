package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/seal"
)

// The files keygen writes.
const (
	identityFile  = "age-identity.txt"
	recipientFile = "age-recipient.txt"
	signKeyFile   = "sign.key"
	signPubFile   = "sign.pub"
)

// keygenCmd makes the key pairs that encrypt and sign backups.
type keygenCmd struct {
	Out string `required:"" help:"folder to write age-identity.txt, age-recipient.txt, sign.key and sign.pub into (created 0700 if missing; no file there is ever overwritten)"`
}

func (c *keygenCmd) run(_ context.Context, a *app, _ *cli.Problems) error {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return fmt.Errorf("make keys: %w", err)
	}
	sk, err := seal.GenerateSigningKey()
	if err != nil {
		return fmt.Errorf("make keys: %w", err)
	}
	cli.AddSecret(id.String())
	cli.AddSecret(sk.String())
	rec := id.Recipient().String()
	pub := sk.Public().String()
	created := time.Now().UTC().Format(time.RFC3339)
	files := []struct {
		name   string
		mode   fs.FileMode
		text   string
		secret bool
	}{
		{identityFile, 0o600, fmt.Sprintf("# created: %s\n# public key: %s\n%s\n", created, rec, id), true},
		{recipientFile, 0o644, rec + "\n", false},
		{signKeyFile, 0o600, sk.String() + "\n", true},
		{signPubFile, 0o644, pub + "\n", false},
	}
	if err := os.MkdirAll(c.Out, 0o700); err != nil {
		return fmt.Errorf("make keys: %w", err)
	}
	for _, f := range files {
		if _, err := os.Lstat(filepath.Join(c.Out, f.name)); !errors.Is(err, fs.ErrNotExist) {
			return cli.Usagef("%s exists already: keys are never overwritten; choose another --out (a lost key cannot be made again)", filepath.Join(c.Out, f.name))
		}
	}
	var written []string
	for _, f := range files {
		path := filepath.Join(c.Out, f.name)
		if err := writeNew(path, f.mode, f.text); err != nil {
			for _, w := range written {
				os.Remove(w)
			}
			return fmt.Errorf("make keys: %w", err)
		}
		written = append(written, path)
	}
	w := a.stdout
	fmt.Fprintf(w, "wrote the keys into %s:\n", c.Out)
	fmt.Fprintf(w, "  %-18s secret (0600): the yesterday app's age identity; opens encrypted backups\n", identityFile)
	fmt.Fprintf(w, "  %-18s public: production encrypts backups to it\n", recipientFile)
	fmt.Fprintf(w, "  %-18s secret (0600): production's signing key; signs every backup\n", signKeyFile)
	fmt.Fprintf(w, "  %-18s public: the yesterday app checks signatures with it\n", signPubFile)
	fmt.Fprintf(w, "\nproduction (backupd):\n")
	fmt.Fprintf(w, "  BACKUPD_ENCRYPT_TO=%s\n", rec)
	fmt.Fprintf(w, "  BACKUPD_SIGN_KEY=<the contents of %s>\n", filepath.Join(c.Out, signKeyFile))
	fmt.Fprintf(w, "\nthe yesterday app (yesterday-restore):\n")
	fmt.Fprintf(w, "  BACKUPD_AGE_IDENTITY=<the contents of %s>\n", filepath.Join(c.Out, identityFile))
	fmt.Fprintf(w, "  BACKUPD_VERIFY_KEY=%s\n", pub)
	fmt.Fprintf(w, "  RESTORE_REQUIRE_SIGNATURE=true\n")
	fmt.Fprintf(w, "\nKeep a copy of %s somewhere safe and offline: without it no encrypted backup can be read. See docs/encryption.md.\n", identityFile)
	return nil
}

// writeNew creates path with mode and text; it fails if path exists.
func writeNew(path string, mode fs.FileMode, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil { // whatever the umask
		f.Close()
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

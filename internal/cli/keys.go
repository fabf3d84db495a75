package cli

import (
	"fmt"
	"os"
	"strings"

	"filippo.io/age"

	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/seal"
)

// Environment variables that hold key material itself, for secrets set
// with "fly secrets set": they are read, never passed on (see
// mariadb.ChildEnv), and registered with AddSecret.
const (
	SignKeyEnv     = "BACKUPD_SIGN_KEY"
	AgeIdentityEnv = "BACKUPD_AGE_IDENTITY"
)

// SealFlags are production's key settings: whom backups are encrypted to
// and the key that signs them. See docs/encryption.md.
type SealFlags struct {
	EncryptTo string `name:"encrypt-to" help:"encrypt backups to these age recipients (age1..., comma-separated) or to those in this file, one a line; backups are then named .sql.zst.age" env:"BACKUPD_ENCRYPT_TO"`
	SignKey   string `name:"sign-key" help:"file holding the Ed25519 signing key (sign.key from \"backupd keygen\") that signs every backup; BACKUPD_SIGN_KEY holds the key itself (set one of the two)" env:"BACKUPD_SIGN_KEY_FILE"`
}

// VerifyKeyFlags are the setting of the keys that check signatures.
type VerifyKeyFlags struct {
	VerifyKey string `name:"verify-key" help:"public key(s) that check the backups' signatures: sign.pub's line (backupd-sign-pub-1..., several comma-separated) or a file holding them" env:"BACKUPD_VERIFY_KEY"`
}

// OpenFlags are the restore side's key settings: the identities that open
// encrypted backups and the keys that check signatures.
type OpenFlags struct {
	AgeIdentity      string         `name:"age-identity" help:"file holding the age identities (AGE-SECRET-KEY-1..., one a line) that open encrypted backups; BACKUPD_AGE_IDENTITY holds them itself (set one of the two)" env:"BACKUPD_AGE_IDENTITY_FILE"`
	Verify           VerifyKeyFlags `embed:""`
	RequireSignature bool           `help:"refuse backups without a signature that the verify key accepts: skip them like corrupt ones" env:"RESTORE_REQUIRE_SIGNATURE"`
}

// Keys are the resolved restore-side keys.
type Keys struct {
	Identities       []age.Identity
	VerifyKeys       []seal.VerifyKey
	RequireSignature bool
}

// Resolve reads the recipients and the signing key, recording what is
// wrong in p. The signing key is registered with AddSecret.
func (s *SealFlags) Resolve(p *Problems) backup.Seal {
	var sl backup.Seal
	if s.EncryptTo != "" {
		text, from := s.EncryptTo, p.Source("encrypt-to")
		if !strings.HasPrefix(strings.TrimSpace(text), "age1") {
			b, err := os.ReadFile(text)
			if err != nil {
				p.Addf("cannot read the recipients file named by %s: %v (give age1... recipients or a file of them)", from, err)
				return sl
			}
			text, from = string(b), fmt.Sprintf("%s (file %s)", from, s.EncryptTo)
		}
		rs, err := seal.ParseRecipients(text)
		if err != nil {
			p.Addf("invalid recipients from %s: %v", from, err)
		}
		sl.Recipients = rs
	}
	text, from := secretSetting(p, "sign-key", s.SignKey, SignKeyEnv, seal.SigningKeyPrefix)
	if text != "" {
		k, err := seal.ParseSigningKey(text)
		if err != nil {
			p.Addf("invalid signing key from %s: %v", from, err)
		} else {
			AddSecret(k.String())
			sl.SignKey = &k
		}
	}
	return sl
}

// Resolve reads the verify keys, recording what is wrong in p.
func (v *VerifyKeyFlags) Resolve(p *Problems) []seal.VerifyKey {
	if v.VerifyKey == "" {
		return nil
	}
	text, from := v.VerifyKey, p.Source("verify-key")
	if strings.HasPrefix(strings.TrimSpace(text), seal.SigningKeyPrefix) {
		AddSecret(strings.TrimSpace(text))
		p.Addf("%s holds the secret signing key: give its public half, sign.pub, on the restore side", from)
		return nil
	}
	if !strings.HasPrefix(strings.TrimSpace(text), seal.VerifyKeyPrefix) {
		b, err := os.ReadFile(text)
		if err != nil {
			p.Addf("cannot read the verify key file named by %s: %v (give the %s... line or a file holding it)", from, err, seal.VerifyKeyPrefix)
			return nil
		}
		text, from = string(b), fmt.Sprintf("%s (file %s)", from, v.VerifyKey)
	}
	ks, err := seal.ParseVerifyKeys(text)
	if err != nil {
		p.Addf("invalid verify key from %s: %v", from, err)
	}
	return ks
}

// Resolve reads the identities and verify keys, recording what is wrong
// in p. The identities are registered with AddSecret.
func (o *OpenFlags) Resolve(p *Problems) Keys {
	k := Keys{VerifyKeys: o.Verify.Resolve(p), RequireSignature: o.RequireSignature}
	text, from := secretSetting(p, "age-identity", o.AgeIdentity, AgeIdentityEnv, "AGE-SECRET-KEY-")
	if text != "" {
		ids, err := seal.ParseIdentities(text)
		if err != nil {
			p.Addf("invalid age identity from %s: %v", from, err)
		}
		k.Identities = ids
	}
	if o.RequireSignature && o.Verify.VerifyKey == "" {
		p.Addf("%s requires signatures, but no key checks them: set %s", p.Source("require-signature"), p.Name("verify-key"))
	}
	return k
}

// secretSetting returns the text of a secret that a flag names as a file
// (path, from the flag or its _FILE variable) or the variable env holds
// itself, and where it came from; setting both in the environment is an
// error. A path that is really the key (it begins with keyPrefix) is
// refused without quoting it. The text, every line of it, is registered
// with AddSecret.
func secretSetting(p *Problems, flag, path, env, keyPrefix string) (text, from string) {
	value := p.Getenv(env)
	switch {
	case path != "" && strings.HasPrefix(strings.TrimSpace(path), keyPrefix):
		addSecretLines(path)
		p.Addf("%s takes the name of a file, not the key itself: put the key in %s, or in a file", p.Source(flag), env)
		return "", ""
	case path != "" && value != "" && !p.FromFlag(flag):
		addSecretLines(value)
		p.Addf("contradictory %s settings: set %s or %s, not both", flag, env, p.Source(flag))
		return "", ""
	case path != "":
		b, err := os.ReadFile(path)
		if err != nil {
			p.Addf("cannot read the file named by %s: %v", p.Source(flag), err)
			return "", ""
		}
		text, from = string(b), fmt.Sprintf("%s (file %s)", p.Source(flag), path)
	case value != "":
		text, from = value, env
	default:
		return "", ""
	}
	addSecretLines(text)
	return text, from
}

// addSecretLines registers text and each of its lines but comments (an
// identity file's "# public key: age1..." is public).
func addSecretLines(text string) {
	AddSecret(strings.TrimSpace(text))
	for line := range strings.Lines(text) {
		if line = strings.TrimSpace(line); !strings.HasPrefix(line, "#") {
			AddSecret(line)
		}
	}
}

package cli

import (
	"fmt"
	"strings"

	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/seal"
)

// DoctorKeys checks the key settings: that each configured key parses,
// that the recipients and identities belong together and the signing and
// verify keys too when both halves are given (an operator checking a new
// pair on one machine), and warns when backups would be unencrypted or
// unsigned. s or o is nil for a program without those settings. It never
// prints a secret: recipients and verify keys are public.
func DoctorKeys(p *Problems, s *SealFlags, o *OpenFlags, report func(Check)) {
	var sl backup.Seal
	if s != nil {
		pr := p.Fresh()
		sl = s.Resolve(pr)
		if err := pr.Err(); err != nil {
			report(Check{Fail, "keys", err.Error()})
			return
		}
		if n := len(sl.Recipients); n == 0 {
			report(Check{Warn, "encryption", fmt.Sprintf("backups are not encrypted: whoever can read the backup folder can read the database; set %s (see docs/encryption.md)", pr.Name("encrypt-to"))})
		} else {
			var names []string
			for _, r := range sl.Recipients {
				names = append(names, fmt.Sprint(r))
			}
			report(Check{OK, "encryption", fmt.Sprintf("backups are encrypted to %d age %s: %s", n, plural(n, "recipient"), strings.Join(names, ", "))})
		}
		if sl.SignKey == nil {
			report(Check{Warn, "signing", fmt.Sprintf("backups are not signed: a restore cannot tell them from files anyone else who can write the folder puts there; set %s", pr.Name("sign-key"))})
		} else {
			report(Check{OK, "signing", fmt.Sprintf("backups are signed; the restore side checks them with %s", sl.SignKey.Public())})
		}
	}
	if o == nil {
		return
	}
	pr := p.Fresh()
	k := o.Resolve(pr)
	if err := pr.Err(); err != nil {
		report(Check{Fail, "keys", err.Error()})
		return
	}
	if n := len(k.Identities); n > 0 {
		report(Check{OK, "age identity", fmt.Sprintf("%d %s parse", n, plural(n, "identity"))})
	}
	if n := len(k.VerifyKeys); n > 0 {
		report(Check{OK, "verify key", fmt.Sprintf("%d verify %s parse", n, plural(n, "key"))})
	}
	if len(sl.Recipients) > 0 && len(k.Identities) > 0 {
		if seal.Belong(sl.Recipients, k.Identities) {
			report(Check{OK, "key pair", "every recipient's identity is among the age identities: the backups can be read"})
		} else {
			report(Check{Fail, "key pair", "a recipient has no identity among the age identities given: backups encrypted to it could not be read with them"})
		}
	}
	if sl.SignKey != nil && len(k.VerifyKeys) > 0 {
		found := false
		for _, v := range k.VerifyKeys {
			found = found || v.Equal(sl.SignKey.Public())
		}
		if found {
			report(Check{OK, "key pair", "a verify key checks the signing key's signatures"})
		} else {
			report(Check{Fail, "key pair", fmt.Sprintf("no verify key given checks the signing key's signatures; its public key is %s", sl.SignKey.Public())})
		}
	}
}

func plural(n int, word string) string {
	switch {
	case n == 1:
		return word
	case strings.HasSuffix(word, "y"):
		return word[:len(word)-1] + "ies"
	}
	return word + "s"
}

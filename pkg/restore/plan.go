package restore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/seal"
	"github.com/backupd/backupd/pkg/selector"
)

// Screen says why Restore refuses b before reading a byte of it, or nil:
// no recorded checksum when one is required (ErrUnverified), its signature
// (seal.Problem), or it is encrypted and no identity is given
// (seal.ErrNoIdentity). Restore and Plan both judge candidates with it.
func (r *Restorer) Screen(b catalog.Backup) error {
	if r.RequireChecksum && b.SHA256 == "" {
		return ErrUnverified
	}
	return r.refuse(b)
}

// Verdict is what a restore decides about one candidate before loading
// it.
type Verdict struct {
	Backup catalog.Backup
	// Skip says why the candidate would be skipped; nil for the one that
	// would be loaded and for the fallbacks after it that Screen passes.
	Skip error
}

// Plan is Restore's choice without a database, for a dry run: the
// candidates (best first) judged in order by Screen, and an encrypted one
// that passes by whether an identity given opens its envelope (its header
// is read, nothing more), up to the first that would be loaded, whose
// index it returns; those after it are judged by Screen alone. When none
// would be loaded it returns the error Restore returns then: a *KeyError
// when the keys given refused them all, else one wrapping
// selector.ErrNoBackup.
func (r *Restorer) Plan(ctx context.Context, candidates []catalog.Backup) (int, []Verdict, error) {
	verdicts := make([]Verdict, len(candidates))
	chosen := -1
	var skipped []Skipped
	for i, b := range candidates {
		verdicts[i].Backup = b
		err := r.Screen(b)
		if err == nil && chosen < 0 && b.Encrypted() {
			err = r.opens(ctx, b)
			if ctx.Err() != nil {
				return -1, nil, context.Cause(ctx)
			}
		}
		verdicts[i].Skip = err
		if chosen >= 0 {
			continue
		}
		if err != nil {
			skipped = append(skipped, Skipped{Backup: b.Name, Err: err})
			continue
		}
		chosen = i
	}
	if chosen < 0 {
		return -1, verdicts, noUsable(len(candidates), skipped, r.Conn.Database+" would be left as it is")
	}
	return chosen, verdicts, nil
}

// opens reads the envelope's header of the encrypted backup b and says
// whether an identity given opens it, as the load would find.
func (r *Restorer) opens(ctx context.Context, b catalog.Backup) error {
	rc, err := r.Store.Open(ctx, b.Name)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer rc.Close()
	_, err = seal.Decrypt(rc, r.Identities)
	return err
}

// KeyError means every candidate was refused for the keys the restore was
// given, not for what the backups hold: encrypted, and no age identity
// given opens them, or signed, and their signatures verify under none of
// the verify keys given. It is a setting to fix.
type KeyError struct {
	// Identity says the age identity is missing or not the backups'
	// recipient; Verify that the verify key is not the public half of
	// the key that signed them.
	Identity, Verify bool
	msg              string
	errs             []error
}

func (e *KeyError) Error() string { return e.msg }

// Unwrap returns why each candidate was refused.
func (e *KeyError) Unwrap() []error { return e.errs }

// noUsable is the error of a restore that loaded none of n candidates,
// skipped for the reasons given; state says what became of the target.
// When every candidate was refused by the keys given it is a *KeyError;
// when every one was refused before reading otherwise, it wraps
// selector.ErrNoBackup (nothing was tried).
func noUsable(n int, skipped []Skipped, state string) error {
	errs := make([]error, len(skipped))
	allRefused := len(skipped) > 0
	var noID, wrongID, badSig int
	for i, s := range skipped {
		errs[i] = fmt.Errorf("%s: %w", s.Backup, s.Err)
		allRefused = allRefused && refused(s.Err)
		switch {
		case errors.Is(s.Err, seal.ErrOtherRecipient):
			wrongID++
		case errors.Is(s.Err, seal.ErrNoIdentity):
			noID++
		case errors.Is(s.Err, seal.ErrBadSignature):
			badSig++
		}
	}
	if len(skipped) > 0 && noID+wrongID+badSig == len(skipped) {
		var why []string
		if noID > 0 {
			why = append(why, fmt.Sprintf("%d encrypted and no age identity given", noID))
		}
		if wrongID > 0 {
			why = append(why, fmt.Sprintf("%d encrypted to a recipient whose identity was not given", wrongID))
		}
		if badSig > 0 {
			why = append(why, fmt.Sprintf("%d signed by a key whose public half is not among the verify keys given", badSig))
		}
		return &KeyError{Identity: noID+wrongID > 0, Verify: badSig > 0, errs: errs,
			msg: fmt.Sprintf("the keys given open none of the %d candidates (%s); %s", n, strings.Join(why, ", "), state)}
	}
	if allRefused {
		// Nothing was tried: there is no backup to restore.
		errs = append(errs, selector.ErrNoBackup)
	}
	return fmt.Errorf("no usable backup among %d candidates; %s: %w", n, state, errors.Join(errs...))
}

// Package slot makes sure that processes sharing one remote take one backup
// per scheduled slot between them, without a lock they could share.
//
// Fly runs two machines of an app, each with its own "backupd serve" and
// its own lock file. Before dumping, each writes a claim file for the slot
// into the remote, waits a moment (Settle) for the other claims to become
// visible, and lists the slot's claims: the first claim in a fixed total
// order (claim time, then host, then a random nonce) wins, and every other
// process backs off with a *TakenError. The winner lists once more just
// before it publishes (Check), so that a peer whose claim showed up late
// still backs off before a second backup appears.
//
// The store needs no conditional create and may hold duplicate names (as
// Google Drive does): every claim has a name of its own, and the decision
// depends only on which claims a process sees, never on a write failing.
// Clock skew between the machines changes which one wins, not whether
// exactly one does. docs/daemon.md says why this is safe and where it ends.
//
// Claim files are named <prefix>claim-<slot>-<at>-<nonce>-<host>.claim, for
// example db-backup-claim-20250301-100000-20250301T100000.123456789-1a2b3c4d-machine1.claim.
// The catalog's codec takes them for foreign files (they have no ".sql."),
// so they are never listed, restored or pruned as backups.
package slot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/backupd/backupd/pkg/catalog"
)

// Suffix ends the name of every claim file.
const Suffix = ".claim"

// word follows the codec's prefix in a claim's name.
const word = "claim-"

const (
	slotLayout = "20060102-150405"
	atLayout   = "20060102T150405.000000000"
	nonceLen   = 8
	maxHost    = 63
)

// Defaults of a Claimer.
const (
	DefaultSettle = 15 * time.Second
	DefaultLease  = 10 * time.Minute
)

// ErrTaken matches a *TakenError: another process has the slot.
var ErrTaken = errors.New("slot taken")

// TakenError says that another process took the slot.
type TakenError struct {
	Slot time.Time
	By   Claim // the winning claim
}

// Error names the slot and the host that took it.
func (e *TakenError) Error() string {
	return fmt.Sprintf("slot %s taken by %s", e.Slot.UTC().Format(time.RFC3339), e.By.Host)
}

// Is makes errors.Is(err, ErrTaken) true.
func (e *TakenError) Is(target error) bool { return target == ErrTaken }

// Store is what claiming needs of the remote (see storage.Store).
type Store interface {
	List(ctx context.Context) ([]catalog.Entry, error)
	Put(ctx context.Context, name string, r io.Reader, commit func() (map[string]string, error)) (catalog.Entry, error)
	Delete(ctx context.Context, name string) error
}

// Claim is one claim file.
type Claim struct {
	Name  string
	Slot  time.Time // the scheduled time claimed, UTC
	At    time.Time // when the claimant wrote it, by its own clock, UTC
	Nonce string
	Host  string
}

// Before is the total order that decides a contest: the earlier claim
// time, then the host, then the nonce, then the name.
func (c Claim) Before(o Claim) bool {
	switch {
	case !c.At.Equal(o.At):
		return c.At.Before(o.At)
	case c.Host != o.Host:
		return c.Host < o.Host
	case c.Nonce != o.Nonce:
		return c.Nonce < o.Nonce
	}
	return c.Name < o.Name
}

// Names encodes and decodes claim names for one backup name prefix.
type Names struct {
	Codec catalog.Codec
}

func (n Names) prefix() string {
	if n.Codec.Prefix == "" {
		return catalog.DefaultPrefix
	}
	return n.Codec.Prefix
}

// Name returns the file name of a claim. Host is reduced to letters, digits
// and dashes (at most 63); an empty host becomes "unknown".
func (n Names) Name(slot, at time.Time, nonce, host string) string {
	return n.prefix() + word + slot.UTC().Format(slotLayout) + "-" + at.UTC().Format(atLayout) + "-" + nonce + "-" + CleanHost(host) + Suffix
}

// Parse decodes a claim name; it reports false for any other name.
func (n Names) Parse(name string) (Claim, bool) {
	rest, ok := strings.CutPrefix(name, n.prefix()+word)
	if !ok {
		return Claim{}, false
	}
	rest, ok = strings.CutSuffix(rest, Suffix)
	if !ok || len(rest) < len(slotLayout)+1+len(atLayout)+1+nonceLen+2 {
		return Claim{}, false
	}
	c := Claim{Name: name}
	var err error
	if c.Slot, err = time.ParseInLocation(slotLayout, rest[:len(slotLayout)], time.UTC); err != nil {
		return Claim{}, false
	}
	rest = rest[len(slotLayout):]
	if rest[0] != '-' {
		return Claim{}, false
	}
	rest = rest[1:]
	if c.At, err = time.ParseInLocation(atLayout, rest[:len(atLayout)], time.UTC); err != nil {
		return Claim{}, false
	}
	rest = rest[len(atLayout):]
	if rest[0] != '-' {
		return Claim{}, false
	}
	rest = rest[1:]
	c.Nonce = rest[:nonceLen]
	if _, err := hex.DecodeString(c.Nonce); err != nil || strings.ToLower(c.Nonce) != c.Nonce {
		return Claim{}, false
	}
	rest = rest[nonceLen:]
	if rest[0] != '-' {
		return Claim{}, false
	}
	c.Host = rest[1:]
	if c.Host == "" || CleanHost(c.Host) != c.Host {
		return Claim{}, false
	}
	return c, true
}

// Claims picks the claim files out of a listing, in contest order.
func (n Names) Claims(entries []catalog.Entry) []Claim {
	var out []Claim
	for _, e := range entries {
		if c, ok := n.Parse(e.Name); ok {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// CleanHost reduces a host name to what a claim name carries.
func CleanHost(h string) string {
	var b strings.Builder
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
		if b.Len() >= maxHost {
			break
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

// Winner decides a contest: the first claim, in contest order, among those
// of slot whose claim time is not more than lease before ref. Claims of
// other slots and stale claims are ignored. It reports false when no claim
// counts.
func Winner(claims []Claim, slot, ref time.Time, lease time.Duration) (Claim, bool) {
	var best Claim
	found := false
	for _, c := range claims {
		if !c.Slot.Equal(slot.UTC().Truncate(time.Second)) || c.At.Before(ref.Add(-lease)) {
			continue
		}
		if !found || c.Before(best) {
			best, found = c, true
		}
	}
	return best, found
}

// Claimer claims slots in a store. Store is required.
type Claimer struct {
	Store Store
	Names Names
	// Host names this process in its claims; os.Hostname when "".
	Host string
	// Settle is how long to wait after writing a claim before listing the
	// others; DefaultSettle when zero. It must exceed the time a claim
	// takes to be written and to show up in another process's listing.
	Settle time.Duration
	// Lease is how old a claim may be and still count in a contest;
	// DefaultLease when zero.
	Lease time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	Log *slog.Logger
}

// Held is a won claim. Check it before publishing; Release it when done.
type Held struct {
	c     *Claimer
	claim Claim
}

// Claim writes a claim for slot, waits Settle, and lists the slot's claims.
// If this claim is first it returns the held claim; if another is, it
// deletes its own claim and returns a *TakenError naming the winner. Claims
// of earlier slots are deleted on the way, best effort. Any other error
// (the remote cannot be written or listed) leaves no claim of this process
// behind, as far as the remote allows.
func (c *Claimer) Claim(ctx context.Context, slot time.Time) (*Held, error) {
	slot = slot.UTC().Truncate(time.Second)
	host := c.Host
	if host == "" {
		host, _ = os.Hostname()
	}
	host = CleanHost(host)
	nonce, err := newNonce()
	if err != nil {
		return nil, fmt.Errorf("claim slot %s: %w", slot.Format(time.RFC3339), err)
	}
	at := c.now()
	name := c.Names.Name(slot, at, nonce, host)
	mine, _ := c.Names.Parse(name)
	body := fmt.Sprintf("host=%s\npid=%d\ntime=%s\nslot=%s\n", host, os.Getpid(), at.UTC().Format(time.RFC3339Nano), slot.Format(time.RFC3339))
	if _, err := c.Store.Put(ctx, name, strings.NewReader(body), func() (map[string]string, error) { return nil, nil }); err != nil {
		return nil, fmt.Errorf("claim slot %s: write %s: %w", slot.Format(time.RFC3339), name, err)
	}
	h := &Held{c: c, claim: mine}
	select {
	case <-ctx.Done():
		h.drop()
		return nil, fmt.Errorf("claim slot %s: %w", slot.Format(time.RFC3339), context.Cause(ctx))
	case <-time.After(c.settle()):
	}
	claims, err := c.list(ctx)
	if err != nil {
		h.drop()
		return nil, fmt.Errorf("claim slot %s: %w", slot.Format(time.RFC3339), err)
	}
	c.cleanup(ctx, claims, slot)
	win, ok := Winner(append(claims, mine), slot, mine.At, c.lease())
	if ok && win.Name != mine.Name {
		h.drop()
		return nil, &TakenError{Slot: slot, By: win}
	}
	c.log().Debug("slot claimed", "slot", slot, "claim", name)
	return h, nil
}

// Check lists the slot's claims again and returns a *TakenError if a claim
// that comes before this one has shown up since Claim: a peer whose claim
// was slow to appear. Call it after the dump and before publishing.
func (h *Held) Check(ctx context.Context) error {
	claims, err := h.c.list(ctx)
	if err != nil {
		return fmt.Errorf("check slot %s: %w", h.claim.Slot.Format(time.RFC3339), err)
	}
	if win, ok := Winner(append(claims, h.claim), h.claim.Slot, h.claim.At, h.c.lease()); ok && win.Name != h.claim.Name {
		return &TakenError{Slot: h.claim.Slot, By: win}
	}
	return nil
}

// Release ends the claim. After a published backup the claim file stays
// until a later slot's contest deletes it, so that a peer that has not yet
// seen it still finds it when it checks before publishing. After a failed
// run (published false) it is deleted at once.
func (h *Held) Release(published bool) {
	if !published {
		h.drop()
	}
}

// End deletes the claim now, whatever became of its run: a serve that
// stops leaves no claim of its own in the remote, where list and prune
// would show it as another file. A peer whose claim showed up more than
// Settle late and that has not yet checked before publishing could then
// take the slot too: one backup more, never one less.
func (h *Held) End() { h.drop() }

// drop deletes this process's claim, with a fresh context: the caller's
// may be cancelled, and the claim must still go.
func (h *Held) drop() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.c.Store.Delete(ctx, h.claim.Name); err != nil && !errors.Is(err, catalog.ErrNotFound) {
		h.c.log().Warn("could not delete claim", "claim", h.claim.Name, "err", err)
	}
}

// cleanup deletes the claims of slots before slot, best effort. The first
// deletion that fails ends it: claims left behind count in no later
// contest, and a remote that refuses or fails deletes is not asked once
// per old claim (they pile up while the account may not delete).
func (c *Claimer) cleanup(ctx context.Context, claims []Claim, slot time.Time) {
	for _, o := range claims {
		if !o.Slot.Before(slot) {
			continue
		}
		if err := c.Store.Delete(ctx, o.Name); err != nil && !errors.Is(err, catalog.ErrNotFound) {
			c.log().Warn("could not delete an old claim", "claim", o.Name, "err", err)
			return
		}
	}
}

func (c *Claimer) list(ctx context.Context) ([]Claim, error) {
	entries, err := c.Store.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list claims: %w", err)
	}
	return c.Names.Claims(entries), nil
}

func (c *Claimer) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

func (c *Claimer) settle() time.Duration {
	if c.Settle > 0 {
		return c.Settle
	}
	return DefaultSettle
}

func (c *Claimer) lease() time.Duration {
	if c.Lease > 0 {
		return c.Lease
	}
	return DefaultLease
}

func (c *Claimer) log() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

func newNonce() (string, error) {
	var b [nonceLen / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random nonce: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/seal"
)

// signedColumn says whether b is signed and, with verify keys, whether
// the signature verifies.
func signedColumn(b catalog.Backup, keys []seal.VerifyKey) string {
	switch seal.Check(b, keys) {
	case seal.Valid:
		return "yes, valid"
	case seal.Invalid:
		return "yes, INVALID"
	case seal.Unchecked:
		return "yes"
	}
	return "no"
}

// listItem is one backup in the output of "list --json".
type listItem struct {
	Name    string `json:"name"`
	Time    string `json:"time"` // RFC 3339, UTC
	Size    int64  `json:"size"`
	Format  string `json:"format"`             // "zst", "zst.age" or "gz"
	SHA256  string `json:"sha256,omitempty"`   // when recorded
	RawSize *int64 `json:"raw_size,omitempty"` // when recorded
	Partial bool   `json:"partial,omitempty"`  // an unfinished upload
	// Encrypted: in an age envelope (the name ends in .age).
	Encrypted bool `json:"encrypted"`
	// Signed: a signature is recorded with it.
	Signed bool `json:"signed"`
	// SignatureValid: whether the signature verifies under the verify
	// key; present only when a verify key is given (false when unsigned).
	SignatureValid *bool `json:"signature_valid,omitempty"`
}

func newListItem(b catalog.Backup, keys []seal.VerifyKey) listItem {
	it := listItem{
		Name:      b.Name,
		Time:      b.Time.UTC().Format(time.RFC3339),
		Size:      b.Size,
		Format:    string(b.Format),
		SHA256:    b.SHA256,
		Partial:   b.Partial,
		Encrypted: b.Encrypted(),
		Signed:    b.Signature != "",
	}
	if len(keys) > 0 {
		valid := seal.Check(b, keys) == seal.Valid
		it.SignatureValid = &valid
	}
	if b.RawSize >= 0 {
		it.RawSize = &b.RawSize
	}
	return it
}

// listCmd lists the backups, newest first.
type listCmd struct {
	Remote   cli.RemoteFlags    `embed:""`
	Verify   cli.VerifyKeyFlags `embed:""`
	JSON     bool               `name:"json" help:"print a JSON array of the backups"`
	Partials bool               `help:"with --json, also list unfinished uploads (marked \"partial\": true)"`
	Debug    bool               `help:"log debugging detail"`
}

func (c *listCmd) run(ctx context.Context, a *app, p *cli.Problems) error {
	st := c.Remote.Resolve(p)
	keys := c.Verify.Resolve(p)
	if c.Partials && !c.JSON {
		p.Addf("--partials applies to --json: the text listing always shows unfinished uploads")
	}
	if err := p.Err(); err != nil {
		return err
	}
	store, l, err := listBackups(ctx, st, cli.NewLogger(a.stderr, c.Debug))
	if err != nil {
		return err
	}
	slices.Reverse(l.Backups)
	slices.Reverse(l.Partials)

	if c.JSON {
		// Unfinished uploads stay out unless asked for, so that the first
		// element is always the newest complete backup.
		items := make([]listItem, 0, len(l.Backups))
		for _, b := range l.Backups {
			items = append(items, newListItem(b, keys))
		}
		if c.Partials {
			for _, b := range l.Partials {
				items = append(items, newListItem(b, keys))
			}
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(items); err != nil {
			return fmt.Errorf("write listing: %w", err)
		}
		return nil
	}

	if len(l.Backups) == 0 {
		fmt.Fprintf(a.stdout, "no backups in %s\n", store)
	} else {
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tTIME (UTC)\tSIZE\tFORMAT\tCHECKSUM\tENCRYPTED\tSIGNED")
		for _, b := range l.Backups {
			sum := "not recorded"
			if b.SHA256 != "" {
				sum = "recorded"
			}
			enc := "no"
			if b.Encrypted() {
				enc = "yes"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.Name, b.Time.UTC().Format(time.DateTime), cli.Bytes(b.Size), b.Format, sum, enc, signedColumn(b, keys))
		}
		tw.Flush()
		fmt.Fprintf(a.stdout, "%d %s in %s, newest first\n", len(l.Backups), plural(len(l.Backups), "backup"), store)
	}
	if len(l.Partials) > 0 {
		fmt.Fprintln(a.stdout, "\nunfinished uploads (not backups):")
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		for _, b := range l.Partials {
			fmt.Fprintf(tw, "%s\t%s\t%s\tlast written %s\n", b.Name, b.Time.UTC().Format(time.DateTime), cli.Bytes(b.Size), b.ModTime.UTC().Format(time.DateTime))
		}
		tw.Flush()
	}
	if len(l.Ignored) > 0 {
		fmt.Fprintln(a.stdout, "\nnamed like backups but not backups (never restored, counted or deleted):")
		for _, i := range l.Ignored {
			fmt.Fprintf(a.stdout, "%s\t%s\n", i.Backup.Name, i.Reason)
		}
	}
	if n := len(l.Foreign); n > 0 {
		fmt.Fprintf(a.stdout, "%d other %s in the folder not shown\n", n, plural(n, "file"))
	}
	return nil
}

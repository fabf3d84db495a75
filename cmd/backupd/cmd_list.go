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
	// Restored is the last successful restore recorded on the backup.
	Restored *restoredJSON `json:"restored,omitempty"`
	// Recoverable: the backup records its binary log coordinates (Binlog,
	// of server BinlogServer), so point-in-time recovery can start from
	// it.
	Recoverable  bool   `json:"recoverable"`
	Binlog       string `json:"binlog,omitempty"`
	BinlogServer string `json:"binlog_server,omitempty"`
}

// restoredJSON is a restore record (catalog.Restored) in JSON.
type restoredJSON struct {
	At            string `json:"at"` // RFC 3339, UTC, to the second (to the minute in old records)
	Host          string `json:"host"`
	Tables        int    `json:"tables"`
	Rows          *int64 `json:"rows,omitempty"` // absent when unknown
	RowsEstimated bool   `json:"rows_estimated,omitempty"`
	Seconds       int64  `json:"seconds"`
	Fallbacks     int    `json:"fallbacks"` // better candidates skipped as unusable
}

func newRestoredJSON(r *catalog.Restored) *restoredJSON {
	if r == nil {
		return nil
	}
	out := &restoredJSON{At: r.At.UTC().Format(time.RFC3339), Host: r.Host, Tables: r.Tables,
		RowsEstimated: r.RowsApprox, Seconds: r.Seconds, Fallbacks: r.Fallbacks}
	if r.Rows >= 0 {
		out.Rows = &r.Rows
	}
	return out
}

// restoredText is a restore record in a few words:
// "2026-12-01 05:02 on yesterday, 41 tables, ~2.1M rows".
func restoredText(r *catalog.Restored) string {
	if r == nil {
		return "-"
	}
	rows := "rows unknown"
	if r.Rows >= 0 {
		rows = rowCount(r.Rows) + " rows"
		if r.RowsApprox {
			rows = "~" + rows
		}
	}
	return fmt.Sprintf("%s on %s, %d tables, %s", r.At.UTC().Format("2006-01-02 15:04"), r.Host, r.Tables, rows)
}

// lastRestore returns the backup with the newest restore record, if any.
func lastRestore(bs []catalog.Backup) (catalog.Backup, bool) {
	var best catalog.Backup
	found := false
	for _, b := range bs {
		// Listed oldest first: of two records of the same time (records
		// of old kept minutes only), the newer backup's wins.
		if b.Restored != nil && (!found || !b.Restored.At.Before(best.Restored.At)) {
			best, found = b, true
		}
	}
	return best, found
}

func newListItem(b catalog.Backup, keys []seal.VerifyKey) listItem {
	it := listItem{
		Name:      b.Name,
		Time:      b.Time.UTC().Format(time.RFC3339),
		Size:      b.Size,
		Format:    string(b.Format),
		SHA256:    b.SHA256,
		Partial:   b.Partial,
		Restored:  newRestoredJSON(b.Restored),
		Encrypted: b.Encrypted(),
		Signed:    b.Signature != "",

		Recoverable: b.Recoverable(),
	}
	if b.Recoverable() {
		it.Binlog, it.BinlogServer = b.Binlog, b.BinlogServer
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
	All      bool               `name:"all-remotes" help:"list the backups of the primary and of every --copy-to remote, and which remote holds which"`
	Copies   copyToFlags        `embed:""`
	Debug    bool               `help:"log debugging detail"`
}

func (c *listCmd) run(ctx context.Context, a *app, p *cli.Problems) error {
	st := c.Remote.Resolve(p)
	keys := c.Verify.Resolve(p)
	if c.Partials && !c.JSON {
		p.Addf("--partials applies to --json: the text listing always shows unfinished uploads")
	}
	copies := c.Copies.resolve(p, st.Remote)
	if err := p.Err(); err != nil {
		return err
	}
	if c.All {
		return listAllRemotes(ctx, a, st, copies, c.JSON, cli.NewLogger(a.stderr, c.Debug))
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
		fmt.Fprintln(tw, "NAME\tTIME (UTC)\tSIZE\tFORMAT\tCHECKSUM\tENCRYPTED\tSIGNED\tLAST RESTORED (UTC)")
		for _, b := range l.Backups {
			sum := "not recorded"
			if b.SHA256 != "" {
				sum = "recorded"
			}
			enc := "no"
			if b.Encrypted() {
				enc = "yes"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.Name, b.Time.UTC().Format(time.DateTime), cli.Bytes(b.Size), b.Format, sum, enc, signedColumn(b, keys), restoredText(b.Restored))
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
	if b := l.Blocked; b != nil {
		fmt.Fprintf(a.stdout, "\n%s\n", blockedText(b, store.DeleteFix()))
	}
	if len(l.Foreign) > 0 {
		fmt.Fprintf(a.stdout, "%s in the folder not shown\n", otherFiles(st.Codec(), l.Foreign))
	}
	return nil
}

// rowCount writes a number of rows short: 512, 12.3k, 2.1M, 1.5G.
func rowCount(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprint(n)
	case n < 1_000_000:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	case n < 1_000_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1fG", float64(n)/1e9)
}

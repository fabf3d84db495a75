package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rclone/rclone/backend/drive"
	"github.com/rclone/rclone/fs"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/daemon"
)

// statusCmd says in one screen whether backups work: the remote, its
// backups, the newest and its age, the newest proven restore, a suspect
// backup holding retention or a blocked retention, Drive's trash, and what
// a local serve says. It fails (exit 1) when the backups are not healthy,
// so that it can serve as a health check of its own; degraded (retention
// blocked) exits 0.
type statusCmd struct {
	Remote   cli.RemoteFlags `embed:""`
	Shape    shapeFlags      `embed:""`
	Schedule string          `help:"the backup schedule serve runs (5 cron fields, UTC): the newest backup must be younger than twice its interval" default:"${schedule}" env:"BACKUPD_SCHEDULE"`
	Listen   string          `help:"address of a local serve's /healthz; \"\" or \"off\" asks none" default:"${listen}" env:"BACKUPD_LISTEN"`
	Now      time.Time       `help:"judge as if it were this time, RFC 3339; when unset, now" format:"2006-01-02T15:04:05Z07:00" hidden:""`
	JSON     bool            `name:"json" help:"print the status as one JSON object"`
	Debug    bool            `help:"log debugging detail"`
}

// statusInput is everything the status is judged from.
type statusInput struct {
	Now     time.Time
	Remote  string
	Listing catalog.Listing
	Shapes  []backup.Shape
	Shape   backup.ShapePolicy
	Limit   time.Duration // the health limit on the newest backup's age
	// Trash is the bytes in the remote's trash, -1 when unknown; TrashNote
	// says why it is unknown ("" when the remote has no trash).
	Trash     int64
	TrashNote string
	// Listen is the serve asked; Serve its answer, nil when ServeErr says
	// why there is none.
	Listen   string
	Serve    *daemon.Health
	ServeErr string
	// DeleteFix says what lets the account delete in the remote, for a
	// listing that holds the record of a blocked retention.
	DeleteFix string
}

// statusReport is the output of "status --json".
type statusReport struct {
	Time     string   `json:"time"`
	Healthy  bool     `json:"healthy"`
	Problems []string `json:"problems,omitempty"`
	// Degraded is a healthy status with warnings: backups are made, but
	// something needs an operator (retention is blocked).
	Degraded     bool          `json:"degraded,omitempty"`
	Warnings     []string      `json:"warnings,omitempty"`
	Blocked      *blockedJSON  `json:"retention_blocked,omitempty"`
	Remote       string        `json:"remote"`
	Backups      int           `json:"backups"`
	TotalBytes   int64         `json:"total_bytes"`
	Newest       *newestJSON   `json:"newest,omitempty"`
	HealthLimit  string        `json:"health_limit"`
	LastRestore  *lastRestJSON `json:"last_restore,omitempty"`
	Suspect      *suspectJSON  `json:"suspect,omitempty"`
	TrashBytes   *int64        `json:"trash_bytes,omitempty"`
	TrashNote    string        `json:"trash_note,omitempty"`
	Serve        *serveJSON    `json:"serve,omitempty"`
	Partials     int           `json:"partial_uploads,omitempty"`
	IgnoredFiles int           `json:"ignored_files,omitempty"`
}

type newestJSON struct {
	Name       string `json:"name"`
	Time       string `json:"time"`
	AgeSeconds int64  `json:"age_seconds"`
}

type lastRestJSON struct {
	Backup   string        `json:"backup"`
	Restored *restoredJSON `json:"restored"`
}

type suspectJSON struct {
	Backup          string `json:"backup"`
	Dropped         string `json:"dropped"`
	RetentionPaused bool   `json:"retention_paused"`
}

type blockedJSON struct {
	Since string `json:"since"` // RFC 3339, UTC: when the remote recorded it
	Fix   string `json:"fix"`
}

type serveJSON struct {
	Listen       string `json:"listen"`
	Reachable    bool   `json:"reachable"`
	Error        string `json:"error,omitempty"` // why it could not be asked
	Status       string `json:"status,omitempty"`
	RunningSince string `json:"running_since,omitempty"` // a backup run is going on, started then
	LastAttempt  string `json:"last_attempt,omitempty"`
	LastResult   string `json:"last_result,omitempty"`
	LastError    string `json:"last_error,omitempty"`
	NextBackup   string `json:"next_backup,omitempty"`
}

// judge decides the status. Healthy means: the newest backup is younger
// than the health limit, no suspect backup that no one accepted holds
// retention, and serve's last run (when a serve answers) did not fail.
// Degraded is healthy with a warning: retention is blocked (the remote
// refuses deletes), so backups are made but old ones are not deleted.
func judge(in statusInput) statusReport {
	r := statusReport{Time: in.Now.UTC().Format(time.RFC3339), Remote: in.Remote, Backups: len(in.Listing.Backups),
		HealthLimit: in.Limit.String(), Partials: len(in.Listing.Partials), IgnoredFiles: len(in.Listing.Ignored)}
	for _, b := range in.Listing.Backups {
		r.TotalBytes += max(b.Size, 0)
	}
	if n := len(in.Listing.Backups); n > 0 {
		b := in.Listing.Backups[n-1]
		age := in.Now.Sub(b.Time)
		r.Newest = &newestJSON{Name: b.Name, Time: b.Time.UTC().Format(time.RFC3339), AgeSeconds: int64(age.Seconds())}
		if age >= in.Limit {
			r.Problems = append(r.Problems, fmt.Sprintf("the newest backup is %s old, older than %s", short(age), short(in.Limit)))
		}
	} else {
		r.Problems = append(r.Problems, "the remote holds no backup")
	}
	if b, ok := lastRestore(in.Listing.Backups); ok {
		r.LastRestore = &lastRestJSON{Backup: b.Name, Restored: newRestoredJSON(b.Restored)}
	}
	if p := backup.Brake(in.Shapes, in.Shape); p != nil {
		r.Suspect = &suspectJSON{Backup: p.Backup, Dropped: p.Code, RetentionPaused: true}
		r.Problems = append(r.Problems, fmt.Sprintf("retention is paused by the suspect backup %s: check it, then backupd accept %s", p.Backup, p.Backup))
	}
	if b := in.Listing.Blocked; b != nil {
		r.Blocked = &blockedJSON{Since: b.ModTime.UTC().Format(time.RFC3339), Fix: in.DeleteFix}
		r.Warnings = append(r.Warnings, blockedText(b, in.DeleteFix))
	}
	if in.Trash >= 0 {
		r.TrashBytes = &in.Trash
	}
	r.TrashNote = in.TrashNote
	if in.Listen != "" {
		s := &serveJSON{Listen: in.Listen, Error: in.ServeErr}
		if h := in.Serve; h != nil {
			s.Reachable, s.Status, s.LastAttempt, s.LastResult, s.LastError, s.NextBackup = true, h.Status, h.LastAttempt, h.LastResult, h.LastError, h.NextBackup
			s.RunningSince = h.RunningSince
			if h.LastResult == daemon.ResultFailure || h.LastResult == daemon.ResultCancelled {
				r.Problems = append(r.Problems, "serve's last run did not succeed: "+h.LastError)
			}
		}
		r.Serve = s
	}
	r.Healthy = len(r.Problems) == 0
	r.Degraded = r.Healthy && len(r.Warnings) > 0
	return r
}

// render writes the status for a terminal: 80 columns, about 15 lines.
func render(w io.Writer, r statusReport) {
	now, _ := time.Parse(time.RFC3339, r.Time)
	state := "HEALTHY"
	switch {
	case !r.Healthy:
		state = "UNHEALTHY"
	case r.Degraded:
		state = "DEGRADED"
	}
	fmt.Fprintf(w, "backupd status at %s: %s\n", now.Format("2006-01-02 15:04 UTC"), state)
	line := func(k, v string) {
		for i, l := range wrap(v, 66) {
			if i > 0 {
				k = ""
			}
			fmt.Fprintf(w, "  %-10s %s\n", k, l)
		}
	}
	line("remote", r.Remote)
	line("backups", fmt.Sprintf("%d, %s", r.Backups, cli.Bytes(r.TotalBytes)))
	if r.Newest != nil {
		t, _ := time.Parse(time.RFC3339, r.Newest.Time)
		line("newest", r.Newest.Name)
		line("", fmt.Sprintf("%s, %s old (limit %s)", t.Format("2006-01-02 15:04"), short(time.Duration(r.Newest.AgeSeconds)*time.Second), short(mustDuration(r.HealthLimit))))
	} else {
		line("newest", "none")
	}
	if lr := r.LastRestore; lr != nil {
		at, _ := time.Parse(time.RFC3339, lr.Restored.At)
		line("restored", lr.Backup)
		rows := "rows unknown"
		if lr.Restored.Rows != nil {
			rows = rowCount(*lr.Restored.Rows) + " rows"
			if lr.Restored.RowsEstimated {
				rows = "~" + rows
			}
		}
		line("", fmt.Sprintf("at %s on %s: %d tables, %s, %ds",
			at.Format("2006-01-02 15:04"), lr.Restored.Host, lr.Restored.Tables, rows, lr.Restored.Seconds))
		if lr.Restored.Fallbacks > 0 {
			line("", fmt.Sprintf("after skipping %d unusable newer %s", lr.Restored.Fallbacks, plural(lr.Restored.Fallbacks, "backup")))
		}
	} else {
		line("restored", "no restore recorded on any backup")
	}
	switch {
	case r.Suspect != nil:
		line("retention", "PAUSED by suspect "+r.Suspect.Backup+" ("+r.Suspect.Dropped+" dropped)")
	case r.Blocked != nil:
		since, _ := time.Parse(time.RFC3339, r.Blocked.Since)
		line("retention", "BLOCKED since "+since.Format("2006-01-02 15:04")+": the remote refuses deletes")
	default:
		line("retention", "running")
	}
	switch {
	case r.TrashBytes != nil:
		line("trash", cli.Bytes(*r.TrashBytes))
	case r.TrashNote != "":
		line("trash", r.TrashNote)
	}
	if n := r.Partials; n > 0 {
		line("uploads", fmt.Sprintf("%d unfinished", n))
	}
	if s := r.Serve; s != nil {
		if !s.Reachable {
			line("serve", "not answering on "+s.Listen+" ("+lastPart(s.Error)+")")
		} else {
			last := "no run yet"
			if s.LastAttempt != "" {
				t, _ := time.Parse(time.RFC3339, s.LastAttempt)
				last = "last run " + t.Format("15:04") + " " + s.LastResult
			}
			if t, err := time.Parse(time.RFC3339, s.RunningSince); err == nil {
				last = "running since " + t.Format("15:04") + ", " + last
			}
			next := ""
			if t, err := time.Parse(time.RFC3339, s.NextBackup); err == nil {
				next = ", next " + t.Format("15:04")
			}
			line("serve", s.Listen+": "+last+next)
			if s.LastError != "" {
				line("", "error: "+s.LastError)
			}
		}
	}
	for _, p := range append(r.Problems, r.Warnings...) {
		for i, l := range wrap(p, 76) {
			if i == 0 {
				fmt.Fprintf(w, "! %s\n", l)
			} else {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
}

func (c *statusCmd) run(ctx context.Context, a *app, p *cli.Problems) error {
	st := c.Remote.Resolve(p)
	shape := c.Shape.policy(p)
	now := c.Now
	if now.IsZero() {
		now = time.Now()
	}
	sched := parseSchedule(p, "schedule", c.Schedule, now)
	if err := p.Err(); err != nil {
		return err
	}
	log := cli.NewLogger(a.stderr, c.Debug)
	store, err := cli.OpenStore(ctx, st, log)
	if err != nil {
		return err
	}
	entries, err := store.List(ctx)
	if err != nil {
		return fmt.Errorf("list backups: %w", err)
	}
	in := statusInput{Now: now, Remote: store.String(), Listing: st.Codec().Scan(entries, now),
		Shapes: backup.Shapes(st.Codec(), entries, now), Shape: shape, Limit: daemon.HealthLimit(sched, now), Trash: -1,
		DeleteFix: store.DeleteFix()}
	in.Trash, in.TrashNote = trash(ctx, store.Fs())
	if !strings.EqualFold(c.Listen, "off") && c.Listen != "" {
		in.Listen = c.Listen
		in.Serve, in.ServeErr = askServe(ctx, c.Listen)
	}
	r := judge(in)
	if c.JSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("write status: %w", err)
		}
	} else {
		render(a.stdout, r)
	}
	if !r.Healthy {
		return errors.New("unhealthy: " + strings.Join(r.Problems, "; "))
	}
	return nil
}

// trash asks the remote how much its trash holds. rclone's drive backend
// reports it for a My Drive only; a Shared Drive reports no usage.
func trash(ctx context.Context, f fs.Fs) (int64, string) {
	_, isDrive := f.(*drive.Fs)
	about := f.Features().About
	if about == nil || !isDrive {
		return -1, ""
	}
	u, err := about(ctx)
	switch {
	case err != nil:
		return -1, "unknown: " + err.Error()
	case u.Trashed == nil:
		return -1, "not reported for Shared Drives"
	}
	return *u.Trashed, ""
}

// askServe reads a local serve's /healthz.
func askServe(ctx context.Context, listen string) (*daemon.Health, string) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+listen+"/healthz", nil)
	if err != nil {
		return nil, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap()
		}
		return nil, err.Error()
	}
	defer resp.Body.Close()
	var h daemon.Health
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&h); err != nil {
		return nil, "not a backupd /healthz answer (" + resp.Status + ")"
	}
	return &h, ""
}

// short writes a duration in at most two units: 45s, 10m, 2h5m, 3d4h.
func short(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < 0:
		return "-" + short(-d)
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		if m := int(d.Minutes()) % 60; m != 0 {
			return fmt.Sprintf("%dh%dm", int(d.Hours()), m)
		}
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

func mustDuration(s string) time.Duration {
	d, _ := time.ParseDuration(s)
	return d
}

// wrap breaks s into lines of at most n bytes at spaces; a word longer
// than n is cut.
func wrap(s string, n int) []string {
	var out []string
	for len(s) > n {
		i := strings.LastIndexByte(s[:n+1], ' ')
		if i <= 0 {
			i = n
		}
		out = append(out, strings.TrimRight(s[:i], " "))
		s = strings.TrimLeft(s[i:], " ")
	}
	return append(out, s)
}

// lastPart is the innermost cause of an error message: "connection
// refused" of "dial tcp 127.0.0.1:9187: connect: connection refused".
func lastPart(msg string) string {
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// Package notify sends alerts through shoutrrr (github.com/nicholas-fedor/shoutrrr)
// to any of its services: e-mail over SMTP, a generic webhook, Slack,
// Teams, Telegram and the rest, each named by a URL.
//
// A Notifier sends one message per cause per period (an hour by default)
// and counts the repeats it held back, which the next message of the
// cause reports. Sending never fails the caller: a destination that fails
// is logged (without its URL, which usually holds a secret) and counted.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/nicholas-fedor/shoutrrr/pkg/router"
	"github.com/nicholas-fedor/shoutrrr/pkg/types"
)

// Cause is why a message is sent; messages are rate-limited per cause.
type Cause string

// The causes. There is none for a plain success: it is never worth a
// message.
const (
	BackupFailed     Cause = "backup_failed"     // a backup run failed
	Recovered        Cause = "recovered"         // the first good backup after failures
	Suspect          Cause = "suspect"           // a backup was published with a suspect shape
	RetentionPaused  Cause = "retention_paused"  // retention deletes nothing until a suspect backup is accepted
	RetentionBlocked Cause = "retention_blocked" // the remote refuses deletes: nothing is deleted until the account may
	Stale            Cause = "stale"             // the newest backup is older than the health limit
	RestoreFailed    Cause = "restore_failed"    // yesterday-restore restored nothing
	RestoreFellBack  Cause = "restore_fell_back" // it restored, but only after skipping unusable backups
	// RestoreWouldRefuse: serve found at start-up that the restore would
	// refuse what its dump tool writes against its server.
	RestoreWouldRefuse Cause = "restore_would_refuse"
	// BinlogGap: part of the binary log was not copied (purged first,
	// another server, a fresh start): recovery cannot cross it until a
	// new backup.
	BinlogGap Cause = "binlog_gap"
	// BinlogStalled: the binary log stream made no progress for twice
	// its flush interval.
	BinlogStalled Cause = "binlog_stalled"
	Test          Cause = "test" // backupd doctor --notify-test
)

// Causes lists every cause, for metrics that start at zero.
var Causes = []Cause{BackupFailed, Recovered, Suspect, RetentionPaused, RetentionBlocked, Stale, RestoreFailed, RestoreFellBack, RestoreWouldRefuse,
	BinlogGap, BinlogStalled, Test}

// Results of one destination or one message, as Options.Observe receives them.
const (
	Sent       = "sent"       // a destination accepted the message
	Failed     = "failed"     // a destination failed
	Suppressed = "suppressed" // the message was held back as a repeat
)

// DefaultEvery is the rate limit: one message per cause per hour.
const DefaultEvery = time.Hour

// DefaultTimeout bounds the delivery to one destination.
const DefaultTimeout = 15 * time.Second

// Options tune a Notifier. The zero value is usable.
type Options struct {
	// Every is the least time between two messages of one cause;
	// DefaultEvery when zero.
	Every time.Duration
	// Timeout bounds the delivery to each destination; DefaultTimeout
	// when zero.
	Timeout time.Duration
	// Source names the sender in every title, such as "backupd on app-1".
	Source string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Observe, when set, is told of each destination's result (Sent or
	// Failed) and of each message held back (Suppressed).
	Observe func(c Cause, result string)
	Log     *slog.Logger
}

type destination struct {
	label string // "notify URL 2 (smtp)": never the URL
	url   string
	svc   types.Service
}

// Notifier sends alerts to a fixed set of destinations. A nil *Notifier
// sends nothing. It is safe for concurrent use.
type Notifier struct {
	dests []destination
	opt   Options

	mu         sync.Mutex
	last       map[Cause]time.Time
	suppressed map[Cause]int
	since      map[Cause]time.Time // first repeat held back
}

// Split splits a list of URLs separated by commas. A comma followed by
// something other than a URL's scheme ("smtp://...?to=a@x,b@y") belongs to
// the URL before it. Blank items are dropped.
func Split(list string) []string {
	var out []string
	start := 0
	for i := 0; i < len(list); i++ {
		if list[i] == ',' && schemeStart.MatchString(list[i+1:]) {
			out = appendTrimmed(out, list[start:i])
			start = i + 1
		}
	}
	return appendTrimmed(out, list[start:])
}

var schemeStart = regexp.MustCompile(`^\s*[A-Za-z][A-Za-z0-9+.-]*://`)

func appendTrimmed(out []string, s string) []string {
	if s = strings.Trim(s, " \t\r\n,"); s != "" {
		out = append(out, s)
	}
	return out
}

// Secrets returns the parts of a URL that may be secret (user, password,
// long path segments and query values), for a log redactor.
func Secrets(raw string) []string {
	out := []string{raw}
	u, err := url.Parse(raw)
	if err != nil {
		return out
	}
	if u.User != nil {
		out = append(out, u.User.Username())
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		}
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if len(seg) >= 8 {
			out = append(out, seg)
		}
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if len(v) >= 8 {
				out = append(out, v)
			}
		}
	}
	return out
}

// New checks the URLs and builds a Notifier. An error names the URL by its
// place in the list and its service, never by the URL itself. No URLs make
// a Notifier that sends nothing.
func New(urls []string, opt Options) (*Notifier, error) {
	if opt.Every <= 0 {
		opt.Every = DefaultEvery
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{opt: opt, last: map[Cause]time.Time{}, suppressed: map[Cause]int{}, since: map[Cause]time.Time{}}
	var r router.ServiceRouter // no logger: shoutrrr logs whole URLs
	for i, raw := range urls {
		label := fmt.Sprintf("notify URL %d", i+1)
		scheme, _, ok := strings.Cut(raw, "://")
		if !ok || !schemeStart.MatchString(raw) {
			return nil, fmt.Errorf("%s: not a URL such as smtp://user:password@host:587/?from=a@example.com&to=b@example.com", label)
		}
		label += " (" + strings.ToLower(scheme) + ")"
		svc, err := r.Locate(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: see the service's URL format in docs/alerts.md", label, scrub(err.Error(), raw))
		}
		n.dests = append(n.dests, destination{label: label, url: raw, svc: svc})
	}
	return n, nil
}

// Len is the number of destinations.
func (n *Notifier) Len() int {
	if n == nil {
		return 0
	}
	return len(n.dests)
}

// Notify sends text for cause to every destination, unless a message of
// the same cause went out less than Every ago: then it is held back and
// counted, and the next message of the cause says how many were. It
// returns when every destination has answered or timed out; failures are
// logged and observed, never returned.
func (n *Notifier) Notify(ctx context.Context, c Cause, text string) {
	if n == nil || len(n.dests) == 0 {
		return
	}
	now := n.opt.Now()
	n.mu.Lock()
	if last, ok := n.last[c]; ok && now.Sub(last) < n.opt.Every {
		if n.suppressed[c] == 0 {
			n.since[c] = now
		}
		n.suppressed[c]++
		n.mu.Unlock()
		n.observe(c, Suppressed)
		n.opt.Log.Info("notification held back: one per cause per period", "cause", string(c),
			"last_sent", last.UTC().Format(time.RFC3339), "every", n.opt.Every.String())
		return
	}
	held, since := n.suppressed[c], n.since[c]
	n.mu.Unlock()
	if held > 0 {
		text += fmt.Sprintf("\n\n(%d more %s since %s not sent: one message per %s)", held,
			plural(held, "alert", "alerts"), since.UTC().Format("2006-01-02 15:04 UTC"), n.opt.Every)
	}
	if errs := n.send(ctx, c, title(n.opt.Source, c), text); len(errs) < len(n.dests) {
		n.mu.Lock()
		n.last[c] = now
		n.suppressed[c] = 0
		n.mu.Unlock()
	}
}

// Reset forgets when a message of cause c was last sent, so that the next
// one goes out at once: a failure after a recovery must not be held back
// behind the failure before it.
func (n *Notifier) Reset(c Cause) {
	if n == nil {
		return
	}
	n.mu.Lock()
	delete(n.last, c)
	n.mu.Unlock()
}

// Result is one destination's answer to Test.
type Result struct {
	Destination string // "notify URL 2 (smtp)"
	Err         error  // nil when the destination accepted the message
}

// Test sends text to every destination, ignoring the rate limit, and
// returns each destination's answer in the order of the URLs.
func (n *Notifier) Test(ctx context.Context, text string) []Result {
	if n == nil {
		return nil
	}
	errs := n.send(ctx, Test, title(n.opt.Source, Test), text)
	out := make([]Result, len(n.dests))
	for i, d := range n.dests {
		out[i] = Result{Destination: d.label, Err: errs[i]}
	}
	return out
}

// send delivers to every destination at once and returns the failures by
// destination index.
func (n *Notifier) send(ctx context.Context, c Cause, title, text string) map[int]error {
	errs := map[int]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, d := range n.dests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := deliver(ctx, d, title, text, n.opt.Timeout)
			if err != nil {
				mu.Lock()
				errs[i] = err
				mu.Unlock()
				n.observe(c, Failed)
				n.opt.Log.Warn("notification failed", "cause", string(c), "to", d.label, "err", err)
				return
			}
			n.observe(c, Sent)
			n.opt.Log.Info("notification sent", "cause", string(c), "to", d.label)
		}()
	}
	wg.Wait()
	return errs
}

// deliver sends one message. shoutrrr takes no context, so a send that
// outlives the timeout is abandoned (its own timeouts end it later).
func deliver(ctx context.Context, d destination, title, text string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		params := types.Params{"title": title}
		done <- d.svc.Send(text, &params)
	}()
	select {
	case err := <-done:
		if err != nil {
			return errors.New(scrub(err.Error(), d.url))
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("no answer within %s", timeout)
	}
}

func (n *Notifier) observe(c Cause, result string) {
	if n.opt.Observe != nil {
		n.opt.Observe(c, result)
	}
}

// scrub removes a URL and its secret parts from an error message.
func scrub(msg, raw string) string {
	for _, s := range Secrets(raw) {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "<redacted>")
		}
	}
	return msg
}

var titles = map[Cause]string{
	BackupFailed:       "backup failed",
	Recovered:          "backups work again",
	Suspect:            "suspect backup",
	RetentionPaused:    "retention paused",
	RetentionBlocked:   "retention blocked",
	Stale:              "no recent backup",
	RestoreFailed:      "restore failed",
	RestoreFellBack:    "restore fell back to an older backup",
	RestoreWouldRefuse: "the restore would refuse the backups",
	BinlogGap:          "gap in the binary log copy",
	BinlogStalled:      "binary log stream stalled",
	Test:               "test message",
}

func title(source string, c Cause) string {
	t := titles[c]
	if t == "" {
		t = string(c)
	}
	if source == "" {
		return t
	}
	return source + ": " + t
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

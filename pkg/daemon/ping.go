package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Pinger sends heartbeat pings in the healthchecks.io convention: a POST to
// <URL>/start when a run begins, to <URL> when it succeeded, and to
// <URL>/fail with the reason as the body when it failed, and to <URL>/log
// for a run skipped because another process took its slot (an entry in the
// check's log that changes nothing). Each ping carries
// the run id as the "rid" query parameter so the service can pair start
// and end. A ping that fails is logged and otherwise ignored: monitoring
// must never fail a backup.
//
// The URL usually embeds a secret check key, so it is never logged; only
// its host is.
type Pinger struct {
	URL     string
	HTTP    *http.Client  // http.DefaultClient when nil
	Timeout time.Duration // per ping; 5s when zero
	Log     *slog.Logger
}

// ParsePingURL checks a ping URL given in the configuration.
func ParsePingURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an http or https URL such as https://hc-ping.com/<uuid>")
	}
	return nil
}

// Start reports that run rid has begun.
func (p *Pinger) Start(ctx context.Context, rid string) { p.send(ctx, "start", rid, "") }

// Success reports that run rid succeeded; msg becomes the ping body.
func (p *Pinger) Success(ctx context.Context, rid, msg string) { p.send(ctx, "", rid, msg) }

// Fail reports that run rid failed, with a short reason as the body.
func (p *Pinger) Fail(ctx context.Context, rid, reason string) { p.send(ctx, "fail", rid, reason) }

// Note adds msg to the check's event log without changing its state: for
// a run that was skipped, neither succeeded nor failed.
func (p *Pinger) Note(ctx context.Context, rid, msg string) { p.send(ctx, "log", rid, msg) }

func (p *Pinger) send(ctx context.Context, kind, rid, body string) {
	if p == nil || p.URL == "" {
		return
	}
	log := p.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		log.Warn("ping not sent: bad ping URL")
		return
	}
	if kind != "" {
		u.Path = strings.TrimRight(u.Path, "/") + "/" + kind
	}
	if rid != "" {
		q := u.Query()
		q.Set("rid", rid)
		u.RawQuery = q.Encode()
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	// A run cancelled by shutdown still reports its failure, within the
	// ping's own short timeout.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(clip(body, 10_000)))
	if err != nil {
		log.Warn("ping not sent", "kind", pingKind(kind), "err", err)
		return
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	hc := p.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		// url.Error quotes the whole URL, secret key included: keep only
		// the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		log.Warn("ping failed", "kind", pingKind(kind), "host", u.Host, "err", err)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		log.Warn("ping refused", "kind", pingKind(kind), "host", u.Host, "status", resp.Status)
		return
	}
	log.Debug("ping sent", "kind", pingKind(kind), "host", u.Host)
}

func pingKind(k string) string {
	if k == "" {
		return "success"
	}
	return k
}

// summary is the body of a success ping.
func summary(name string, raw, stored int64, d time.Duration) string {
	return fmt.Sprintf("backup %s: %d bytes raw, %d bytes stored, %s", name, raw, stored, d.Round(time.Millisecond))
}

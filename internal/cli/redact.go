package cli

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
)

// Patterns of secrets that must never reach a log line, whoever logs
// them: rclone with RCLONE_DUMP set, an error quoting an HTTP exchange, or
// a careless message.
var secretPatterns = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----`), "<redacted private key>"},
	{regexp.MustCompile(`(?i)(bearer\s+)[0-9A-Za-z_\-.~+/]+=*`), "${1}<redacted>"},
	{regexp.MustCompile(`(assertion=)[^&\s]+`), "${1}<redacted>"},
	{regexp.MustCompile(`("(?:access_token|refresh_token|id_token|private_key_id|private_key)"\s*:\s*")(?:[^"\\]|\\.)*`), "${1}<redacted>"},
	{regexp.MustCompile(`ya29\.[0-9A-Za-z_\-.]+`), "ya29.<redacted>"},
	{regexp.MustCompile(`eyJ[0-9A-Za-z_\-]+\.[0-9A-Za-z_\-]+\.[0-9A-Za-z_\-]+`), "<redacted JWT>"},
	{regexp.MustCompile(`AGE-SECRET-KEY-(?:PQ-)?1[0-9A-Z]+`), "<redacted age identity>"},
	{regexp.MustCompile(`BACKUPD-SIGN-KEY-1[0-9A-Za-z_\-]+`), "<redacted signing key>"},
}

var (
	secretsMu sync.RWMutex
	secrets   []string
)

// AddSecret makes the logger redact s wherever it appears. Values shorter
// than 8 bytes are ignored: redacting them would mangle ordinary words.
func AddSecret(s string) {
	if len(s) < 8 {
		return
	}
	secretsMu.Lock()
	defer secretsMu.Unlock()
	for _, have := range secrets {
		if have == s {
			return
		}
	}
	secrets = append(secrets, s)
}

// Redact returns s with every known secret and everything shaped like a
// private key, access token, JWT or bearer credential replaced.
func Redact(s string) string {
	secretsMu.RLock()
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, "<redacted>")
	}
	secretsMu.RUnlock()
	for _, p := range secretPatterns {
		s = p.re.ReplaceAllString(s, p.with)
	}
	return s
}

// redactHandler passes records on with Redact applied to the message and
// to every string, error and Stringer attribute.
type redactHandler struct{ h slog.Handler }

func (r redactHandler) Enabled(ctx context.Context, l slog.Level) bool { return r.h.Enabled(ctx, l) }

func (r redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, Redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return r.h.Handle(ctx, out)
}

func (r redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = redactAttr(a)
	}
	return redactHandler{r.h.WithAttrs(red)}
}

func (r redactHandler) WithGroup(name string) slog.Handler { return redactHandler{r.h.WithGroup(name)} }

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, x := range g {
			red[i] = redactAttr(x)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, Redact(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, Redact(x.String()))
		case []byte:
			return slog.String(a.Key, Redact(string(x)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

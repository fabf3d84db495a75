package cli

import (
	"log/slog"
	"os"

	"github.com/backupd/backupd/pkg/notify"
)

// NewNotifier builds the Notifier for a list of shoutrrr URLs separated by
// commas (a --notify flag or its environment variable), after registering
// the URLs and their secret parts with the log redactor: a notification
// URL holds a password or a token. program names the sender in every
// alert's title, with the host ("backupd on app-1"). An empty list gives a
// nil Notifier, which sends nothing.
func NewNotifier(list, program string, log *slog.Logger, observe func(notify.Cause, string)) (*notify.Notifier, error) {
	urls := notify.Split(list)
	for _, u := range urls {
		for _, s := range notify.Secrets(u) {
			AddSecret(s)
		}
	}
	if len(urls) == 0 {
		return nil, nil
	}
	source := program
	if h, err := os.Hostname(); err == nil && h != "" {
		source += " on " + h
	}
	return notify.New(urls, notify.Options{Source: source, Log: log.With("component", "notify"), Observe: observe})
}

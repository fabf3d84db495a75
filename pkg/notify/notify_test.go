package notify_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/notifytest"
	"github.com/backupd/backupd/pkg/notify"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type observed struct {
	mu  sync.Mutex
	got []string
}

func (o *observed) add(c notify.Cause, r string) {
	o.mu.Lock()
	o.got = append(o.got, string(c)+" "+r)
	o.mu.Unlock()
}

func TestWebhookAndSMTP(t *testing.T) {
	hook, mail := notifytest.NewWebhook(t), notifytest.NewSMTP(t)
	n, err := notify.New([]string{hook.URL(), mail.URL()}, notify.Options{Source: "backupd on app-1"})
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(context.Background(), notify.BackupFailed, "backup run failed: dump: exit status 2")
	for name, msgs := range map[string][]notifytest.Message{"webhook": hook.Messages(), "smtp": mail.Messages()} {
		if len(msgs) != 1 {
			t.Fatalf("%s got %d messages, want 1", name, len(msgs))
		}
		if got, want := msgs[0].Title, "backupd on app-1: backup failed"; got != want {
			t.Errorf("%s title = %q, want %q", name, got, want)
		}
		if got, want := msgs[0].Body, "backup run failed: dump: exit status 2"; got != want {
			t.Errorf("%s body = %q, want %q", name, got, want)
		}
	}
}

func TestRateLimit(t *testing.T) {
	hook := notifytest.NewWebhook(t)
	c := &clock{time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)}
	var obs observed
	n, err := notify.New([]string{hook.URL()}, notify.Options{Now: c.now, Observe: obs.add})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n.Notify(ctx, notify.BackupFailed, "one")
	c.t = c.t.Add(10 * time.Minute)
	n.Notify(ctx, notify.BackupFailed, "two")
	n.Notify(ctx, notify.Suspect, "other cause") // not held back by another cause
	c.t = c.t.Add(20 * time.Minute)
	n.Notify(ctx, notify.BackupFailed, "three")
	c.t = c.t.Add(31 * time.Minute) // 61 minutes after the first
	n.Notify(ctx, notify.BackupFailed, "four")
	c.t = c.t.Add(time.Minute)
	n.Notify(ctx, notify.BackupFailed, "five")

	var bodies []string
	for _, m := range hook.Messages() {
		bodies = append(bodies, m.Body)
	}
	want := []string{"one", "other cause", "four\n\n(2 more alerts since 2026-12-01 04:10 UTC not sent: one message per 1h0m0s)"}
	if !slices.Equal(bodies, want) {
		t.Errorf("sent %q, want %q", bodies, want)
	}
	wantObs := []string{"backup_failed sent", "backup_failed suppressed", "suspect sent", "backup_failed suppressed", "backup_failed sent", "backup_failed suppressed"}
	if !slices.Equal(obs.got, wantObs) {
		t.Errorf("observed %q, want %q", obs.got, wantObs)
	}

	n.Reset(notify.BackupFailed)
	n.Notify(ctx, notify.BackupFailed, "after a recovery")
	if got := hook.Messages(); len(got) != 4 || !strings.HasPrefix(got[3].Body, "after a recovery") {
		t.Errorf("after Reset, the next failure was held back: %q", got)
	}
}

// TestFailingDestination: one destination down does not stop the others,
// is observed as failed, and a message that reached nobody is not taken
// for sent: the next one goes out without waiting for the period.
func TestFailingDestination(t *testing.T) {
	down, up := notifytest.NewWebhook(t), notifytest.NewWebhook(t)
	down.SetFail(true)
	var obs observed
	n, err := notify.New([]string{down.URL(), up.URL()}, notify.Options{Observe: obs.add})
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(context.Background(), notify.Stale, "stale")
	if got := len(up.Messages()); got != 1 {
		t.Errorf("the working destination got %d messages, want 1", got)
	}
	slices.Sort(obs.got)
	if want := []string{"stale failed", "stale sent"}; !slices.Equal(obs.got, want) {
		t.Errorf("observed %q, want %q", obs.got, want)
	}

	only, err := notify.New([]string{down.URL()}, notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	only.Notify(context.Background(), notify.Stale, "lost")
	down.SetFail(false)
	only.Notify(context.Background(), notify.Stale, "retried")
	if got := down.Messages(); len(got) != 1 || got[0].Body != "retried" {
		t.Errorf("after a message that reached nobody: %q", got)
	}
}

func TestTestReportsEachURL(t *testing.T) {
	down, mail := notifytest.NewWebhook(t), notifytest.NewSMTP(t)
	down.SetFail(true)
	n, err := notify.New([]string{mail.URL(), down.URL()}, notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := n.Test(context.Background(), "test")
	if len(res) != 2 || res[0].Err != nil || res[1].Err == nil {
		t.Fatalf("Test = %+v, want the first to succeed and the second to fail", res)
	}
	if got, want := res[0].Destination, "notify URL 1 (smtp)"; got != want {
		t.Errorf("destination = %q, want %q", got, want)
	}
	if strings.Contains(res[1].Err.Error(), "127.0.0.1") && strings.Contains(res[1].Err.Error(), "/hook") {
		t.Errorf("error quotes the URL: %v", res[1].Err)
	}
}

func TestNewNeverQuotesTheURL(t *testing.T) {
	for _, raw := range []string{
		"nosuchservice://user:s3cretpassw0rd@host/",
		"not a url s3cretpassw0rd",
		"smtp://user:s3cretpassw0rd@host:587/?from=a@example.com",
	} {
		_, err := notify.New([]string{"generic+http://127.0.0.1:1/x", raw}, notify.Options{})
		if err == nil {
			t.Errorf("New(%q) accepted it", raw)
			continue
		}
		if strings.Contains(err.Error(), "s3cretpassw0rd") {
			t.Errorf("New(%q) = %v: quotes the secret", raw, err)
		}
		if !strings.Contains(err.Error(), "notify URL 2") {
			t.Errorf("New(%q) = %v: does not say which URL", raw, err)
		}
	}
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" generic+https://h/x , smtp://u:p@h:587/?from=a@x&to=b@x,c@x ,", []string{"generic+https://h/x", "smtp://u:p@h:587/?from=a@x&to=b@x,c@x"}},
		{"slack://a/b/c,teams://x", []string{"slack://a/b/c", "teams://x"}},
	} {
		if got := notify.Split(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Split(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNilNotifier(t *testing.T) {
	var n *notify.Notifier
	n.Notify(context.Background(), notify.BackupFailed, "x")
	n.Reset(notify.BackupFailed)
	if n.Len() != 0 || n.Test(context.Background(), "x") != nil {
		t.Error("a nil Notifier is not empty")
	}
}

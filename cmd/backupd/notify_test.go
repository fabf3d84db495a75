package main

import (
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/internal/notifytest"
)

// TestDoctorNotifyTest: one test alert to each URL, a line for each, and
// a failure when any URL fails; the URLs' secrets stay out of the output.
func TestDoctorNotifyTest(t *testing.T) {
	hook, mail := notifytest.NewWebhook(t), notifytest.NewSMTP(t)
	down := notifytest.NewWebhook(t)
	down.SetFail(true)
	secretURL := strings.Replace(down.URL(), "/hook", "/hook/s3cret-webhook-key", 1)
	urls := hook.URL() + "," + mail.URL() + "," + secretURL
	code, stdout, stderr := runApp(t, map[string]string{"BACKUPD_NOTIFY_URLS": urls}, "doctor", "--notify-test")
	if code != cli.ExitFailure {
		t.Errorf("exit %d, want %d with one URL failing\n%s%s", code, cli.ExitFailure, stdout, stderr)
	}
	for _, want := range []string{"ok    notify        notify URL 1 (generic+http): sent", "ok    notify        notify URL 2 (smtp): sent", "FAIL  notify        notify URL 3 (generic+http): "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout+stderr, "s3cret-webhook-key") {
		t.Errorf("a URL's secret reached the output:\n%s%s", stdout, stderr)
	}
	if len(hook.Messages()) != 1 || len(mail.Messages()) != 1 {
		t.Errorf("webhook got %d, mail %d messages, want 1 each", len(hook.Messages()), len(mail.Messages()))
	}
	if got := mail.Messages()[0].Title; !strings.HasPrefix(got, "backupd on ") || !strings.HasSuffix(got, ": test message") {
		t.Errorf("mail subject %q", got)
	}

	code, _, stderr = runApp(t, map[string]string{"BACKUPD_NOTIFY_URLS": "nosuch://user:s3cret-password@x/"}, "doctor", "--notify-test")
	if code != cli.ExitUsage || strings.Contains(stderr, "s3cret-password") || !strings.Contains(stderr, "notify URL 1 (nosuch)") {
		t.Errorf("a bad URL: exit %d, stderr %q", code, stderr)
	}
}

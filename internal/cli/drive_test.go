package cli

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/backupd/backupd/pkg/storage"
)

func TestRemoteFromEnvironment(t *testing.T) {
	const id = "1AbCdEfGhIjKlMnOpQrStUvWxYz_-012"
	cases := []struct {
		name       string
		env        map[string]string
		args       []string
		remote     string
		source     string
		usageWords []string // a usage error mentioning these, when set
	}{
		{name: "nothing set", remote: DefaultLocalRemote},
		{
			name:   "production",
			env:    map[string]string{"GDRIVE_BACKUP_FOLDER_ID": id, "RCLONE_CONFIG_GDRIVE_TYPE": "drive"},
			remote: storage.DriveRemote("gdrive", id), source: "GDRIVE_BACKUP_FOLDER_ID",
		},
		{
			name:   "flag wins",
			env:    map[string]string{"GDRIVE_BACKUP_FOLDER_ID": id, "RCLONE_CONFIG_GDRIVE_TYPE": "drive"},
			args:   []string{"--remote", "gdrive:sub/folder"},
			remote: "gdrive:sub/folder",
		},
		{
			name:   "BACKUPD_REMOTE wins over the folder ID",
			env:    map[string]string{"GDRIVE_BACKUP_FOLDER_ID": id, "RCLONE_CONFIG_GDRIVE_TYPE": "drive", "BACKUPD_REMOTE": "other:x"},
			remote: "other:x",
		},
		{
			name:       "gdrive configured without a folder",
			env:        map[string]string{"RCLONE_CONFIG_GDRIVE_TYPE": "drive"},
			usageWords: []string{"missing GDRIVE_BACKUP_FOLDER_ID", "RCLONE_CONFIG_GDRIVE_TYPE"},
		},
		{
			name:       "folder without the gdrive remote",
			env:        map[string]string{"GDRIVE_BACKUP_FOLDER_ID": id},
			usageWords: []string{"RCLONE_CONFIG_GDRIVE_TYPE=drive", "RCLONE_CONFIG_GDRIVE_SERVICE_ACCOUNT_CREDENTIALS"},
		},
		{
			name:       "folder URL instead of ID",
			env:        map[string]string{"GDRIVE_BACKUP_FOLDER_ID": "https://drive.google.com/drive/folders/" + id, "RCLONE_CONFIG_GDRIVE_TYPE": "drive"},
			usageWords: []string{"not a folder ID"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var g struct {
				Remote RemoteFlags `embed:""`
			}
			parser, err := NewParser(Program{Name: "test", Grammar: &g, Getenv: func(k string) string { return tc.env[k] }})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := parser.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			p := parser.Problems()
			st := g.Remote.Resolve(p)
			err = p.Err()
			if tc.usageWords != nil {
				if !IsUsage(err) {
					t.Fatalf("Remote() = %+v, %v; want a usage error", st, err)
				}
				for _, w := range tc.usageWords {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error does not mention %q: %v", w, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Remote != tc.remote || st.FolderSource != tc.source {
				t.Errorf("Remote() = %q from %q, want %q from %q", st.Remote, st.FolderSource, tc.remote, tc.source)
			}
		})
	}
}

func TestRcloneWarnings(t *testing.T) {
	env := []string{
		"RCLONE_NO_CHECK_CERTIFICATE=true",
		"RCLONE_CONFIG_WEB_NO_CHECK_CERTIFICATE=1",
		"RCLONE_CONFIG_X_NO_CHECK_CERTIFICATE=false", // off: fine
		"RCLONE_DUMP=headers,auth",
		"RCLONE_CA_CERT=/etc/proxy-ca.pem",
		"RCLONE_CONFIG_GDRIVE_TYPE=drive",
		"NO_CHECK_CERTIFICATE=true", // not rclone's
		"RCLONE_CONFIG_GDRIVE_SERVICE_ACCOUNT_CREDENTIALS={\"private_key\":\"x\"}",
	}
	got := RcloneWarnings(env)
	wantStarts := []string{
		"RCLONE_CA_CERT=/etc/proxy-ca.pem",
		"RCLONE_CONFIG_WEB_NO_CHECK_CERTIFICATE=1",
		"RCLONE_DUMP=headers,auth",
		"RCLONE_NO_CHECK_CERTIFICATE=true",
	}
	if len(got) != len(wantStarts) {
		t.Fatalf("got %d warnings, want %d:\n%s", len(got), len(wantStarts), strings.Join(got, "\n"))
	}
	for i, w := range wantStarts {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("warning %d = %q, want it to start with %q", i, got[i], w)
		}
	}
	if !strings.Contains(got[2], "access tokens") {
		t.Errorf("RCLONE_DUMP with auth: %q does not mention tokens", got[2])
	}
	if got := RcloneWarnings([]string{"RCLONE_DUMP=filters", "RCLONE_NO_CHECK_CERTIFICATE="}); len(got) != 0 {
		t.Errorf("harmless settings warned about: %v", got)
	}
	for _, w := range RcloneWarnings(env) {
		if strings.Contains(w, "private_key") {
			t.Errorf("a warning quotes a secret: %q", w)
		}
	}
}

func TestRedact(t *testing.T) {
	AddSecret("correct-horse-battery")
	AddSecret("short") // too short to redact safely
	cases := []struct{ in, leak string }{
		{"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n", "MIIEvQ"},
		{`{"private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\n-----END PRIVATE KEY-----\n", "private_key_id": "0123456789abcdef0123"}`, "0123456789abcdef0123"},
		{"Authorization: Bearer ya29.a0AfH6SMBx-secret.token\r\n", "a0AfH6SMBx"},
		{`{"access_token":"opaque-token-value","expires_in":3599}`, "opaque-token-value"},
		{"assertion=eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl&grant_type=x", "c2lnbmF0dXJl"},
		{"jwt eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl here", "c2lnbmF0dXJl"},
		{"password correct-horse-battery rejected", "correct-horse-battery"},
	}
	for _, tc := range cases {
		if got := Redact(tc.in); strings.Contains(got, tc.leak) {
			t.Errorf("Redact(%q) = %q, still holds %q", tc.in, got, tc.leak)
		}
	}
	if got, want := Redact("a short note on backups"), "a short note on backups"; got != want {
		t.Errorf("Redact changed a harmless line: %q", got)
	}
}

func TestLoggerRedacts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	log := NewLogger(f, true)
	tok := "ya29.c.secret-token-value"
	log.With("header", "Bearer "+tok).Info("request with "+tok,
		"err", errors.New("refused "+tok),
		slog.Group("g", "body", []byte(`{"access_token":"`+tok+`"}`)))
	f.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("secret-token-value")) {
		t.Errorf("log holds the token:\n%s", b)
	}
	if !bytes.Contains(b, []byte("request with ya29.<redacted>")) {
		t.Errorf("log lost the message:\n%s", b)
	}
}

func TestAddRcloneSecrets(t *testing.T) {
	AddRcloneSecrets([]string{
		`RCLONE_CONFIG_GDRIVE_SERVICE_ACCOUNT_CREDENTIALS={"private_key_id":"feedfacefeedface0001","private_key":"k"}`,
		"RCLONE_CONFIG_GDRIVE_TEAM_DRIVE=0APublicDriveId",
	})
	if got := Redact("key feedfacefeedface0001"); strings.Contains(got, "feedfacefeedface0001") {
		t.Errorf("key ID not redacted: %q", got)
	}
	if got := Redact("drive 0APublicDriveId"); !slices.Contains(strings.Fields(got), "0APublicDriveId") {
		t.Errorf("a non-secret setting was redacted: %q", got)
	}
}

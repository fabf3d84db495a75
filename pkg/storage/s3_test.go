package storage_test

import (
	"context"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/fakes3"
	"github.com/backupd/backupd/internal/storagetest"
	"github.com/backupd/backupd/pkg/storage"
)

// TestConformanceS3 runs the suite against rclone's s3 backend and an
// in-process S3 server, configured as an operator would.
func TestConformanceS3(t *testing.T) {
	srv := fakes3.New(t)
	srv.NewBucket("backups")
	storagetest.Run(t, func(t *testing.T) *storage.Store {
		return storage.New(srv.Fs(context.Background(), "backups", t.Name()), nil)
	})
}

// TestConformanceTigrisShortcut runs the suite through the shortcut: the
// app's AWS_* variables and no rclone setting.
func TestConformanceTigrisShortcut(t *testing.T) {
	srv := fakes3.New(t)
	srv.NewBucket("app-bucket")
	s3, ok := storage.S3FromEnv(func(k string) string { return srv.Env("app-bucket")[k] })
	if !ok {
		t.Fatal("S3FromEnv: no shortcut")
	}
	storagetest.Run(t, func(t *testing.T) *storage.Store {
		s, err := storage.Open(context.Background(), "tigris:"+t.Name(), nil, storage.WithS3(s3))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
	if keys := srv.Keys("app-bucket"); len(keys) == 0 || !strings.HasPrefix(keys[0], "TestConformanceTigrisShortcut/") {
		t.Errorf("bucket holds %v, want the suite's backups under its path", keys)
	}
}

func TestTigrisShortcutSettings(t *testing.T) {
	full := map[string]string{
		"AWS_ENDPOINT": "https://fly.storage.tigris.dev", "AWS_BUCKET": "b",
		"AWS_ACCESS_KEY_ID": "tid_x", "AWS_SECRET_ACCESS_KEY": "tsec_very-secret-value",
	}
	s, ok := storage.S3FromEnv(func(k string) string { return full[k] })
	if !ok {
		t.Fatal("no shortcut with AWS_BUCKET set")
	}
	if got := s.String(); strings.Contains(got, "tsec_") || strings.Contains(got, "tid_x") || !strings.Contains(got, "region auto") {
		t.Errorf("String() = %q: want no keys, region auto", got)
	}
	if _, ok := storage.S3FromEnv(func(string) string { return "" }); ok {
		t.Error("shortcut without AWS_BUCKET")
	}
	s.SecretAccessKey = ""
	_, err := storage.Open(context.Background(), "tigris:", nil, storage.WithS3(s))
	if err == nil || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") {
		t.Errorf("Open without a secret key: %v, want it named", err)
	}
}

// TestTigrisConfiguredRemoteWins: a remote configured through rclone's
// own variables is used as configured, not replaced by the shortcut.
func TestTigrisConfiguredRemoteWins(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("RCLONE_CONFIG_TIGRIS_TYPE", "local")
	s, err := storage.Open(context.Background(), "tigris:"+dir, nil, storage.WithS3(storage.S3Settings{Name: "tigris", Bucket: "b"}))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Fs().Features().IsLocal {
		t.Errorf("opened %s, want the configured local remote", s.Fs().Name())
	}
}

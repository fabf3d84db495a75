package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// childSecrets are set in the process environment, which children inherit
// unless backupd filters it.
var childSecrets = map[string]string{
	"DB_PASSWORD": "pw-in-env-1234",
	"RCLONE_CONFIG_GDRIVE_SERVICE_ACCOUNT_CREDENTIALS": "sa-key-5678",
	"RCLONE_PASSWORD_COMMAND":                          "rclone-pass-4321",
	"FLY_YESTERDAY_RESTART_TOKEN":                      "fly-token-9012",
	"BACKUPD_PING_URL":                                 "https://hc.example/ping/check-key-3456",
	"BACKUPD_NOTIFY_URLS":                              "generic://hooks.example/notify-key-6543",
	"AWS_SECRET_ACCESS_KEY":                            "aws-secret-7890",
}

// envRecorder writes a stand-in for a client tool that appends its own
// environment (as /proc shows it to anyone on the machine) to a file and
// then behaves like a dump program.
func envRecorder(t *testing.T) (tool, record string) {
	t.Helper()
	dir := t.TempDir()
	record = filepath.Join(dir, "environ")
	tool = filepath.Join(dir, "mariadb-dump")
	script := "#!/bin/sh\ntr '\\0' '\\n' < /proc/$$/environ >> " + record + "\necho '--' >> " + record + `
case "$1" in --version) echo "mariadb-dump from 11.8.3-MariaDB, client 10.19 for Linux"; exit 0;; esac
echo "CREATE TABLE t (id int);"
echo "-- Dump completed on 2026-12-01  4:00:00"
`
	if err := os.WriteFile(tool, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return tool, record
}

func TestChildrenGetNoSecrets(t *testing.T) {
	for k, v := range childSecrets {
		t.Setenv(k, v)
	}
	for _, args := range [][]string{{"now"}, {"doctor"}} {
		t.Run(args[0], func(t *testing.T) {
			tool, record := envRecorder(t)
			env := map[string]string{
				"DB_DATABASE": "app", "DB_USERNAME": "app", "BACKUPD_MYSQLDUMP": tool,
				"BACKUPD_REMOTE": filepath.Join(t.TempDir(), "backups"),
			}
			for k, v := range childSecrets {
				env[k] = v
			}
			code, stdout, stderr := runApp(t, env, args...)
			b, err := os.ReadFile(record)
			if err != nil {
				t.Fatalf("the dump tool never ran (exit %d):\n%s%s", code, stdout, stderr)
			}
			for k, v := range childSecrets {
				if strings.Contains(string(b), v) {
					t.Errorf("%s reached a child of backupd %s", k, args[0])
				}
			}
		})
	}
}

// Command fakedrive serves the fake Google Drive of package fakedrive, set up
// as production is, in a process of its own, so that bench/backup.sh can
// measure a "backupd now" into Drive (its peak RSS above all) without the
// fake's own memory counting against it. It writes to -env a shell file
// that points backupd at the fake (the production variables, the proxy,
// the fake's certificate), prints "ready" and serves until its standard
// input closes. The key in the file is the fake's, good for nothing else.
//
//	go run ./bench/fakedrive -env /tmp/drive.env < fifo
//
// Everything listens on 127.0.0.1. Drive's chunk size is production's
// default (8 MiB); only the pause between API calls is cut to 1 ms, so that
// the bench measures backupd rather than rclone's pacer.
//
// -old N puts N backups of the hours before this one in the folder (and a
// claim of the last hour's slot, as serve leaves it), so that a run finds
// the folder as an hourly schedule keeps it; -role writer makes the
// service account a Contributor, who may upload but not delete. Each line
// read from standard input makes it print "requests N", the requests it
// has served so far (bench/requests.sh).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/fakedrive"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/slot"
)

func main() {
	envFile := flag.String("env", "", "write the shell settings for backupd here (0600)")
	old := flag.Int("old", 0, "backups of the hours before this one to put in the folder")
	role := flag.String("role", fakedrive.RoleFileOrganizer, "the service account's role on the Shared Drive")
	flag.Parse()
	if *envFile == "" {
		log.Fatal("-env is required")
	}
	dir, err := os.MkdirTemp("", "fakedrive-")
	if err != nil {
		log.Fatal(err)
	}
	tb := &tb{dir: dir}
	defer tb.cleanup()
	p := fakedrive.NewProduction(tb)
	p.AddMember(p.DriveID, p.Account.Email, *role)
	hour := time.Now().UTC().Truncate(time.Hour)
	for i := 1; i <= *old; i++ {
		name := catalog.Codec{}.Name(hour.Add(-time.Duration(i)*time.Hour), catalog.Zstd)
		p.PutFile(p.FolderID, name, []byte("an old backup "+name), nil)
	}
	if *old > 0 {
		last := hour.Add(-time.Hour)
		p.PutFile(p.FolderID, (slot.Names{}).Name(last, last, "1a2b3c4d", "machine-b"), []byte("host=machine-b\n"), nil)
	}

	env := p.Env()
	env["HTTPS_PROXY"] = p.ProxyURL()
	env["RCLONE_CA_CERT"] = p.CAFile()
	env["RCLONE_CONFIG_GDRIVE_PACER_MIN_SLEEP"] = "1ms"
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "export %s='%s'\n", k, strings.ReplaceAll(env[k], "'", `'\''`))
	}
	if err := os.WriteFile(*envFile, []byte(b.String()), 0o600); err != nil {
		log.Fatal(err)
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		fmt.Printf("requests %d\n", len(p.Requests()))
	}
}

// tb is the part of testing.TB the fake uses, for a program: failures end
// it, cleanups run when main returns.
type tb struct {
	testing.TB // nil: any other method panics
	dir        string
	cleanups   []func()
}

func (t *tb) Helper() {}

func (t *tb) Fatalf(format string, args ...any) { log.Fatalf(format, args...) }

func (t *tb) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }

func (t *tb) TempDir() string {
	d, err := os.MkdirTemp(t.dir, "t")
	if err != nil {
		log.Fatal(err)
	}
	return d
}

func (t *tb) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	_ = os.RemoveAll(filepath.Clean(t.dir))
}

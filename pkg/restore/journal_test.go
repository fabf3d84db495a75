package restore

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/loader"
	"github.com/backupd/backupd/pkg/sqltext"
)

// appSession opens a session of the app's account (the one the restore
// uses) running a long statement, as the app's own would, and returns its
// id and a function telling whether it still runs.
func appSession(t *testing.T, w *crashWorld) (id int64, alive func() bool) {
	t.Helper()
	db, err := openDB(w.conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(t.Context(), "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = conn.ExecContext(context.Background(), "DO SLEEP(600)") }()
	t.Cleanup(func() { _, _ = w.srv.Run("", fmt.Sprintf("KILL %d", id)) })
	alive = func() bool {
		out := w.srv.Exec(t, "", fmt.Sprintf("SELECT COUNT(*) FROM information_schema.processlist WHERE id = %d", id))
		return strings.TrimSpace(out) == "1"
	}
	waitUntil(t, "the app's statement to run", alive)
	return id, alive
}

// plantedJournal is a dump that creates the table the swap journal once
// lived in, with a record naming the session sid to kill, a view to
// create in the live target and a banner to write, followed by enough
// rows to keep the load going after them.
func plantedJournal(src string, sid int64) []byte {
	rec, _ := json.Marshal(map[string]any{
		"backup": "db-backup-19990101-000000.sql.zst", "snapshot": "PLANTED 1999-01-01 00:00:00 UTC",
		"conn_id": sid, "started": "2026-12-07T00:00:00Z",
		"status": map[string]any{"backup": "db-backup-19990101-000000.sql.zst", "snapshot": "PLANTED"},
		"prev":   map[string]any{},
		"next": map[string]any{"views": []map[string]any{{"kind": "VIEW", "name": "planted",
			"create": "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `planted` AS select 1 AS `x`"}}},
	})
	var b strings.Builder
	b.WriteString("-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)\n--\n" +
		"-- Host: localhost    Database: " + src + "\n-- ------------------------------------------------------\n\n" +
		"/*!40101 SET NAMES utf8mb4 */;\n" +
		"CREATE TABLE `yesterday-restore journal` (id TINYINT NOT NULL PRIMARY KEY, record LONGBLOB NOT NULL) ENGINE=InnoDB;\n" +
		"INSERT INTO `yesterday-restore journal` VALUES (1," + sqltext.Literal(string(rec)) + ");\n" +
		"CREATE TABLE filler (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=InnoDB;\n")
	for i := range 200 {
		b.WriteString("INSERT INTO filler VALUES ")
		for j := range 500 {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "(%d,'%064d')", i*500+j, i*500+j)
		}
		b.WriteString(";\n")
	}
	b.WriteString("-- Dump completed on 2026-03-14  3:00:01\n")
	return []byte(b.String())
}

// TestPlantedJournal kills a restore while it loads a backup that
// planted a swap journal where one used to be kept, in the staging
// database, and restores a good backup next, with both loaders, as the
// app's user and as root: the run must not take the planted record for
// its own (kill the session it names, create its objects in the target,
// write its banner), and restores the good backup.
func TestPlantedJournal(t *testing.T) {
	for _, account := range []string{"app user", "root"} {
		for _, ld := range []string{"parallel", "client"} {
			t.Run(account+"/"+ld, func(t *testing.T) {
				w := newCrashWorldOn(t, testdb.Get(t), account == "root")
				sid, alive := appSession(t, w)
				planted := t.TempDir()
				put(t, planted, at(3, 0), catalog.Gzip, gzipBytes(t, plantedJournal("src", sid)))
				// The client loader sends statements a buffer at a time:
				// while the load is paused nothing of it may have run, so
				// that one is killed once the load is done.
				point := map[string]string{"parallel": "load", "client": "verified"}[ld]
				spec := w.spec(point)
				spec.Store, spec.Loader = planted, ld
				cmd, lines, stderr := startCrashChild(t, w.srv, spec)
				waitLine(t, lines, stderr, "paused at "+point)
				staging := w.target + StagingSuffix
				waitUntil(t, "the planted record to be loaded", func() bool {
					out, err := w.srv.Run("", "SELECT COUNT(*) FROM "+sqltext.Qualified(staging, "yesterday-restore journal"))
					return err == nil && strings.TrimSpace(out) == "1"
				})
				kill9(t, cmd)

				r := w.restorer(t, w.storeB)
				r.Loader = map[string]Loader{"client": loader.Client{}}[ld]
				rep, err := r.restore(t)
				if err != nil {
					t.Fatalf("restore B: %v", err)
				}
				if rep.Recovery != nil {
					t.Errorf("the run recovered from the planted record: %s", rep.Recovery.Note)
				}
				if !alive() {
					t.Errorf("the app's session %d named by the planted record was killed", sid)
				}
				w.checkRestoredB(t)
				if st, err := os.ReadFile(w.status); err != nil || strings.Contains(string(st), "PLANTED") {
					t.Errorf("status file: %v\n%s", err, st)
				}
			})
		}
	}
}

// TestRecoveryAfterServerRestart kills a restore after its rename, and
// restarts the server before the next run, whose session ids start again
// from 1: the next run must finish the swap without killing the session
// that now has the id the journal recorded (an app's here), and a journal
// naming a session of the server before the restart kills nothing.
func TestRecoveryAfterServerRestart(t *testing.T) {
	dir := t.TempDir()
	srv := testdb.StartPrivate(t, dir)
	w := newCrashWorldOn(t, srv, false)
	cmd, lines, stderr := startCrashChild(t, w.srv, w.spec("renamed"))
	waitLine(t, lines, stderr, "paused at renamed")
	kill9(t, cmd)
	j, ok, err := readJournal(w.work, w.target+StagingSuffix)
	if err != nil || !ok {
		t.Fatalf("no journal after the kill: %v", err)
	}
	srv.Stop()
	*w.srv = *testdb.StartPrivate(t, dir)
	w.conn.Socket = w.srv.Socket

	// App sessions until one has the id the killed swap's had.
	db, err := openDB(w.conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(0)
	var sid int64
	for sid < j.ConnID {
		conn, err := db.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.QueryRowContext(t.Context(), "SELECT CONNECTION_ID()").Scan(&sid); err != nil {
			t.Fatal(err)
		}
		if sid == j.ConnID {
			go func() { _, _ = conn.ExecContext(context.Background(), "DO SLEEP(600)") }()
		}
	}
	if sid != j.ConnID {
		t.Fatalf("no app session got id %d (one got %d)", j.ConnID, sid)
	}
	defer w.srv.Run("", fmt.Sprintf("KILL %d", sid))
	alive := func() bool {
		out := w.srv.Exec(t, "", fmt.Sprintf("SELECT COUNT(*) FROM information_schema.processlist WHERE id = %d AND info LIKE 'DO SLEEP%%'", sid))
		return strings.TrimSpace(out) == "1"
	}
	waitUntil(t, "the app's statement to run", alive)
	rep, err := w.restorer(t, w.storeB).restore(t)
	if err != nil {
		t.Fatalf("restore after the restart: %v", err)
	}
	if rep.Recovery == nil || !rep.Recovery.Finished {
		t.Errorf("recovery %+v, want the swap finished", rep.Recovery)
	}
	if !alive() {
		t.Errorf("the app's session %d, which has the id the killed swap's had, was killed", sid)
	}
	w.checkRestoredB(t)
	if _, ok, _ := readJournal(w.work, w.target+StagingSuffix); ok {
		t.Error("the journal is still there")
	}
}

// TestSwapSyncsDirectories checks the order in which a swap makes its
// files last through a power loss: the journal is synced with its
// directory before the banner goes, the banner's removal is synced before
// the target changes, and the new banner's rename is synced before the
// journal goes.
func TestSwapSyncsDirectories(t *testing.T) {
	w := newCrashWorld(t)
	staging := w.target + StagingSuffix
	var events []string
	exists := func(path string) bool {
		_, err := os.Stat(path)
		return err == nil
	}
	old := syncDir
	t.Cleanup(func() { syncDir, pause = old, nil })
	syncDir = func(dir string) error {
		switch dir {
		case w.work:
			events = append(events, fmt.Sprintf("sync work, journal %v", exists(journalPath(w.work, staging))))
		case filepath.Dir(w.snapshot):
			b, _ := os.ReadFile(w.snapshot)
			events = append(events, fmt.Sprintf("sync files, banner %q", b))
		}
		return old(dir)
	}
	pause = func(point string) {
		if point == "swap" {
			events = append(events, "target changes")
		}
	}
	if _, err := w.restorer(t, w.storeB).restore(t); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(events, "\n")
	want := strings.Join([]string{
		"sync work, journal true",
		`sync files, banner "2026-03-14 02:00:00 UTC\n"`, // the status file is removed first
		`sync files, banner ""`,
		"target changes",
		`sync files, banner "2026-03-14 03:00:00 UTC\n"`,
		`sync files, banner "2026-03-14 03:00:00 UTC\n"`, // the status file
		"sync work, journal false",
	}, "\n")
	if got != want {
		t.Errorf("events:\n%s\nwant:\n%s", got, want)
	}
}

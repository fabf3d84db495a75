package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/storage"
)

var codec = catalog.Codec{}

// snapshot is the names and contents of the files in a folder, recursively.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func write(t *testing.T, path, content string, mod time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

// remoteFixture fills a local remote with 200 hourly backups (the oldest
// 60 legacy gzip), an abandoned and a fresh unfinished upload, and foreign
// files. It returns the names of the 200 backups, newest first.
func remoteFixture(t *testing.T, dir string, now time.Time) []string {
	t.Helper()
	last := now.UTC().Truncate(time.Hour).Add(-time.Hour)
	var names []string
	for i := range 200 {
		ts := last.Add(-time.Duration(i) * time.Hour)
		f := catalog.Zstd
		if i >= 140 {
			f = catalog.Gzip
		}
		name := codec.Name(ts, f)
		write(t, filepath.Join(dir, name), "backup "+name, ts.Add(3*time.Minute))
		names = append(names, name)
	}
	old := now.Add(-50 * time.Hour)
	write(t, filepath.Join(dir, codec.Name(old, catalog.Zstd)+catalog.PartialSuffix), "abandoned", old)
	write(t, filepath.Join(dir, codec.Name(now.Add(-10*time.Minute), catalog.Zstd)+catalog.PartialSuffix), "in progress", now)
	ancient := now.Add(-5000 * time.Hour)
	for _, f := range []string{
		"README.txt",
		"db-backup-latest.sql.gz",
		"db-backup-20200101-000000.sql",
		"other-20200101-000000.sql.zst",
		"db-backup-20200101-000000.sql.zst.tmp",
		"archive/db-backup-20200101-000000.sql.gz",
	} {
		write(t, filepath.Join(dir, f), "foreign "+f, ancient)
	}
	return names
}

var foreignFiles = []string{
	"README.txt",
	"archive/db-backup-20200101-000000.sql.gz",
	"db-backup-20200101-000000.sql",
	"db-backup-20200101-000000.sql.zst.tmp",
	"db-backup-latest.sql.gz",
	"other-20200101-000000.sql.zst",
}

func TestPruneKeepsNewest168(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	names := remoteFixture(t, dir, now)
	// The archive folder's name must not matter: its file is foreign even
	// though it is named like a backup.
	if err := os.Chtimes(filepath.Join(dir, "archive"), now, now); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)

	code, out, errOut := runApp(t, nil, "prune", "--dry-run", "--remote", dir)
	if code != cli.ExitOK {
		t.Fatalf("prune --dry-run exit %d: %s%s", code, out, errOut)
	}
	if got := snapshot(t, dir); !mapsEqual(got, before) {
		t.Fatalf("prune --dry-run changed the remote")
	}
	if got, want := strings.Count(out, "would delete  "), 33; got != want {
		t.Errorf("dry run lists %d deletions, want %d (32 backups and a stale upload):\n%s", got, want, out)
	}
	if !strings.Contains(out, "would delete  "+names[168]+"  169th newest, beyond the newest 168") {
		t.Errorf("dry run does not say why %s goes:\n%s", names[168], out)
	}
	if !strings.Contains(out, "nothing was deleted") {
		t.Errorf("dry run does not say nothing was deleted:\n%s", out)
	}

	code, out, errOut = runApp(t, nil, "prune", "--remote", dir)
	if code != cli.ExitOK {
		t.Fatalf("prune exit %d: %s%s", code, out, errOut)
	}
	after := snapshot(t, dir)
	want := slices.Concat(names[:168], foreignFiles, []string{codec.Name(now.Add(-10*time.Minute), catalog.Zstd) + catalog.PartialSuffix})
	slices.Sort(want)
	got := slices.Sorted(func(yield func(string) bool) {
		for k := range after {
			if !yield(k) {
				return
			}
		}
	})
	if !slices.Equal(got, want) {
		extra, missing := diffNames(want, got)
		t.Errorf("after prune the remote holds %d files, want %d: unexpected %q, missing %q", len(got), len(want), extra, missing)
	}
	for _, f := range foreignFiles {
		if after[f] != before[f] {
			t.Errorf("foreign file %s changed: %q, was %q", f, after[f], before[f])
		}
	}
	if !strings.Contains(out, "kept 168 backups, deleted 33, 1 unfinished upload left alone, 5 other files not touched") {
		t.Errorf("prune summary wrong:\n%s", out)
	}

	// A second prune finds nothing more to do.
	code, out, _ = runApp(t, nil, "prune", "--remote", dir)
	if code != cli.ExitOK || strings.Contains(out, "deleted   ") || !strings.Contains(out, "deleted 0") {
		t.Errorf("second prune: exit %d\n%s", code, out)
	}
	if got := snapshot(t, dir); !mapsEqual(got, after) {
		t.Errorf("second prune changed the remote")
	}
}

// diffNames returns the names only in got and the names only in want.
func diffNames(want, got []string) (extra, missing []string) {
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	return extra, missing
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestKeepBelowOneIsRefused(t *testing.T) {
	dir := t.TempDir()
	remoteFixture(t, dir, time.Now())
	before := snapshot(t, dir)
	marker := filepath.Join(t.TempDir(), "dump-ran")
	dumper := script(t, "#!/bin/sh\ntouch "+marker+"\necho '-- Dump completed'\n")
	dbEnv := map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"prune-flag-0", nil, []string{"prune", "--keep", "0", "--remote", dir}},
		{"prune-flag-negative", nil, []string{"prune", "--keep=-3", "--remote", dir}},
		{"prune-flag-empty", nil, []string{"prune", "--keep=", "--remote", dir}},
		{"prune-env-0", map[string]string{"BACKUPD_KEEP": "0"}, []string{"prune", "--remote", dir}},
		{"prune-env-junk", map[string]string{"BACKUPD_KEEP": "all"}, []string{"prune", "--remote", dir}},
		{"now-flag-0", dbEnv, []string{"now", "--keep", "0", "--mysqldump", dumper, "--remote", dir}},
		{"now-env-0", merge(dbEnv, map[string]string{"BACKUPD_KEEP": "0"}), []string{"now", "--mysqldump", dumper, "--remote", dir}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runApp(t, tc.env, tc.args...)
			if code != cli.ExitUsage {
				t.Errorf("exit %d, want %d: %s%s", code, cli.ExitUsage, out, errOut)
			}
			if !strings.Contains(errOut, "keep") {
				t.Errorf("message does not name the setting: %s", errOut)
			}
			if got := snapshot(t, dir); !mapsEqual(got, before) {
				t.Errorf("the remote changed")
			}
			if _, err := os.Stat(marker); err == nil {
				t.Errorf("the dump program ran")
			}
		})
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fake-dump")
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFailedBackupDeletesNothing(t *testing.T) {
	dir := t.TempDir()
	remoteFixture(t, dir, time.Now())
	before := snapshot(t, dir)
	// Half a dump, then a failure, as when the connection drops.
	dumper := script(t, "#!/bin/sh\nprintf -- '-- MariaDB dump\\nCREATE TABLE t (id int);\\nINSERT INTO t VALUES (1' \necho 'Lost connection to server during query' >&2\nexit 1\n")
	env := map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app", "DB_PASSWORD": "s3cret-pw"}
	code, out, errOut := runApp(t, env, "now", "--keep", "5", "--mysqldump", dumper, "--remote", dir)
	if code != cli.ExitFailure {
		t.Fatalf("now with a failing dump: exit %d, want %d\n%s%s", code, cli.ExitFailure, out, errOut)
	}
	if !strings.Contains(errOut, "Lost connection") {
		t.Errorf("the dump's error is not reported: %s", errOut)
	}
	if strings.Contains(out+errOut, "s3cret-pw") {
		t.Errorf("the password appears in the output")
	}
	if got := snapshot(t, dir); !mapsEqual(got, before) {
		added, removed := changes(before, got)
		t.Errorf("a failed backup changed the remote: added %q, removed %q", added, removed)
	}
}

func TestGoodBackupPrunes(t *testing.T) {
	dir := t.TempDir()
	names := remoteFixture(t, dir, time.Now())
	before := snapshot(t, dir)
	dumper := script(t, "#!/bin/sh\nprintf -- '-- MariaDB dump\\nCREATE TABLE t (id int);\\nINSERT INTO t VALUES (1);\\n-- Dump completed on 2025-01-01 03:00:00\\n'\n")
	env := map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app", "BACKUPD_KEEP": "5"}
	code, out, errOut := runApp(t, env, "now", "--mysqldump", dumper, "--remote", dir)
	if code != cli.ExitOK {
		t.Fatalf("now: exit %d\n%s%s", code, out, errOut)
	}
	after := snapshot(t, dir)
	added, removed := changes(before, after)
	if len(added) != 1 || !strings.HasSuffix(added[0], ".sql.zst") {
		t.Fatalf("added %q, want one new backup", added)
	}
	// The new backup and the newest 4 old ones stay.
	for _, n := range names[:4] {
		if _, ok := after[n]; !ok {
			t.Errorf("%s was deleted, want it kept", n)
		}
	}
	if got, want := len(removed), 196+1; got != want {
		t.Errorf("removed %d files, want %d (196 backups and the stale upload)", got, want)
	}
	for _, f := range foreignFiles {
		if after[f] != before[f] {
			t.Errorf("foreign file %s changed", f)
		}
	}
	if !strings.Contains(out, "retention  kept 5 backups, deleted 197") {
		t.Errorf("now does not report the prune:\n%s", out)
	}
}

// changes lists the files added and removed between two snapshots.
func changes(before, after map[string]string) (added, removed []string) {
	for k := range after {
		if _, ok := before[k]; !ok {
			added = append(added, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			removed = append(removed, k)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

// sqlText is a small dump, about 100 KiB, ending with the trailer when
// complete.
func sqlText(complete bool) string {
	var b strings.Builder
	b.WriteString("-- MariaDB dump 10.19\nCREATE TABLE `t` (`id` int, `v` text);\n")
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 2000 {
		fmt.Fprintf(&b, "INSERT INTO `t` VALUES (%d,'%x');\n", i, r.Uint64())
	}
	if complete {
		b.WriteString("-- Dump completed on 2025-01-01  3:00:01\n")
	}
	return b.String()
}

func zstdBytes(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// publish stores data as a backup the way backupd does, with its checksum
// and SQL size recorded.
func publish(t *testing.T, dir, name string, data []byte, rawSize int64) {
	t.Helper()
	sum := sha256.Sum256(data)
	publishAs(t, dir, name, data, hex.EncodeToString(sum[:]), rawSize)
}

// publishAs stores data as a backup with the given checksum recorded.
func publishAs(t *testing.T, dir, name string, data []byte, sha string, rawSize int64) {
	t.Helper()
	st, err := storage.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The store publishes only bytes that match their recorded checksum:
	// another one is recorded afterwards, as a writer of the folder could.
	right := sha256.Sum256(data)
	_, err = st.Put(context.Background(), name, bytes.NewReader(data), func() (map[string]string, error) {
		return catalog.Meta(hex.EncodeToString(right[:]), rawSize), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sha != hex.EncodeToString(right[:]) {
		if err := st.SetMeta(context.Background(), name, map[string]string{catalog.MetaSHA256: sha}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVerify(t *testing.T) {
	good := sqlText(true)
	noTrailer := sqlText(false)
	at := time.Date(2025, 1, 1, 3, 0, 0, 0, time.UTC)
	zname, gname := codec.Name(at, catalog.Zstd), codec.Name(at, catalog.Gzip)

	flip := func(b []byte) []byte { b = bytes.Clone(b); b[len(b)/2] ^= 0x01; return b }
	truncate := func(b []byte) []byte { return bytes.Clone(b[:len(b)*2/3]) }

	cases := []struct {
		name     string
		setup    func(t *testing.T, dir string)
		args     []string // after "verify"
		code     int
		contains []string
		stderr   string // what the error message starts with, after "backupd verify: <name>: "
	}{
		{
			name:     "good-recorded",
			setup:    func(t *testing.T, dir string) { publish(t, dir, zname, zstdBytes(t, good), int64(len(good))) },
			code:     cli.ExitOK,
			contains: []string{"matches the recorded one", "matches the recorded size", "trailer    present", "result     OK"},
		},
		{
			name: "good-legacy-gzip-unrecorded",
			setup: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, gname), string(gzipBytes(t, good)), at)
			},
			args:     []string{gname},
			code:     cli.ExitOK,
			contains: []string{"none recorded", "gzip", "result     OK"},
		},
		{
			name: "flipped-byte-recorded",
			setup: func(t *testing.T, dir string) {
				publish(t, dir, zname, zstdBytes(t, good), int64(len(good)))
				corrupt(t, filepath.Join(dir, zname), flip)
			},
			code: cli.ExitFailure,
			// The checksum that does not match is the first thing said,
			// before the decompression error it explains.
			contains: []string{"sha256     MISMATCH", "DAMAGED", "result     FAILED"},
			stderr:   "sha256 does not match the recorded checksum",
		},
		{
			name: "flipped-byte-unrecorded",
			setup: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, zname), string(flip(zstdBytes(t, good))), at)
			},
			code:     cli.ExitFailure,
			contains: []string{"DAMAGED", "result     FAILED"},
		},
		{
			name: "flipped-byte-gzip",
			setup: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, gname), string(flip(gzipBytes(t, good))), at)
			},
			code:     cli.ExitFailure,
			contains: []string{"result     FAILED"},
		},
		{
			name: "truncated-recorded",
			setup: func(t *testing.T, dir string) {
				publish(t, dir, zname, zstdBytes(t, good), int64(len(good)))
				corrupt(t, filepath.Join(dir, zname), truncate)
			},
			code:     cli.ExitFailure,
			contains: []string{"result     FAILED"},
		},
		{
			name: "truncated-unrecorded",
			setup: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, zname), string(truncate(zstdBytes(t, good))), at)
			},
			code:     cli.ExitFailure,
			contains: []string{"DAMAGED", "result     FAILED"},
		},
		{
			// A well-formed stream whose recorded checksum matches, but the
			// dump inside stops before its trailer.
			name: "no-trailer",
			setup: func(t *testing.T, dir string) {
				publish(t, dir, zname, zstdBytes(t, noTrailer), int64(len(noTrailer)))
			},
			code:     cli.ExitFailure,
			contains: []string{"matches the recorded one", "trailer    MISSING", "result     FAILED"},
		},
		{
			// The stream is sound but is not the one that was recorded.
			name: "checksum-mismatch",
			setup: func(t *testing.T, dir string) {
				other := sha256.Sum256([]byte("another backup"))
				publishAs(t, dir, zname, zstdBytes(t, good), hex.EncodeToString(other[:]), int64(len(good)))
			},
			code:     cli.ExitFailure,
			contains: []string{"sha256     MISMATCH", "trailer    present", "result     FAILED"},
		},
		{
			name: "raw-size-mismatch",
			setup: func(t *testing.T, dir string) {
				publish(t, dir, zname, zstdBytes(t, good), int64(len(good))+1)
			},
			code:     cli.ExitFailure,
			contains: []string{"sql        MISMATCH", "result     FAILED"},
		},
		{
			name: "newest-by-default",
			setup: func(t *testing.T, dir string) {
				// The older backup is broken; only the newest is verified.
				write(t, filepath.Join(dir, codec.Name(at.Add(-time.Hour), catalog.Zstd)), "garbage", at)
				publish(t, dir, zname, zstdBytes(t, good), int64(len(good)))
			},
			code:     cli.ExitOK,
			contains: []string{"backup     " + zname, "result     OK"},
		},
		{
			name:  "empty-remote",
			setup: func(t *testing.T, dir string) {},
			code:  cli.ExitNoBackup,
		},
		{
			name: "only-foreign-files",
			setup: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, "notes.txt"), "x", at)
			},
			code: cli.ExitNoBackup,
		},
		{
			name:  "unknown-name",
			setup: func(t *testing.T, dir string) { publish(t, dir, zname, zstdBytes(t, good), int64(len(good))) },
			args:  []string{"db-backup-20990101-000000.sql.zst"},
			code:  cli.ExitNoBackup,
		},
		{
			name: "unfinished-upload",
			setup: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, zname+catalog.PartialSuffix), string(zstdBytes(t, good)), at)
			},
			args: []string{zname + catalog.PartialSuffix},
			code: cli.ExitNoBackup,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			before := snapshot(t, dir)
			// Verifying writes nothing to disk: not to the remote, not to
			// the temporary directory.
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			code, out, errOut := runApp(t, nil, append(append([]string{"verify"}, tc.args...), "--remote", dir)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.code, out, errOut)
			}
			for _, s := range tc.contains {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
			if code != cli.ExitOK && !strings.Contains(errOut, "backupd verify: ") {
				t.Errorf("no error message on stderr: %s", errOut)
			}
			if tc.stderr != "" {
				if _, msg, _ := strings.Cut(errOut, ".zst: "); !strings.HasPrefix(msg, tc.stderr) {
					t.Errorf("error message %q does not start with %q", errOut, tc.stderr)
				}
			}
			if got := snapshot(t, dir); !mapsEqual(got, before) {
				t.Errorf("verify changed the remote")
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("verify wrote to the temporary directory: %v", left)
			}
		})
	}
}

// corrupt rewrites a file in place, keeping its recorded metadata.
func corrupt(t *testing.T, path string, f func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestListJSON(t *testing.T) {
	dir := t.TempDir()
	good := sqlText(true)
	base := time.Date(2025, 1, 1, 3, 0, 0, 0, time.UTC)
	z1, z2 := zstdBytes(t, good), zstdBytes(t, good+"\n")
	publish(t, dir, codec.Name(base.Add(2*time.Hour), catalog.Zstd), z1, int64(len(good)))
	publish(t, dir, codec.Name(base.Add(3*time.Hour), catalog.Zstd), z2, int64(len(good)+1))
	write(t, filepath.Join(dir, codec.Name(base, catalog.Gzip)), "legacy0", base)
	write(t, filepath.Join(dir, codec.Name(base.Add(time.Hour), catalog.Gzip)), "legacy-1", base)
	write(t, filepath.Join(dir, codec.Name(base.Add(4*time.Hour), catalog.Zstd)+catalog.PartialSuffix), "partial", base)
	write(t, filepath.Join(dir, "notes.txt"), "x", base)

	code, out, errOut := runApp(t, nil, "list", "--json", "--remote", dir)
	if code != cli.ExitOK {
		t.Fatalf("list --json: exit %d\n%s%s", code, out, errOut)
	}
	var items []map[string]any
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatalf("list --json is not a JSON array: %v\n%s", err, out)
	}
	type row struct {
		name, time, format string
		size               float64
		sha                bool
		raw                float64 // -1: absent
	}
	sum2 := sha256.Sum256(z2)
	want := []row{
		{"db-backup-20250101-060000.sql.zst", "2025-01-01T06:00:00Z", "zst", float64(len(z2)), true, float64(len(good) + 1)},
		{"db-backup-20250101-050000.sql.zst", "2025-01-01T05:00:00Z", "zst", float64(len(z1)), true, float64(len(good))},
		{"db-backup-20250101-040000.sql.gz", "2025-01-01T04:00:00Z", "gz", 8, false, -1},
		{"db-backup-20250101-030000.sql.gz", "2025-01-01T03:00:00Z", "gz", 7, false, -1},
	}
	if len(items) != len(want) {
		t.Fatalf("list --json has %d items, want %d (no partials, no foreign files):\n%s", len(items), len(want), out)
	}
	for i, w := range want {
		it := items[i]
		if it["name"] != w.name || it["time"] != w.time || it["format"] != w.format || it["size"] != w.size {
			t.Errorf("item %d = %v, want name %s time %s format %s size %v", i, it, w.name, w.time, w.format, w.size)
		}
		ts, err := time.Parse(time.RFC3339, it["time"].(string))
		if err != nil || ts.Location() != time.UTC {
			t.Errorf("item %d time %v is not RFC 3339 UTC: %v", i, it["time"], err)
		}
		_, hasSHA := it["sha256"]
		if hasSHA != w.sha {
			t.Errorf("item %d has sha256 %v, want %v", i, hasSHA, w.sha)
		}
		raw, hasRaw := it["raw_size"]
		if (w.raw >= 0) != hasRaw || (hasRaw && raw != w.raw) {
			t.Errorf("item %d raw_size = %v, want %v", i, raw, w.raw)
		}
		if _, ok := it["partial"]; ok {
			t.Errorf("item %d is marked partial", i)
		}
	}
	if got, want := items[0]["sha256"], hex.EncodeToString(sum2[:]); got != want {
		t.Errorf("newest sha256 = %v, want %s", got, want)
	}

	code, out, _ = runApp(t, nil, "list", "--json", "--partials", "--remote", dir)
	if err := json.Unmarshal([]byte(out), &items); code != cli.ExitOK || err != nil {
		t.Fatalf("list --json --partials: exit %d, %v", code, err)
	}
	if len(items) != 5 || items[4]["partial"] != true || items[4]["name"] != "db-backup-20250101-070000.sql.zst.partial" {
		t.Errorf("list --json --partials: want the unfinished upload last, marked partial:\n%s", out)
	}

	code, out, _ = runApp(t, nil, "list", "--remote", dir)
	if code != cli.ExitOK {
		t.Fatalf("list: exit %d", code)
	}
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[1], "db-backup-20250101-060000.sql.zst  2025-01-01 06:00:00") || !strings.Contains(lines[1], "recorded") {
		t.Errorf("list: newest first with its UTC time and checksum state, got:\n%s", out)
	}
	if !strings.Contains(lines[4], "gz") || !strings.Contains(lines[4], "not recorded") {
		t.Errorf("list: legacy backup line %q", lines[4])
	}
	for _, s := range []string{"4 backups in", "unfinished uploads", "db-backup-20250101-070000.sql.zst.partial", "1 other file"} {
		if !strings.Contains(out, s) {
			t.Errorf("list output lacks %q:\n%s", s, out)
		}
	}

	empty := t.TempDir()
	code, out, _ = runApp(t, nil, "list", "--json", "--remote", empty)
	if code != cli.ExitOK || strings.TrimSpace(out) != "[]" {
		t.Errorf("list --json of an empty remote: exit %d, %q; want 0 and []", code, out)
	}
}

package dump_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/loader"
)

func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == pipeSizeTool {
		os.Exit(reportPipeSize())
	}
	os.Exit(testdb.Main(m))
}

// TestDumpRowOver16MiB: a row larger than the client tools' default
// packet limit (16 MiB) backs up with the real mariadb-dump, and restores
// byte for byte through the loader.
func TestDumpRowOver16MiB(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "bigrow")
	// 32 bytes repeated 2 Mi times: a 64 MiB blob made by the server.
	srv.Exec(t, src, "CREATE TABLE big (id int PRIMARY KEY, b LONGBLOB NOT NULL);"+
		" INSERT INTO big VALUES (1, REPEAT(UNHEX(SHA2('backupd', 256)), 2*1024*1024)), (2, 'small')")
	sum := func(db string) string {
		return strings.TrimSpace(srv.Exec(t, db, "SELECT GROUP_CONCAT(id, ':', LENGTH(b), ':', SHA2(b, 256) ORDER BY id) FROM big"))
	}
	want := sum(src)
	if !strings.HasPrefix(want, "1:67108864:") {
		t.Fatalf("source row is %q, want 64 MiB", want)
	}

	var buf bytes.Buffer
	d := &dump.Dumper{Conn: srv.Root(src)}
	if _, err := d.Dump(context.Background(), &buf, nil); err != nil {
		t.Fatalf("dump: %v", err)
	}

	dst := srv.NewDatabase(t, "bigrow_restored")
	sqlText, _, err := dump.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlText.Close()
	if _, err := loader.Load(context.Background(), sqlText, srv.Root(dst), loader.Options{Parallel: 2}); err != nil {
		t.Fatalf("load: %v", err)
	}
	if got := sum(dst); got != want {
		t.Errorf("restored rows %q, want %q", got, want)
	}
}

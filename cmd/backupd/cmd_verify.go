package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/storage"
)

func runVerify(ctx context.Context, a *app, args []string) error {
	set := cli.NewSet("verify", a.getenv)
	common := cli.AddCommon(set)
	debug := set.Bool("debug", "log debugging detail")
	// The name may come before or after the flags.
	var names []string
	for rest := args; ; {
		if err := a.parse(set, rest); err != nil {
			return err
		}
		if set.FS.NArg() == 0 {
			break
		}
		names = append(names, set.FS.Arg(0))
		rest = set.FS.Args()[1:]
	}
	if len(names) > 1 {
		return cli.Usagef("verify takes at most one backup name, got %q", names)
	}
	var name string
	if len(names) == 1 {
		name = names[0]
	}
	st, err := common.Remote()
	if err != nil {
		return err
	}
	log := cli.NewLogger(a.stderr, *debug)
	store, l, err := listBackups(ctx, st, log)
	if err != nil {
		return err
	}
	b, err := findBackup(l, name, store.String())
	if err != nil {
		return err
	}

	rc, err := store.Open(ctx, b.Name)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%w named %s in %s: it was deleted while verifying", errNoBackup, b.Name, store)
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	var stored, raw atomic.Int64
	start := time.Now()
	stop := cli.StartProgress(a.stderr, log, func() string {
		return fmt.Sprintf("verifying %s: %s of %s read, %s of SQL, %s", b.Name,
			cli.Bytes(stored.Load()), cli.Bytes(b.Size), cli.Bytes(raw.Load()),
			cli.Rate(stored.Load(), time.Since(start)))
	})
	res, checkErr := dump.Check(&progressReader{r: rc, n: &stored}, &raw)
	stop()

	problems := verdict(a.stdout, b, res, checkErr)
	if len(problems) > 0 {
		fmt.Fprintln(a.stdout, "result     FAILED")
		return fmt.Errorf("%s: %s", b.Name, strings.Join(problems, "; "))
	}
	fmt.Fprintln(a.stdout, "result     OK")
	return nil
}

// findBackup picks the named complete backup, or the newest when name is
// empty; it returns an error wrapping errNoBackup when there is none.
func findBackup(l catalog.Listing, name, remote string) (catalog.Backup, error) {
	if name == "" {
		if len(l.Backups) == 0 {
			return catalog.Backup{}, fmt.Errorf("%w in %s", errNoBackup, remote)
		}
		return l.Backups[len(l.Backups)-1], nil
	}
	for _, b := range l.Backups {
		if b.Name == name {
			return b, nil
		}
	}
	for _, b := range l.Partials {
		if b.Name == name {
			return catalog.Backup{}, fmt.Errorf("%w named %s in %s: it is an unfinished upload", errNoBackup, name, remote)
		}
	}
	return catalog.Backup{}, fmt.Errorf("%w named %q in %s (run \"backupd list\" for the names)", errNoBackup, name, remote)
}

// verdict prints what the check found about b and returns the problems.
func verdict(w io.Writer, b catalog.Backup, res dump.CheckResult, checkErr error) []string {
	var problems []string
	fmt.Fprintf(w, "backup     %s (%s)\n", b.Name, b.TimeString())
	if checkErr != nil && !errors.Is(checkErr, dump.ErrNoTrailer) {
		// The stream could not be read or decompressed to its end; the
		// hash and trailer of a partial read mean nothing.
		fmt.Fprintf(w, "stream     DAMAGED: %v\n", checkErr)
		return append(problems, fmt.Sprintf("cannot read or decompress it: %v", checkErr))
	}

	fmt.Fprintf(w, "stored     %s (%d bytes), %s\n", cli.Bytes(res.StoredBytes), res.StoredBytes, res.Compression)
	if res.StoredBytes != b.Size && b.Size >= 0 {
		problems = append(problems, fmt.Sprintf("read %d bytes, the remote lists %d", res.StoredBytes, b.Size))
	}

	switch {
	case b.SHA256 == "":
		fmt.Fprintf(w, "sha256     %s, none recorded (checked by decompressing only)\n", res.SHA256)
	case strings.EqualFold(b.SHA256, res.SHA256):
		fmt.Fprintf(w, "sha256     %s, matches the recorded one\n", res.SHA256)
	default:
		fmt.Fprintf(w, "sha256     MISMATCH: read %s, recorded %s\n", res.SHA256, b.SHA256)
		problems = append(problems, "sha256 does not match the recorded checksum")
	}

	switch {
	case b.RawSize < 0:
		fmt.Fprintf(w, "sql        %s (%d bytes), size not recorded\n", cli.Bytes(res.RawBytes), res.RawBytes)
	case b.RawSize == res.RawBytes:
		fmt.Fprintf(w, "sql        %s (%d bytes), matches the recorded size\n", cli.Bytes(res.RawBytes), res.RawBytes)
	default:
		fmt.Fprintf(w, "sql        MISMATCH: %d bytes, recorded %d\n", res.RawBytes, b.RawSize)
		problems = append(problems, fmt.Sprintf("decompressed to %d bytes of SQL, %d recorded", res.RawBytes, b.RawSize))
	}

	if res.Trailer {
		fmt.Fprintf(w, "trailer    present (%q)\n", dump.Trailer)
	} else {
		fmt.Fprintf(w, "trailer    MISSING: the dump does not end with %q\n", dump.Trailer)
		problems = append(problems, "the dump is incomplete: no completion trailer")
	}
	return problems
}

// progressReader counts the bytes read through it, for the progress line.
type progressReader struct {
	r io.Reader
	n *atomic.Int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n.Add(int64(n))
	return n, err
}

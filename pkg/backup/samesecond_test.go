package backup

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/backupd/backupd/internal/fakedrive"
	"github.com/backupd/backupd/internal/fakes3"
	"github.com/backupd/backupd/internal/storagetest"
	"github.com/backupd/backupd/pkg/storage"
)

// backends opens an empty store of each kind backupd writes to: a local
// folder, rclone's memory backend, the fake Drive and the fake S3.
func backends(t *testing.T) map[string]func(t *testing.T) (context.Context, *storage.Store) {
	return map[string]func(t *testing.T) (context.Context, *storage.Store){
		"local": func(t *testing.T) (context.Context, *storage.Store) {
			s, _ := localStore(t, nil)
			return t.Context(), s
		},
		"memory": func(t *testing.T) (context.Context, *storage.Store) {
			s, err := storage.Open(t.Context(), ":memory:"+t.Name(), nil)
			if err != nil {
				t.Fatal(err)
			}
			return t.Context(), s
		},
		"drive": func(t *testing.T) (context.Context, *storage.Store) {
			p := fakedrive.NewProduction(t)
			ctx := p.Context(t.Context())
			return ctx, storage.New(p.Fs(t, ctx, nil), nil)
		},
		"s3": func(t *testing.T) (context.Context, *storage.Store) {
			srv := fakes3.New(t)
			srv.NewBucket("app")
			return t.Context(), storage.New(srv.Fs(t.Context(), "app", "backups"), nil)
		},
	}
}

// TestTwoBackupsInOneSecond runs two backups named for the same second,
// as two runs that start within one second are: both must be kept, the
// first with its own bytes, on every backend and on a copy.
func TestTwoBackupsInOneSecond(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx, s := open(t)
			_, cp := backends(t)["local"](t)
			first, second := storagetest.Payload(3000, 1), storagetest.Payload(3000, 2)
			var names []string
			for _, data := range [][]byte{first, second} {
				job := Job{Dumper: payloadDump(data), Store: s, History: s, Codec: codec, Time: clock,
					Copies: []Copy{{Name: "copy", Store: cp}}}
				rep, err := job.Run(ctx)
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if rep.Partial() {
					t.Errorf("the copy of %s failed: %s", rep.Name, rep.FailedCopies())
				}
				names = append(names, rep.Name)
			}
			if names[0] == names[1] {
				t.Fatalf("both backups are named %s", names[0])
			}
			for _, st := range []*storage.Store{s, cp} {
				listed := storagetest.List(t, st)
				for _, n := range names {
					if _, ok := listed[n]; !ok {
						t.Errorf("%s: %s is missing; it holds %v", st, n, slices.Sorted(maps.Keys(listed)))
					}
				}
				if got := storagetest.Read(t, st, names[0]); !bytes.Equal(got, first) {
					t.Errorf("%s: the first backup %s no longer holds its own bytes", st, names[0])
				}
			}
		})
	}
}

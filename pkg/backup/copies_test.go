package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/fakedrive"
	"github.com/backupd/backupd/internal/fakes3"
	"github.com/backupd/backupd/internal/storagetest"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/storage"
)

// payloadDump is a dump that writes data in 32 KiB writes and reports its
// real checksum.
func payloadDump(data []byte) dumperFunc {
	return func(ctx context.Context, w io.Writer, c *dump.Counters) (dump.Result, error) {
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 32<<10)
			if _, err := w.Write(rest[:n]); err != nil {
				return dump.Result{}, err
			}
			rest = rest[n:]
		}
		sum := sha256.Sum256(data)
		return dump.Result{RawBytes: int64(len(data)) * 3, StoredBytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Tables: 7}, nil
	}
}

// driveAndS3 is production's primary (the fake Drive folder) and a Tigris
// bucket (the fake S3) as a copy.
type driveAndS3 struct {
	ctx    context.Context
	drive  *storage.Store
	s3     *storage.Store
	s3srv  *fakes3.Server
	p      *fakedrive.Production
	copyTo Copy
}

func newDriveAndS3(t *testing.T) *driveAndS3 {
	t.Helper()
	p := fakedrive.NewProduction(t)
	ctx := p.Context(t.Context())
	srv := fakes3.New(t)
	srv.NewBucket("app")
	s3, ok := storage.S3FromEnv(func(k string) string { return srv.Env("app")[k] })
	if !ok {
		t.Fatal("no S3 shortcut")
	}
	// The S3 client is built without the fake Drive's proxy.
	cp, err := storage.Open(t.Context(), "tigris:backups", nil, storage.WithS3(s3))
	if err != nil {
		t.Fatal(err)
	}
	d := &driveAndS3{ctx: ctx, p: p, s3srv: srv, s3: cp, drive: storage.New(p.Fs(t, ctx, nil), nil)}
	d.copyTo = Copy{Name: "tigris:backups", Store: cp}
	return d
}

func sameContent(t *testing.T, a, b *storage.Store, name string, want []byte) {
	t.Helper()
	for _, s := range []*storage.Store{a, b} {
		if got := storagetest.Read(t, s, name); !bytes.Equal(got, want) {
			t.Errorf("%s: %s holds %d bytes that differ from the %d dumped", s, name, len(got), len(want))
		}
	}
	ma, mb := storagetest.List(t, a)[name].Meta, storagetest.List(t, b)[name].Meta
	for _, k := range []string{catalog.MetaSHA256, catalog.MetaRawSize, catalog.MetaTables, catalog.MetaVersion} {
		if ma[k] == "" || ma[k] != mb[k] {
			t.Errorf("metadata %s: primary %q, copy %q", k, ma[k], mb[k])
		}
	}
}

// TestCopyDriveAndS3: one dump, published on the Drive folder and in the
// bucket at once, with the same bytes and the same recorded metadata.
func TestCopyDriveAndS3(t *testing.T) {
	d := newDriveAndS3(t)
	data := storagetest.Payload(6<<20+123, 1) // more than one S3 part
	job := Job{Dumper: payloadDump(data), Store: d.drive, Codec: codec, Time: clock, Copies: []Copy{d.copyTo}}
	rep, err := job.Run(d.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Partial() || len(rep.Copies) != 1 {
		t.Fatalf("copies = %+v, want one that succeeded", rep.Copies)
	}
	sameContent(t, d.drive, d.s3, rep.Name, data)
	if got, want := d.s3srv.Keys("app"), []string{"backups/" + rep.Name}; !slices.Equal(got, want) {
		t.Errorf("bucket holds %q, want %q", got, want)
	}
}

// TestCopyFailsMidUpload: the bucket refuses a part of the multipart
// upload. The primary is published, the bucket shows nothing (the aborted
// multipart upload leaves no object), the run reports the copy failed,
// and a repair then fills the copy from the primary.
func TestCopyFailsMidUpload(t *testing.T) {
	d := newDriveAndS3(t)
	parts := 0
	d.s3srv.SetFault(func(c fakes3.Call) *fakes3.Fault {
		// Every part after the first is refused, retries included.
		if c.Op == "PART" {
			if parts++; parts >= 2 {
				return &fakes3.Fault{Status: 403}
			}
		}
		return nil
	})
	data := storagetest.Payload(12<<20, 2)
	job := Job{Dumper: payloadDump(data), Store: d.drive, Codec: codec, Time: clock, Copies: []Copy{d.copyTo}}
	rep, err := job.Run(d.ctx)
	if err != nil {
		t.Fatalf("Run: %v, want success with a failed copy", err)
	}
	if !rep.Partial() || rep.Copies[0].Err == nil {
		t.Fatalf("copies = %+v, want the copy failed", rep.Copies)
	}
	t.Logf("copy error: %v", rep.Copies[0].Err)
	if got := storagetest.List(t, d.drive); got[rep.Name].Name == "" || len(got) != 1 {
		t.Errorf("primary holds %v, want the backup", got)
	}
	if got := d.s3srv.Keys("app"); len(got) != 0 {
		t.Errorf("bucket holds %q after the failed copy, want nothing", got)
	}
	if !slices.ContainsFunc(d.s3srv.Calls(), func(c fakes3.Call) bool { return c.Op == "ABORT-MULTIPART" }) {
		t.Error("the multipart upload was not aborted")
	}

	d.s3srv.SetFault(nil)
	rr, err := Repair(d.ctx, d.drive, d.copyTo.Name, d.s3, RepairOptions{Codec: codec, Now: clock})
	if err != nil {
		t.Fatalf("Repair: %v", err)
	}
	if got, want := rr.Copied, []string{rep.Name}; !slices.Equal(got, want) {
		t.Errorf("repair copied %q, want %q", got, want)
	}
	sameContent(t, d.drive, d.s3, rep.Name, data)
	rr, err = Repair(d.ctx, d.drive, d.copyTo.Name, d.s3, RepairOptions{Codec: codec, Now: clock})
	if err != nil || len(rr.Copied) != 0 || rr.Missing != 0 {
		t.Errorf("second repair = %+v, %v; want nothing to do", rr, err)
	}
}

// TestRepairRefusesBytesThatDoNotMatch: a primary whose bytes no longer
// hash to the recorded checksum is not copied.
func TestRepairRefusesBytesThatDoNotMatch(t *testing.T) {
	d := newDriveAndS3(t)
	name := codec.Name(clock, catalog.Zstd)
	// The file is stored intact, then its recorded checksum is changed, as
	// anyone who may write the folder can.
	data := []byte("tampered")
	if _, err := d.drive.Put(d.ctx, name, bytes.NewReader(data), func() (map[string]string, error) {
		return catalog.Meta(storagetest.SHA256(data), 100), nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := d.drive.SetMeta(d.ctx, name, map[string]string{catalog.MetaSHA256: hex.EncodeToString(make([]byte, 32))}); err != nil {
		t.Fatal(err)
	}
	_, err := Repair(d.ctx, d.drive, d.copyTo.Name, d.s3, RepairOptions{Codec: codec, Now: clock})
	if err == nil {
		t.Fatal("Repair copied a backup whose bytes do not match its checksum")
	}
	t.Logf("repair error: %v", err)
	if got := d.s3srv.Keys("app"); len(got) != 0 {
		t.Errorf("bucket holds %q, want nothing", got)
	}
}

// TestCopyNothingWhenTheDumpFails: a failed dump publishes nowhere.
func TestCopyNothingWhenTheDumpFails(t *testing.T) {
	d := newDriveAndS3(t)
	job := Job{Dumper: dumperFunc(failedDump), Store: d.drive, Codec: codec, Time: clock, Copies: []Copy{d.copyTo}}
	if _, err := job.Run(d.ctx); err == nil {
		t.Fatal("Run succeeded with a failed dump")
	}
	if got := storagetest.List(t, d.drive); len(got) != 0 {
		t.Errorf("primary holds %v", got)
	}
	if got := d.s3srv.Keys("app"); len(got) != 0 {
		t.Errorf("bucket holds %q", got)
	}
}

// TestCopyNothingWhenThePublishCheckFails: a dump the primary does not
// publish (the slot was lost) is not published on a copy either.
func TestCopyNothingWhenThePublishCheckFails(t *testing.T) {
	d := newDriveAndS3(t)
	taken := errors.New("slot taken")
	ctx := WithPublishCheck(d.ctx, func(context.Context) error { return taken })
	job := Job{Dumper: payloadDump(storagetest.Payload(300<<10, 3)), Store: d.drive, Codec: codec, Time: clock, Copies: []Copy{d.copyTo}}
	if _, err := job.Run(ctx); !errors.Is(err, taken) {
		t.Fatalf("Run = %v, want the check's error", err)
	}
	if got := d.s3srv.Keys("app"); len(got) != 0 {
		t.Errorf("bucket holds %q", got)
	}
}

// stalledCopy is a copy that reads nothing until the dump has been
// written in full: slower than the dump by any measure.
type stalledCopy struct {
	Putter
	gate <-chan struct{}
}

func (s stalledCopy) Put(ctx context.Context, name string, r io.Reader, commit func() (map[string]string, error)) (catalog.Entry, error) {
	<-s.gate
	return s.Putter.Put(ctx, name, r, commit)
}

// TestSlowCopyIsAbandonedWithBoundedMemory: a copy that cannot keep up is
// abandoned once its buffer is full; the dump goes on at the primary's
// pace and the heap stays far below the dump's size. The figure is
// printed (go test -v).
func TestSlowCopyIsAbandonedWithBoundedMemory(t *testing.T) {
	primary, _ := localStore(t, nil)
	copyStore, _ := localStore(t, nil)
	const size, buffer = 256 << 20, 1 << 20
	gate := make(chan struct{})
	// The dump is generated as it is written, so that it is never in
	// memory whole.
	dumper := dumperFunc(func(ctx context.Context, w io.Writer, c *dump.Counters) (dump.Result, error) {
		h := sha256.New()
		chunk := storagetest.Payload(64<<10, 4)
		for written := 0; written < size; written += len(chunk) {
			chunk[0] = byte(written >> 16)
			h.Write(chunk)
			if _, err := w.Write(chunk); err != nil {
				return dump.Result{}, err
			}
		}
		close(gate)
		return dump.Result{RawBytes: size, StoredBytes: size, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
	})
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	job := Job{Dumper: dumper, Store: primary, Codec: codec, Time: clock, CopyBuffer: buffer,
		Copies: []Copy{{Name: "slow", Store: stalledCopy{Putter: copyStore, gate: gate}}}}
	rep, err := job.Run(t.Context())
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Copies) != 1 || !errors.Is(rep.Copies[0].Err, ErrCopyTooSlow) {
		t.Fatalf("copies = %+v, want the slow copy abandoned", rep.Copies)
	}
	if got := storagetest.List(t, primary); got[rep.Name].Size != size {
		t.Errorf("primary holds %v, want the whole backup", got)
	}
	if got := storagetest.List(t, copyStore); len(got) != 0 {
		t.Errorf("the abandoned copy left %v", got)
	}
	grew := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("dump %d MiB, copy buffer %d MiB: heap in use grew by at most %.1f MiB (base %.1f MiB, peak %.1f MiB)",
		size>>20, buffer>>20, float64(grew)/(1<<20), float64(base.HeapInuse)/(1<<20), float64(peak.Load())/(1<<20))
	if grew > size/8 {
		t.Errorf("heap grew by %d bytes for a %d-byte dump: the copy's buffer is not bounded", grew, size)
	}
}

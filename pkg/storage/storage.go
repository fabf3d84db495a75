// Package storage keeps backups in any rclone remote: a Google Drive folder in
// production, a local folder for the embedded default, memory in tests.
//
// A backup is published in two steps so that a failed or interrupted upload
// never looks like a backup: the stream goes to "<name>.partial", and only
// when the producer reports success is it renamed (server-side) to "<name>"
// with its checksum stamped on as metadata.
package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/rclone/rclone/backend/drive"
	"github.com/rclone/rclone/fs"
	"github.com/rclone/rclone/fs/fspath"
	"github.com/rclone/rclone/fs/hash"
	"github.com/rclone/rclone/fs/operations"

	"github.com/backupd/backupd/pkg/catalog"

	// The other backends a remote string can name.
	_ "github.com/rclone/rclone/backend/local"
	_ "github.com/rclone/rclone/backend/memory"
)

// ErrNotFound is returned (wrapped) by Open and Delete for a name the store
// does not hold; it is catalog.ErrNotFound, so that consumers need not import
// this package to recognise it.
var ErrNotFound = catalog.ErrNotFound

// ErrExists is returned (wrapped) by Put for a name the store holds
// already; it is catalog.ErrExists.
var ErrExists = catalog.ErrExists

// ErrDenied is returned (wrapped, as a *DeniedError) by Delete when the
// account may not delete in the remote; it is catalog.ErrDenied.
var ErrDenied = catalog.ErrDenied

// Store keeps backups in the root of one rclone remote.
type Store struct {
	f     fs.Fs
	log   *slog.Logger
	desc  string      // for String, when opened by Open
	hints *driveHints // explains Drive errors; nil for other backends
}

// Open opens the rclone remote named by remote: "name:path" for a configured
// remote (for example "gdrive:" set up through RCLONE_CONFIG_GDRIVE_*, or
// DriveRemote's "gdrive,root_folder_id=ID:"), or a plain folder path for the
// local backend. A local folder is created on the first Put.
//
// For a Google Drive remote, permanent failures of Open and of every later
// call come back as *DriveError, saying what to fix; Drive's hard limits
// (the daily upload limit, a full drive, a Shared Drive's item limit) end
// an upload at once rather than after retries (see stopOnUploadLimit).
func Open(ctx context.Context, remote string, log *slog.Logger, opts ...OpenOption) (*Store, error) {
	var cfg openConfig
	for _, o := range opts {
		o(&cfg)
	}
	if remote == "" {
		return nil, errors.New("open remote: empty remote")
	}
	if path, ok := cfg.s3Shortcut(remote); ok {
		f, err := openS3(ctx, *cfg.s3, path)
		if err != nil {
			return nil, err
		}
		s := New(f, log)
		s.desc = remote + " (bucket " + cfg.s3.Bucket + ")"
		return s, nil
	}
	hints := newDriveHints(remote, cfg.folderSource)
	if hints != nil && !hints.settings.HasCredentials() {
		return nil, &SettingError{fmt.Sprintf("remote %s has no credentials: set %s to the service account's JSON key",
			describe(nil, remote), hints.settings.Var("service_account_credentials"))}
	}
	open := remote
	if hints != nil {
		open = stopOnUploadLimit(remote)
	}
	f, err := fs.NewFs(ctx, open)
	if errors.Is(err, fs.ErrorIsFile) {
		return nil, &SettingError{fmt.Sprintf("remote %s is a file, not a folder", describe(nil, remote))}
	}
	if errors.Is(err, fs.ErrorNotFoundInConfigFile) {
		return nil, notConfigured(remote)
	}
	if err != nil {
		return nil, fmt.Errorf("open remote %s: %w", describe(nil, remote), hints.explain(err))
	}
	s := New(f, log)
	s.desc = describe(f, remote)
	if hints != nil {
		s.hints = hints
	}
	return s, nil
}

// SettingError is a remote that cannot be opened as configured: the
// operator's settings must change, not the remote.
type SettingError struct{ Msg string }

func (e *SettingError) Error() string { return e.Msg }

// notConfigured is the SettingError for a named remote that rclone finds
// neither in the environment nor in a config file.
func notConfigured(remote string) error {
	name := remote[:strings.IndexByte(remote, ':')]
	name, _, _ = strings.Cut(name, ",")
	return &SettingError{fmt.Sprintf("remote %q (in %q) is not configured: set %s (and the remote's other RCLONE_CONFIG_%s_* settings), or give a local folder",
		name, remote, fs.ConfigToEnv(name, "type"), strings.ToUpper(name))}
}

// ErrNoFolder means the remote's folder does not exist.
var ErrNoFolder = errors.New("the folder does not exist")

// CheckFolder returns nil when the remote's folder exists, and an error
// wrapping ErrNoFolder when it does not (a mistyped local path, a folder
// not created yet). Reading commands call it so that a missing folder is
// not taken for an empty one; writing creates the folder.
func (s *Store) CheckFolder(ctx context.Context) error {
	_, err := s.f.List(withMetadata(ctx, nil), "")
	if errors.Is(err, fs.ErrorDirNotFound) {
		return fmt.Errorf("%s: %w", s, ErrNoFolder)
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", s, s.hints.explain(err))
	}
	return nil
}

// stopOnUploadLimit sets rclone's stop_on_upload_limit on a Drive remote
// string, unless the string sets it already: once the account has uploaded
// its 750 GB of the day, Drive refuses every upload for up to a day, and
// retrying (as rclone does by default, for minutes) only delays the error.
// With it, the limit and the full-drive answers end the upload at once.
func stopOnUploadLimit(remote string) string {
	p, err := fspath.Parse(remote)
	if err != nil || p.Name == "" || !strings.HasPrefix(remote, p.Name) {
		return remote
	}
	if _, set := p.Config["stop_on_upload_limit"]; set {
		return remote
	}
	return p.Name + ",stop_on_upload_limit=true" + remote[len(p.Name):]
}

// describe names a remote for messages without the hash suffix rclone
// adds to remotes with overridden settings, and without any setting other
// than the root folder ID (a connection string may hold secrets).
func describe(f fs.Fs, remote string) string {
	p, err := fspath.Parse(remote)
	if err != nil || p.Name == "" {
		// A local folder, as the operator spelled it (rclone's own
		// description encodes some names, "." among them).
		return remote
	}
	d := p.Name + ":" + p.Path
	if id, ok := p.Config["root_folder_id"]; ok {
		d += " (folder " + id + ")"
	}
	return d
}

// New wraps an rclone Fs that is already open. Drive errors are explained
// in general terms (see Open for messages naming the settings).
func New(f fs.Fs, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{f: f, log: log}
	if _, ok := f.(*drive.Fs); ok {
		name, _, _ := strings.Cut(f.Name(), "{")
		s.hints = &driveHints{settings: DriveSettings{Name: name}}
	}
	return s
}

// Fs is the underlying rclone filesystem.
func (s *Store) Fs() fs.Fs { return s.f }

// String names the remote, for messages: the absolute folder for a local
// remote, the Drive folder for the production remote, else "name:path".
func (s *Store) String() string {
	if s.desc != "" {
		return s.desc
	}
	if s.f.Features().IsLocal {
		if abs, err := filepath.Abs(s.f.Root()); err == nil {
			return abs
		}
		return s.f.Root()
	}
	return fs.ConfigString(s.f)
}

// withMetadata turns on rclone's metadata handling so that listings carry
// Drive properties (or local extended attributes) and moves can set them.
func withMetadata(ctx context.Context, set fs.Metadata) context.Context {
	ctx, ci := fs.AddConfig(ctx)
	ci.Metadata = true
	ci.MetadataSet = set
	return ctx
}

// Put stores the stream r under name. It reads r to EOF into
// "<name>.partial"; then it calls commit, which decides whether the stream
// is good and returns the metadata to record. Only if r ended cleanly and
// commit succeeded is the partial renamed to name. On any failure the partial
// is removed (best effort) and an error returned; name is never created.
//
// Before publishing, Put checks the upload end to end with SHA-256: the
// bytes it read must hash to the sha256 the metadata records
// (catalog.MetaSHA256, when set), and the remote must hold those bytes (see
// verify).
//
// The producer behind r signals failure by making r return an error (for
// example io.PipeWriter.CloseWithError).
//
// On a local folder, the backup is 0600 in a 0700 folder from its first
// byte on, whatever the umask (see prepareLocal).
//
// On Google Drive, Put first looks the partial name up in the folder, before
// reading r, so that a missing folder or a refused key fails at once (see
// preflight).
func (s *Store) Put(ctx context.Context, name string, r io.Reader, commit func() (map[string]string, error)) (catalog.Entry, error) {
	partial := name + catalog.PartialSuffix
	if s.hints != nil {
		if err := s.preflight(ctx, partial); err != nil {
			return catalog.Entry{}, fmt.Errorf("upload %s: %w", partial, s.hints.explain(err))
		}
	}
	if s.f.Features().IsLocal {
		if err := s.prepareLocal(partial); err != nil {
			s.removePartial(partial)
			return catalog.Entry{}, fmt.Errorf("upload %s: %w", partial, err)
		}
	}
	sum := sha256.New()
	obj, err := operations.Rcat(s.uploadContext(ctx), s.f, partial, io.NopCloser(io.TeeReader(r, sum)), time.Now(), nil)
	if err != nil {
		s.removePartial(partial)
		return catalog.Entry{}, fmt.Errorf("upload %s: %w", partial, s.hints.explain(err))
	}
	meta, err := commit()
	if err != nil {
		s.removePartial(partial)
		return catalog.Entry{}, err
	}
	read := hex.EncodeToString(sum.Sum(nil))
	if want := meta[catalog.MetaSHA256]; want != "" && want != read {
		s.removePartial(partial)
		return catalog.Entry{}, fmt.Errorf("upload %s: the bytes read hash to sha256 %s, not the recorded %s: nothing published", partial, read, want)
	}
	if err := s.verify(ctx, obj, read); err != nil {
		s.removePartial(partial)
		return catalog.Entry{}, fmt.Errorf("upload %s: %w", partial, s.hints.explain(err))
	}
	final, err := s.publish(ctx, obj, name, meta)
	if err != nil {
		s.removePartial(partial)
		return catalog.Entry{}, fmt.Errorf("publish %s: %w", name, s.hints.explain(err))
	}
	return catalog.Entry{Name: name, Size: final.Size(), ModTime: final.ModTime(ctx), Meta: meta}, nil
}

// uploadBuffer is the read-ahead rclone keeps between the stream and an
// upload to a remote that is not local (its --buffer-size): enough to keep
// the dump flowing while a chunk goes out, a quarter of rclone's default,
// so that a backup stays within its memory budget. A local remote gets
// none: the file takes the bytes as fast as they come, and a read-ahead
// would only add a copy and a goroutine hand-off per MiB.
const uploadBuffer = 4 << 20

// uploadContext is ctx with rclone's settings for one upload. When the
// remote reports SHA-256 checksums, rclone computes no checksum of its own
// (it would hash the stream with MD5 on the way, and a local remote once
// more while writing): Put hashes the stream with SHA-256 itself and
// compares that with what the remote stored (see verify). Remotes without
// SHA-256 (S3) keep rclone's own check.
func (s *Store) uploadContext(ctx context.Context) context.Context {
	ctx, ci := fs.AddConfig(ctx)
	ci.BufferSize = uploadBuffer
	if s.f.Features().IsLocal {
		ci.BufferSize = 0
	}
	if s.f.Hashes().Contains(hash.SHA256) {
		ci.IgnoreChecksum = true
	}
	return ctx
}

// verify checks that the uploaded object holds the bytes that were read,
// whose sha256 is want: by the checksum the remote reports (Drive computes
// it server-side; a local remote reads the file back), or, when the remote
// reports none for the object, by reading it back. A remote without
// SHA-256 support was checked by rclone during the upload.
func (s *Store) verify(ctx context.Context, obj fs.Object, want string) error {
	if !s.f.Hashes().Contains(hash.SHA256) {
		return nil
	}
	got, err := obj.Hash(ctx, hash.SHA256)
	if err != nil && !errors.Is(err, hash.ErrUnsupported) {
		return fmt.Errorf("read the stored checksum: %w", err)
	}
	if got == "" {
		if got, err = readBackSHA256(ctx, obj); err != nil {
			return fmt.Errorf("read back to verify: %w", err)
		}
	}
	if got != want {
		return fmt.Errorf("the remote stored bytes with sha256 %s, not the %s sent: corrupted on upload, nothing published", got, want)
	}
	return nil
}

// readBackSHA256 downloads obj and hashes it.
func readBackSHA256(ctx context.Context, obj fs.Object) (string, error) {
	rc, err := obj.Open(ctx)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// tokenAttempts is how often preflight tries a token endpoint that fails
// transiently.
var tokenAttempts = 4

// preflight looks the partial name up in the Drive folder before any of the
// stream is read, so that a missing folder or a refused key fails the
// backup at once. It also fetches the access token, retrying the token
// endpoint's transient failures (5xx, dropped connections) with backoff:
// rclone's drive backend retries the Drive API's, not the token
// endpoint's.
func (s *Store) preflight(ctx context.Context, partial string) error {
	delay := time.Second
	for attempt := 1; ; attempt++ {
		_, err := s.f.NewObject(ctx, partial)
		if err == nil || errors.Is(err, fs.ErrorObjectNotFound) {
			return nil
		}
		if !transientTokenError(err) || attempt == tokenAttempts {
			return err
		}
		s.log.Warn("fetching a Google access token failed, retrying", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// publish renames the uploaded partial to name with a server-side move that
// also sets the metadata (one Drive files.update call). It never replaces
// a file: a name taken already is an error wrapping ErrExists.
//
// A local folder renames with the kernel's no-replace rename, so that
// publishing and the check are one step. Drive keeps two files of one name
// side by side and S3 overwrites, and neither has a rename that refuses to
// replace: there the name is looked up just before the move (one more
// request), which leaves a window of one request for a second publisher
// of the very same name; backup names carry the second, and one machine
// never starts two runs in one second (see backup.Job.Run).
func (s *Store) publish(ctx context.Context, obj fs.Object, name string, meta map[string]string) (fs.Object, error) {
	if s.f.Features().IsLocal {
		return s.publishLocal(ctx, obj, name, meta)
	}
	switch _, err := s.f.NewObject(ctx, name); {
	case err == nil:
		return nil, fmt.Errorf("%w: not replaced", ErrExists)
	case !errors.Is(err, fs.ErrorObjectNotFound):
		return nil, fmt.Errorf("look for a file named %s: %w", name, err)
	}
	move := s.f.Features().Move
	if move == nil {
		// A server-side copy publishes just as atomically (the memory
		// backend has no move).
		cp := s.f.Features().Copy
		if cp == nil {
			return nil, fmt.Errorf("remote %s cannot rename or copy files server-side", s)
		}
		final, err := cp(withMetadata(ctx, meta), obj, name)
		if err != nil {
			return nil, err
		}
		if err := obj.Remove(ctx); err != nil {
			s.log.Warn("could not remove uploaded partial after publishing", "object", obj.Remote(), "err", err)
		}
		return final, nil
	}
	final, err := move(withMetadata(ctx, meta), obj, name)
	if err == nil {
		return final, nil
	}
	// Some backends rename first and set metadata afterwards; when only the
	// metadata failed (a local filesystem without extended attributes), the
	// backup itself is complete and stays published without a checksum.
	if o, statErr := s.f.NewObject(ctx, name); statErr == nil && o.Size() == obj.Size() {
		s.log.Warn("backup published without recorded checksum", "backup", name, "err", err)
		return o, nil
	}
	return nil, err
}

// removePartial deletes an abandoned upload. It uses a fresh context: the
// caller's may already be cancelled, and the partial must still go.
func (s *Store) removePartial(partial string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o, err := s.f.NewObject(ctx, partial)
	if err != nil {
		return // never created, or already gone
	}
	if err := o.Remove(ctx); err != nil {
		s.log.Warn("could not remove abandoned upload", "object", partial, "err", err)
	}
}

// List returns every file in the root of the remote, in no particular order,
// with the metadata the remote keeps for it. Folders, and files renamed or
// deleted by another process while the listing runs, are left out.
func (s *Store) List(ctx context.Context) ([]catalog.Entry, error) {
	entries, err := s.ListFolder(ctx)
	if errors.Is(err, ErrNoFolder) {
		return nil, nil // a local folder not created yet holds no backups
	}
	return entries, err
}

// ListFolder is List for a folder that must exist: one that does not is an
// error wrapping ErrNoFolder, not an empty listing.
func (s *Store) ListFolder(ctx context.Context) ([]catalog.Entry, error) {
	ctx = withMetadata(ctx, nil)
	entries, err := s.f.List(ctx, "")
	if errors.Is(err, fs.ErrorDirNotFound) {
		return nil, fmt.Errorf("%s: %w", s, ErrNoFolder)
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s, s.hints.explain(err))
	}
	out := make([]catalog.Entry, 0, len(entries))
	for _, e := range entries {
		o, ok := e.(fs.Object)
		if !ok {
			continue
		}
		m, err := fs.GetMetadata(ctx, o)
		for try := 1; err != nil && try < 3; try++ {
			// A local file's extended attributes change under a reader
			// while an upload is given them (ERANGE): read again.
			m, err = fs.GetMetadata(ctx, o)
		}
		if err != nil {
			if _, statErr := s.f.NewObject(ctx, o.Remote()); errors.Is(statErr, fs.ErrorObjectNotFound) {
				continue // renamed or deleted by another process while listing
			}
			if !strings.HasSuffix(o.Remote(), catalog.PartialSuffix) {
				return nil, fmt.Errorf("read metadata of %s: %w", o.Remote(), s.hints.explain(err))
			}
			// An upload in progress: its metadata are not final, and
			// nothing reads them.
			m = nil
		}
		out = append(out, catalog.Entry{Name: o.Remote(), Size: o.Size(), ModTime: o.ModTime(ctx), Meta: m})
	}
	return out, nil
}

// Open streams the named file. It returns ErrNotFound when there is none.
func (s *Store) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	o, err := s.object(ctx, name)
	if err != nil {
		return nil, err
	}
	rc, err := o.Open(ctx)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, s.hints.explain(err))
	}
	return rc, nil
}

// Delete removes the named file. It returns ErrNotFound when there is none,
// and a *DeniedError (matching ErrDenied) when the account may not delete
// in the remote. Under a context from WithDeleteGate, a refusal closes the
// gate: later Deletes on this store under that context return the same
// refusal without asking the remote.
func (s *Store) Delete(ctx context.Context, name string) error {
	g := gateOf(ctx)
	if d := g.refusal(s); d != nil {
		return d.again(name)
	}
	o, err := s.object(ctx, name)
	if err != nil {
		return err
	}
	if err := o.Remove(ctx); err != nil {
		d, gone := s.denied(ctx, name, err)
		switch {
		case gone:
			return fmt.Errorf("%s: %w", name, ErrNotFound)
		case d != nil:
			g.refuse(s, d)
			return d
		}
		return fmt.Errorf("delete %s: %w", name, s.hints.explain(err))
	}
	return nil
}

func (s *Store) object(ctx context.Context, name string) (fs.Object, error) {
	o, err := s.f.NewObject(ctx, name)
	if errors.Is(err, fs.ErrorObjectNotFound) || errors.Is(err, fs.ErrorDirNotFound) {
		return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", name, s.hints.explain(err))
	}
	return o, nil
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/internal/fakedrive"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/restore"
	"github.com/backupd/backupd/pkg/seal"
	"github.com/backupd/backupd/pkg/selector"
	"github.com/backupd/backupd/pkg/storage"
)

// keyFiles are the files of one "backupd keygen" run, and their contents.
type keyFiles struct {
	dir                            string
	identity, recipient, sign, pub string
}

func keygen(t *testing.T) keyFiles {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	code, out, errOut := runApp(t, nil, "keygen", "--out", dir)
	if code != cli.ExitOK {
		t.Fatalf("keygen: exit %d\n%s%s", code, out, errOut)
	}
	k := keyFiles{dir: dir}
	for name, into := range map[string]*string{identityFile: &k.identity, recipientFile: &k.recipient, signKeyFile: &k.sign, signPubFile: &k.pub} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		*into = string(b)
	}
	return k
}

func (k keyFiles) path(name string) string { return filepath.Join(k.dir, name) }

func TestKeygen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	code, out, errOut := runApp(t, nil, "keygen", "--out", dir)
	if code != cli.ExitOK {
		t.Fatalf("keygen: exit %d\n%s%s", code, out, errOut)
	}
	modes := map[string]os.FileMode{identityFile: 0o600, recipientFile: 0o644, signKeyFile: 0o600, signPubFile: 0o644}
	texts := map[string]string{}
	for name, want := range modes {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s is %o, want %o", name, got, want)
		}
		b, _ := os.ReadFile(filepath.Join(dir, name))
		texts[name] = string(b)
	}
	ids, err := seal.ParseIdentities(texts[identityFile])
	if err != nil || !strings.Contains(texts[identityFile], "AGE-SECRET-KEY-1") {
		t.Fatalf("age-identity.txt: %v\n", err)
	}
	rs, err := seal.ParseRecipients(texts[recipientFile])
	if err != nil || !seal.Belong(rs, ids) {
		t.Fatalf("age-recipient.txt is not the identity's recipient: %v", err)
	}
	sk, err := seal.ParseSigningKey(texts[signKeyFile])
	if err != nil {
		t.Fatal(err)
	}
	vs, err := seal.ParseVerifyKeys(texts[signPubFile])
	if err != nil || len(vs) != 1 || !vs[0].Equal(sk.Public()) || strings.Count(texts[signPubFile], "\n") != 1 {
		t.Fatalf("sign.pub is not one line with the signing key's public key: %v", err)
	}
	if !strings.Contains(out, strings.TrimSpace(texts[recipientFile])) || !strings.Contains(out, strings.TrimSpace(texts[signPubFile])) {
		t.Errorf("keygen does not print the recipient and the verify key:\n%s", out)
	}
	for _, secret := range []string{strings.TrimSpace(sk.String()), "AGE-SECRET-KEY-1"} {
		if strings.Contains(out+errOut, secret) {
			t.Errorf("keygen printed a secret key:\n%s", out)
		}
	}

	// Never overwritten: a second run into the folder, or into one that
	// holds any of the four, refuses and changes nothing.
	other := filepath.Join(t.TempDir(), "other")
	if err := os.MkdirAll(other, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, signPubFile), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, other} {
		code, _, errOut := runApp(t, nil, "keygen", "--out", d)
		if code == cli.ExitOK || !strings.Contains(errOut, "exists already") {
			t.Errorf("keygen into %s: exit %d, %q; want a refusal", d, code, errOut)
		}
	}
	for name, text := range texts {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != text {
			t.Errorf("%s changed", name)
		}
	}
	if entries, _ := os.ReadDir(other); len(entries) != 1 {
		t.Errorf("the refused run left %d files in %s", len(entries), other)
	}
}

// TestSealedOnDrive runs "backupd now" with keys, set as Fly secrets would
// set them, into the fake Drive; then list, verify and a restore read the
// backups with and without the keys.
func TestSealedOnDrive(t *testing.T) {
	k := keygen(t)
	kinds := []struct {
		name      string
		env       map[string]string
		encrypted bool
		signed    bool
	}{
		{"encrypted and signed", map[string]string{"BACKUPD_ENCRYPT_TO": strings.TrimSpace(k.recipient), cli.SignKeyEnv: k.sign}, true, true},
		{"encrypted", map[string]string{"BACKUPD_ENCRYPT_TO": k.path(recipientFile)}, true, false},
		{"signed", map[string]string{"BACKUPD_SIGN_KEY_FILE": k.path(signKeyFile)}, false, true},
	}
	for _, kind := range kinds {
		t.Run(kind.name, func(t *testing.T) {
			p, srv, src := driveProduction(t)
			for _, v := range []string{"BACKUPD_ENCRYPT_TO", cli.SignKeyEnv, "BACKUPD_SIGN_KEY_FILE", cli.AgeIdentityEnv, "BACKUPD_AGE_IDENTITY_FILE", "BACKUPD_VERIFY_KEY", "RESTORE_REQUIRE_SIGNATURE"} {
				t.Setenv(v, kind.env[v])
			}
			r := driveRun(t, "now", "--debug")
			if r.code != 0 {
				t.Fatalf("backupd now exited %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			for _, s := range []string{strings.TrimSpace(k.sign), "AGE-SECRET-KEY-1"} {
				if strings.Contains(r.stdout+r.stderr, s) {
					t.Error("a secret key reached the output")
				}
			}
			files := p.Children(p.FolderID)
			if len(files) != 1 {
				t.Fatalf("the folder holds %d files, want 1", len(files))
			}
			f := files[0]
			if got := strings.HasSuffix(f.Name, ".sql.zst.age"); got != kind.encrypted {
				t.Errorf("stored %s; encrypted %v", f.Name, kind.encrypted)
			}
			if got := seal.IsEncrypted(f.Data); got != kind.encrypted {
				t.Errorf("the stored bytes are an age file: %v, want %v", got, kind.encrypted)
			}
			sig := f.Properties[catalog.MetaSignature]
			if (sig != "") != kind.signed || (kind.signed && len(sig) != 86) {
				t.Errorf("signature property %q, signed %v", sig, kind.signed)
			}
			for key, value := range f.Properties {
				if len(key)+len(value) > 124 {
					t.Errorf("property %s is %d bytes, over Drive's limit", key, len(key)+len(value))
				}
			}

			// list --json, with and without the verify key.
			code, out, errOut := runApp(t, driveEnv(p), "list", "--json")
			var items []map[string]any
			if code != 0 || json.Unmarshal([]byte(out), &items) != nil || len(items) != 1 {
				t.Fatalf("list --json: exit %d\n%s%s", code, out, errOut)
			}
			if items[0]["encrypted"] != kind.encrypted || items[0]["signed"] != kind.signed {
				t.Errorf("list --json = %v; want encrypted %v, signed %v", items[0], kind.encrypted, kind.signed)
			}
			if _, ok := items[0]["signature_valid"]; ok {
				t.Errorf("signature_valid without a verify key: %v", items[0])
			}
			code, out, _ = runApp(t, driveEnv(p, "BACKUPD_VERIFY_KEY", strings.TrimSpace(k.pub)), "list", "--json")
			items = nil
			if code != 0 || json.Unmarshal([]byte(out), &items) != nil || len(items) != 1 || items[0]["signature_valid"] != kind.signed {
				t.Errorf("list --json with the verify key: %s", out)
			}
			code, out, _ = runApp(t, driveEnv(p, "BACKUPD_VERIFY_KEY", k.path(signPubFile)), "list")
			wantCol := "no"
			if kind.signed {
				wantCol = "yes, valid"
			}
			if code != 0 || !strings.Contains(out, "ENCRYPTED") || !strings.Contains(out, wantCol) {
				t.Errorf("list with the verify key does not say %q:\n%s", wantCol, out)
			}

			// verify: without the identity an encrypted backup cannot be
			// read; with the keys it checks, and requiring a signature
			// fails an unsigned one.
			code, out, _ = runApp(t, driveEnv(p), "verify")
			if want := map[bool]int{true: cli.ExitUsage, false: cli.ExitOK}[kind.encrypted]; code != want {
				t.Errorf("verify without keys: exit %d\n%s", code, out)
			}
			env := driveEnv(p, "BACKUPD_AGE_IDENTITY_FILE", k.path(identityFile), "BACKUPD_VERIFY_KEY", strings.TrimSpace(k.pub), "RESTORE_REQUIRE_SIGNATURE", "true")
			code, out, errOut = runApp(t, env, "verify")
			if kind.signed != (code == 0) || (kind.signed && !strings.Contains(out, "signature  valid")) {
				t.Errorf("verify with the keys, a signature required: exit %d\n%s%s", code, out, errOut)
			}
			if kind.encrypted && kind.signed && !strings.Contains(out, "age envelope") {
				t.Errorf("verify does not say the backup is encrypted:\n%s", out)
			}

			// A restore straight from Drive.
			ctx := p.Context(context.Background())
			store := storage.New(p.Fs(t, ctx, nil), nil)
			ids, _ := seal.ParseIdentities(k.identity)
			vks, _ := seal.ParseVerifyKeys(k.pub)
			target := srv.NewDatabase(t, "app")
			choice, err := restore.Choose(ctx, store, catalog.Codec{}, time.Now().Add(24*time.Hour), selector.DefaultPolicy(), "")
			if err != nil {
				t.Fatal(err)
			}
			rr := &restore.Restorer{Store: store, Conn: srv.Root(target)}
			_, err = rr.Restore(ctx, choice.Candidates)
			if kind.encrypted != (err != nil) {
				t.Fatalf("restore without keys: %v", err)
			}
			if kind.encrypted && cli.ExitStatus(err) != cli.ExitUsage {
				t.Errorf("restore of an encrypted backup without the identity: exit %d (%v), want %d", cli.ExitStatus(err), err, cli.ExitUsage)
			}
			rr = &restore.Restorer{Store: store, Conn: srv.Root(target), Identities: ids, VerifyKeys: vks, RequireSignature: kind.signed}
			rep, err := rr.Restore(ctx, choice.Candidates)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Verified || rep.Encrypted != kind.encrypted || (kind.signed && rep.Signature != seal.Valid) {
				t.Errorf("restored verified %v, encrypted %v, signature %v", rep.Verified, rep.Encrypted, rep.Signature)
			}
			if got, want := srv.Fingerprint(t, target), srv.Fingerprint(t, src); got != want {
				t.Errorf("restored database differs\n--- got\n%s\n--- want\n%s", got, want)
			}
		})
	}
}

// TestForgedOnDrive puts beside a signed backup one that an outsider
// encrypted to the same recipient and signed with their own key, dated
// nearer the preferred time: with a signature required, verify fails it and the
// restore skips it for the real one.
func TestForgedOnDrive(t *testing.T) {
	k := keygen(t)
	p, srv, src := driveProduction(t)
	t.Setenv("BACKUPD_ENCRYPT_TO", strings.TrimSpace(k.recipient))
	t.Setenv(cli.SignKeyEnv, k.sign)
	if r := driveRun(t, "now"); r.code != 0 {
		t.Fatalf("backupd now exited %d\n%s", r.code, r.stderr)
	}
	real := p.Children(p.FolderID)[0]

	// The outsider's backup: a valid age file to the same recipient,
	// holding another database, signed with a key of their own.
	other := srv.NewDatabase(t, "other")
	srv.Exec(t, other, "CREATE TABLE users (id INT PRIMARY KEY); INSERT INTO users VALUES (666)")
	rs, _ := seal.ParseRecipients(k.recipient)
	mallory, _ := seal.GenerateSigningKey()
	dir := t.TempDir()
	local, err := storage.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := catalog.Codec{}.Parse(real.Name)
	job := backup.Job{Dumper: &dump.Dumper{Conn: srv.Root(other)}, Store: local, Time: rb.Time.Add(-time.Hour),
		Seal: backup.Seal{Recipients: rs, SignKey: &mallory}}
	rep, err := job.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, rep.Name))
	props := map[string]string{}
	for key, v := range catalog.Meta(rep.SHA256, rep.RawBytes) {
		props[key] = v
	}
	props[catalog.MetaSignature] = mallory.Sign(seal.Statement{Name: rep.Name, SHA256: rep.SHA256, Size: rep.StoredBytes, RawSize: rep.RawBytes, Version: catalog.FormatVersion})
	p.PutFile(p.FolderID, rep.Name, data, props)

	env := driveEnv(p, "BACKUPD_AGE_IDENTITY", k.identity, "BACKUPD_VERIFY_KEY", strings.TrimSpace(k.pub), "RESTORE_REQUIRE_SIGNATURE", "true")
	code, out, _ := runApp(t, env, "verify", rep.Name)
	if code == 0 || !strings.Contains(out, "INVALID") {
		t.Errorf("verify of the forged backup: exit %d\n%s", code, out)
	}
	ids, _ := seal.ParseIdentities(k.identity)
	vks, _ := seal.ParseVerifyKeys(k.pub)
	if _, err := dump.Check(bytes.NewReader(data), nil, dump.WithIdentities(ids)); err != nil {
		t.Fatalf("the forged backup is not a good age file, so the test shows nothing: %v", err)
	}

	ctx := p.Context(context.Background())
	store := storage.New(p.Fs(t, ctx, nil), nil)
	// Yesterday's preferred time is the forged backup's.
	forgedAt := rb.Time.Add(-time.Hour)
	choice, err := restore.Choose(ctx, store, catalog.Codec{}, forgedAt.Add(24*time.Hour), selector.Policy{At: forgedAt.Sub(forgedAt.Truncate(24 * time.Hour))}, "")
	if err != nil {
		t.Fatal(err)
	}
	if choice.Candidates[0].Name != rep.Name {
		t.Fatalf("the forged backup is not the first candidate: %v", choice.Candidates)
	}
	target := srv.NewDatabase(t, "app")
	rr := &restore.Restorer{Store: store, Conn: srv.Root(target), Identities: ids, VerifyKeys: vks, RequireSignature: true}
	got, err := rr.Restore(ctx, choice.Candidates)
	if err != nil {
		t.Fatal(err)
	}
	if got.Backup.Name != real.Name || len(got.Skipped) != 1 || got.Skipped[0].Backup != rep.Name {
		t.Errorf("restored %s after skipping %v; want %s after the forged %s", got.Backup.Name, got.Skipped, real.Name, rep.Name)
	}
	if a, b := srv.Fingerprint(t, target), srv.Fingerprint(t, src); a != b {
		t.Error("the restored database is not production's")
	}
}

// driveEnv is the production environment of p for runApp, with extra
// pairs.
func driveEnv(p *fakedrive.Production, kv ...string) map[string]string {
	env := p.Env()
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

// TestKeysReachNoChild runs now and doctor with the keys in the
// environment, as Fly secrets: no child process sees them.
func TestKeysReachNoChild(t *testing.T) {
	k := keygen(t)
	secrets := map[string]string{cli.SignKeyEnv: k.sign, cli.AgeIdentityEnv: k.identity}
	for key, v := range secrets {
		t.Setenv(key, v)
	}
	for _, args := range [][]string{{"now"}, {"doctor"}} {
		t.Run(args[0], func(t *testing.T) {
			tool, record := envRecorder(t)
			env := map[string]string{
				"DB_DATABASE": "app", "DB_USERNAME": "app", "BACKUPD_MYSQLDUMP": tool,
				"BACKUPD_REMOTE": filepath.Join(t.TempDir(), "backups"), "BACKUPD_ENCRYPT_TO": strings.TrimSpace(k.recipient),
			}
			for key, v := range secrets {
				env[key] = v
			}
			code, stdout, stderr := runApp(t, env, args...)
			b, err := os.ReadFile(record)
			if err != nil {
				t.Fatalf("the dump tool never ran (exit %d):\n%s%s", code, stdout, stderr)
			}
			for _, s := range []string{strings.TrimSpace(k.sign), "AGE-SECRET-KEY-1"} {
				if strings.Contains(string(b), s) {
					t.Errorf("a secret key reached a child of backupd %s", args[0])
				}
				if strings.Contains(stdout+stderr, s) {
					t.Errorf("a secret key reached the output of backupd %s", args[0])
				}
			}
		})
	}
}

// TestDoctorKeys checks the doctor's key lines.
func TestDoctorKeys(t *testing.T) {
	k, k2 := keygen(t), keygen(t)
	base := map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app", "BACKUPD_MYSQLDUMP": "/nonexistent/dump",
		"BACKUPD_REMOTE": filepath.Join(t.TempDir(), "backups")}
	with := func(kv ...string) map[string]string {
		env := map[string]string{}
		for key, v := range base {
			env[key] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"nothing", with(), []string{"WARN  encryption", "backups are not encrypted", "WARN  signing"}},
		{"production", with("BACKUPD_ENCRYPT_TO", k.path(recipientFile), cli.SignKeyEnv, k.sign),
			[]string{"ok    encryption", "ok    signing", strings.TrimSpace(k.pub)}},
		{"pairs", with("BACKUPD_ENCRYPT_TO", strings.TrimSpace(k.recipient), "BACKUPD_SIGN_KEY_FILE", k.path(signKeyFile),
			"BACKUPD_AGE_IDENTITY_FILE", k.path(identityFile), "BACKUPD_VERIFY_KEY", strings.TrimSpace(k.pub)),
			[]string{"ok    key pair      every recipient's identity", "ok    key pair      a verify key checks"}},
		{"mismatched pairs", with("BACKUPD_ENCRYPT_TO", strings.TrimSpace(k.recipient), cli.SignKeyEnv, k.sign,
			cli.AgeIdentityEnv, k2.identity, "BACKUPD_VERIFY_KEY", strings.TrimSpace(k2.pub)),
			[]string{"FAIL  key pair      a recipient has no identity", "FAIL  key pair      no verify key"}},
		{"damaged", with("BACKUPD_ENCRYPT_TO", "age1notarecipient"), []string{"FAIL  keys", "invalid recipients"}},
		{"key as a path", with("BACKUPD_SIGN_KEY_FILE", strings.TrimSpace(k.sign)), []string{"FAIL  keys", "takes the name of a file"}},
		{"both", with(cli.SignKeyEnv, k.sign, "BACKUPD_SIGN_KEY_FILE", k.path(signKeyFile)), []string{"contradictory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, out, errOut := runApp(t, tt.env, "doctor")
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("doctor does not say %q:\n%s%s", w, out, errOut)
				}
			}
			for _, s := range []string{strings.TrimSpace(k.sign), "AGE-SECRET-KEY-1"} {
				if strings.Contains(out+errOut, s) {
					t.Error("the doctor printed a secret key")
				}
			}
		})
	}
}

package pairing

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/testdb"
)

// TestTLSModes takes backups with each DB_TLS mode at 127.0.0.2 from a
// server whose certificate a CA of the test's own signed for that address,
// with each family's dump tool, and from a server that offers no TLS.
// verify passes with the CA and fails, naming DB_TLS_CA, without it or with
// another; require fails, naming DB_TLS, where the server offers no TLS.
func TestTLSModes(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, dir, "ca")
	other := newCA(t, dir, "other")
	cert, key := ca.issue(t, dir, "server", net.ParseIP("127.0.0.2"))
	opts := []string{"--ssl-cert=" + cert, "--ssl-key=" + key, "--ssl-ca=" + ca.file}
	for _, tc := range []struct{ server, tool string }{
		{testdb.MariaDB118, testdb.MariaDB118},
		{testdb.MySQL97, testdb.MySQL97},
		{testdb.MySQL97, testdb.System},
	} {
		t.Run(fmt.Sprintf("%s with %s", tc.server, toolName(tc.tool)+"-"+version(tc.tool)), func(t *testing.T) {
			srv := testdb.StartPrivateProduct(t, tc.server, opts...)
			db := srv.NewDatabase(t, "tls")
			srv.Exec(t, db, "CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)")
			user, pw := dumpAccount(t, srv, db)
			env := []string{
				"DB_HOST=127.0.0.2", fmt.Sprintf("DB_PORT=%d", srv.Port), "DB_DATABASE=" + db,
				"DB_USERNAME=" + user, "DB_PASSWORD=" + pw, "BACKUPD_MYSQLDUMP=" + testdb.Tool(t, tc.tool, toolName(tc.tool)),
				"BACKUPD_REMOTE=" + t.TempDir(), "BACKUPD_LOCK_FILE=" + filepath.Join(t.TempDir(), "lock"), "BACKUPD_LOG_FORMAT=text",
				// The system's roots must not know the test's CA.
				"SSL_CERT_FILE=" + other.file, "SSL_CERT_DIR=" + filepath.Join(dir, "none"),
			}
			for _, c := range []struct {
				name string
				env  []string
				code int
				want string
			}{
				{"verify with the CA", []string{"DB_TLS=verify", "DB_TLS_CA=" + ca.file}, 0, "certificate checked (DB_TLS=verify)"},
				{"verify with another CA", []string{"DB_TLS=verify", "DB_TLS_CA=" + other.file}, 1, "DB_TLS_CA"},
				{"verify against the system's roots", []string{"DB_TLS=verify"}, 1, "DB_TLS_CA"},
				{"require", []string{"DB_TLS=require"}, 0, "certificate not checked (DB_TLS=require)"},
				{"prefer", nil, 0, "certificate not checked (DB_TLS=prefer)"},
				{"off", []string{"DB_TLS=off"}, 0, "not encrypted (DB_TLS=off)"},
			} {
				t.Run(c.name, func(t *testing.T) {
					_, log := run(t, c.code, filepath.Join(bin, "backupd"), append(append([]string(nil), env...), c.env...), "now")
					if !strings.Contains(log, c.want) {
						t.Errorf("output lacks %q:\n%s", c.want, log)
					}
				})
			}
		})
	}
	t.Run("a server without TLS", func(t *testing.T) {
		srv := testdb.For(t, testdb.System)
		db := srv.NewDatabase(t, "tls")
		srv.Exec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)")
		user, pw := dumpAccount(t, srv, db)
		env := []string{
			"DB_HOST=127.0.0.2", fmt.Sprintf("DB_PORT=%d", srv.Port), "DB_DATABASE=" + db,
			"DB_USERNAME=" + user, "DB_PASSWORD=" + pw, "BACKUPD_MYSQLDUMP=" + testdb.Tool(t, testdb.MariaDB118, "mariadb-dump"),
			"BACKUPD_REMOTE=" + t.TempDir(), "BACKUPD_LOCK_FILE=" + filepath.Join(t.TempDir(), "lock"), "BACKUPD_LOG_FORMAT=text",
		}
		_, log := run(t, 1, filepath.Join(bin, "backupd"), append(env, "DB_TLS=require"), "now")
		if !strings.Contains(log, "offers no TLS") || !strings.Contains(log, "DB_TLS") {
			t.Errorf("require against a server without TLS does not say so:\n%s", log)
		}
		_, log = run(t, 0, filepath.Join(bin, "backupd"), env, "now")
		if !strings.Contains(log, "not encrypted (DB_TLS=prefer)") {
			t.Errorf("prefer against a server without TLS:\n%s", log)
		}
	})
}

// testCA is a certificate authority of the test's own.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // its certificate, PEM
}

func newCA(t *testing.T, dir, name string) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "backupd test " + name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, name+".pem")
	writePEM(t, file, "CERTIFICATE", der)
	return testCA{cert: cert, key: key, file: file}
}

// issue signs a server certificate for ip and returns its certificate and
// key files.
func (ca testCA) issue(t *testing.T, dir, name string, ip net.IP) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: ip.String()},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{ip}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+"-cert.pem"), filepath.Join(dir, name+"-key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, keyFile, "PRIVATE KEY", kder)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

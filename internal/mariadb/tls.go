package mariadb

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"

	"github.com/go-sql-driver/mysql"
)

// TLSMode says how a connection over TCP is encrypted. Connections over a
// socket are local and never use TLS.
type TLSMode string

// The TLS modes. The zero value is TLSPrefer.
const (
	// TLSPrefer encrypts when the server offers TLS, without checking its
	// certificate, and connects in plain text when it offers none (a
	// local server without TLS, as the demo's).
	TLSPrefer TLSMode = "prefer"
	// TLSRequire encrypts always, without checking the certificate: a
	// server without TLS is refused.
	TLSRequire TLSMode = "require"
	// TLSVerify encrypts and checks the certificate and the host name
	// against the CA file given, or the system's roots.
	TLSVerify TLSMode = "verify"
	// TLSOff never encrypts (what the old script's --skip-ssl did).
	TLSOff TLSMode = "off"
)

// TLSModes are the modes, in the order the help lists them.
var TLSModes = []TLSMode{TLSPrefer, TLSRequire, TLSVerify, TLSOff}

// ParseTLSMode reads a mode by name ("" is TLSPrefer).
func ParseTLSMode(s string) (TLSMode, error) {
	m := TLSMode(strings.ToLower(strings.TrimSpace(s)))
	if m == "" {
		return TLSPrefer, nil
	}
	for _, k := range TLSModes {
		if m == k {
			return m, nil
		}
	}
	return "", fmt.Errorf("TLS mode %q: want prefer, require, verify or off", s)
}

func (c Conn) tlsMode() TLSMode {
	if c.TLS == "" {
		return TLSPrefer
	}
	return c.TLS
}

// usesTLS reports whether c is a TCP connection whose mode may encrypt.
func (c Conn) usesTLS() bool { return c.Socket == "" && c.tlsMode() != TLSOff }

// Fingerprint is the SHA-256 fingerprint of a certificate in the form the
// MariaDB tools' --ssl-fp takes: "AB:01:...".
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

// peer records the certificate a driver connection was given.
type peer struct {
	mu          sync.Mutex
	fingerprint string
}

func (p *peer) get() string {
	if p == nil {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fingerprint
}

// driverTLS is the Go driver's TLS configuration for c: nil when the
// connection is not encrypted at all. Certificates seen are recorded in p.
func (c Conn) driverTLS(p *peer) (cfg *tls.Config, fallback bool, err error) {
	if !c.usesTLS() {
		return nil, false, nil
	}
	record := func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) > 0 {
			p.mu.Lock()
			p.fingerprint = Fingerprint(cs.PeerCertificates[0].Raw)
			p.mu.Unlock()
		}
		return nil
	}
	host, _, _ := net.SplitHostPort(func() string { _, a := c.Addr(); return a }())
	switch c.tlsMode() {
	case TLSPrefer, TLSRequire:
		return &tls.Config{InsecureSkipVerify: true, VerifyConnection: record, MinVersion: tls.VersionTLS12},
			c.tlsMode() == TLSPrefer, nil
	}
	cfg = &tls.Config{ServerName: host, VerifyConnection: record, MinVersion: tls.VersionTLS12}
	if c.TLSCA != "" {
		pem, err := os.ReadFile(c.TLSCA)
		if err != nil {
			return nil, false, fmt.Errorf("read the database's CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, false, fmt.Errorf("the database's CA file %s holds no PEM certificate", c.TLSCA)
		}
		cfg.RootCAs = pool
	}
	return cfg, false, nil
}

// toolTLS is what the option file of a client tool says about TLS, for the
// tool's family: nothing for a tool whose version is unknown (it keeps its
// own defaults), no TLS over a socket.
//
// MariaDB's tools encrypt whenever the server offers TLS; they insist on
// it only when they check the certificate, and from 11.4 on they check it
// by default. So "prefer" and "require" turn the check off, and where the
// tool knows --ssl-fp (11.4 on) and this process has seen the server's
// certificate (c.TLSPin), they pin that certificate instead: the tool then
// refuses a connection without TLS or with another certificate. Oracle's
// tools have --ssl-mode for each mode.
func (c Conn) toolTLS(t Tool) []string {
	switch {
	case t.Major == 0:
		return nil
	case c.Socket != "" && t.MariaDB:
		// Over a socket TLS protects nothing, and MariaDB's tools from
		// 11.4 on insist on it even there, failing against a server
		// that has none.
		return []string{"skip-ssl"}
	case c.Socket != "":
		return nil
	}
	mode := c.tlsMode()
	if !t.MariaDB {
		switch mode {
		case TLSOff:
			return []string{"ssl-mode=DISABLED"}
		case TLSPrefer:
			return []string{"ssl-mode=PREFERRED"}
		case TLSRequire:
			return []string{"ssl-mode=REQUIRED"}
		}
		if c.TLSCA != "" {
			return []string{"ssl-mode=VERIFY_IDENTITY", "ssl-ca=" + optionValue(c.TLSCA)}
		}
		return []string{"ssl-mode=VERIFY_IDENTITY", "ssl-capath=" + optionValue(systemCAPath)}
	}
	switch mode {
	case TLSOff:
		return []string{"skip-ssl"}
	case TLSVerify:
		out := []string{"ssl", "ssl-verify-server-cert"}
		if c.TLSCA != "" {
			out = append(out, "ssl-ca="+optionValue(c.TLSCA))
		}
		return out
	}
	out := []string{"ssl", "skip-ssl-verify-server-cert"}
	if c.TLSPin != "" && t.AtLeast(11, 4) {
		out = append(out, "ssl-fp="+c.TLSPin)
	}
	return out
}

// systemCAPath is where Debian keeps the system's CA certificates, for
// Oracle's tools, which check against no roots unless told.
const systemCAPath = "/etc/ssl/certs"

// IsCertificateError reports whether err is a server certificate that
// was not accepted: by the Go driver, or by a client tool (error 2026
// naming the certificate).
func IsCertificateError(err error) bool {
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var ve *tls.CertificateVerificationError
	if errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) || errors.As(err, &ve) {
		return true
	}
	var te *ToolError
	if errors.As(err, &te) && te.Code == 2026 {
		s := strings.ToLower(te.Stderr)
		return strings.Contains(s, "certificate") || strings.Contains(s, "fingerprint")
	}
	return false
}

// IsNoTLSError reports whether err says the server offers no TLS where it
// was required: by the Go driver, or by a client tool.
func IsNoTLSError(err error) bool {
	if errors.Is(err, mysql.ErrNoTLS) {
		return true
	}
	var te *ToolError
	if errors.As(err, &te) && te.Code == 2026 {
		return strings.Contains(strings.ToLower(te.Stderr), "does not support")
	}
	return false
}

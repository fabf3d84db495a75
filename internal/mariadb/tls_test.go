package mariadb

import (
	"slices"
	"strings"
	"testing"
)

// Each tool family gets the options it understands for each mode; a
// socket gets no TLS; MariaDB's tools from 11.4 on pin the certificate the
// driver saw.
func TestToolTLS(t *testing.T) {
	maria1011, _ := ParseTool(maria1011)
	maria118, _ := ParseTool(maria118)
	oracle, _ := ParseTool(oracle80)
	const pin = "AB:CD"
	tcp := Conn{Host: "db.internal", Port: 3306}
	for _, tt := range []struct {
		name string
		conn Conn
		tool Tool
		want []string
	}{
		{"default is prefer, MariaDB 10.11", tcp, maria1011, []string{"ssl", "skip-ssl-verify-server-cert"}},
		{"prefer, MariaDB 11.8, no certificate seen", tcp, maria118, []string{"ssl", "skip-ssl-verify-server-cert"}},
		{"prefer, MariaDB 11.8, pinned", with(tcp, TLSPrefer, "", pin), maria118, []string{"ssl", "skip-ssl-verify-server-cert", "ssl-fp=" + pin}},
		{"require, MariaDB 10.11 cannot pin", with(tcp, TLSRequire, "", pin), maria1011, []string{"ssl", "skip-ssl-verify-server-cert"}},
		{"require, MariaDB 11.8, pinned", with(tcp, TLSRequire, "", pin), maria118, []string{"ssl", "skip-ssl-verify-server-cert", "ssl-fp=" + pin}},
		{"verify with a CA", with(tcp, TLSVerify, "/etc/db/ca.pem", pin), maria118, []string{"ssl", "ssl-verify-server-cert", `ssl-ca="/etc/db/ca.pem"`}},
		{"verify, system roots", with(tcp, TLSVerify, "", ""), maria1011, []string{"ssl", "ssl-verify-server-cert"}},
		{"off", with(tcp, TLSOff, "", ""), maria118, []string{"skip-ssl"}},
		{"Oracle prefer", tcp, oracle, []string{"ssl-mode=PREFERRED"}},
		{"Oracle require", with(tcp, TLSRequire, "", pin), oracle, []string{"ssl-mode=REQUIRED"}},
		{"Oracle verify", with(tcp, TLSVerify, "/ca.pem", ""), oracle, []string{"ssl-mode=VERIFY_IDENTITY", `ssl-ca="/ca.pem"`}},
		{"Oracle verify, system roots", with(tcp, TLSVerify, "", ""), oracle, []string{"ssl-mode=VERIFY_IDENTITY", `ssl-capath="/etc/ssl/certs"`}},
		{"Oracle off", with(tcp, TLSOff, "", ""), oracle, []string{"ssl-mode=DISABLED"}},
		{"MariaDB over a socket", Conn{Socket: "/run/mysqld/mysqld.sock", TLS: TLSVerify}, maria118, []string{"skip-ssl"}},
		{"Oracle over a socket", Conn{Socket: "/run/mysqld/mysqld.sock", TLS: TLSVerify}, oracle, nil},
		{"unknown tool", with(tcp, TLSRequire, "", pin), Tool{}, nil},
	} {
		if got := tt.conn.toolTLS(tt.tool); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	// The options reach the tool in its option file, after the
	// connection settings.
	text := with(tcp, TLSRequire, "", pin).optionText(maria118)
	if !strings.HasSuffix(text, "protocol=tcp\nssl\nskip-ssl-verify-server-cert\nssl-fp=AB:CD\n") {
		t.Errorf("option file:\n%s", text)
	}
}

func with(c Conn, mode TLSMode, ca, pin string) Conn {
	c.TLS, c.TLSCA, c.TLSPin = mode, ca, pin
	return c
}

func TestParseTLSMode(t *testing.T) {
	for in, want := range map[string]TLSMode{"": TLSPrefer, "prefer": TLSPrefer, " Require ": TLSRequire, "VERIFY": TLSVerify, "off": TLSOff} {
		if got, err := ParseTLSMode(in); err != nil || got != want {
			t.Errorf("ParseTLSMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"on", "skip-ssl", "preferred"} {
		if _, err := ParseTLSMode(bad); err == nil {
			t.Errorf("ParseTLSMode(%q) accepted", bad)
		}
	}
}

package mariadb

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestOptionFile(t *testing.T) {
	c := Conn{Host: "db.internal", Port: 3307, User: `ap"p`, Password: `p\a"ss word#;`, Database: "app"}
	f, err := c.optionFile(Tool{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o600 {
		t.Errorf("mode = %o, want 600", got)
	}
	// The tool opens it by its /dev/fd name, as a new open file.
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[client]", `user="ap\"p"`, `password="p\\a\"ss word#;"`, `host="db.internal"`, "port=3307", "protocol=tcp"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("option file lacks %q:\n%s", want, b)
		}
	}
	if target, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd())); err != nil || !strings.HasPrefix(target, "/memfd:") {
		t.Errorf("option file is %q (%v), want a memory file", target, err)
	}
	if _, err := f.WriteString("password=other\n"); err == nil {
		t.Error("option file can be changed after it was written")
	}
	if s := c.String(); strings.Contains(s, "ss word") || !strings.Contains(s, "redacted") {
		t.Errorf("String() = %q leaks or hides the password badly", s)
	}
}

func TestTail(t *testing.T) {
	tl := &Tail{Max: 8}
	for _, s := range []string{"abc", "defgh", "ij", "0123456789xyz", "!"} {
		tl.Write([]byte(s))
	}
	if got, want := tl.String(), "6789xyz!"; got != want {
		t.Errorf("Tail = %q, want %q", got, want)
	}
}

func TestNewToolError(t *testing.T) {
	tests := []struct {
		stderr   string
		code     int
		contains string
	}{
		{"INSERT INTO t VALUES ('long')\nERROR 1064 (42000) at line 3: You have an error\n", 1064, "ERROR 1064"},
		{"mariadb-dump: Got error: 1045: \"Access denied for user 'u'@'localhost'\" when trying to connect\n", 1045, "Access denied"},
		{"ERROR 2002 (HY000): Can't connect to local server through socket '/x.sock' (2)\n", 2002, "Can't connect"},
		{"one\ntwo\n", 0, "one | two"},
	}
	for _, tt := range tests {
		te := NewToolError("mariadb", "exit status 1", tt.stderr)
		if te.Code != tt.code || !strings.Contains(te.Error(), tt.contains) {
			t.Errorf("NewToolError(%q) = %+v, want code %d and %q", tt.stderr, te, tt.code, tt.contains)
		}
		if got, want := te.Unreachable(), tt.code >= 2000; got != want {
			t.Errorf("Unreachable() = %v for code %d", got, tt.code)
		}
	}
}

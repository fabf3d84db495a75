package restore

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/loader"
)

func TestMachineFault(t *testing.T) {
	wrap := func(err error) error {
		return fmt.Errorf("load dump: %w", &loader.StatementError{Kind: "create trigger", Err: err})
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"disk full", wrap(&mysql.MySQLError{Number: 1021}), true},
		{"table full", wrap(&mysql.MySQLError{Number: 1114, Message: "The table is full"}), true},
		{"out of memory", wrap(&mysql.MySQLError{Number: 1041}), true},
		{"storage engine error 28", wrap(&mysql.MySQLError{Number: 1030}), true},
		{"access denied for the account", wrap(&mysql.MySQLError{Number: 1045}), true},
		{"connection lost", wrap(mysql.ErrInvalidConn), true},
		{"bad connection", wrap(driver.ErrBadConn), true},
		{"client lost the server", &mariadb.ToolError{Code: 2013}, true},
		{"client killed", &mariadb.ToolError{State: "signal: killed"}, true},
		// What the dump asks for: the account's grants were checked first.
		{"trigger on another database", wrap(&mysql.MySQLError{Number: 1142, Message: "TRIGGER command denied"}), false},
		{"other database", wrap(&mysql.MySQLError{Number: 1044, Message: "Access denied"}), false},
		{"needs SUPER", wrap(&mysql.MySQLError{Number: 1227}), false},
		{"client denied", &mariadb.ToolError{Code: 1142, State: "exit status 1"}, false},
		{"syntax error in the dump", wrap(&mysql.MySQLError{Number: 1064}), false},
		{"unknown table", wrap(&mysql.MySQLError{Number: 1146}), false},
		{"client syntax error", &mariadb.ToolError{Code: 1064, State: "exit status 1"}, false},
		{"client parse error", &mariadb.ToolError{State: "exit status 1", Stderr: "ERROR at line 3: Unknown command"}, false},
		{"corrupt stream", errors.New("zstd: corrupt input"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := machineFault(tt.err); got != tt.want {
				t.Errorf("machineFault(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestLikeMatch(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{`app`, "app", true},
		{`app`, "apps", false},
		{`app\_restore`, "app_restore", true},
		{`app\_restore`, "appxrestore", false},
		{`app_restore`, "appxrestore", true},
		{`app%`, "app_restore_old", true},
		{`%`, "", true},
		{`a%b_c`, "axxbyc", true},
		{`a%b_c`, "axxbc", false},
		{`d\%`, "d%", true},
		{`d\%`, "dx", false},
	}
	for _, tt := range tests {
		if got := likeMatch(tt.pat, tt.s); got != tt.want {
			t.Errorf("likeMatch(%q, %q) = %v, want %v", tt.pat, tt.s, got, tt.want)
		}
	}
}

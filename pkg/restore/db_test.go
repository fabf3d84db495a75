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

func TestNotTheBackup(t *testing.T) {
	wrap := func(err error) error {
		return fmt.Errorf("load dump: %w", &loader.StatementError{Kind: "create trigger", Err: err})
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"trigger privilege missing", wrap(&mysql.MySQLError{Number: 1142, Message: "TRIGGER command denied"}), true},
		{"routine privilege missing", wrap(&mysql.MySQLError{Number: 1044, Message: "Access denied"}), true},
		{"needs SUPER", wrap(&mysql.MySQLError{Number: 1227}), true},
		{"disk full", wrap(&mysql.MySQLError{Number: 1114, Message: "The table is full"}), true},
		{"connection lost", wrap(mysql.ErrInvalidConn), true},
		{"bad connection", wrap(driver.ErrBadConn), true},
		{"client denied", &mariadb.ToolError{Code: 1142}, true},
		{"syntax error in the dump", wrap(&mysql.MySQLError{Number: 1064}), false},
		{"client syntax error", &mariadb.ToolError{Code: 1064}, false},
		{"corrupt stream", errors.New("zstd: corrupt input"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := notTheBackup(tt.err); got != tt.want {
				t.Errorf("notTheBackup(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

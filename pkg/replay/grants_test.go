package replay

import (
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/internal/testdb"
)

// The accounts of point-in-time recovery, with the grants docs/recovery.md
// gives, word for word: the tests recover as them.
const (
	accountPassword = "pitr-pw-1"
	binlogAccount   = "pitr_binlog"
	backupAccount   = "pitr_backup"
	recoverAccount  = "pitr_recover"
)

// grants are the GRANT statements of each account, by family; APP is the
// database.
var grants = map[string]map[string][]string{
	"mysql": {
		binlogAccount: {"GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO {account}"},
		backupAccount: {"GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON `{db}`.* TO {account}",
			"GRANT SHOW_ROUTINE ON *.* TO {account}",
			"GRANT FLUSH_TABLES, REPLICATION CLIENT ON *.* TO {account}"},
		recoverAccount: {"GRANT ALL ON `{db}`.* TO {account}",
			"GRANT REPLICATION_APPLIER, SESSION_VARIABLES_ADMIN ON *.* TO {account}"},
	},
	"mariadb": {
		binlogAccount: {"GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO {account}"},
		backupAccount: {"GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON `{db}`.* TO {account}",
			"GRANT SHOW CREATE ROUTINE ON `{db}`.* TO {account}"},
		recoverAccount: {"GRANT ALL ON `{db}`.* TO {account}",
			"GRANT BINLOG REPLAY ON *.* TO {account}"},
	},
}

// account makes user@localhost on srv with the family's grants for it on
// database db, and returns a connection as it.
func account(t *testing.T, srv *testdb.Server, user, db string) mariadb.Conn {
	t.Helper()
	fam := "mariadb"
	if testdb.MySQL(srv.Product) {
		fam = "mysql"
	}
	stmts := []string{"CREATE USER IF NOT EXISTS '" + user + "'@'localhost' IDENTIFIED BY '" + accountPassword + "'"}
	for _, g := range grants[fam][user] {
		g = strings.ReplaceAll(g, "{db}", db)
		stmts = append(stmts, strings.ReplaceAll(g, "{account}", "'"+user+"'@'localhost'"))
	}
	srv.Exec(t, "", strings.Join(stmts, ";\n"))
	return mariadb.Conn{Socket: srv.Socket, User: user, Password: accountPassword, Database: db}
}

// revokes are the statements docs/recovery.md gives for after a recovery,
// by family: the recover account keeps its privileges on the database
// only.
var revokes = map[string]string{
	"mysql":   "REVOKE REPLICATION_APPLIER, SESSION_VARIABLES_ADMIN, SYSTEM_VARIABLES_ADMIN ON *.* FROM {account}",
	"mariadb": "REVOKE BINLOG REPLAY ON *.* FROM {account}",
}

func TestRevokeAfterRecovery(t *testing.T) {
	for _, product := range []string{testdb.MainProduct(), testdb.MySQL97} {
		t.Run(product, func(t *testing.T) {
			srv := testdb.For(t, product)
			db := srv.NewDatabase(t, "revoke")
			account(t, srv, recoverAccount, db)
			t.Cleanup(func() { _, _ = srv.Run("", "DROP USER IF EXISTS '"+recoverAccount+"'@'localhost'") })
			fam := "mariadb"
			if testdb.MySQL(product) {
				fam = "mysql"
			}
			srv.Exec(t, "", strings.ReplaceAll(revokes[fam], "{account}", "'"+recoverAccount+"'@'localhost'"))
			got := srv.Exec(t, "", "SHOW GRANTS FOR '"+recoverAccount+"'@'localhost'")
			for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
				if !strings.HasPrefix(line, "GRANT USAGE ON *.*") && !strings.HasPrefix(line, "GRANT ALL PRIVILEGES ON `"+db+"`.*") {
					t.Errorf("left after the REVOKE: %s", line)
				}
			}
		})
	}
}

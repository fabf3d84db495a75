package sqltext

import (
	"errors"
	"testing"
)

// TestGateRefusesLongNames covers names of more parts than a dump writes
// that start with the dump's own database: taking "src." out of them would
// leave a name of another database ("src.victim.pwned" -> "victim.pwned").
func TestGateRefusesLongNames(t *testing.T) {
	for _, sql := range []string{
		"CREATE TABLE src.victim.pwned (id INT);",
		"CREATE TABLE `src` . `victim` . `pwned` (id INT);",
		"ALTER TABLE src.victim.keep ENGINE=InnoDB;",
		"ALTER TABLE src.victim.keep DISABLE KEYS;",
		"DROP TABLE IF EXISTS src.victim.keep;",
		"DROP TABLE IF EXISTS t, src.victim.keep;",
		"INSERT INTO src.victim.keep VALUES (1);",
		"LOCK TABLES src.victim.keep WRITE;",
		"SELECT SETVAL(src.victim.s, 1, 0);",
		"CREATE SEQUENCE src.victim.s;",
		"DROP VIEW IF EXISTS src.victim.v;",
		"CREATE VIEW src.victim.v AS SELECT 1;",
		"CREATE VIEW v AS SELECT * FROM src.app.users;",
		"CREATE VIEW v AS SELECT src.app.users.id FROM t;",
		"CREATE PROCEDURE p() DELETE FROM src.app.users;",
		"CREATE PROCEDURE p() INSERT src.app.users VALUES (1);",
		"CREATE TRIGGER tr BEFORE INSERT ON src.victim.t FOR EACH ROW SET @x = 1;",
		"CREATE TRIGGER src.victim.tr BEFORE INSERT ON t FOR EACH ROW SET @x = 1;",
		"CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO UPDATE src.app.users SET id = 1;",
		"DROP PROCEDURE IF EXISTS src.victim.p;",
		"CREATE TABLE t (a INT, FOREIGN KEY (a) REFERENCES src.victim.p (id));",
		"CREATE TABLE t LIKE src.victim.t;",
		"CREATE PROCEDURE p() SELECT a.b.c.d FROM t;",
	} {
		t.Run(sql, func(t *testing.T) {
			sts, err := gateAll(t, header+sql+"\n", GateOptions{Foreign: []string{"other"}})
			if !errors.Is(err, ErrRefused) {
				var got string
				if len(sts) > 0 {
					got = string(sts[len(sts)-1].SQL)
				}
				t.Fatalf("err = %v, want a refusal; passed %q", err, got)
			}
		})
	}
}

// TestGateReservedDatabases covers bodies that name the restore's own
// databases, which the loading user may see and write: a later restore's
// staging database above all, into which an event or trigger restored
// into the target could write while that restore loads.
func TestGateReservedDatabases(t *testing.T) {
	for _, sql := range []string{
		"CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW INSERT app_restore.t VALUES (1);",
		"CREATE EVENT e ON SCHEDULE EVERY 1 SECOND DO INSERT app_restore.t VALUES (1);",
		"CREATE PROCEDURE p() CREATE INDEX i ON app_restore.t (a);",
		"CREATE PROCEDURE p() SELECT app_restore.f();",
		"CREATE PROCEDURE p() SELECT app_restore_old.t.a FROM t;",
		"CREATE VIEW v AS SELECT app.x FROM t app;",
		"CREATE PROCEDURE p() SELECT 1 FROM (app_restore.t);",
	} {
		t.Run(sql, func(t *testing.T) {
			_, err := gateAll(t, header+sql+"\n", GateOptions{Foreign: []string{"app", "app_restore", "app_restore_old"}})
			if !errors.Is(err, ErrDatabaseStatement) {
				t.Fatalf("err = %v, want a refusal naming a database", err)
			}
		})
	}
}

// TestGateHiddenDatabases covers bodies that reach a database the loading
// user cannot see (so it is not among GateOptions.Foreign) in places the
// server reads as a table or a routine of that database.
func TestGateHiddenDatabases(t *testing.T) {
	for _, sql := range []string{
		"CREATE PROCEDURE p() INSERT hidden.t VALUES (1);",
		"CREATE PROCEDURE p() INSERT LOW_PRIORITY hidden.t VALUES (1);",
		"CREATE PROCEDURE p() DELETE hidden.t FROM hidden.t;",
		"CREATE PROCEDURE p() CREATE INDEX i ON hidden.t (a);",
		"CREATE PROCEDURE p() DROP INDEX i ON hidden.t;",
		"CREATE PROCEDURE p() SELECT hidden.f();",
		"CREATE PROCEDURE p() SELECT hidden . f (1, 2);",
		"CREATE PROCEDURE p() SELECT NEXTVAL(hidden.s);",
		"CREATE PROCEDURE p() SELECT LASTVAL(hidden.s);",
		"CREATE PROCEDURE p() SELECT * FROM (hidden.t);",
		"CREATE PROCEDURE p() SELECT * FROM t USE INDEX (i), hidden.t;",
		"CREATE PROCEDURE p() SELECT * FROM t JOIN (u, hidden.t) ON 1;",
		"CREATE PROCEDURE p() ALTER TABLE t ADD c INT DEFAULT (1), RENAME TO hidden.t;",
		"CREATE PROCEDURE p() RENAME TABLE t TO hidden.t;",
		"CREATE PROCEDURE p() UPDATE t, hidden.t SET t.a = 1;",
		"CREATE PROCEDURE p() DESCRIBE hidden.t;",
		"DELIMITER ;;\nCREATE PROCEDURE p() BEGIN SELECT 1; DESC hidden.t; END;;\nDELIMITER ;",
		"CREATE PROCEDURE p() EXPLAIN hidden.t;",
	} {
		t.Run(sql, func(t *testing.T) {
			_, err := gateAll(t, header+sql+"\n", GateOptions{})
			if !errors.Is(err, ErrDatabaseStatement) {
				t.Fatalf("err = %v, want a refusal naming a database", err)
			}
		})
	}
	// Columns qualified with their table stay as they are.
	for _, sql := range []string{
		"CREATE PROCEDURE p() SELECT t.a, u.b FROM t JOIN u ON t.id = u.id WHERE t.c IN (SELECT v.c FROM v);",
		"CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW SET NEW.a = OLD.a + 1;",
		"CREATE PROCEDURE p() SELECT x.a FROM (SELECT a FROM t) x ORDER BY x.a DESC, x.b;",
		"CREATE VIEW v AS select `t`.`a` AS `a` from `t` order by `t`.`a` desc,`t`.`b` desc;",
		"CREATE PROCEDURE p() INSERT INTO t (a) SELECT u.a FROM u WHERE u.b = (SELECT MAX(w.b) FROM w);",
		"CREATE VIEW v AS select `t`.`id` AS `id`,count(`u`.`x`) AS `n` from (`t` left join `u` on(`u`.`t_id` = `t`.`id`)) group by `t`.`id`;",
	} {
		if _, err := gateAll(t, header+sql+"\n", GateOptions{}); err != nil {
			t.Errorf("%s: %v", sql, err)
		}
	}
}

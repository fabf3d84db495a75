package sqltext

import (
	"bytes"
	"strings"
	"testing"
)

func TestDeferKeys(t *testing.T) {
	const dumped = "CREATE TABLE `t1` (\n" +
		"  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,\n" +
		"  `account_id` int(11) NOT NULL,\n" +
		"  `name` varchar(120) NOT NULL DEFAULT 'KEY `x` (`y`),',\n" +
		"  PRIMARY KEY (`id`),\n" +
		"  UNIQUE KEY `u` (`name`),\n" +
		"  KEY `account_id` (`account_id`),\n" +
		"  KEY `n``2` (`name`(10) DESC,`account_id`) USING BTREE,\n" +
		"  CONSTRAINT `c` CHECK (`account_id` > 0)\n" +
		") ENGINE=InnoDB AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4"
	create, alter, ok := DeferKeys([]byte(dumped), maria1011)
	if !ok {
		t.Fatal("nothing deferred")
	}
	wantCreate := "CREATE TABLE `t1` (\n" +
		"  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,\n" +
		"  `account_id` int(11) NOT NULL,\n" +
		"  `name` varchar(120) NOT NULL DEFAULT 'KEY `x` (`y`),',\n" +
		"  PRIMARY KEY (`id`),\n" +
		"  UNIQUE KEY `u` (`name`),\n" +
		"  CONSTRAINT `c` CHECK (`account_id` > 0)\n" +
		") ENGINE=InnoDB AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4"
	if string(create) != wantCreate {
		t.Errorf("create:\n%s\nwant:\n%s", create, wantCreate)
	}
	wantAlter := "ALTER TABLE `t1` ADD KEY `account_id` ( `account_id` ), ADD KEY `n``2` ( `name` ( 10 ) DESC , `account_id` ) USING BTREE"
	if alter != wantAlter {
		t.Errorf("alter:\n%s\nwant:\n%s", alter, wantAlter)
	}

	for _, keep := range []string{
		// Not InnoDB, or not only plain keys.
		"CREATE TABLE `t` (`a` int, KEY `k` (`a`)) ENGINE=MyISAM",
		"CREATE TABLE `t` (`a` int, KEY `k` (`a`))",
		"CREATE TABLE `t` (`a` int, KEY `k` (`a`)) /*!50000 ENGINE=InnoDB */",
		"CREATE TABLE `t` (`a` int, `b` text, KEY `k` (`a`), FULLTEXT KEY `f` (`b`)) ENGINE=InnoDB",
		"CREATE TABLE `t` (`a` int, KEY `k` (`a`) COMMENT 'c') ENGINE=InnoDB",
		"CREATE TABLE `t` (`a` int, KEY `k` (`a`) USING HASH) ENGINE=InnoDB",
		"CREATE TABLE `t` (`a` int, KEY `k` ((`a` + 1))) ENGINE=InnoDB",
		"CREATE TABLE `t` (`a` int, KEY k (`a`)) ENGINE=InnoDB",
		"CREATE TABLE `t` (`a` int, KEY `k` (`a`) IGNORED) ENGINE=InnoDB",
		// Constraints need their index; AUTO_INCREMENT needs its key.
		"CREATE TABLE `t` (`a` int, KEY `k` (`a`), CONSTRAINT `f` FOREIGN KEY (`a`) REFERENCES `p` (`id`)) ENGINE=InnoDB",
		"CREATE TABLE `t` (`a` int NOT NULL AUTO_INCREMENT, `b` int, KEY `k` (`a`), KEY `b` (`b`)) ENGINE=InnoDB",
		// Nothing to defer, or not read whole.
		"CREATE TABLE `t` (`a` int, PRIMARY KEY (`a`)) ENGINE=InnoDB",
		"CREATE TABLE `t` (KEY `k` (`a`), `a` int) ENGINE=InnoDB",
		"CREATE TABLE IF NOT EXISTS `t` (`a` int, KEY `k` (`a`)) ENGINE=InnoDB",
		"CREATE TABLE t (`a` int, KEY `k` (`a`)) ENGINE=InnoDB",
		"CREATE TABLE `t` (`a` int, KEY `k` (`a`) ENGINE=InnoDB",
		"CREATE SEQUENCE `s` ENGINE=InnoDB",
		"/*!40101 CREATE TABLE `t` (`a` int, KEY `k` (`a`)) ENGINE=InnoDB */",
	} {
		if c, a, ok := DeferKeys([]byte(keep), maria1011); ok {
			t.Errorf("%s: deferred as %q and %q", keep, c, a)
		}
	}
}

func TestIsInnoDB(t *testing.T) {
	for stmt, want := range map[string]bool{
		"CREATE TABLE `t` (`a` int, KEY `k` (`a`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4": true,
		"CREATE TABLE `t` (`a` int) engine = innodb":                                      true,
		"CREATE TABLE `t` (`a` int CHECK (`a` > (1))) ENGINE=InnoDB":                      true,
		"CREATE TABLE `t` (`a` int) ENGINE=MyISAM":                                        false,
		"CREATE TABLE `t` (`a` int) ENGINE=Aria":                                          false,
		"CREATE TABLE `t` (`a` int)":                                                      false,
		"CREATE TABLE `t` (`a` int) /*!50000 ENGINE=InnoDB */":                            false,
		"CREATE TABLE `t` (`a` int COMMENT 'ENGINE=InnoDB') ENGINE=MyISAM":                false,
		"CREATE TABLE `t` (`a` int) ENGINE=InnoDB PARTITION BY HASH (`a`)":                true,
		"CREATE SEQUENCE `s` ENGINE=InnoDB":                                               false,
	} {
		if got := IsInnoDB([]byte(stmt), maria1011); got != want {
			t.Errorf("%s: %v, want %v", stmt, got, want)
		}
	}
}

// FuzzDeferKeys checks that what DeferKeys writes is the statement's own
// tokens: the CREATE without some items, each of which the ALTER TABLE
// adds, and nothing else; and that the gate takes both.
func FuzzDeferKeys(f *testing.F) {
	f.Add([]byte("CREATE TABLE `t1` (\n  `id` int NOT NULL,\n  `a` int,\n  PRIMARY KEY (`id`),\n  KEY `a` (`a`),\n  KEY `b` (`a`(3) DESC,`id`) USING BTREE\n) ENGINE=InnoDB"))
	f.Add([]byte("CREATE TABLE `t` (`a` varchar(9) DEFAULT ',KEY `k` (`a`)', KEY `k` (`a`)) ENGINE = innodb COMMENT 'x'"))
	f.Fuzz(func(t *testing.T, stmt []byte) {
		create, alter, ok := DeferKeys(stmt, maria1011)
		if !ok {
			return
		}
		gate := func(s []byte) (Statement, error) {
			g := NewGate(NewSplitter(bytes.NewReader(append(append([]byte(nil), s...), ";\n"...))), GateOptions{Server: maria1011})
			return g.Next()
		}
		gated := func(s []byte) Statement {
			st, err := gate(s)
			if err != nil {
				t.Fatalf("the gate refuses %q: %v", s, err)
			}
			return st
		}
		orig, err := gate(stmt)
		if err != nil || orig.Class != ClassTable || !orig.Create {
			return // DeferKeys is given only what the gate took as CREATE TABLE
		}
		if st := gated(create); st.Class != ClassTable || !st.Create || st.Table != orig.Table {
			t.Fatalf("the CREATE became %+v: %q", st, create)
		}
		if st := gated([]byte(alter)); st.Class != ClassTable || st.Table != orig.Table {
			t.Fatalf("the ALTER is %+v: %q", st, alter)
		}
		// The tokens of CREATE and of the keys the ALTER adds are those of
		// the statement.
		words := func(b []byte) []string {
			lx := newLexer(b, maria1011)
			var out []string
			for tk := lx.next(); tk.kind != tEOF; tk = lx.next() {
				out = append(out, string(lx.text(tk)))
			}
			return out
		}
		all := strings.Join(words(stmt), " ")
		kept := words(create)
		added := words([]byte(alter))[3:]
		if strings.Join(kept, " ") == all {
			t.Fatalf("nothing removed from %q", stmt)
		}
		// Put each ADD's key back before the closing parenthesis of the body
		// and compare as multisets: the order was checked above by example.
		count := map[string]int{}
		for _, w := range words(stmt) {
			count[w]++
		}
		for _, w := range kept {
			count[w]--
		}
		for _, w := range added {
			if w == "ADD" {
				continue
			}
			count[w]--
		}
		for w, n := range count {
			// Each ADD but the first takes the place of a comma.
			if n != 0 && !(w == "," && n >= 0) {
				t.Fatalf("token %q: %d more in the statement than in %q and %q", w, n, create, alter)
			}
		}
	})
}

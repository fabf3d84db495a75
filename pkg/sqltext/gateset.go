package sqltext

// The gate's reading of SET: the session settings a dump makes and saves, the
// client character sets and sql_mode flags it reads statements in.

import (
	"fmt"
	"strings"
)

// clientCharsets are the character sets a dump may set for the client:
// those in which every byte below 0x80 is the ASCII character, so that a
// quote or a backslash is never the second byte of a character, and the
// gate reads strings as the server does. (gbk, big5, sjis, cp932 and
// gb18030 are not: in them 0x5c can end a character. Nor is swe7, whose
// letters include [ ] ^ { } ~.) Outside quotes, bytes from 0x80 up are
// read as the server reads them only in some of these (see nameBytes).
var clientCharsets = wordSet("armscii8 ascii binary cp1250 cp1251 cp1256 cp1257 cp850 cp852 cp866 dec8 eucjpms euckr gb2312 geostd8 greek hebrew hp8 keybcs2 koi8r koi8u latin1 latin2 latin5 latin7 macce macroman tis620 ujis utf8 utf8mb3 utf8mb4")

// sqlModes are the sql_mode flags a dump may set: all but those that
// change how statements are read (ANSI_QUOTES, NO_BACKSLASH_ESCAPES, and
// the combinations that include them or change the grammar: ANSI, ORACLE,
// MSSQL, DB2, POSTGRESQL, MAXDB, MYSQL323, MYSQL40).
var sqlModes = wordSet("REAL_AS_FLOAT PIPES_AS_CONCAT IGNORE_SPACE IGNORE_BAD_TABLE_OPTIONS ONLY_FULL_GROUP_BY NO_UNSIGNED_SUBTRACTION NO_DIR_IN_CREATE NO_AUTO_VALUE_ON_ZERO STRICT_TRANS_TABLES STRICT_ALL_TABLES NO_ZERO_IN_DATE NO_ZERO_DATE ALLOW_INVALID_DATES ERROR_FOR_DIVISION_BY_ZERO TRADITIONAL NO_AUTO_CREATE_USER HIGH_NOT_PRECEDENCE NO_ENGINE_SUBSTITUTION PAD_CHAR_TO_FULL_LENGTH EMPTY_STRING_IS_NULL SIMULTANEOUS_ASSIGNMENT TIME_ROUND_FRACTIONAL NO_FIELD_OPTIONS NO_KEY_OPTIONS NO_TABLE_OPTIONS")

// sessionVars are the session variables a dump may set and save, and
// whether setting them is skipped (the loaders set sql_log_bin themselves
// where they may; a dump's autocommit switch is dropped along with its
// COMMITs). mariadb-dump 11 writes note_verbosity where 10.x wrote
// sql_notes, and saves autocommit around each table's rows
// ("SET @OLD_AUTOCOMMIT=@@AUTOCOMMIT, @@AUTOCOMMIT=0").
var sessionVars = map[string]bool{
	"character_set_client": false, "character_set_results": false, "character_set_connection": false,
	"collation_connection": false, "time_zone": false, "sql_mode": false,
	"foreign_key_checks": false, "unique_checks": false, "sql_quote_show_create": false,
	"sql_notes": false, "note_verbosity": false, "sql_log_bin": true, "autocommit": true,
}

// set reads a SET statement: session settings from sessionVars, NAMES and
// CHARACTER SET, and user variables that save a session variable
// ("SET @OLD_SQL_MODE=@@SQL_MODE").
func (p *parser) set() (Statement, *refusal) {
	settings, skips := 0, 0
	for {
		skip, r := p.assignment()
		if r != nil {
			return Statement{}, r
		}
		if skip {
			skips++
		} else {
			settings++
		}
		t := p.next()
		if t.kind == tEOF {
			break
		}
		if !p.lx.isP(t, ',') {
			return Statement{}, p.refuse("unexpected %q", p.lx.text(t))
		}
	}
	switch {
	case skips > 0 && settings > 0:
		return Statement{}, p.refuse("sql_log_bin or autocommit set together with other settings")
	case skips > 0:
		return Statement{Class: ClassSkip, Kind: "session setting"}, nil
	}
	return Statement{Class: ClassSession, Kind: "session setting"}, nil
}

// assignment reads one assignment of a SET statement.
func (p *parser) assignment() (skip bool, r *refusal) {
	lx := p.lx
	t := p.next()
	var name string
	switch {
	case lx.isP(t, '@'):
		n := lx.next()
		if lx.isP(n, '@') && n.s == t.e {
			scope, v, r := p.sysvar()
			if r != nil {
				return false, r
			}
			if scope == "GLOBAL" {
				return false, p.globalRefusal(v)
			}
			name = v
			break
		}
		if n.s != t.e || (n.kind != tWord && n.kind != tIdent && n.kind != tString) {
			return false, p.refuse("a user variable without a name")
		}
		uv := userVarName(lx, n)
		if r := p.assign(); r != nil {
			return false, r
		}
		// The value must be a session variable read: the dump saves the
		// settings it changes, to put them back at its end.
		a := lx.next()
		b := lx.next()
		if !lx.isP(a, '@') || !lx.isP(b, '@') || b.s != a.e {
			return false, p.refuse("a user variable set to something other than a session variable")
		}
		scope, v, r := p.sysvar()
		if r != nil {
			return false, r
		}
		skip, ok := sessionVars[strings.ToLower(v)]
		if !ok || scope == "GLOBAL" {
			return false, p.refuse("a user variable set from %s, which dumps do not save", v)
		}
		if strings.EqualFold(v, "character_set_client") {
			p.saves[uv] = p.cs
		} else {
			p.saves[uv] = ""
		}
		// A copy of a skipped setting is skipped with it: nothing reads
		// it but the dump's own skipped restore of that setting.
		return skip, nil
	case t.kind == tWord:
		u := lx.upper(t)
		if u == "SESSION" || u == "LOCAL" {
			t = p.next()
			u = lx.upper(t)
		}
		switch u {
		case "GLOBAL":
			v, _ := lx.name(lx.peek())
			return false, p.globalRefusal(v)
		case "NAMES":
			cs, r := p.charsetValue(false)
			if r != nil {
				return false, r
			}
			p.cs = cs
			if p.optWord("COLLATE") {
				return false, p.collationValue()
			}
			return false, nil
		case "CHARACTER":
			if _, r := p.expectWord("SET"); r != nil {
				return false, r
			}
			fallthrough
		case "CHARSET":
			cs, r := p.charsetValue(false)
			p.cs = cs
			return false, r
		case "PASSWORD":
			return false, &refusal{kind: "SET PASSWORD", reason: "dumps do not set passwords"}
		}
		name = string(lx.text(t))
	default:
		return false, p.refuse("not a setting")
	}
	v := strings.ToLower(name)
	skip, ok := sessionVars[v]
	if !ok {
		return false, p.refuse("SET %s: not a session setting dumps write", name)
	}
	if r := p.assign(); r != nil {
		return false, r
	}
	switch v {
	case "character_set_client":
		cs, r := p.charsetValue(false)
		p.cs = cs
		return skip, r
	case "character_set_connection":
		_, r := p.charsetValue(false)
		return skip, r
	case "character_set_results":
		_, r := p.charsetValue(true)
		return skip, r
	case "collation_connection":
		return skip, p.collationValue()
	case "time_zone":
		t := lx.next()
		if t.kind == tString || lx.is(t, "DEFAULT") || lx.is(t, "SYSTEM") {
			return skip, nil
		}
		return skip, p.userVar(t)
	case "sql_mode":
		t := lx.next()
		if t.kind == tString {
			for _, f := range strings.Split(lx.stringValue(t), ",") {
				if f = strings.ToUpper(strings.TrimSpace(f)); f != "" && !sqlModes[f] {
					return skip, p.refuse("sql_mode %s changes how statements are read, or is not what dumps set", f)
				}
			}
			return skip, nil
		}
		if lx.is(t, "DEFAULT") {
			return skip, nil
		}
		return skip, p.userVar(t)
	}
	// The switches.
	t = lx.next()
	switch lx.upper(t) {
	case "0", "1", "ON", "OFF", "DEFAULT":
		return skip, nil
	}
	return skip, p.userVar(t)
}

// globalRefusal refuses a SET of a global variable. mysqldump writes one
// for MySQL's GTID state ("SET @@GLOBAL.GTID_PURGED=..."), which the
// MySQL 8.0 dialect mapping will take out here.
func (p *parser) globalRefusal(name string) *refusal {
	if strings.EqualFold(name, "gtid_purged") {
		return &refusal{kind: "SET GLOBAL", reason: "MySQL's GTID state (SET @@GLOBAL.GTID_PURGED) is for a MySQL replica, not this server"}
	}
	return &refusal{kind: "SET GLOBAL", reason: "a dump changes no server-wide setting"}
}

// sysvar reads a system variable after "@@": [GLOBAL.|SESSION.|LOCAL.]name.
func (p *parser) sysvar() (scope, name string, r *refusal) {
	lx := p.lx
	t := lx.next()
	if u := lx.upper(t); u == "GLOBAL" || u == "SESSION" || u == "LOCAL" {
		s := lx.save()
		if lx.isP(lx.next(), '.') {
			scope = u
			t = lx.next()
		} else {
			lx.restore(s)
		}
	}
	n, ok := lx.name(t)
	if !ok {
		return "", "", p.refuse("expected a variable name after @@")
	}
	return scope, n, nil
}

// assign reads "=" or ":=".
func (p *parser) assign() *refusal {
	t := p.lx.next()
	if p.lx.isP(t, '=') {
		return nil
	}
	if p.lx.isP(t, ':') {
		if e := p.lx.next(); p.lx.isP(e, '=') && e.s == t.e {
			return nil
		}
	}
	return p.refuse("expected =")
}

// userVar accepts a user variable ("@saved_cs_client") starting at t.
func (p *parser) userVar(t tok) *refusal {
	_, r := p.userVarAt(t)
	return r
}

// userVarAt reads a user variable starting at t and returns its name.
func (p *parser) userVarAt(t tok) (string, *refusal) {
	lx := p.lx
	if lx.isP(t, '@') {
		if n := lx.next(); n.s == t.e && (n.kind == tWord || n.kind == tIdent || n.kind == tString) {
			return userVarName(lx, n), nil
		}
	}
	return "", p.refuse("unexpected value %q", lx.text(t))
}

// userVarName returns the name of a user variable from its token after
// "@", in lower case: user variables are named without regard to case.
func userVarName(lx *lexer, t tok) string {
	if t.kind == tString {
		return strings.ToLower(lx.stringValue(t))
	}
	n, _ := lx.name(t)
	return strings.ToLower(n)
}

// nameValue reads the value of a character set or collation setting: a
// string, a word or an identifier, lower-cased, with its token. Anything
// else must be a user variable: done is then true, with userVarAt's
// verdict, and v the variable's name.
func (p *parser) nameValue() (t tok, v string, done bool, r *refusal) {
	lx := p.lx
	t = lx.next()
	switch t.kind {
	case tString:
		v = lx.stringValue(t)
	case tWord, tIdent:
		v, _ = lx.name(t)
	default:
		v, r = p.userVarAt(t)
		return t, v, true, r
	}
	return t, strings.ToLower(v), false, nil
}

// charsetValue reads a client character set from clientCharsets, DEFAULT,
// or a user variable, and returns it: the value a user variable saved
// (see parser.saves), or "" when the gate does not know it (DEFAULT is the
// server's, a variable it did not see saved).
func (p *parser) charsetValue(null bool) (string, *refusal) {
	t, v, done, r := p.nameValue()
	if done {
		if r != nil {
			return "", r
		}
		if cs, ok := p.saves[v]; ok {
			return cs, nil
		}
		return p.g.saved[v], nil
	}
	switch {
	case clientCharsets[v]:
		return v, nil
	case t.kind == tWord && v == "default", null && t.kind == tWord && v == "null":
		return "", nil
	}
	return "", p.refuse("character set %s: the gate could not read statements in it as the server does", v)
}

// collationValue reads a collation of one of clientCharsets.
func (p *parser) collationValue() *refusal {
	_, v, done, r := p.nameValue()
	if done {
		return r
	}
	cs, _, _ := strings.Cut(v, "_")
	if clientCharsets[cs] || v == "default" {
		return nil
	}
	return p.refuse("collation %s: not of a character set the gate reads", v)
}

// CheckSQLMode fails when the server's sql_mode changes how statements are
// read (ANSI_QUOTES, NO_BACKSLASH_ESCAPES, or a mode that includes them):
// the gate reads statements the way the server does under the default
// modes, and a dump's statements before its own SET SQL_MODE run under the
// server's.
func CheckSQLMode(mode string) error {
	for _, f := range strings.Split(mode, ",") {
		if f = strings.ToUpper(strings.TrimSpace(f)); f != "" && !sqlModes[f] {
			return fmt.Errorf("the server's sql_mode has %s, under which statements read differently; remove it from the server's sql_mode to restore", f)
		}
	}
	return nil
}

package sqltext

import "strings"

// DeferKeys splits the CREATE TABLE statement of an InnoDB table into the
// same statement without its plain secondary indexes, and the ALTER TABLE
// that adds them back once the rows are in: InnoDB builds an index added
// to a full table by sorting, which is cheaper than keeping it in order
// row by row. stmt is a statement the gate has let through.
//
// It takes only what it can read whole: CREATE TABLE `name` (...) with
// ENGINE=InnoDB, where every index but the primary key and the UNIQUE
// keys is KEY or INDEX `name` (`column`[(length)] [ASC|DESC], ...) [USING
// BTREE], outside any conditional comment. The ALTER TABLE is written
// from the tokens it read, so it holds nothing else. A table with a
// FOREIGN KEY or REFERENCES keeps its indexes (a constraint needs its
// index), as does a key that starts with the AUTO_INCREMENT column (which
// must have one). ok is false when there is nothing to defer.
func DeferKeys(stmt []byte, v ServerVersion) (create []byte, alter string, ok bool) {
	lx, toks, ok := createTable(stmt, v)
	if !ok {
		return nil, "", false
	}
	// The items of the body, as token ranges.
	var items [][2]int
	depth, start, end := 1, 4, -1
	for j := 4; j < len(toks) && end < 0; j++ {
		t := toks[j]
		if t.region != 0 || lx.is(t, "FOREIGN") || lx.is(t, "REFERENCES") {
			return nil, "", false
		}
		switch {
		case lx.isP(t, '('):
			depth++
		case lx.isP(t, ')'):
			depth--
			if depth == 0 {
				items = append(items, [2]int{start, j})
				end = j
			}
		case lx.isP(t, ',') && depth == 1:
			items = append(items, [2]int{start, j})
			start = j + 1
		}
	}
	if end < 0 || !innoDB(lx, toks[end+1:]) {
		return nil, "", false
	}
	auto := map[string]bool{}
	for _, it := range items {
		if it[1] > it[0] && toks[it[0]].kind == tIdent {
			for _, t := range toks[it[0]:it[1]] {
				if lx.is(t, "AUTO_INCREMENT") {
					name, _ := lx.name(toks[it[0]])
					auto[strings.ToLower(name)] = true
				}
			}
		}
	}
	var keys [][2]int
	for n, it := range items {
		t := toks[it[0]:it[1]]
		if len(t) == 0 {
			return nil, "", false
		}
		switch {
		case lx.is(t[0], "KEY") || lx.is(t[0], "INDEX"):
			first, good := plainKey(lx, t)
			if !good || auto[first] || n == 0 {
				return nil, "", false
			}
			keys = append(keys, it)
		case lx.is(t[0], "FULLTEXT") || lx.is(t[0], "SPATIAL"):
			return nil, "", false
		}
	}
	if len(keys) == 0 {
		return nil, "", false
	}
	var a strings.Builder
	a.WriteString("ALTER TABLE ")
	a.Write(lx.text(toks[2]))
	for n, k := range keys {
		if n > 0 {
			a.WriteByte(',')
		}
		a.WriteString(" ADD")
		for _, t := range toks[k[0]:k[1]] {
			a.WriteByte(' ')
			a.Write(lx.text(t))
		}
	}
	// Cut each key with the comma before it.
	out := make([]byte, 0, len(stmt))
	at := 0
	for _, k := range keys {
		out = append(out, stmt[at:toks[k[0]-1].s]...)
		at = toks[k[1]-1].e
	}
	out = append(out, stmt[at:]...)
	return out, a.String(), true
}

// createTable reads the tokens of CREATE TABLE `name` (..., outside any
// conditional comment up to the parenthesis.
func createTable(stmt []byte, v ServerVersion) (*lexer, []tok, bool) {
	lx := newLexer(stmt, v)
	var toks []tok
	for {
		t := lx.next()
		if t.kind == tEOF {
			break
		}
		toks = append(toks, t)
	}
	if lx.err != nil || len(toks) < 5 || !lx.is(toks[0], "CREATE") || !lx.is(toks[1], "TABLE") ||
		toks[2].kind != tIdent || !lx.isP(toks[3], '(') {
		return nil, nil, false
	}
	for _, t := range toks[:4] {
		if t.region != 0 {
			return nil, nil, false
		}
	}
	return lx, toks, true
}

// IsInnoDB reports whether stmt is CREATE TABLE `name` (...) ENGINE=InnoDB,
// read whole (the engine outside any conditional comment), so that ALTER
// TABLE ... DISABLE KEYS and ENABLE KEYS, which InnoDB ignores, need not
// run for the table.
func IsInnoDB(stmt []byte, v ServerVersion) bool {
	lx, toks, ok := createTable(stmt, v)
	if !ok {
		return false
	}
	depth := 1
	for j := 4; j < len(toks); j++ {
		switch {
		case lx.isP(toks[j], '('):
			depth++
		case lx.isP(toks[j], ')'):
			depth--
			if depth == 0 {
				return innoDB(lx, toks[j+1:])
			}
		}
	}
	return false
}

// innoDB reports whether the table options name ENGINE=InnoDB.
func innoDB(lx *lexer, opts []tok) bool {
	for j, t := range opts {
		if !lx.is(t, "ENGINE") {
			continue
		}
		k := j + 1
		if k < len(opts) && lx.isP(opts[k], '=') {
			k++
		}
		return k < len(opts) && opts[k].region == 0 && lx.is(opts[k], "InnoDB")
	}
	return false
}

// plainKey reads KEY `name` (`col`[(n)] [ASC|DESC], ...) [USING BTREE]
// and returns its first column, in lower case.
func plainKey(lx *lexer, t []tok) (first string, ok bool) {
	if len(t) < 5 || t[1].kind != tIdent || !lx.isP(t[2], '(') {
		return "", false
	}
	j := 3
	for {
		if j >= len(t) || t[j].kind != tIdent {
			return "", false
		}
		if first == "" {
			name, _ := lx.name(t[j])
			first = strings.ToLower(name)
		}
		j++
		if j+2 < len(t) && lx.isP(t[j], '(') && digits(lx.text(t[j+1])) && lx.isP(t[j+2], ')') {
			j += 3
		}
		if j < len(t) && (lx.is(t[j], "ASC") || lx.is(t[j], "DESC")) {
			j++
		}
		if j < len(t) && lx.isP(t[j], ',') {
			j++
			continue
		}
		break
	}
	if j >= len(t) || !lx.isP(t[j], ')') {
		return "", false
	}
	j++
	if j+1 < len(t) && lx.is(t[j], "USING") && lx.is(t[j+1], "BTREE") {
		j += 2
	}
	return first, j == len(t)
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0 && len(b) < 6
}

package sqltext

import (
	"bytes"
)

// StripDefiner removes the DEFINER clause from one CREATE statement, in the
// forms the dump programs write and as SHOW CREATE VIEW, TRIGGER,
// PROCEDURE, FUNCTION or EVENT prints it ("CREATE ALGORITHM=UNDEFINED
// DEFINER=`u`@`h` SQL SECURITY DEFINER VIEW ..."):
//
//	/*!50003 CREATE*/ /*!50017 DEFINER=`u`@`h`*/ /*!50003 TRIGGER ...   (triggers)
//	/*!50106 CREATE*/ /*!50117 DEFINER=`u`@`h`*/ /*!50106 EVENT ...     (events)
//	/*!50013 DEFINER=`u`@`h` SQL SECURITY DEFINER */                    (views)
//	CREATE DEFINER=`u`@`h` PROCEDURE ...  (and FUNCTION, and the forms SHOW CREATE prints)
//
// The object then belongs to the user that runs the statement (DEFINER
// defaults to CURRENT_USER); SQL SECURITY is kept. Other text is returned
// unchanged. A dump's statements get theirs taken out by the Gate.
func StripDefiner(stmt string) string {
	return string(stripDefinerHead([]byte(stmt)))
}

// stripDefinerHead removes one DEFINER clause at the start of a line (see
// StripDefiners for the forms). A head that does not match a form exactly
// is returned as it is.
func stripDefinerHead(line []byte) []byte {
	i := 0
	// "/*!50003 CREATE*/ " before a trigger's or event's DEFINER comment.
	if j, ok := versionOpen(line, i); ok {
		if k, ok := keyword(line, j, "CREATE"); ok && hasAt(line, k, "*/") {
			i = skipSpace(line, k+2)
		}
	}
	// "/*!50017 DEFINER=...*/ " or "/*!50013 DEFINER=... SQL SECURITY ...".
	if j, ok := versionOpen(line, i); ok {
		if start, end, ok := definerClause(line, j); ok {
			if hasAt(line, end, "*/") {
				// The whole comment goes, with the blank after it.
				return splice(line, i, skipOneSpace(line, end+2))
			}
			if end < len(line) && isSpace(line[end]) {
				return splice(line, start, skipOneSpace(line, end))
			}
			return line
		}
		// "/*!50001 CREATE ALGORITHM=... DEFINER=..." on one line.
		i = j
	}
	// "CREATE [OR REPLACE] [ALGORITHM=x] DEFINER=... " as routines are dumped
	// and as SHOW CREATE prints every kind of object.
	j, ok := keyword(line, skipSpace(line, i), "CREATE")
	if !ok {
		return line
	}
	j = skipSpace(line, j)
	if k, ok := keyword(line, j, "OR"); ok {
		if k, ok = keyword(line, skipSpace(line, k), "REPLACE"); !ok {
			return line
		}
		j = skipSpace(line, k)
	}
	if k, ok := keyword(line, j, "ALGORITHM"); ok {
		k = skipSpace(line, k)
		if !hasAt(line, k, "=") {
			return line
		}
		k = skipSpace(line, k+1)
		for k < len(line) && isWordByte(line[k]) {
			k++
		}
		j = skipSpace(line, k)
	}
	start, end, ok := definerClause(line, j)
	if !ok || end >= len(line) || !isSpace(line[end]) {
		return line
	}
	return splice(line, start, skipOneSpace(line, end))
}

// definerClause matches "DEFINER = user[@host]" at i and returns its span.
func definerClause(line []byte, i int) (start, end int, ok bool) {
	j, ok := keyword(line, i, "DEFINER")
	if !ok {
		return 0, 0, false
	}
	j = skipSpace(line, j)
	if !hasAt(line, j, "=") {
		return 0, 0, false
	}
	j = skipSpace(line, j+1)
	if k, ok := keyword(line, j, "CURRENT_USER"); ok {
		if hasAt(line, k, "()") {
			k += 2
		}
		return i, k, true
	}
	j, ok = userPart(line, j)
	if !ok {
		return 0, 0, false
	}
	if hasAt(line, j, "@") {
		if j, ok = userPart(line, j+1); !ok {
			return 0, 0, false
		}
	}
	return i, j, true
}

// userPart matches a user or host name: quoted with backticks, single or
// double quotes (doubled quotes and backslash escapes inside), or bare.
func userPart(line []byte, i int) (int, bool) {
	if i >= len(line) {
		return 0, false
	}
	switch q := line[i]; q {
	case '`', '\'', '"':
		for j := i + 1; j < len(line); j++ {
			switch {
			case line[j] == '\\' && q != '`':
				j++
			case line[j] == q:
				if j+1 < len(line) && line[j+1] == q {
					j++
					continue
				}
				return j + 1, true
			}
		}
		return 0, false
	}
	j := i
	for j < len(line) && (isWordByte(line[j]) || line[j] == '.' || line[j] == '%' || line[j] == '-') {
		j++
	}
	return j, j > i
}

// versionOpen matches "/*!NNNNN " or "/*M!NNNNNN " at i and returns the
// index after the blank.
func versionOpen(line []byte, i int) (int, bool) {
	if !hasAt(line, i, "/*") {
		return 0, false
	}
	j := i + 2
	if hasAt(line, j, "M") {
		j++
	}
	if !hasAt(line, j, "!") {
		return 0, false
	}
	j++
	d := j
	for j < len(line) && line[j] >= '0' && line[j] <= '9' {
		j++
	}
	if j-d < 5 || j-d > 6 || j >= len(line) || line[j] != ' ' {
		return 0, false
	}
	return j + 1, true
}

// keyword matches the word kw (any case) at i, not followed by a word byte.
func keyword(line []byte, i int, kw string) (int, bool) {
	j := i + len(kw)
	if j > len(line) || !bytes.EqualFold(line[i:j], []byte(kw)) {
		return 0, false
	}
	if j < len(line) && isWordByte(line[j]) {
		return 0, false
	}
	return j, true
}

func hasAt(line []byte, i int, s string) bool {
	return i <= len(line) && bytes.HasPrefix(line[i:], []byte(s))
}

func skipSpace(line []byte, i int) int {
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return i
}

func skipOneSpace(line []byte, i int) int {
	if i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		return i + 1
	}
	return i
}

// splice returns line without line[from:to].
func splice(line []byte, from, to int) []byte {
	out := make([]byte, 0, len(line)-(to-from))
	out = append(out, line[:from]...)
	return append(out, line[to:]...)
}

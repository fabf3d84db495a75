package dump

import (
	"bytes"
	"strings"
)

// The line heads mysqldump and mariadb-dump (MariaDB 10.11 and 11.8,
// Oracle's 9.7) start each object's definition with. The tools escape
// newlines inside data, so a line that starts with one of them is a
// statement, never row data; routine, trigger and event bodies, which may
// hold lines of any kind, are written between "DELIMITER ;;" and
// "DELIMITER ;".
const (
	headTable   = "CREATE TABLE "
	headView    = "/*!50001 VIEW "    // a view's definition, after the placeholder written first
	headTrigger = "/*!50003 CREATE*/" // then DEFINER, then "/*!50003 TRIGGER "
	headEvent   = "/*!50106 CREATE*/" // then DEFINER, then "/*!50106 EVENT "
	headRoutine = "CREATE DEFINER="   // then `u`@`h` and PROCEDURE, FUNCTION, ...
	triggerWord = "/*!50003 TRIGGER "
	eventWord   = "/*!50106 EVENT "
	routineKind = "PROCEDURE FUNCTION AGGREGATE PACKAGE"
	delimOpen   = "DELIMITER ;;"
	delimClose  = "DELIMITER ;"
	// maxHead is how much of a line is kept: enough for the longest
	// DEFINER clause. headProbe bytes decide whether a line may be a
	// head at all.
	maxHead   = 1024
	headProbe = len(headTrigger)
)

var heads = []string{headTable, headView, headTrigger, headEvent, headRoutine, delimOpen}

// ObjectCounter is a writer that counts the object definitions of a dump's
// text as it streams past (see Objects): table definitions outside the
// DELIMITER blocks (a routine's body may create a table), views by their
// final definition (the placeholder the tools write first is not counted),
// triggers, events and routines by their first line. It keeps no more than
// the first maxHead bytes of the current line, and only of lines that may
// start a definition.
type ObjectCounter struct {
	Objects
	head     []byte
	skipping bool // the rest of the current line is not looked at
	inBlock  bool // between DELIMITER ;; and DELIMITER ;
}

// Write counts; it never fails.
func (c *ObjectCounter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if c.skipping {
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				return n, nil
			}
			p, c.skipping, c.head = p[i+1:], false, c.head[:0]
			continue
		}
		// Look no further than what decides whether the line may be a
		// head, then no further than the head kept.
		limit := maxHead - len(c.head)
		if len(c.head) < headProbe {
			limit = headProbe - len(c.head)
		}
		w := p[:min(len(p), limit)]
		if i := bytes.IndexByte(w, '\n'); i >= 0 {
			c.head = append(c.head, w[:i]...)
			c.classify()
			p, c.head = p[i+1:], c.head[:0]
			continue
		}
		c.head = append(c.head, w...)
		p = p[len(w):]
		switch {
		case len(c.head) >= maxHead:
			c.classify()
			c.skipping = true
		case len(c.head) >= headProbe && !c.mayStart():
			c.skipping = true
		}
	}
	return n, nil
}

// mayStart reports whether the head so far can start a definition or a
// DELIMITER line.
func (c *ObjectCounter) mayStart() bool {
	for _, h := range heads {
		if n := min(len(h), len(c.head)); bytes.Equal(c.head[:n], []byte(h[:n])) {
			return true
		}
	}
	return false
}

// classify counts the line whose head is c.head.
func (c *ObjectCounter) classify() {
	h := string(bytes.TrimRight(c.head, "\r"))
	switch {
	case h == delimOpen:
		c.inBlock = true
	case h == delimClose:
		c.inBlock = false
	case strings.HasPrefix(h, headTable):
		if !c.inBlock {
			c.Tables++
		}
	case strings.HasPrefix(h, headView):
		c.Views++
	case strings.HasPrefix(h, headTrigger) && strings.Contains(h, triggerWord):
		c.Triggers++
	case strings.HasPrefix(h, headEvent) && strings.Contains(h, eventWord):
		c.Events++
	case strings.HasPrefix(h, headRoutine) && isRoutine(h[len(headRoutine):]):
		c.Routines++
	}
}

// isRoutine reports whether s, what follows "CREATE DEFINER=", is a
// definer and a routine's kind: "`u`@`h` PROCEDURE ...".
func isRoutine(s string) bool {
	s, ok := skipAccountPart(s)
	if !ok || !strings.HasPrefix(s, "@") {
		return false
	}
	s, ok = skipAccountPart(s[1:])
	if !ok || !strings.HasPrefix(s, " ") {
		return false
	}
	word, _, _ := strings.Cut(s[1:], " ")
	return word != "" && strings.Contains(" "+routineKind+" ", " "+word+" ")
}

// skipAccountPart skips a user or host name: backquoted (“ inside), or
// bare up to "@" or a space.
func skipAccountPart(s string) (string, bool) {
	if !strings.HasPrefix(s, "`") {
		i := strings.IndexAny(s, "@ ")
		if i <= 0 {
			return "", false
		}
		return s[i:], true
	}
	for i := 1; i < len(s); i++ {
		if s[i] != '`' {
			continue
		}
		if i+1 < len(s) && s[i+1] == '`' {
			i++
			continue
		}
		return s[i+1:], true
	}
	return "", false
}

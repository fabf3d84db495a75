package sqltext

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ServerVersion is a server's version as its conditional comments count
// it: MariaDB 10.11.19 is 101119, MySQL 8.0.36 is 80036.
type ServerVersion struct {
	N       int
	MariaDB bool
}

// ParseServerVersion reads what SELECT VERSION() returns
// ("10.11.19-MariaDB-0+deb12u1", "8.0.36").
func ParseServerVersion(s string) (ServerVersion, error) {
	num, _, _ := strings.Cut(s, "-")
	parts := strings.Split(num, ".")
	if len(parts) < 3 {
		return ServerVersion{}, fmt.Errorf("server version %q: not major.minor.patch", s)
	}
	var v [3]int
	for i := range v {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 0 || n > 99 {
			return ServerVersion{}, fmt.Errorf("server version %q: not major.minor.patch", s)
		}
		v[i] = n
	}
	return ServerVersion{N: v[0]*10000 + v[1]*100 + v[2], MariaDB: strings.Contains(s, "MariaDB")}, nil
}

// The kinds of token the server-view lexer returns.
const (
	tEOF    = iota
	tWord   // a bare word: keyword, name or number
	tIdent  // a backtick-quoted identifier
	tString // a '...' or "..." string
	tPunct  // one byte of anything else
)

// tok is a token of a statement as the server reads it: s and e bound its
// bytes in the statement, and region tells which executed conditional
// comment it is in (0 outside any; each one has its own number).
type tok struct {
	kind   int
	s, e   int
	region int
}

// errLex is a statement the server would read differently from a simple
// lexer, or not at all: the gate refuses it rather than guess.
var errLex = errors.New("unreadable statement")

// lexer reads a statement the way the server does: comments are blanks,
// the text of a conditional comment ("/*!50003 ... */", "/*M!100100 ...
// */") is code when the server's version runs it and a comment when not,
// and strings and quoted names may hold anything. What it cannot read the
// way the server would (a nested conditional comment, an unclosed quote or
// comment) sets err and ends the statement.
type lexer struct {
	b       []byte
	i       int
	ver     ServerVersion
	inCond  bool
	region  int
	regions int
	err     error
	// cs is the client character set the statement is read in (see
	// nameBytes); "" is one the gate does not know.
	cs string
}

// newLexer reads b as the server reads it in utf8mb4.
func newLexer(b []byte, v ServerVersion) *lexer { return &lexer{b: b, ver: v, cs: "utf8mb4"} }

// nameBytes are the client character sets in which the server reads every
// byte from 0x80 up, outside quotes, as part of a name, as the gate does
// (their ctype tables mark those bytes as letters; TestServerReadsBytes
// checks it against the server). In the others such a byte may be a blank
// to the server (0xA0 in latin1), which would start a comment after "--"
// where the gate sees none, or a sign: there the gate refuses it outside
// quotes, backticks and comments.
var nameBytes = wordSet("utf8mb4 utf8mb3 utf8")

// highByte refuses the byte at b[i], outside quotes, when it is 0x80 or
// above and the character set is not one of nameBytes, or it does not
// start a well-formed character there (the server reads a byte that does
// not as a sign of its own, which ends a name). It returns the length of
// the character: 1 for a byte below 0x80.
func (lx *lexer) highByte(b []byte, i int) (n int, refused bool) {
	c := b[i]
	if c < 0x80 {
		return 1, false
	}
	if nameBytes[lx.cs] {
		r, n := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError && (n < 4 || lx.cs == "utf8mb4") {
			return n, false
		}
		lx.fail("bytes %q outside quotes are not a character of %s", b[i:i+max(n, 1)], lx.cs)
		return 0, true
	}
	cs := lx.cs
	if cs == "" {
		cs = "a character set the gate does not know"
	}
	lx.fail("byte 0x%02X outside quotes under %s, where the server may read it as a blank or a sign; dumps in utf8mb4 do not have it", c, cs)
	return 0, true
}

func (lx *lexer) fail(format string, a ...any) tok {
	if lx.err == nil {
		lx.err = fmt.Errorf("%w: "+format, append([]any{errLex}, a...)...)
	}
	lx.i = len(lx.b)
	return tok{kind: tEOF, s: len(lx.b), e: len(lx.b)}
}

// runs reports whether the server runs a conditional comment of version v,
// MariaDB's own ("/*M!") or not. MariaDB skips MySQL's 5.7 to 9.x numbers,
// which are not its own versions.
func (v ServerVersion) runs(n int, maria bool) bool {
	if !v.MariaDB {
		return !maria && n <= v.N
	}
	return n <= v.N && (maria || n < 50700 || n > 99999)
}

// skipBlank skips blanks and comments; it returns false at the end of the
// statement or on an error.
func (lx *lexer) skipBlank() bool {
	b := lx.b
	for lx.i < len(b) {
		c := b[lx.i]
		switch {
		case isSpace(c):
			lx.i++
		case c == '-' && lx.i+2 < len(b) && b[lx.i+1] == '-' && b[lx.i+2] == 0x7f && !nameBytes[lx.cs]:
			// DEL is not a control character in every character set:
			// cp1251's "--\x7f" starts no comment.
			lx.fail("\"--\" followed by 0x7F under %s, which the server may not read as a comment", lx.cs)
			return false
		case c == '#' || (c == '-' && lx.i+1 < len(b) && b[lx.i+1] == '-' && (lx.i+2 == len(b) || isCommentDash(b[lx.i+2]))):
			k := bytes.IndexByte(b[lx.i:], '\n')
			if k < 0 {
				lx.i = len(b)
			} else {
				lx.i += k + 1
			}
		case c == '*' && lx.inCond && lx.i+1 < len(b) && b[lx.i+1] == '/':
			lx.i += 2
			lx.inCond = false
			lx.region = 0
		case c == '/' && lx.i+1 < len(b) && b[lx.i+1] == '*':
			if !lx.comment() {
				return false
			}
		default:
			return true
		}
	}
	return false
}

// comment reads a comment starting at lx.i ("/*").
func (lx *lexer) comment() bool {
	b := lx.b
	j := lx.i + 2
	maria := false
	if j+1 < len(b) && b[j] == 'M' && b[j+1] == '!' {
		maria = true
		j++
	}
	if j < len(b) && b[j] == '!' {
		if maria && !lx.ver.MariaDB {
			// MySQL reads "/*M!" as a plain comment.
			return lx.plainComment()
		}
		if lx.inCond {
			lx.fail("conditional comment inside a conditional comment")
			return false
		}
		j++
		d := j
		for j < len(b) && j-d < 6 && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j-d < 5 {
			// Not a version: the text runs whatever the version, digits
			// and all.
			lx.openCond(d)
			return true
		}
		n, _ := strconv.Atoi(string(b[d:j]))
		if lx.ver.runs(n, maria) {
			lx.openCond(j)
			return true
		}
		// Skipped: the server allows one comment nested inside.
		depth := 0
		for k := j; k < len(b); k++ {
			switch {
			case b[k] == '/' && k+1 < len(b) && b[k+1] == '*':
				if depth == 1 {
					lx.fail("comment nested twice in a conditional comment")
					return false
				}
				depth++
				k++
			case b[k] == '*' && k+1 < len(b) && b[k+1] == '/':
				if depth == 0 {
					lx.i = k + 2
					return true
				}
				depth--
				k++
			}
		}
		lx.fail("unclosed comment")
		return false
	}
	return lx.plainComment()
}

func (lx *lexer) plainComment() bool {
	k := bytes.Index(lx.b[lx.i+2:], []byte("*/"))
	if k < 0 {
		lx.fail("unclosed comment")
		return false
	}
	lx.i += 2 + k + 2
	return true
}

func (lx *lexer) openCond(at int) {
	lx.inCond = true
	lx.regions++
	lx.region = lx.regions
	lx.i = at
}

// next returns the next token.
func (lx *lexer) next() tok {
	if !lx.skipBlank() {
		if lx.err == nil && lx.inCond {
			return lx.fail("unclosed conditional comment")
		}
		return tok{kind: tEOF, s: len(lx.b), e: len(lx.b), region: lx.region}
	}
	b := lx.b
	start := lx.i
	c := b[start]
	t := tok{s: start, region: lx.region}
	switch {
	case isWordByte(c):
		for lx.i < len(b) && isWordByte(b[lx.i]) {
			n, refused := lx.highByte(b, lx.i)
			if refused {
				return tok{kind: tEOF, s: len(b), e: len(b)}
			}
			lx.i += n
		}
		t.kind = tWord
	case c == '`':
		k := lx.i + 1
		for {
			n := bytes.IndexByte(b[k:], '`')
			if n < 0 {
				return lx.fail("unclosed quoted name")
			}
			k += n + 1
			if k < len(b) && b[k] == '`' {
				k++
				continue
			}
			break
		}
		lx.i = k
		t.kind = tIdent
	case c == '\'' || c == '"':
		end, ok := stringEnd(b, start)
		if !ok {
			return lx.fail("unclosed string")
		}
		lx.i = end
		t.kind = tString
	default:
		lx.i++
		t.kind = tPunct
	}
	t.e = lx.i
	return t
}

// stringEnd returns the index after the string literal that starts at i,
// read with backslash escapes and doubled quotes, as the server reads it
// when sql_mode has neither NO_BACKSLASH_ESCAPES nor ANSI_QUOTES.
func stringEnd(b []byte, i int) (int, bool) {
	q := b[i]
	p := i + 1
	// qi caches the next quote at or after p, so that strings full of
	// backslashes stay linear.
	qi := -1
	for {
		if p >= len(b) {
			return 0, false
		}
		if qi < p {
			k := bytes.IndexByte(b[p:], q)
			if k < 0 {
				return 0, false
			}
			qi = p + k
		}
		if k := bytes.IndexByte(b[p:qi], '\\'); k >= 0 {
			p += k + 2
			continue
		}
		p = qi + 1
		if p < len(b) && b[p] == q {
			p++
			continue
		}
		return p, true
	}
}

// text returns the bytes of t.
func (lx *lexer) text(t tok) []byte { return lx.b[t.s:t.e] }

// is reports whether t is the bare word kw, in any case.
func (lx *lexer) is(t tok, kw string) bool {
	return t.kind == tWord && t.e-t.s == len(kw) && bytes.EqualFold(lx.b[t.s:t.e], []byte(kw))
}

// isP reports whether t is the punctuation c.
func (lx *lexer) isP(t tok, c byte) bool { return t.kind == tPunct && lx.b[t.s] == c }

// upper returns a word in upper case (short words only), else "".
func (lx *lexer) upper(t tok) string {
	if t.kind != tWord || t.e-t.s > 40 {
		return ""
	}
	return strings.ToUpper(string(lx.b[t.s:t.e]))
}

// name returns the name a word or quoted identifier stands for.
func (lx *lexer) name(t tok) (string, bool) {
	switch t.kind {
	case tWord:
		return string(lx.b[t.s:t.e]), true
	case tIdent:
		return strings.ReplaceAll(string(lx.b[t.s+1:t.e-1]), "``", "`"), true
	}
	return "", false
}

// stringValue returns the value of a string literal, unescaped as the
// server does.
func (lx *lexer) stringValue(t tok) string {
	raw := lx.b[t.s+1 : t.e-1]
	q := lx.b[t.s]
	var out []byte
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '\\' && i+1 < len(raw):
			i++
			switch e := raw[i]; e {
			case 'n':
				out = append(out, '\n')
			case 't':
				out = append(out, '\t')
			case 'r':
				out = append(out, '\r')
			case '0':
				out = append(out, 0)
			case 'b':
				out = append(out, '\b')
			case 'Z':
				out = append(out, 0x1a)
			default:
				out = append(out, e)
			}
		case c == q && i+1 < len(raw) && raw[i+1] == q:
			out = append(out, q)
			i++
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

// save and restore let a parser look ahead.
func (lx *lexer) save() lexer     { return *lx }
func (lx *lexer) restore(s lexer) { *lx = s }
func (lx *lexer) peek() tok {
	s := lx.save()
	t := lx.next()
	lx.restore(s)
	return t
}

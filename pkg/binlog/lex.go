package binlog

import (
	"bytes"
	"strings"
)

// SQL modes that change how a statement is read (the same bits in MySQL
// and MariaDB).
const (
	modeANSIQuotes         = 0x00000004
	modeNoBackslashEscapes = 0x00100000
)

// The kinds of token.
const (
	tokWord   = iota // a bare word: keyword, name or number
	tokIdent         // a quoted identifier
	tokString        // a string literal
	tokPunct         // one byte of anything else
)

type token struct {
	kind int
	text string // a word or identifier as the server reads it; the byte of a punctuation
}

// lex cuts a statement into tokens the way the server reads it, with
// comments as blanks. The text of a conditional comment ("/*!50003 ...
// */", "/*M!100100 ... */") is read as code whatever the version: the gate
// then sees more than the server runs, never less. ok is false for text
// the server would read differently from a simple lexer, or not at all (an
// unclosed quote or comment, a conditional comment inside another); the
// gate refuses it rather than guess.
func lex(b []byte, sqlMode uint64) (toks []token, ok bool) {
	ansi := sqlMode&modeANSIQuotes != 0
	escapes := sqlMode&modeNoBackslashEscapes == 0
	inCond := false
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '#':
			i = lineEnd(b, i)
		case c == '-' && i+1 < len(b) && b[i+1] == '-' && (i+2 == len(b) || b[i+2] <= ' '):
			i = lineEnd(b, i)
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			if inCond {
				// The server's reading of a comment inside a
				// conditional comment is not worth guessing.
				return nil, false
			}
			if cond, body := condOpen(b, i); cond {
				inCond, i = true, body
				continue
			}
			j := bytes.Index(b[i+2:], []byte("*/"))
			if j < 0 {
				return nil, false
			}
			i += 2 + j + 2
		case c == '*' && inCond && i+1 < len(b) && b[i+1] == '/':
			inCond, i = false, i+2
		case c == '`' || c == '"' && ansi:
			s, j, ok := quoted(b, i, c, false)
			if !ok {
				return nil, false
			}
			toks, i = append(toks, token{tokIdent, s}), j
		case c == '\'' || c == '"':
			s, j, ok := quoted(b, i, c, escapes)
			if !ok {
				return nil, false
			}
			toks, i = append(toks, token{tokString, s}), j
		case isWordByte(c):
			j := i
			for j < len(b) && isWordByte(b[j]) {
				j++
			}
			toks, i = append(toks, token{tokWord, string(b[i:j])}), j
		default:
			toks, i = append(toks, token{tokPunct, string(c)}), i+1
		}
	}
	if inCond {
		return nil, false
	}
	return toks, true
}

func lineEnd(b []byte, i int) int {
	j := bytes.IndexByte(b[i:], '\n')
	if j < 0 {
		return len(b)
	}
	return i + j + 1
}

// condOpen reports whether b[i:] opens a conditional comment, and where
// its text starts.
func condOpen(b []byte, i int) (bool, int) {
	j := i + 2
	if j < len(b) && b[j] == 'M' {
		j++
	}
	if j >= len(b) || b[j] != '!' {
		return false, 0
	}
	j++
	for k := 0; k < 6 && j < len(b) && b[j] >= '0' && b[j] <= '9'; k++ {
		j++
	}
	return true, j
}

// quoted reads a quoted string or identifier starting at b[i]: the quote
// doubled stands for itself, and with escapes a backslash escapes the
// byte after it.
func quoted(b []byte, i int, q byte, escapes bool) (string, int, bool) {
	var sb strings.Builder
	for j := i + 1; j < len(b); j++ {
		c := b[j]
		switch {
		case c == '\\' && escapes:
			if j+1 >= len(b) {
				return "", 0, false
			}
			sb.WriteByte(b[j+1])
			j++
		case c == q:
			if j+1 < len(b) && b[j+1] == q {
				sb.WriteByte(q)
				j++
				continue
			}
			return sb.String(), j + 1, true
		default:
			sb.WriteByte(c)
		}
	}
	return "", 0, false
}

// isWordByte: letters, digits, '_', '$' and every byte of a multi-byte
// character make up words.
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80
}

// qualifiers returns the names that qualify others ("x" in x.y, `x`.y):
// a database, or a table qualifying a column. Numbers ("1.5") are not.
func qualifiers(toks []token) []string {
	var out []string
	for i := 0; i+2 < len(toks); i++ {
		a, dot, b := toks[i], toks[i+1], toks[i+2]
		if dot.kind != tokPunct || dot.text != "." || (b.kind != tokWord && b.kind != tokIdent) {
			continue
		}
		if a.kind == tokIdent || a.kind == tokWord && !isNumber(a.text) {
			out = append(out, a.text)
		}
	}
	return out
}

func isNumber(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

package sqltext

// What the mariadb command-line client needs to read a gated statement as
// the server does: a delimiter that does not occur in it.

import (
	"bytes"
	"strings"
)

// ClientDelimiter returns a delimiter for sending stmt, a statement the
// gate let through, to the mariadb command-line client: one that does not
// occur in it. It fails when the client would not read the statement as the
// server does: a backslash outside strings (a client command), a line
// starting with DELIMITER, a "--" followed by a control character (a
// comment for the server, not for the client), or a statement that does
// not end outside quotes and comments. The client is to get
// "DELIMITER d\n" + stmt + "\n" + d + "\n".
func ClientDelimiter(stmt []byte) (string, error) {
	if err := clientReadable(stmt); err != nil {
		return "", err
	}
	for _, d := range []string{";", ";;", "$$", "//"} {
		if !bytes.Contains(stmt, []byte(d)) {
			return d, nil
		}
	}
	for n := 0; ; n++ {
		d := "$$" + strings.Repeat("$", n%4) + string(rune('a'+n%26)) + "$$"
		if n >= 104 {
			d = "$$" + strings.Repeat("z", n) + "$$"
		}
		if !bytes.Contains(stmt, []byte(d)) {
			return d, nil
		}
	}
}

// clientReadable checks a statement the way the mariadb client splits
// text: quotes, comments, conditional comments as code.
func clientReadable(b []byte) error {
	bad := func(what string) error {
		return &RefusedError{Kind: "statement", Reason: what + ": the mariadb client would read it differently from the server", Prefix: quotePrefix(b, 60)}
	}
	lineStart := true
	for i := 0; i < len(b); {
		c := b[i]
		if lineStart {
			j := i
			for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
				j++
			}
			if len(b)-j >= 9 && bytes.EqualFold(b[j:j+9], []byte("delimiter")) {
				return bad("a line starting with DELIMITER")
			}
			lineStart = false
		}
		switch {
		case c == '\n':
			lineStart = true
			i++
		case c == '\'' || c == '"':
			e, ok := stringEnd(b, i)
			if !ok {
				return bad("an unclosed string")
			}
			i = e
		case c == '`':
			k := bytes.IndexByte(b[i+1:], '`')
			if k < 0 {
				return bad("an unclosed quoted name")
			}
			i += k + 2
		case c == '\\':
			return bad("a backslash outside a string")
		case c == '#' || (c == '-' && i+1 < len(b) && b[i+1] == '-' && (i+2 == len(b) || isCommentDash(b[i+2]))):
			if c == '-' && i+2 < len(b) && !isSpace(b[i+2]) {
				return bad("a comment the client does not see")
			}
			k := bytes.IndexByte(b[i:], '\n')
			if k < 0 {
				// The newline before the delimiter ends it.
				k = len(b) - i
			}
			i += k
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			if i+2 < len(b) && (b[i+2] == '!' || (b[i+2] == 'M' && i+3 < len(b) && b[i+3] == '!')) {
				i += 2
				continue
			}
			k := bytes.Index(b[i+2:], []byte("*/"))
			if k < 0 {
				return bad("an unclosed comment")
			}
			i += 2 + k + 2
		default:
			i++
		}
	}
	return nil
}

package binlog

import (
	"bytes"
)

// The replay's statements reach the server through the family's binary
// log tool and command-line client: the tool prints each statement's text
// as it is, followed by its own delimiter "/*!*/;" on a line of its own,
// and the client cuts the printed text into statements again by its own
// reading of quotes, comments and delimiters, runs the backslash commands
// it finds outside strings, and a line starting with DELIMITER or CHARSET
// as a command. A text the client could cut differently from the server
// (which the gate reads like) would run what the gate never judged.
//
// clientProblem is the rule that keeps them alike: it says why the text
// of a statement that is to run is refused, or "" when it is not. Outside
// string literals and quoted names, a statement may hold no byte below
// 0x20 but tab, newline and carriage return (the server takes "--"
// followed by any of them for a comment, the client only by a blank), no
// DEL, no backslash, no conditional comment ("/*!", "/*M!": the client
// reads inside them what the server may skip), no unclosed comment, and
// no ";" but at its very end, unless compound says the statement is a
// stored program with a body the backup gate's rules have read (which
// refuse a ";" outside BEGIN ... END). Anywhere in it, not even in a
// string: the tool's delimiter "/*!*/", and a line starting with
// DELIMITER or CHARSET. A backslash in a string is refused where the
// session's sql_mode makes it a plain byte (NO_BACKSLASH_ESCAPES; in a
// "..." name under ANSI_QUOTES), which the client may not know. Bytes of
// data inside strings are left alone: the client copies them as they are
// (it runs with --binary-mode).
func clientProblem(text []byte, sqlMode uint64, compound bool) string {
	if bytes.Contains(text, []byte("/*!*/")) {
		return "it holds the binary log tool's delimiter /*!*/, where the client would cut it"
	}
	for _, line := range bytes.Split(text, []byte("\n")) {
		line = bytes.TrimLeft(line, " \t")
		for _, cmd := range []string{"delimiter", "charset"} {
			if len(line) >= len(cmd) && bytes.EqualFold(line[:len(cmd)], []byte(cmd)) {
				return "a line of it starts with " + cmd + ", a command of the client"
			}
		}
	}
	ansi := sqlMode&modeANSIQuotes != 0
	noEscapes := sqlMode&modeNoBackslashEscapes != 0
	ended := false // a ";" was read outside quotes and comments
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f:
			return "a control byte outside a string, which the server and the client read differently"
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '\\':
			return "a backslash outside a string, which the client runs as a command"
		case c == '#' || c == '-' && i+1 < len(text) && text[i+1] == '-' && (i+2 == len(text) || isBlank(text[i+2])):
			j := bytes.IndexByte(text[i:], '\n')
			if j < 0 {
				return ""
			}
			if p := controlIn(text[i : i+j]); p != "" {
				return p
			}
			i += j + 1
			continue
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			if i+2 < len(text) && (text[i+2] == '!' || text[i+2] == 'M' && i+3 < len(text) && text[i+3] == '!') {
				return "a conditional comment, which the client reads as code whatever the server does with it"
			}
			j := bytes.Index(text[i+2:], []byte("*/"))
			if j < 0 {
				return "an unclosed comment"
			}
			if p := controlIn(text[i : i+2+j]); p != "" {
				return p
			}
			i += 2 + j + 2
			continue
		case c == '\'' || c == '"' || c == '`':
			name := c == '`' || c == '"' && ansi
			j, p := quoteEnd(text, i, !name && !noEscapes, noEscapes || c == '"' && ansi)
			if p != "" {
				return p
			}
			i = j
		case c == ';':
			ended = true
			i++
			continue
		default:
			i++
		}
		if ended && !compound {
			return "two statements in one (a ; before its end), which the client sends together"
		}
	}
	return ""
}

// quoteEnd returns where the quoted string or name at text[i] ends.
// escapes: a backslash escapes the byte after it; noBackslash: a backslash
// is refused.
func quoteEnd(text []byte, i int, escapes, noBackslash bool) (int, string) {
	q := text[i]
	for j := i + 1; j < len(text); j++ {
		switch c := text[j]; {
		case c == '\\' && noBackslash:
			return 0, "a backslash in a string or name where the session's sql_mode makes it a plain byte, which the client may read as an escape"
		case c == '\\' && escapes:
			j++
		case c == q:
			if j+1 < len(text) && text[j+1] == q {
				j++
				continue
			}
			return j + 1, ""
		}
	}
	return 0, "an unclosed quote"
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// controlIn refuses a control byte in a comment.
func controlIn(b []byte) string {
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			return "a control byte in a comment, which the server and the client read differently"
		}
	}
	return ""
}

// nameProblem says why a database or table name the tool would print is
// refused: the tool prints a table map's names raw in a comment line, where
// a newline would start a line the client runs.
func nameProblem(n string) string {
	for i := 0; i < len(n); i++ {
		if c := n[i]; c < 0x20 || c == 0x7f {
			return "its name holds a control byte, which the binary log tool prints raw into the client's input"
		}
	}
	return ""
}

// clientCharsets are the collation numbers, of MySQL 8 on and MariaDB
// 10.6 on, whose character set is utf8mb4, utf8mb3, latin1, ascii or
// binary: sets in which every byte below 0x80 is the ASCII character
// alone, so that a quote or a backslash never ends a character, and the
// gate, the client and the server read strings alike. (In gbk, big5,
// sjis, cp932 and gb18030 a backslash can be the second byte of one.)
var clientCharsets = [][2]uint16{
	{5, 5}, {8, 8}, {11, 11}, {15, 15}, {31, 31}, {33, 33}, {45, 49}, {63, 63}, {65, 65}, {76, 76}, {83, 83}, {94, 94},
	{192, 215}, {223, 247}, {255, 271}, {273, 275}, {277, 294}, {296, 298}, {300, 300}, {303, 323}, {576, 579},
	{608, 611}, {1032, 1032}, {1035, 1035}, {1057, 1057}, {1069, 1071}, {1089, 1089}, {1107, 1107}, {1216, 1216},
	{1238, 1238}, {1248, 1248}, {1270, 1270}, {2048, 2215}, {2232, 2247}, {2304, 2471}, {2488, 2503},
}

// clientCharset reports whether collation number id is of clientCharsets.
func clientCharset(id uint16) bool {
	for _, r := range clientCharsets {
		if id >= r[0] && id <= r[1] {
			return true
		}
	}
	return false
}

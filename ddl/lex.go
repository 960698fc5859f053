package ddl

import "strings"

// A minimal MySQL tokenizer. It is not a parser: it finds the leading keywords of a statement
// (so that BEGIN, GRANT or CREATE TRIGGER never reach the TiDB parser) and locates the few
// MariaDB-only words that the TiDB grammar rejects, so they can be rewritten. It understands
// what can hide a keyword: quoted strings and identifiers, and comments, treating the body of
// an executable comment (/*! ... */, /*M! ... */) as code as the server does.

type tokKind int

const (
	tkWord   tokKind = iota // unquoted identifier or keyword
	tkQuoted                // `identifier` (or "identifier" under ANSI_QUOTES)
	tkString                // 'string' (or "string")
	tkNumber                // digits, with at most one dot
	tkPunct                 // any other single byte
)

type token struct {
	kind       tokKind
	start, end int    // byte offsets in the statement
	upper      string // tkWord: the word in upper case; tkPunct: the byte
	depth      int    // parenthesis depth at the token (a '(' has the outer depth)
}

func (t token) is(words ...string) bool {
	if t.kind != tkWord {
		return false
	}
	for _, w := range words {
		if t.upper == w {
			return true
		}
	}
	return false
}

func (t token) punct(b byte) bool { return t.kind == tkPunct && t.upper[0] == b }

// lex returns up to max tokens of s (all of them when max <= 0).
func lex(s string, ansiQuotes bool, max int) []token {
	var out []token
	depth, inExec := 0, 0
	i := 0
	for i < len(s) && (max <= 0 || len(out) < max) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '#':
			i = skipLine(s, i)
		case c == '-' && i+1 < len(s) && s[i+1] == '-' && (i+2 == len(s) || s[i+2] <= ' '):
			i = skipLine(s, i)
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			switch {
			case i+2 < len(s) && s[i+2] == '!':
				i = skipVersion(s, i+3)
				inExec++
			case i+3 < len(s) && s[i+2] == 'M' && s[i+3] == '!':
				i = skipVersion(s, i+4)
				inExec++
			default:
				end := strings.Index(s[i+2:], "*/")
				if end < 0 {
					i = len(s)
				} else {
					i += 2 + end + 2
				}
			}
		case c == '*' && inExec > 0 && i+1 < len(s) && s[i+1] == '/':
			inExec--
			i += 2
		case c == '`' || (c == '"' && ansiQuotes):
			end := skipQuoted(s, i, c, false)
			out = append(out, token{kind: tkQuoted, start: i, end: end, depth: depth})
			i = end
		case c == '\'' || c == '"':
			end := skipQuoted(s, i, c, true)
			out = append(out, token{kind: tkString, start: i, end: end, depth: depth})
			i = end
		case isWordByte(c) || (c == '.' && i+1 < len(s) && isDigit(s[i+1]) && (len(out) == 0 || out[len(out)-1].kind != tkWord && out[len(out)-1].kind != tkQuoted)):
			j := i + 1
			for j < len(s) && (isWordByte(s[j]) || (s[j] == '.' && isDigit(c))) {
				j++
			}
			w := s[i:j]
			if isNumber(w) {
				out = append(out, token{kind: tkNumber, start: i, end: j, upper: w, depth: depth})
			} else {
				out = append(out, token{kind: tkWord, start: i, end: j, upper: strings.ToUpper(w), depth: depth})
			}
			i = j
		default:
			if c == ')' && depth > 0 {
				depth--
			}
			out = append(out, token{kind: tkPunct, start: i, end: i + 1, upper: string(c), depth: depth})
			if c == '(' {
				depth++
			}
			i++
		}
	}
	return out
}

func skipLine(s string, i int) int {
	if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(s)
}

// skipVersion skips the server version that may follow "/*!" (5 digits) or "/*M!" (6).
func skipVersion(s string, i int) int {
	j := i
	for j < len(s) && j < i+6 && isDigit(s[j]) {
		j++
	}
	return j
}

// skipQuoted returns the offset just past the quoted token starting at i. A doubled quote is
// part of the token; backslash escapes apply to strings only.
func skipQuoted(s string, i int, q byte, backslash bool) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if backslash {
				j++
			}
		case q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '_' || c == '$' || c >= 0x80
}

func isNumber(w string) bool {
	dots := 0
	for i := 0; i < len(w); i++ {
		switch {
		case w[i] == '.':
			dots++
		case !isDigit(w[i]):
			return false
		}
	}
	return dots <= 1 && w != "."
}

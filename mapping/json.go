package mapping

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// appendJSONString appends v as a JSON string. Unlike encoding/json it does not escape
// <, > and &, which no consumer needs; invalid UTF-8 becomes U+FFFD rather than an
// invalid document. The Elasticsearch documents and the events lines write text through it.
func appendJSONString(dst, v []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(v); {
		b := v[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, v[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(v[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, v[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, v[start:]...)
	return append(dst, '"')
}

// AppendJSONString appends s as a JSON string (invalid UTF-8 becomes U+FFFD).
func AppendJSONString(dst []byte, s string) []byte { return appendJSONString(dst, []byte(s)) }

// AppendJSONBytes appends v as a JSON string (invalid UTF-8 becomes U+FFFD).
func AppendJSONBytes(dst, v []byte) []byte { return appendJSONString(dst, v) }

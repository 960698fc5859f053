package mapping

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
)

// decoders maps MySQL character set names to decoders into UTF-8. MySQL's "latin1" is
// Windows-1252, not ISO-8859-1.
var decoders = map[string]encoding.Encoding{
	"latin1":   charmap.Windows1252,
	"latin2":   charmap.ISO8859_2,
	"latin5":   charmap.ISO8859_9,
	"latin7":   charmap.ISO8859_13,
	"cp1250":   charmap.Windows1250,
	"cp1251":   charmap.Windows1251,
	"cp1256":   charmap.Windows1256,
	"cp1257":   charmap.Windows1257,
	"cp850":    charmap.CodePage850,
	"cp852":    charmap.CodePage852,
	"cp866":    charmap.CodePage866,
	"koi8r":    charmap.KOI8R,
	"koi8u":    charmap.KOI8U,
	"greek":    charmap.ISO8859_7,
	"hebrew":   charmap.ISO8859_8,
	"macroman": charmap.Macintosh,
	"gbk":      simplifiedchinese.GBK,
	"gb2312":   simplifiedchinese.HZGB2312,
	"gb18030":  simplifiedchinese.GB18030,
	"big5":     traditionalchinese.Big5,
	"sjis":     japanese.ShiftJIS,
	"cp932":    japanese.ShiftJIS,
	"ujis":     japanese.EUCJP,
	"eucjpms":  japanese.EUCJP,
	"euckr":    korean.EUCKR,
	"ucs2":     unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM),
	"utf16":    unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM),
	"utf16le":  unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM),
}

// AppendUTF8 appends text stored in a column's character set as UTF-8, as the server
// converts it for a utf8mb4 session. The binary log carries the raw bytes of the column's
// charset (source.AppendBinlogValue converts them here); the snapshot's utf8mb4 session
// already returns UTF-8, so both paths give the same text.
func AppendUTF8(dst []byte, charset string, v []byte) ([]byte, error) {
	switch strings.ToLower(charset) {
	case "", "utf8mb4", "utf8mb3", "utf8", "ascii", "binary":
		return append(dst, v...), nil
	}
	enc, ok := decoders[strings.ToLower(charset)]
	if !ok {
		return dst, fmt.Errorf("character set %s is not supported", charset)
	}
	if isASCII(v) && !isUnicodeCharset(charset) { // UTF-16's bytes can all be below 0x80
		return append(dst, v...), nil
	}
	if strings.EqualFold(charset, "latin1") {
		return appendLatin1(dst, v), nil
	}
	out, err := enc.NewDecoder().Bytes(v)
	if err != nil {
		return dst, fmt.Errorf("decode %s text: %w", charset, err)
	}
	if !utf8.Valid(out) {
		return dst, fmt.Errorf("%s text did not decode to valid UTF-8", charset)
	}
	if !isUnicodeCharset(charset) {
		// Bytes without a character in Unicode: the server converts them to '?' for the
		// utf8mb4 session, so the stream does the same (cp1251's 0x98, say).
		out = bytes.ReplaceAll(out, []byte("\uFFFD"), []byte("?"))
	}
	return append(dst, out...), nil
}

// appendLatin1 decodes MySQL's latin1, which is Windows-1252 with the five bytes that
// code page leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) mapped to the C1 controls of
// the same number, as the server converts them.
func appendLatin1(dst, v []byte) []byte {
	for _, b := range v {
		if b < 0x80 {
			dst = append(dst, b)
			continue
		}
		r := latin1Runes[b-0x80]
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

var latin1Runes = func() (t [128]rune) {
	dec := charmap.Windows1252
	for i := range t {
		b := byte(0x80 + i)
		r := dec.DecodeByte(b)
		if r == utf8.RuneError {
			r = rune(b)
		}
		t[i] = r
	}
	return t
}()

func isUnicodeCharset(charset string) bool {
	switch strings.ToLower(charset) {
	case "ucs2", "utf16", "utf16le", "utf32":
		return true
	}
	return false
}

func isASCII(v []byte) bool {
	for _, b := range v {
		if b >= 0x80 {
			return false
		}
	}
	return true
}

// SupportedCharset reports whether text in charset can be converted to UTF-8.
func SupportedCharset(charset string) bool {
	switch strings.ToLower(charset) {
	case "", "utf8mb4", "utf8mb3", "utf8", "ascii", "binary":
		return true
	}
	_, ok := decoders[strings.ToLower(charset)]
	return ok
}

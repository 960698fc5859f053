package source

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

// AppendBinlogValue appends the canonical form (see change.Row) of a value decoded from a
// row event by go-mysql, for column c. It reports null for SQL NULL. This is where the
// binary encoding is brought to what a SELECT shows, so snapshot and stream agree (the
// character set conversion and the float forms are mapping's, the rules a SELECT follows):
// unsigned integers arrive as signed bits, ENUM and SET as numbers, BIT as an integer,
// text as bytes in the column's character set, BINARY(n) without its zero padding.
func AppendBinlogValue(dst []byte, c *schema.Column, v any) (out []byte, null bool, err error) {
	switch x := v.(type) {
	case nil:
		return dst, true, nil
	case int8:
		if c.Unsigned {
			return strconv.AppendUint(dst, uint64(uint8(x)), 10), false, nil
		}
		return strconv.AppendInt(dst, int64(x), 10), false, nil
	case int16:
		if c.Unsigned {
			return strconv.AppendUint(dst, uint64(uint16(x)), 10), false, nil
		}
		return strconv.AppendInt(dst, int64(x), 10), false, nil
	case int32:
		if c.Unsigned {
			u := uint64(uint32(x))
			if c.DataType == "mediumint" {
				u &= 0xFFFFFF
			}
			return strconv.AppendUint(dst, u, 10), false, nil
		}
		return strconv.AppendInt(dst, int64(x), 10), false, nil
	case int64:
		switch c.DataType {
		case "bit":
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], uint64(x))
			n := (max(c.Precision, 1) + 7) / 8
			return append(dst, b[8-n:]...), false, nil
		case "enum":
			if x == 0 {
				return dst, false, nil // MySQL's empty "invalid value" member
			}
			if x < 0 || x > int64(len(c.Elems)) {
				return dst, false, fmt.Errorf("column %s: ENUM index %d beyond the %d known members (schema out of date?)", c.Name, x, len(c.Elems))
			}
			return append(dst, c.Elems[x-1]...), false, nil
		case "set":
			if len(c.Elems) < 64 && uint64(x)>>uint(len(c.Elems)) != 0 {
				return dst, false, fmt.Errorf("column %s: SET value %#x has members beyond the %d known (schema out of date?)", c.Name, uint64(x), len(c.Elems))
			}
			first := true
			for i, e := range c.Elems {
				if uint64(x)&(1<<uint(i)) == 0 {
					continue
				}
				if !first {
					dst = append(dst, ',')
				}
				dst = append(dst, e...)
				first = false
			}
			return dst, false, nil
		}
		if c.Unsigned {
			return strconv.AppendUint(dst, uint64(x), 10), false, nil
		}
		return strconv.AppendInt(dst, x, 10), false, nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), false, nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), false, nil
	case float32:
		return mapping.AppendFloat32(dst, c, x), false, nil
	case float64:
		return mapping.AppendFloat64(dst, c, x), false, nil
	case string:
		if c.FracDigits > 0 && (c.DataType == "time" || c.DataType == "datetime" || c.DataType == "timestamp") {
			return appendFraction(dst, x, c.FracDigits), false, nil
		}
		return appendBinlogBytes(dst, c, []byte(x))
	case []byte:
		return appendBinlogBytes(dst, c, x)
	}
	return dst, false, fmt.Errorf("column %s: unexpected binlog value type %T", c.Name, v)
}

func appendBinlogBytes(dst []byte, c *schema.Column, v []byte) ([]byte, bool, error) {
	switch c.DataType {
	case "char":
		// A SELECT strips CHAR's trailing pad spaces; the row image may keep them. They are
		// stripped after decoding, as a pad space is not one byte in every charset (UCS2).
		start := len(dst)
		out, err := mapping.AppendUTF8(dst, c.Charset, v)
		if err != nil {
			return dst, false, fmt.Errorf("column %s: %w", c.Name, err)
		}
		return trimPadSpaces(out, start), false, nil
	case "json":
		if len(v) == 0 {
			// MySQL's binary JSON is empty after INSERT IGNORE of NULL into NOT NULL;
			// MySQL reads it as the JSON null literal.
			return append(dst, "null"...), false, nil
		}
	case "inet6":
		return appendInet6(dst, padZero(v, 16)), false, nil
	case "inet4":
		v = padZero(v, 4)
		return fmt.Appendf(dst, "%d.%d.%d.%d", v[0], v[1], v[2], v[3]), false, nil
	case "uuid":
		return appendUUID(dst, padZero(v, 16)), false, nil
	case "binary":
		// The row image drops BINARY(n)'s trailing zero bytes; a SELECT shows them.
		dst = append(dst, v...)
		for i := int64(len(v)); i < c.CharLength; i++ {
			dst = append(dst, 0)
		}
		return dst, false, nil
	}
	if c.Charset != "" && isTextType(c.DataType) {
		out, err := mapping.AppendUTF8(dst, c.Charset, v)
		if err != nil {
			return dst, false, fmt.Errorf("column %s: %w", c.Name, err)
		}
		return out, false, nil
	}
	return append(dst, v...), false, nil
}

// trimPadSpaces strips the trailing spaces of the value that begins at start of out.
func trimPadSpaces(out []byte, start int) []byte {
	return out[:start+len(bytes.TrimRight(out[start:], " "))]
}

func isTextType(dt string) bool {
	switch dt {
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set":
		return true
	}
	return false
}

// appendFraction writes a temporal value with exactly digits fractional digits, as a
// SELECT shows it: go-mysql leaves out a zero fraction of TIME(n) ("12:00:00" for
// "12:00:00.00").
func appendFraction(dst []byte, v string, digits int) []byte {
	dot := strings.LastIndexByte(v, '.')
	if dot < 0 {
		dst = append(dst, v...)
		dst = append(dst, '.')
		for i := 0; i < digits; i++ {
			dst = append(dst, '0')
		}
		return dst
	}
	dst = append(dst, v...)
	for i := len(v) - dot - 1; i < digits; i++ {
		dst = append(dst, '0')
	}
	return dst
}

// padZero restores the trailing zero bytes a fixed-size binary row image leaves out.
func padZero(v []byte, n int) []byte {
	if len(v) >= n {
		return v[:n]
	}
	out := make([]byte, n)
	copy(out, v)
	return out
}

// appendInet6 writes a MariaDB INET6 value (16 bytes, network order) as MariaDB prints it,
// which is not quite RFC 5952: the longest run of zero groups (the first of equal ones) is
// "::" even when it is a single group; an address whose first 80 bits are zero and whose
// next 16 are 0 or ffff ends in dotted IPv4 when the IPv4 part's upper 16 bits are not
// zero (::1.2.3.4) or when the address is IPv4-mapped (::ffff:0.0.0.0); lower-case hex.
func appendInet6(dst, v []byte) []byte {
	var w [8]uint16
	for i := range w {
		w[i] = binary.BigEndian.Uint16(v[2*i:])
	}
	groups := 8
	if w[0] == 0 && w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && (w[5] == 0xffff || w[5] == 0 && w[6] != 0) {
		groups = 6
	}
	best, bestLen := -1, 0
	for i := 0; i < groups; {
		if w[i] != 0 {
			i++
			continue
		}
		j := i
		for j < groups && w[j] == 0 {
			j++
		}
		if j-i > bestLen {
			best, bestLen = i, j-i
		}
		i = j
	}
	for i := 0; i < groups; i++ {
		if i == best {
			dst = append(dst, "::"...)
			i += bestLen - 1
			continue
		}
		if i > 0 && i != best+bestLen {
			dst = append(dst, ':')
		}
		dst = strconv.AppendUint(dst, uint64(w[i]), 16)
	}
	if groups == 6 {
		if best+bestLen != 6 {
			dst = append(dst, ':')
		}
		dst = fmt.Appendf(dst, "%d.%d.%d.%d", v[12], v[13], v[14], v[15])
	}
	return dst
}

// appendUUID writes a MariaDB UUID value as a SELECT shows it. The row image holds the
// record format, in which MariaDB stores an RFC 4122 time-based UUID (version 1-5 nibble and
// variant 10xx) with its groups swapped for index locality: nnnnnnnnnnnn-vsss-Vhhh-mmmm-llllllll
// for llllllll-mmmm-Vhhh-vsss-nnnnnnnnnnnn; other values are stored as they read.
func appendUUID(dst, v []byte) []byte {
	u := v
	// The record format starts with the node (bytes 10-15 of the value), then the variant
	// group whose top bits are 10, then the version group.
	if v[6]&0x80 == 0x80 && v[6]&0x40 == 0 && v[8]>>4 >= 1 && v[8]>>4 <= 5 {
		u = make([]byte, 16)
		copy(u[0:4], v[12:16]) // llllllll
		copy(u[4:6], v[10:12]) // mmmm
		copy(u[6:8], v[8:10])  // Vhhh
		copy(u[8:10], v[6:8])  // vsss
		copy(u[10:16], v[0:6]) // nnnnnnnnnnnn
	}
	const hexd = "0123456789abcdef"
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexd[b>>4], hexd[b&15])
	}
	return dst
}

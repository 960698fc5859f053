package mapping

import (
	"math"
	"strconv"
	"strings"

	"github.com/replicator/replicator/schema"
)

// AppendFloat32 appends the canonical text of a FLOAT value read from the binary log: the
// number a SELECT shows, in the form the snapshot gives that text (parsed, then written as
// the shortest text of the nearest float32). A SELECT does not show the stored float32
// exactly: MySQL and MariaDB print a FLOAT with 6 significant digits (FLT_DIG:
// 123456789 is stored as 123456792 and shown as 123457000, 3.4028234e38 as 3.40282e38),
// and a FLOAT(M,D) with D decimals. Both paths so give the same value; see the README's
// type table.
func AppendFloat32(dst []byte, c *schema.Column, x float32) []byte {
	f := float64(x)
	if f == 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return appendFloatSpecial(dst, f, 32)
	}
	var buf [64]byte
	var shown []byte
	if d, ok := floatDecimals(c); ok {
		shown = strconv.AppendFloat(buf[:0], f, 'f', d, 64)
	} else {
		shown = strconv.AppendFloat(buf[:0], f, 'e', 5, 64)
	}
	v, err := strconv.ParseFloat(string(shown), 64)
	if err != nil || v == 0 {
		return appendFloatSpecial(dst, v, 32)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 32)
}

// AppendFloat64 appends the canonical text of a DOUBLE value read from the binary log. A
// SELECT shows a DOUBLE with the shortest digits that read back as the same value (so the
// snapshot's parse and print give the stored value), and a DOUBLE(M,D) with D decimals.
func AppendFloat64(dst []byte, c *schema.Column, x float64) []byte {
	if x == 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return appendFloatSpecial(dst, x, 64)
	}
	if d, ok := floatDecimals(c); ok {
		var buf [400]byte
		shown := strconv.AppendFloat(buf[:0], x, 'f', d, 64)
		v, err := strconv.ParseFloat(string(shown), 64)
		if err != nil || v == 0 {
			return appendFloatSpecial(dst, v, 64)
		}
		x = v
	}
	return strconv.AppendFloat(dst, x, 'g', -1, 64)
}

// appendFloatSpecial writes zero as "0" (a SELECT shows a stored -0 as 0) and, for
// completeness, infinities and NaN, which MySQL never stores.
func appendFloatSpecial(dst []byte, f float64, bits int) []byte {
	if f == 0 {
		return append(dst, '0')
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

// floatDecimals returns D of a FLOAT(M,D) or DOUBLE(M,D) column, from its column type.
func floatDecimals(c *schema.Column) (int, bool) {
	ct := c.ColumnType
	open := strings.IndexByte(ct, '(')
	if open < 0 {
		return 0, false
	}
	comma := strings.IndexByte(ct[open:], ',')
	if comma < 0 {
		return 0, false
	}
	rest := ct[open+comma+1:]
	end := strings.IndexByte(rest, ')')
	if end < 0 {
		return 0, false
	}
	d, err := strconv.Atoi(strings.TrimSpace(rest[:end]))
	if err != nil || d < 0 || d >= 31 { // 31 and more: no fixed decimals (NOT_FIXED_DEC)
		return 0, false
	}
	return d, true
}

package verify

import (
	"bytes"
	"encoding/json"
	"math/big"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// pgNormalize brings a value in PostgreSQL's text input or output form for a column of
// type typ (as pgvalue.Type names it) to one comparison form, so that the text the
// encoder produced for a source value and the text PostgreSQL prints for the stored value
// are equal exactly when the stored value is right. It undoes what PostgreSQL normalises
// on input: leading zeros of integers (YEAR "0000"), float formatting, trailing zeros of
// fractional seconds, the "+00" of timestamptz in a UTC session, boolean spellings, the
// case of hex EWKB, and JSON formatting.
func pgNormalize(typ string, v []byte) []byte {
	switch {
	case typ == "smallint" || typ == "integer" || typ == "bigint":
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return strconv.AppendInt(v[:0:0], n, 10)
		}
	case typ == "real":
		if f, err := strconv.ParseFloat(string(v), 32); err == nil {
			return strconv.AppendFloat(nil, f, 'g', -1, 32)
		}
	case typ == "double precision":
		if f, err := strconv.ParseFloat(string(v), 64); err == nil {
			return strconv.AppendFloat(nil, f, 'g', -1, 64)
		}
	case strings.HasPrefix(typ, "timestamp"):
		s := string(v)
		if strings.HasSuffix(typ, "with time zone") {
			s = strings.TrimSuffix(strings.TrimSuffix(s, "+00:00"), "+00")
		}
		return []byte(trimFraction(s))
	case strings.HasPrefix(typ, "interval"):
		return []byte(trimFraction(string(v)))
	case typ == "boolean":
		switch strings.ToLower(string(v)) {
		case "t", "true", "1", "y", "yes", "on":
			return []byte("t")
		case "f", "false", "0", "n", "no", "off":
			return []byte("f")
		}
	case strings.HasPrefix(typ, "geometry"):
		// Hex EWKB; PostGIS prints it in upper case.
		return bytes.ToLower(v)
	case typ == "jsonb":
		if c, ok := canonicalJSON(v); ok {
			return c
		}
	case typ == "inet":
		// MariaDB's INET6 text ("1::1:1:1:1:1:1") and PostgreSQL's ("1:0:1:1:1:1:1:1/128"
		// from ::text) name one address.
		s := string(v)
		if p, err := netip.ParsePrefix(s); err == nil && p.Bits() == p.Addr().BitLen() {
			return []byte(p.Addr().String())
		}
		if a, err := netip.ParseAddr(s); err == nil {
			return []byte(a.String())
		}
	}
	return v
}

// trimFraction drops trailing zeros of fractional seconds ("12:00:00.500" -> "12:00:00.5",
// "12:00:00.000" -> "12:00:00"), as PostgreSQL prints them.
func trimFraction(s string) string {
	dot := strings.LastIndexByte(s, '.')
	if dot < 0 || strings.LastIndexByte(s, ':') > dot {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// canonicalJSON re-renders a JSON text with sorted object keys, no insignificant space and
// numbers in a normal form, so that two texts of the same JSON value are equal.
func canonicalJSON(v []byte) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, false
	}
	return appendCanonical(nil, x), true
}

// appendCanonical appends a decoded JSON value (numbers as json.Number) in canonical form.
func appendCanonical(dst []byte, x any) []byte {
	switch v := x.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		return strconv.AppendBool(dst, v)
	case json.Number:
		return append(dst, canonicalNumber(v.String())...)
	case string:
		b, _ := json.Marshal(v)
		return append(dst, b...)
	case []any:
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendCanonical(dst, e)
		}
		return append(dst, ']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			b, _ := json.Marshal(k)
			dst = append(append(dst, b...), ':')
			dst = appendCanonical(dst, v[k])
		}
		return append(dst, '}')
	}
	b, _ := json.Marshal(x)
	return append(dst, b...)
}

// canonicalNumber renders a JSON number by its value: integers exactly, others as the
// shortest text of the nearest float64 ("1.50" and "1.5" and "15e-1" are one number).
func canonicalNumber(s string) string {
	if !strings.ContainsAny(s, ".eE") {
		if n, ok := new(big.Int).SetString(s, 10); ok {
			return n.String()
		}
		return s
	}
	if r, ok := new(big.Rat).SetString(s); ok && r.IsInt() {
		return r.Num().String()
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return s
}

// unescapeCopy undoes COPY text escaping of one field ("\N" is handled by the caller).
func unescapeCopy(v []byte) []byte {
	if bytes.IndexByte(v, '\\') < 0 {
		return v
	}
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' || i+1 == len(v) {
			out = append(out, v[i])
			continue
		}
		i++
		switch v[i] {
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		default:
			out = append(out, v[i])
		}
	}
	return out
}

package filter

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// kind is a value's evaluation type, as MySQL classifies the arguments of a comparison.
type kind uint8

const (
	kNull  kind = iota
	kExact      // integer or DECIMAL: an exact rational with a scale
	kFloat      // FLOAT, DOUBLE, or a literal with an exponent
	kStr        // a string with its collation
	kTime       // DATE, DATETIME, TIMESTAMP as "YYYY-MM-DD HH:MM:SS.ffffff"; TIME as microseconds in num
)

// coll is how strings compare: the column's collation, simplified (see README).
type coll struct {
	binary bool // byte comparison (binary strings and _bin collations)
	raw    bool // a binary string (charset binary): LOWER/UPPER leave it, lengths in bytes
	ci     bool // case-insensitive
	ai     bool // accent-insensitive
	pad    bool // trailing spaces ignored (PAD SPACE collations) in = and <
	// coercible marks a literal's collation, which yields to a column's.
	coercible bool
}

// literalColl is the collation of string literals (utf8mb4's default, case- and
// accent-insensitive with PAD SPACE, as general_ci and unicode_ci are).
var literalColl = coll{ci: true, ai: true, pad: true, coercible: true}

// collOf derives the comparison of a column's collation from its name.
func collOf(charset, collation string) coll {
	c := strings.ToLower(collation)
	if charset == "binary" || c == "binary" {
		return coll{binary: true, raw: true}
	}
	nopad := strings.Contains(c, "0900") || strings.Contains(c, "nopad")
	if strings.HasSuffix(c, "_bin") {
		return coll{binary: true, pad: !nopad}
	}
	cs := strings.HasSuffix(c, "_cs")
	as := strings.Contains(c, "_as_") || strings.HasSuffix(c, "_as_cs")
	return coll{ci: !cs, ai: !cs && !as, pad: !nopad}
}

// value is one evaluated value.
type value struct {
	k     kind
	num   *big.Rat // kExact; TIME in microseconds
	scale int      // kExact: fraction digits
	f     float64  // kFloat
	s     string   // kStr; kTime (DATE/DATETIME)
	isDur bool     // kTime holding a TIME (num)
	date  bool     // kTime from a DATE column
	c     coll     // kStr
}

var null = value{}

func exact(r *big.Rat, scale int) value { return value{k: kExact, num: r, scale: scale} }
func float(f float64) value             { return value{k: kFloat, f: f} }
func str(s string, c coll) value        { return value{k: kStr, s: s, c: c} }
func integer(n int64) value             { return exact(new(big.Rat).SetInt64(n), 0) }
func boolean(b bool) value {
	if b {
		return integer(1)
	}
	return integer(0)
}

// parseExact reads decimal text ("-12.340") as an exact value.
func parseExact(s string) (value, bool) {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return null, false
	}
	scale := 0
	if i := strings.IndexByte(s, '.'); i >= 0 {
		scale = len(s) - i - 1
	}
	return exact(r, scale), true
}

// toFloat converts as MySQL does in a numeric context: strings by their longest numeric
// prefix (after leading spaces; "1e2x" is 100, "abc" is 0), temporal values as numbers.
func (v value) toFloat() float64 {
	switch v.k {
	case kExact:
		f, _ := v.num.Float64()
		return f
	case kFloat:
		return v.f
	case kStr:
		return prefixFloat(v.s)
	case kTime:
		return v.timeNumber().toFloat()
	}
	return 0
}

// prefixFloat is MySQL's string to double conversion.
func prefixFloat(s string) float64 {
	s = strings.TrimLeft(s, " \t\n\r\v\f")
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i, digits = i+1, digits+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return 0
	}
	end := i
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k > j {
			end = k
		}
	}
	f, err := strconv.ParseFloat(s[:end], 64)
	if err != nil {
		// Out of range: ParseFloat returns ±Inf with the error; MySQL clamps likewise.
		if math.IsInf(f, 0) {
			return math.Copysign(math.MaxFloat64, f)
		}
		return 0
	}
	return f
}

// timeNumber renders a temporal value as MySQL does in a numeric context
// (20240131, 20240131102030.5, 102030 for a TIME).
func (v value) timeNumber() value {
	if v.isDur {
		us := new(big.Int).Quo(v.num.Num(), v.num.Denom())
		neg := us.Sign() < 0
		u := new(big.Int).Abs(us).Int64()
		h, m, sec, frac := u/3600e6, u/60e6%60, u/1e6%60, u%1e6
		out, _ := parseExact(strconv.FormatInt(h*10000+m*100+sec, 10) + "." + leftPad(strconv.FormatInt(frac, 10), 6))
		if neg {
			out.num.Neg(out.num)
		}
		return out
	}
	digits := strings.NewReplacer("-", "", " ", "", ":", "").Replace(v.s)
	if v.date {
		digits = digits[:8]
	} else {
		digits = strings.TrimSuffix(strings.TrimRight(digits, "0"), ".")
		if len(digits) < 14 {
			digits = v.s[:4] + v.s[5:7] + v.s[8:10] + v.s[11:13] + v.s[14:16] + v.s[17:19]
		}
	}
	out, _ := parseExact(digits)
	return out
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// text renders a value as a string, as MySQL does in a string context.
func (v value) text() string {
	switch v.k {
	case kExact:
		return v.num.FloatString(v.scale)
	case kFloat:
		return formatDouble(v.f)
	case kStr:
		return v.s
	case kTime:
		if v.isDur {
			return durText(v.num)
		}
		if v.date {
			return v.s[:10]
		}
		return strings.TrimSuffix(v.s, ".000000")
	}
	return ""
}

func formatDouble(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	return strings.Replace(s, "e+", "e", 1)
}

func durText(us *big.Rat) string {
	n := new(big.Int).Quo(us.Num(), us.Denom()).Int64()
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	s := sign + leftPad(strconv.FormatInt(n/3600e6, 10), 2) + ":" + leftPad(strconv.FormatInt(n/60e6%60, 10), 2) + ":" +
		leftPad(strconv.FormatInt(n/1e6%60, 10), 2)
	if f := n % 1e6; f != 0 {
		s += "." + leftPad(strconv.FormatInt(f, 10), 6)
	}
	return s
}

// truth is a value as a condition: ok is false for NULL.
func truth(v value) (t, ok bool) {
	switch v.k {
	case kNull:
		return false, false
	case kExact:
		return v.num.Sign() != 0, true
	case kTime:
		return v.toFloat() != 0, true
	}
	return v.toFloat() != 0, true
}

// sortKey is a string as its collation compares it.
func sortKey(s string, c coll, trim bool) string {
	if trim && c.pad {
		s = strings.TrimRight(s, " ")
	}
	if c.binary {
		return s
	}
	if c.ci {
		s = strings.ToLower(s)
	}
	if c.ai {
		s = stripMarks(s)
	}
	return s
}

// stripMarks removes combining marks after canonical decomposition ("é" to "e").
func stripMarks(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	d := norm.NFD.String(s)
	var b strings.Builder
	for _, r := range d {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// pickColl is the collation of a comparison of a and b: a column's wins over a literal's.
func pickColl(a, b coll) coll {
	if a.binary || b.binary {
		return coll{binary: true, pad: a.pad && b.pad}
	}
	if a.coercible && !b.coercible {
		return b
	}
	return a
}

// parseDateTime reads a date or datetime string in MySQL's delimited form
// ("2024-01-31", "2024-01-31 10:20:30.5", also with 'T') into the canonical
// "YYYY-MM-DD HH:MM:SS.ffffff".
func parseDateTime(s string) (string, bool) {
	s = strings.TrimSpace(s)
	date, clock, hasClock := strings.Cut(s, " ")
	if !hasClock {
		date, clock, hasClock = strings.Cut(s, "T")
	}
	ymd := strings.Split(date, "-")
	if len(ymd) != 3 {
		return "", false
	}
	y, e1 := strconv.Atoi(ymd[0])
	mo, e2 := strconv.Atoi(ymd[1])
	d, e3 := strconv.Atoi(ymd[2])
	if e1 != nil || e2 != nil || e3 != nil || y < 0 || y > 9999 || mo < 0 || mo > 12 || d < 0 || d > 31 {
		return "", false
	}
	h, mi, sec, frac := 0, 0, 0, "000000"
	if hasClock {
		main, f, hasFrac := strings.Cut(clock, ".")
		hms := strings.Split(main, ":")
		if len(hms) < 2 || len(hms) > 3 {
			return "", false
		}
		var err error
		if h, err = strconv.Atoi(hms[0]); err != nil || h > 23 {
			return "", false
		}
		if mi, err = strconv.Atoi(hms[1]); err != nil || mi > 59 {
			return "", false
		}
		if len(hms) == 3 {
			if sec, err = strconv.Atoi(hms[2]); err != nil || sec > 59 {
				return "", false
			}
		}
		if hasFrac {
			if len(f) == 0 || len(f) > 6 || strings.Trim(f, "0123456789") != "" {
				return "", false
			}
			frac = f + strings.Repeat("0", 6-len(f))
		}
	}
	return leftPad(strconv.Itoa(y), 4) + "-" + leftPad(strconv.Itoa(mo), 2) + "-" + leftPad(strconv.Itoa(d), 2) + " " +
		leftPad(strconv.Itoa(h), 2) + ":" + leftPad(strconv.Itoa(mi), 2) + ":" + leftPad(strconv.Itoa(sec), 2) + "." + frac, true
}

// parseDuration reads a TIME value ("-838:59:59.5", "10:20", "10:20:30") as microseconds.
func parseDuration(s string) (*big.Rat, bool) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	main, f, hasFrac := strings.Cut(s, ".")
	hms := strings.Split(main, ":")
	if len(hms) < 2 || len(hms) > 3 {
		return nil, false
	}
	var parts [3]int64
	for i, p := range hms {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 || (i > 0 && n > 59) {
			return nil, false
		}
		parts[i] = n
	}
	us := (parts[0]*3600 + parts[1]*60 + parts[2]) * 1e6
	if hasFrac {
		if len(f) == 0 || len(f) > 6 || strings.Trim(f, "0123456789") != "" {
			return nil, false
		}
		n, _ := strconv.ParseInt(f+strings.Repeat("0", 6-len(f)), 10, 64)
		us += n
	}
	if neg {
		us = -us
	}
	return new(big.Rat).SetInt64(us), true
}

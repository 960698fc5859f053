package esdoc

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/transform"
)

// Encoder turns canonical rows into Elasticsearch documents (JSON objects) and document
// ids for one table version's replicated columns. It is compiled once per table version
// and shared by the snapshot and the stream, so both write identical documents.
type Encoder struct {
	cols  []*schema.Column
	kinds []esKind
	names [][]byte // `"name":` with the leading comma for all but the first
	src   []int    // where each column's value is in the row handed in
	key   []int    // where each key column's value is in the row handed in
	keyC  []*schema.Column
	pol   mapping.Policy
	// view is the rule's column transforms (NewViewEncoder), nil for none: rows handed
	// in are source rows, which it turns into the view's rows (documents) and keys (ids)
	// first; src and key then index those. projected marks rows of the travelling
	// columns only (Projected).
	view      *transform.View
	projected bool
}

// NewEncoder compiles an encoder under the rules of p for columns cols of t, reading full
// rows (every column of t, as the binary log delivers them).
func NewEncoder(p mapping.Policy, t *schema.Table, cols []int, o Options) *Encoder {
	e := &Encoder{src: append([]int(nil), cols...), key: append([]int(nil), t.Key...), pol: p}
	for i, ci := range cols {
		c := &t.Columns[ci]
		e.cols = append(e.cols, c)
		e.kinds = append(e.kinds, esKindOf(p, c, o))
		name := []byte{}
		if i > 0 {
			name = append(name, ',')
		}
		name = mapping.AppendJSONBytes(name, []byte(c.Name))
		e.names = append(e.names, append(name, ':'))
	}
	for _, k := range t.Key {
		e.keyC = append(e.keyC, &t.Columns[k])
	}
	return e
}

// NewViewEncoder compiles an encoder of the target view v of a table version (a rule's
// rename, hash and metadata; route.Route.View) under the rules of p, reading full source
// rows of the definition. Its documents hold the view's fields: renamed columns under
// their target names, hashed ones as their hash (a keyword of 64 hex digits), the
// metadata fields last, made of the row's Origin. Its _id is made of the view's key, a
// hashed key column as its hash, by the rules of AppendID, so the snapshot, the stream,
// an online copy, a delete and verify find one document for one source row.
func NewViewEncoder(p mapping.Policy, v *transform.View, o Options) *Encoder {
	cols := make([]int, len(v.Table.Columns))
	for i := range cols {
		cols[i] = i
	}
	e := NewEncoder(p, v.Table, cols, o)
	e.view = v
	// AppendID encodes the key row View.Key makes: the key columns in order.
	for i := range e.key {
		e.key[i] = i
	}
	return e
}

// Projected returns an encoder for rows that hold only the replicated columns, in order
// (as the snapshot reads them). Every key column must be replicated.
func (e *Encoder) Projected() *Encoder {
	p := *e
	if e.view != nil {
		// The view takes the projected row apart itself (View.Full, View.Selected).
		p.projected = true
		return &p
	}
	p.src = make([]int, len(e.src))
	for i := range p.src {
		p.src[i] = i
	}
	p.key = make([]int, len(e.key))
	for i, k := range e.key {
		p.key[i] = -1
		for j, s := range e.src {
			if s == k {
				p.key[i] = j
			}
		}
	}
	return &p
}

// AppendDoc appends the JSON document of row, written by the transaction o (or read by
// a copy at o.GTID): the encoder's metadata fields show it (NewViewEncoder); an encoder
// without them ignores it. NULL is written as null, so _source shows every replicated
// column.
func (e *Encoder) AppendDoc(dst []byte, row change.Row, o change.Origin) ([]byte, error) {
	return e.AppendPreparedDoc(dst, e.Prepare(row, o))
}

// Prepared is a row made ready for AppendPreparedID and AppendPreparedDoc once: under
// column transforms the view's row, so a hashed column (a hashed key too) is hashed once
// for both the _id and the document.
type Prepared struct {
	row    change.Row
	viewed bool // row is the view's row (Encoder.view set)
}

// Prepare makes row, written by o, ready for the encoder's _id and document.
func (e *Encoder) Prepare(row change.Row, o change.Origin) Prepared {
	if e.view == nil {
		return Prepared{row: row}
	}
	if e.projected {
		return Prepared{row: e.view.Selected(row, o), viewed: true}
	}
	return Prepared{row: e.view.Row(row, o), viewed: true}
}

// AppendPreparedID is AppendID of a prepared row.
func (e *Encoder) AppendPreparedID(dst []byte, p Prepared) ([]byte, error) {
	if !p.viewed {
		return e.appendID(dst, p.row)
	}
	keys := make(change.Row, len(e.view.Table.Key))
	for i, k := range e.view.Table.Key {
		keys[i] = p.row[k]
	}
	return e.appendID(dst, keys)
}

// AppendPreparedDoc is AppendDoc of a prepared row.
func (e *Encoder) AppendPreparedDoc(dst []byte, p Prepared) ([]byte, error) {
	row := p.row
	dst = append(dst, '{')
	for i, s := range e.src {
		dst = append(dst, e.names[i]...)
		v := row[s]
		if v == nil {
			dst = append(dst, "null"...)
			continue
		}
		var err error
		if dst, err = e.appendValue(dst, i, v); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

func (e *Encoder) appendValue(dst []byte, i int, v []byte) ([]byte, error) {
	c := e.cols[i]
	switch e.kinds[i] {
	case esNumber:
		if !jsonNumber(v) {
			return dst, &mapping.ValueError{Column: c.Name, Reason: fmt.Sprintf("%q is not a number", v)}
		}
		return append(dst, v...), nil
	case esYear:
		n, err := strconv.ParseUint(string(v), 10, 16)
		if err != nil {
			return dst, &mapping.ValueError{Column: c.Name, Reason: fmt.Sprintf("%q is not a year", v)}
		}
		return strconv.AppendUint(dst, n, 10), nil
	case esString:
		if !utf8.Valid(v) {
			return dst, &mapping.ValueError{Column: c.Name, Reason: "text is not valid UTF-8"}
		}
		return mapping.AppendJSONBytes(dst, v), nil
	case esSet:
		if !utf8.Valid(v) {
			return dst, &mapping.ValueError{Column: c.Name, Reason: "text is not valid UTF-8"}
		}
		// MySQL's SET members cannot contain commas, so the text splits unambiguously;
		// the empty set is an empty array.
		dst = append(dst, '[')
		if len(v) > 0 {
			start := 0
			for j := 0; j <= len(v); j++ {
				if j < len(v) && v[j] != ',' {
					continue
				}
				if start > 0 {
					dst = append(dst, ',')
				}
				dst = mapping.AppendJSONBytes(dst, v[start:j])
				start = j + 1
			}
		}
		return append(dst, ']'), nil
	case esBinary:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, v)
		return append(dst, '"'), nil
	case esBits, esBitsText:
		if len(v) > 8 {
			return dst, &mapping.ValueError{Column: c.Name, Reason: fmt.Sprintf("BIT value of %d bytes", len(v))}
		}
		var n uint64
		for _, b := range v {
			n = n<<8 | uint64(b)
		}
		if e.kinds[i] == esBitsText {
			dst = append(dst, '"')
			dst = strconv.AppendUint(dst, n, 10)
			return append(dst, '"'), nil
		}
		return strconv.AppendUint(dst, n, 10), nil
	case esJSON:
		if len(v) == 0 {
			// MySQL's empty binary JSON, which MySQL reads as the JSON null literal.
			return append(dst, "null"...), nil
		}
		// MySQL prints JSON values as valid JSON text; an invalid one would make the whole
		// bulk request unreadable, so it is checked rather than trusted.
		if !json.Valid(v) {
			return dst, &mapping.ValueError{Column: c.Name, Reason: "JSON value is not valid JSON text"}
		}
		return append(dst, v...), nil
	case esBool:
		if mapping.IsZeroNumber(v) {
			return append(dst, "false"...), nil
		}
		if !jsonNumber(v) {
			return dst, &mapping.ValueError{Column: c.Name, Reason: fmt.Sprintf("%q is not a number", v)}
		}
		return append(dst, "true"...), nil
	case esDate:
		if e.pol.ZeroDateNull(c) && mapping.ZeroDate(v) {
			return append(dst, "null"...), nil
		}
		if !utf8.Valid(v) {
			return dst, &mapping.ValueError{Column: c.Name, Reason: "text is not valid UTF-8"}
		}
		return mapping.AppendJSONBytes(dst, v), nil
	}
	return dst, fmt.Errorf("column %s: unknown encoding", c.Name)
}

// MaxIDBytes is Elasticsearch's limit on the length of a document _id.
const MaxIDBytes = 512

// IDEscape begins every _id that is not the plain key text (see AppendID). Plain ids never
// begin with it: a key text that does is escaped by a second one.
const IDEscape = '~'

// AppendID appends the document _id of a row: its key values, so a change to the row
// finds its document. A single-column key is the value's text (binary key values, which
// need not be UTF-8, in base64); a composite key is a JSON array of those texts, e.g.
// ["42","2006-02-15"], which no single value can collide with inside one index.
// Elasticsearch refuses an empty _id and one over 512 bytes, and those get ids that begin
// with IDEscape, which no other id does:
//
//   - an empty key text is "~";
//   - a key text that begins with "~" gets a second one ("~x" becomes "~~x");
//   - an id that would be longer than 512 bytes is "~h" and the SHA-256 of the text (or
//     of the JSON array), in hex: 66 bytes.
func (e *Encoder) AppendID(dst []byte, row change.Row) ([]byte, error) {
	if e.view != nil {
		if e.projected {
			row = e.view.Full(row)
		}
		row = e.view.Key(row)
	}
	return e.appendID(dst, row)
}

// appendID is AppendID of a row the key positions index: the view's key row (View.Key)
// under column transforms.
func (e *Encoder) appendID(dst []byte, row change.Row) ([]byte, error) {
	start := len(dst)
	if len(e.key) == 1 {
		v := row[e.key[0]]
		if v == nil {
			return dst, &mapping.ValueError{Column: e.keyC[0].Name, Reason: "key value is NULL"}
		}
		var err error
		if dst, err = e.appendKeyText(dst, 0, v, false); err != nil {
			return dst, err
		}
		switch {
		case len(dst) == start:
			return append(dst, IDEscape), nil
		case dst[start] == IDEscape && len(dst)-start < MaxIDBytes:
			dst = append(dst, 0)
			copy(dst[start+1:], dst[start:])
			return dst, nil
		}
	} else {
		dst = append(dst, '[')
		for i, k := range e.key {
			if i > 0 {
				dst = append(dst, ',')
			}
			v := row[k]
			if v == nil {
				dst = append(dst, "null"...)
				continue
			}
			var err error
			if dst, err = e.appendKeyText(dst, i, v, true); err != nil {
				return dst, err
			}
		}
		dst = append(dst, ']')
	}
	if len(dst)-start > MaxIDBytes || len(dst)-start == MaxIDBytes && dst[start] == IDEscape {
		sum := sha256.Sum256(dst[start:])
		dst = append(dst[:start], IDEscape, 'h')
		dst = hex.AppendEncode(dst, sum[:])
	}
	return dst, nil
}

func (e *Encoder) appendKeyText(dst []byte, i int, v []byte, quoted bool) ([]byte, error) {
	c := e.keyC[i]
	if esBinaryType(c.DataType) || c.DataType == "bit" {
		if quoted {
			dst = append(dst, '"')
		}
		dst = base64.StdEncoding.AppendEncode(dst, v)
		if quoted {
			dst = append(dst, '"')
		}
		return dst, nil
	}
	if !utf8.Valid(v) {
		return dst, &mapping.ValueError{Column: c.Name, Reason: "key text is not valid UTF-8"}
	}
	if quoted {
		return mapping.AppendJSONBytes(dst, v), nil
	}
	return append(dst, v...), nil
}

// jsonNumber reports whether v is a JSON number (what MySQL prints for integers and floats,
// checked so a surprise cannot corrupt the bulk body).
func jsonNumber(v []byte) bool {
	i := 0
	if i < len(v) && v[i] == '-' {
		i++
	}
	if i >= len(v) {
		return false
	}
	if v[i] == '0' {
		i++
	} else if v[i] >= '1' && v[i] <= '9' {
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
	} else {
		return false
	}
	if i < len(v) && v[i] == '.' {
		i++
		d := i
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		d := i
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == len(v)
}

// FanInID returns the _id that the document of a fan-in shard with _id id (the JSON array
// of the source value from and the key texts, AppendID) has under the source value to:
// the same array with to in front, hashed as AppendID hashes when it grows past
// MaxIDBytes. An id already hashed keeps no key texts to move: an error.
func FanInID(id, from, to string) (string, error) {
	prefix := string(mapping.AppendJSONString([]byte{'['}, from)) + ","
	if !strings.HasPrefix(id, prefix) {
		if len(id) > 0 && id[0] == IDEscape {
			return "", fmt.Errorf("the key of this document was longer than an _id may be and is kept as its SHA-256 only, so it cannot be given the new source value %q: take a new snapshot (replicator snapshot)", to)
		}
		return "", fmt.Errorf("the _id does not begin with the source value %q", from)
	}
	out := append(mapping.AppendJSONString([]byte{'['}, to), ',')
	out = append(out, id[len(prefix):]...)
	if len(out) > MaxIDBytes {
		sum := sha256.Sum256(out)
		out = hex.AppendEncode([]byte{IDEscape, 'h'}, sum[:])
	}
	return string(out), nil
}

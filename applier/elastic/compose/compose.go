// Package compose builds the documents of a [[documents]] declaration from the current
// rows of its tables, as their own Elasticsearch indexes hold them (each row's _source):
// the root row's fields, an object per lookup (N:1) and an array per nested relation (1:N
// or N:M), each element carrying the child's key. It does no I/O: the Elasticsearch
// target reads the rows and writes what this package returns, and verify and the tests
// compare against the same shape.
package compose

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/replicator/replicator/mapping"
)

// Spec is one [[documents]] declaration resolved against the tables' definitions: every
// join column is an integer column, and every key it refers to is a one-column key, so a
// value's decimal text is also the referenced row's _id.
type Spec struct {
	// N is the declaration's place in the configuration (documents[N]).
	N     int
	Index string
	Root  Table
	// Columns are the root's fields written (nil: every field of the row).
	Columns []string
	Lookups []Lookup
	Nested  []Nested
}

// Table is one involved table: its name ("db.table"), the index (alias) holding its rows
// and its one-column key.
type Table struct {
	Name, Index, Key string
}

// Lookup is an N:1 relation: the row of Table whose key equals the root's RootCol.
type Lookup struct {
	Field   string
	Table   Table
	RootCol string
	Columns []string
}

// Nested is a 1:N relation (On is the child's column equal to the root's key) or an N:M
// relation through a join table (Through).
type Nested struct {
	Field   string
	Table   Table
	On      string
	Through *Through
	Columns []string
}

// Through is the join table of an N:M relation: Parent holds the root's key, Child the
// nested table's.
type Through struct {
	Table         Table
	Parent, Child string
}

// Source is one row as its index holds it: field name -> JSON value.
type Source map[string]json.RawMessage

// Parts are the rows one document is composed of: the root row, the row of each lookup
// (nil: none), the rows of each nested relation (any order).
type Parts struct {
	Root    Source
	Lookups []Source
	Nested  [][]Source
}

// Doc returns the composed document as JSON. Fields are written in the order of the
// declaration, nested elements sorted by the child's key, so the same rows always give
// the same bytes (verify compares them).
func (s *Spec) Doc(p Parts) ([]byte, error) {
	out := []byte{'{'}
	n := 0
	field := func(name string, v []byte) {
		if n > 0 {
			out = append(out, ',')
		}
		n++
		out = mapping.AppendJSONString(out, name)
		out = append(out, ':')
		out = append(out, v...)
	}
	out = appendFields(out, p.Root, s.Columns, s.Root.Key, &n)
	for i, l := range s.Lookups {
		var row Source
		if i < len(p.Lookups) {
			row = p.Lookups[i]
		}
		if row == nil {
			field(l.Field, []byte("null"))
			continue
		}
		m := 0
		field(l.Field, append(appendFields([]byte{'{'}, row, l.Columns, "", &m), '}'))
	}
	for i, nd := range s.Nested {
		var rows []Source
		if i < len(p.Nested) {
			rows = p.Nested[i]
		}
		sorted := append([]Source(nil), rows...)
		var bad error
		sort.SliceStable(sorted, func(a, b int) bool {
			c, err := CompareKeys(sorted[a][nd.Table.Key], sorted[b][nd.Table.Key])
			if err != nil && bad == nil {
				bad = err
			}
			return c < 0
		})
		if bad != nil {
			return nil, fmt.Errorf("documents[%d].nested: %s rows: %w", s.N, nd.Table.Name, bad)
		}
		arr := []byte{'['}
		for j, r := range sorted {
			if j > 0 {
				arr = append(arr, ',')
			}
			m := 0
			arr = append(appendFields(append(arr, '{'), r, nd.Columns, nd.Table.Key, &m), '}')
		}
		field(nd.Field, append(arr, ']'))
	}
	return append(out, '}'), nil
}

// appendFields appends the fields cols of row (every field, sorted, when cols is nil), the
// key field first when key is set and not among cols; n counts the fields written.
func appendFields(out []byte, row Source, cols []string, key string, n *int) []byte {
	put := func(name string) {
		v, ok := row[name]
		if !ok {
			v = json.RawMessage("null")
		}
		if *n > 0 {
			out = append(out, ',')
		}
		*n++
		out = mapping.AppendJSONString(out, name)
		out = append(out, ':')
		out = append(out, v...)
	}
	if cols == nil {
		names := make([]string, 0, len(row))
		for k := range row {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			put(k)
		}
		return out
	}
	if key != "" && !containsFold(cols, key) {
		put(key)
	}
	for _, c := range cols {
		put(c)
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// KeyText returns the decimal text of an integer JSON value (a number, or a string of
// digits as unsigned_long may read back), which is also the _id of the row it keys; ok is
// false for null or a missing value.
func KeyText(v json.RawMessage) (text string, ok bool, err error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return "", false, nil
	}
	s := string(v)
	if s[0] == '"' {
		if err := json.Unmarshal(v, &s); err != nil {
			return "", false, err
		}
	}
	if _, err := strconv.ParseInt(s, 10, 64); err != nil {
		if _, err2 := strconv.ParseUint(s, 10, 64); err2 != nil {
			return "", false, fmt.Errorf("key value %s is not an integer", v)
		}
	}
	return s, true, nil
}

// CompareKeys orders two integer key values numerically.
func CompareKeys(a, b json.RawMessage) (int, error) {
	x, _, err := KeyText(a)
	if err != nil {
		return 0, err
	}
	y, _, err := KeyText(b)
	if err != nil {
		return 0, err
	}
	xn, yn := strings.HasPrefix(x, "-"), strings.HasPrefix(y, "-")
	switch {
	case xn && !yn:
		return -1, nil
	case yn && !xn:
		return 1, nil
	}
	c := len(x) - len(y)
	if c == 0 {
		c = strings.Compare(x, y)
	}
	if xn {
		c = -c
	}
	return c, nil
}

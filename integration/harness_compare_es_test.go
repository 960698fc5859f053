//go:build integration

package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"
)

// esColumn is what the comparison needs of a source column.
type esColumn struct {
	name, dataType, columnType string
	key                        bool
}

func esSourceColumns(t *testing.T, my *client.Conn, db, table string) []esColumn {
	t.Helper()
	res, err := my.Execute(`SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COLUMN_KEY = 'PRI' FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, db, table)
	if err != nil {
		t.Fatal(err)
	}
	var out []esColumn
	for i := range res.Values {
		var c esColumn
		c.name, _ = res.GetString(i, 0)
		c.dataType, _ = res.GetString(i, 1)
		c.columnType, _ = res.GetString(i, 2)
		k, _ := res.GetInt(i, 3)
		c.key = k == 1
		out = append(out, c)
	}
	return out
}

// esSourceRows reads a source table as MySQL prints it (UTC session), keyed by the
// document _id the README's id rule gives.
func esSourceRows(t *testing.T, my *client.Conn, db, table string, cols []esColumn) map[string][]*string {
	t.Helper()
	if _, err := my.Execute("SET time_zone = '+00:00'"); err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = "`" + c.name + "`"
	}
	rows := map[string][]*string{}
	var res mysql.Result
	err := my.ExecuteSelectStreaming(fmt.Sprintf("SELECT %s FROM `%s`.`%s`", strings.Join(names, ", "), db, table), &res,
		func(vals []mysql.FieldValue) error {
			row := make([]*string, len(vals))
			for i, v := range vals {
				var s string
				switch v.Type {
				case mysql.FieldValueTypeNull:
					continue
				case mysql.FieldValueTypeSigned:
					s = strconv.FormatInt(v.AsInt64(), 10)
				case mysql.FieldValueTypeUnsigned:
					s = strconv.FormatUint(v.AsUint64(), 10)
				case mysql.FieldValueTypeFloat:
					s = strconv.FormatFloat(v.AsFloat64(), 'g', -1, 64)
				default:
					s = string(v.AsString())
				}
				row[i] = &s
			}
			rows[esExpectedID(cols, row)] = row
			return nil
		}, nil)
	if err != nil {
		t.Fatalf("read source %s.%s: %v", db, table, err)
	}
	return rows
}

// esExpectedID is the README's _id rule: a single key's text, or a JSON array of the key
// texts (binary keys in base64); "~" for an empty text, a second "~" before a text that
// begins with one, "~h" and the SHA-256 in hex for an id over 512 bytes.
func esExpectedID(cols []esColumn, row []*string) string {
	var parts []string
	for i, c := range cols {
		if c.key {
			v := *row[i]
			if esBinaryColumn(c.dataType) {
				v = base64.StdEncoding.EncodeToString([]byte(v))
			}
			parts = append(parts, v)
		}
	}
	id := ""
	if len(parts) == 1 {
		id = parts[0]
		switch {
		case id == "":
			return "~"
		case strings.HasPrefix(id, "~") && len(id) < 512:
			return "~" + id
		}
	} else {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.Encode(parts)
		id = strings.TrimSuffix(b.String(), "\n")
	}
	if len(id) > 512 || len(id) == 512 && strings.HasPrefix(id, "~") {
		sum := sha256.Sum256([]byte(id))
		return "~h" + hex.EncodeToString(sum[:])
	}
	return id
}

func esBinaryColumn(dt string) bool {
	switch dt {
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "geometry", "point", "linestring", "polygon",
		"multipoint", "multilinestring", "multipolygon", "geometrycollection":
		return true
	}
	return false
}

// esValueEqual compares a source value (MySQL's text) with a _source value under the
// README's mapping rule; it returns a description of the difference, or "".
func esValueEqual(c esColumn, src *string, got any) string {
	if src == nil {
		if got != nil {
			return fmt.Sprintf("source NULL, document %v", got)
		}
		return ""
	}
	s := *src
	diff := func() string { return fmt.Sprintf("source %q, document %#v", s, got) }
	switch c.dataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year":
		// BIGINT UNSIGNED is a string on clusters without unsigned_long.
		var text string
		switch g := got.(type) {
		case json.Number:
			text = g.String()
		case string:
			text = g
		default:
			return diff()
		}
		want, ok1 := new(big.Int).SetString(s, 10)
		have, ok2 := new(big.Int).SetString(text, 10)
		if !ok1 || !ok2 || want.Cmp(have) != 0 {
			return diff()
		}
	case "float", "double":
		g, ok := got.(json.Number)
		if !ok {
			return diff()
		}
		bits := 64
		if c.dataType == "float" {
			bits = 32
		}
		a, err1 := strconv.ParseFloat(s, bits)
		b, err2 := strconv.ParseFloat(g.String(), bits)
		if err1 != nil || err2 != nil || a != b {
			return diff()
		}
	case "bit":
		var n uint64
		for _, b := range []byte(s) {
			n = n<<8 | uint64(b)
		}
		if g, ok := got.(json.Number); !ok || g.String() != strconv.FormatUint(n, 10) {
			return diff()
		}
	case "set":
		want := []any{}
		if s != "" {
			for _, m := range strings.Split(s, ",") {
				want = append(want, m)
			}
		}
		if !reflect.DeepEqual(want, got) {
			return diff()
		}
	case "json":
		var want any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if dec.Decode(&want) != nil || !reflect.DeepEqual(want, got) {
			return diff()
		}
	default:
		want := s
		if esBinaryColumn(c.dataType) {
			want = base64.StdEncoding.EncodeToString([]byte(s))
		}
		if g, ok := got.(string); !ok || g != want {
			return diff()
		}
	}
	return ""
}

// assertIndexEqual compares a source table with its index: the same _ids, and every field
// of every document equal to the source value under the mapping rule. It returns the row
// count.
func (et *esTarget) assertIndexEqual(t *testing.T, my *client.Conn, db, table string) int {
	t.Helper()
	cols := esSourceColumns(t, my, db, table)
	src := esSourceRows(t, my, db, table, cols)
	index := et.index(db, table)
	docs := et.readIndex(t, index)
	if n := et.count(t, index); n != len(src) {
		t.Errorf("%s: _count %d, source rows %d", index, n, len(src))
	}
	ids := make([]string, 0, len(src))
	for id := range src {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	bad := 0
	for _, id := range ids {
		doc, ok := docs[id]
		if !ok {
			t.Errorf("%s: _id %s missing", index, id)
			bad++
		} else {
			if len(doc) != len(cols) {
				t.Errorf("%s/%s: %d fields, want %d: %v", index, id, len(doc), len(cols), doc)
				bad++
			}
			for i, c := range cols {
				if d := esValueEqual(c, src[id][i], doc[c.name]); d != "" {
					t.Errorf("%s/%s field %s (%s): %s", index, id, c.name, c.columnType, d)
					bad++
				}
			}
		}
		if bad > 10 {
			t.Fatalf("%s: too many differences", index)
		}
	}
	for id := range docs {
		if _, ok := src[id]; !ok {
			t.Errorf("%s: extra document _id %s", index, id)
			if bad++; bad > 10 {
				t.Fatalf("%s: too many differences", index)
			}
		}
	}
	return len(src)
}

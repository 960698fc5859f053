package transform_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/source"
	"github.com/replicator/replicator/transform"
)

const testKey = "0123456789abcdef-test-key"

// reference is HMAC-SHA256 of the documented byte form, computed here without the
// package's code.
func reference(key, v string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil))
}

// TestHasherRFC4231 checks the hasher against RFC 4231's test case 1, a vector computed
// independently of Go.
func TestHasherRFC4231(t *testing.T) {
	t.Parallel()
	h, err := transform.NewHasher("K", bytes.Repeat([]byte{0x0b}, 20))
	if err != nil {
		t.Fatal(err)
	}
	got := string(h.Append(nil, []byte("Hi There")))
	if want := "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"; got != want {
		t.Fatalf("HMAC-SHA256 = %s, want %s", got, want)
	}
}

func TestHasherRefusesShortKeyAndHidesIt(t *testing.T) {
	t.Parallel()
	_, err := transform.NewHasher("MY_KEY", []byte("short-secret"))
	if err == nil || !strings.Contains(err.Error(), "MY_KEY") || strings.Contains(err.Error(), "short-secret") {
		t.Fatalf("err = %v: want a refusal naming MY_KEY, not showing the key", err)
	}
	h, err := transform.NewHasher("MY_KEY", []byte(testKey))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(h), fmt.Sprintf("%v %+v %#v %s", h, h, h, h)} {
		if strings.Contains(s, testKey) {
			t.Fatalf("formatted hasher shows the key: %s", s)
		}
	}
}

// TestHashSnapshotEqualsStream hashes each value twice: as the stream decodes it from a row
// event (source.AppendBinlogValue on go-mysql's value) and as the snapshot reads it (the
// text a SELECT sends, which snapshot.StreamRows keeps as it is), through a View of a
// table with the column hashed. Both must give HMAC-SHA256 of the documented byte form.
func TestHashSnapshotEqualsStream(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		col      schema.Column
		binlog   any    // the value go-mysql decodes from the row event
		snapshot string // the text the server sends to a SELECT (the snapshot's row)
		form     string // the documented byte form that is hashed
	}{
		{"int", schema.Column{DataType: "int"}, int32(-5), "-5", "-5"},
		{"int unsigned", schema.Column{DataType: "int", Unsigned: true}, int32(-1), "4294967295", "4294967295"},
		{"bigint unsigned", schema.Column{DataType: "bigint", Unsigned: true}, int64(-1), "18446744073709551615", "18446744073709551615"},
		{"decimal", schema.Column{DataType: "decimal", Precision: 10, Scale: 2}, "12.50", "12.50", "12.50"},
		{"double", schema.Column{DataType: "double"}, float64(0.1), "0.1", "0.1"},
		{"float", schema.Column{DataType: "float"}, float32(1.1), "1.1", "1.1"},
		{"date", schema.Column{DataType: "date"}, "2024-01-31", "2024-01-31", "2024-01-31"},
		{"datetime(3)", schema.Column{DataType: "datetime", FracDigits: 3}, "2024-01-31 10:20:30.1", "2024-01-31 10:20:30.100", "2024-01-31 10:20:30.100"},
		{"timestamp", schema.Column{DataType: "timestamp"}, "2024-01-31 10:20:30", "2024-01-31 10:20:30", "2024-01-31 10:20:30"},
		{"time(2)", schema.Column{DataType: "time", FracDigits: 2}, "-12:00:00", "-12:00:00.00", "-12:00:00.00"},
		{"varchar utf8mb4", schema.Column{DataType: "varchar", Charset: "utf8mb4"}, "ann@example.com", "ann@example.com", "ann@example.com"},
		{"varchar latin1", schema.Column{DataType: "varchar", Charset: "latin1"}, "caf\xe9", "café", "café"},
		{"char pads", schema.Column{DataType: "char", Charset: "utf8mb4", CharLength: 8}, "ab   ", "ab", "ab"},
		{"enum", schema.Column{DataType: "enum", Charset: "utf8mb4", Elems: []string{"a", "b"}}, int64(2), "b", "b"},
		{"set", schema.Column{DataType: "set", Charset: "utf8mb4", Elems: []string{"x", "y", "z"}}, int64(5), "x,z", "x,z"},
		{"bit(12)", schema.Column{DataType: "bit", Precision: 12}, int64(0xabc), "\x0a\xbc", "\x0a\xbc"},
		{"binary(4)", schema.Column{DataType: "binary", CharLength: 4}, []byte("ab"), "ab\x00\x00", "ab\x00\x00"},
		{"blob", schema.Column{DataType: "blob"}, []byte{0, 0xff}, "\x00\xff", "\x00\xff"},
		{"empty string", schema.Column{DataType: "varchar", Charset: "utf8mb4"}, "", "", ""},
	}
	r := compile(t, transform.Spec{Hash: []string{"v"}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			col := tc.col
			col.Name = "v"
			def := &schema.Table{Schema: "db", Name: "t", Columns: []schema.Column{{Name: "id", DataType: "int"}, col}, Key: []int{0}}
			v, err := r.View(def, []int{0, 1}, false)
			if err != nil {
				t.Fatal(err)
			}
			streamed, null, err := source.AppendBinlogValue([]byte{}, &def.Columns[1], tc.binlog)
			if err != nil || null {
				t.Fatalf("AppendBinlogValue: %q, null %v, %v", streamed, null, err)
			}
			if string(streamed) != tc.form || tc.snapshot != tc.form {
				t.Fatalf("canonical forms differ: stream %q, snapshot %q, documented %q", streamed, tc.snapshot, tc.form)
			}
			fromStream := v.Row(change.Row{[]byte("1"), streamed}, transform.Origin{})
			fromSnapshot := v.Row(change.Row{[]byte("1"), []byte(tc.snapshot)}, transform.Origin{})
			want := reference(testKey, tc.form)
			if string(fromStream[1]) != want || string(fromSnapshot[1]) != want {
				t.Fatalf("hash: stream %s, snapshot %s, want %s", fromStream[1], fromSnapshot[1], want)
			}
			if string(fromStream[0]) != "1" {
				t.Fatalf("key column changed: %q", fromStream[0])
			}
		})
	}
}

func TestHashNullStaysNull(t *testing.T) {
	t.Parallel()
	r := compile(t, transform.Spec{Hash: []string{"v"}})
	def := &schema.Table{Schema: "db", Name: "t", Columns: []schema.Column{{Name: "id", DataType: "int"}, {Name: "v", DataType: "varchar", Nullable: true}}, Key: []int{0}}
	v, err := r.View(def, []int{0, 1}, false)
	if err != nil {
		t.Fatal(err)
	}
	if row := v.Row(change.Row{[]byte("1"), nil}, transform.Origin{}); row[1] != nil {
		t.Fatalf("NULL hashed to %q", row[1])
	}
	if c := v.Table.Columns[1]; c.DataType != "char" || c.CharLength != transform.HashLen || !c.Nullable || c.Charset != "ascii" {
		t.Fatalf("hashed column = %+v, want a nullable CHAR(64) ASCII column", c)
	}
}

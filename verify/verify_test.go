package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
)

func TestPGNormalize(t *testing.T) {
	cases := []struct{ typ, in, want string }{
		{"smallint", "0000", "0"},
		{"smallint", "2020", "2020"},
		{"bigint", "-9223372036854775808", "-9223372036854775808"},
		{"numeric(20,0)", "18446744073709551615", "18446744073709551615"},
		{"real", "1e+06", "1e+06"},
		{"real", "1000000", "1e+06"},
		{"double precision", "123456789", "1.23456789e+08"},
		{"double precision", "1.23456789e+08", "1.23456789e+08"},
		{"timestamp(6) without time zone", "2020-01-01 00:00:00.500000", "2020-01-01 00:00:00.5"},
		{"timestamp(6) without time zone", "2020-01-01 00:00:00.000000", "2020-01-01 00:00:00"},
		{"timestamp(2) with time zone", "2020-02-02 02:02:02.50+00", "2020-02-02 02:02:02.5"},
		{"timestamp(0) with time zone", "-infinity", "-infinity"},
		{"interval(3)", "-838:59:59.000", "-838:59:59"},
		{"interval(0)", "12:00:00", "12:00:00"},
		{"jsonb", `{"b": [1, 2.50], "a": null}`, `{"a":null,"b":[1,2.5]}`},
		{"jsonb", `{"a":1e2}`, `{"a":100}`},
		{"text", "a.500", "a.500"},
		{"boolean", "true", "t"},
		{"boolean", "f", "f"},
		{"geometry(Point)", "0101000020E6100000", "0101000020e6100000"},
		{"varchar(10)", "12:00.00", "12:00.00"},
	}
	for _, c := range cases {
		if got := string(pgNormalize(c.typ, []byte(c.in))); got != c.want {
			t.Errorf("pgNormalize(%s, %q) = %q, want %q", c.typ, c.in, got, c.want)
		}
	}
}

func TestUnescapeCopy(t *testing.T) {
	for in, want := range map[string]string{`a\tb\nc\\d\re`: "a\tb\nc\\d\re", `\\x00ff`: `\x00ff`, "plain": "plain"} {
		if got := string(unescapeCopy([]byte(in))); got != want {
			t.Errorf("unescapeCopy(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCovers(t *testing.T) {
	cases := []struct {
		flavor, have, want string
		ok                 bool
	}{
		{"mariadb", "0-1-100", "0-1-100", true},
		{"mariadb", "0-1-100", "0-1-101", false},
		{"mariadb", "0-2-150,1-1-5", "0-1-100", true}, // server id changed after a failover
		{"mariadb", "0-1-100", "0-1-50,1-1-1", false},
		{"mariadb", "0-1-1", "", true},
		{"mysql", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-40", true},
		{"mysql", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-43", false},
	}
	for _, c := range cases {
		if got := covers(c.flavor, c.have, c.want); got != c.ok {
			t.Errorf("covers(%s, %q, %q) = %v", c.flavor, c.have, c.want, got)
		}
	}
}

func TestPointRanges(t *testing.T) {
	ds := []*diff{{first: "500"}, {first: "7"}, {first: "10"}, {first: "-3"}, {first: "18446744073709551615"}}
	got := pointRanges(ds)
	want := []Range{{Lo: "-4", Hi: "10"}, {Lo: "499", Hi: "500"}, {Lo: "18446744073709551614", Hi: "18446744073709551615"}}
	if len(got) != len(want) {
		t.Fatalf("pointRanges = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("range %d = %v, want %v", i, got[i], want[i])
		}
	}
	for _, d := range ds {
		in := false
		for _, r := range got {
			in = in || inRange(r, d.first)
		}
		if !in {
			t.Errorf("%s not covered by %v", d.first, got)
		}
	}
	if r := pointRanges([]*diff{{first: "x"}}); len(r) != 1 || !r[0].whole() {
		t.Errorf("a non-integer key must read everything: %v", r)
	}
}

func TestRangeSQL(t *testing.T) {
	cases := map[Range]string{{}: "", {Hi: "5"}: " WHERE k <= 5", {Lo: "5"}: " WHERE k > 5", {Lo: "-1", Hi: "9"}: " WHERE k > -1 AND k <= 9"}
	for r, want := range cases {
		if got := rangeWhere("k", r); got != want {
			t.Errorf("rangeWhere(%v) = %q, want %q", r, got, want)
		}
	}
	for s, ok := range map[string]bool{"12": true, "-12": true, "18446744073709551615": true, "1; DROP": false, "": false, "1e3": false} {
		if validBound(s) != ok {
			t.Errorf("validBound(%q) = %v", s, !ok)
		}
	}
}

func TestDigestOrderIndependentAndNullAware(t *testing.T) {
	h := newHasher()
	rows := []*row{
		{key: "1", vals: [][]byte{[]byte("1"), []byte("a")}},
		{key: "2", vals: [][]byte{[]byte("2"), nil}},
		{key: "3", vals: [][]byte{[]byte("3"), {}}},
	}
	var a, b digest
	var s []byte
	var x uint64
	for _, r := range rows {
		x, s = h.rowHash(r, s)
		a.add(x)
	}
	for i := len(rows) - 1; i >= 0; i-- {
		x, s = h.rowHash(rows[i], s)
		b.add(x)
	}
	if a != b {
		t.Errorf("digest depends on order: %v %v", a, b)
	}
	null, _ := h.rowHash(&row{key: "2", vals: [][]byte{[]byte("2"), nil}}, nil)
	empty, _ := h.rowHash(&row{key: "2", vals: [][]byte{[]byte("2"), {}}}, nil)
	if null == empty {
		t.Error("NULL and empty string hash alike")
	}
	if keyString([][]byte{[]byte("a:"), []byte("b")}, []int{0, 1}) == keyString([][]byte{[]byte("a"), []byte(":b")}, []int{0, 1}) {
		t.Error("composite keys collide")
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(1000)
	start := time.Now()
	for i := 0; i < 20; i++ {
		if err := l.take(context.Background(), 100); err != nil {
			t.Fatal(err)
		}
	}
	// 2,000 rows at 1,000/s with a burst of 1,000: about one second.
	if el := time.Since(start); el < 800*time.Millisecond || el > 3*time.Second {
		t.Errorf("2000 rows at 1000/s took %s", el)
	}
	if newLimiter(0).take(context.Background(), 1e9) != nil {
		t.Error("no limit must not wait")
	}
}

func TestPGConverterMatchesPostgresText(t *testing.T) {
	def := &schema.Table{Schema: "s", Name: "t", Columns: []schema.Column{
		{Name: "id", DataType: "int"},
		{Name: "txt", DataType: "varchar", CharLength: 20},
		{Name: "bin", DataType: "varbinary", CharLength: 20},
		{Name: "ts", DataType: "timestamp", FracDigits: 2},
		{Name: "d", DataType: "date"},
		{Name: "b", DataType: "bit", Precision: 10},
		{Name: "nul", DataType: "text"},
	}, Key: []int{0}}
	tb, err := newTable(def, []int{0, 1, 2, 3, 4, 5, 6}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pt := &pgTable{t: tb, types: []string{"integer", "varchar(20)", "bytea", "timestamp(2) with time zone", "date", "bit(10)", "text"}}
	conv := pt.converter()
	r, err := conv(change.Row{[]byte("7"), []byte("tab\there\\"), {0, 0xff}, []byte("2020-01-01 00:00:00.50"), []byte("0000-00-00"), {0x02, 0xaa}, []byte("a\x00b")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"7", "tab\there\\", `\x00ff`, "2020-01-01 00:00:00.5", "-infinity", "1010101010"}
	for i, w := range want {
		if string(r.vals[i]) != w {
			t.Errorf("column %s: %q, want %q", def.Columns[i].Name, r.vals[i], w)
		}
	}
	if len(r.vals[6]) == 0 || r.vals[6][0] != 0 {
		t.Errorf("a NUL in text must give a value PostgreSQL cannot have: %q", r.vals[6])
	}
	if r.key != "7" || r.first != "7" {
		t.Errorf("key %q first %q", r.key, r.first)
	}
}

func TestReportOutput(t *testing.T) {
	s := func(v string) *string { return &v }
	rep := &Report{SourceGTID: "0-1-9", Tables: []*TableReport{
		{Source: "db.a", Target: `"db"."a"`, SourceRows: 10, TargetRows: 10, Chunks: 1, Equal: true},
		{Source: "db.b", Target: `"db"."b"`, SourceRows: 10, TargetRows: 11, Chunks: 2, MismatchedChunks: 1, Differences: 2, Diffs: []RowDiff{
			{Kind: "changed", Key: Values{{"id", s("7")}}, Columns: []string{"v"}, Source: Values{{"v", s("x")}}, Target: Values{{"v", nil}}},
			{Kind: "extra", Key: Values{{"id", s("99")}}, Target: Values{{"id", s("99")}, {"a", s("y")}}},
		}},
		{Source: "db.c", Error: "target table \"db\".\"c\" does not exist"},
	}}
	rep.finish(time.Second)
	if rep.Equal || !strings.Contains(rep.Reason, "2 of 3 tables differ: db.b (2 rows differ); db.c (target table") {
		t.Errorf("reason %q", rep.Reason)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"db.a -> \"db\".\"a\": equal (10 rows, 1 chunks)", `id="7": changed v; source: v="x"; target: v=NULL`, `id="99": extra in target`, "db.c -> ?: ERROR"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Equal  bool `json:"equal"`
		Tables []struct {
			Diffs []struct {
				Key    map[string]*string `json:"key"`
				Target map[string]*string `json:"target"`
			} `json:"diffs"`
		} `json:"tables"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Equal || *back.Tables[1].Diffs[0].Key["id"] != "7" || back.Tables[1].Diffs[0].Target["v"] != nil {
		t.Errorf("JSON round trip: %s", js.String())
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, js.Bytes()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(compact.String(), `"target":{"id":"99","a":"y"}`) {
		t.Errorf("values must keep column order: %s", compact.String())
	}
}

package events

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/tracker"
)

func TestAppendValue(t *testing.T) {
	cases := []struct {
		col  schema.Column
		in   []byte
		want string
	}{
		{schema.Column{DataType: "int"}, nil, `null`},
		{schema.Column{DataType: "int"}, []byte("-42"), `-42`},
		{schema.Column{DataType: "bigint", Unsigned: true}, []byte("18446744073709551615"), `18446744073709551615`},
		{schema.Column{DataType: "tinyint"}, []byte("0"), `0`},
		{schema.Column{DataType: "year"}, []byte("0000"), `0`},
		{schema.Column{DataType: "year"}, []byte("2024"), `2024`},
		{schema.Column{DataType: "int"}, []byte("x1"), `"x1"`},
		{schema.Column{DataType: "double"}, []byte("1.5e+300"), `1.5e+300`},
		{schema.Column{DataType: "float"}, []byte("-0.25"), `-0.25`},
		{schema.Column{DataType: "double"}, []byte("NaN"), `"NaN"`},
		{schema.Column{DataType: "decimal"}, []byte("1.50"), `"1.50"`},
		{schema.Column{DataType: "bit", Precision: 3}, []byte{5}, `5`},
		{schema.Column{DataType: "bit", Precision: 64}, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, `18446744073709551615`},
		{schema.Column{DataType: "varbinary"}, []byte{0, 0xff}, `"AP8="`},
		{schema.Column{DataType: "blob"}, []byte{}, `""`},
		{schema.Column{DataType: "json"}, []byte("{\"a\": [1, 2],\n \"b\": null}"), `{"a":[1,2],"b":null}`},
		{schema.Column{DataType: "json"}, []byte("not json"), `"not json"`},
		{schema.Column{DataType: "varchar"}, []byte("a\"b\\c\n\t\x01<&>é😀"), `"a\"b\\c\n\t\u0001<&>é😀"`},
		{schema.Column{DataType: "varchar"}, []byte("bad\xffutf8"), `"bad\ufffdutf8"`},
		{schema.Column{DataType: "set"}, []byte("a,b"), `"a,b"`},
		{schema.Column{DataType: "datetime"}, []byte("2024-01-02 03:04:05.120"), `"2024-01-02 03:04:05.120"`},
		{schema.Column{DataType: "longtext"}, []byte(`{"k": 1}`), `"{\"k\": 1}"`},
	}
	for _, c := range cases {
		got := string(AppendValue(nil, &c.col, c.in))
		if got != c.want {
			t.Errorf("%s %q: got %s, want %s", c.col.DataType, c.in, got, c.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("%s %q: %s is not valid JSON", c.col.DataType, c.in, got)
		}
	}
}

func testTable() *schema.Table {
	return &schema.Table{Schema: "shop", Name: "orders", Key: []int{0}, KeyIsPrimary: true, Columns: []schema.Column{
		{Name: "id", DataType: "int", ColumnType: "int(11)"},
		{Name: "total", DataType: "decimal", ColumnType: "decimal(10,2)", Nullable: true},
		{Name: "secret", DataType: "varchar", ColumnType: "varchar(10)", Nullable: true},
	}}
}

func row(vals ...string) change.Row {
	r := make(change.Row, len(vals))
	for i, v := range vals {
		if v != "NULL" {
			r[i] = []byte(v)
		}
	}
	return r
}

func TestAppendJSON(t *testing.T) {
	when := time.Date(2024, 5, 1, 12, 0, 0, 0, time.FixedZone("x", 3600))
	v := NewView(testTable(), testRoutes(t, &config.Config{Tables: []config.TableRule{{Source: "shop.*", ExcludeColumns: []string{"SECRET"}}}}).For("shop", "orders"))
	cases := []struct {
		rec  Record
		want string
	}{
		{Record{Op: OpInsert, GTID: "0-1-5", Txn: 1, Seq: 0, Time: when, View: v, After: row("7", "9.50", "s")},
			`{"gtid":"0-1-5","txn":1,"seq":0,"time":"2024-05-01T11:00:00Z","op":"insert","database":"shop","table":"orders","key":{"id":7},"before":null,"after":{"id":7,"total":"9.50"}}`},
		{Record{Op: OpUpdate, GTID: "0-1-6", Txn: 2, Seq: 3, Time: when, View: v, Before: row("7", "9.50", "s"), After: row("8", "NULL", "s")},
			`{"gtid":"0-1-6","txn":2,"seq":3,"time":"2024-05-01T11:00:00Z","op":"update","database":"shop","table":"orders","key":{"id":8},"old_key":{"id":7},"before":{"id":7,"total":"9.50"},"after":{"id":8,"total":null}}`},
		{Record{Op: OpDelete, GTID: "0-1-7", Txn: 3, Time: when, View: v, Before: row("8", "NULL", "s")},
			`{"gtid":"0-1-7","txn":3,"seq":0,"time":"2024-05-01T11:00:00Z","op":"delete","database":"shop","table":"orders","key":{"id":8},"before":{"id":8,"total":null},"after":null}`},
		{Record{Op: OpDDL, GTID: "0-1-8", Txn: 4, Time: when, Schema: "shop", Query: "DROP TABLE old; ALTER ...", Tables: []*View{v}, Dropped: []string{"shop.old"}},
			`{"gtid":"0-1-8","txn":4,"seq":0,"time":"2024-05-01T11:00:00Z","op":"ddl","database":"shop","query":"DROP TABLE old; ALTER ...","tables":[{"database":"shop","table":"orders","columns":[{"name":"id","type":"int(11)","nullable":false},{"name":"total","type":"decimal(10,2)","nullable":true}],"key":["id"]}],"dropped":["shop.old"]}`},
		{Record{Op: OpDDL, GTID: "0-1-8", Txn: 4, Time: when, Schema: "shop", Query: "ALTER ...", Dropped: []string{"shop.old"}, Reloaded: true},
			`{"gtid":"0-1-8","txn":4,"seq":0,"time":"2024-05-01T11:00:00Z","op":"ddl","database":"shop","query":"ALTER ...","tables":[],"dropped":["shop.old"],"reloaded":true}`},
		{Record{Op: OpDDL, GTID: "0-1-9", Txn: 5, Time: when, Query: "CREATE DATABASE x"},
			`{"gtid":"0-1-9","txn":5,"seq":0,"time":"2024-05-01T11:00:00Z","op":"ddl","database":"","query":"CREATE DATABASE x","tables":[],"dropped":[]}`},
		{Record{Op: OpCommit, GTID: "0-1-6", Txn: 2, Time: when, Pos: "0-1-6", Lines: 2},
			`{"gtid":"0-1-6","txn":2,"time":"2024-05-01T11:00:00Z","op":"commit","pos":"0-1-6","lines":2}`},
	}
	for _, c := range cases {
		got := string(AppendJSON(nil, &c.rec))
		if got != c.want+"\n" {
			t.Errorf("%s:\n got %s\nwant %s", c.rec.Op, got, c.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("%s: not valid JSON: %s", c.rec.Op, got)
		}
	}
}

func TestAppendText(t *testing.T) {
	v := NewView(testTable(), nil)
	rec := Record{Op: OpUpdate, GTID: "0-1-6", Txn: 2, Seq: 1, Time: time.Unix(0, 0), View: v, Before: row("7", "9.50", "NULL"), After: row("8", "9.50", "x")}
	want := `update shop.orders  gtid 0-1-6  txn 2  seq 1  1970-01-01T00:00:00Z
    key     {"id":8}  (was {"id":7})
    id      7 -> 8
    total   "9.50"
    secret  null -> "x"

`
	if got := string(AppendText(nil, &rec)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	ddl := Record{Op: OpDDL, GTID: "0-1-8", Txn: 3, Time: time.Unix(0, 0), Schema: "shop", Query: "ALTER TABLE orders\n  ADD secret VARCHAR(10)", Tables: []*View{v}}
	want = `ddl  gtid 0-1-8  txn 3  seq 0  1970-01-01T00:00:00Z
    database  shop
    query     ALTER TABLE orders ADD secret VARCHAR(10)
    table     shop.orders (id int(11) NOT NULL, total decimal(10,2), secret varchar(10))  key (id)

`
	if got := string(AppendText(nil, &ddl)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestCovers(t *testing.T) {
	cases := []struct {
		flavor, want, pos string
		covered           bool
	}{
		{"mariadb", "0-1-10", "0-1-9", false},
		{"mariadb", "0-1-10", "0-1-10", true},
		{"mariadb", "0-1-10", "0-2-11", true}, // failover: a new server id, same domain
		{"mariadb", "0-1-10,1-1-5", "0-1-12", false},
		{"mariadb", "0-1-10,1-1-5", "1-1-5,0-1-12", true},
		{"mariadb", "", "0-1-1", true},
		{"mysql", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-10", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-9", false},
		{"mysql", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-10", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-11", true},
		{"mysql", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-10,4e11fa47-71ca-11e1-9e33-c80aa9429562:1-2",
			"3e11fa47-71ca-11e1-9e33-c80aa9429562:1-11", false},
	}
	for _, c := range cases {
		f, err := Covers(c.flavor, c.want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f(c.pos)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.covered {
			t.Errorf("%s: %q covers %q: got %v", c.flavor, c.pos, c.want, got)
		}
	}
	if _, err := Covers("mariadb", "0-1"); err == nil {
		t.Error("a malformed MariaDB GTID was accepted")
	}
}

func TestParseFilters(t *testing.T) {
	pats, err := ParseTables([]string{"shop.orders, `a,b`.*", "x.y"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pats) != 3 || pats[1].DB != "a,b" {
		t.Fatalf("patterns: %+v", pats)
	}
	f := Filter{Tables: pats}
	if !f.Table("a,b", "t") || f.Table("shop", "lines") || !f.Table("x", "y") {
		t.Error("table filter mismatch")
	}
	if _, err := ParseTables([]string{"nodot"}); err == nil {
		t.Error("a bad pattern was accepted")
	}
	ops, err := ParseOps("Insert, ddl")
	if err != nil || !ops[OpInsert] || !ops[OpDDL] || ops[OpUpdate] {
		t.Errorf("ops: %v %v", ops, err)
	}
	for _, bad := range []string{"", "upsert"} {
		if _, err := ParseOps(bad); err == nil {
			t.Errorf("--ops %q accepted", bad)
		}
	}
}

// sink collects records; it asks to stop after limit records when limit > 0.
type sink struct {
	lines []string
	limit int
}

func (s *sink) Put(r *Record) error {
	s.lines = append(s.lines, strings.TrimSuffix(string(AppendJSON(nil, r)), "\n"))
	if s.limit > 0 && len(s.lines) >= s.limit {
		return ErrStop
	}
	return nil
}
func (s *sink) Flush() error { return nil }

// TestRunnerNumbering feeds decoded events to the runner: txn counts printed
// transactions, seq counts a transaction's row changes before the filters, commit lines
// come only after printed lines, and the stop position ends the run.
func TestRunnerNumbering(t *testing.T) {
	cfg := testConfig(t)
	orders := testTable()
	lines := &schema.Table{Schema: "shop", Name: "lines", Key: []int{0}, Columns: []schema.Column{{Name: "id", DataType: "int"}}}
	pats, _ := ParseTables([]string{"shop.orders"})
	ops, _ := ParseOps("insert,delete,ddl,commit")
	out := &sink{}
	stop, _ := Covers("mariadb", "0-1-5")
	r := &runner{o: Options{Config: cfg, Routes: testRoutes(t, cfg), Filter: Filter{Tables: pats, Ops: ops}}, sink: out, stop: stop, views: map[*schema.Table]*View{}}
	evs := []change.Event{
		{Kind: change.Insert, Table: lines, GTID: "0-1-1", After: row("1")},
		{Kind: change.Insert, Table: orders, GTID: "0-1-1", After: row("1", "2.00", "a")},
		{Kind: change.Update, Table: orders, GTID: "0-1-1", Before: row("1", "2.00", "a"), After: row("1", "3.00", "a")},
		{Kind: change.Delete, Table: orders, GTID: "0-1-1", Before: row("1", "3.00", "a")},
		{Kind: change.Commit, GTID: "0-1-1", Pos: change.Position{Flavor: "mariadb", GTID: "0-1-1"}},
		{Kind: change.Insert, Table: lines, GTID: "0-1-2", After: row("2")},
		{Kind: change.Commit, GTID: "0-1-2", Pos: change.Position{Flavor: "mariadb", GTID: "0-1-2"}},
		{Kind: change.DDL, GTID: "0-1-3", Schema: "shop", Query: "DROP TABLE lines"},
		{Kind: change.Commit, GTID: "0-1-3", Pos: change.Position{Flavor: "mariadb", GTID: "0-1-3"}},
		{Kind: change.DDL, GTID: "0-1-4", Schema: "shop", Query: "ALTER TABLE orders COMMENT 'x'"},
		{Kind: change.Commit, GTID: "0-1-4", Pos: change.Position{Flavor: "mariadb", GTID: "0-1-4"}},
		{Kind: change.Insert, Table: orders, GTID: "0-1-5", After: row("9", "NULL", "NULL")},
		{Kind: change.Commit, GTID: "0-1-5", Pos: change.Position{Flavor: "mariadb", GTID: "0-1-5"}},
		{Kind: change.Insert, Table: orders, GTID: "0-1-6", After: row("10", "NULL", "NULL")},
	}
	// What the DDL follower made of the two statements, carried with their events.
	ddls := map[int]*ddlChange{
		7: {SchemaChange: &ddl.SchemaChange{Dropped: []string{"shop.lines"}}},
		9: {SchemaChange: &ddl.SchemaChange{Tables: []*schema.Table{orders}}},
	}
	for i := range evs {
		if err := r.handle(&evs[i], ddls[i]); err != nil {
			t.Fatal(err)
		}
		if r.done {
			if i != 12 {
				t.Fatalf("stopped at event %d, want 12", i)
			}
			break
		}
	}
	if !r.done {
		t.Fatal("the stop position was not noticed")
	}
	var got []string
	for _, l := range out.lines {
		var m struct {
			GTID string `json:"gtid"`
			Txn  int    `json:"txn"`
			Seq  *int   `json:"seq"`
			Op   string `json:"op"`
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		s := m.Op + " " + m.GTID + " txn=" + string(rune('0'+m.Txn))
		if m.Seq != nil {
			s += " seq=" + string(rune('0'+*m.Seq))
		}
		got = append(got, s)
	}
	want := []string{
		"insert 0-1-1 txn=1 seq=1",
		"delete 0-1-1 txn=1 seq=3",
		"commit 0-1-1 txn=1",
		"ddl 0-1-4 txn=2 seq=0",
		"commit 0-1-4 txn=2",
		"insert 0-1-5 txn=3 seq=0",
		"commit 0-1-5 txn=3",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A sink that wants no more ends the run with ErrStop.
	out2 := &sink{limit: 1}
	r2 := &runner{o: Options{Config: cfg, Routes: testRoutes(t, cfg)}, sink: out2, views: map[*schema.Table]*View{}}
	if err := r2.handle(&evs[1], nil); !errors.Is(err, ErrStop) {
		t.Errorf("limit: got %v, want ErrStop", err)
	}
}

// TestFollowDDL: a statement moves the tracker and is printed with the new definition; one
// the tracker cannot apply (a replay of a change the definitions already include) is
// printed marked reloaded, with the source's current definition; one about another
// database gives nothing.
func TestFollowDDL(t *testing.T) {
	cfg := testConfig(t)
	orders := testTable()
	tr := tracker.New(testRoutes(t, cfg), nil)
	if err := tr.Put(orders); err != nil {
		t.Fatal(err)
	}
	current := orders.Clone()
	refresh := func(_ context.Context, db, table string) (*schema.Table, error) {
		if db+"."+table != "shop.orders" {
			t.Errorf("refresh of %s.%s", db, table)
		}
		return current.Clone(), nil
	}
	log := slog.New(slog.DiscardHandler)
	f := followDDL(cfg, tr, log, refresh)
	pos := change.Position{Flavor: "mariadb", GTID: "0-1-1"}

	p, err := f(context.Background(), "shop", "ALTER TABLE orders ADD COLUMN note TEXT", pos, "0-1-1")
	if err != nil {
		t.Fatal(err)
	}
	dc := p
	if dc == nil || dc.Reloaded || len(dc.Tables) != 1 || len(dc.Tables[0].Columns) != 4 || dc.Tables[0].Columns[3].Name != "note" {
		t.Fatalf("ADD COLUMN: %#v", p)
	}
	if tr.Lookup("shop", "orders").ColumnIndex("note") != 3 {
		t.Fatal("the tracker did not move on")
	}

	current = tr.Lookup("shop", "orders").Clone()
	p, err = f(context.Background(), "shop", "ALTER TABLE orders ADD COLUMN note TEXT", pos, "0-1-2")
	if err != nil {
		t.Fatalf("a replayed ADD COLUMN stopped the run: %v", err)
	}
	dc = p
	if dc == nil || !dc.Reloaded || len(dc.Tables) != 1 || dc.Tables[0].ColumnIndex("note") != 3 || dc.Query != "ALTER TABLE orders ADD COLUMN note TEXT" {
		t.Fatalf("replayed ADD COLUMN: %#v", p)
	}

	if p, err := f(context.Background(), "other", "CREATE TABLE x (id INT PRIMARY KEY)", pos, "0-1-3"); p != nil || err != nil {
		t.Fatalf("DDL outside the selection: %#v, %v", p, err)
	}
}

func testRoutes(t *testing.T, cfg *config.Config) *route.Set {
	t.Helper()
	routes, err := route.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return routes
}

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse(`[source]
host = "h"
user = "u"
server_id = 1
[target]
type = "postgres"
[target.postgres]
url = "postgres://x@h/db"
[[tables]]
source = "shop.*"
`, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

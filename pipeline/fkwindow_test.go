package pipeline

import (
	"reflect"
	"testing"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
)

// fkTestGraph is country <- city <- address (ON UPDATE CASCADE, ON DELETE RESTRICT),
// orders <- item (ON DELETE CASCADE, ON UPDATE CASCADE) <- note (ON DELETE SET NULL), and
// emp referring to itself (ON DELETE CASCADE).
func fkTestGraph() (*schema.FKGraph, map[string]*schema.Table) {
	col := func(n string) schema.Column { return schema.Column{Name: n, DataType: "int"} }
	fk := func(name, ref, del, upd string, cols, refCols []string) schema.ForeignKey {
		return schema.ForeignKey{Name: name, RefTable: ref, OnDelete: del, OnUpdate: upd, Columns: cols, RefColumns: refCols}
	}
	ts := map[string]*schema.Table{
		"country": {Schema: "d", Name: "country", Columns: []schema.Column{col("country_id"), col("name")}, Key: []int{0}},
		"city": {Schema: "d", Name: "city", Columns: []schema.Column{col("city_id"), col("country_id")}, Key: []int{0},
			ForeignKeys: []schema.ForeignKey{fk("c1", "country", "RESTRICT", "CASCADE", []string{"country_id"}, []string{"country_id"})}},
		"address": {Schema: "d", Name: "address", Columns: []schema.Column{col("id"), col("city_id")}, Key: []int{0},
			ForeignKeys: []schema.ForeignKey{fk("a1", "city", "RESTRICT", "CASCADE", []string{"city_id"}, []string{"city_id"})}},
		"orders": {Schema: "d", Name: "orders", Columns: []schema.Column{col("id"), col("s")}, Key: []int{0}},
		"item": {Schema: "d", Name: "item", Columns: []schema.Column{col("id"), col("order_id")}, Key: []int{0},
			ForeignKeys: []schema.ForeignKey{fk("i1", "orders", "CASCADE", "CASCADE", []string{"order_id"}, []string{"id"})}},
		"note": {Schema: "d", Name: "note", Columns: []schema.Column{col("id"), col("item_id")}, Key: []int{0},
			ForeignKeys: []schema.ForeignKey{fk("n1", "item", "SET NULL", "RESTRICT", []string{"item_id"}, []string{"id"})}},
		"emp": {Schema: "d", Name: "emp", Columns: []schema.Column{col("id"), col("boss")}, Key: []int{0},
			ForeignKeys: []schema.ForeignKey{fk("e1", "emp", "CASCADE", "RESTRICT", []string{"boss"}, []string{"id"})}},
	}
	var all []*schema.Table
	for _, t := range ts {
		all = append(all, t)
	}
	return schema.BuildFKGraph(all), ts
}

func wRow(vs ...string) change.Row {
	r := make(change.Row, len(vs))
	for i, v := range vs {
		if v != "NULL" {
			r[i] = []byte(v)
		}
	}
	return r
}

func TestFKReach(t *testing.T) {
	g, ts := fkTestGraph()
	cases := []struct {
		name   string
		act    change.FKAction
		table  string
		direct int
		other  bool
	}{
		{"country key change reaches city directly", change.FKAction{Parent: ts["country"], Before: wRow("1", "a"), After: wRow("2", "a")}, "d.city", 1, false},
		{"country name change sets nothing off", change.FKAction{Parent: ts["country"], Before: wRow("1", "a"), After: wRow("1", "b")}, "d.city", 0, false},
		// city's country_id changes, which address does not refer to: no further hop.
		{"country key change does not reach address", change.FKAction{Parent: ts["country"], Before: wRow("1", "a"), After: wRow("2", "a")}, "d.address", 0, false},
		{"city key change reaches address directly", change.FKAction{Parent: ts["city"], Before: wRow("5", "1"), After: wRow("6", "1")}, "d.address", 1, false},
		{"order delete reaches note through item", change.FKAction{Parent: ts["orders"], Before: wRow("7", "x")}, "d.note", 0, true},
		{"order delete reaches item directly", change.FKAction{Parent: ts["orders"], Before: wRow("7", "x")}, "d.item", 1, false},
		// An item's key change: note is ON UPDATE RESTRICT, so only item's children by
		// delete would go on; nothing reaches note.
		{"order key change: item directly, note not", change.FKAction{Parent: ts["orders"], Before: wRow("7", "x"), After: wRow("8", "x")}, "d.note", 0, false},
		{"self reference cascades on", change.FKAction{Parent: ts["emp"], Before: wRow("1", "NULL")}, "d.emp", 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			direct, other := fkReach(g, &c.act, c.table)
			if len(direct) != c.direct || other != c.other {
				t.Fatalf("fkReach = %d direct edges, other %v; want %d, %v", len(direct), other, c.direct, c.other)
			}
		})
	}
}

func TestFKReplay(t *testing.T) {
	g, _ := fkTestGraph()
	edge := func(parent, child string) schema.FKEdge {
		for _, e := range g.Children("d." + parent) {
			if e.Child.Name == child {
				return e
			}
		}
		t.Fatalf("no edge %s -> %s", parent, child)
		return schema.FKEdge{}
	}
	cases := []struct {
		name string
		rows []change.Row
		acts []windowFK
		want []change.Row
	}{
		{"cascaded key change rewrites the rows read before it",
			[]change.Row{wRow("1", "10"), wRow("2", "11"), wRow("3", "10")},
			[]windowFK{{edge: edge("country", "city"), before: wRow("10", "a"), after: wRow("20", "a")}},
			[]change.Row{wRow("1", "20"), wRow("2", "11"), wRow("3", "20")}},
		{"cascaded delete leaves the rows out",
			[]change.Row{wRow("1", "7"), wRow("2", "8"), wRow("3", "7")},
			[]windowFK{{edge: edge("orders", "item"), before: wRow("7", "x")}},
			[]change.Row{wRow("2", "8")}},
		{"set null",
			[]change.Row{wRow("1", "4"), wRow("2", "NULL")},
			[]windowFK{{edge: edge("item", "note"), before: wRow("4", "7")}},
			[]change.Row{wRow("1", "NULL"), wRow("2", "NULL")}},
		// A parent key renamed and renamed back: rows read before, between and after the
		// two actions all end with the key they have at the source.
		{"rename and back, read at any point",
			[]change.Row{wRow("1", "5"), wRow("2", "7"), wRow("3", "5")},
			[]windowFK{
				{edge: edge("country", "city"), before: wRow("5", "a"), after: wRow("7", "a")},
				{edge: edge("country", "city"), before: wRow("7", "a"), after: wRow("5", "a")},
			},
			[]change.Row{wRow("1", "5"), wRow("2", "5"), wRow("3", "5")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := fkReplay(c.rows, c.acts)
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("fkReplay = %q, want %q", got, c.want)
			}
		})
	}
}

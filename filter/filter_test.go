package filter

import (
	"strings"
	"testing"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
)

func TestParseRefuses(t *testing.T) {
	cases := []struct{ text, want string }{
		{"", "empty expression"},
		{"SLEEP(1) = 0", "function SLEEP is not supported"},
		{"a = (SELECT 1)", "subqueries are not supported"},
		{"a IN (SELECT 1)", "IN (SELECT ...) is not supported"},
		{"@x = 1", "variables"},
		{"t.a = 1", "name columns without their table"},
		{"a REGEXP 'x'", "is not supported"},
		{"CAST(a AS CHAR) = '1'", "CAST/CONVERT is not supported"},
		{"a = 1 ORDER BY a", "does not parse"},
		{"a = 1) OR (1", "unbalanced parentheses"},
		{"a = 1) AND (b = 2", "unbalanced parentheses"},
		{"a = x'41'", "literal"},
		{"a ILIKE 'x'", "ILIKE is not supported"},
		{"a & 1", "operator"},
		{"LOWER(a, b) = 'x'", "wrong number of arguments"},
	}
	for _, c := range cases {
		_, err := Parse(c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", c.text, err, c.want)
		}
	}
}

func TestBindAndMatch(t *testing.T) {
	tbl := &schema.Table{Schema: "db", Name: "t", Columns: []schema.Column{
		{Name: "id", DataType: "int"}, {Name: "status", DataType: "varchar", Collation: "utf8mb4_general_ci"},
		{Name: "at", DataType: "datetime"}, {Name: "doc", DataType: "json"}, {Name: "kind", DataType: "enum"},
	}}
	e, err := Parse("status <> 'draft' AND id IN (1, 2) -- trailing comment")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Columns(); len(got) != 2 || got[0] != "status" || got[1] != "id" {
		t.Errorf("Columns() = %v", got)
	}
	b, err := e.Bind(tbl)
	if err != nil {
		t.Fatal(err)
	}
	rows := []struct {
		row  change.Row
		want bool
	}{
		{change.Row{[]byte("1"), []byte("live"), nil, nil, nil}, true},
		{change.Row{[]byte("1"), []byte("DRAFT "), nil, nil, nil}, false},
		{change.Row{[]byte("3"), []byte("live"), nil, nil, nil}, false},
		{change.Row{[]byte("2"), nil, nil, nil, nil}, false},
	}
	for _, r := range rows {
		if got := b.Match(r.row); got != r.want {
			t.Errorf("Match(%q) = %v, want %v", r.row, got, r.want)
		}
	}
	for text, want := range map[string]string{
		"nope = 1":             "table db.t: unknown column nope",
		"doc = '{}'":           "column doc is of type json",
		"at > 'yesterday'":     "'yesterday' is not a date",
		"at BETWEEN 1 AND 'x'": "'x' is not a date",
		"kind = 1":             "ENUM/SET column kind used as a number",
		"kind IN ('a', 2)":     "ENUM/SET column kind used as a number",
		"kind + 0 > 1":         "ENUM/SET column kind used as a number",
		"-kind < 0":            "ENUM/SET column kind used as a number",
	} {
		e, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", text, err)
		}
		if _, err := e.Bind(tbl); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Bind(%q) = %v, want %q", text, err, want)
		}
	}
}

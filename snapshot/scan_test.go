package snapshot

import (
	"sort"
	"strings"
	"testing"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/schema"
)

func TestStatementTables(t *testing.T) {
	p := ddl.Parser{Flavor: ddl.Flavor("mariadb")}
	cases := []struct {
		query string
		want  []string // must all be among the tables found
	}{
		{"ALTER TABLE small RENAME COLUMN a TO tmp", []string{"db.small"}},
		{"ALTER TABLE other.t DROP COLUMN b", []string{"other.t"}},
		{"RENAME TABLE t1 TO t2, x.a TO x.b", []string{"db.t1", "db.t2", "x.a", "x.b"}},
		{"TRUNCATE TABLE t", []string{"db.t"}},
		{"DROP TABLE IF EXISTS t, u", []string{"db.t", "db.u"}},
		{"CREATE TABLE n (id INT PRIMARY KEY)", []string{"db.n"}},
		// The parser does not take this; every name counts.
		{"ALTER TABLE `weird` ADD COLUMN c INET6", []string{"db.weird"}},
	}
	for _, tc := range cases {
		found := map[string]bool{}
		for _, n := range statementTables(p, "db", tc.query) {
			found[n.String()] = true
		}
		for _, w := range tc.want {
			if !found[w] {
				names := make([]string, 0, len(found))
				for n := range found {
					names = append(names, n)
				}
				sort.Strings(names)
				t.Errorf("%s: %s not among %v", tc.query, w, names)
			}
		}
	}
}

func TestKeysQuery(t *testing.T) {
	tbl := &schema.Table{Schema: "s", Name: "t", Columns: []schema.Column{
		{Name: "id", DataType: "bigint"}, {Name: "code", DataType: "varchar"}, {Name: "bin", DataType: "varbinary"}, {Name: "v", DataType: "int"},
	}, Key: []int{0, 1, 2}}
	p := &plan.Table{Table: tbl, Columns: []int{0, 1, 2, 3}}
	keys := []change.Row{{[]byte("-7"), []byte("it's"), []byte{0, 0xff}, nil}, {[]byte("8"), []byte(""), []byte{}, nil}}
	q, err := keysQuery(p, keys)
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT `id`, `code`, `bin`, `v` FROM `s`.`t` WHERE (`id`, `code`, `bin`) IN ((-7, _utf8mb4 X'69742773', X'00ff'), (8, _utf8mb4 X'', X''))"
	if q != want {
		t.Errorf("query\n%s\nwant\n%s", q, want)
	}
	if _, err := keysQuery(p, []change.Row{{[]byte("1; DROP"), []byte("a"), []byte("b"), nil}}); err == nil || !strings.Contains(err.Error(), "not a number") {
		t.Errorf("a non-numeric integer key gave %v", err)
	}
}

package ddl

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/replicator/replicator/schema"
)

// baseTable is where the Apply cases start: columns a, b, c, d; key a; indexes kbc (b, c)
// and ud (d).
func baseTable(t *testing.T) *schema.Table {
	t.Helper()
	chs, err := Parse("CREATE TABLE t (a int PRIMARY KEY, b int, c varchar(5), d int NOT NULL, KEY kbc (b, c), UNIQUE KEY ud (d))", "db")
	if err != nil {
		t.Fatal(err)
	}
	return chs[0].(*CreateTable).Table
}

// layout renders what row decoding depends on: the column order, the key and the indexes.
func layout(t *schema.Table) string {
	var cols []string
	for _, c := range t.Columns {
		cols = append(cols, c.Name)
	}
	var ixs []string
	for _, ix := range t.Indexes {
		u := ""
		if ix.Unique {
			u = "!"
		}
		ixs = append(ixs, ix.Name+u+"("+strings.Join(ix.Columns, ",")+")")
	}
	key := strings.Join(t.KeyNames(), ",")
	if !t.KeyIsPrimary && key != "" {
		key += " (configured)"
	}
	return fmt.Sprintf("%s | key %s | %s", strings.Join(cols, ","), key, strings.Join(ixs, " "))
}

func TestApplyAlterPositions(t *testing.T) {
	cases := []struct{ sql, want string }{
		{"ALTER TABLE t ADD COLUMN e int", "a,b,c,d,e | key a | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t ADD COLUMN e int FIRST", "e,a,b,c,d | key a | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t ADD COLUMN e int AFTER b", "a,b,e,c,d | key a | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t ADD COLUMN e int AFTER d", "a,b,c,d,e | key a | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t ADD COLUMN e int AFTER B", "a,b,e,c,d | key a | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t ADD COLUMN e int FIRST, ADD COLUMN f int AFTER e, ADD COLUMN g int", "e,f,a,b,c,d,g | key a | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t ADD (e int, f int)", "a,b,c,d,e,f | key a | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t DROP COLUMN b", "a,c,d | key a | kbc(c) ud!(d)"},
		{"ALTER TABLE t DROP COLUMN b, DROP COLUMN c", "a,d | key a | ud!(d)"},
		{"ALTER TABLE t DROP COLUMN d", "a,b,c | key a | kbc(b,c)"},
		{"ALTER TABLE t DROP COLUMN a", "b,c,d | key  | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t MODIFY c text FIRST", "c,a,b,d | key a | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t MODIFY a bigint AFTER d", "b,c,d,a | key a | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t MODIFY b bigint", "a,b,c,d | key a | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t CHANGE b bb bigint", "a,bb,c,d | key a | kbc(bb,c) ud!(d)"},
		{"ALTER TABLE t CHANGE a id bigint AFTER c", "b,c,id,d | key id | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t CHANGE b c int, CHANGE c b varchar(5)", "a,c,b,d | key a | kbc(c,b) ud!(d)"},
		{"ALTER TABLE t RENAME COLUMN b TO c, RENAME COLUMN c TO b", "a,c,b,d | key a | kbc(c,b) ud!(d)"},
		{"ALTER TABLE t RENAME COLUMN a TO x", "x,b,c,d | key x | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t DROP COLUMN b, ADD COLUMN b int FIRST", "b,a,c,d | key a | kbc(c) ud!(d)"},
		{"ALTER TABLE t DROP COLUMN c, CHANGE b c int", "a,c,d | key a | kbc(c) ud!(d)"},
		{"ALTER TABLE t ADD COLUMN e int AFTER a, MODIFY d int FIRST, DROP COLUMN b", "d,a,e,c | key a | kbc(c) ud!(d)"},
		{"ALTER TABLE t MODIFY a int FIRST, MODIFY c int AFTER a", "a,c,b,d | key a | kbc(b,c) ud!(d)"},
		// the old columns keep their order first, then moved and added columns go in:
		// AFTER may name a column renamed later in the statement, or one added before
		{"ALTER TABLE t MODIFY a int AFTER c2, CHANGE c c2 int", "b,c2,a,d | key a | kbc(b,c2) ud!(d)"},
		{"ALTER TABLE t ADD COLUMN e int, MODIFY a int AFTER e", "b,c,d,e,a | key a | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t MODIFY b int AFTER d, ADD COLUMN e int AFTER b", "a,c,d,b,e | key a | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t ADD COLUMN e int AFTER b, MODIFY b int AFTER d", "a,e,c,d,b | key a | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t MODIFY b int AFTER c, MODIFY c varchar(5) FIRST", "c,a,b,d | key a | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t ADD COLUMN e int FIRST, MODIFY d int AFTER e, DROP COLUMN a", "e,d,b,c | key  | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t DROP PRIMARY KEY, ADD PRIMARY KEY (c, b)", "a,b,c,d | key c,b | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t DROP PRIMARY KEY", "a,b,c,d | key  | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t ADD INDEX (c), ADD UNIQUE (b, d), ADD INDEX (c)", "a,b,c,d | key a | kbc(b,c) ud!(d) c(c) b!(b,d) c_2(c)"},
		{"ALTER TABLE t DROP INDEX kbc, ADD INDEX kbc (d, b)", "a,b,c,d | key a | ud!(d) kbc(d,b)"},
		{"ALTER TABLE t RENAME INDEX kbc TO k2, DROP INDEX ud", "a,b,c,d | key a | k2(b,c)"},
		{"ALTER TABLE t ADD COLUMN e int UNIQUE FIRST, ADD COLUMN f int", "e,a,b,c,d,f | key a | kbc(b,c) ud!(d) e!(e)"},
		{"ALTER TABLE t ADD COLUMN IF NOT EXISTS b text, ADD COLUMN IF NOT EXISTS e int, DROP COLUMN IF EXISTS z, DROP INDEX IF EXISTS z, ADD INDEX IF NOT EXISTS kbc (a)",
			"a,b,c,d,e | key a | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t DROP CONSTRAINT ud", "a,b,c,d | key a | kbc(b,c)"},
		{"ALTER TABLE t ADD CONSTRAINT f1 FOREIGN KEY (c) REFERENCES u (x), ADD FOREIGN KEY (b) REFERENCES u (y), ADD FOREIGN KEY (a) REFERENCES u (z)",
			"a,b,c,d | key a | kbc(b,c) ud!(d) f1(c)"},
		{"CREATE INDEX x ON t (d, a)", "a,b,c,d | key a | kbc(b,c) ud!(d) x(d,a)"},
		{"DROP INDEX `PRIMARY` ON t", "a,b,c,d | key  | kbc(b,c) ud!(d)"},
		{"ALTER TABLE t RENAME TO u, ADD COLUMN e int", "a,b,c,d,e | key a | kbc(b,c) ud!(d)"},
	}
	for _, c := range cases {
		base := baseTable(t)
		before := layout(base)
		chs, err := Parse(c.sql, "db")
		if err != nil {
			t.Errorf("%q: %v", c.sql, err)
			continue
		}
		got, err := ApplyAlter(base, chs[0].(*AlterTable))
		if err != nil {
			t.Errorf("%q: %v", c.sql, err)
			continue
		}
		if l := layout(got); l != c.want {
			t.Errorf("%q:\n got  %s\n want %s", c.sql, l, c.want)
		}
		if layout(base) != before {
			t.Errorf("%q changed the input table", c.sql)
		}
	}
}

func TestApplyColumnDefinitions(t *testing.T) {
	base := baseTable(t)
	chs, err := Parser{Flavor: MariaDB}.Parse("ALTER TABLE t MODIFY a bigint NULL, CHANGE b Bee varchar(9) DEFAULT 'x' AFTER d, "+
		"ALTER COLUMN d SET DEFAULT 5, ADD COLUMN e bit(4), ALTER e SET DEFAULT 5, ALTER COLUMN c DROP DEFAULT", "db")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ApplyAlter(base, chs[0].(*AlterTable))
	if err != nil {
		t.Fatal(err)
	}
	a, bee, d, e, c := got.Columns[0], got.Columns[3], got.Columns[2], got.Columns[4], got.Columns[1]
	if a.DataType != "bigint" || a.Nullable { // a primary key column stays NOT NULL
		t.Errorf("a: %+v", a)
	}
	if bee.Name != "Bee" || bee.ColumnType != "varchar(9)" || *bee.Default != "'x'" {
		t.Errorf("Bee: %+v", bee)
	}
	if *d.Default != "5" || *e.Default != "b'101'" || *c.Default != "NULL" {
		t.Errorf("defaults: d %q e %q c %q", *d.Default, *e.Default, *c.Default)
	}
	single, err := Apply(base, &ConvertCharset{Charset: "latin1", Collation: "latin1_bin"})
	if err != nil {
		t.Fatal(err)
	}
	if c := single.Columns[2]; c.Charset != "latin1" || c.Collation != "latin1_bin" || single.Columns[1].Charset != "" {
		t.Errorf("convert: %+v", single.Columns)
	}
	if base.Columns[2].Charset != "" {
		t.Error("Apply changed its input")
	}
	fk, err := Apply(base, &AddForeignKey{ForeignKey: schema.ForeignKey{OnDelete: "SET NULL", OnUpdate: "RESTRICT", RefTable: "u"}, Columns: []string{"b"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(fk.ForeignKeys) != 1 || fk.ForeignKeys[0].Name != "t_ibfk_1" || layout(fk) != "a,b,c,d | key a | kbc(b,c) ud!(d)" {
		t.Errorf("foreign key: %+v %s", fk.ForeignKeys, layout(fk))
	}
	dropped, err := Apply(fk, &DropForeignKey{Name: "T_IBFK_1"})
	if err != nil || len(dropped.ForeignKeys) != 0 {
		t.Errorf("drop foreign key: %v %+v", err, dropped.ForeignKeys)
	}
}

func TestApplyConfiguredKey(t *testing.T) {
	chs, _ := Parse("CREATE TABLE t (a int NOT NULL, b int NOT NULL, c int)", "db")
	base := chs[0].(*CreateTable).Table
	if err := base.SetKey([]string{"b"}); err != nil {
		t.Fatal(err)
	}
	got, err := Apply(base, &AddColumn{Column: schema.Column{Name: "z", DataType: "int"}, Position: Position{Kind: PositionFirst}})
	if err != nil {
		t.Fatal(err)
	}
	if l := layout(got); l != "z,a,b,c | key b (configured) | " {
		t.Errorf("got %s", l)
	}
	if _, err := Apply(base, &DropPrimaryKey{}); err == nil {
		t.Error("DROP PRIMARY KEY of a table with only a configured key must not apply")
	}
	got, err = Apply(base, &AddPrimaryKey{Columns: []string{"c"}})
	if err != nil {
		t.Fatal(err)
	}
	if l := layout(got); l != "a,b,c | key c | " || got.Columns[2].Nullable {
		t.Errorf("got %s, c nullable %v", l, got.Columns[2].Nullable)
	}
}

func TestApplyErrors(t *testing.T) {
	for _, sql := range []string{
		"ALTER TABLE t ADD COLUMN b int",
		"ALTER TABLE t ADD COLUMN e int AFTER nope",
		"ALTER TABLE t DROP COLUMN nope",
		"ALTER TABLE t MODIFY nope int",
		"ALTER TABLE t CHANGE nope x int",
		"ALTER TABLE t RENAME COLUMN nope TO x",
		"ALTER TABLE t CHANGE b c int",
		"ALTER TABLE t ALTER nope SET DEFAULT 1",
		"ALTER TABLE t ADD INDEX kbc (a)",
		"ALTER TABLE t ADD INDEX (nope)",
		"ALTER TABLE t DROP INDEX nope",
		"ALTER TABLE t RENAME INDEX nope TO x",
		"ALTER TABLE t RENAME INDEX kbc TO ud",
		"ALTER TABLE t ADD PRIMARY KEY (b)",
		"ALTER TABLE t ADD COLUMN x int, DROP COLUMN x",
		"ALTER TABLE t DROP COLUMN a, DROP COLUMN b, DROP COLUMN c, DROP COLUMN d",
		"ALTER TABLE t RENAME COLUMN b TO x, RENAME COLUMN x TO y",
		"ALTER TABLE t ADD COLUMN f int KEY", // a second primary key
	} {
		chs, err := Parse(sql, "db")
		if err != nil {
			t.Errorf("%q: %v", sql, err)
			continue
		}
		_, err = ApplyAlter(baseTable(t), chs[0].(*AlterTable))
		var ae *ApplyError
		if !errors.As(err, &ae) || ae.Table != (TableName{"db", "t"}) {
			t.Errorf("%q: error %v, want *ApplyError", sql, err)
		}
	}
}

func TestCatalog(t *testing.T) {
	p := Parser{}
	cat := Catalog{}
	apply := func(sql string) error {
		t.Helper()
		chs, err := p.Parse(sql, "db")
		if err != nil {
			t.Fatalf("%q: %v", sql, err)
		}
		var errs []error
		for _, ch := range chs {
			errs = append(errs, cat.Apply(ch))
		}
		return errors.Join(errs...)
	}
	names := func() string {
		var out []string
		for _, n := range []string{"a", "b", "c", "tmp", "_a_gho", "_a_del", "e"} {
			if tb := cat.Lookup("db", n); tb != nil {
				out = append(out, n+"="+tb.Columns[0].Name)
			}
		}
		return strings.Join(out, " ")
	}
	for _, s := range []string{
		"CREATE TABLE a (a1 int PRIMARY KEY)",
		"CREATE TABLE b (b1 int PRIMARY KEY)",
		"CREATE TABLE IF NOT EXISTS a (other int)", // kept
		"RENAME TABLE a TO tmp, b TO a, tmp TO b",  // swap
		"CREATE TABLE c LIKE a",
		"ALTER TABLE c ADD COLUMN c0 int FIRST",
	} {
		if err := apply(s); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
	}
	if got := names(); got != "a=b1 b=a1 c=c0" {
		t.Errorf("after swap: %s", got)
	}
	if tb := cat.Lookup("db", "b"); tb.Name != "b" || tb.Schema != "db" {
		t.Errorf("renamed definition keeps its old name: %s", tb.QualifiedName())
	}
	// A gh-ost cut-over whose ghost table is not tracked leaves "a" without a definition.
	err := apply("RENAME TABLE a TO _a_del, _a_gho TO a")
	var nt *NotTrackedError
	if !errors.As(err, &nt) || nt.Table != (TableName{"db", "a"}) || nt.Missing != (TableName{"db", "_a_gho"}) || !errors.Is(err, ErrNotTracked) {
		t.Errorf("ghost rename: %v", err)
	}
	if got := names(); got != "b=a1 c=c0 _a_del=b1" {
		t.Errorf("after ghost rename: %s", got)
	}
	if err := apply("ALTER TABLE nope ADD COLUMN x int"); !errors.As(err, &nt) || nt.Table.Name != "nope" {
		t.Errorf("alter untracked: %v", err)
	}
	if err := apply("ALTER TABLE IF EXISTS nope ADD COLUMN x int"); err != nil {
		t.Errorf("alter if exists untracked: %v", err)
	}
	if err := apply("CREATE TABLE e LIKE nope"); !errors.As(err, &nt) || nt.Table.Name != "e" || nt.Missing.Name != "nope" {
		t.Errorf("like untracked: %v", err)
	}
	if err := apply("ALTER TABLE b DROP COLUMN nope"); err == nil {
		t.Error("a change that does not fit must fail")
	}
	if err := apply("CREATE OR REPLACE TABLE b (z int)"); err != nil || names() != "b=z c=c0 _a_del=b1" {
		t.Errorf("create or replace: %v %s", err, names())
	}
	if err := apply("DROP TABLE IF EXISTS c, nope; TRUNCATE b"); err != nil || names() != "b=z _a_del=b1" {
		t.Errorf("drop: %v %s", err, names())
	}
	if err := apply("DROP DATABASE db"); err != nil || len(cat) != 0 {
		t.Errorf("drop database: %v %v", err, cat)
	}
}

// InfoDefault reads back what Parse and Apply write into schema.Column.Default, for both
// flavors: the default a snapshot-loaded table renders must be the parsed one.
func TestInfoDefaultRoundTrip(t *testing.T) {
	sql := "CREATE TABLE t (id int PRIMARY KEY, a varchar(20) DEFAULT 'it''s \\\\ x', b decimal(10,2) DEFAULT '9.5', " +
		"c datetime(3) DEFAULT CURRENT_TIMESTAMP(3), d timestamp NULL DEFAULT NOW(), e bit(5) DEFAULT b'101', f int DEFAULT NULL, " +
		"g varchar(36) DEFAULT (uuid()), h enum('x','y') NOT NULL DEFAULT 'y', i double DEFAULT -1.5e3, j text, k date DEFAULT '0000-00-00')"
	for _, flavor := range []Flavor{MySQL, MariaDB} {
		chs, err := Parser{Flavor: flavor}.Parse(sql, "d")
		if err != nil {
			t.Fatal(err)
		}
		ct := chs[0].(*CreateTable)
		for i := range ct.Table.Columns {
			col := &ct.Table.Columns[i]
			want := ct.Defaults[i]
			if want.Kind == NoDefault && flavor == MariaDB && col.Nullable {
				want.Kind = DefaultNull // MariaDB shows NULL; both mean no DEFAULT clause
			}
			if want.Kind == DefaultNull && (flavor != MariaDB || !col.Nullable) {
				want = Default{} // information_schema shows no default
			}
			if want.Kind == DefaultCurrentTimestamp && want.Value == "0" {
				want.Value = ""
			}
			if got := InfoDefault(col, flavor); got != want {
				t.Errorf("%s %s (%v): got %+v, want %+v", flavor, col.Name, col.Default, got, want)
			}
		}
	}
}

// Prefix lengths stay with their key parts when a column leaves an index or an index is
// added, so a target re-creating the index keeps the prefix.
func TestApplyIndexLengths(t *testing.T) {
	chs, err := Parse("CREATE TABLE t (id int PRIMARY KEY, a int, tx text, v varchar(50), KEY k (a, tx(10), v))", "d")
	if err != nil {
		t.Fatal(err)
	}
	tb := chs[0].(*CreateTable).Table
	if want := []int{0, 10, 0}; !reflect.DeepEqual(tb.Indexes[0].Lengths, want) {
		t.Fatalf("lengths %v, want %v", tb.Indexes[0].Lengths, want)
	}
	for _, c := range []struct {
		sql  string
		want []schema.Index
	}{
		{"ALTER TABLE t DROP COLUMN a", []schema.Index{{Name: "k", Columns: []string{"tx", "v"}, Lengths: []int{10, 0}}}},
		{"ALTER TABLE t DROP COLUMN tx", []schema.Index{{Name: "k", Columns: []string{"a", "v"}}}},
		{"ALTER TABLE t ADD INDEX p (v(5))", []schema.Index{{Name: "k", Columns: []string{"a", "tx", "v"}, Lengths: []int{0, 10, 0}}, {Name: "p", Columns: []string{"v"}, Lengths: []int{5}}}},
	} {
		chs, err := Parse(c.sql, "d")
		if err != nil {
			t.Fatal(err)
		}
		got, err := ApplyAlter(tb, chs[0].(*AlterTable))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Indexes, c.want) {
			t.Errorf("%s: indexes %+v, want %+v", c.sql, got.Indexes, c.want)
		}
	}
}

package transform_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/transform"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func compile(t *testing.T, s transform.Spec) *transform.Rules {
	t.Helper()
	r, err := transform.Compile(s, env(map[string]string{transform.DefaultHashKeyEnv: testKey}))
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return r
}

func TestCompileErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		spec transform.Spec
		env  map[string]string
		want string
	}{
		{"duplicate target", transform.Spec{Rule: 1, Rename: map[string]string{"a": "x", "b": "x"}}, nil, `tables[1].rename: columns "a" and "b" are both renamed to "x"`},
		{"duplicate target by case", transform.Spec{Rule: 1, Rename: map[string]string{"a": "x", "b": "X"}}, nil, `tables[1].rename: columns "a" and "b" are both renamed to "X"`},
		{"same source twice", transform.Spec{Rule: 0, Rename: map[string]string{"Email": "x", "email": "y"}}, nil, `tables[0].rename: column "email" listed twice`},
		{"empty target", transform.Spec{Rule: 2, Rename: map[string]string{"a": " "}}, nil, `tables[2].rename: column "a" renamed to an empty name`},
		{"dotted target", transform.Spec{Rule: 2, Rename: map[string]string{"a": "b.c"}}, nil, `tables[2].rename: column "a" renamed to "b.c": a target name must not contain '.'`},
		{"too long", transform.Spec{Rule: 2, Rename: map[string]string{"a": strings.Repeat("x", 64)}}, nil, `longer than the 63 bytes`},
		{"onto metadata name", transform.Spec{Rule: 3, Rename: map[string]string{"a": "replicator_gtid"}}, nil, `tables[3].rename: column "a" renamed to "replicator_gtid", the name of a metadata column`},
		{"underscore for Elasticsearch", transform.Spec{Rule: 3, Rename: map[string]string{"a": "_a"}, Elasticsearch: true}, nil, `tables[3].rename: column "a" renamed to "_a": Elasticsearch field names must not start with '_'`},
		{"rename excluded", transform.Spec{Rule: 1, Rename: map[string]string{"a": "b"}, Exclude: []string{"A"}}, nil, `tables[1].rename: column "a" is not replicated`},
		{"rename not in columns", transform.Spec{Rule: 1, Rename: map[string]string{"a": "b"}, Columns: []string{"id"}}, nil, `tables[1].rename: column "a" is not replicated`},
		{"hash excluded", transform.Spec{Rule: 4, Hash: []string{"a"}, Exclude: []string{"a"}}, map[string]string{transform.DefaultHashKeyEnv: testKey}, `tables[4].hash: column "a" is not replicated`},
		{"hash twice", transform.Spec{Rule: 4, Hash: []string{"a", "A"}}, map[string]string{transform.DefaultHashKeyEnv: testKey}, `tables[4].hash: column "A" listed twice`},
		{"hash empty", transform.Spec{Rule: 4, Hash: []string{""}}, nil, `tables[4].hash: empty column name`},
		{"key unset", transform.Spec{Rule: 0, Hash: []string{"a"}}, nil, `tables[0].hash: the hash key's environment variable REPLICATOR_HASH_KEY is not set (tables[0].hash_key_env`},
		{"own key unset", transform.Spec{Rule: 0, Hash: []string{"a"}, HashKeyEnv: "SHOP_KEY"}, map[string]string{transform.DefaultHashKeyEnv: testKey}, `environment variable SHOP_KEY is not set`},
		{"key short", transform.Spec{Rule: 0, Hash: []string{"a"}}, map[string]string{transform.DefaultHashKeyEnv: "s3cr3t"}, `tables[0].hash: the key in environment variable REPLICATOR_HASH_KEY has 6 bytes, fewer than the 16 required`},
		{"key env without hash", transform.Spec{Rule: 5, HashKeyEnv: "K"}, nil, `tables[5].hash_key_env is set but hash is not`},
		{"key env without hash, other transforms", transform.Spec{Rule: 5, HashKeyEnv: "K", Metadata: []string{"gtid"}}, nil, `tables[5].hash_key_env is set but hash is not`},
		{"unknown metadata", transform.Spec{Rule: 6, Metadata: []string{"gtid", "binlog_file"}}, nil, `tables[6].metadata: "binlog_file" is not a metadata column; use source_db, source_table, commit_time or gtid`},
		{"metadata twice", transform.Spec{Rule: 6, Metadata: []string{"gtid", "gtid"}}, nil, `tables[6].metadata: "gtid" listed twice`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := transform.Compile(tc.spec, env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			for _, v := range tc.env {
				if strings.Contains(err.Error(), v) {
					t.Fatalf("error shows the key: %v", err)
				}
			}
		})
	}
}

func TestCompileNothingIsNil(t *testing.T) {
	t.Parallel()
	r, err := transform.Compile(transform.Spec{Rule: 0}, env(nil))
	if err != nil || r != nil {
		t.Fatalf("Compile(no transforms) = %v, %v; want nil, nil", r, err)
	}
	// A nil Rules is the identity: callers need no special case.
	if r.TargetName("a") != "a" || r.Hashed("a") || r.Describe() != "" || r.Secret() != "" {
		t.Fatal("nil Rules transforms something")
	}
	def := orders()
	v, err := r.View(def, []int{0, 1, 2, 3}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v.Table.Columns, def.Columns) || !reflect.DeepEqual(v.Table.Indexes, def.Indexes) {
		t.Fatalf("nil Rules view = %+v", v.Table)
	}
	src := change.Row{[]byte("1"), []byte("a"), nil, []byte("s")}
	if row := v.Row(src, transform.Origin{GTID: "0-1-1"}); !reflect.DeepEqual(row, src) {
		t.Fatalf("nil Rules row = %q", row)
	}
}

// orders is a definition with a primary key, a unique index on email and a prefix index
// on note.
func orders() *schema.Table {
	return &schema.Table{
		Schema: "shop", Name: "orders",
		Columns: []schema.Column{
			{Name: "id", DataType: "bigint"},
			{Name: "email", DataType: "varchar", CharLength: 200, Charset: "utf8mb4", Nullable: true},
			{Name: "note", DataType: "text", Charset: "utf8mb4", Nullable: true},
			{Name: "secret", DataType: "varchar", CharLength: 20},
		},
		Key: []int{0}, KeyIsPrimary: true,
		Indexes: []schema.Index{
			{Name: "u_email", Unique: true, Columns: []string{"email"}},
			{Name: "i_note", Columns: []string{"note", "email"}, Lengths: []int{10, 0}},
			{Name: "ft_note", Kind: "FULLTEXT", Columns: []string{"note"}},
		},
	}
}

func TestViewRenameHashMetadata(t *testing.T) {
	t.Parallel()
	r := compile(t, transform.Spec{
		Rule:     0,
		Rename:   map[string]string{"email": "contact_email", "NOTE": "remark"},
		Hash:     []string{"email", "note"},
		Metadata: []string{"gtid", "commit_time", "source_db", "source_table"},
		Exclude:  []string{"secret"},
	})
	def := orders()
	v, err := r.View(def, []int{0, 1, 2}, false)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range v.Table.Columns {
		names = append(names, c.Name)
	}
	if want := []string{"id", "contact_email", "remark", "replicator_gtid", "replicator_commit_time", "replicator_source_db", "replicator_source_table"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("columns = %v, want %v", names, want)
	}
	if !reflect.DeepEqual(v.Table.Key, []int{0}) || !v.Table.KeyIsPrimary {
		t.Fatalf("key = %v", v.Table.Key)
	}
	wantIx := []schema.Index{
		{Name: "u_email", Unique: true, Columns: []string{"contact_email"}},
		{Name: "i_note", Columns: []string{"remark", "contact_email"}, Lengths: []int{0, 0}},
	}
	if !reflect.DeepEqual(v.Table.Indexes, wantIx) {
		t.Fatalf("indexes = %+v, want %+v", v.Table.Indexes, wantIx)
	}
	if def.Indexes[1].Lengths[0] != 10 || def.Columns[1].Name != "email" {
		t.Fatal("View changed the source definition")
	}

	at := time.Date(2026, 12, 2, 19, 30, 5, 0, time.FixedZone("CET", 3600))
	row := v.Row(change.Row{[]byte("7"), []byte("ann@example.com"), nil, []byte("pw")}, transform.Origin{GTID: "0-1-42", Time: at})
	want := change.Row{[]byte("7"), []byte(reference(testKey, "ann@example.com")), nil, []byte("0-1-42"), []byte("2026-12-02 18:30:05"), []byte("shop"), []byte("orders")}
	if !reflect.DeepEqual(row, want) {
		t.Fatalf("row =\n%q\nwant\n%q", row, want)
	}
	// A snapshot row: NULL commit time, the snapshot's GTID set.
	snap := v.Row(change.Row{[]byte("7"), nil, []byte("n"), []byte("pw")}, transform.Origin{GTID: "0-1-40"})
	if snap[4] != nil || string(snap[3]) != "0-1-40" || string(snap[2]) != reference(testKey, "n") {
		t.Fatalf("snapshot row = %q", snap)
	}
}

func TestHashedKeyColumn(t *testing.T) {
	t.Parallel()
	r := compile(t, transform.Spec{Hash: []string{"id"}})
	v, err := r.View(orders(), []int{0, 1}, false)
	if err != nil {
		t.Fatal(err)
	}
	before := v.Row(change.Row{[]byte("7"), nil, nil, nil}, transform.Origin{})
	after := v.Row(change.Row{[]byte("7"), []byte("x"), nil, nil}, transform.Origin{})
	if string(before[0]) != reference(testKey, "7") || string(before[0]) != string(after[0]) {
		t.Fatalf("hashed key differs between images: %q, %q", before[0], after[0])
	}
	if c := v.Table.Columns[0]; c.DataType != "char" || c.Nullable {
		t.Fatalf("hashed key column = %+v", c)
	}
}

func TestViewRefusals(t *testing.T) {
	t.Parallel()
	withFK := orders()
	withFK.ForeignKeys = []schema.ForeignKey{{Name: "fk_email", OnDelete: "CASCADE", OnUpdate: "RESTRICT", RefTable: "people", Columns: []string{"email"}, RefColumns: []string{"mail"}}}
	withMeta := orders()
	withMeta.Columns = append(withMeta.Columns, schema.Column{Name: "REPLICATOR_GTID", DataType: "int"})
	cases := []struct {
		name     string
		spec     transform.Spec
		def      *schema.Table
		cols     []int
		wildcard bool
		want     string // "" for no error
	}{
		{"rename unknown", transform.Spec{Rule: 2, Rename: map[string]string{"mail": "x"}}, orders(), []int{0, 1, 2, 3}, false, `tables[2].rename: column "mail" does not exist in shop.orders`},
		{"rename unknown, pattern", transform.Spec{Rule: 2, Rename: map[string]string{"mail": "x"}}, orders(), []int{0, 1, 2, 3}, true, ""},
		{"hash unknown", transform.Spec{Rule: 2, Hash: []string{"phone"}}, orders(), []int{0, 1, 2, 3}, false, `tables[2].hash: column "phone" does not exist in shop.orders`},
		{"rename onto replicated column", transform.Spec{Rule: 1, Rename: map[string]string{"email": "Note"}}, orders(), []int{0, 1, 2, 3}, false, `tables[1].rename: column "email" of shop.orders renamed to "Note", the name of column "note", which is replicated too`},
		{"swap is fine", transform.Spec{Rule: 1, Rename: map[string]string{"email": "note", "note": "email"}}, orders(), []int{0, 1, 2, 3}, false, ""},
		{"rename onto excluded column is fine", transform.Spec{Rule: 1, Rename: map[string]string{"email": "secret"}}, orders(), []int{0, 1, 2}, false, ""},
		{"source column named like metadata", transform.Spec{Rule: 3, Metadata: []string{"gtid"}}, withMeta, []int{0, 1, 2, 3, 4}, false, `tables[3].metadata: shop.orders already has a column named replicator_gtid (source column "REPLICATOR_GTID")`},
		{"metadata name not added", transform.Spec{Rule: 3, Metadata: []string{"source_db"}}, withMeta, []int{0, 1, 2, 3, 4}, false, ""},
		{"hashed FK column with action", transform.Spec{Rule: 0, Hash: []string{"email"}}, withFK, []int{0, 1, 2, 3}, false, `tables[0].hash: column "email" of shop.orders is in foreign key fk_email with an action`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := compile(t, tc.spec)
			_, err := r.View(tc.def, tc.cols, tc.wildcard)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("View: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestRenamedForeignKeyColumns(t *testing.T) {
	t.Parallel()
	def := orders()
	def.ForeignKeys = []schema.ForeignKey{{Name: "fk", OnDelete: "CASCADE", RefTable: "people", Columns: []string{"email"}, RefColumns: []string{"mail"}}}
	v, err := compile(t, transform.Spec{Rename: map[string]string{"email": "contact"}}).View(def, []int{0, 1, 2, 3}, false)
	if err != nil {
		t.Fatal(err)
	}
	if fk := v.Table.ForeignKeys[0]; fk.Columns[0] != "contact" || fk.RefColumns[0] != "mail" || def.ForeignKeys[0].Columns[0] != "email" {
		t.Fatalf("foreign key = %+v", fk)
	}
}

func TestCheckRename(t *testing.T) {
	t.Parallel()
	r := compile(t, transform.Spec{Rule: 4, Rename: map[string]string{"Email": "contact"}, Hash: []string{"phone"}})
	cases := []struct {
		from, to string
		want     string
	}{
		{"email", "mail", `column email of shop.orders renamed to mail at the source, but tables[4].rename names "Email": change tables[4].rename to the new source name`},
		{"x", "EMAIL", `tables[4].rename names "Email"`},
		{"phone", "tel", `tables[4].hash names "phone"`},
		{"old", "phone", `tables[4].hash names "phone"`},
		{"a", "b", ""},
		{"email", "EMAIL", ""},
	}
	for _, tc := range cases {
		err := r.CheckRename("shop.orders", tc.from, tc.to)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckRename(%s, %s) = %v, want %q", tc.from, tc.to, err, tc.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	r := compile(t, transform.Spec{Rename: map[string]string{"b": "y", "a": "x"}, Hash: []string{"email"}, Metadata: []string{"gtid", "commit_time"}})
	want := "rename a -> x, b -> y; hash email (HMAC-SHA256, key from $REPLICATOR_HASH_KEY); metadata replicator_gtid, replicator_commit_time"
	if got := r.Describe(); got != want {
		t.Fatalf("Describe = %q, want %q", got, want)
	}
	if strings.Contains(r.Describe(), testKey) || r.Secret() != testKey {
		t.Fatal("Describe shows the key, or Secret does not give it")
	}
}

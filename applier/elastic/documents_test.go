package elastic

import (
	"strings"
	"testing"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

const docsConfig = `
[source]
host = "127.0.0.1"
user = "replicator"
server_id = 4201
[target]
type = "elasticsearch"
[target.elasticsearch]
addresses = ["http://127.0.0.1:9200"]
[[tables]]
source = "s.soft"
deletes = "soft"
[[tables]]
source = "s.*"
[[documents]]
index = "films"
root = "s.film"
columns = ["title"]
[[documents.lookup]]
field = "language"
table = "s.language"
on = { language_id = "language_id" }
columns = ["name"]
[[documents.nested]]
field = "actors"
table = "s.actor"
through = { table = "s.film_actor", parent = "film_id", child = "actor_id" }
columns = ["last_name"]
`

func docsDefs() map[string]*schema.Table {
	col := func(name, typ string) schema.Column { return schema.Column{Name: name, DataType: typ, ColumnType: typ} }
	return map[string]*schema.Table{
		"s.film":       {Schema: "s", Name: "film", Columns: []schema.Column{col("film_id", "smallint"), col("title", "varchar"), col("language_id", "tinyint")}, Key: []int{0}},
		"s.language":   {Schema: "s", Name: "language", Columns: []schema.Column{col("language_id", "tinyint"), col("name", "char")}, Key: []int{0}},
		"s.actor":      {Schema: "s", Name: "actor", Columns: []schema.Column{col("actor_id", "smallint"), col("last_name", "varchar")}, Key: []int{0}},
		"s.film_actor": {Schema: "s", Name: "film_actor", Columns: []schema.Column{col("actor_id", "smallint"), col("film_id", "smallint")}, Key: []int{0, 1}},
		"s.soft":       {Schema: "s", Name: "soft", Columns: []schema.Column{col("id", "int")}, Key: []int{0}},
	}
}

func TestResolveDocuments(t *testing.T) {
	resolve := func(text string, edit func(map[string]*schema.Table)) ([]string, error) {
		cfg, err := config.Parse(text, func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		routes, err := route.Compile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defs := docsDefs()
		if edit != nil {
			edit(defs)
		}
		return ResolveDocuments(cfg, routes, defs)
	}
	lines, err := resolve(docsConfig, nil)
	if want := "documents[0] index films: one per s.film row (_id film_id); language: N:1 s.language by language_id = language_id; actors: N:M s.actor through s.film_actor (film_id -> film_id, actor_id -> actor_id)"; err != nil || len(lines) != 1 || lines[0] != want {
		t.Fatalf("lines %q, err %v", lines, err)
	}
	for _, c := range []struct {
		old, new string
		edit     func(map[string]*schema.Table)
		want     string
	}{
		{`on = { language_id = "language_id" }`, `on = { language_id = "name" }`, nil, `documents[0].lookup[0].on = { language_id = "name" }: "name" must be the key of s.language (language_id)`},
		{`on = { language_id = "language_id" }`, `on = { title = "language_id" }`, nil, `documents[0].lookup[0].on: column "title" of s.film is varchar; joins are on integer columns only`},
		{"", "", func(d map[string]*schema.Table) {
			d["s.film"].Columns[2].DataType, d["s.film"].Columns[2].ColumnType = "decimal", "decimal(3,0)"
		}, `documents[0].lookup[0].on: column "language_id" of s.film is decimal(3,0); joins are on integer columns only`},
		{`columns = ["name"]`, `columns = ["nom"]`, nil, `documents[0].lookup[0].columns: column "nom" does not exist in s.language`},
		{`table = "s.language"`, `table = "s.soft"`, nil, `documents[0].lookup[0].table = "s.soft": its rule tables[0] has deletes = "soft"`},
		{`table = "s.language"`, `table = "s.gone"`, nil, `documents[0].lookup[0].table = "s.gone": the target holds no such table`},
		{"", "", func(d map[string]*schema.Table) { d["s.film_actor"].Key = []int{0} }, `documents[0].nested[0].through: the key of s.film_actor (actor_id) must include "film_id" and "actor_id"`},
		{"", "", func(d map[string]*schema.Table) { d["s.film"].Columns[0].DataType = "varchar" }, `documents[0].root = "s.film": key (film_id smallint) must be one integer column: composite keys and keys of strings`},
		{"", "", func(d map[string]*schema.Table) { d["s.film"].Key = []int{0, 2} }, `documents[0].root = "s.film": key (film_id smallint, language_id tinyint) must be one integer column`},
		{"", "", func(d map[string]*schema.Table) {
			d["s.actor"].Columns[0].DataType, d["s.actor"].Columns[0].ColumnType = "binary", "binary(16)"
		}, `documents[0].nested[0].table = "s.actor": key (actor_id binary(16)) must be one integer column`},
		{"", "", func(d map[string]*schema.Table) { d["s.language"].Key = nil }, `documents[0].lookup[0].table = "s.language": key (none) must be one integer column`},
		{`index = "films"`, `index = "films-g000001"`, nil, `documents[0].index: index name "films-g000001" ends like a concrete index of another table`},
		{`index = "films"`, `index = "s.film"`, nil, `documents[0].index = "s.film" is the index of s.film itself`},
	} {
		_, err := resolve(strings.Replace(docsConfig, c.old, c.new, 1), c.edit)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.new, err, c.want)
		}
	}
}

func TestDocumentsDDL(t *testing.T) {
	cfg, err := config.Parse(docsConfig, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	tg := &Target{cfg: cfg, state: &State{name: "default"}}
	n := func(table string) ddl.TableName { return ddl.TableName{Schema: "s", Name: table} }
	for _, c := range []struct {
		ch   ddl.Change
		want string
	}{
		{&ddl.AlterTable{Name: n("actor"), Specs: []ddl.AlterChange{&ddl.AddColumn{Column: schema.Column{Name: "nick"}}}}, ""},
		{&ddl.AlterTable{Name: n("actor"), Specs: []ddl.AlterChange{&ddl.DropColumn{Name: "first_name"}}}, ""},
		{&ddl.AlterTable{Name: n("actor"), Specs: []ddl.AlterChange{&ddl.RenameColumn{OldName: "last_name", NewName: "surname"}}}, "documents[0] (index films) is composed from s.actor and uses its column last_name"},
		{&ddl.AlterTable{Name: n("film"), Specs: []ddl.AlterChange{&ddl.ModifyColumn{Column: schema.Column{Name: "language_id"}}}}, "uses its column language_id"},
		{&ddl.AlterTable{Name: n("film_actor"), Specs: []ddl.AlterChange{&ddl.ChangeColumn{OldName: "film_id", Column: schema.Column{Name: "fid"}}}}, "uses its column film_id"},
		{&ddl.TruncateTable{Name: n("language")}, "documents[0] (index films) is composed from s.language;"},
		{&ddl.RenameTables{Pairs: []ddl.RenamePair{{From: n("film"), To: n("movie")}}}, "is composed from s.film;"},
		{&ddl.DropTables{Names: []ddl.TableName{n("other")}}, ""},
		{&ddl.DropDatabase{Name: "s"}, "cannot apply DROP DATABASE s to Elasticsearch"},
	} {
		err := tg.documentsDDL(c.ch)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%T: err = %v, want %q", c.ch, err, c.want)
		}
	}
}

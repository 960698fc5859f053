package config

import (
	"strings"
	"testing"
)

const docsBase = `
[source]
host = "127.0.0.1"
user = "replicator"
server_id = 4201

[target]
type = "elasticsearch"
[target.elasticsearch]
addresses = ["http://127.0.0.1:9200"]

[[tables]]
source = "sakila.*"

[[documents]]
index = "films"
root = "sakila.film"
columns = ["title"]
[[documents.lookup]]
field = "language"
table = "sakila.language"
on = { language_id = "language_id" }
columns = ["name"]
[[documents.nested]]
field = "actors"
table = "sakila.actor"
through = { table = "sakila.film_actor", parent = "film_id", child = "actor_id" }
columns = ["first_name", "last_name"]
`

func TestDocumentsParse(t *testing.T) {
	c, err := Parse(docsBase, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	d := c.Documents[0]
	if d.Index != "films" || d.Root != "sakila.film" || d.Lookup[0].On["language_id"] != "language_id" || d.Nested[0].Through.Child != "actor_id" {
		t.Fatalf("parsed %+v", d)
	}
	if got := strings.Join(d.Tables(), ","); got != "sakila.film,sakila.language,sakila.film_actor,sakila.actor" {
		t.Errorf("Tables() = %s", got)
	}
}

func TestDocumentsErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ old, new, want string }{
		{`index = "films"`, `index = "Films"`, "documents[0].index"},
		{`root = "sakila.film"`, `root = "sakila.*"`, `documents[0].root: "sakila.*": must be "db.table"`},
		{`field = "language"`, `field = "title"`, `documents[0].lookup[0].field = "title": documents[0].columns uses the name too`},
		{`field = "actors"`, `field = "a.b"`, `documents[0].nested[0].field = "a.b": must not contain a dot`},
		{`on = { language_id = "language_id" }`, `on = { language_id = "language_id", x = "y" }`, "documents[0].lookup[0].on: must hold exactly one column pair"},
		{`parent = "film_id", child = "actor_id"`, `parent = "film_id"`, "documents[0].nested[0].through: parent and child are required"},
		{`parent = "film_id", child = "actor_id"`, `parent = "film_id", child = "film_id"`, `documents[0].nested[0].through: parent and child name the same column "film_id"`},
		{`columns = ["first_name", "last_name"]`, `columns = ["first_name", "FIRST_NAME"]`, `documents[0].nested[0].columns: column "FIRST_NAME" listed twice`},
		{`through = { table = "sakila.film_actor", parent = "film_id", child = "actor_id" }`, `through = { table = "sakila.film_actor", parent = "film_id", child = "actor_id" }` + "\non = { film_id = \"film_id\" }", "documents[0].nested[0]: set either on (1:N) or through (N:M), not both"},
		{`type = "elasticsearch"`, `type = "postgres"` + "\n[target.postgres]\nurl = \"postgres://a@127.0.0.1/a\"", `composed documents need target.type = "elasticsearch"`},
	} {
		text := strings.Replace(docsBase, tc.old, tc.new, 1)
		if tc.old == `type = "elasticsearch"` {
			text = strings.Replace(text, "[target.elasticsearch]\naddresses = [\"http://127.0.0.1:9200\"]\n", "", 1)
		}
		_, err := Parse(text, env(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.new, err, tc.want)
		}
	}
	twice := docsBase + "\n[[documents]]\nindex = \"films\"\nroot = \"sakila.film\"\n"
	if _, err := Parse(twice, env(nil)); err == nil || !strings.Contains(err.Error(), `documents[1].index = "films": documents[0] writes that index too`) {
		t.Errorf("twice: err = %v", err)
	}
}

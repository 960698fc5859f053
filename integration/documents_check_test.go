//go:build integration

package integration

import (
	"fmt"
	"strings"
	"testing"
)

// TestDocumentsCheckRefusesKeys runs check on declarations over real source tables whose
// keys or join columns this version does not compose (a composite root key, a string key,
// a binary key, a decimal join column, a soft-deleting rule) and on a composed index
// named like a generation: each fails the documents check naming the declaration's key
// and what to do; the same tables with integer keys pass.
func TestDocumentsCheckRefusesKeys(t *testing.T) {
	my := mysqlRoot(t)
	et := newESTarget(t, "docskeys")
	db := "it_docs_keys"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db,
		"CREATE TABLE film (film_id INT PRIMARY KEY, title VARCHAR(20), code CHAR(3), price DECIMAL(5,2), tag_id INT)",
		"CREATE TABLE pair (a INT, b INT, title VARCHAR(20), PRIMARY KEY (a, b))",
		"CREATE TABLE country (code CHAR(3) PRIMARY KEY, name VARCHAR(20))",
		"CREATE TABLE price (price DECIMAL(5,2) PRIMARY KEY, label VARCHAR(20))",
		"CREATE TABLE tag (tag_id BINARY(16) PRIMARY KEY, film_id INT, name VARCHAR(20))",
		"CREATE TABLE note (note_id INT PRIMARY KEY, film_id INT, body VARCHAR(20))",
		"CREATE TABLE soft (id INT PRIMARY KEY, name VARCHAR(20))")
	index := et.prefix + "films"
	base := withServerID(et.config(db, ""), 4298)
	base = strings.Replace(base, "[[tables]]\n", fmt.Sprintf("[[tables]]\nsource = %q\ndeletes = \"soft\"\n[[tables]]\n", db+".soft"), 1)
	for _, c := range []struct {
		decl, want string
	}{
		{fmt.Sprintf("[[documents]]\nindex = %q\nroot = %q\n[[documents.nested]]\nfield = \"notes\"\ntable = %q\non = { film_id = \"film_id\" }\n", index, db+".film", db+".note"), ""},
		{fmt.Sprintf("[[documents]]\nindex = %q\nroot = %q\n", index, db+".pair"),
			`documents[0].root = "` + db + `.pair": key (a int(11), b int(11)) must be one integer column: composite keys and keys of strings, binary strings or decimals are not supported`},
		{fmt.Sprintf("[[documents]]\nindex = %q\nroot = %q\n[[documents.lookup]]\nfield = \"country\"\ntable = %q\non = { code = \"code\" }\n", index, db+".film", db+".country"),
			`documents[0].lookup[0].table = "` + db + `.country": key (code char(3)) must be one integer column`},
		{fmt.Sprintf("[[documents]]\nindex = %q\nroot = %q\n[[documents.lookup]]\nfield = \"price\"\ntable = %q\non = { price = \"price\" }\n", index, db+".film", db+".price"),
			`documents[0].lookup[0].table = "` + db + `.price": key (price decimal(5,2)) must be one integer column`},
		{fmt.Sprintf("[[documents]]\nindex = %q\nroot = %q\n[[documents.nested]]\nfield = \"tags\"\ntable = %q\non = { film_id = \"film_id\" }\n", index, db+".film", db+".tag"),
			`documents[0].nested[0].table = "` + db + `.tag": key (tag_id binary(16)) must be one integer column`},
		{fmt.Sprintf("[[documents]]\nindex = %q\nroot = %q\n[[documents.nested]]\nfield = \"notes\"\ntable = %q\non = { body = \"film_id\" }\n", index, db+".film", db+".note"),
			`documents[0].nested[0].on: column "body" of ` + db + `.note is varchar(20); joins are on integer columns only`},
		{fmt.Sprintf("[[documents]]\nindex = %q\nroot = %q\n[[documents.lookup]]\nfield = \"soft\"\ntable = %q\non = { tag_id = \"id\" }\n", index, db+".film", db+".soft"),
			`documents[0].lookup[0].table = "` + db + `.soft": its rule tables[0] has deletes = "soft"`},
		{fmt.Sprintf("[[documents]]\nindex = %q\nroot = %q\n", index+"-g000001", db+".film"),
			`documents[0].index: index name "` + index + `-g000001" ends like a concrete index of another table`},
	} {
		out, _ := runCheck(t, writeConfig(t, base+c.decl))
		status, detail := "", ""
		for _, ch := range out.Checks {
			if ch.Name == "documents" {
				status, detail = ch.Status, ch.Detail
			}
		}
		switch {
		case c.want == "" && status != "pass":
			t.Errorf("check of an integer-keyed declaration: %s: %s", status, detail)
		case c.want != "" && (status != "fail" || !strings.Contains(detail, c.want)):
			t.Errorf("check:\n got %s: %s\nwant fail: %s", status, detail, c.want)
		}
	}
}

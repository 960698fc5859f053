//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// esText is a document field as text: a string as it is, a number as its digits, nil for
// null or absent.
func esText(v any) *string {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return &x
	case json.Number:
		s := x.String()
		return &s
	}
	s := fmt.Sprint(v)
	return &s
}

// TestTransformsUnderKillsES is TestTransformsUnderKills on Elasticsearch: every
// document's _id is the source's own HMAC of the key (and so is its id field), its
// fields are the renamed and hashed ones with the source's values (no field of a source
// name, the key in clear nowhere), the metadata fields of the snapshot's and the stream's
// documents as each path writes them and exact for a last transaction, the mapping made
// of the view, verify equal.
func TestTransformsUnderKillsES(t *testing.T) {
	t.Setenv("REPLICATOR_HASH_KEY", xfKey)
	my := mysqlRoot(t)
	h := newESHarness(t)
	db := h.DB("it_transform")
	cfg := xfPeople(t, my, h, db)
	lastGTID := xfUnderKills(t, my, h, db, cfg)
	want := xfSourceRows(t, my, db)
	index := h.index(db, "people")

	fields := esFieldTypes(t, h.esTarget, index)
	wantFields := map[string]string{"id": "keyword", "contact_email": "keyword", "v": "long", "remark": "text",
		"replicator_source_db": "keyword", "replicator_source_table": "keyword", "replicator_commit_time": "date", "replicator_gtid": "keyword"}
	if fmt.Sprint(fields) != fmt.Sprint(wantFields) {
		t.Errorf("mapping of %s: %v, want %v", index, fields, wantFields)
	}

	docs := h.readIndex(t, index)
	streamed, snapped := 0, 0
	for id, d := range docs {
		w, ok := want[id]
		if !ok {
			t.Errorf("document _id %s: no source row has this key hash", id)
			continue
		}
		if got := esText(d["id"]); got == nil || *got != id {
			t.Errorf("_id %s: id field %s, want the _id", id, showPtr(got))
		}
		email, v, remark := esText(d["contact_email"]), esText(d["v"]), esText(d["remark"])
		if !eqPtr(email, w[0]) || !eqPtr(v, w[1]) || !eqPtr(remark, w[2]) {
			t.Errorf("_id %s: document (%s, %s, %s), source (%s, %s, %s)", id, showPtr(email), showPtr(v), showPtr(remark), showPtr(w[0]), showPtr(w[1]), showPtr(w[2]))
		}
		var names []string
		for f := range d {
			names = append(names, f)
		}
		sort.Strings(names)
		if strings.Join(names, ",") != "contact_email,id,remark,replicator_commit_time,replicator_gtid,replicator_source_db,replicator_source_table,v" {
			t.Errorf("_id %s: fields %v", id, names)
		}
		srcDB, srcTable, gtid := esText(d["replicator_source_db"]), esText(d["replicator_source_table"]), esText(d["replicator_gtid"])
		if !eqPtr(srcDB, &db) || srcTable == nil || *srcTable != "people" || gtid == nil || *gtid == "" {
			t.Errorf("_id %s: metadata %s.%s gtid %s", id, showPtr(srcDB), showPtr(srcTable), showPtr(gtid))
		}
		if d["replicator_commit_time"] == nil {
			snapped++ // written by the snapshot: its GTID set, no commit time
		} else {
			streamed++
		}
	}
	if len(docs) != len(want) {
		t.Errorf("index %d documents, source %d rows", len(docs), len(want))
	}
	if streamed == 0 || snapped == 0 {
		t.Errorf("%d documents from the stream, %d from the snapshot: want both", streamed, snapped)
	}
	last, ok := docs[xfLastID(t, my)]
	if !ok {
		t.Fatalf("no document for the last transaction's key")
	}
	if at, gtid, remark := esText(last["replicator_commit_time"]), esText(last["replicator_gtid"]), esText(last["remark"]); !eqPtr(at, ptr("2023-11-14 22:13:20")) || !eqPtr(gtid, &lastGTID) || !eqPtr(remark, ptr("touched")) {
		t.Errorf("last document: commit time %s, gtid %s, remark %s; want 2023-11-14 22:13:20, %s, touched", showPtr(at), showPtr(gtid), showPtr(remark), lastGTID)
	}
	// The commit time is a date Elasticsearch reads: a range query finds the document.
	if n := esCount(t, h.es, index, `{"range":{"replicator_commit_time":{"gte":"2023-11-14T22:13:20Z","lte":"2023-11-14T22:13:20Z"}}}`); n < 1 {
		t.Errorf("a range query on replicator_commit_time finds %d documents", n)
	}
	t.Logf("%d documents equal to the source's own HMACs (%d last written by the stream, %d by the snapshot)", len(docs), streamed, snapped)
}

func ptr(s string) *string { return &s }

// xfDDLRule is xfRule with a column the source adds later (extra) renamed to bonus and
// hashed: the rule is a pattern's (db.*), whose transforms apply where they fit.
const xfDDLRule = `rename = { email = "contact_email", note = "remark", extra = "bonus" }
hash = ["id", "email", "extra"]
metadata = ["source_db", "source_table", "commit_time", "gtid"]
[apply]
flush_interval = "100ms"
`

// TestTransformDDLES: on Elasticsearch, an ADD COLUMN with a default of a column the rule
// renames and hashes maps the field under its target name as a keyword and gives the
// documents written before it the default's hash; a MODIFY of a renamed column needs
// nothing; an online copy writes the same documents with the copy's read position in
// replicator_gtid; a RENAME COLUMN of a renamed column stops the stream naming
// tables[0].rename.
func TestTransformDDLES(t *testing.T) {
	t.Setenv("REPLICATOR_HASH_KEY", xfKey)
	my := mysqlRoot(t)
	h := newESHarness(t)
	db := h.DB("it_transform_ddl")
	cfg, p := xfDDLStart(t, my, h, db, xfDDLRule)
	mustExec(t, my, "USE "+db,
		"ALTER TABLE people MODIFY note VARCHAR(200) NULL, ADD COLUMN extra INT NOT NULL DEFAULT 5",
		"INSERT INTO people VALUES (2, 'b@example.com', 2, 'two', 42)")
	h.WaitCaughtUp(t, my, p, 60*time.Second)
	index := h.index(db, "people")
	if f := esFieldTypes(t, h.esTarget, index); f["bonus"] != "keyword" || f["extra"] != "" || f["note"] != "" || f["remark"] != "text" {
		t.Errorf("mapping after the ALTER: %v", f)
	}
	docs := h.readIndex(t, index)
	hashOf := func(expr string) string {
		r, err := my.Execute("SELECT " + serverHMAC(expr))
		if err != nil {
			t.Fatal(err)
		}
		s, _ := r.GetString(0, 0)
		return s
	}
	for id, bonus := range map[string]string{hashOf("1"): hashOf("5"), hashOf("2"): hashOf("42")} {
		if got := esText(docs[id]["bonus"]); !eqPtr(got, &bonus) {
			t.Errorf("document %s: bonus %s, want the source's HMAC %s", id, showPtr(got), bonus)
		}
		if _, clear := docs[id]["extra"]; clear {
			t.Errorf("document %s has a field extra", id)
		}
	}
	assertVerifyEqual(t, cfg)

	// An online copy makes the same documents (its rows pass through the same view), its
	// metadata the GTID set it read at.
	rep := xfOnlineCopy(t, my, h, p, db, cfg)
	docs = h.readIndex(t, index)
	hashed, positioned := 0, 0
	for id, d := range docs {
		e, b := esText(d["contact_email"]), esText(d["bonus"])
		if len(id) == 64 && strings.Trim(id, "0123456789abcdef") == "" && e != nil && len(*e) == 64 && b != nil && len(*b) == 64 {
			hashed++
		}
		if d["replicator_commit_time"] == nil && esText(d["replicator_gtid"]) != nil {
			positioned++ // written by the copy: its read position, no commit time
		}
	}
	if hashed != 3002 || rep.Tables[0].TargetRows != 3002 || positioned != 3002 {
		t.Errorf("after the online copy: %d documents with hashed _id, email and bonus, %d with the copy's position, verify %+v; want 3002", hashed, positioned, rep.Tables)
	}

	xfRenameStops(t, my, p, db)
}

// TestTransformSoftFK runs foreign key actions and soft deletes through transformed
// tables on both targets: a parent hashed by its key whose referenced column (code)
// travels in clear, and a soft child with a hashed key and a renamed foreign key column.
// ON UPDATE CASCADE rewrites the child's renamed field, ON DELETE CASCADE marks the
// children found by it, a direct delete marks by the hashed key, a re-insert clears the
// mark; every row is compared with the source's own HMACs, verify equal.
func TestTransformSoftFK(t *testing.T) {
	t.Setenv("REPLICATOR_HASH_KEY", xfKey)
	forEachTarget(t, func(t *testing.T, tg targetHarness) {
		my := mysqlRoot(t)
		db := tg.DB("it_transform_fk")
		freshMySQLDatabase(t, my, db)
		mustExec(t, my, "USE "+db,
			"CREATE TABLE parent (id INT PRIMARY KEY, code INT NOT NULL UNIQUE, name VARCHAR(20)) ENGINE=InnoDB",
			"CREATE TABLE child (id INT PRIMARY KEY, pcode INT, v VARCHAR(20), FOREIGN KEY (pcode) REFERENCES parent(code) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB",
			"INSERT INTO parent VALUES (1, 100, 'p1'), (2, 200, 'p2'), (3, 300, 'p3')",
			"INSERT INTO child VALUES (10, 100, 'a'), (11, 100, 'b'), (12, 200, 'c'), (13, 300, 'd'), (14, 300, 'e')")
		cfg := writeConfig(t, tableRulesConfig(t, tg, db, func(target string) string {
			return fmt.Sprintf(`[[tables]]
source = "%[1]s.parent"
hash = ["id"]
metadata = ["gtid"]
%[2]s
[[tables]]
source = "%[1]s.child"
deletes = "soft"
rename = { pcode = "parent_code" }
hash = ["id"]
metadata = ["gtid", "commit_time"]
%[2]s
[apply]
flush_interval = "50ms"
`, db, target)
		}))
		p := startCLI(t, "run", "-c", cfg)
		tg.WaitCaughtUp(t, my, p, 60*time.Second)
		const at = 1700000400
		mustExec(t, my, "USE "+db, fmt.Sprintf("SET timestamp = %d", at), "BEGIN",
			"UPDATE parent SET code = 201 WHERE id = 2", // child 12 follows (ON UPDATE CASCADE)
			"DELETE FROM parent WHERE id = 1",           // children 10, 11 marked (ON DELETE CASCADE)
			"DELETE FROM child WHERE id = 13",           // marked by its hashed key
			"INSERT INTO child VALUES (15, 300, 'f')",
			"COMMIT")
		p.kill()
		mustExec(t, my, "USE "+db, fmt.Sprintf("SET timestamp = %d", at+100), "BEGIN",
			"INSERT INTO child VALUES (13, 201, 'd again')", // the re-insert clears the mark
			"COMMIT", "SET timestamp = DEFAULT")
		p = startCLI(t, "run", "-c", cfg)
		tg.WaitCaughtUp(t, my, p, 60*time.Second)
		// While the run streams: the other target's subtest writes to the source too, and
		// verify waits for the checkpoint to reach the source's position.
		assertVerifyEqual(t, cfg)
		p.stop(t)

		hash := map[string]string{}
		for _, id := range []string{"10", "11", "12", "13", "14", "15"} {
			r, err := my.Execute("SELECT " + serverHMAC(id))
			if err != nil {
				t.Fatal(err)
			}
			hash[id], _ = r.GetString(0, 0)
		}
		want := []string{
			hash["10"] + " 100 a true " + fmt.Sprint(at),
			hash["11"] + " 100 b true " + fmt.Sprint(at),
			hash["12"] + " 201 c false -",
			hash["13"] + " 201 d again false -",
			hash["14"] + " 300 e false -",
			hash["15"] + " 300 f false -",
		}
		sort.Strings(want)
		got := targetRows(t, tg, db, "child", []string{"id", "parent_code", "v"}, true)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("child:\ngot\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	})
}

// TestTransformFKHashedReferenced: a cascade that reaches, through a first level, a
// foreign key referring to a hashed column cannot find its rows (the target holds the
// hash, the grandchildren the clear value), so the stream stops naming the column, on
// both targets, instead of leaving the grandchildren behind.
func TestTransformFKHashedReferenced(t *testing.T) {
	t.Setenv("REPLICATOR_HASH_KEY", xfKey)
	forEachTarget(t, func(t *testing.T, tg targetHarness) {
		my := mysqlRoot(t)
		db := tg.DB("it_transform_fkhash")
		freshMySQLDatabase(t, my, db)
		mustExec(t, my, "USE "+db,
			"CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB",
			"CREATE TABLE c (id INT PRIMARY KEY, p_id INT, code INT NOT NULL UNIQUE, FOREIGN KEY (p_id) REFERENCES p(id) ON DELETE CASCADE) ENGINE=InnoDB",
			"CREATE TABLE g (id INT PRIMARY KEY, c_code INT, FOREIGN KEY (c_code) REFERENCES c(code) ON DELETE CASCADE) ENGINE=InnoDB",
			"INSERT INTO p VALUES (1), (2)",
			"INSERT INTO c VALUES (10, 1, 100), (20, 2, 200)",
			"INSERT INTO g VALUES (1, 100), (2, 200)")
		cfg := writeConfig(t, tableRulesConfig(t, tg, db, func(target string) string {
			return fmt.Sprintf(`[[tables]]
source = "%[1]s.c"
hash = ["code"]
%[2]s
[[tables]]
source = "%[1]s.*"
%[2]s
[apply]
flush_interval = "50ms"
`, db, target)
		}))
		p := startCLI(t, "run", "-c", cfg)
		tg.WaitCaughtUp(t, my, p, 60*time.Second)
		mustExec(t, my, "USE "+db, "DELETE FROM p WHERE id = 1") // c 10 and g 1 go with it
		want := "column code of " + db + ".c is hashed"
		if !waitExitOrMessage(p, want, 60*time.Second) && !strings.Contains(p.output(), want) {
			t.Fatalf("the stream did not stop with %q:\n%s", want, tail(p.output(), 20))
		}
		p.kill()
		if !strings.Contains(p.output(), want) {
			t.Fatalf("the stream stopped without %q:\n%s", want, tail(p.output(), 20))
		}
		// Nothing of the transaction was applied: g 1 and c 10 are still at the target.
		if n := tg.Count(t, db, "g"); n != 2 {
			t.Errorf("%s.g holds %d rows, want 2 (the transaction stopped before it was applied)", db, n)
		}
	})
}

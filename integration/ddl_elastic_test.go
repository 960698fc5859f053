//go:build integration

package integration

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// TestElasticDDL: ALTERs against an Elasticsearch target add fields to the mapping, and rows
// written before and after each change (across a kill -9) arrive as documents with the
// right fields.
func TestElasticDDL(t *testing.T) {
	my := mysqlRoot(t)
	et := newESTarget(t, "es-ddl")
	db := "it_es_ddl"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))", "INSERT INTO t VALUES (1, 'a'), (2, 'b')")
	cfg := writeConfig(t, et.config(db, "[apply]\nflush_interval = \"50ms\"\n"))
	p := startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, time.Minute)

	mustExec(t, my, "USE "+db,
		"ALTER TABLE t ADD COLUMN qty INT NOT NULL DEFAULT 0 AFTER id",
		"INSERT INTO t VALUES (3, 30, 'c')",
		"UPDATE t SET qty = 10, v = 'a2' WHERE id = 1",
		"ALTER TABLE t ADD COLUMN note TEXT NULL",
		"INSERT INTO t VALUES (4, 40, 'd', 'with a note')",
		"CREATE TABLE u (k VARCHAR(8) PRIMARY KEY, n DECIMAL(10,2))",
		"INSERT INTO u VALUES ('x', 1.50), ('y', NULL)")
	et.waitCaughtUp(t, my, p, time.Minute)
	p.kill()
	// Rows before and after a change while the replicator is down are decoded with the
	// definition current at their position.
	mustExec(t, my, "USE "+db,
		"INSERT INTO t VALUES (5, 50, 'e', 'before drop')",
		"ALTER TABLE t DROP COLUMN note",
		"INSERT INTO t VALUES (6, 60, 'f')",
		"UPDATE t SET v = 'b2' WHERE id = 2")
	p = startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, time.Minute)

	// Documented rule: a dropped column's field stays in documents written before the drop
	// until they are written again (Elasticsearch has no cheap way to strip a field).
	docs := et.readIndex(t, et.index(db, "t"))
	if docs["5"]["note"] != "before drop" || docs["6"]["note"] != nil {
		t.Errorf("doc 5 note = %v (want the stale value), doc 6 note = %v (want none)", docs["5"]["note"], docs["6"]["note"])
	}
	mustExec(t, my, "UPDATE "+db+".t SET v = CONCAT(v, '+') WHERE id IN (4, 5)")
	et.waitCaughtUp(t, my, p, time.Minute)
	et.assertIndexEqual(t, my, db, "t")
	et.assertIndexEqual(t, my, db, "u")
	// The mapping gained the new fields; the dropped column's field stays mapped (ES cannot
	// remove a mapped field) but later documents no longer carry it.
	code, body := esDo(t, et.es, esapi.IndicesGetMappingRequest{Index: []string{et.index(db, "t")}})
	if code != 200 {
		t.Fatalf("get mapping: %d %s", code, body)
	}
	var m map[string]struct {
		Mappings struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"mappings"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	props := one(t, m).Mappings.Properties
	for _, f := range []string{"id", "qty", "v", "note"} {
		if _, ok := props[f]; !ok {
			t.Errorf("mapping lacks field %s: %s", f, body)
		}
	}
	if !strings.Contains(string(props["qty"]), "long") {
		t.Errorf("qty mapped as %s, want long", props["qty"])
	}
	p.stop(t)
}

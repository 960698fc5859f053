//go:build integration

package integration

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/jackc/pgx/v5"
)

// xfKey is the hash key of the transform tests (REPLICATOR_HASH_KEY).
const xfKey = "transform-test-key-0123456789abcdef"

// xfRule renames email and note, hashes the key id and email, and adds every metadata
// column.
const xfRule = `rename = { email = "contact_email", note = "remark" }
hash = ["id", "email"]
metadata = ["source_db", "source_table", "commit_time", "gtid"]
[apply]
flush_interval = "100ms"
batch_rows = 300
[snapshot]
chunk_rows = 1000
`

// serverHMAC is MariaDB's own HMAC-SHA256 (RFC 2104 over SHA2) of the text the server
// shows for expr, with key xfKey: computed at the source, independently of the
// replicator's hasher.
func serverHMAC(expr string) string {
	msg := "CAST(CONVERT(CAST(" + expr + " AS CHAR) USING utf8mb4) AS BINARY)"
	return "IF(" + expr + " IS NULL, NULL, " + hmacSQLOf(xfKey, msg) + ")"
}

// hmacSQLOf is HMAC-SHA256 with key of the bytes msg, as SQL: RFC 2104 spelled out over
// MariaDB's SHA2.
func hmacSQLOf(key, msg string) string {
	var ipad, opad [64]byte
	copy(ipad[:], key)
	copy(opad[:], key)
	for i := range ipad {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	return fmt.Sprintf("SHA2(CONCAT(UNHEX('%X'), UNHEX(SHA2(CONCAT(UNHEX('%X'), %s), 256))), 256)", opad, ipad, msg)
}

// xfWorkload runs multi-statement transactions on db.people until stop: inserts, updates
// of the hashed and renamed columns, key changes of the hashed key, deletes.
func xfWorkload(t *testing.T, db string, stop <-chan struct{}) func() int {
	return txnWorkload(t, db, stop, []string{"Deadlock"}, func(rng *rand.Rand) []string {
		var stmts []string
		for i := 0; i < 1+rng.Intn(4); i++ {
			id := rng.Intn(4000) + 1
			switch op := rng.Intn(10); {
			case op < 3:
				stmts = append(stmts, fmt.Sprintf("INSERT INTO people VALUES (%d, 'u%d@example.com', %d, 'new %d') ON DUPLICATE KEY UPDATE v = v + 1", id, rng.Intn(1e6), rng.Int63n(1e9), id))
			case op < 6:
				stmts = append(stmts, fmt.Sprintf("UPDATE people SET email = 'e%d@example.org', note = CONCAT('upd ', %d) WHERE id = %d", rng.Intn(1e6), rng.Intn(100), id))
			case op < 8:
				stmts = append(stmts, fmt.Sprintf("UPDATE IGNORE people SET id = %d WHERE id = %d", rng.Intn(4000)+4001, id))
			default:
				stmts = append(stmts, fmt.Sprintf("DELETE FROM people WHERE id = %d", id))
			}
		}
		return stmts
	})
}

// xfPeople creates db.people with 4000 rows and returns the configuration of tg
// replicating it under xfRule, after check showed the transforms without the hash key.
func xfPeople(t *testing.T, my *client.Conn, tg targetHarness, db string) string {
	t.Helper()
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db,
		"CREATE TABLE people (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, v BIGINT NOT NULL, note VARCHAR(64) NULL, KEY (email))",
		"INSERT INTO people SELECT seq, CONCAT('p', seq, '@example.com'), seq * 7, IF(seq % 5 = 0, NULL, CONCAT('seed ', seq)) FROM seq_1_to_4000")
	cfg := writeConfig(t, tg.Config(db, xfRule))
	out, res := runCheck(t, cfg)
	shown := false
	for _, r := range out.Checks {
		if r.Status == "pass" && strings.Contains(r.Detail, "transforms: rename email -> contact_email, note -> remark; hash id, email (HMAC-SHA256, key from $REPLICATOR_HASH_KEY); metadata replicator_source_db, replicator_source_table, replicator_commit_time, replicator_gtid") {
			shown = true
		}
	}
	if !shown {
		t.Errorf("check does not show the transforms (exit %d):\n%s", res.code, res.stdout)
	}
	if strings.Contains(res.stdout+res.stderr, xfKey) {
		t.Errorf("check printed the hash key")
	}
	return cfg
}

// xfUnderKills runs xfWorkload on db.people through a snapshot killed -9 mid-chunk and
// two kill -9 while streaming, lets a last run catch up, then commits one last
// transaction with a known commit time (1700000000) writing id 9999 with note 'touched'.
// It stops that run, checks that its log never shows the hash key and that verify is
// equal, and returns the last transaction's GTID.
func xfUnderKills(t *testing.T, my *client.Conn, tg targetHarness, db, cfg string) (lastGTID string) {
	t.Helper()
	stop := make(chan struct{})
	wait := xfWorkload(t, db, stop)
	// kill -9 inside the snapshot, after 1500 rows of a chunk (one chunk committed).
	killSnapshotThenStream(t, tg, cfg, 1500*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	n := wait()
	p := startCLI(t, "run", "-c", cfg)
	tg.WaitCaughtUp(t, my, p, 120*time.Second)

	// One last transaction with a known commit time: its rows' metadata must be exactly
	// its GTID and time.
	mustExec(t, my, "USE "+db, "SET timestamp = 1700000000", "BEGIN",
		"INSERT INTO people VALUES (9999, 'last@example.com', 1, 'last') ON DUPLICATE KEY UPDATE v = v + 1",
		"UPDATE people SET note = 'touched' WHERE id = 9999", "COMMIT", "SET timestamp = DEFAULT")
	r, err := my.Execute("SELECT @@last_gtid")
	if err != nil {
		t.Fatal(err)
	}
	lastGTID, _ = r.GetString(0, 0)
	tg.WaitCaughtUp(t, my, p, 60*time.Second)
	p.stop(t)
	if strings.Contains(p.output(), xfKey) {
		t.Errorf("the log shows the hash key")
	}
	t.Logf("1 kill -9 in the snapshot, 2 in the stream, %d workload transactions", n)
	rep := assertVerifyEqual(t, cfg)
	if len(rep.Tables) != 1 || rep.Tables[0].SourceRows < 1000 || rep.Tables[0].SourceRows != rep.Tables[0].TargetRows {
		t.Fatalf("verify compared %+v", rep.Tables)
	}
	return lastGTID
}

// xfSourceRows are the rows the target must hold, computed by the source: by its own
// HMAC of id, the HMAC of email, v and note.
func xfSourceRows(t *testing.T, my *client.Conn, db string) map[string][3]*string {
	t.Helper()
	res, err := my.Execute("SELECT " + serverHMAC("id") + ", " + serverHMAC("email") + ", v, note FROM `" + db + "`.people")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][3]*string{}
	str := func(v mysql.FieldValue) *string {
		if v.Type == mysql.FieldValueTypeNull {
			return nil
		}
		s := string(v.AsString())
		if v.Type != mysql.FieldValueTypeString {
			s = fmt.Sprint(v.Value())
		}
		return &s
	}
	for _, row := range res.Values {
		want[*str(row[0])] = [3]*string{str(row[1]), str(row[2]), str(row[3])}
	}
	return want
}

// xfLastID is the source's HMAC of the last transaction's key, 9999.
func xfLastID(t *testing.T, my *client.Conn) string {
	t.Helper()
	r, err := my.Execute("SELECT " + serverHMAC("9999"))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := r.GetString(0, 0)
	return id
}

// TestTransformsUnderKills replicates a table under rename, hash (of the key and of a
// renamed column) and metadata through a snapshot killed -9 mid-chunk and a stream of
// multi-statement transactions killed -9 twice, then compares every target row with
// values the source computes itself (its own HMAC of each value), checks the metadata of
// a last transaction exactly (its GTID and commit time), verify equal and check showing
// the transforms. TestTransformsUnderKillsES is its Elasticsearch twin.
func TestTransformsUnderKills(t *testing.T) {
	t.Setenv("REPLICATOR_HASH_KEY", xfKey)
	my := mysqlRoot(t)
	h := newPGHarness(t)
	db := h.DB("it_transform")
	cfg := xfPeople(t, my, h, db)
	lastGTID := xfUnderKills(t, my, h, db, cfg)
	want := xfSourceRows(t, my, db)
	rows, err := h.pg.Query(context.Background(), "SELECT id, contact_email, v::text, remark, replicator_source_db, replicator_source_table, replicator_commit_time::text, replicator_gtid FROM "+pgx.Identifier{db, "people"}.Sanitize())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got, streamed, snapped := 0, 0, 0
	for rows.Next() {
		var id, srcDB, srcTable string
		var email, v, remark, at, gtid *string
		if err := rows.Scan(&id, &email, &v, &remark, &srcDB, &srcTable, &at, &gtid); err != nil {
			t.Fatal(err)
		}
		got++
		w, ok := want[id]
		if !ok {
			t.Errorf("target row id hash %s: no source row", id)
			continue
		}
		if !eqPtr(email, w[0]) || !eqPtr(v, w[1]) || !eqPtr(remark, w[2]) {
			t.Errorf("id hash %s: target (%s, %s, %s), source (%s, %s, %s)", id, showPtr(email), showPtr(v), showPtr(remark), showPtr(w[0]), showPtr(w[1]), showPtr(w[2]))
		}
		if srcDB != db || srcTable != "people" || gtid == nil {
			t.Errorf("id hash %s: metadata %s.%s gtid %s", id, srcDB, srcTable, showPtr(gtid))
		}
		if at == nil {
			snapped++ // written by the snapshot: its GTID set, no commit time
		} else {
			streamed++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if got != len(want) {
		t.Errorf("target %d rows, source %d", got, len(want))
	}
	if streamed == 0 || snapped == 0 {
		t.Errorf("%d rows from the stream, %d from the snapshot: want both", streamed, snapped)
	}
	var at, gtid, remark string
	if err := h.pg.QueryRow(context.Background(), "SELECT replicator_commit_time::text, replicator_gtid, remark FROM "+pgx.Identifier{db, "people"}.Sanitize()+" WHERE id = $1", xfLastID(t, my)).Scan(&at, &gtid, &remark); err != nil {
		t.Fatalf("last row: %v", err)
	}
	if at != "2023-11-14 22:13:20+00" || gtid != lastGTID || remark != "touched" {
		t.Errorf("last row: commit time %s, gtid %s, remark %s; want 2023-11-14 22:13:20+00, %s, touched", at, gtid, remark, lastGTID)
	}
	t.Logf("%d rows equal to the source's own HMACs (%d last written by the stream, %d by the snapshot)", got, streamed, snapped)
}

func eqPtr(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func showPtr(s *string) string {
	if s == nil {
		return "NULL"
	}
	return fmt.Sprintf("%q", *s)
}

// TestTransformConfigErrors: bad transform settings are load errors naming the key, on
// both targets (and what only Elasticsearch cannot hold on it), and the hash key never
// appears in them.
func TestTransformConfigErrors(t *testing.T) {
	t.Setenv("REPLICATOR_HASH_KEY", xfKey)
	t.Setenv("XF_SHORT_KEY", "short")
	type errCase struct{ rule, want string }
	cases := []errCase{
		{`rename = { email = "" }`, `tables[0].rename: column "email" renamed to an empty name`},
		{`rename = { email = "x", note = "x" }`, `tables[0].rename: columns "email" and "note" are both renamed to "x"`},
		{`rename = { email = "replicator_gtid" }`, `tables[0].rename: column "email" renamed to "replicator_gtid", the name of a metadata column`},
		{`hash = ["email", "email"]`, `tables[0].hash: column "email" listed twice`},
		{`hash = ["email"]` + "\nhash_key_env = \"XF_UNSET_KEY\"", `tables[0].hash: the hash key's environment variable XF_UNSET_KEY is not set`},
		{`hash = ["email"]` + "\nhash_key_env = \"XF_SHORT_KEY\"", `tables[0].hash: the key in environment variable XF_SHORT_KEY has 5 bytes`},
		{`hash_key_env = "XF_SHORT_KEY"`, `tables[0].hash_key_env is set but hash is not`},
		{`hash = ["email"]` + "\nhash_key_env = \"1BAD\"", `tables[0].hash_key_env = "1BAD": not an environment variable name`},
		{`metadata = ["gtid", "host"]`, `tables[0].metadata: "host" is not a metadata column`},
		{`exclude_columns = ["email"]` + "\nhash = [\"email\"]", `tables[0].hash: column "email" is not replicated`},
		{`rename = { email = "a.b" }`, `tables[0].rename: column "email" renamed to "a.b": a target name must not contain '.'`},
	}
	esOnly := []errCase{
		{`rename = { email = "_email" }`, `tables[0].rename: column "email" renamed to "_email": Elasticsearch field names must not start with '_'`},
	}
	forEachTarget(t, func(t *testing.T, tg targetHarness) {
		all := cases
		if tg.Name() == "elasticsearch" {
			all = append(all[:len(all):len(all)], esOnly...)
		}
		for _, c := range all {
			cfg := writeConfig(t, tg.Config(tg.DB("it_transform_cfg"), c.rule))
			res := runCLI(t, 30*time.Second, "check", "-c", cfg)
			if res.code == 0 || !strings.Contains(res.stderr, c.want) {
				t.Errorf("%s: exit %d, stderr %q; want it to contain %q", c.rule, res.code, res.stderr, c.want)
			}
			if strings.Contains(res.stderr+res.stdout, xfKey) {
				t.Errorf("%s: the hash key is shown", c.rule)
			}
		}
	})
}

// TestTransformDDL: source DDL on a transformed table reaches the target's columns (a
// MODIFY of a renamed column changes it under its target name, an ADD COLUMN is added, a
// hashed column keeps CHAR(64)), and a RENAME COLUMN of a renamed column stops the stream
// naming tables[0].rename.
func TestTransformDDL(t *testing.T) {
	t.Setenv("REPLICATOR_HASH_KEY", xfKey)
	my := mysqlRoot(t)
	h := newPGHarness(t)
	db := h.DB("it_transform_ddl")
	cfg, p := xfDDLStart(t, my, h, db, xfRule)
	mustExec(t, my, "USE "+db,
		"ALTER TABLE people MODIFY note VARCHAR(200) NULL, MODIFY email VARCHAR(150) NOT NULL, ADD COLUMN extra INT NULL",
		"INSERT INTO people VALUES (2, 'b@example.com', 2, 'two', 42)")
	h.WaitCaughtUp(t, my, p, 60*time.Second)
	types := map[string]string{}
	rows, err := h.pg.Query(context.Background(), "SELECT column_name, format_type(atttypid, atttypmod) FROM information_schema.columns c JOIN pg_attribute a ON a.attrelid = $1::regclass AND a.attname = c.column_name WHERE table_schema = $2 AND table_name = 'people'", pgx.Identifier{db, "people"}.Sanitize(), db)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n, ty string
		if err := rows.Scan(&n, &ty); err != nil {
			t.Fatal(err)
		}
		types[n] = ty
	}
	rows.Close()
	if types["remark"] != "character varying(200)" || types["contact_email"] != "character varying(64)" || types["extra"] != "integer" || types["note"] != "" || types["email"] != "" {
		t.Errorf("target columns after the ALTER: %v", types)
	}
	var extra int
	var remark string
	if err := h.pg.QueryRow(context.Background(), "SELECT extra, remark FROM "+pgx.Identifier{db, "people"}.Sanitize()+" WHERE remark = 'two'").Scan(&extra, &remark); err != nil || extra != 42 {
		t.Errorf("row after the ALTER: extra %d, %v", extra, err)
	}
	assertVerifyEqual(t, cfg)

	// An online copy makes the same target rows (its rows pass through the same view).
	rep := xfOnlineCopy(t, my, h, p, db, cfg)
	var hashed, positioned int
	if err := h.pg.QueryRow(context.Background(), "SELECT count(*) FROM "+pgx.Identifier{db, "people"}.Sanitize()+" WHERE id ~ '^[0-9a-f]{64}$' AND contact_email ~ '^[0-9a-f]{64}$'").Scan(&hashed); err != nil || hashed != 3002 || rep.Tables[0].TargetRows != 3002 {
		t.Errorf("after the online copy: %d rows with hashed id and email (%v), verify %+v", hashed, err, rep.Tables)
	}
	// Written by the copy: the GTID set it read at, no commit time.
	if err := h.pg.QueryRow(context.Background(), "SELECT count(*) FROM "+pgx.Identifier{db, "people"}.Sanitize()+" WHERE replicator_gtid <> '' AND replicator_commit_time IS NULL").Scan(&positioned); err != nil || positioned != 3002 {
		t.Errorf("after the online copy: %d rows with the copy's read position (%v), want 3002", positioned, err)
	}

	xfRenameStops(t, my, p, db)
}

// xfDDLStart creates db.people with one row and a run of tg replicating it under rule,
// caught up; it returns the configuration and the run.
func xfDDLStart(t *testing.T, my *client.Conn, tg targetHarness, db, rule string) (string, *proc) {
	t.Helper()
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db,
		"CREATE TABLE people (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, v BIGINT NOT NULL, note VARCHAR(64) NULL)",
		"INSERT INTO people VALUES (1, 'a@example.com', 1, 'one')")
	cfg := writeConfig(t, tg.Config(db, rule))
	p := startCLI(t, "run", "-c", cfg)
	tg.WaitCaughtUp(t, my, p, 60*time.Second)
	return cfg, p
}

// xfOnlineCopy adds 3000 rows to db.people (id, email, v, note, and a fifth column the
// test added), copies the table again online while p streams, and returns verify's
// report, equal.
func xfOnlineCopy(t *testing.T, my *client.Conn, tg targetHarness, p *proc, db, cfg string) verifyReport {
	t.Helper()
	mustExec(t, my, "INSERT INTO `"+db+"`.people SELECT seq + 10, CONCAT('c', seq, '@example.com'), seq, CONCAT('copy ', seq), seq FROM seq_1_to_3000")
	tg.WaitCaughtUp(t, my, p, 60*time.Second)
	if res := runCLI(t, 30*time.Second, "resnapshot", "-c", cfg, db+".people"); res.code != 0 {
		t.Fatalf("resnapshot: exit %d\n%s", res.code, res.stderr)
	}
	waitCopy(t, cfg, db+".people", "done", p, 2*time.Minute)
	tg.WaitCaughtUp(t, my, p, 60*time.Second)
	return assertVerifyEqual(t, cfg)
}

// xfRenameStops renames db.people's note (a renamed column) at the source and expects
// the run p to stop naming tables[0].rename and the column.
func xfRenameStops(t *testing.T, my *client.Conn, p *proc, db string) {
	t.Helper()
	mustExec(t, my, "USE "+db, "ALTER TABLE people RENAME COLUMN note TO memo", "INSERT INTO people VALUES (3, 'c@example.com', 3, 'three', 1)")
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the stream went on past a RENAME COLUMN of a renamed column:\n%s", tail(p.output(), 20))
	}
	if out := p.output(); !strings.Contains(out, "tables[0].rename") || !strings.Contains(out, "note") {
		t.Errorf("the stream's stop does not name tables[0].rename and the column:\n%s", tail(out, 10))
	}
}

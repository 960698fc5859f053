//go:build integration

package integration

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/snapshot"
	"github.com/replicator/replicator/source"
	"github.com/replicator/replicator/transform"
)

// oneTable is the stream's schema tracker for a single table definition.
type oneTable struct{ def *schema.Table }

func (o oneTable) Selected(db, table string) bool { return db == o.def.Schema && table == o.def.Name }
func (o oneTable) Lookup(db, table string) *schema.Table {
	if o.Selected(db, table) {
		return o.def
	}
	return nil
}
func (o oneTable) Put(*schema.Table) error { return nil }

// TestTransformPathsAgree reads the same values from a real MariaDB through
// the snapshot's path (snapshot.StreamRows on a SELECT), the online copy's
// (snapshot.ReadAfter, resumed after a key) and the stream's (the binlog decoder on the
// row events of one multi-statement transaction), makes target rows of
// both with one transform.View (renamed, hashed and metadata columns) and checks: each
// hash is HMAC-SHA256 of the documented byte form computed here with crypto/hmac, the two
// paths give identical hashes, and so does the server's own HMAC (SHA2 in SQL) of the text
// it shows for each value, and the metadata columns hold the snapshot's GTID position
// (commit time NULL) or the transaction's GTID and commit time as the source recorded it.
func TestTransformPathsAgree(t *testing.T) {
	my := mysqlRoot(t)
	const db = "it_transform_paths"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "CREATE TABLE `"+db+"`.people (id INT PRIMARY KEY, email VARCHAR(100) CHARACTER SET latin1, born DATETIME(3), amount DECIMAL(10,2), score DOUBLE, kind ENUM('a','b'), flags BIT(12), code CHAR(6), note TEXT)")
	// Row r of the snapshot (id r) and of the stream (id 10+r) take the same values.
	values := []string{
		"'ann@example.com', '2024-01-31 10:20:30.1', 12.5, 0.1, 'b', b'101010111100', 'ab', 'café'",
		"'caf\u00e9@example.com', '1999-12-31 23:59:59.999', -0.01, -2.5e-300, 'a', b'1', 'x', ''",
		"NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL",
	}
	// The documented byte form of each hashed value (email, born, amount, score, kind, flags,
	// code) per row; nil for NULL.
	forms := [][]any{
		{"ann@example.com", "2024-01-31 10:20:30.100", "12.50", "0.1", "b", "\x0a\xbc", "ab"},
		{"café@example.com", "1999-12-31 23:59:59.999", "-0.01", "-2.5e-300", "a", "\x00\x01", "x"},
		{nil, nil, nil, nil, nil, nil, nil},
	}
	for r, v := range values {
		mustExec(t, my, fmt.Sprintf("INSERT INTO `%s`.people VALUES (%d, %s)", db, r+1, v))
	}
	snapPos := sourceGTID(t, my)

	key := "integration-test-hash-key-0123456789"
	rules, err := transform.Compile(transform.Spec{
		Rule:     0,
		Rename:   map[string]string{"email": "contact_email", "note": "remark"},
		Hash:     []string{"email", "born", "amount", "score", "kind", "flags", "code"},
		Metadata: []string{"source_db", "source_table", "commit_time", "gtid"},
	}, func(string) (string, bool) { return key, true })
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	scfg := config.Source{Host: mysqlHost, Port: atoiT(t, mysqlPort), User: "root", Password: mysqlRootPass, TLS: config.TLS{Mode: "disabled"}, ConnectTimeout: config.Duration{Duration: 10 * time.Second}, BinlogReadTimeout: config.Duration{Duration: 10 * time.Second}, BinlogSeekTimeout: config.Duration{Duration: 20 * time.Second}}
	d := source.NewDialer(scfg)
	conn, err := d.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	def, err := conn.LoadTable(ctx, db, "people")
	if err != nil {
		t.Fatal(err)
	}
	all := make([]int, len(def.Columns))
	cols := make([]*schema.Column, len(def.Columns))
	for i := range def.Columns {
		all[i], cols[i] = i, &def.Columns[i]
	}
	view, err := rules.View(def, all, false)
	if err != nil {
		t.Fatal(err)
	}

	// The snapshot's path.
	snap := map[int]change.Row{}
	if err := snapshot.StreamRows(ctx, conn, "SELECT id, email, born, amount, score, kind, flags, code, note FROM `"+db+"`.people ORDER BY id", cols, func(r change.Row) error {
		snap[len(snap)+1] = view.Row(cloneRow(r), transform.Origin{GTID: snapPos})
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// The online copy's path (snapshot.ReadAfter, chunk after chunk by key): the same
	// target rows as the snapshot's, but for the GTID set the copy read at.
	first, err := snapshot.ReadAfter(ctx, conn, def, all, nil, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	rest, err := snapshot.ReadAfter(ctx, conn, def, all, first[0], 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if copied := append(first, rest...); len(copied) != len(values) {
		t.Fatalf("online copy read %d rows, want %d", len(copied), len(values))
	} else {
		for i, r := range copied {
			got, want := view.Row(r, transform.Origin{GTID: "0-1-999"}), snap[i+1]
			for c := 0; c <= 10; c++ { // all but replicator_commit_time and replicator_gtid
				if string(got[c]) != string(want[c]) || (got[c] == nil) != (want[c] == nil) {
					t.Errorf("online copy row %d %s = %q, snapshot %q", i+1, view.Table.Columns[c].Name, got[c], want[c])
				}
			}
			if got[11] != nil || string(got[12]) != "0-1-999" {
				t.Errorf("online copy row %d metadata = %q", i+1, got[9:])
			}
		}
	}

	// The stream's path: one transaction of inserts, an update and a delete, at a commit
	// time the test sets (SET timestamp is what the binlog event header records).
	const commitUnix = 1767225600 // 2026-01-01 00:00:00 UTC
	stmts := []string{"SET timestamp = " + fmt.Sprint(commitUnix), "BEGIN"}
	for r, v := range values {
		stmts = append(stmts, fmt.Sprintf("INSERT INTO `%s`.people VALUES (%d, %s)", db, 11+r, v))
	}
	stmts = append(stmts,
		"INSERT INTO `"+db+"`.people VALUES (20, 'gone@example.com', NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
		"UPDATE `"+db+"`.people SET email = 'ann@example.com' WHERE id = 20",
		"DELETE FROM `"+db+"`.people WHERE id = 20",
		"COMMIT", "SET timestamp = DEFAULT")
	mustExec(t, my, stmts...)
	txGTID := sourceGTID(t, my)

	var events []change.Event
	errDone := errors.New("done")
	err = d.StreamTo(ctx, source.StreamOptions{From: change.Position{Flavor: "mariadb", GTID: snapPos}, ServerID: 4277, Schemas: oneTable{def}, Log: slog.New(slog.DiscardHandler)}, func(_ context.Context, ev change.Event) error {
		if ev.Kind == change.Commit {
			return errDone
		}
		ev.Before, ev.After = cloneRow(ev.Before), cloneRow(ev.After)
		events = append(events, ev)
		return nil
	})
	if !errors.Is(err, errDone) {
		t.Fatalf("stream: %v", err)
	}
	if len(events) != 6 {
		t.Fatalf("stream gave %d row events, want 6 (3 inserts, insert, update, delete)", len(events))
	}

	ref := func(v any) []byte {
		if v == nil {
			return nil
		}
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(v.(string)))
		return []byte(hex.EncodeToString(m.Sum(nil)))
	}
	const wantTime = "2026-01-01 00:00:00"
	for r := range values {
		ev := events[r]
		if ev.Kind != change.Insert || ev.GTID != txGTID {
			t.Fatalf("event %d: %s at GTID %s, want an insert at %s", r, ev.Kind, ev.GTID, txGTID)
		}
		streamed := view.Row(ev.After, transform.Origin{GTID: ev.GTID, Time: ev.Time})
		snapped := snap[r+1]
		// Columns: id, contact_email, born, amount, score, kind, flags, code, remark, then
		// replicator_source_db, replicator_source_table, replicator_commit_time, replicator_gtid.
		for i := 1; i <= 7; i++ {
			want := ref(forms[r][i-1])
			if string(streamed[i]) != string(want) || string(snapped[i]) != string(want) || (streamed[i] == nil) != (want == nil) || (snapped[i] == nil) != (want == nil) {
				t.Errorf("row %d %s: stream %q, snapshot %q, want HMAC of %q = %q", r+1, view.Table.Columns[i].Name, streamed[i], snapped[i], forms[r][i-1], want)
			}
		}
		if string(streamed[8]) != string(snapped[8]) {
			t.Errorf("row %d remark: stream %q, snapshot %q", r+1, streamed[8], snapped[8])
		}
		for i, want := range []string{db, "people", wantTime, txGTID} {
			if got := string(streamed[9+i]); got != want {
				t.Errorf("row %d stream %s = %q, want %q", r+1, view.Table.Columns[9+i].Name, got, want)
			}
		}
		if string(snapped[9]) != db || string(snapped[10]) != "people" || snapped[11] != nil || string(snapped[12]) != snapPos {
			t.Errorf("row %d snapshot metadata = %q, want %s, people, NULL, %s", r+1, snapped[9:], db, snapPos)
		}
		if string(streamed[0]) != fmt.Sprint(r+11) || string(snapped[0]) != fmt.Sprint(r+1) {
			t.Errorf("row %d: ids %q (stream), %q (snapshot)", r+1, streamed[0], snapped[0])
		}
	}
	// The server's own HMAC of its own text of each value (RFC 2104 spelled out over
	// MariaDB's SHA2), against the stream's hashes.
	hmacSQL := func(msg string) string { return hmacSQLOf(string(key), msg) }
	text := func(col string) string { return "CAST(CONVERT(CAST(" + col + " AS CHAR) USING utf8mb4) AS BINARY)" }
	q := "SELECT " + hmacSQL(text("email")) + ", " + hmacSQL(text("born")) + ", " + hmacSQL(text("amount")) + ", " +
		hmacSQL(text("score")) + ", " + hmacSQL(text("kind")) + ", " + hmacSQL("BINARY flags") + ", " + hmacSQL(text("code")) +
		" FROM `" + db + "`.people WHERE id BETWEEN 11 AND 13 ORDER BY id"
	res, err := my.Execute(q)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Values) != len(values) {
		t.Fatalf("server HMAC: %d rows, want %d", len(res.Values), len(values))
	}
	for r := range values {
		streamed := view.Row(events[r].After, transform.Origin{})
		for i := 0; i < 7; i++ {
			var server []byte
			if res.Values[r][i].Type != mysql.FieldValueTypeNull {
				server = res.Values[r][i].AsString()
			}
			if string(server) != string(streamed[i+1]) || (server == nil) != (streamed[i+1] == nil) {
				t.Errorf("row %d %s: server's HMAC %q, stream's hash %q", r+1, view.Table.Columns[i+1].Name, server, streamed[i+1])
			}
		}
	}

	// The key's hash is the same in the update's before and after images and the delete's,
	// so the delete finds the row the insert wrote.
	up, del := events[4], events[5]
	b := view.Row(up.Before, transform.Origin{})
	a := view.Row(up.After, transform.Origin{})
	x := view.Row(del.Before, transform.Origin{})
	if string(b[1]) != string(ref("gone@example.com")) || string(a[1]) != string(ref("ann@example.com")) || string(x[0]) != "20" || string(x[1]) != string(a[1]) {
		t.Errorf("update/delete images: before %q, after %q, delete %q", b[1], a[1], x[:2])
	}
	if view.Table.Columns[1].Name != "contact_email" || view.Table.Columns[1].DataType != "char" || view.Table.Columns[8].Name != "remark" {
		t.Errorf("target columns = %+v", view.Table.Columns[:9])
	}
}

func cloneRow(r change.Row) change.Row {
	if r == nil {
		return nil
	}
	out := make(change.Row, len(r))
	for i, v := range r {
		if v != nil {
			out[i] = append([]byte{}, v...)
		}
	}
	return out
}

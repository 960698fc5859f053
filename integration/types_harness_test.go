//go:build integration

package integration

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"
)

// The type matrix: every table has an INT primary key "id" (unless keyless), an INT "n"
// and the columns under test. Row r of a table takes value r of every column. The rows
// are written once before the snapshot (ids 1..R) and again through the binary log:
//
//	100+r  inserted with value r
//	200+r  inserted with the values of row r+1, then updated to those of row r
//	300+r  inserted with value r, then updated in n only (before and after images carry it)
//	400+r  inserted with value r, then deleted (the delete's row image is decoded)
//
// so ids r, 100+r, 200+r and 300+r must all hold the documented target value of row r in
// both targets, and 400+r must be gone.

// tNull is the expected value of SQL NULL (PostgreSQL) in the tables below.
const tNull = "<NULL>"

// tcol is one column of the matrix.
type tcol struct {
	name string
	def  string   // column definition after the name
	gen  bool     // generated: never written
	vals []string // SQL literal per row
	pg   []string // PostgreSQL value::text per row (TimeZone UTC), tNull for NULL
	es   []string // the field in the Elasticsearch _source, as JSON text
	// digest: pg and es hold the md5 hex of the bytes (large values).
	digest bool
}

// ttable is one source table of the matrix.
type ttable struct {
	name    string
	options string // table options, e.g. a default charset
	keyless bool   // no primary key: "id" is NOT NULL with a unique index, the config names it
	cols    []tcol
}

func (tt ttable) rows() int { return len(tt.cols[0].vals) }

// createSQL is the CREATE TABLE of tt in db.
func (tt ttable) createSQL(db string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE `%s`.`%s` (id INT NOT NULL, n INT NOT NULL DEFAULT 0", db, tt.name)
	for _, c := range tt.cols {
		fmt.Fprintf(&b, ", `%s` %s", c.name, c.def)
	}
	if tt.keyless {
		b.WriteString(", UNIQUE KEY uk (id))")
	} else {
		b.WriteString(", PRIMARY KEY (id))")
	}
	return b.String() + " " + tt.options
}

func (tt ttable) written() []tcol {
	var out []tcol
	for _, c := range tt.cols {
		if !c.gen {
			out = append(out, c)
		}
	}
	return out
}

// insertSQL inserts row r of tt under id.
func (tt ttable) insertSQL(db string, id, r int) string {
	names := []string{"id"}
	vals := []string{strconv.Itoa(id)}
	for _, c := range tt.written() {
		names = append(names, "`"+c.name+"`")
		vals = append(vals, c.vals[r])
	}
	return fmt.Sprintf("INSERT INTO `%s`.`%s` (%s) VALUES (%s)", db, tt.name, strings.Join(names, ", "), strings.Join(vals, ", "))
}

// updateSQL sets every written column of id to the values of row r.
func (tt ttable) updateSQL(db string, id, r int) string {
	var sets []string
	for _, c := range tt.written() {
		sets = append(sets, "`"+c.name+"` = "+c.vals[r])
	}
	return fmt.Sprintf("UPDATE `%s`.`%s` SET %s WHERE id = %d", db, tt.name, strings.Join(sets, ", "), id)
}

// typeSession opens the writing session of the matrix: a time zone that is not UTC (the
// targets must still show TIMESTAMP values in UTC) and an sql_mode that allows zero dates
// and stores an invalid ENUM value as the empty member.
func typeSession(t *testing.T) *client.Conn {
	t.Helper()
	my := mysqlRoot(t)
	mustExec(t, my, "SET NAMES utf8mb4", "SET time_zone = '+05:30'", "SET sql_mode = 'NO_ENGINE_SUBSTITUTION'")
	return my
}

// loadSnapshotRows creates the tables and writes the rows the snapshot copies.
func loadSnapshotRows(t *testing.T, my *client.Conn, db string, tables []ttable) {
	t.Helper()
	freshMySQLDatabase(t, my, db)
	for _, tt := range tables {
		mustExec(t, my, tt.createSQL(db))
		for r := 0; r < tt.rows(); r++ {
			mustExec(t, my, tt.insertSQL(db, r+1, r))
		}
	}
}

// writeBinlogRows writes the rows that only the binary log carries.
func writeBinlogRows(t *testing.T, my *client.Conn, db string, tables []ttable) {
	t.Helper()
	for _, tt := range tables {
		n := tt.rows()
		for r := 0; r < n; r++ {
			mustExec(t, my,
				tt.insertSQL(db, 101+r, r),
				tt.insertSQL(db, 201+r, (r+1)%n),
				tt.updateSQL(db, 201+r, r),
				tt.insertSQL(db, 301+r, r),
				fmt.Sprintf("UPDATE `%s`.`%s` SET n = 1 WHERE id = %d", db, tt.name, 301+r),
				tt.insertSQL(db, 401+r, r),
				fmt.Sprintf("DELETE FROM `%s`.`%s` WHERE id = %d", db, tt.name, 401+r),
			)
		}
	}
}

// expectedIDs are the ids that must exist after both phases, each with the row it holds.
func expectedIDs(tt ttable, binlog bool) map[int]int {
	ids := map[int]int{}
	for r := 0; r < tt.rows(); r++ {
		ids[1+r] = r
		if binlog {
			ids[101+r], ids[201+r], ids[301+r] = r, r, r
		}
	}
	return ids
}

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

// assertPGTypes compares every row and column of tt in PostgreSQL with the expected text.
func assertPGTypes(t *testing.T, pg *pgx.Conn, db string, tt ttable, binlog bool) {
	t.Helper()
	ctx := context.Background()
	if _, err := pg.Exec(ctx, "SET TimeZone = 'UTC'"); err != nil {
		t.Fatal(err)
	}
	exprs := []string{"id"}
	for _, c := range tt.cols {
		e := pgx.Identifier{c.name}.Sanitize()
		if c.digest {
			e = "md5(" + e + ")"
		}
		exprs = append(exprs, e+"::text")
	}
	rows, err := pg.Query(ctx, fmt.Sprintf("SELECT %s FROM %s", strings.Join(exprs, ", "), pgx.Identifier{db, tt.name}.Sanitize()))
	if err != nil {
		t.Fatalf("read %s.%s: %v", db, tt.name, err)
	}
	defer rows.Close()
	want := expectedIDs(tt, binlog)
	seen := map[int]bool{}
	bad := 0
	for rows.Next() {
		var id int
		vals := make([]*string, len(tt.cols))
		dst := []any{&id}
		for i := range vals {
			dst = append(dst, &vals[i])
		}
		if err := rows.Scan(dst...); err != nil {
			t.Fatal(err)
		}
		seen[id] = true
		r, ok := want[id]
		if !ok {
			t.Errorf("postgres %s.%s: unexpected id %d", db, tt.name, id)
			continue
		}
		for i, c := range tt.cols {
			got := tNull
			if vals[i] != nil {
				got = *vals[i]
			}
			if got != c.pg[r] {
				bad++
				if bad <= 25 {
					t.Errorf("postgres %s.%s id %d column %s (%s, source %s): got %q, want %q", db, tt.name, id, c.name, c.def, c.vals[r], got, c.pg[r])
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("postgres %s.%s: id %d missing", db, tt.name, id)
		}
	}
}

// esTypeDocs reads every document of an index with its _source fields as raw JSON.
func esTypeDocs(t *testing.T, et *esTarget, index string) map[string]map[string]json.RawMessage {
	t.Helper()
	esOK(t, et.es, esapi.IndicesRefreshRequest{Index: []string{index}}, nil)
	size := 1000
	code, body := esDo(t, et.es, esapi.SearchRequest{Index: []string{index}, Size: &size, Body: strings.NewReader(`{"sort":["_doc"]}`)})
	if code != 200 {
		t.Fatalf("search %s: %d %s", index, code, body)
	}
	var res struct {
		Hits struct {
			Hits []struct {
				ID     string          `json:"_id"`
				Source json.RawMessage `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]json.RawMessage{}
	for _, h := range res.Hits.Hits {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(h.Source, &m); err != nil {
			t.Fatalf("%s/%s: %v", index, h.ID, err)
		}
		out[h.ID] = m
	}
	return out
}

// jsonValue decodes JSON text keeping numbers as their text, so 1.5 and 1.50 differ.
func jsonValue(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// assertESTypes compares every document of tt's index with the expected JSON values:
// numbers by their exact text, strings by value (not by escape form), arrays and objects
// member by member.
func assertESTypes(t *testing.T, et *esTarget, db string, tt ttable, binlog bool) {
	t.Helper()
	index := et.index(db, tt.name)
	docs := esTypeDocs(t, et, index)
	want := expectedIDs(tt, binlog)
	bad := 0
	for id, r := range want {
		doc, ok := docs[strconv.Itoa(id)]
		if !ok {
			t.Errorf("elasticsearch %s: _id %d missing", index, id)
			continue
		}
		for _, c := range tt.cols {
			raw, ok := doc[c.name]
			if !ok {
				t.Errorf("elasticsearch %s/%d: no field %s", index, id, c.name)
				continue
			}
			var got, exp any
			var err error
			if c.digest {
				var s string
				var b []byte
				if err = json.Unmarshal(raw, &s); err == nil {
					b, err = base64.StdEncoding.DecodeString(s)
				}
				got, exp = md5hex(b), c.es[r]
			} else {
				if got, err = jsonValue(raw); err == nil {
					exp, err = jsonValue([]byte(c.es[r]))
				}
			}
			if err != nil {
				t.Fatalf("elasticsearch %s/%d field %s: %v (got %s, want %s)", index, id, c.name, err, clip(raw), c.es[r])
			}
			if !reflect.DeepEqual(got, exp) {
				bad++
				if bad <= 25 {
					t.Errorf("elasticsearch %s/%d field %s (%s, source %s): got %s, want %s", index, id, c.name, c.def, c.vals[r], clip(raw), c.es[r])
				}
			}
		}
	}
	var extra []string
	for id := range docs {
		n, _ := strconv.Atoi(id)
		if _, ok := want[n]; !ok {
			extra = append(extra, id)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("elasticsearch %s: unexpected _ids %v", index, extra)
	}
}

func clip(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// typeTargets runs the replicator into a fresh PostgreSQL database and an Elasticsearch
// index set at once, with the given [mapping] section and table rules, over the matrix.
type typeTargets struct {
	url string
	pg  *pgx.Conn
	et  *esTarget
	pgP *proc
	esP *proc
}

// startTypeTargets starts both replicators (with server ids of their own, so no other
// test's binlog dump is disturbed) and waits until both finished the snapshot and caught
// up. keys names the configured key of keyless tables.
func startTypeTargets(t *testing.T, my *client.Conn, db, name, mappingSection string, keys map[string][]string, prepare func(url string)) *typeTargets {
	t.Helper()
	tg := &typeTargets{url: freshPGDatabase(t)}
	if prepare != nil {
		prepare(tg.url)
	}
	tg.pg = pgConnect(t, tg.url)
	tg.et = newESTarget(t, name)
	extra := mappingSection + "\n[apply]\nflush_interval = \"100ms\"\n"
	rules := func(target string) string {
		var b strings.Builder
		names := make([]string, 0, len(keys))
		for n := range keys {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "[[tables]]\nsource = \"%s.%s\"\nkey = [\"%s\"]\n", db, n, strings.Join(keys[n], "\", \""))
			if target != "" {
				fmt.Fprintf(&b, "target = %q\n", target)
			}
		}
		return b.String()
	}
	pgCfg := configText("replicator", mysqlReplPass, tg.url, extra+rules("")+fmt.Sprintf("[[tables]]\nsource = \"%s.*\"\n", db))
	pgCfg = strings.Replace(pgCfg, "server_id = 4201", "server_id = 4391", 1)
	esCfg := strings.Replace(tg.et.config(db, extra), "server_id = 4272", "server_id = 4392", 1)
	// The first matching rule wins: the keyed rules go before the catch-all one.
	i := strings.Index(esCfg, "[[tables]]")
	esCfg = esCfg[:i] + rules(tg.et.prefix+"{db}.{table}") + esCfg[i:]
	tg.pgP = startCLI(t, "run", "-c", writeConfig(t, pgCfg))
	tg.esP = startCLI(t, "run", "-c", writeConfig(t, esCfg))
	tg.waitCaughtUp(t, my)
	return tg
}

func (tg *typeTargets) waitCaughtUp(t *testing.T, my *client.Conn) {
	t.Helper()
	waitCaughtUp(t, my, tg.pg, tg.pgP, 180*time.Second)
	tg.et.waitCaughtUp(t, my, tg.esP, 180*time.Second)
}

func (tg *typeTargets) assertAll(t *testing.T, db string, tables []ttable, binlog bool) {
	t.Helper()
	for _, tt := range tables {
		assertPGTypes(t, tg.pg, db, tt, binlog)
		assertESTypes(t, tg.et, db, tt, binlog)
	}
}

func (tg *typeTargets) stop(t *testing.T) {
	t.Helper()
	tg.pgP.stop(t)
	tg.esP.stop(t)
	tg.et.cleanup(t)
}

// col is a column of the matrix: its definition, then per row the SQL literal, the
// PostgreSQL text and the Elasticsearch JSON.
func col(name, def string, vals, pg, es []string) tcol {
	return tcol{name: name, def: def, vals: vals, pg: pg, es: es}
}

// s lists one entry per row.
func s(v ...string) []string { return v }

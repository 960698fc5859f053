//go:build integration

package integration

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/jackc/pgx/v5"
)

// colInfo is what the comparison needs to know of a source column.
type colInfo struct {
	name, dataType string
	key            bool
	width          int
}

func sourceColumns(t testing.TB, my *client.Conn, db, table string) []colInfo {
	t.Helper()
	res, err := my.Execute(`SELECT COLUMN_NAME, DATA_TYPE, COLUMN_KEY = 'PRI', IFNULL(NUMERIC_PRECISION, 0)
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, db, table)
	if err != nil {
		t.Fatal(err)
	}
	var out []colInfo
	for i := range res.Values {
		name, _ := res.GetString(i, 0)
		dt, _ := res.GetString(i, 1)
		key, _ := res.GetInt(i, 2)
		w, _ := res.GetInt(i, 3)
		out = append(out, colInfo{name: name, dataType: dt, key: key == 1, width: int(w)})
	}
	if len(out) == 0 {
		t.Fatalf("source table %s.%s has no columns", db, table)
	}
	return out
}

// expectedPG renders a source value (MySQL text form, UTC session) the way the target's
// ::text shows it after the documented type mapping (README, type mapping).
func expectedPG(c colInfo, v []byte) string {
	s := string(v)
	switch c.dataType {
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "geometry", "point", "polygon", "linestring":
		return `\x` + hex.EncodeToString(v)
	case "date", "datetime", "timestamp":
		if len(s) >= 10 && (s[:4] == "0000" || s[5:7] == "00" || s[8:10] == "00") {
			return "-infinity"
		}
		return trimFraction(s)
	case "inet6", "inet4":
		return canonicalAddr(s)
	case "bit":
		var b strings.Builder
		for bit := c.width - 1; bit >= 0; bit-- {
			idx := len(v) - 1 - bit/8
			if idx >= 0 && v[idx]&(1<<(bit%8)) != 0 {
				b.WriteByte('1')
			} else {
				b.WriteByte('0')
			}
		}
		return b.String()
	}
	return s
}

// trimFraction drops trailing zeros of fractional seconds, as PostgreSQL prints them.
func trimFraction(s string) string {
	if i := strings.LastIndexByte(s, '.'); i > 0 && strings.Count(s, ":") >= 2 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	return s
}

func normalisePG(c colInfo, s string) string {
	switch c.dataType {
	case "timestamp":
		return strings.TrimSuffix(s, "+00")
	case "inet6", "inet4":
		return canonicalAddr(s)
	}
	return s
}

// canonicalAddr is one text of an IP address: MariaDB prints INET6 values in its own way
// (a single zero group as "::"), PostgreSQL's inet::text adds the /128 or /32 of a host.
func canonicalAddr(s string) string {
	if p, err := netip.ParsePrefix(s); err == nil && p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String()
	}
	return s
}

type tableRows map[string][]*string

// readSource reads every row of a source table in text form, keyed by primary key.
func readSource(t testing.TB, my *client.Conn, db, table string, cols []colInfo) tableRows {
	t.Helper()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = "`" + c.name + "`"
	}
	if _, err := my.Execute("SET time_zone = '+00:00'"); err != nil {
		t.Fatal(err)
	}
	rows := tableRows{}
	var res mysql.Result
	err := my.ExecuteSelectStreaming(fmt.Sprintf("SELECT %s FROM `%s`.`%s`", strings.Join(names, ", "), db, table), &res,
		func(vals []mysql.FieldValue) error {
			row := make([]*string, len(vals))
			for i, v := range vals {
				if v.Type == mysql.FieldValueTypeNull {
					continue
				}
				var raw []byte
				switch v.Type {
				case mysql.FieldValueTypeSigned:
					raw = []byte(fmt.Sprint(v.AsInt64()))
				case mysql.FieldValueTypeUnsigned:
					raw = []byte(fmt.Sprint(v.AsUint64()))
				case mysql.FieldValueTypeFloat:
					raw = []byte(fmt.Sprint(v.AsFloat64()))
				default:
					raw = append([]byte(nil), v.AsString()...)
				}
				s := expectedPG(cols[i], raw)
				row[i] = &s
			}
			rows[keyOf(cols, row)] = row
			return nil
		}, nil)
	if err != nil {
		t.Fatalf("read source %s.%s: %v", db, table, err)
	}
	return rows
}

func readTarget(t testing.TB, pg *pgx.Conn, schema, table string, cols []colInfo) tableRows {
	t.Helper()
	return readTargetWhere(t, pg, schema, table, cols, "")
}

// readTargetWhere is readTarget of the rows that where (" WHERE ...", with args) selects.
func readTargetWhere(t testing.TB, pg *pgx.Conn, schema, table string, cols []colInfo, where string, args ...any) tableRows {
	t.Helper()
	ctx := context.Background()
	if _, err := pg.Exec(ctx, "SET TimeZone = 'UTC'"); err != nil {
		t.Fatal(err)
	}
	exprs := make([]string, len(cols))
	for i, c := range cols {
		exprs[i] = pgx.Identifier{c.name}.Sanitize() + "::text"
	}
	r, err := pg.Query(ctx, fmt.Sprintf("SELECT %s FROM %s", strings.Join(exprs, ", "), pgx.Identifier{schema, table}.Sanitize())+where, args...)
	if err != nil {
		t.Fatalf("read target %s.%s: %v", schema, table, err)
	}
	defer r.Close()
	rows := tableRows{}
	for r.Next() {
		row := make([]*string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := r.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range row {
			if v != nil {
				s := normalisePG(cols[i], *v)
				row[i] = &s
			}
		}
		rows[keyOf(cols, row)] = row
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func keyOf(cols []colInfo, row []*string) string {
	var parts []string
	for i, c := range cols {
		if c.key && row[i] != nil {
			parts = append(parts, *row[i])
		}
	}
	return strings.Join(parts, "\x00")
}

// assertTableEqual compares a source table with its target copy row by row and value by
// value, and returns the row count.
func assertTableEqual(t testing.TB, my *client.Conn, pg *pgx.Conn, db, table, pgSchema, pgTable string) int {
	t.Helper()
	cols := sourceColumns(t, my, db, table)
	src := readSource(t, my, db, table, cols)
	dst := readTarget(t, pg, pgSchema, pgTable, cols)
	compareRows(t, db+"."+table, cols, src, dst)
	return len(src)
}

// compareRows fails the test for each row of src missing or different in dst and each
// row of dst not in src; name is the source table, for messages.
func compareRows(t testing.TB, name string, cols []colInfo, src, dst tableRows) {
	t.Helper()
	if len(src) != len(dst) {
		t.Errorf("%s: source has %d rows, target %d", name, len(src), len(dst))
	}
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bad := 0
	for _, k := range keys {
		d, ok := dst[k]
		if !ok {
			t.Errorf("%s: key %q missing in target", name, k)
			bad++
		} else {
			for i, c := range cols {
				if !valueEqual(c, src[k][i], d[i]) {
					t.Errorf("%s key %q column %s: source %s, target %s", name, k, c.name, show(src[k][i]), show(d[i]))
					bad++
				}
			}
		}
		if bad > 10 {
			t.Fatalf("%s: too many differences", name)
		}
	}
	for k := range dst {
		if _, ok := src[k]; !ok {
			t.Errorf("%s: target has extra key %q", name, k)
		}
	}
}

func valueEqual(c colInfo, a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if c.dataType == "json" {
		var x, y any
		if json.Unmarshal([]byte(*a), &x) == nil && json.Unmarshal([]byte(*b), &y) == nil {
			return reflect.DeepEqual(x, y)
		}
	}
	return *a == *b
}

func show(p *string) string {
	if p == nil {
		return "NULL"
	}
	return fmt.Sprintf("%q", *p)
}

// waitCaughtUp waits until the target's checkpoint reaches the source's position.
func waitCaughtUp(t testing.TB, my *client.Conn, pg *pgx.Conn, p *proc, timeout time.Duration) {
	t.Helper()
	want := sourceGTID(t, my)
	deadline := time.Now().Add(timeout)
	var got string
	for time.Now().Before(deadline) {
		if p != nil && p.exited() {
			t.Fatalf("replicator exited (%v) before catching up to %s\n%s", p.err, want, tail(p.output(), 40))
		}
		err := pg.QueryRow(context.Background(), "SELECT gtid FROM _replicator.checkpoint WHERE name = 'default' AND phase = 'streaming'").Scan(&got)
		if err == nil && gtidCovers(got, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	out := ""
	if p != nil {
		out = tail(p.output(), 40)
	}
	t.Fatalf("target checkpoint %q did not reach source %q within %s\n%s", got, want, timeout, out)
}

func pgColumns(t *testing.T, url, schema, table string) string {
	t.Helper()
	pg := pgConnect(t, url)
	var cols string
	err := pg.QueryRow(context.Background(), `SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)
		FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2`, schema, table).Scan(&cols)
	if err != nil {
		t.Fatal(err)
	}
	return cols
}

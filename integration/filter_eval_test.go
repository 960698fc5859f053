//go:build integration

package integration

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/filter"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/snapshot"
	"github.com/replicator/replicator/source"
)

// TestFilterMatchesServer evaluates row filters with package filter on the rows the
// snapshot reads (canonical form) and compares, row by row, with the server's own
// evaluation of the same expression on the same rows.
func TestFilterMatchesServer(t *testing.T) {
	my := mysqlRoot(t)
	db := "it_filter_eval"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my,
		"CREATE TABLE "+db+".v (id int PRIMARY KEY, i int, u bigint unsigned, d decimal(10,3), f float, dbl double, "+
			"s varchar(20) COLLATE utf8mb4_general_ci, sb varchar(20) COLLATE utf8mb4_bin, c char(5), b varbinary(10), "+
			"dt date, ts datetime(3), tm time, e enum('a','B','c'), y year)",
		"INSERT INTO "+db+".v VALUES "+
			"(1, 1, 1, 1.000, 1.1, 1.1, '1', '1', 'a', 'a', '2024-01-31', '2024-01-31 10:20:30.500', '10:20:30', 'a', 2024),"+
			"(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"+
			"(3, 100, 18446744073709551615, -2.500, 100, 100, '1e2', '1E2', 'ab ', 'ab ', '0000-00-00', '2024-02-01 00:00:00', '-01:00:00', 'B', 1999),"+
			"(4, -7, 0, 0.001, -0.5, 0.1, 'abc ', 'abc ', 'ABC', 'ABC', '1999-12-31', '1999-12-31 23:59:59.999', '838:59:59', 'c', 2000),"+
			"(5, 0, 42, 99999.999, 0, 0.30000000000000004, 'Été', 'été', 'e', 'e', '2024-01-01', '2024-01-01 00:00:00.001', '00:00:00', 'a', 2155),"+
			"(6, 12, 7, 12.000, 12.5, 12.5, '12abc', '12abc', '%_x', '%_\\\\', '2020-02-29', '2020-02-29 12:00:00', '12:00:00', 'B', 1901),"+
			"(7, 3, 3, 3.333, 3, 3, '', '', '', '', '2024-01-31', '2024-01-31 00:00:00', '10:20:30.5', 'c', 2024),"+
			"(8, 2, 2, 0.5, 0.5, 0.5, ' 3', ' 3', 'a%b', 'a_b', '2024-12-31', '2024-12-31 23:59:59', '23:59:59', 'a', 2024)")

	exprs := []string{
		"i = 1", "i <> 1", "i != 1", "i > 2 AND i < 50", "i < 0 OR i IS NULL", "NOT i = 1", "NOT (i > 1)",
		"i = '1'", "i = '1e2'", "s = 1", "s = 100", "s = '1e2'", "sb = '1e2'", "s > 2", "s = 12", "s = 0",
		"s = 'abc'", "s = 'ABC '", "sb = 'abc'", "sb = 'abc '", "s = 'ete'", "sb = 'ete'", "c = 'ab'", "c = 'AB'",
		"b = 'a'", "b = 'A'", "b = 'ABC'", "s < 'b'", "s >= 'Été'", "s <=> NULL", "i <=> 1", "NULL <=> i",
		"d = 1", "d = 1.0", "d > 0", "d = -2.5", "d < 0.01", "d = '0.001'", "d BETWEEN 0 AND 100", "d NOT BETWEEN -1 AND 1",
		"f = 1.1", "f = 100", "f > 1", "dbl = 1.1", "dbl = 0.1 + 0.2", "dbl = 0.30000000000000004", "f = 0.5", "dbl < 1e1",
		"u > 10", "u = 18446744073709551615", "u = -1", "u > 1 + 1", "i + 1 = 2", "i * 2 = 24", "i / 2 = 6", "i / 3 = 1",
		"i / 3 > 0.3333", "d / 3 = 1.111", "d / 3 > 1.1110", "i DIV 2 = 1", "i % 5 = 2", "i MOD 5 = 2", "-i = 7", "i - 10 < 0",
		"i / 0 IS NULL", "i + NULL IS NULL", "s + 0 = 12", "s * 1 = 100", "s + 1 > 3",
		"i IN (1, 2, 3)", "i NOT IN (1, 2, 3)", "i IN (1, NULL)", "i NOT IN (1, NULL)", "s IN ('ABC', 'x')", "s IN (1, 12)",
		"e = 'b'", "e IN ('a', 'c')", "e > 'a'",
		"s LIKE 'a%'", "s LIKE 'A%'", "sb LIKE 'a%'", "sb LIKE 'A%'", "s LIKE '%c'", "s LIKE '%c '", "s LIKE '_bc_'",
		"s LIKE '%e'", "c LIKE '\\%%'", "c LIKE '%\\_%'", "c LIKE 'a|%b' ESCAPE '|'", "b LIKE 'a_b'", "s NOT LIKE '%b%'",
		"i LIKE '1%'", "d LIKE '%.5%'",
		"s IS NULL", "s IS NOT NULL", "i IS TRUE", "i IS FALSE", "i IS NOT TRUE", "s IS TRUE", "d IS NOT FALSE",
		"dt = '2024-01-31'", "dt > '2024-01-01'", "dt < '2000-01-01'", "dt = '2024-01-31 00:00:00'", "dt < '2024-01-31 10:00:00'",
		"dt BETWEEN '2024-01-01' AND '2024-06-30'", "ts > '2024-01-31 10:20:30'", "ts = '2024-01-31 10:20:30.5'",
		"ts < '2024-01-31'", "ts >= dt", "ts = dt", "dt = 20240131", "dt > 20240000", "ts > 20240131102030",
		"tm > '10:00:00'", "tm < '00:00:00'", "tm = '10:20:30.5'", "tm > 102030", "tm BETWEEN '01:00:00' AND '13:00'",
		"y = 2024", "y > '2000'", "y BETWEEN 1990 AND 2010",
		"LOWER(s) = 'abc '", "UPPER(sb) = 'ABC'", "LENGTH(s) = 4", "LENGTH(s) = 5", "CHAR_LENGTH(s) = 3", "LENGTH(b) = 3",
		"COALESCE(i, 99) = 99", "IFNULL(s, 'none') = 'none'", "COALESCE(NULL, d, 5) > 1", "ABS(i) = 7", "ABS(d) > 2",
		"CONCAT(s, c) = 'abcABC'", "CONCAT(s, i) LIKE '%1'", "CONCAT(s, NULL) IS NULL",
		"i = 1 XOR s = '1'", "(i > 0 AND s IS NOT NULL) OR d < 0", "i > 0 AND NULL", "i > 100 AND NULL", "i > 0 OR NULL",
		"NOT NULL", "TRUE", "FALSE", "i", "s", "d", "dbl", "i AND s",
	}

	cfg := config.Source{Host: mysqlHost, Port: atoiT(t, mysqlPort), User: "root", Password: mysqlRootPass, TLS: config.TLS{Mode: "disabled"}, ConnectTimeout: config.Duration{Duration: 10 * time.Second}}
	ctx := context.Background()
	conn, err := source.NewDialer(cfg).Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	def, err := conn.LoadTable(ctx, db, "v")
	if err != nil {
		t.Fatal(err)
	}
	cols := make([]string, len(def.Columns))
	for i, c := range def.Columns {
		cols[i] = "`" + c.Name + "`"
	}
	var rows []change.Row
	sel := make([]string, len(def.Columns))
	for i := range def.Columns {
		sel[i] = cols[i]
	}
	colPtrs := def.Columns
	ptrs := make([]*schema.Column, len(colPtrs))
	for i := range colPtrs {
		ptrs[i] = &colPtrs[i]
	}
	if err := snapshot.StreamRows(ctx, conn, "SELECT "+join(sel)+" FROM `"+db+"`.v ORDER BY id", ptrs, func(r change.Row) error {
		cp := make(change.Row, len(r))
		for i, v := range r {
			if v != nil {
				cp[i] = append([]byte{}, v...)
			}
		}
		rows = append(rows, cp)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 8 {
		t.Fatalf("read %d rows, want 8", len(rows))
	}
	mismatches, trues := 0, 0
	for _, text := range exprs {
		e, err := filter.Parse(text)
		if err != nil {
			t.Errorf("Parse(%q): %v", text, err)
			continue
		}
		b, err := e.Bind(def)
		if err != nil {
			t.Errorf("Bind(%q): %v", text, err)
			continue
		}
		got, err := conn.QueryStrings(ctx, "SELECT id, ("+e.SQL()+") IS TRUE FROM `"+db+"`.v ORDER BY id")
		if err != nil {
			t.Errorf("server on %q: %v", text, err)
			continue
		}
		for i, r := range rows {
			want := *got[i][1] == "1"
			if want {
				trues++
			}
			if b.Match(r) != want {
				mismatches++
				t.Errorf("%s on row id=%s: filter says %v, server says %v (row %q)", text, *got[i][0], !want, want, fmt.Sprint(rowStrings(r)))
			}
		}
	}
	t.Logf("%d expressions x %d rows compared: %d true at the server, %d mismatches", len(exprs), len(rows), trues, mismatches)
	if trues < len(exprs) || trues > len(exprs)*len(rows)-len(exprs) {
		t.Errorf("%d of %d results true: the table no longer tells the expressions apart", trues, len(exprs)*len(rows))
	}
}

func atoiT(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

func rowStrings(r change.Row) []string {
	out := make([]string, len(r))
	for i, v := range r {
		if v == nil {
			out[i] = "NULL"
		} else {
			out[i] = string(v)
		}
	}
	return out
}

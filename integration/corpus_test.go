//go:build integration

package integration

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"
)

// TestCorpus runs every schema of testdata/corpus (public sample databases and the tables
// real applications create, README "Test corpus") through a snapshot and the binary log
// into PostgreSQL and Elasticsearch at once: the statements before the "-- stream" line are
// loaded and filled before the snapshot, the rest run while streaming; a generated workload
// (inserts, updates, deletes over every table) runs around a kill -9 of both processes, and
// every table must then be equal row by row in both targets. REPLICATOR_CORPUS_ROUNDS
// (default 2) sets how many workload rounds run on each side of the kill.
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/corpus/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus schemas: %v", err)
	}
	rounds := 2
	if v := os.Getenv("REPLICATOR_CORPUS_ROUNDS"); v != "" {
		if rounds, err = strconv.Atoi(v); err != nil {
			t.Fatalf("REPLICATOR_CORPUS_ROUNDS=%q: %v", v, err)
		}
	}
	for i, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sql")
		t.Run(name, func(t *testing.T) { runCorpus(t, f, name, 4600+2*i, rounds) })
	}
}

func runCorpus(t *testing.T, file, name string, serverID, rounds int) {
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pre, stream, _ := strings.Cut(string(text), "-- stream\n")
	withES := !strings.Contains(string(text), "-- targets: postgres")
	my := mysqlRoot(t)
	db := "it_corpus_" + name
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE `"+db+"`")
	mustExec(t, my, corpusStatements(pre)...)
	rng := rand.New(rand.NewSource(int64(serverID)))
	corpusWorkload(t, my, db, rng, 40)

	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	pgCfg := writeConfig(t, strings.Replace(configText("replicator", mysqlReplPass, url, fmt.Sprintf("[[tables]]\nsource = %q\n", db+".*")),
		"server_id = 4201", fmt.Sprintf("server_id = %d", serverID), 1))
	var et *esTarget
	var esCfg string
	var ep *proc
	startES := func() {
		if withES {
			ep = startCLI(t, "run", "-c", esCfg)
			et.waitCaughtUp(t, my, ep, 120*time.Second)
		}
	}
	if withES {
		et = newESTarget(t, "corpus-"+name)
		esCfg = writeConfig(t, strings.Replace(et.config(db, ""), "server_id = 4272", fmt.Sprintf("server_id = %d", serverID+1), 1))
	}
	pp := startCLI(t, "run", "-c", pgCfg)
	startES()
	waitCaughtUp(t, my, pg, pp, 120*time.Second)

	mustExec(t, my, "USE `"+db+"`")
	mustExec(t, my, corpusStatements(stream)...)
	for r := 0; r < rounds; r++ {
		corpusWorkload(t, my, db, rng, 20)
	}
	pp.kill()
	if withES {
		ep.kill()
	}
	for r := 0; r < rounds; r++ {
		corpusWorkload(t, my, db, rng, 20)
	}
	pp = startCLI(t, "run", "-c", pgCfg)
	startES()
	waitCaughtUp(t, my, pg, pp, 120*time.Second)
	for _, table := range corpusTables(t, my, db) {
		if corpusKeyless(t, my, db, table) {
			assertCorpusKeylessEqual(t, my, pg, db, table)
			continue
		}
		assertTableEqual(t, my, pg, db, table, db, table)
		if withES {
			et.assertIndexEqual(t, my, db, table)
		}
	}
	pp.stop(t)
	if withES {
		ep.stop(t)
	}
}

func corpusKeyless(t *testing.T, my *client.Conn, db, table string) bool {
	res, err := my.Execute("SELECT count(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_KEY = 'PRI'", db, table)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := res.GetInt(0, 0)
	return n == 0
}

// assertCorpusKeylessEqual compares a table without a key as a multiset of rows: every distinct
// row with how many times it occurs.
func assertCorpusKeylessEqual(t *testing.T, my *client.Conn, pg *pgx.Conn, db, table string) {
	t.Helper()
	cols := sourceColumns(t, my, db, table)
	for i := range cols {
		cols[i].key = true // a row is its own key
	}
	src := readSource(t, my, db, table, cols)
	dst := readTarget(t, pg, db, table, cols)
	if len(src) != len(dst) {
		t.Errorf("%s.%s: source has %d distinct rows, target %d", db, table, len(src), len(dst))
	}
	for k := range src {
		if _, ok := dst[k]; !ok {
			t.Errorf("%s.%s: row %q missing in target", db, table, k)
		}
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = "`" + c.name + "`"
	}
	res, err := my.Execute(fmt.Sprintf("SELECT count(*), count(DISTINCT %s) FROM `%s`.`%s`", strings.Join(names, ", "), db, table))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := res.GetInt(0, 0)
	var m int64
	if err := pg.QueryRow(ctxBG(), fmt.Sprintf("SELECT count(*) FROM %s", pgx.Identifier{db, table}.Sanitize())).Scan(&m); err != nil {
		t.Fatal(err)
	}
	if m != n {
		t.Errorf("%s.%s: source has %d rows, target %d", db, table, n, m)
	}
}

// corpusStatements splits a schema file into statements (one per ';' at a line's end),
// leaving out comment lines.
func corpusStatements(text string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			if s := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"); s != "" {
				out = append(out, s)
			}
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

func corpusTables(t *testing.T, my *client.Conn, db string) []string {
	res, err := my.Execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1", db)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := range res.Values {
		n, _ := res.GetString(i, 0)
		out = append(out, n)
	}
	return out
}

// corpusColumn is what the workload needs of a column to write a value it accepts.
type corpusColumn struct {
	name, dataType, columnType string
	charLen, precision, scale  int64
	key, skip, nullable        bool
}

func corpusColumns(t *testing.T, my *client.Conn, db, table string) []corpusColumn {
	res, err := my.Execute(`SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IFNULL(CHARACTER_MAXIMUM_LENGTH, 0),
		IFNULL(NUMERIC_PRECISION, 0), IFNULL(NUMERIC_SCALE, 0), COLUMN_KEY = 'PRI', EXTRA, IS_NULLABLE = 'YES'
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, db, table)
	if err != nil {
		t.Fatal(err)
	}
	var out []corpusColumn
	for i := range res.Values {
		var c corpusColumn
		c.name, _ = res.GetString(i, 0)
		c.dataType, _ = res.GetString(i, 1)
		c.columnType, _ = res.GetString(i, 2)
		c.charLen, _ = res.GetInt(i, 3)
		c.precision, _ = res.GetInt(i, 4)
		c.scale, _ = res.GetInt(i, 5)
		k, _ := res.GetInt(i, 6)
		c.key = k == 1
		extra, _ := res.GetString(i, 7)
		c.skip = strings.Contains(extra, "GENERATED") || strings.Contains(extra, "auto_increment")
		null, _ := res.GetInt(i, 8)
		c.nullable = null == 1
		out = append(out, c)
	}
	return out
}

var corpusElems = regexp.MustCompile(`'((?:[^']|'')*)'`)

// corpusValue is an SQL literal that fits c, drawn from a small range so that keys collide
// (INSERT IGNORE skips those) and updates find rows.
func corpusValue(rng *rand.Rand, c corpusColumn) string {
	if c.nullable && rng.Intn(8) == 0 {
		return "NULL"
	}
	switch c.dataType {
	case "tinyint":
		return strconv.Itoa(rng.Intn(100))
	case "smallint", "mediumint", "int", "bigint", "year":
		if c.dataType == "year" {
			return strconv.Itoa(1990 + rng.Intn(30))
		}
		return strconv.Itoa(rng.Intn(5000))
	case "decimal":
		whole := c.precision - c.scale
		v := strconv.Itoa(rng.Intn(int(min(whole, 6))*9 + 1))
		if c.scale > 0 {
			v += "." + strconv.Itoa(rng.Intn(10))
		}
		return v
	case "float", "double":
		return strconv.FormatFloat(float64(rng.Intn(999))/10, 'f', 1, 64)
	case "date":
		return fmt.Sprintf("'20%02d-%02d-%02d'", rng.Intn(25), 1+rng.Intn(12), 1+rng.Intn(28))
	case "datetime", "timestamp":
		return fmt.Sprintf("'20%02d-%02d-%02d %02d:%02d:%02d'", 1+rng.Intn(24), 1+rng.Intn(12), 1+rng.Intn(28), rng.Intn(24), rng.Intn(60), rng.Intn(60))
	case "time":
		return fmt.Sprintf("'%02d:%02d:%02d'", rng.Intn(24), rng.Intn(60), rng.Intn(60))
	case "enum", "set":
		m := corpusElems.FindAllStringSubmatch(c.columnType, -1)
		return "'" + m[rng.Intn(len(m))][1] + "'"
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		n := int64(1 + rng.Intn(30))
		if c.charLen > 0 && n > c.charLen {
			n = c.charLen
		}
		return "'" + corpusText(rng, int(n)) + "'"
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		n := int64(1 + rng.Intn(64))
		if c.charLen > 0 && n > c.charLen {
			n = c.charLen
		}
		b := make([]byte, n)
		rng.Read(b)
		return fmt.Sprintf("X'%x'", b)
	case "inet6":
		return fmt.Sprintf("'2001:db8::%x'", rng.Intn(65536))
	case "inet4":
		return fmt.Sprintf("'10.0.%d.%d'", rng.Intn(256), rng.Intn(256))
	case "uuid":
		return "UUID()"
	case "json":
		return fmt.Sprintf(`'{"n": %d}'`, rng.Intn(100))
	}
	return "DEFAULT"
}

// corpusText is n ASCII characters (every corpus charset holds them).
func corpusText(rng *rand.Rand, n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[rng.Intn(len(letters))]
	}
	return string(b)
}

// corpusWorkload inserts n rows into every table of db, then updates and deletes a few.
func corpusWorkload(t *testing.T, my *client.Conn, db string, rng *rand.Rand, n int) {
	for _, table := range corpusTables(t, my, db) {
		cols := corpusColumns(t, my, db, table)
		var names []string
		for _, c := range cols {
			if !c.skip {
				names = append(names, "`"+c.name+"`")
			}
		}
		q := fmt.Sprintf("`%s`.`%s`", db, table)
		for i := 0; i < n; i++ {
			var vals []string
			for _, c := range cols {
				if !c.skip {
					vals = append(vals, corpusValue(rng, c))
				}
			}
			mustExec(t, my, "INSERT IGNORE INTO "+q+" ("+strings.Join(names, ", ")+") VALUES ("+strings.Join(vals, ", ")+")")
		}
		for _, c := range cols {
			if !c.skip && !c.key {
				mustExec(t, my, fmt.Sprintf("UPDATE IGNORE %s SET `%s` = %s LIMIT %d", q, c.name, corpusValue(rng, c), 1+n/4))
				break
			}
		}
		mustExec(t, my, fmt.Sprintf("DELETE FROM %s LIMIT %d", q, 1+n/8))
	}
}

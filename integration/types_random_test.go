//go:build integration

package integration

import (
	"fmt"
	"sort"

	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"
)

// randomColumns are the columns of the random-values table with a generator each; every
// one is nullable except the key.
var randomColumns = []struct {
	name, def string
	gen       func(r *rand.Rand) any
}{
	{"ti", "TINYINT", func(r *rand.Rand) any { return int64(r.Intn(256) - 128) }},
	{"tu", "TINYINT UNSIGNED", func(r *rand.Rand) any { return int64(r.Intn(256)) }},
	{"si", "SMALLINT", func(r *rand.Rand) any { return int64(r.Intn(65536) - 32768) }},
	{"mu", "MEDIUMINT UNSIGNED", func(r *rand.Rand) any { return int64(r.Intn(1 << 24)) }},
	{"mi", "MEDIUMINT", func(r *rand.Rand) any { return int64(r.Intn(1<<24) - 1<<23) }},
	{"i", "INT", func(r *rand.Rand) any { return int64(int32(r.Uint32())) }},
	{"iu", "INT UNSIGNED", func(r *rand.Rand) any { return int64(r.Uint32()) }},
	{"bi", "BIGINT", func(r *rand.Rand) any { return int64(r.Uint64()) }},
	{"bu", "BIGINT UNSIGNED", func(r *rand.Rand) any { return strconv.FormatUint(r.Uint64(), 10) }},
	{"d", "DECIMAL(30,10)", func(r *rand.Rand) any {
		return fmt.Sprintf("%s%d.%010d", map[bool]string{true: "-"}[r.Intn(2) == 0], r.Int63n(1e18), r.Int63n(1e10))
	}},
	{"dz", "DECIMAL(5,0)", func(r *rand.Rand) any { return strconv.Itoa(r.Intn(199999) - 99999) }},
	{"db", "DOUBLE", func(r *rand.Rand) any { return float64(r.Int63n(2e12)-1e12) / 1000 }},
	{"b1", "BIT(1)", func(r *rand.Rand) any { return int64(r.Intn(2)) }},
	{"b13", "BIT(13)", func(r *rand.Rand) any { return int64(r.Intn(1 << 13)) }},
	{"b64", "BIT(64)", func(r *rand.Rand) any { return int64(r.Uint64()) }},
	{"y", "YEAR", func(r *rand.Rand) any { return int64(1901 + r.Intn(255)) }},
	{"dt", "DATE", func(r *rand.Rand) any {
		return time.Date(1000+r.Intn(9000), 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.Intn(365)).Format("2006-01-02")
	}},
	{"dtm", "DATETIME(6)", func(r *rand.Rand) any {
		return time.Date(1000+r.Intn(9000), 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int63n(365*24*3600*1e6)) * time.Microsecond).Format("2006-01-02 15:04:05.000000")
	}},
	{"dt0", "DATETIME", func(r *rand.Rand) any {
		return time.Date(1970+r.Intn(100), 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int63n(365*24*3600)) * time.Second).Format("2006-01-02 15:04:05")
	}},
	{"ts", "TIMESTAMP(3) NULL", func(r *rand.Rand) any {
		return time.Unix(86400+r.Int63n(2_140_000_000), int64(r.Intn(1000))*1e6).UTC().Format("2006-01-02 15:04:05.000")
	}},
	{"tm", "TIME(2)", func(r *rand.Rand) any {
		s := r.Int63n(838*3600 + 59*60 + 59)
		sign := ""
		if r.Intn(2) == 0 {
			sign = "-"
		}
		return fmt.Sprintf("%s%d:%02d:%02d.%02d", sign, s/3600, s/60%60, s%60, r.Intn(100))
	}},
	{"c", "CHAR(8)", func(r *rand.Rand) any { return randString(r, 8, false) }},
	{"vc", "VARCHAR(40)", func(r *rand.Rand) any { return randString(r, 40, false) }},
	{"l1", "VARCHAR(30) CHARACTER SET latin1", func(r *rand.Rand) any { return randString(r, 30, true) }},
	{"tx", "TEXT", func(r *rand.Rand) any { return randString(r, 200, false) }},
	{"bn", "BINARY(6)", func(r *rand.Rand) any { return randBytes(r, 6) }},
	{"vb", "VARBINARY(16)", func(r *rand.Rand) any { return randBytes(r, 16) }},
	{"bl", "BLOB", func(r *rand.Rand) any { return randBytes(r, 300) }},
	{"e", "ENUM('a','b b','c''c','')", func(r *rand.Rand) any { return []string{"a", "b b", "c'c", ""}[r.Intn(4)] }},
	{"st", "SET('x','y','z')", func(r *rand.Rand) any {
		var parts []string
		for _, e := range []string{"x", "y", "z"} {
			if r.Intn(2) == 0 {
				parts = append(parts, e)
			}
		}
		return strings.Join(parts, ",")
	}},
	{"j", "JSON", func(r *rand.Rand) any {
		return fmt.Sprintf(`{"n": %d, "s": %q, "a": [%t, null, %d.5]}`, r.Intn(1000), randString(r, 10, false), r.Intn(2) == 0, r.Intn(100))
	}},
}

// randString returns up to n characters: ASCII with quotes, backslashes and control
// characters (never NUL), and multi-byte characters (Latin-1 ones only for latin1).
func randString(r *rand.Rand, n int, latin1 bool) string {
	alphabet := []rune("abcXYZ019 '\"\\\t\n%_,;")
	if latin1 {
		alphabet = append(alphabet, []rune("éßøÿ¡")...)
	} else {
		alphabet = append(alphabet, []rune("éßø€中文😀ʼ")...)
	}
	out := make([]rune, r.Intn(n+1))
	for i := range out {
		out[i] = alphabet[r.Intn(len(alphabet))]
	}
	return strings.TrimRight(string(out), " ") // CHAR drops trailing spaces
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, r.Intn(n+1))
	r.Read(b)
	return b
}

// TestRandomValuesBinlogMatchesSelect writes a bounded random sample of values of every
// column type through MariaDB (inserts, updates of random columns, deletes), lets `run`
// decode them from the binary log into PostgreSQL, and compares every value with what a
// SELECT on the source shows. REPLICATOR_RANDOM_SEED repeats a run; REPLICATOR_RANDOM_ROWS
// sets the sample (default 400 rows).
func TestRandomValuesBinlogMatchesSelect(t *testing.T) {
	seed := time.Now().UnixNano()
	if s := os.Getenv("REPLICATOR_RANDOM_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	rows := 400
	if s := os.Getenv("REPLICATOR_RANDOM_ROWS"); s != "" {
		rows, _ = strconv.Atoi(s)
	}
	t.Logf("seed %d (REPLICATOR_RANDOM_SEED=%d repeats this run), %d rows", seed, seed, rows)
	r := rand.New(rand.NewSource(seed))
	root := mysqlRoot(t)
	freshMySQLDatabase(t, root, "it_random")
	defs := []string{"id INT PRIMARY KEY"}
	for _, c := range randomColumns {
		defs = append(defs, "`"+c.name+"` "+c.def)
	}
	mustExec(t, root, "CREATE TABLE it_random.v ("+strings.Join(defs, ", ")+") CHARACTER SET utf8mb4", "SET time_zone = '+00:00'")
	url := freshPGDatabase(t)
	cfg := writeConfig(t, strings.Replace(configText("replicator", mysqlReplPass, url, "\n[[tables]]\nsource = \"it_random.*\"\n"),
		"server_id = 4201", "server_id = 4297", 1))
	p := startCLI(t, "run", "-c", cfg, "--log-level", "info")
	pg := pgConnect(t, url)
	waitCaughtUp(t, root, pg, p, 60*time.Second)

	value := func(i int) any {
		if r.Intn(10) == 0 {
			return nil
		}
		return randomColumns[i].gen(r)
	}
	names := make([]string, len(randomColumns))
	marks := make([]string, len(randomColumns)+1)
	for i, c := range randomColumns {
		names[i] = "`" + c.name + "`"
		marks[i] = "?"
	}
	marks[len(randomColumns)] = "?"
	insert := "INSERT INTO it_random.v (id, " + strings.Join(names, ", ") + ") VALUES (" + strings.Join(marks, ", ") + ")"
	exec := func(q string, args ...any) {
		if _, err := root.Execute(q, args...); err != nil {
			t.Fatalf("%s %v: %v", q, args, err)
		}
	}
	for id := 1; id <= rows; id++ {
		if id%20 == 1 {
			exec("BEGIN")
		}
		args := []any{int64(id)}
		for i := range randomColumns {
			args = append(args, value(i))
		}
		exec(insert, args...)
		if id%20 == 0 || id == rows {
			exec("COMMIT")
		}
	}
	for n := 0; n < rows/4; n++ {
		i := r.Intn(len(randomColumns))
		exec("UPDATE it_random.v SET `"+randomColumns[i].name+"` = ? WHERE id = ?", value(i), int64(1+r.Intn(rows)))
	}
	for n := 0; n < rows/10; n++ {
		exec("DELETE FROM it_random.v WHERE id = ?", int64(1+r.Intn(rows)))
	}
	waitCaughtUp(t, root, pg, p, 120*time.Second)
	n := assertRandomEqual(t, root, pg)
	t.Logf("%d rows x %d columns equal to the source's SELECT", n, len(randomColumns))
	p.stop(t)
}

// assertRandomEqual is assertTableEqual with two renderings made comparable: a DOUBLE is
// compared as a number (the SELECT gives a float64, PostgreSQL prints its shortest
// decimal), a TIME with trailing fractional zeros dropped (PostgreSQL's interval text).
func assertRandomEqual(t *testing.T, my *client.Conn, pg *pgx.Conn) int {
	t.Helper()
	cols := sourceColumns(t, my, "it_random", "v")
	src := readSource(t, my, "it_random", "v", cols)
	dst := readTarget(t, pg, "it_random", "v", cols)
	if len(src) != len(dst) {
		t.Errorf("source has %d rows, target %d", len(src), len(dst))
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
			t.Errorf("key %q missing in the target", k)
			bad++
			continue
		}
		for i, c := range cols {
			a, b := src[k][i], d[i]
			if a != nil && b != nil {
				switch c.dataType {
				case "double":
					x, errx := strconv.ParseFloat(*a, 64)
					y, erry := strconv.ParseFloat(*b, 64)
					if errx == nil && erry == nil && x == y {
						continue
					}
				case "time":
					if trimFraction(*a) == trimFraction(*b) {
						continue
					}
				}
			}
			if !valueEqual(c, a, b) {
				t.Errorf("key %q column %s: source %s, target %s", k, c.name, show(a), show(b))
				bad++
			}
		}
		if bad > 10 {
			t.Fatalf("too many differences")
		}
	}
	return len(src)
}

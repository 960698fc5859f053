package ddl

import (
	"errors"
	"strings"
	"testing"
)

// fuzzSeeds are statements of every kind Parse turns into changes, and fragments that once
// tripped it. applier/postgres/pgddl's FuzzTranslate seeds with its translation cases too.
var fuzzSeeds = []string{
	"CREATE TABLE orders (id bigint unsigned NOT NULL AUTO_INCREMENT, customer varchar(64) NOT NULL, " +
		"total decimal(10,2) NOT NULL DEFAULT 0, status enum('new','paid') NOT NULL DEFAULT 'new', note text, " +
		"created datetime(3) DEFAULT CURRENT_TIMESTAMP(3), PRIMARY KEY (id), UNIQUE KEY uk (customer, status), KEY (total))",
	"CREATE TABLE p (id SERIAL PRIMARY KEY, t text, b blob, g point NOT NULL, KEY kt (t(10)), SPATIAL KEY (g), FULLTEXT KEY (t))",
	"CREATE TABLE IF NOT EXISTS c LIKE orders",
	"CREATE OR REPLACE TABLE r (a int, b int AS (a + 1) STORED, d date DEFAULT (curdate()))",
	"ALTER TABLE orders ADD COLUMN x int NOT NULL AFTER id, DROP COLUMN note, MODIFY total decimal(12,2), RENAME COLUMN customer TO client",
	"ALTER TABLE orders CHANGE status state varchar(10) FIRST, ADD UNIQUE (created), DROP INDEX uk, RENAME INDEX total TO t2",
	"ALTER TABLE orders ALTER COLUMN total SET DEFAULT 5, ALTER note DROP DEFAULT, DROP PRIMARY KEY, ADD PRIMARY KEY (id, customer)",
	"ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (customer) REFERENCES c (id) ON DELETE CASCADE, RENAME TO archive.o",
	"CREATE UNIQUE INDEX u ON orders (customer(5))", "DROP INDEX u ON orders",
	"RENAME TABLE a TO b, b TO a", "DROP TABLE IF EXISTS a, b", "TRUNCATE TABLE orders",
	"CREATE DATABASE IF NOT EXISTS d2", "DROP DATABASE d2",
	"BEGIN", "/*!40000 ALTER TABLE `t` DISABLE KEYS */", "/*M!100100 ALTER TABLE t ADD c int */",
	"ALTER TABLE t ADD COLUMN `a``b` int DEFAULT 'x\\'y' AFTER \"q\"", "CREATE TABLE t (a point SRID 0, SPATIAL KEY (a))",
	"ALTER TABLE t ADD UNIQUE IF NOT EXISTS", "CREATE OR REPLACE", "RENAME TABLES IF EXISTS", "DEFAULT (", "-- x\n#y\n/*",
}

// FuzzParse: no text makes Parse or Catalog.Apply panic, and Parse fails only with an
// *UnsupportedError that is not an internal error (a recovered panic).
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		for _, p := range []Parser{{}, {Flavor: MariaDB, ANSIQuotes: true}} {
			chs, err := p.Parse(sql, "db")
			if err != nil {
				var ue *UnsupportedError
				if !errors.As(err, &ue) || strings.HasPrefix(ue.Reason, "internal error") {
					t.Fatalf("Parse(%q): %v", sql, err)
				}
				continue
			}
			cat := Catalog{}
			for _, ch := range chs {
				_ = cat.Apply(ch)
			}
		}
	})
}

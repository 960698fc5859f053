package ddl

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse: no text makes Parse, TranslatePG or Catalog.Apply panic, and Parse fails only
// with an *UnsupportedError that is not an internal error (a recovered panic).
func FuzzParse(f *testing.F) {
	for _, c := range pgCases {
		f.Add(c.sql)
		for _, s := range c.setup {
			f.Add(s)
		}
	}
	for _, s := range []string{
		"BEGIN", "/*!40000 ALTER TABLE `t` DISABLE KEYS */", "/*M!100100 ALTER TABLE t ADD c int */",
		"ALTER TABLE t ADD COLUMN `a``b` int DEFAULT 'x\\'y' AFTER \"q\"", "CREATE TABLE t (a point SRID 0, SPATIAL KEY (a))",
		"ALTER TABLE t ADD UNIQUE IF NOT EXISTS", "CREATE OR REPLACE", "RENAME TABLES IF EXISTS", "DEFAULT (", "-- x\n#y\n/*",
	} {
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
				_, _ = TranslatePG(ch, cat, testResolver)
				_ = cat.Apply(ch)
				_, _ = TranslatePG(ch, cat, testResolver) // against the changed catalog too
			}
		}
	})
}

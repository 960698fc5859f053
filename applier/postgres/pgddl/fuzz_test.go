package pgddl

import (
	"testing"

	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/mapping"
)

// FuzzTranslate: no text that Parse accepts makes TranslatePG panic, before or after the
// change is applied to the catalog (ddl's FuzzParse covers Parse and Apply alone).
func FuzzTranslate(f *testing.F) {
	for _, c := range pgCases {
		f.Add(c.sql)
		for _, s := range c.setup {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, sql string) {
		for _, p := range []ddl.Parser{{}, {Flavor: ddl.MariaDB, ANSIQuotes: true}} {
			chs, err := p.Parse(sql, "db")
			if err != nil {
				continue
			}
			cat := ddl.Catalog{}
			for _, ch := range chs {
				_, _ = TranslatePG(ch, cat, testResolver, mapping.Policy{})
				_ = cat.Apply(ch)
				_, _ = TranslatePG(ch, cat, testResolver, mapping.Policy{}) // against the changed catalog too
			}
		}
	})
}

package route

import (
	"strings"
	"testing"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/schema"
)

// TestDeletesRefusals: keeping deleted rows needs a key, and a soft rule cannot take a
// source column named like a marker; errors name tables[N].deletes.
func TestDeletesRefusals(t *testing.T) {
	keyless := table("shop", "log", 0, "a", "b")
	marker := table("shop", "m", 1, "id", "_Deleted_At")
	plain := table("shop", "p", 1, "id", "v")
	cases := []struct {
		name string
		mode string
		def  *schema.Table
		rule config.TableRule
		want string // "" for accepted
	}{
		{"hard keyless", "hard", keyless, config.TableRule{}, ""},
		{"soft keyless", "soft", keyless, config.TableRule{}, `tables[0].deletes = "soft": table shop.log has no key`},
		{"ignore keyless", "ignore", keyless, config.TableRule{}, `tables[0].deletes = "ignore": table shop.log has no key`},
		{"soft marker", "soft", marker, config.TableRule{}, `tables[0].deletes = "soft": shop.m has a column "_Deleted_At"`},
		{"soft marker excluded", "soft", marker, config.TableRule{ExcludeColumns: []string{"_deleted_at"}}, ""},
		{"ignore marker", "ignore", marker, config.TableRule{}, ""},
		{"soft plain", "soft", plain, config.TableRule{}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.rule
			r.Source, r.Deletes = "shop.*", c.mode
			s := compile(t, config.TargetPostgres, r)
			rt := s.For(c.def.Schema, c.def.Name)
			if got := string(rt.Deletes()); got != c.mode {
				t.Fatalf("Deletes() = %q", got)
			}
			_, err := rt.Columns(c.def)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

package mapping

import (
	"testing"

	"github.com/replicator/replicator/config"
)

func TestTargetNames(t *testing.T) {
	t.Parallel()
	cases := []struct {
		target, db, table string
		schema, name      string
		index             string
	}{
		{"", "shop", "Orders", "shop", "Orders", "shop.orders"},
		{"archive.*", "shop", "orders", "archive", "orders", "archive.*"},
		{"pg.{db}_{table}", "shop", "orders", "pg", "shop_orders", "pg.shop_orders"},
		{"x.y", "shop", "orders", "x", "y", "x.y"},
	}
	for _, tc := range cases {
		r := &config.TableRule{Source: tc.db + "." + tc.table, Target: tc.target}
		s, n := PGTarget(r, tc.db, tc.table)
		if s != tc.schema || n != tc.name {
			t.Errorf("PGTarget(%q, %s.%s) = %s.%s, want %s.%s", tc.target, tc.db, tc.table, s, n, tc.schema, tc.name)
		}
		if tc.target != "archive.*" {
			if got := ESIndex(r, tc.db, tc.table); got != tc.index {
				t.Errorf("ESIndex(%q) = %q, want %q", tc.target, got, tc.index)
			}
		}
	}
}

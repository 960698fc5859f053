package mapping

import (
	"testing"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/schema"
)

func TestPolicyFromRules(t *testing.T) {
	t.Parallel()
	tiny := &schema.Column{Name: "b", DataType: "tinyint", ColumnType: "tinyint(1)"}
	mariaJSON := &schema.Column{Name: "j", DataType: "longtext", JSONValid: true}
	mysqlJSON := &schema.Column{Name: "m", DataType: "json"}
	nullDate := &schema.Column{Name: "d", DataType: "date", Nullable: true}
	notNullDate := &schema.Column{Name: "n", DataType: "date"}
	type want struct {
		bool, mariaJSON, postgis, zeroNull bool
		nul                                NULRule
	}
	for _, tc := range []struct {
		name string
		p    Policy
		want want
	}{
		// The zero Policy, an empty section and the defaults are the same rules.
		{"zero", Policy{}, want{}},
		{"empty", NewPolicy(config.Mapping{}), want{}},
		{"defaults", NewPolicy(config.DefaultMapping()), want{}},
		{"all", NewPolicy(config.Mapping{TinyInt1AsBoolean: true, ZeroDates: "null", TextNUL: "strip", Spatial: "postgis", MariaDBJSON: "json"}),
			want{bool: true, mariaJSON: true, postgis: true, zeroNull: true, nul: NULStrip}},
		{"replace", NewPolicy(config.Mapping{TextNUL: "replace"}), want{nul: NULReplace}},
	} {
		p := tc.p
		got := want{bool: p.Bool(tiny), mariaJSON: p.JSON(mariaJSON), postgis: p.PostGIS(), zeroNull: p.ZeroDateNull(nullDate), nul: p.NUL()}
		if got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
		if !p.JSON(mysqlJSON) {
			t.Errorf("%s: MySQL's JSON type is not JSON", tc.name)
		}
		if p.ZeroDateNull(notNullDate) {
			t.Errorf("%s: a zero date in a NOT NULL column becomes NULL", tc.name)
		}
	}
	if got := (Policy{}).Rules(); got != config.DefaultMapping() {
		t.Errorf("zero Policy rules = %+v, want the defaults", got)
	}
	if got := NewPolicy(config.Mapping{ZeroDates: "null"}).Rules(); got.ZeroDates != "null" || got.TextNUL != "error" {
		t.Errorf("rules = %+v, want zero_dates null and the other defaults", got)
	}
}

func TestZeroDateAndZeroNumber(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{
		"0000-00-00": true, "2020-00-15": true, "2020-01-00": true, "0000-00-00 00:00:00.000": true,
		"2020-01-15": false, "2020-01-15 00:00:00": false, "00:00:00": false, "": false,
	} {
		if got := ZeroDate([]byte(v)); got != want {
			t.Errorf("ZeroDate(%q) = %v, want %v", v, got, want)
		}
	}
	for v, want := range map[string]bool{"0": true, "-0": true, "000": true, "1": false, "-": false, "": false, "0.0": false} {
		if got := IsZeroNumber([]byte(v)); got != want {
			t.Errorf("IsZeroNumber(%q) = %v, want %v", v, got, want)
		}
	}
}

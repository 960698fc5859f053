package elastic

import (
	"testing"

	"github.com/replicator/replicator/change"
)

func TestVersion(t *testing.T) {
	cases := []struct {
		flavor, gtid string
		want         int64
	}{
		{"mariadb", "", 0},
		{"mariadb", "0-1-42", 42},
		{"mariadb", "0-1-42,1-2-7", 49},
		{"mariadb", "0-1-42,0-2-50,1-1-3", 53}, // highest per domain, summed
		{"mariadb", " 0-1-5 , 2-9-10\n", 15},
		{"mysql", "", 0},
		{"mysql", "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-42", 42},
		{"mysql", "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:7-9:11,4E11FA47-71CA-11E1-9E33-C80AA9429562:1-3", 12},
		{"mysql", "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:tag:1-2", 7},
	}
	for _, tc := range cases {
		got, err := Version(change.Position{Flavor: tc.flavor, GTID: tc.gtid})
		if err != nil || got != tc.want {
			t.Errorf("%s %q: %d, %v; want %d", tc.flavor, tc.gtid, got, err, tc.want)
		}
	}
	for _, bad := range []change.Position{
		{Flavor: "mariadb", GTID: "0-1"},
		{Flavor: "mariadb", GTID: "0-1-x"},
		{Flavor: "mariadb", GTID: "0-1-18446744073709551615"},
		{Flavor: "mysql", GTID: "uuid"},
		{Flavor: "mysql", GTID: "uuid:5-3"},
	} {
		if v, err := Version(bad); err == nil {
			t.Errorf("%s %q: accepted as %d", bad.Flavor, bad.GTID, v)
		}
	}
}

// TestVersionMonotonic walks positions as the binary log produces them and checks that
// every transaction raises the version, which is what lets a later change win.
func TestVersionMonotonic(t *testing.T) {
	maria := []string{"0-1-1", "0-1-2", "0-1-2,1-1-1", "0-1-3,1-1-1", "0-1-3,1-1-2", "0-2-4,1-1-2", "0-1-3,0-2-5,1-1-2"}
	mysql := []string{"u:1", "u:1-2", "u:1-2,v:1", "u:1-2:4,v:1", "u:1-4,v:1"}
	for _, seq := range []struct {
		flavor string
		pos    []string
	}{{"mariadb", maria}, {"mysql", mysql}} {
		prev := int64(-1)
		for _, g := range seq.pos {
			v, err := Version(change.Position{Flavor: seq.flavor, GTID: g})
			if err != nil {
				t.Fatal(err)
			}
			if v <= prev {
				t.Errorf("%s: version %d at %s does not exceed %d", seq.flavor, v, g, prev)
			}
			prev = v
		}
	}
}

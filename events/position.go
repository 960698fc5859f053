package events

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/replicator/replicator/source"
)

// Covers returns a test of whether a position (a GTID set in flavor's syntax) includes
// every transaction of want: the stop condition of a run without --follow.
//
// MariaDB compares per domain: the highest sequence number of the domain in the position
// must reach want's, whichever server ids wrote them (a failover changes the server id,
// not the domain's sequence). MySQL uses GTID set containment.
func Covers(flavor, want string) (func(pos string) (bool, error), error) {
	if flavor == source.MariaDB {
		w, err := mariaDBSeqs(want)
		if err != nil {
			return nil, err
		}
		return func(pos string) (bool, error) {
			g, err := mariaDBSeqs(pos)
			if err != nil {
				return false, err
			}
			for d, n := range w {
				if g[d] < n {
					return false, nil
				}
			}
			return true, nil
		}, nil
	}
	w, err := source.ParseGTIDSet(flavor, want)
	if err != nil {
		return nil, err
	}
	return func(pos string) (bool, error) {
		g, err := source.ParseGTIDSet(flavor, pos)
		if err != nil {
			return false, err
		}
		return g.Contain(w), nil
	}, nil
}

// mariaDBSeqs reads a MariaDB GTID list ("0-1-42,1-2-7") as the highest sequence number
// of each domain.
func mariaDBSeqs(s string) (map[uint64]uint64, error) {
	out := map[uint64]uint64{}
	for _, g := range strings.Split(s, ",") {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		parts := strings.Split(g, "-")
		if len(parts) != 3 {
			return nil, fmt.Errorf("MariaDB GTID %q: want domain-server-sequence", g)
		}
		d, err1 := strconv.ParseUint(parts[0], 10, 32)
		_, err2 := strconv.ParseUint(parts[1], 10, 32)
		n, err3 := strconv.ParseUint(parts[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("MariaDB GTID %q: want domain-server-sequence", g)
		}
		out[d] = max(out[d], n)
	}
	return out, nil
}

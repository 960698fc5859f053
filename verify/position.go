package verify

import (
	"strconv"
	"strings"

	"github.com/replicator/replicator/source"
)

// covers reports whether the GTID position have includes everything in want. MariaDB
// positions are compared domain by domain by sequence number (the server id of a domain's
// last transaction changes after a failover without making it another history); MySQL
// sets by containment.
func covers(flavor, have, want string) bool {
	if strings.TrimSpace(want) == "" {
		return true
	}
	if flavor == source.MariaDB {
		h, ok1 := mariaDBSeqs(have)
		w, ok2 := mariaDBSeqs(want)
		if !ok1 || !ok2 {
			return false
		}
		for d, n := range w {
			if h[d] < n {
				return false
			}
		}
		return true
	}
	a, err := source.ParseGTIDSet(flavor, have)
	if err != nil {
		return false
	}
	b, err := source.ParseGTIDSet(flavor, want)
	if err != nil {
		return false
	}
	return a.Contain(b)
}

// mariaDBSeqs parses "0-1-42,1-2-7" into the highest sequence number per domain.
func mariaDBSeqs(s string) (map[uint64]uint64, bool) {
	out := map[uint64]uint64{}
	for _, g := range strings.Split(s, ",") {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		parts := strings.Split(g, "-")
		if len(parts) != 3 {
			return nil, false
		}
		d, err1 := strconv.ParseUint(parts[0], 10, 32)
		n, err2 := strconv.ParseUint(parts[2], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, false
		}
		out[d] = max(out[d], n)
	}
	return out, true
}

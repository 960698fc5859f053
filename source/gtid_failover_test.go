package source

import "testing"

// TestCoversAndBehindFailover checks Covers and TransactionsBehind on the positions a
// failover to a promoted replica produces. MariaDB: the promoted server (server_id 2) goes
// on in the domain the old primary (server_id 1) wrote, so "0-1-33" is followed by
// "0-2-34"; positions are compared domain by domain by sequence number, whatever server id
// wrote them (the history of a domain is one sequence). MySQL: the promoted server adds its
// own UUID to the set ("uuid1:1-33" then "uuid1:1-33,uuid2:1-5"), and a position is behind
// by exactly the GTIDs of the other set it lacks.
func TestCoversAndBehindFailover(t *testing.T) {
	const (
		u1 = "3e11fa47-71ca-11e1-9e33-c80aa9429562" // the old primary
		u2 = "9b2b3c0a-5d1e-11ef-8f3a-0242ac120002" // the promoted replica
	)
	cases := []struct {
		name               string
		flavor, have, want string
		covers             bool
		behind             int64
	}{
		// MariaDB, one domain.
		{"checkpoint at the old primary, promoted server one transaction on", MariaDB, "0-1-33", "0-2-34", false, 1},
		{"checkpoint at the promoted server's first transaction", MariaDB, "0-2-34", "0-1-33", true, 0},
		{"both at the promotion point", MariaDB, "0-1-33", "0-1-33", true, 0},
		{"promoted server far ahead", MariaDB, "0-1-33", "0-2-1033", false, 1000},
		{"checkpoint ahead on the promoted server", MariaDB, "0-2-40", "0-2-34", true, 0},
		// A checkpoint stored before positions were one GTID per domain: the domain's
		// highest sequence number counts.
		{"legacy duplicate-domain checkpoint, caught up", MariaDB, "0-1-33,0-2-34", "0-2-34", true, 0},
		{"legacy duplicate-domain checkpoint, behind", MariaDB, "0-1-33,0-2-34", "0-2-40", false, 6},
		{"legacy list on the wanted side", MariaDB, "0-2-34", "0-1-33,0-2-34", true, 0},
		{"a second failover back to server 1", MariaDB, "0-2-50", "0-1-52", false, 2},
		// A tail lost in the failover: the replicator read 0-1-34 and 0-1-35 from the
		// old primary, the promoted server never got them and wrote its own 0-2-34.
		// Sequence numbers cannot tell the histories apart (the server refuses such a
		// start position itself); by them the checkpoint covers the promoted server.
		{"old primary's lost tail", MariaDB, "0-1-35", "0-2-34", true, 0},
		// MariaDB, several domains: each compared on its own.
		{"two domains, failover in domain 0 only", MariaDB, "0-1-33,1-1-10", "0-2-40,1-1-10", false, 7},
		{"two domains, failover in both, caught up", MariaDB, "0-2-40,1-3-12", "0-1-33,1-1-10", true, 0},
		{"two domains, behind in both", MariaDB, "0-1-33,1-1-10", "0-2-35,1-2-14", false, 6},
		{"a domain the checkpoint never saw", MariaDB, "0-2-40", "0-2-40,2-2-5", false, 5},
		{"a domain only the checkpoint has", MariaDB, "0-2-40,2-2-5", "0-2-40", true, 0},
		{"legacy list in two domains", MariaDB, "0-1-33,0-2-36,1-1-9,1-3-11", "0-2-36,1-3-12", false, 1},
		{"empty checkpoint", MariaDB, "", "0-2-34", false, 34},
		// MySQL: the promoted server adds a second UUID.
		{"second UUID appears", MySQL, u1 + ":1-33", u1 + ":1-33," + u2 + ":1-5", false, 5},
		{"second UUID read", MySQL, u1 + ":1-33," + u2 + ":1-5", u1 + ":1-33," + u2 + ":1-5", true, 0},
		{"second UUID partly read", MySQL, u1 + ":1-33," + u2 + ":1-3", u1 + ":1-33," + u2 + ":1-5", false, 2},
		{"checkpoint past the promotion point", MySQL, u1 + ":1-33," + u2 + ":1-5", u1 + ":1-33", true, 0},
		{"UUID order does not matter", MySQL, u2 + ":1-5," + u1 + ":1-33", u1 + ":1-33," + u2 + ":1-5", true, 0},
		// The replicator read u1:34-35 from the old primary, which the promoted server
		// never got: it still lacks the promoted server's five, and has two more of its own.
		{"old primary's lost tail", MySQL, u1 + ":1-35", u1 + ":1-33," + u2 + ":1-5", false, 5},
		{"checkpoint of the old primary only, far ahead", MySQL, u1 + ":1-40", u2 + ":1-5", false, 5},
		{"gap in the checkpoint", MySQL, u1 + ":1-10:20-33", u1 + ":1-33," + u2 + ":1-2", false, 11},
		{"back to the old primary", MySQL, u1 + ":1-33," + u2 + ":1-5", u1 + ":1-36," + u2 + ":1-5", false, 3},
	}
	for _, tc := range cases {
		t.Run(tc.flavor+"/"+tc.name, func(t *testing.T) {
			got, err := Covers(tc.flavor, tc.have, tc.want)
			if err != nil || got != tc.covers {
				t.Errorf("Covers(%s, %q, %q) = %v, %v; want %v", tc.flavor, tc.have, tc.want, got, err, tc.covers)
			}
			n, err := TransactionsBehind(tc.flavor, tc.have, tc.want)
			if err != nil || n != tc.behind {
				t.Errorf("TransactionsBehind(%s, %q, %q) = %d, %v; want %d", tc.flavor, tc.have, tc.want, n, err, tc.behind)
			}
			if got && n != 0 || !got && n == 0 {
				t.Errorf("Covers = %v but TransactionsBehind = %d for %q, %q: they disagree", got, n, tc.have, tc.want)
			}
		})
	}
}

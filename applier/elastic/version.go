package elastic

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/replicator/replicator/change"
)

// PositionVersion returns the external document version written with every change at or
// covered by pos. It is what makes replays harmless: Elasticsearch
// (version_type=external_gte) refuses a write whose version is lower than the stored
// document's, so a document never goes back to an older state, whatever is replayed
// after a crash.
//
// The version is the position's transaction counter (change.Position.Seq), kept with the
// checkpoint: it grows by one with every source transaction in stream order, whatever
// the GTIDs say (MariaDB with gtid_strict_mode off may write a lower sequence number
// after a higher one, and a version taken from the GTIDs would then go down and the
// change be refused as older), and a replay from a checkpoint numbers the same
// transactions the same way. The counter starts at Version of the snapshot position (and,
// for a checkpoint stored by an older version, of the checkpoint), so it continues the
// versions already in the indexes.
func PositionVersion(pos change.Position) (int64, error) {
	if pos.Seq == 0 {
		return Version(pos)
	}
	if pos.Seq >= math.MaxInt64-1 {
		return 0, fmt.Errorf("transaction counter %d at GTID %s is beyond Elasticsearch's version range", pos.Seq, pos.GTID)
	}
	return int64(pos.Seq), nil
}

// Version returns the version a position's GTIDs give, the start of the transaction
// counter: it counts the transactions in pos, which grows by at least one with every
// source transaction while sequence numbers increase:
//
//   - MariaDB ("0-1-42,1-2-7"): the sum over replication domains of the highest sequence
//     number in the domain. Each transaction raises its domain's number (gtid_strict_mode
//     keeps them increasing), so the sum grows; a new domain adds its whole number.
//   - MySQL ("3E11FA47-...:1-42:50-60,..."): the number of transactions in the set, the
//     sum of the intervals' lengths. Every transaction adds one GTID to the set. Tags
//     (MySQL 8.4 "uuid:tag:1-5") are skipped.
//
// How the appliers use it:
//
//   - Streaming: a batch covers the source transactions after the stored checkpoint up to
//     its commit position Q, reduced to the final state of each touched document at Q. All
//     of its writes (index and delete) carry Version(Q). A replay after a crash re-reads
//     from the checkpoint and may cut batches differently, but a write carrying Version(Q)
//     always holds the state at Q: a stored newer state (higher version) rejects it with a
//     409, which is expected and counted; an equal version is the same state and
//     external_gte lets it through. No per-batch counter is needed because a batch holds
//     at most one write per document (later parts of a batch replace earlier ones before
//     anything is sent).
//   - Snapshot: documents read at snapshot position S carry Version(S). Every streamed
//     change comes from a transaction after S, so its version is at least Version(S)+1 and
//     always wins; the snapshot documents win against nothing that was streamed, and a
//     chunk copied again (after a crash, or resumed under a newer view) replaces the
//     earlier copy because the versions are equal. Chunks of a resumed snapshot are read
//     under a newer view S2 but still carry Version(S), since streaming restarts from S:
//     the changes between S and S2 then pass over those documents once more and, with
//     full row images, end in the same state as the source.
//   - Deletes also carry the version: Elasticsearch keeps the deleted document's version
//     as a tombstone, so an older index operation arriving later is refused. Tombstones are
//     forgotten after index.gc_deletes (60 s by default). That is safe here because an
//     older write is only ever sent again by a replay from the checkpoint, and such a
//     replay also re-sends the later delete, which then wins again.
func Version(pos change.Position) (int64, error) {
	var n uint64
	var err error
	if pos.Flavor == "mariadb" {
		n, err = mariaDBCount(pos.GTID)
	} else {
		n, err = mysqlCount(pos.GTID)
	}
	if err != nil {
		return 0, err
	}
	// Elasticsearch versions are positive longs below 2^63 - 1.
	if n >= math.MaxInt64-1 {
		return 0, fmt.Errorf("GTID position %s gives version %d, beyond Elasticsearch's range", pos.GTID, n)
	}
	return int64(n), nil
}

func mariaDBCount(s string) (uint64, error) {
	maxSeq := map[uint64]uint64{}
	for _, g := range strings.Split(s, ",") {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		parts := strings.Split(g, "-")
		if len(parts) != 3 {
			return 0, fmt.Errorf("MariaDB GTID %q: want domain-server-sequence", g)
		}
		dom, err1 := strconv.ParseUint(parts[0], 10, 32)
		_, err2 := strconv.ParseUint(parts[1], 10, 32)
		seq, err3 := strconv.ParseUint(parts[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return 0, fmt.Errorf("MariaDB GTID %q: want domain-server-sequence numbers", g)
		}
		maxSeq[dom] = max(maxSeq[dom], seq)
	}
	var n uint64
	for _, seq := range maxSeq {
		if n+seq < n {
			return 0, fmt.Errorf("MariaDB GTID position %q: sequence sum overflows", s)
		}
		n += seq
	}
	return n, nil
}

func mysqlCount(s string) (uint64, error) {
	var n uint64
	for _, set := range strings.Split(s, ",") {
		set = strings.TrimSpace(set)
		if set == "" {
			continue
		}
		parts := strings.Split(set, ":")
		if len(parts) < 2 {
			return 0, fmt.Errorf("MySQL GTID set %q: want uuid:interval[:interval...]", set)
		}
		for _, iv := range parts[1:] {
			if iv == "" || iv[0] < '0' || iv[0] > '9' {
				continue // a tag
			}
			lo, hi, isRange := strings.Cut(iv, "-")
			a, err := strconv.ParseUint(lo, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("MySQL GTID interval %q: %w", iv, err)
			}
			b := a
			if isRange {
				if b, err = strconv.ParseUint(hi, 10, 64); err != nil {
					return 0, fmt.Errorf("MySQL GTID interval %q: %w", iv, err)
				}
			}
			if b < a {
				return 0, fmt.Errorf("MySQL GTID interval %q: end before start", iv)
			}
			n += b - a + 1
		}
	}
	return n, nil
}

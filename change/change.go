// Package change holds the types every stage shares: source positions, rows in canonical
// form, row changes as decoded and as folded into a batch. Of the project it imports only
// schema (the definitions rows are decoded with), so every stage, the targets included,
// can use it.
package change

import "time"

// Position is a point in the source's binary log, as a GTID set in the flavor's syntax.
// Checkpoints only ever hold positions at transaction ends.
type Position struct {
	Flavor string // "mysql" or "mariadb"
	GTID   string // e.g. "0-1-42" or "3E11FA47-...:1-42"
	// Time is when the source wrote the transaction ending here, when known: information
	// for lag reporting, not part of the position's identity.
	Time time.Time
	// Seq counts the source transactions along the stream: each transaction end read
	// after a checkpoint gets the checkpoint's Seq plus one. It grows with the stream
	// order whatever the GTIDs say (MariaDB with gtid_strict_mode off may write a lower
	// sequence number after a higher one), and a replay from a checkpoint numbers the
	// same transactions the same way. Targets that version writes (Elasticsearch) store
	// it with the checkpoint; 0 means not counted yet.
	Seq uint64
}

func (p Position) String() string { return p.GTID }

// Row is one row's values in canonical form: each value as MySQL renders it in a utf8mb4
// session with time_zone '+00:00' (numbers as decimal text, temporal values as text, BIT
// and binary strings as raw bytes, JSON as JSON text). A nil entry is NULL. The snapshot
// and the binlog decoder both produce this form, so every target encodes one thing.
type Row [][]byte

// Package events prints the decoded change stream (`replicator events`): every row change
// and DDL statement of the selected tables, as the appliers receive them, as JSON lines or
// readable text. It reads the binary log with the same decoder, schema tracker and DDL
// parser as `replicator run`, and writes nothing anywhere else: no target, no checkpoint.
//
// # JSON lines
//
// One object per line, fields always in this order.
//
// A row change:
//
//	{"gtid":"0-1-42","txn":1,"seq":0,"time":"2024-05-01T10:00:00Z","op":"update",
//	 "database":"shop","table":"orders","key":{"id":8},"old_key":{"id":7},
//	 "before":{"id":7,"total":"9.50"},"after":{"id":8,"total":"9.50"}}
//
// Its fields:
//
//   - gtid: the source transaction's GTID.
//   - txn: the transactions this run printed lines of, numbered from 1: lines with the same
//     txn are one source transaction.
//   - seq: the change's index, from 0, among its transaction's row changes of the tables the
//     configuration selects (counted before --tables and --ops), so gtid and seq name one
//     change whatever the filters.
//   - time: when the source wrote the event, RFC 3339 in UTC (the binary log has seconds).
//   - op: insert, update or delete.
//   - database, table: the source table.
//   - key: the identity key (primary key, or the rule's key) as column -> value, read from
//     after (from before for a delete).
//   - old_key: only on an update that changed the key: the key before it.
//   - before, after: the row images as column -> value in column order; null for the
//     image an insert or a delete does not have. They hold the columns the table's rule
//     replicates (columns / exclude_columns applied, key columns always), named by the
//     tracked definition.
//
// A DDL statement that touches a selected table:
//
//	{"gtid":"0-1-43","txn":2,"seq":0,"time":"...","op":"ddl","database":"shop",
//	 "query":"ALTER TABLE orders ADD COLUMN note TEXT",
//	 "tables":[{"database":"shop","table":"orders","columns":[{"name":"id","type":"int(11)","nullable":false},...],"key":["id"]}],
//	 "dropped":[]}
//
// database is the statement's session database ("" when none); tables holds the
// definitions after the statement of the tables it created or changed (the columns that
// row lines carry from then on); dropped names the tables it dropped or renamed away.
// "reloaded":true (present only then) marks a statement the tracker could not apply to
// the definitions it held, typically a replay from an older --from of a change that the
// definitions read at start already include (ADD COLUMN of an existing column): tables
// are then the source's current definitions of the tables it names, and a warning with
// the reason goes to stderr. ddl.on_error is treated as "skip" by events: it writes to no
// target, so there is nothing for "stop" to protect.
//
// With --ops including commit, a transaction that printed lines ends with
//
//	{"gtid":"0-1-42","txn":1,"time":"...","op":"commit","pos":"0-1-42","lines":2}
//
// where pos is the GTID set after the transaction: `--from <pos>` resumes right after it.
//
// XA transactions: the row changes of an XA PREPARE group carry an "xa" field with op
// "prepare" and the xid as the server prints it (they take effect only at a later XA
// COMMIT of the same id, and the appliers keep them until then), the commit line of that
// group carries the same field, and an XA COMMIT or XA ROLLBACK prints a commit line of
// its own with op "commit" or "rollback" and "lines":0:
//
//	{"gtid":"0-1-43","txn":2,"time":"...","op":"commit","pos":"0-1-43","lines":0,"xa":{"op":"commit","id":"X'7831',X'',1"}}
//
// # Values
//
// Values come from the canonical form every applier encodes (change.Row: the value as a
// SELECT in a utf8mb4, UTC session shows it) and are rendered by column type, so a column
// always has one JSON type: integers (any width, signed or unsigned, BOOL, YEAR) and BIT as
// JSON numbers with every digit; FLOAT and DOUBLE as JSON numbers; DECIMAL as a string with
// the exact text ("1.50"); text, ENUM, SET ("a,b"), DATE, DATETIME, TIMESTAMP (UTC) and TIME
// as strings; binary strings, BLOBs and spatial values as base64 strings; MySQL JSON columns
// as the JSON value itself (MariaDB's JSON is LONGTEXT: a string); NULL as null.
//
// # Positions
//
// --from takes a GTID set (what the source has already applied, as gtid_binlog_pos or
// gtid_executed show it); output starts after it. Without --follow a run stops at the
// source's position when it started (MariaDB: each domain's sequence number reached;
// MySQL: GTID set containment); with --follow it streams until interrupted.
//
// Column names and types come from the schema tracker, seeded at start from the source's
// information_schema (never from binlog_row_metadata). From an older --from, rows are
// decoded with today's definitions until a DDL in the stream moves them: rows written
// before a change of a table's column list fail with the column counts and a hint to
// start after that change; a change that keeps the count (MODIFY, a rename) is not
// always detectable: such rows may carry today's names and types.
package events

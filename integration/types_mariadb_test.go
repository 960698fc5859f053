//go:build integration

package integration

import "testing"

// MariaDB's own column types (10.7+ UUID and INET4, 10.5+ INET6): PostgreSQL inet and uuid,
// Elasticsearch ip and keyword, holding the text a SELECT shows
// (PostgreSQL's inet::text adds the /128 or /32 of a host address; host() leaves it out). The row images carry
// the stored bytes (UUID in MariaDB's index-friendly order for RFC time-based values), so
// this compares the binary log's decoding with the snapshot's.
var typesMariaDB = ttable{name: "mariadb", cols: []tcol{
	col("i6", "INET6", s("'::1'", "'2001:db8::ff00:42:8329'", "'::ffff:192.0.2.128'", "'::'", "NULL"),
		s("::1/128", "2001:db8::ff00:42:8329/128", "::ffff:192.0.2.128/128", "::/128", tNull),
		s(`"::1"`, `"2001:db8::ff00:42:8329"`, `"::ffff:192.0.2.128"`, `"::"`, "null")),
	col("i4", "INET4", s("'192.0.2.1'", "'0.0.0.0'", "'255.255.255.255'", "'10.0.0.1'", "NULL"),
		s("192.0.2.1/32", "0.0.0.0/32", "255.255.255.255/32", "10.0.0.1/32", tNull),
		s(`"192.0.2.1"`, `"0.0.0.0"`, `"255.255.255.255"`, `"10.0.0.1"`, "null")),
	col("u", "UUID", s("'123e4567-e89b-12d3-a456-426614174000'", "'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'", "'550e8400-e29b-41d4-a716-446655440000'", "NULL"),
		s("123e4567-e89b-12d3-a456-426614174000", "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", "550e8400-e29b-41d4-a716-446655440000", tNull),
		s(`"123e4567-e89b-12d3-a456-426614174000"`, `"00000000-0000-0000-0000-000000000000"`, `"ffffffff-ffff-ffff-ffff-ffffffffffff"`, `"550e8400-e29b-41d4-a716-446655440000"`, "null")),
}}

// TestTypesMariaDB replicates INET6, INET4 and UUID through the snapshot and the binary log
// into both targets and compares every value.
func TestTypesMariaDB(t *testing.T) {
	db := "it_types_mariadb"
	tables := []ttable{typesMariaDB}
	my := typeSession(t)
	loadSnapshotRows(t, my, db, tables)
	tg := startTypeTargets(t, my, db, "types_mariadb", "", nil, nil)
	tg.assertAll(t, db, tables, false)
	if t.Failed() {
		t.FailNow()
	}
	writeBinlogRows(t, my, db, tables)
	tg.waitCaughtUp(t, my)
	tg.assertAll(t, db, tables, true)
	tg.stop(t)
}

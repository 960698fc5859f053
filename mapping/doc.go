// Package mapping holds what both targets share about values: the [mapping] rules compiled
// into a Policy (TINYINT(1) as boolean, zero dates, NUL bytes, spatial, MariaDB JSON) that
// is passed to whoever decides by them, the canonical forms a SELECT shows (character sets
// converted to UTF-8, FLOAT and DOUBLE as shown), the tests every encoder applies (zero
// dates, zero numbers), JSON strings and ValueError. Where a table goes is the route package's.
//
// Each target owns its types and encoder: applier/postgres/pgvalue (PostgreSQL types, COPY
// text) and applier/elastic/esdoc (Elasticsearch fields, documents). The binary log's values
// are brought to canonical form by source.AppendBinlogValue, the snapshot's by the snapshot
// reader; both give the same bytes for the same value.
package mapping

package ddl

import "github.com/replicator/replicator/schema"

// SchemaChange is the effect of one DDL statement on the replicated tables, made in
// stream order by the stream's DDL handler, which parses the statement and moves the
// tracked definitions past it before the rows after it are decoded. A target translates
// each step against the definitions it carries and applies the result, together with the
// new definitions in its schema history, in the batch that moves the checkpoint past the
// statement: target schema, schema history and checkpoint move together.
type SchemaChange struct {
	Query, Schema, GTID string
	// Steps are the statement's changes that concern the replicated tables, in order.
	Steps []Step
	// Tables are the definitions, after the statement, of the tables it created or changed.
	Tables []*schema.Table
	// Dropped names the tables it dropped or renamed away ("db.table").
	Dropped []string
}

// Step is one change of a statement with the tracked definitions as they were just before
// it. Before is a copy taken in the reader: the tracker has moved on (to later statements,
// even) by the time the target translates the change. Its definitions are shared, which
// is safe because a Catalog never changes a *schema.Table in place.
type Step struct {
	Change Change
	Before Catalog
}

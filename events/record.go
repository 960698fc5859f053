package events

import (
	"bytes"
	"strconv"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// Op names what a Record is; the values are what --ops takes.
type Op string

// Ops.
const (
	OpInsert Op = "insert"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
	OpDDL    Op = "ddl"
	// OpCommit ends a transaction that printed lines; not printed unless asked for.
	OpCommit Op = "commit"
)

// View is one table version as lines show it: the definition and the columns the
// configuration replicates (its rule's columns / exclude_columns), in column order.
type View struct {
	Table   *schema.Table
	Columns []int
}

// NewView applies the route's column lists to t (all columns for a nil route). Key columns
// are always kept, so "key" can be read from before and after.
func NewView(t *schema.Table, r *route.Route) *View {
	v := &View{Table: t}
	for i, c := range t.Columns {
		keep := r == nil || r.Replicates(c.Name)
		for _, k := range t.Key {
			keep = keep || k == i
		}
		if keep {
			v.Columns = append(v.Columns, i)
		}
	}
	return v
}

// Record is one output line: a row change, a DDL statement or a transaction end.
type Record struct {
	Op Op
	// GTID is the source transaction's GTID.
	GTID string
	// Txn numbers the transactions this run printed lines of, from 1.
	Txn int64
	// Seq is the index, from 0, of a row change among its transaction's row changes of the
	// tables the configuration selects (before --tables and --ops), so GTID and Seq name
	// one change whatever the filters. A DDL line has Seq 0.
	Seq int
	// Time is when the source wrote the event (the binlog has whole seconds).
	Time time.Time

	// Row changes: the table version the row was decoded with, and the images.
	View          *View
	Before, After change.Row

	// DDL: the session's database, the statement, the tables it created or changed (their
	// definitions after it) and the tables it dropped or renamed away ("db.table").
	Schema, Query string
	Tables        []*View
	Dropped       []string
	// Reloaded: the tracker could not apply the statement to the definitions it held (a
	// replay from an older --from of a change they already include), so Tables are the
	// source's current definitions of the tables it names.
	Reloaded bool

	// Commit: the GTID set after the transaction (a --from that resumes after it) and how
	// many lines the transaction printed before this one.
	Pos   string
	Lines int

	// XA is set on the row changes of an XA transaction's first phase (they take effect
	// at the XA COMMIT of the same id, if one comes) and on the commit line of an XA
	// PREPARE, XA COMMIT or XA ROLLBACK.
	XA *change.XA
}

// KeyChanged reports whether an update moved the row to another key.
func (r *Record) KeyChanged() bool {
	if r.Op != OpUpdate {
		return false
	}
	for _, k := range r.View.Table.Key {
		if !bytes.Equal(r.Before[k], r.After[k]) || (r.Before[k] == nil) != (r.After[k] == nil) {
			return true
		}
	}
	return false
}

// keyRow is the image the key is read from: after for inserts and updates, before for
// deletes.
func (r *Record) keyRow() change.Row {
	if r.After != nil {
		return r.After
	}
	return r.Before
}

// AppendJSON appends the record as one line of JSON (with the newline). Fields come in a
// fixed order; see the package documentation for the list.
func AppendJSON(dst []byte, r *Record) []byte {
	dst = append(dst, `{"gtid":`...)
	dst = appendJSONString(dst, r.GTID)
	dst = append(dst, `,"txn":`...)
	dst = strconv.AppendInt(dst, r.Txn, 10)
	if r.Op != OpCommit {
		dst = append(dst, `,"seq":`...)
		dst = strconv.AppendInt(dst, int64(r.Seq), 10)
	}
	dst = append(dst, `,"time":`...)
	dst = appendJSONString(dst, r.Time.UTC().Format(time.RFC3339))
	dst = append(dst, `,"op":`...)
	dst = appendJSONString(dst, string(r.Op))
	switch r.Op {
	case OpInsert, OpUpdate, OpDelete:
		t := r.View.Table
		dst = append(dst, `,"database":`...)
		dst = appendJSONString(dst, t.Schema)
		dst = append(dst, `,"table":`...)
		dst = appendJSONString(dst, t.Name)
		dst = append(dst, `,"key":`...)
		dst = appendKey(dst, t, r.keyRow())
		if r.KeyChanged() {
			dst = append(dst, `,"old_key":`...)
			dst = appendKey(dst, t, r.Before)
		}
		dst = append(dst, `,"before":`...)
		dst = appendRow(dst, r.View, r.Before)
		dst = append(dst, `,"after":`...)
		dst = appendRow(dst, r.View, r.After)
	case OpDDL:
		dst = append(dst, `,"database":`...)
		dst = appendJSONString(dst, r.Schema)
		dst = append(dst, `,"query":`...)
		dst = appendJSONString(dst, r.Query)
		dst = append(dst, `,"tables":[`...)
		for i, v := range r.Tables {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendDefinition(dst, v)
		}
		dst = append(dst, `],"dropped":[`...)
		for i, n := range r.Dropped {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, n)
		}
		dst = append(dst, ']')
		if r.Reloaded {
			dst = append(dst, `,"reloaded":true`...)
		}
	case OpCommit:
		dst = append(dst, `,"pos":`...)
		dst = appendJSONString(dst, r.Pos)
		dst = append(dst, `,"lines":`...)
		dst = strconv.AppendInt(dst, int64(r.Lines), 10)
	}
	if r.XA != nil {
		dst = append(dst, `,"xa":{"op":`...)
		dst = appendJSONString(dst, r.XA.Op.String())
		dst = append(dst, `,"id":`...)
		dst = appendJSONString(dst, r.XA.ID)
		dst = append(dst, '}')
	}
	return append(dst, "}\n"...)
}

func appendKey(dst []byte, t *schema.Table, row change.Row) []byte {
	dst = append(dst, '{')
	for i, k := range t.Key {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, t.Columns[k].Name)
		dst = append(dst, ':')
		dst = AppendValue(dst, &t.Columns[k], row[k])
	}
	return append(dst, '}')
}

func appendRow(dst []byte, v *View, row change.Row) []byte {
	if row == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '{')
	for i, ci := range v.Columns {
		if i > 0 {
			dst = append(dst, ',')
		}
		c := &v.Table.Columns[ci]
		dst = appendJSONString(dst, c.Name)
		dst = append(dst, ':')
		dst = AppendValue(dst, c, row[ci])
	}
	return append(dst, '}')
}

func appendDefinition(dst []byte, v *View) []byte {
	t := v.Table
	dst = append(dst, `{"database":`...)
	dst = appendJSONString(dst, t.Schema)
	dst = append(dst, `,"table":`...)
	dst = appendJSONString(dst, t.Name)
	dst = append(dst, `,"columns":[`...)
	for i, ci := range v.Columns {
		if i > 0 {
			dst = append(dst, ',')
		}
		c := &t.Columns[ci]
		dst = append(dst, `{"name":`...)
		dst = appendJSONString(dst, c.Name)
		dst = append(dst, `,"type":`...)
		dst = appendJSONString(dst, c.ColumnType)
		dst = append(dst, `,"nullable":`...)
		dst = strconv.AppendBool(dst, c.Nullable)
		dst = append(dst, '}')
	}
	dst = append(dst, `],"key":[`...)
	for i, name := range t.KeyNames() {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, name)
	}
	return append(dst, "]}"...)
}

package events

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// AppendText appends the record as a block for people to read: a heading line, indented
// detail lines (values in their JSON rendering, so strings are quoted and NULL is null)
// and a blank line. An update shows changed columns as "before -> after".
func AppendText(dst []byte, r *Record) []byte {
	dst = append(dst, r.Op...)
	if r.View != nil {
		dst = append(dst, ' ')
		dst = append(dst, r.View.Table.QualifiedName()...)
	}
	dst = append(dst, "  gtid "...)
	dst = append(dst, r.GTID...)
	dst = append(dst, "  txn "...)
	dst = strconv.AppendInt(dst, r.Txn, 10)
	if r.Op != OpCommit {
		dst = append(dst, "  seq "...)
		dst = strconv.AppendInt(dst, int64(r.Seq), 10)
	}
	dst = append(dst, "  "...)
	dst = append(dst, r.Time.UTC().Format(time.RFC3339)...)
	dst = append(dst, '\n')
	switch r.Op {
	case OpInsert, OpUpdate, OpDelete:
		dst = appendTextRow(dst, r)
	case OpDDL:
		dst = appendField(dst, "database", 8, r.Schema)
		dst = appendField(dst, "query", 8, strings.Join(strings.Fields(r.Query), " "))
		for _, v := range r.Tables {
			var b strings.Builder
			b.WriteString(v.Table.QualifiedName() + " (")
			for i, ci := range v.Columns {
				c := &v.Table.Columns[ci]
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(c.Name + " " + c.ColumnType)
				if !c.Nullable {
					b.WriteString(" NOT NULL")
				}
			}
			b.WriteString(")  key (" + strings.Join(v.Table.KeyNames(), ", ") + ")")
			dst = appendField(dst, "table", 8, b.String())
		}
		for _, n := range r.Dropped {
			dst = appendField(dst, "dropped", 8, n)
		}
		if r.Reloaded {
			dst = appendField(dst, "note", 8, "not applicable to the tracked definitions: reloaded from the source's current schema")
		}
	case OpCommit:
		lines := strconv.Itoa(r.Lines) + " lines"
		if r.Lines == 1 {
			lines = "1 line"
		}
		dst = appendField(dst, "pos", 8, r.Pos+"  ("+lines+")")
	}
	if r.XA != nil {
		dst = appendField(dst, "xa", 8, r.XA.Op.String()+" "+r.XA.ID)
	}
	return append(dst, '\n')
}

func appendTextRow(dst []byte, r *Record) []byte {
	t := r.View.Table
	width := len("key")
	for _, ci := range r.View.Columns {
		width = max(width, len(t.Columns[ci].Name))
	}
	key := string(appendKey(nil, t, r.keyRow()))
	if r.KeyChanged() {
		key += "  (was " + string(appendKey(nil, t, r.Before)) + ")"
	}
	dst = appendField(dst, "key", width, key)
	for _, ci := range r.View.Columns {
		c := &t.Columns[ci]
		var val []byte
		switch {
		case r.Before == nil:
			val = AppendValue(nil, c, r.After[ci])
		case r.After == nil:
			val = AppendValue(nil, c, r.Before[ci])
		default:
			val = AppendValue(nil, c, r.Before[ci])
			if after := AppendValue(nil, c, r.After[ci]); !bytes.Equal(val, after) {
				val = append(append(val, " -> "...), after...)
			}
		}
		dst = appendField(dst, c.Name, width, string(val))
	}
	return dst
}

func appendField(dst []byte, name string, width int, value string) []byte {
	dst = append(dst, "    "...)
	dst = append(dst, name...)
	for i := len(name); i < width+2; i++ {
		dst = append(dst, ' ')
	}
	dst = append(dst, value...)
	return append(dst, '\n')
}

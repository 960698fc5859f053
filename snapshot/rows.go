package snapshot

import (
	"context"
	"strconv"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/source"
)

// StreamRows runs query, whose select list is cols in order, and hands each row to emit in
// canonical form (change.Row). The snapshot and verify read rows through it, so both see
// exactly what the appliers are given. The row handed to emit is reused for the next row:
// emit must copy what it keeps.
func StreamRows(ctx context.Context, conn *source.Conn, query string, cols []*schema.Column, emit func(change.Row) error) error {
	row := make(change.Row, len(cols))
	// A non-nil buffer, so an empty string is an empty value and never NULL.
	scratch := make([]byte, 0, 4096)
	ends := make([]int, len(cols))
	return conn.Stream(ctx, query, func(vals []mysql.FieldValue) error {
		scratch = scratch[:0]
		// First append every value to one buffer, then slice it: appends may move the buffer.
		for i, v := range vals {
			switch v.Type {
			case mysql.FieldValueTypeNull:
			case mysql.FieldValueTypeSigned:
				scratch = strconv.AppendInt(scratch, v.AsInt64(), 10)
			case mysql.FieldValueTypeUnsigned:
				scratch = strconv.AppendUint(scratch, v.AsUint64(), 10)
			case mysql.FieldValueTypeFloat:
				bits := 64
				if i < len(cols) && cols[i].DataType == "float" {
					bits = 32
				}
				scratch = strconv.AppendFloat(scratch, v.AsFloat64(), 'g', -1, bits)
			default:
				scratch = append(scratch, v.AsString()...)
			}
			ends[i] = len(scratch)
		}
		start := 0
		for i, v := range vals {
			if v.Type == mysql.FieldValueTypeNull {
				row[i] = nil
			} else {
				row[i] = scratch[start:ends[i]:ends[i]]
			}
			start = ends[i]
		}
		return emit(row)
	})
}

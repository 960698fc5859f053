package snapshot

import (
	"context"
	"strconv"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/source"
)

// readChunk streams one chunk's rows in canonical form to emit. The row handed to emit
// is reused for the next row: emit must encode it before returning.
func readChunk(ctx context.Context, conn *source.Conn, p *TablePlan, c Chunk, emit func(change.Row) error) error {
	row := make(change.Row, len(p.Columns))
	// A non-nil buffer, so an empty string is an empty value and never NULL.
	scratch := make([]byte, 0, 4096)
	ends := make([]int, len(p.Columns))
	return conn.Stream(ctx, chunkQuery(p, c), func(vals []mysql.FieldValue) error {
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
				if p.Table.Columns[p.Columns[i]].DataType == "float" {
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

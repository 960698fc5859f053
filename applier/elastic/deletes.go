package elastic

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/mapping"
)

// Soft deletes (deletes = "soft"): a table's documents carry two marker fields after the
// columns'. A deleted row is written again as its last image with _deleted true and
// _deleted_at, with the batch's external version like every write, so an older write never
// wins over the mark and a replay is refused where the index is newer; every other write
// of the document sets _deleted false. Documents written by the snapshot lack the fields:
// absent counts as not deleted (query with must_not term _deleted: true).

// addMarkerFields maps the marker fields.
func addMarkerFields(props map[string]any) {
	props[config.MarkerDeleted] = map[string]any{"type": "boolean"}
	props[config.MarkerDeletedAt] = map[string]any{"type": "date", "format": "strict_date_optional_time||epoch_millis"}
}

// appendMarkers adds the marker fields to a document ending in '}': deleted at *at, or not
// deleted when at is nil.
func appendMarkers(doc []byte, at *time.Time) []byte {
	doc = doc[:len(doc)-1]
	if len(doc) > 1 {
		doc = append(doc, ',')
	}
	doc = mapping.AppendJSONString(doc, config.MarkerDeleted)
	if at == nil {
		doc = append(doc, ":false,"...)
		doc = mapping.AppendJSONString(doc, config.MarkerDeletedAt)
		return append(doc, ":null}"...)
	}
	doc = append(doc, ":true,"...)
	doc = mapping.AppendJSONString(doc, config.MarkerDeletedAt)
	doc = append(doc, ':')
	if at.IsZero() {
		doc = append(doc, "null"...)
	} else {
		doc = mapping.AppendJSONString(doc, at.UTC().Format(time.RFC3339Nano))
	}
	return append(doc, '}')
}

// addMarked adds a soft delete: the row's last image, marked.
func (b *Batch) addMarked(p *tablePlan, m change.MarkedRow) error {
	if !p.soft {
		return fmt.Errorf("index %s: a soft delete for a table whose rule does not keep deleted rows", p.index)
	}
	at := m.At
	return b.addRow(p, m.Row, false, change.Origin{GTID: m.GTID, Time: m.At}, &at)
}

// markedDoc reports whether a document's fields say it is marked deleted.
func markedDoc(d fkDoc) bool { return bytes.Equal(d[config.MarkerDeleted], []byte("true")) }

// CheckCopy's part for delete modes: the online copy of a table whose index exists is
// refused when its rule keeps rows the source deleted (they would vanish at the swap).
func (t *Target) checkCopyDeletes(table string) error {
	db, name, _ := strings.Cut(table, ".")
	rt := t.routes.For(db, name)
	if rt == nil || rt.Deletes() == config.DeletesHard {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cur, err := t.resolveName(ctx, rt.ESIndex())
	if err != nil {
		return err
	}
	if !cur.exists() {
		return nil
	}
	return fmt.Errorf("tables[%d].deletes = %q: table %s cannot be copied online: the copy rebuilds its index from the source, and the documents kept for deleted source rows would vanish; copy it with deletes = \"hard\" if losing them is intended", rt.Index(), rt.Deletes(), table)
}

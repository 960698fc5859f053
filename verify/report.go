package verify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Report is the outcome of a verification.
type Report struct {
	// Equal is true when every table was compared and found equal.
	Equal bool `json:"equal"`
	// Reason says in one line why Equal is false.
	Reason string `json:"reason,omitempty"`
	// SourceGTID is the source's position when verification began; TargetGTID the
	// target's checkpoint once it had caught up with it (empty without a checkpoint).
	SourceGTID string         `json:"source_gtid"`
	TargetGTID string         `json:"target_gtid,omitempty"`
	Tables     []*TableReport `json:"tables"`
	// Documents are the composed indexes ([[documents]], Elasticsearch): each document
	// compared with the one composed again from the tables' indexes compared above.
	Documents []*DocumentsReport `json:"documents,omitempty"`
	DurationS float64            `json:"duration_s"`
}

// DocumentsReport is one composed index's outcome.
type DocumentsReport struct {
	Index       string   `json:"index"`
	Equal       bool     `json:"equal"`
	Documents   int      `json:"documents"`
	Differences int      `json:"differences"`
	Differ      []string `json:"differ,omitempty"`
}

// TableReport is one table's outcome.
type TableReport struct {
	Source string `json:"source"`
	Target string `json:"target"`
	// Method is "key ranges" (chunks of the first key column) or "hash buckets".
	Method     string `json:"method,omitempty"`
	SourceRows int64  `json:"source_rows"`
	TargetRows int64  `json:"target_rows"`
	Chunks     int    `json:"chunks"`
	// MismatchedChunks are the chunks whose checksums differed in the first pass.
	MismatchedChunks int `json:"mismatched_chunks"`
	// Rechecks is how many times differing rows were read again.
	Rechecks int  `json:"rechecks"`
	Equal    bool `json:"equal"`
	// Differences is the number of rows that differ after the rechecks.
	Differences int       `json:"differences"`
	Diffs       []RowDiff `json:"diffs,omitempty"`
	// Deletes is the rule's delete mode when it keeps rows ("soft", "ignore"); Kept counts
	// the target rows it keeps for rows the source no longer has: marked deleted (soft,
	// left out of the comparison) or extra rows allowed (ignore).
	Deletes string `json:"deletes,omitempty"`
	Kept    int64  `json:"kept_rows,omitempty"`
	// Error says why the table could not be compared.
	Error string `json:"error,omitempty"`
	// NotSelected marks the rows of a fan-in target whose source value (Source) no
	// selected table has: TargetRows extra rows, compared with nothing.
	NotSelected bool `json:"not_selected,omitempty"`
}

// RowDiff describes one differing row.
type RowDiff struct {
	// Kind is "missing" (no target row), "extra" (no source row) or "changed".
	Kind string `json:"kind"`
	Key  Values `json:"key"`
	// Columns are the differing columns of a changed row.
	Columns []string `json:"columns,omitempty"`
	// Source and Target are the row's values on each side in comparison form (the
	// target's text form; JSON for Elasticsearch): the differing columns of a changed
	// row, every column of a missing or extra one.
	Source Values `json:"source,omitempty"`
	Target Values `json:"target,omitempty"`
}

// Field is one column's value; Value nil is NULL.
type Field struct {
	Column string
	Value  *string
}

// Values is a list of column values, written in JSON as an object in column order.
type Values []Field

// MarshalJSON implements json.Marshaler.
func (vs Values) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.Column)
		b.Write(k)
		b.WriteByte(':')
		v, _ := json.Marshal(f.Value)
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// String renders `a="1", b=NULL`.
func (vs Values) String() string {
	parts := make([]string, len(vs))
	for i, f := range vs {
		parts[i] = f.Column + "=" + show(f.Value)
	}
	return strings.Join(parts, ", ")
}

func show(v *string) string {
	if v == nil {
		return "NULL"
	}
	return strconv.Quote(*v)
}

// display turns a comparison value into text for a report; a value the target cannot
// hold (marked with a leading NUL) is shown as its reason in angle brackets.
func (st *tableState) display(v []byte) *string {
	if v == nil {
		return nil
	}
	var s string
	if len(v) > 0 && v[0] == 0 {
		s = "<" + string(v[1:]) + ">"
	} else {
		s = st.tt.text(v)
	}
	return &s
}

// describe renders a diff for the report.
func (st *tableState) describe(d *diff) RowDiff {
	var rd RowDiff
	present := d.src
	if present == nil {
		present = d.tgt
	}
	for _, p := range st.t.keyPos {
		rd.Key = append(rd.Key, Field{st.t.column(p).Name, st.display(present.vals[p])})
	}
	all := func(r *row) Values {
		var out Values
		for i, v := range r.vals {
			out = append(out, Field{st.t.column(i).Name, st.display(v)})
		}
		return out
	}
	switch {
	case d.tgt == nil:
		rd.Kind, rd.Source = "missing", all(d.src)
	case d.src == nil:
		rd.Kind, rd.Target = "extra", all(d.tgt)
	default:
		rd.Kind = "changed"
		for i := range d.src.vals {
			if !bytes.Equal(d.src.vals[i], d.tgt.vals[i]) || (d.src.vals[i] == nil) != (d.tgt.vals[i] == nil) {
				name := st.t.column(i).Name
				rd.Columns = append(rd.Columns, name)
				rd.Source = append(rd.Source, Field{name, st.display(d.src.vals[i])})
				rd.Target = append(rd.Target, Field{name, st.display(d.tgt.vals[i])})
			}
		}
	}
	return rd
}

// finish sets the verdict and the one-line reason.
func (r *Report) finish(d time.Duration) {
	r.DurationS = d.Round(time.Millisecond).Seconds()
	var bad []string
	for _, t := range r.Tables {
		switch {
		case t.Error != "":
			bad = append(bad, fmt.Sprintf("%s (%s)", t.Source, t.Error))
		case t.NotSelected:
			bad = append(bad, fmt.Sprintf("%s (%d target rows of a source table not selected)", t.Source, t.TargetRows))
		case !t.Equal:
			bad = append(bad, fmt.Sprintf("%s (%d rows differ)", t.Source, t.Differences))
		}
	}
	r.Equal = len(bad) == 0
	if !r.Equal {
		r.Reason = fmt.Sprintf("%d of %d tables differ: %s", len(bad), len(r.Tables), strings.Join(bad, "; "))
	}
}

// WriteJSON writes the report as one JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes one line per table, with the first differing rows under a table that
// differs, and a summary line.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	var rows int64
	for _, d := range r.Documents {
		if d.Equal {
			fmt.Fprintf(&b, "documents %s: equal (%d documents)\n", d.Index, d.Documents)
		} else {
			fmt.Fprintf(&b, "documents %s: DIFFERENT: %d of %d documents differ from their composition of the tables' indexes (_id %s)\n", d.Index, d.Differences, d.Documents, strings.Join(d.Differ, ", "))
		}
	}
	for _, t := range r.Tables {
		target := t.Target
		if target == "" {
			target = "?"
		}
		fmt.Fprintf(&b, "%s -> %s: ", t.Source, target)
		switch {
		case t.Error != "":
			fmt.Fprintf(&b, "ERROR: %s\n", t.Error)
			continue
		case t.NotSelected:
			fmt.Fprintf(&b, "DIFFERENT: %d target rows of this source table, which no [[tables]] rule selects at the source (dropped, or no longer matched): extra rows\n", t.TargetRows)
			continue
		case t.Equal && t.Deletes != "":
			fmt.Fprintf(&b, "equal (%d rows, %d chunks; %d target rows kept by deletes = %q)\n", t.SourceRows, t.Chunks, t.Kept, t.Deletes)
		case t.Equal:
			fmt.Fprintf(&b, "equal (%d rows, %d chunks)\n", t.SourceRows, t.Chunks)
		default:
			fmt.Fprintf(&b, "DIFFERENT: %d rows differ (source %d rows, target %d rows; %d of %d chunks mismatched; %d rechecks)\n",
				t.Differences, t.SourceRows, t.TargetRows, t.MismatchedChunks, t.Chunks, t.Rechecks)
		}
		rows += t.SourceRows
		for _, d := range t.Diffs {
			switch d.Kind {
			case "missing":
				fmt.Fprintf(&b, "    %s: missing in target; source: %s\n", d.Key, d.Source)
			case "extra":
				fmt.Fprintf(&b, "    %s: extra in target; target: %s\n", d.Key, d.Target)
			default:
				fmt.Fprintf(&b, "    %s: changed %s; source: %s; target: %s\n", d.Key, strings.Join(d.Columns, ", "), d.Source, d.Target)
			}
		}
		if more := t.Differences - len(t.Diffs); more > 0 && len(t.Diffs) > 0 {
			fmt.Fprintf(&b, "    ... and %d more\n", more)
		}
	}
	if r.Equal {
		fmt.Fprintf(&b, "verify: all %d tables equal (%d rows) at source GTID %s in %.1f s\n", len(r.Tables), rows, r.SourceGTID, r.DurationS)
	} else {
		fmt.Fprintf(&b, "verify: %s\n", r.Reason)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

package config

import (
	"fmt"
	"strings"
)

// Document declares an Elasticsearch index whose documents are composed from several
// tables: one document per row of Root, with fields copied from rows it refers to
// (Lookup, N:1) and arrays of the rows that refer to it (Nested, 1:N or N:M through a
// join table). Every involved table must also be replicated by a [[tables]] rule: its
// own index holds the current rows the stream composes documents from.
type Document struct {
	// Index is the name of the composed index.
	Index string `toml:"index"`
	// Root is "db.table": one document per row, _id as the table's own index ids.
	Root string `toml:"root"`
	// Columns are the root's columns written into the document (its key always is).
	Columns []string         `toml:"columns"`
	Lookup  []DocumentLookup `toml:"lookup"`
	Nested  []DocumentNested `toml:"nested"`
}

// DocumentLookup is an N:1 relation: the row of Table whose key equals a root column,
// written as an object (null when the column is NULL or no such row exists).
type DocumentLookup struct {
	Field string `toml:"field"`
	Table string `toml:"table"`
	// On is { root_column = "table_key_column" }.
	On      map[string]string `toml:"on"`
	Columns []string          `toml:"columns"`
}

// DocumentNested is a 1:N relation (On: { child_column = "root_key_column" }) or an N:M
// relation through a join table (Through), written as an array of objects sorted by the
// child's key.
type DocumentNested struct {
	Field   string            `toml:"field"`
	Table   string            `toml:"table"`
	On      map[string]string `toml:"on"`
	Through *DocumentThrough  `toml:"through"`
	Columns []string          `toml:"columns"`
}

// DocumentThrough is the join table of an N:M relation: Parent refers to the root's key,
// Child to the nested table's key.
type DocumentThrough struct {
	Table  string `toml:"table"`
	Parent string `toml:"parent"`
	Child  string `toml:"child"`
}

// OnPair returns the one pair of an On map (validated to hold exactly one).
func OnPair(on map[string]string) (from, to string) {
	for k, v := range on {
		return k, v
	}
	return "", ""
}

// Tables returns every table the document involves ("db.table"), root first.
func (d *Document) Tables() []string {
	out := []string{d.Root}
	for _, l := range d.Lookup {
		out = append(out, l.Table)
	}
	for _, n := range d.Nested {
		if n.Through != nil {
			out = append(out, n.Through.Table)
		}
		out = append(out, n.Table)
	}
	return out
}

func (c *Config) validateDocuments() error {
	if len(c.Documents) > 0 && c.Target.Type != TargetElasticsearch {
		return fmt.Errorf("documents[0]: composed documents need target.type = \"elasticsearch\"")
	}
	if len(c.Documents) > 0 && c.Snapshot.OnMissingBinlog == "resnapshot" {
		return fmt.Errorf("documents[0]: snapshot.on_missing_binlog = \"resnapshot\" cannot keep composed documents (stale tables are not composed from): use \"stop\"")
	}
	indexes := map[string]int{}
	for i := range c.Documents {
		d := &c.Documents[i]
		key := fmt.Sprintf("documents[%d]", i)
		if err := validIndexName(d.Index); err != nil {
			return fmt.Errorf("%s.index: %w", key, err)
		}
		if j, ok := indexes[d.Index]; ok {
			return fmt.Errorf("%s.index = %q: documents[%d] writes that index too", key, d.Index, j)
		}
		indexes[d.Index] = i
		if err := validDocTable(d.Root); err != nil {
			return fmt.Errorf("%s.root: %w", key, err)
		}
		if err := validDocColumns(d.Columns); err != nil {
			return fmt.Errorf("%s.columns: %w", key, err)
		}
		fields := map[string]string{}
		for _, col := range d.Columns {
			fields[col] = key + ".columns"
		}
		addField := func(k, f string) error {
			if f == "" {
				return fmt.Errorf("%s.field is required", k)
			}
			if strings.ContainsAny(f, ".") || strings.HasPrefix(f, "_") {
				return fmt.Errorf("%s.field = %q: must not contain a dot nor start with _", k, f)
			}
			if other, ok := fields[f]; ok {
				return fmt.Errorf("%s.field = %q: %s uses the name too", k, f, other)
			}
			fields[f] = k + ".field"
			return nil
		}
		for j, l := range d.Lookup {
			lk := fmt.Sprintf("%s.lookup[%d]", key, j)
			if err := addField(lk, l.Field); err != nil {
				return err
			}
			if err := validDocTable(l.Table); err != nil {
				return fmt.Errorf("%s.table: %w", lk, err)
			}
			if err := validOn(l.On); err != nil {
				return fmt.Errorf("%s.on: %w (e.g. on = { language_id = \"language_id\" }: root column = the table's key column)", lk, err)
			}
			if err := validDocColumns(l.Columns); err != nil {
				return fmt.Errorf("%s.columns: %w", lk, err)
			}
		}
		for j, n := range d.Nested {
			nk := fmt.Sprintf("%s.nested[%d]", key, j)
			if err := addField(nk, n.Field); err != nil {
				return err
			}
			if err := validDocTable(n.Table); err != nil {
				return fmt.Errorf("%s.table: %w", nk, err)
			}
			switch {
			case n.Through != nil && len(n.On) > 0:
				return fmt.Errorf("%s: set either on (1:N) or through (N:M), not both", nk)
			case n.Through != nil:
				th := n.Through
				if err := validDocTable(th.Table); err != nil {
					return fmt.Errorf("%s.through.table: %w", nk, err)
				}
				if th.Parent == "" || th.Child == "" {
					return fmt.Errorf("%s.through: parent and child are required (the join table's columns referring to the root's key and to %s's key)", nk, n.Table)
				}
				if th.Parent == th.Child {
					return fmt.Errorf("%s.through: parent and child name the same column %q", nk, th.Parent)
				}
			default:
				if err := validOn(n.On); err != nil {
					return fmt.Errorf("%s.on: %w (e.g. on = { film_id = \"film_id\" }: child column = the root's key column; or through = { ... } for N:M)", nk, err)
				}
			}
			if err := validDocColumns(n.Columns); err != nil {
				return fmt.Errorf("%s.columns: %w", nk, err)
			}
		}
	}
	return nil
}

func validDocTable(s string) error {
	db, table, ok := strings.Cut(s, ".")
	if !ok || db == "" || table == "" || strings.ContainsAny(s, "*?[") {
		return fmt.Errorf("%q: must be \"db.table\" (no patterns)", s)
	}
	return nil
}

func validOn(on map[string]string) error {
	if len(on) != 1 {
		return fmt.Errorf("must hold exactly one column pair (this version joins on one column)")
	}
	for k, v := range on {
		if k == "" || v == "" {
			return fmt.Errorf("empty column name")
		}
	}
	return nil
}

func validDocColumns(cols []string) error {
	seen := map[string]bool{}
	for _, c := range cols {
		if c == "" {
			return fmt.Errorf("empty column name")
		}
		if seen[strings.ToLower(c)] {
			return fmt.Errorf("column %q listed twice", c)
		}
		seen[strings.ToLower(c)] = true
	}
	return nil
}

package pgddl

import (
	"fmt"
	"strings"

	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/schema"
)

func (a *alterPG) untranslatable(clause, reason string) error {
	return &UntranslatableError{Statement: "ALTER TABLE " + a.src.String() + " " + clause, Reason: reason}
}

func (a *alterPG) addColumn(c *ddl.AddColumn, s ddl.AlterStep) error {
	col := c.Column
	col.Name, col.Nullable = s.Column.Name, s.Column.Nullable
	if !a.target.has(col.Name) {
		return nil
	}
	clause := "ADD COLUMN " + col.Name
	backfill := "the source fills it in for the existing rows, and the binary log does not carry those values"
	var computed string
	switch {
	case col.AutoIncrement:
		computed = "AUTO_INCREMENT"
	case col.Generated != "":
		computed = "a generated column"
	case c.Default.Kind == ddl.DefaultExpression:
		computed = "default " + c.Default.Value
	}
	if computed != "" && !a.target.Backfill {
		return a.untranslatable(clause, computed+": "+backfill)
	}
	if computed != "" {
		// The column comes plain and nullable: the rows written from here on carry their
		// values, the online copy the table's existing ones (and the column's constraints).
		typ, err := a.tr.pgType(&col)
		if err != nil {
			return a.untranslatable(clause, err.Error())
		}
		a.alters = append(a.alters, "ADD COLUMN IF NOT EXISTS "+qi(col.Name)+" "+typ)
		a.tr.note("%s.%s: %s (%s); the table is copied again online for the values of the existing rows", a.src, col.Name, computed, backfill)
		a.tr.backfill(a.src.String())
		return nil
	}
	typ, err := a.tr.pgType(&col)
	if err != nil {
		return a.untranslatable(clause, err.Error())
	}
	def := "ADD COLUMN IF NOT EXISTS " + qi(col.Name) + " " + typ
	if !col.Nullable {
		def += " NOT NULL"
	}
	expr, ok, why := pgDefault(&col, c.Default, typ)
	switch {
	case ok:
		def += " DEFAULT " + expr
		if c.Default.Kind == ddl.DefaultCurrentTimestamp {
			a.tr.note("%s.%s: existing rows get PostgreSQL's current time, not the source's", a.src, col.Name)
		}
	case why != "":
		a.tr.note("%s.%s: %s", a.src, col.Name, why)
	}
	a.alters = append(a.alters, def)
	if !ok && !col.Nullable {
		if imp, has := implicitDefault(&col, typ); has {
			// MySQL fills the existing rows with the type's implicit value; so does this
			// DEFAULT, which then goes, as the source column has none.
			a.alters[len(a.alters)-1] += " DEFAULT " + imp
			// PostgreSQL runs ALTER COLUMN before ADD COLUMN within one statement.
			a.after = append(a.after, "ALTER COLUMN "+qi(col.Name)+" DROP DEFAULT")
		}
	}
	return nil
}

// renameColumn records a column's rename; it returns false when the column is not
// replicated.
func (a *alterPG) renameColumn(s ddl.AlterStep, written, clause string) (bool, error) {
	old, final := oldName(s, written), s.Column.Name
	inOld, inNew := a.target.has(old), a.target.has(final)
	if inOld != inNew {
		return false, a.untranslatable(clause+" "+old, "the column would move into or out of the replicated columns")
	}
	if inOld && old != final {
		a.moves = append(a.moves, colMove{old, final})
	}
	return inOld, nil
}

func (a *alterPG) redefine(s ddl.AlterStep, written string, d ddl.Default, clause string) error {
	included, err := a.renameColumn(s, written, clause)
	if err != nil || !included {
		return err
	}
	col := *s.Column
	name := qi(col.Name)
	typ, err := a.tr.pgType(&col)
	if err != nil {
		return a.untranslatable(clause+" "+col.Name, err.Error())
	}
	old := s.Before
	retype := old == nil
	if !retype {
		oldTyp, err := a.tr.pgType(old)
		retype = err != nil || oldTyp != typ
	}
	if retype {
		a.alters = append(a.alters, "ALTER COLUMN "+name+" TYPE "+typ+" USING "+name+"::"+typ)
	}
	if old == nil || old.Nullable != col.Nullable {
		if col.Nullable {
			a.alters = append(a.alters, "ALTER COLUMN "+name+" DROP NOT NULL")
		} else {
			a.alters = append(a.alters, "ALTER COLUMN "+name+" SET NOT NULL")
		}
	}
	if old == nil || !sameText(old.Default, col.Default) {
		a.setDefaultTyped(&col, d, typ)
	}
	return nil
}

func sameText(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func (a *alterPG) setDefault(col schema.Column, d ddl.Default) {
	if !a.target.has(col.Name) {
		return
	}
	typ := ""
	if col.DataType != "" {
		typ, _ = a.tr.pgType(&col)
	}
	a.setDefaultTyped(&col, d, typ)
}

func (a *alterPG) setDefaultTyped(col *schema.Column, d ddl.Default, typ string) {
	expr, ok, why := pgDefault(col, d, typ)
	if why != "" {
		a.tr.note("%s.%s: %s", a.src, col.Name, why)
	}
	if ok {
		a.alters = append(a.alters, "ALTER COLUMN "+qi(col.Name)+" SET DEFAULT "+expr)
	} else {
		a.alters = append(a.alters, "ALTER COLUMN "+qi(col.Name)+" DROP DEFAULT")
	}
}

func (a *alterPG) addIndex(t *schema.Table, ix schema.Index) {
	constraint, create, note := renderIndex(a.tr.pol, t, ix, a.target)
	if note != "" {
		a.tr.note("%s", note)
	}
	if constraint != "" {
		// Dropped first so that a replay, or an index re-created after a column drop, adds it
		// again whatever was there.
		a.drop("DROP CONSTRAINT IF EXISTS " + qi(PGIndexName(a.target.Table, ix.Name)))
		a.alters = append(a.alters, "ADD "+constraint)
	}
	if create != "" {
		a.creates = append(a.creates, create)
	}
}

// dropIndex drops an index that is a unique constraint or a plain index (both, when the
// definition is not known).
func (a *alterPG) dropIndex(name string, dropped *schema.Index) {
	if dropped != nil && dropped.Kind != "" {
		return // never created
	}
	pg := PGIndexName(a.target.Table, name)
	if dropped == nil || dropped.Unique {
		a.drop("DROP CONSTRAINT IF EXISTS " + qi(pg))
	}
	a.dropIdx = append(a.dropIdx, "DROP INDEX IF EXISTS "+qt(PGTarget{Schema: a.target.Schema, Table: pg}))
}

// drop adds an ALTER TABLE drop action once.
func (a *alterPG) drop(action string) {
	for _, d := range a.drops {
		if d == action {
			return
		}
	}
	a.drops = append(a.drops, action)
}

// reshrink re-creates what PostgreSQL drops with a column but MySQL keeps: an index or
// primary key that had other columns besides the dropped one.
func (a *alterPG) reshrink(steps []ddl.AlterStep, specs []ddl.AlterChange, before, after *schema.Table, explicit map[string]bool, pkExplicit bool) error {
	dropped := map[string]bool{}
	for i, spec := range specs {
		if _, ok := spec.(*ddl.DropColumn); ok && !steps[i].Skip && steps[i].Before != nil {
			dropped[strings.ToLower(steps[i].Before.Name)] = true
		}
	}
	if len(dropped) == 0 {
		return nil
	}
	hit := func(cols []string) bool {
		for _, c := range cols {
			if dropped[strings.ToLower(c)] {
				return true
			}
		}
		return false
	}
	for _, ix := range before.Indexes {
		if explicit[strings.ToLower(ix.Name)] || !hit(ix.Columns) {
			continue
		}
		if k := indexNamed(after.Indexes, ix.Name); k >= 0 {
			// PostgreSQL dropped it with the column; a plain index is dropped by name too,
			// so that CREATE INDEX IF NOT EXISTS cannot keep an old one on a replay.
			if !ix.Unique && ix.Kind == "" {
				a.dropIndex(ix.Name, &ix)
			}
			a.addIndex(after, after.Indexes[k])
		}
	}
	if !pkExplicit && before.KeyIsPrimary && hit(before.KeyNames()) && after.KeyIsPrimary && len(after.Key) > 0 {
		cols, err := keyColumns(after.KeyNames(), a.target, "ALTER TABLE "+a.src.String()+" DROP COLUMN")
		if err != nil {
			return err
		}
		a.pkDrop = true
		a.alters = append(a.alters, "ADD PRIMARY KEY ("+cols+")")
	}
	return nil
}

func (a *alterPG) emit() {
	table := qt(a.target)
	tr := a.tr
	if a.pkDrop {
		tr.stmt(dropPrimaryKeyPG(a.target))
	}
	if len(a.drops) > 0 {
		tr.stmt("ALTER TABLE " + table + " " + strings.Join(a.drops, ", "))
	}
	for _, s := range a.dropIdx {
		tr.stmt(s)
	}
	// Column renames as parallel moves: one whose new name another still holds waits, and
	// a cycle (a swap) parks one column under a temporary name.
	moves := a.moves
	for len(moves) > 0 {
		progressed := false
		for i := 0; i < len(moves); i++ {
			blocked := false
			for j, o := range moves {
				if j != i && o.from == moves[i].to {
					blocked = true
				}
			}
			if !blocked {
				tr.stmt(fmt.Sprintf("ALTER TABLE %s RENAME COLUMN %s TO %s", table, qi(moves[i].from), qi(moves[i].to)))
				moves = append(moves[:i], moves[i+1:]...)
				i--
				progressed = true
			}
		}
		if !progressed {
			tmp := pgName(moves[0].from + "_rename_tmp")
			tr.stmt(fmt.Sprintf("ALTER TABLE %s RENAME COLUMN %s TO %s", table, qi(moves[0].from), qi(tmp)))
			moves[0].from = tmp
		}
	}
	for _, s := range a.renames {
		tr.stmt(s)
	}
	if len(a.alters) > 0 {
		tr.stmt("ALTER TABLE " + table + " " + strings.Join(a.alters, ", "))
	}
	if len(a.after) > 0 {
		tr.stmt("ALTER TABLE " + table + " " + strings.Join(a.after, ", "))
	}
	for _, s := range a.creates {
		tr.stmt(s)
	}
}

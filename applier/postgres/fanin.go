package postgres

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/replicator/replicator/applier/postgres/pgddl"
	"github.com/replicator/replicator/applier/postgres/pgvalue"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// A fan-in target (route.Route.FanIn) holds the rows of several source tables, told apart
// by the source column. What a statement does to one source table as a whole concerns only
// its rows there: TRUNCATE and DROP TABLE delete them, RENAME TABLE onto another table of
// the same fan-in rewrites their source column. ALTER and CREATE TABLE change the one
// target table for all of them, so they are applied when the target can still hold every
// source table's rows afterwards (checkFanInShape) and the translation is idempotent (ADD
// COLUMN IF NOT EXISTS, CREATE INDEX IF NOT EXISTS, a type already changed): the first
// source table's ALTER changes the target, the same ALTER of the others finds it done.

// fanIn translates the changes of a statement that concern fan-in targets as a whole
// (TRUNCATE, DROP TABLE, RENAME TABLE, DROP DATABASE), or checks an ALTER / CREATE TABLE
// of a fan-in source table against the other source tables of its target. done reports
// that plan is the whole translation of ch.
func (t *Target) fanIn(ch ddl.Change, before ddl.Tables) (plan pgddl.PGPlan, done bool, err error) {
	cat, _ := before.(ddl.Catalog)
	if err := t.collision(ch, cat); err != nil {
		return plan, true, err
	}
	switch c := ch.(type) {
	case *ddl.TruncateTable:
		rt := t.fanInRoute(c.Name)
		if rt == nil {
			return plan, false, nil
		}
		return pgddl.PGPlan{Statements: []string{deleteSourceRows(rt)}}, true, nil
	case *ddl.DropTables:
		var plain []ddl.TableName
		for _, n := range c.Names {
			if rt := t.fanInRoute(n); rt != nil {
				plan.Statements = append(plan.Statements, deleteSourceRows(rt))
			} else {
				plain = append(plain, n)
			}
		}
		if len(plan.Statements) == 0 {
			return plan, false, nil
		}
		if len(plain) > 0 {
			rest, err := t.translate(&ddl.DropTables{Names: plain, IfExists: c.IfExists}, before)
			if err != nil {
				return plan, true, err
			}
			plan.Statements = append(plan.Statements, rest.Statements...)
			plan.Notes = append(plan.Notes, rest.Notes...)
		}
		return plan, true, nil
	case *ddl.RenameTables:
		return t.fanInRename(c)
	case *ddl.DropDatabase:
		// The database's source tables of fan-in rules leave their rows behind otherwise:
		// the target schema is not the database's.
		var names []ddl.TableName
		for n := range cat {
			if n.Schema == c.Name && t.fanInRoute(n) != nil {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			return plan, false, nil
		}
		slices.SortFunc(names, func(a, b ddl.TableName) int { return strings.Compare(a.String(), b.String()) })
		for _, n := range names {
			plan.Statements = append(plan.Statements, deleteSourceRows(t.fanInRoute(n)))
		}
		rest, err := pgddl.TranslatePG(ch, viewTables{before, t}, t.resolve, t.pol)
		if err != nil {
			return plan, true, err
		}
		plan.Statements = append(plan.Statements, rest.Statements...)
		plan.Notes = append(plan.Notes, rest.Notes...)
		return plan, true, nil
	case *ddl.AlterTable:
		rt := t.fanInRoute(c.Name)
		if rt == nil || cat == nil {
			return plan, false, nil
		}
		for _, s := range c.Specs {
			if r, ok := s.(*ddl.RenameTable); ok {
				return plan, true, fmt.Errorf("tables[%d]: ALTER TABLE %s RENAME TO %s: a source table of the fan-in target %s renamed with other changes in one statement; rename it with RENAME TABLE on its own", rt.Index(), c.Name, r.To, rt.TargetName())
			}
		}
		old := cat.Lookup(c.Name.Schema, c.Name.Name)
		if old == nil {
			return plan, false, nil
		}
		nu, err := ddl.ApplyAlter(old, c)
		if err != nil {
			return plan, false, nil // the tracker refuses it with its own reason
		}
		return plan, false, t.checkFanInShape(rt, cat, c.Name, old, nu)
	case *ddl.CreateTable:
		name := ddl.TableName{Schema: c.Table.Schema, Name: c.Table.Name}
		rt := t.fanInRoute(name)
		if rt == nil || cat == nil {
			return plan, false, nil
		}
		return plan, false, t.checkFanInShape(rt, cat, name, cat.Lookup(name.Schema, name.Name), c.Table)
	}
	return plan, false, nil
}

// collision refuses a table created or renamed into a name whose target table already
// holds another tracked source table's rows without a fan-in rule merging them
// (route.Set.PGCollisions): the two tables' rows would overwrite each other.
func (t *Target) collision(ch ddl.Change, cat ddl.Catalog) error {
	var made []ddl.TableName
	gone := map[ddl.TableName]bool{}
	switch c := ch.(type) {
	case *ddl.CreateTable:
		made = append(made, ddl.TableName{Schema: c.Table.Schema, Name: c.Table.Name})
	case *ddl.CreateTableLike:
		made = append(made, c.Name)
	case *ddl.RenameTables:
		for _, p := range c.Pairs {
			made = append(made, p.To)
			gone[p.From] = true
		}
	}
	for _, n := range made {
		if t.routes.For(n.Schema, n.Name) == nil {
			continue
		}
		names := []string{n.String()}
		for o := range cat {
			if o != n && !gone[o] && t.routes.For(o.Schema, o.Name) != nil {
				names = append(names, o.String())
			}
		}
		for target, tables := range t.routes.PGCollisions(names) {
			if !slices.Contains(tables, n.String()) {
				continue
			}
			return fmt.Errorf("table %s would be written to table %s, which holds the rows of %s already, and rows of equal keys would overwrite each other: give the target a {db} (target = \"{db}.*\"), merge them on purpose with a target naming one table (fan-in: the key gains the source table), or give it a [[tables]] rule of its own; then take a new snapshot", n, target, strings.Join(slices.DeleteFunc(slices.Clone(tables), func(s string) bool { return s == n.String() }), ", "))
		}
	}
	return nil
}

// fanInRoute returns the route of n when a fan-in rule selects it, else nil.
func (t *Target) fanInRoute(n ddl.TableName) *route.Route {
	return t.routes.FanInFor(n)
}

// deleteSourceRows deletes a fan-in source table's rows from its target.
func deleteSourceRows(rt *route.Route) string {
	s, n := rt.PGTarget()
	return "DELETE FROM " + pgx.Identifier{s, n}.Sanitize() + " WHERE " + pgx.Identifier{rt.FanIn()}.Sanitize() + " = " + literal(rt.SourceValue())
}

// literal quotes v as a PostgreSQL string constant whatever standard_conforming_strings
// says (an escape string: backslashes and quotes doubled).
func literal(v string) string {
	return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(v) + "'"
}

// fanInRename moves the rows of a fan-in source table renamed onto another name of the
// same fan-in target to that name. A rename into or out of a fan-in target is refused:
// the rows would have to move between tables.
func (t *Target) fanInRename(c *ddl.RenameTables) (pgddl.PGPlan, bool, error) {
	var plan pgddl.PGPlan
	any := false
	for _, p := range c.Pairs {
		if t.fanInRoute(p.From) != nil || t.fanInRoute(p.To) != nil {
			any = true
		}
	}
	if !any {
		return plan, false, nil
	}
	for _, p := range c.Pairs {
		from, to := t.fanInRoute(p.From), t.fanInRoute(p.To)
		if from == nil || to == nil || from.Index() != to.Index() || from.TargetName() != to.TargetName() {
			rt := from
			if rt == nil {
				rt = to
			}
			return plan, true, fmt.Errorf("tables[%d]: RENAME TABLE %s TO %s moves a table into or out of the fan-in target %s (rule %q); a statement renaming fan-in source tables may only rename them onto other names of the same target: copy the table under its new rule instead (replicator snapshot)", rt.Index(), p.From, p.To, rt.TargetName(), rt.Source())
		}
		s, n := to.PGTarget()
		col := pgx.Identifier{to.FanIn()}.Sanitize()
		plan.Statements = append(plan.Statements, "UPDATE "+pgx.Identifier{s, n}.Sanitize()+" SET "+col+" = "+literal(to.SourceValue())+" WHERE "+col+" = "+literal(from.SourceValue()))
	}
	return plan, true, nil
}

// typeOf is the PostgreSQL type of a column under the [mapping] rules: what a fan-in
// target must hold alike for all its source tables.
func (t *Target) typeOf(c *schema.Column) (string, error) { return pgvalue.Type(t.pol, c) }

// checkFanInShape is route.Route.CheckFanInChange of a change of source table name
// (from old, nil for a table created, to nu) against the other source tables of its
// fan-in target as tracked in cat.
func (t *Target) checkFanInShape(rt *route.Route, cat ddl.Catalog, name ddl.TableName, old, nu *schema.Table) error {
	return rt.CheckFanInChange(old, nu, t.routes.FanInPeers(rt, cat, name), t.typeOf)
}

// checkFanInPlans refuses a snapshot of fan-in source tables whose definitions one target
// table cannot hold together (route.Route.SameShape), naming both tables.
//
// It refuses too tables that would go to one table without a fan-in rule merging them
// (route.Set.PGCollisions): their rows would overwrite each other under equal keys.
func (t *Target) checkFanInPlans(plans []*plan.Table) error {
	names := make([]string, len(plans))
	for i, p := range plans {
		names[i] = p.Name()
	}
	coll := t.routes.PGCollisions(names)
	if targets := slices.Sorted(maps.Keys(coll)); len(targets) > 0 {
		name := targets[0]
		return fmt.Errorf("tables %s would all be written to table %s, and rows of equal keys would overwrite each other: give the target a {db} (target = \"{db}.*\"), merge them on purpose with a target naming one table (fan-in: the key gains the source table), or give each a [[tables]] rule of its own", strings.Join(coll[name], ", "), name)
	}
	first := map[string]*plan.Table{} // target -> its first source table
	for _, p := range plans {
		rt, err := t.route(p.Table)
		if err != nil || rt.FanIn() == "" {
			continue
		}
		f, ok := first[rt.TargetName()]
		if !ok {
			first[rt.TargetName()] = p
			continue
		}
		if err := rt.SameShape(f.Table, p.Table, t.typeOf); err != nil {
			return err
		}
	}
	return nil
}

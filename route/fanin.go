package route

import (
	"fmt"
	"slices"
	"strings"

	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/schema"
)

// TypeOf gives the target's type of a column (PostgreSQL: pgvalue.Type under the
// [mapping] rules): two source tables of one fan-in target must agree on it.
type TypeOf func(*schema.Column) (string, error)

// fanInColumn is what the target needs to hold of a column of a fan-in source table.
type fanInColumn struct {
	name, typ string
	nullable  bool
	defaulted bool // a constant default fills the rows of the source tables without it
}

// fanInShape is the target's side of a definition under its fan-in rule: the travelling
// columns by lower-cased target name, and the key.
type fanInShape struct {
	cols map[string]fanInColumn
	key  []string
}

func (r *Route) shapeOf(def *schema.Table, typeOf TypeOf) (fanInShape, error) {
	v, err := r.View(def)
	if err != nil {
		return fanInShape{}, err
	}
	s := fanInShape{cols: map[string]fanInColumn{}}
	for i, c := range v.Columns {
		if c.Meta != 0 {
			continue
		}
		col := &v.Table.Columns[i]
		typ, err := typeOf(col)
		if err != nil {
			return fanInShape{}, err
		}
		s.cols[strings.ToLower(col.Name)] = fanInColumn{name: col.Name, typ: typ, nullable: col.Nullable, defaulted: col.Default != nil && !col.DefaultExpr}
	}
	for _, k := range v.Table.Key {
		s.key = append(s.key, strings.ToLower(v.Table.Columns[k].Name))
	}
	return s, nil
}

// SameShape refuses two source tables of one fan-in target whose definitions differ in
// what the target holds: the travelling columns (names, types, NULL) and the key. check
// and the snapshot refuse such tables before any row is copied; the message names both
// tables and the difference.
func (r *Route) SameShape(a, b *schema.Table, typeOf TypeOf) error {
	sa, err := r.shapeOf(a, typeOf)
	if err != nil {
		return err
	}
	sb, err := r.shapeOf(b, typeOf)
	if err != nil {
		return err
	}
	diff := shapeDiff(sa, sb, a.QualifiedName(), b.QualifiedName())
	if diff == "" {
		return nil
	}
	return fmt.Errorf("tables[%d]: %s and %s are merged into %s (fan-in), but %s: a fan-in target holds one definition; make the source tables alike (or leave the differing columns out with tables[%d].exclude_columns), or give one of them a rule of its own before this one", r.rule.index, a.QualifiedName(), b.QualifiedName(), r.TargetName(), diff, r.rule.index)
}

// shapeDiff says how two shapes differ ("" when they do not), a and b naming them.
func shapeDiff(sa, sb fanInShape, a, b string) string {
	if !slices.Equal(sa.key, sb.key) {
		return fmt.Sprintf("the key of %s is (%s), of %s (%s)", a, strings.Join(sa.key, ", "), b, strings.Join(sb.key, ", "))
	}
	names := make([]string, 0, len(sa.cols)+len(sb.cols))
	for l := range sa.cols {
		names = append(names, l)
	}
	for l := range sb.cols {
		if _, ok := sa.cols[l]; !ok {
			names = append(names, l)
		}
	}
	slices.Sort(names)
	for _, l := range names {
		ca, inA := sa.cols[l]
		cb, inB := sb.cols[l]
		switch {
		case !inA:
			return fmt.Sprintf("column %s is in %s only", cb.name, b)
		case !inB:
			return fmt.Sprintf("column %s is in %s only", ca.name, a)
		case ca.typ != cb.typ || ca.nullable != cb.nullable:
			return fmt.Sprintf("column %s is %s%s in %s, %s%s in %s", ca.name, ca.typ, notNull(ca.nullable), a, cb.typ, notNull(cb.nullable), b)
		}
	}
	return ""
}

// CheckFanInChange refuses a DDL change of a fan-in source table (old, nil for a table
// created, becoming nu) after which the one target table could not hold the rows of the
// other source tables merged into it (others, their current definitions): a key that
// differs from theirs, a column they still write dropped, a column's type or NULL
// changed to differ from theirs, a column added NOT NULL without a constant default
// (their rows would lack it). Differences the change does not make (a column another
// source table got first) are left alone: the target already holds them. So the first
// source table's ADD COLUMN passes and changes the target, and the same ALTER of the
// others passes and finds it done.
func (r *Route) CheckFanInChange(old, nu *schema.Table, others []*schema.Table, typeOf TypeOf) error {
	after, err := r.shapeOf(nu, typeOf)
	if err != nil {
		return err
	}
	var before fanInShape
	if old != nil {
		if before, err = r.shapeOf(old, typeOf); err != nil {
			return err
		}
	}
	name := nu.QualifiedName()
	refuse := func(other, what string) error {
		return fmt.Errorf("tables[%d]: fan-in target %s holds one definition for the source tables of %q, and after this change of %s it could not hold the rows of %s: %s; make the change to each source table at a time when the target can hold both shapes (a nullable column or one with a constant default first, dropped columns listed in tables[%d].exclude_columns first), or align the source tables and take a new snapshot (replicator snapshot)",
			r.rule.index, r.TargetName(), r.rule.source, name, other, what, r.rule.index)
	}
	for _, od := range others {
		n := od.QualifiedName()
		o, err := r.shapeOf(od, typeOf)
		if err != nil {
			return err
		}
		if (old == nil || !slices.Equal(before.key, after.key)) && !slices.Equal(o.key, after.key) {
			return refuse(n, fmt.Sprintf("%s would have key (%s), %s has (%s)", name, strings.Join(after.key, ", "), n, strings.Join(o.key, ", ")))
		}
		for l, c := range o.cols {
			if _, kept := after.cols[l]; !kept {
				if _, had := before.cols[l]; had || old == nil {
					return refuse(n, fmt.Sprintf("%s would lack column %s, which %s still writes", name, c.name, n))
				}
			}
		}
		for l, c := range after.cols {
			prev, had := before.cols[l]
			oc, theirs := o.cols[l]
			switch {
			case had && prev == c:
				continue
			case theirs && (oc.typ != c.typ || oc.nullable != c.nullable):
				return refuse(n, fmt.Sprintf("column %s would be %s%s in %s, %s%s in %s", c.name, c.typ, notNull(c.nullable), name, oc.typ, notNull(oc.nullable), n))
			case !theirs && !c.nullable && !c.defaulted:
				return refuse(n, fmt.Sprintf("column %s %s NOT NULL without a constant default would be added for %s, and %s has no such column to fill it", c.name, c.typ, name, n))
			}
		}
	}
	return nil
}

func notNull(nullable bool) string {
	if nullable {
		return ""
	}
	return " NOT NULL"
}

// FanInFor returns the route of source table n when its rule merges several source tables
// into one target (FanIn), nil otherwise.
func (s *Set) FanInFor(n ddl.TableName) *Route {
	rt := s.For(n.Schema, n.Name)
	if rt == nil || rt.FanIn() == "" {
		return nil
	}
	return rt
}

// FanInPeers returns the definitions cat tracks of the other source tables merged into
// rt's target with name, in name order: what CheckFanInChange checks a change of name
// against.
func (s *Set) FanInPeers(rt *Route, cat ddl.Catalog, name ddl.TableName) []*schema.Table {
	var others []*schema.Table
	for n, def := range cat {
		if n == name || def == nil {
			continue
		}
		if o := s.FanInFor(n); o != nil && o.Index() == rt.Index() && o.TargetName() == rt.TargetName() {
			others = append(others, def)
		}
	}
	slices.SortFunc(others, func(a, b *schema.Table) int { return strings.Compare(a.QualifiedName(), b.QualifiedName()) })
	return others
}

package elastic

import (
	"context"
	"fmt"

	"github.com/replicator/replicator/crashpoint"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/schema"
)

// What a schema change does to the indexes. Columns need nothing at once (a new column's
// field is mapped when a document first carries it; Elasticsearch cannot drop or retype a
// mapped field), but statements about whole tables do:
//
//   - TRUNCATE TABLE: a new, empty generation of the table's index (same mapping and
//     settings) and the alias moved to it; readers see every document until the swap and
//     none after, never part of them.
//   - RENAME TABLE (and ALTER TABLE ... RENAME): the alias moves to the new name's, in one
//     request for all the statement's pairs, so a swap through a temporary name works.
//     A table renamed into or out of the selected set is refused, as on PostgreSQL.
//   - DROP TABLE, DROP DATABASE, CREATE OR REPLACE TABLE: the table's index is deleted.
//
// An index that several single-table rules name (route.Route.ESIndexShared) cannot be
// emptied, moved or deleted for one of its tables: refused. A fan-in index concerns each
// shard's documents only (fanin.go).

// ddlAction is one change to the indexes, run at Commit in stream order with the batch's
// writes.
type ddlAction struct {
	what string
	run  func(ctx context.Context) error
	// versioned, set instead of run, gets the version of the batch's writes: the
	// documents of a fan-in shard are deleted or moved with it (fanin.go).
	versioned func(ctx context.Context, version int64) error
	// names are the index names an action moves between indexes (RENAME): running it
	// twice would move them back, so runActions records what they stood for before.
	names []string
}

// UntranslatableError is a change the Elasticsearch target cannot apply (the pipeline
// applies [ddl] on_error to it).
type UntranslatableError struct {
	Statement, Reason string
}

func (e *UntranslatableError) Error() string {
	return fmt.Sprintf("cannot apply %s to Elasticsearch: %s", e.Statement, e.Reason)
}

// CheckDDL reports a change the target cannot apply (the pipeline's Options.CheckDDL):
// the stream's reader applies [ddl] on_error to it before it moves past the statement.
func (t *Target) CheckDDL(ch ddl.Change, before ddl.Tables) error {
	_, err := t.ddlActions(ch, before)
	return err
}

// selectedIndex returns the index name (alias) of a source table, or ok false when no
// rule selects it.
func (t *Target) selectedIndex(n ddl.TableName) (alias string, shared, ok bool) {
	rt := t.routes.For(n.Schema, n.Name)
	if rt == nil {
		return "", false, false
	}
	return rt.ESIndex(), rt.ESIndexShared(), true
}

func (t *Target) ddlActions(ch ddl.Change, before ddl.Tables) ([]ddlAction, error) {
	if before == nil {
		before = ddl.Catalog(nil)
	}
	if err := t.documentsDDL(ch); err != nil {
		return nil, err
	}
	if actions, done, err := t.fanInDDL(ch, before); done || err != nil {
		return actions, err
	}
	switch c := ch.(type) {
	case *ddl.TruncateTable:
		alias, shared, ok := t.selectedIndex(c.Name)
		if !ok {
			return nil, nil
		}
		stmt := "TRUNCATE TABLE " + c.Name.String()
		if shared {
			return nil, &UntranslatableError{Statement: stmt, Reason: "index " + alias + " is shared with other tables by their [[tables]] rules, so it cannot be emptied for one of them"}
		}
		def := before.Lookup(c.Name.Schema, c.Name.Name)
		return []ddlAction{{what: stmt, run: func(ctx context.Context) error { return t.truncateIndex(ctx, alias, def) }}}, nil
	case *ddl.DropTables:
		var out []ddlAction
		for _, n := range c.Names {
			if a, err := t.dropAction("DROP TABLE "+n.String(), n); err != nil || a != nil {
				if err != nil {
					return nil, err
				}
				out = append(out, *a)
			}
		}
		return out, nil
	case *ddl.DropDatabase:
		var out []ddlAction
		if cat, ok := before.(ddl.Catalog); ok {
			for n := range cat {
				if n.Schema != c.Name {
					continue
				}
				a, err := t.dropAction("DROP DATABASE "+c.Name, n)
				if err != nil {
					return nil, err
				}
				if a != nil {
					out = append(out, *a)
				}
			}
		}
		return out, nil
	case *ddl.CreateTable:
		if !c.OrReplace {
			return nil, nil
		}
		return t.optional(t.dropAction("CREATE OR REPLACE TABLE "+c.Table.QualifiedName(), ddl.TableName{Schema: c.Table.Schema, Name: c.Table.Name}))
	case *ddl.CreateTableLike:
		if !c.OrReplace {
			return nil, nil
		}
		return t.optional(t.dropAction("CREATE OR REPLACE TABLE "+c.Name.String(), c.Name))
	case *ddl.RenameTables:
		return t.renameActions("RENAME TABLE %s TO %s", c.Pairs)
	case *ddl.AlterTable:
		if rt := t.routes.For(c.Name.Schema, c.Name.Name); rt != nil {
			// Column changes need no action, but one the rule's column transforms cannot
			// follow (a RENAME COLUMN of a renamed or hashed column, an added column named
			// like a metadata field) is refused naming the key, as on PostgreSQL; new
			// fields are mapped from the new definition's view when documents carry them.
			if _, err := rt.Transforms().MapAlter(c.Name.String(), c.Specs); err != nil {
				return nil, err
			}
		}
		for _, s := range c.Specs {
			if r, ok := s.(*ddl.RenameTable); ok {
				return t.renameActions("ALTER TABLE %s RENAME TO %s", []ddl.RenamePair{{From: c.Name, To: r.To}})
			}
		}
	}
	return nil, nil
}

func (t *Target) optional(a *ddlAction, err error) ([]ddlAction, error) {
	if err != nil || a == nil {
		return nil, err
	}
	return []ddlAction{*a}, nil
}

// dropAction deletes a dropped table's index.
func (t *Target) dropAction(stmt string, n ddl.TableName) (*ddlAction, error) {
	alias, shared, ok := t.selectedIndex(n)
	if !ok {
		return nil, nil
	}
	if shared {
		return nil, &UntranslatableError{Statement: stmt, Reason: "index " + alias + " is shared with other tables by their [[tables]] rules, so it cannot be deleted for one of them"}
	}
	return &ddlAction{what: stmt, run: func(ctx context.Context) error {
		if t.cfg.Target.Elasticsearch.OnDrop == "keep" {
			t.log.Info("the index of a dropped table is kept (target.elasticsearch.on_drop = \"keep\")", "table", n.String(), "index", alias)
			return nil
		}
		if err := t.dropName(ctx, alias); err != nil {
			return err
		}
		t.log.Info("deleted the index of a dropped table", "table", n.String(), "index", alias)
		return nil
	}}, nil
}

// aliasMove is one table's index name changing from one alias to another.
type aliasMove struct{ from, to string }

// renameActions moves the aliases the way a sequence of renames leaves the tables: each
// table's final name is worked out first (names used only in between, such as a swap's
// temporary name, need not be selected), then every alias moves in one request.
func (t *Target) renameActions(what string, pairs []ddl.RenamePair) ([]ddlAction, error) {
	var order []ddl.TableName
	origin := map[ddl.TableName]ddl.TableName{}
	for _, p := range pairs {
		o, ok := origin[p.From]
		if !ok {
			o = p.From
		}
		delete(origin, p.From)
		origin[p.To] = o
		order = append(order, p.To)
	}
	var moves []aliasMove
	seen := map[ddl.TableName]bool{}
	for _, final := range order {
		orig, ok := origin[final]
		if !ok || seen[final] {
			continue
		}
		seen[final] = true
		from, fromShared, fromOK := t.selectedIndex(orig)
		to, toShared, toOK := t.selectedIndex(final)
		stmt := fmt.Sprintf(what, orig, final)
		switch {
		case fromOK && !toOK:
			return nil, &UntranslatableError{Statement: stmt, Reason: final.String() + " is not replicated: the table would leave the replicated set"}
		case !fromOK && toOK:
			return nil, &UntranslatableError{Statement: stmt, Reason: orig.String() + " is not replicated: its rows were never copied (select it too, or snapshot " + final.String() + " again)"}
		case !fromOK || from == to:
			continue
		case fromShared || toShared:
			return nil, &UntranslatableError{Statement: stmt, Reason: "index " + from + " or " + to + " is shared with other tables by their [[tables]] rules, so the documents of one table cannot move"}
		}
		moves = append(moves, aliasMove{from: from, to: to})
	}
	if len(moves) == 0 {
		return nil, nil
	}
	var names []string
	for _, m := range moves {
		names = append(names, m.from, m.to)
	}
	return []ddlAction{{what: fmt.Sprintf(what, pairs[0].From, pairs[len(pairs)-1].To), names: names, run: func(ctx context.Context) error { return t.moveAliases(ctx, moves) }}}, nil
}

// truncateIndex empties a table's index by a new generation (the old one's mapping and
// settings) and an alias swap.
func (t *Target) truncateIndex(ctx context.Context, alias string, def *schema.Table) error {
	cur, err := t.resolveName(ctx, alias)
	if err != nil {
		return err
	}
	if !cur.exists() {
		t.log.Info("TRUNCATE TABLE: the table's index does not exist; nothing to empty", "index", alias)
		return nil
	}
	from, err := t.copyOf(ctx, cur.Indices[0])
	if err != nil {
		return err
	}
	concrete, err := t.nextGeneration(ctx, alias)
	if err != nil {
		return err
	}
	if err := t.createConcrete(ctx, concrete, "", def, nil, from); err != nil {
		return err
	}
	// Killed here, the new generation is left with no alias: the next start deletes it
	// (removeUnusedGenerations) and the replay truncates into a generation of its own.
	crashpoint.Hit(crashpoint.ElasticGenerationCreated)
	if err := t.swapAlias(ctx, alias, concrete); err != nil {
		return err
	}
	t.log.Info("emptied the index of a truncated table", "index", alias, "new", concrete, "old", cur.Indices)
	return nil
}

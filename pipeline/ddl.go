package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/tracker"
)

// ddlHandler runs in the reader goroutine, in stream order: it parses each statement and
// moves the tracker on before later rows are decoded (the ordering that matters: rows
// after a DDL are decoded with the definitions after it). What it makes of a statement,
// a *ddl.SchemaChange with the definitions each change is translated against, travels
// with the DDL event to the worker; the target translates and applies it there, in the
// batch transaction.
type ddlHandler struct {
	cfg     *config.Config
	tr      *tracker.Tracker
	log     *slog.Logger
	refresh func(ctx context.Context, db, table string) (*schema.Table, error)
	// check is Options.CheckDDL: a change the target cannot translate goes through
	// onError here, before the tracker moves and before the rows after it are decoded.
	check func(ch ddl.Change, before ddl.Tables) error
	// copies: the target copies tables online, and 'run' asked for a copy of every
	// selected table the target lacked when it started.
	copies bool
}

func (h *ddlHandler) handle(ctx context.Context, db, query string, pos change.Position, gtid string) (*ddl.SchemaChange, error) {
	p := ddl.Parser{Flavor: ddl.Flavor(pos.Flavor)}
	changes, err := p.Parse(query, db)
	if err != nil {
		if !h.mayConcern(db, query) {
			h.log.Debug("unparsed statement outside the selected tables", "query", abbreviate(query), "gtid", gtid)
			return nil, nil
		}
		return nil, h.onError(ctx, db, query, gtid, err)
	}
	var sc *ddl.SchemaChange
	for _, ch := range changes {
		if ch, err = h.withoutTemporary(ctx, ch, gtid); err != nil {
			return nil, err
		}
		if ch == nil {
			continue
		}
		touched, dbs := ddl.Touched(ch)
		if !h.concerns(touched, dbs) {
			continue
		}
		if sc == nil {
			sc = &ddl.SchemaChange{Query: query, Schema: db, GTID: gtid}
		}
		if done, err := h.provisional(ctx, touched, sc, gtid); done || err != nil {
			if err != nil {
				return nil, err
			}
			continue
		}
		if left, err := h.leftToCopy(ctx, ch, touched, gtid); left || err != nil {
			if err != nil {
				return nil, err
			}
			continue
		}
		before := h.tr.Catalog()
		if h.check != nil {
			if err := h.check(ch, before); err != nil {
				return nil, h.onError(ctx, db, query, gtid, err)
			}
		}
		if err := h.tr.Apply(ch); err != nil {
			return nil, h.onError(ctx, db, query, gtid, err)
		}
		sc.Steps = append(sc.Steps, ddl.Step{Change: ch, Before: before})
		for _, n := range touched {
			if !h.tr.Selected(n.Schema, n.Name) {
				continue
			}
			if def := h.tr.Lookup(n.Schema, n.Name); def != nil {
				sc.Tables = append(sc.Tables, def)
			} else {
				sc.Dropped = append(sc.Dropped, n.String())
			}
		}
	}
	if sc != nil {
		h.log.Info("DDL", "schema", db, "query", abbreviate(query), "gtid", gtid, "tables", len(sc.Tables), "dropped", len(sc.Dropped))
	}
	return sc, nil
}

// provisional handles a change whose selected tables all have a provisional definition
// (read from the source's current schema for an online copy, which may already hold the
// change): the change is not applied, the definitions are read again from the source and
// carried in sc, so the copy starts again with them. done reports that it did so.
func (h *ddlHandler) provisional(ctx context.Context, touched []ddl.TableName, sc *ddl.SchemaChange, gtid string) (done bool, err error) {
	var names []ddl.TableName
	for _, n := range touched {
		if !h.tr.Selected(n.Schema, n.Name) {
			continue
		}
		if !h.tr.Provisional(n.Schema, n.Name) {
			return false, nil
		}
		names = append(names, n)
	}
	if len(names) == 0 || h.refresh == nil {
		return false, nil
	}
	for _, n := range names {
		def, err := h.refresh(ctx, n.Schema, n.Name)
		if err != nil {
			return false, err
		}
		h.log.Info("DDL on a table being copied online with the source's current definition: the copy starts again with it", "table", n.String(), "gtid", gtid)
		if def == nil {
			sc.Dropped = append(sc.Dropped, n.String())
			continue
		}
		if err := h.tr.PutProvisional(def); err != nil {
			return false, err
		}
		sc.Tables = append(sc.Tables, h.tr.Lookup(n.Schema, n.Name))
	}
	return true, nil
}

// leftToCopy leaves out an ALTER or TRUNCATE of a selected table the stream tracks no
// definition of and that the source has now: the target lacks it, so 'run' asked for its
// online copy at start, which reads its definition and rows from the source.
func (h *ddlHandler) leftToCopy(ctx context.Context, ch ddl.Change, touched []ddl.TableName, gtid string) (bool, error) {
	if !h.copies {
		return false, nil
	}
	switch ch.(type) {
	case *ddl.AlterTable, *ddl.TruncateTable:
	default:
		return false, nil
	}
	for _, n := range touched {
		if !h.tr.Selected(n.Schema, n.Name) || h.tr.Lookup(n.Schema, n.Name) != nil {
			return false, nil
		}
	}
	for _, n := range touched {
		if real, err := h.realAtSource(ctx, n); err != nil || !real {
			return false, err
		}
	}
	h.log.Info("DDL on a selected table the target does not hold yet: left to its online copy", "tables", touched, "gtid", gtid)
	return true, nil
}

// withoutTemporary leaves out of a change what concerns tables that are not tables of the
// source's schema: temporary tables. MariaDB writes RENAME TABLE of a temporary table to the
// binary log even in ROW format (and ALTER, TRUNCATE, CREATE INDEX of one when the
// session's binlog_format is STATEMENT or MIXED), with nothing in the event to tell it
// from a real table. What is known:
//
//   - the tracker holds every real selected table, so a statement about a tracked name is
//     about a real table;
//   - a real table is never renamed onto a name that exists, so renaming an untracked
//     table onto a tracked name is renaming a temporary table (which may shadow one);
//   - the source's current schema, which may be ahead of the statement: a selected name
//     the statement leaves to an untracked table that is a base table at the source now is
//     taken to be real, and replication stops as before (its rows were never copied);
//     otherwise the change is left out and the name marked in the tracker, so that rows
//     arriving for it later (a temporary table never has row events) stop replication
//     instead of going to a table the target does not have.
//
// It returns nil when nothing of the change is left.
func (h *ddlHandler) withoutTemporary(ctx context.Context, ch ddl.Change, gtid string) (ddl.Change, error) {
	tracked := func(n ddl.TableName) bool { return h.tr.Lookup(n.Schema, n.Name) != nil }
	switch c := ch.(type) {
	case *ddl.RenameTables:
		// Pairs apply in order: a swap moves tracked tables through untracked names.
		moved := map[ddl.TableName]bool{}
		known := func(n ddl.TableName) bool {
			if k, ok := moved[n]; ok {
				return k
			}
			return tracked(n)
		}
		kept := &ddl.RenameTables{IfExists: c.IfExists}
		for _, p := range c.Pairs {
			keep := known(p.From)
			if !keep && !known(p.To) && h.tr.Selected(p.To.Schema, p.To.Name) {
				real, err := h.realAtSource(ctx, p.To)
				if err != nil {
					return nil, err
				}
				keep = real
			}
			if !keep {
				h.log.Info("RENAME TABLE of a table without a tracked definition, taken for a temporary table: left out",
					"from", p.From.String(), "to", p.To.String(), "gtid", gtid)
				if known(p.To) {
					h.tr.Unmark(p.From) // a temporary table now shadowing a tracked one
				} else {
					h.tr.MarkUnknown(p.From, p.To, fmt.Sprintf("RENAME TABLE %s TO %s at GTID %s was taken for the rename of a temporary table", p.From, p.To, gtid))
				}
				continue
			}
			moved[p.To], moved[p.From] = known(p.From), false
			kept.Pairs = append(kept.Pairs, p)
		}
		if len(kept.Pairs) == 0 {
			return nil, nil
		}
		return kept, nil
	case *ddl.AlterTable:
		if tracked(c.Name) || c.IfExists {
			return ch, nil
		}
		final := c.Name
		for _, s := range c.Specs {
			if r, ok := s.(*ddl.RenameTable); ok {
				final = r.To
			}
		}
		if !h.tr.Selected(c.Name.Schema, c.Name.Name) && !h.tr.Selected(final.Schema, final.Name) {
			return ch, nil
		}
		if real, err := h.realAtSource(ctx, final); err != nil || real {
			return ch, err
		}
		h.log.Info("ALTER TABLE of a table without a tracked definition that the source does not have, taken for a temporary table: left out",
			"table", c.Name.String(), "gtid", gtid)
		if final != c.Name {
			h.tr.MarkUnknown(c.Name, final, fmt.Sprintf("ALTER TABLE %s RENAME TO %s at GTID %s was taken for the rename of a temporary table", c.Name, final, gtid))
		}
		return nil, nil
	case *ddl.TruncateTable:
		if tracked(c.Name) || !h.tr.Selected(c.Name.Schema, c.Name.Name) {
			return ch, nil
		}
		if real, err := h.realAtSource(ctx, c.Name); err != nil || real {
			return ch, err
		}
		h.log.Info("TRUNCATE of a table without a tracked definition that the source does not have, taken for a temporary table: left out",
			"table", c.Name.String(), "gtid", gtid)
		return nil, nil
	}
	return ch, nil
}

// realAtSource reports whether a table exists at the source now (as a base table, which
// a temporary table never is to another session). Without a way to look it is taken to
// exist, which keeps a statement in.
func (h *ddlHandler) realAtSource(ctx context.Context, n ddl.TableName) (bool, error) {
	if h.refresh == nil {
		return true, nil
	}
	def, err := h.refresh(ctx, n.Schema, n.Name)
	if err != nil {
		return false, fmt.Errorf("look up %s at the source: %w", n, err)
	}
	return def != nil, nil
}

// concerns reports whether a change touches a selected or tracked table, or a database a
// rule selects tables of.
func (h *ddlHandler) concerns(touched []ddl.TableName, dbs []string) bool {
	for _, n := range touched {
		if h.tr.Selected(n.Schema, n.Name) || h.tr.Lookup(n.Schema, n.Name) != nil {
			return true
		}
	}
	for _, d := range dbs {
		if h.tr.SelectedDB(d) {
			return true
		}
	}
	return false
}

var tableRef = regexp.MustCompile("(?i)\\b(?:TABLE|TABLES|INTO|ON)\\s+(?:IF\\s+(?:NOT\\s+)?EXISTS\\s+)?(`[^`]+`|[\\w$]+)(?:\\s*\\.\\s*(`[^`]+`|[\\w$]+))?")

// namedTables finds the tables an unparseable statement names, as best a pattern can.
func namedTables(db, query string) []ddl.TableName {
	var out []ddl.TableName
	for _, m := range tableRef.FindAllStringSubmatch(query, -1) {
		a, b := strings.Trim(m[1], "`"), strings.Trim(m[2], "`")
		if b == "" {
			out = append(out, ddl.TableName{Schema: db, Name: a})
		} else {
			out = append(out, ddl.TableName{Schema: a, Name: b})
		}
	}
	return out
}

func (h *ddlHandler) mayConcern(db, query string) bool {
	return h.concerns(namedTables(db, query), nil)
}

// onError applies [ddl] on_error: "stop" fails with what to do; "skip" warns and reloads
// the named tables' definitions from the source's current schema.
func (h *ddlHandler) onError(ctx context.Context, db, query, gtid string, cause error) error {
	if h.cfg.DDL.OnError != "skip" {
		return fmt.Errorf("DDL at GTID %s in schema %q cannot be replicated: %v; statement: %s; to continue, set [ddl] on_error = \"skip\" (apply the change to the target by hand first if it matters) and restart",
			gtid, db, cause, abbreviate(query))
	}
	h.log.Warn("DDL skipped (ddl.on_error = skip); reloading the definitions it names from the source", "schema", db, "query", abbreviate(query), "gtid", gtid, "error", cause)
	for _, n := range namedTables(db, query) {
		if !h.tr.Selected(n.Schema, n.Name) {
			continue
		}
		def, err := h.refresh(ctx, n.Schema, n.Name)
		if err != nil {
			return err
		}
		if def != nil {
			if err := h.tr.Put(def); err != nil {
				return err
			}
		}
	}
	return nil
}

func abbreviate(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 300 {
		return q[:300] + "..."
	}
	return q
}

// SchemaFollower returns what the stream's DDL handler makes of each statement, moving tr
// on, for stream consumers without a target (replicator events): nil when the statement
// concerns no selected table or was skipped under ddl.on_error = "skip", for which
// refresh reloads a definition from the source. Called in the reader goroutine, in
// stream order, from a source.StreamOptions DDL callback.
func SchemaFollower(cfg *config.Config, tr *tracker.Tracker, log *slog.Logger,
	refresh func(ctx context.Context, db, table string) (*schema.Table, error)) func(ctx context.Context, db, query string, pos change.Position, gtid string) (*ddl.SchemaChange, error) {
	h := &ddlHandler{cfg: cfg, tr: tr, log: log, refresh: refresh}
	return h.handle
}

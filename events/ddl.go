package events

import (
	"context"
	"log/slog"
	"sort"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/logging"
	"github.com/replicator/replicator/pipeline"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/tracker"
)

// ddlChange is the DDL payload of the events stream.
type ddlChange struct {
	*ddl.SchemaChange
	// Reloaded: the tracker could not apply the statement to the definitions it held, so
	// the definitions of the tables it names were read again from the source's current
	// schema (see followDDL).
	Reloaded bool
}

// followDDL returns the stream's DDL callback: pipeline.SchemaFollower moving tr on, as in
// `replicator run`, except that a statement the tracker cannot apply never stops the
// run (ddl.on_error is treated as "skip", with its warning): nothing is written anywhere,
// so there is nothing to protect, and the usual cause here is a replay from an older
// --from of a change that the seeded (current) definitions already include, such as an
// ADD COLUMN of a column that exists. The follower then reloads the named tables from the
// source; the statement is still printed, marked "reloaded", with those definitions.
func followDDL(cfg *config.Config, tr *tracker.Tracker, log *slog.Logger,
	refresh func(ctx context.Context, db, table string) (*schema.Table, error)) func(ctx context.Context, db, query string, pos change.Position, gtid string) (*ddlChange, error) {
	skip := *cfg
	skip.DDL.OnError = "skip"
	// The statements are printed; the follower's Info line about each would repeat them
	// on stderr, so its Info becomes Debug (its warnings stay).
	follow := pipeline.SchemaFollower(&skip, tr, logging.Foreign(log, "ddl"), refresh)
	return func(ctx context.Context, db, query string, pos change.Position, gtid string) (*ddlChange, error) {
		before := tr.All()
		sc, err := follow(ctx, db, query, pos, gtid)
		if err != nil {
			return nil, err
		}
		if sc != nil {
			return &ddlChange{SchemaChange: sc}, nil
		}
		// No payload: the statement concerns no selected table, or it was skipped and
		// the definitions it names were reloaded (replaced, so their pointers changed).
		sc = &ddl.SchemaChange{Query: query, Schema: db, GTID: gtid}
		was := map[string]*schema.Table{}
		for _, t := range before {
			was[t.QualifiedName()] = t
		}
		for _, t := range tr.All() {
			if was[t.QualifiedName()] != t {
				sc.Tables = append(sc.Tables, t)
			}
			delete(was, t.QualifiedName())
		}
		for name := range was {
			sc.Dropped = append(sc.Dropped, name)
		}
		sort.Strings(sc.Dropped)
		if len(sc.Tables) == 0 && len(sc.Dropped) == 0 {
			return nil, nil
		}
		return &ddlChange{SchemaChange: sc, Reloaded: true}, nil
	}
}

package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/replicator/replicator/applier/elastic/compose"
	"github.com/replicator/replicator/applier/elastic/esdoc"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/fault"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// Target is an Elasticsearch cluster receiving one index per replicated table. Every
// write carries an external version derived from the source position (see Version), so
// the bulk API's lack of transactions costs nothing: replays are refused or identical.
type Target struct {
	es  *elasticsearch.Client
	cfg *config.Config
	// routes say where each source table goes and which of its columns.
	routes *route.Set
	log    *slog.Logger
	state  *State
	opts   esdoc.Options
	pol    mapping.Policy // the [mapping] rules of cfg, for every field mapping and encoder
	// retryBase is the first pause before a bulk request or item is sent again.
	retryBase time.Duration
	// bulk are the bulk request sizes (target.elasticsearch.bulk_max_bytes).
	bulk bulkLimits

	mu sync.Mutex
	// snapPos and snapVersion are the snapshot's position and the version its documents
	// carry, known after Start or LoadProgress.
	snapPos     *change.Position
	snapVersion int64
	// plans are the compiled write plans of the streaming phase, per table version.
	plans map[*schema.Table]*tablePlan
	// lockLost is set when the instance lease (Lock) was taken over.
	lockLost *atomic.Bool
	// epoch counts alias moves and index deletions (bumpEpoch): a plan compiled under an
	// older epoch checks its index again before it writes.
	epoch int
	// writes are the bulk action targets of writeTarget by alias, and of genWriteTarget
	// by generation.
	writes map[string]cachedWrite
	// copies are the online copies requested or under way (copy.go); nil until read.
	copies map[string]*liveCopy
	// docSpecs are the [[documents]] declarations resolved (documents.go); nil until
	// first needed.
	docSpecs []*compose.Spec
	// pending are the foreign key actions' touches a stopped run stored and did not
	// compose (documents_pending.go), read once (pendingRead); pendingStored says this
	// run stored some since they were last removed.
	pending                    []docTouch
	pendingRead, pendingStored bool
	// docDest are the composed indexes' write destinations (composedDest).
	docDest map[string]destOf
}

// tablePlan is how one table version is written: compiled once, used for every batch.
type tablePlan struct {
	index     string
	indexJSON []byte // the index name as a JSON string, for action lines
	enc       *esdoc.Encoder
	def       *schema.Table
	// epoch is the Target's epoch the plan was compiled under.
	epoch int
	// fixed: the plan writes one concrete index (an online copy's generation, through its
	// write alias), whatever aliases do.
	fixed bool
	// soft: the table's rule keeps deleted rows marked (deletes = "soft", see deletes.go).
	soft bool
}

// Open connects to the cluster, learns which field types it has, and makes sure the
// state index exists.
func Open(ctx context.Context, cfg *config.Config, routes *route.Set, log *slog.Logger) (*Target, error) {
	return open(ctx, cfg, routes, log, true)
}

// OpenReadOnly connects to the cluster without creating the state index, for commands
// that only read it ('status'); a missing state index reads as no checkpoint.
func OpenReadOnly(ctx context.Context, cfg *config.Config, routes *route.Set, log *slog.Logger) (*Target, error) {
	return open(ctx, cfg, routes, log, false)
}

func open(ctx context.Context, cfg *config.Config, routes *route.Set, log *slog.Logger, ensure bool) (*Target, error) {
	es, err := NewClient(cfg.Target.Elasticsearch, WithRetryLog(log))
	if err != nil {
		return nil, err
	}
	info, err := Info(ctx, es)
	if err != nil {
		if errors.Is(err, fault.ErrCertificate) || errors.Is(err, fault.ErrAccessDenied) {
			return nil, err // it names the setting to fix already
		}
		return nil, fmt.Errorf("%w (check target.elasticsearch.addresses and credentials; 'replicator check' tells more)", err)
	}
	t := &Target{es: es, cfg: cfg, routes: routes, log: log, pol: mapping.NewPolicy(cfg.Mapping), plans: map[*schema.Table]*tablePlan{}, retryBase: 250 * time.Millisecond,
		bulk: newBulkLimits(cfg.Target.Elasticsearch.BulkMaxBytes), state: &State{es: es, index: cfg.State.Index, name: cfg.State.Name}}
	t.opts.UnsignedLong = t.hasFieldType(ctx, "unsigned_long")
	log.Debug("Elasticsearch target", "version", info.Version.Number, "cluster", info.ClusterName, "unsigned_long", t.opts.UnsignedLong)
	if !ensure {
		if err := t.state.openExisting(ctx); err != nil {
			return nil, err
		}
		return t, nil
	}
	if err := t.state.ensure(ctx); err != nil {
		return nil, err
	}
	return t, nil
}

// hasFieldType asks the cluster whether it knows a field type, by simulating an index
// template that uses it (no side effects). Without the privilege to simulate, the answer
// is no, which selects the mapping that works everywhere.
func (t *Target) hasFieldType(ctx context.Context, typ string) bool {
	body, _ := json.Marshal(map[string]any{
		"index_patterns": []string{"replicator-probe-" + t.cfg.State.Name},
		"template":       map[string]any{"mappings": map[string]any{"properties": map[string]any{"f": map[string]any{"type": typ}}}},
	})
	_, err := call(ctx, t.es, http.MethodPost, "/_index_template/_simulate", nil, body, nil)
	if err != nil && !isStatus(err, http.StatusBadRequest) {
		t.log.Warn("could not ask the cluster for field type "+typ+"; mapping without it", "error", err)
	}
	return err == nil
}

// Close implements the command's target interface; the HTTP client holds nothing that
// needs closing.
func (t *Target) Close() {}

// route returns the route of a source table.
func (t *Target) route(src *schema.Table) (*route.Route, error) {
	rt := t.routes.For(src.Schema, src.Name)
	if rt == nil {
		return nil, fmt.Errorf("table %s is not selected by any [[tables]] rule", src.QualifiedName())
	}
	return rt, nil
}

// indexOf returns the index a source table is written to.
func (t *Target) indexOf(src *schema.Table) (string, error) {
	rt, err := t.route(src)
	if err != nil {
		return "", err
	}
	return rt.ESIndex(), nil
}

// Checkpoint returns the stored position; streaming is true once the snapshot completed.
func (t *Target) Checkpoint(ctx context.Context) (pos change.Position, streaming, found bool, err error) {
	cp, err := t.state.checkpoint(ctx)
	if err != nil || cp == nil {
		return change.Position{}, false, false, err
	}
	pos = cp.position()
	if pos.Seq == 0 {
		// A checkpoint of an older version: the transaction counter starts at the
		// version its writes carried.
		v, err := Version(pos)
		if err != nil {
			return change.Position{}, false, false, err
		}
		pos.Seq = uint64(v)
	}
	return pos, cp.Phase == PhaseStreaming, true, nil
}

// Definitions returns the table definitions stored with the snapshot, for the schema
// tracker.
func (t *Target) Definitions(ctx context.Context) ([]*schema.Table, error) {
	_, schemas, err := t.state.tables(ctx)
	if err != nil {
		return nil, err
	}
	var cpVersion int64
	if cp, err := t.state.checkpoint(ctx); err != nil {
		return nil, err
	} else if cp != nil {
		if cpVersion, err = PositionVersion(cp.position()); err != nil {
			return nil, err
		}
	}
	out := make([]*schema.Table, 0, len(schemas))
	for name, sd := range schemas {
		def, seen := sd.Definition.Table, false
		for _, h := range sd.History {
			if h.Version <= cpVersion {
				def, seen = h.Table, true
			}
		}
		if def == nil {
			if seen || len(sd.History) > 0 {
				// Dropped, or created by a batch whose checkpoint a crash kept from
				// being stored: the table does not exist at the checkpoint yet.
				continue
			}
			return nil, fmt.Errorf("stored definition of %s is empty", name)
		}
		out = append(out, def)
	}
	return out, nil
}

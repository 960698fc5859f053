//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// targetHarness is what a scenario needs of one target type, so that a scenario written
// once runs against PostgreSQL and Elasticsearch alike (forEachTarget). Each harness owns
// a private namespace on its server (a fresh PostgreSQL database, an index prefix with its
// own state index) and a binlog server_id of its own, so harnesses never see each other.
// A scenario that asserts more than rows (a PostgreSQL index, an Elasticsearch mapping)
// reaches the concrete type with a type switch.
type targetHarness interface {
	// Name is the subtest's name: "postgres" or "elasticsearch".
	Name() string
	// DB gives a source database name of the scenario's base name for this target, so the
	// subtests of one scenario can run side by side.
	DB(base string) string
	// Config renders a configuration that replicates every table of the source database db
	// into this target; extra (sections with their own headers) is appended verbatim.
	Config(db, extra string) string
	// Checkpoint reads the stored checkpoint of the default state name.
	Checkpoint(t *testing.T) (phase, gtid string, found bool)
	// WaitCaughtUp waits until the streaming checkpoint covers the source's current
	// position and returns how long that took; p's exit fails the test early.
	WaitCaughtUp(t *testing.T, my *client.Conn, p *proc, timeout time.Duration) time.Duration
	// AssertTableEqual compares a source table with its copy row by row and value by value
	// under the target's documented mapping, and returns the source's row count.
	AssertTableEqual(t *testing.T, my *client.Conn, db, table string) int
	// Count is the number of rows (documents) the target holds for a source table.
	Count(t *testing.T, db, table string) int
}

// targetKinds names the target types every scenario runs against, in order:
// REPLICATOR_TARGETS (comma-separated) narrows them, e.g. "elasticsearch" for the
// Elasticsearch 9 pass of test.sh, which has no use for the PostgreSQL subtests.
func targetKinds() []string {
	all := []string{"postgres", "elasticsearch"}
	only := os.Getenv("REPLICATOR_TARGETS")
	if only == "" {
		return all
	}
	var kinds []string
	for _, k := range all {
		if slices.Contains(strings.Split(only, ","), k) {
			kinds = append(kinds, k)
		}
	}
	return kinds
}

// forEachTarget runs scenario as one subtest per target type, each with a fresh harness,
// side by side: the subtests of one scenario own disjoint source databases (tg.DB), target
// namespaces and server ids, and a top-level test runs alone, so nothing else that changes
// server globals or restarts servers overlaps them.
func forEachTarget(t *testing.T, scenario func(t *testing.T, tg targetHarness)) {
	t.Helper()
	for _, kind := range targetKinds() {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			scenario(t, newTarget(t, kind))
		})
	}
}

// forEachTargetSerial is forEachTarget one target after the other, for scenarios whose
// subtests share source state (one source database, the whole source position).
func forEachTargetSerial(t *testing.T, scenario func(t *testing.T, tg targetHarness)) {
	t.Helper()
	for _, kind := range targetKinds() {
		t.Run(kind, func(t *testing.T) { scenario(t, newTarget(t, kind)) })
	}
}

// newTarget makes a fresh harness of one of targetKinds, named after t.
func newTarget(t *testing.T, kind string) targetHarness {
	t.Helper()
	switch kind {
	case "postgres":
		return newPGHarness(t)
	case "elasticsearch":
		return newESHarness(t)
	}
	t.Fatalf("unknown target kind %q", kind)
	return nil
}

// serverIDFor derives a binlog server_id from a test's name: replicators streaming at the
// same time with one server_id would disconnect each other. The range stays clear of the
// servers (1, 2) and of the fixed ids single tests use (below 10000).
func serverIDFor(name string) int {
	h := fnv.New32a()
	h.Write([]byte(name))
	return 100000 + int(h.Sum32()%1_000_000_000)
}

// pgHarness is a PostgreSQL target: a fresh database named after the test.
type pgHarness struct {
	url      string
	pg       *pgx.Conn
	serverID int
}

var _ targetHarness = (*pgHarness)(nil)

// newPGHarness creates the test's target database.
func newPGHarness(t *testing.T) *pgHarness {
	t.Helper()
	url := freshPGDatabase(t)
	return &pgHarness{url: url, pg: pgConnect(t, url), serverID: serverIDFor(t.Name())}
}

func (h *pgHarness) Name() string { return "postgres" }

func (h *pgHarness) DB(base string) string { return base + "_pg" }

func (h *pgHarness) Config(db, extra string) string {
	return withServerID(configText("replicator", mysqlReplPass, h.url, fmt.Sprintf("[[tables]]\nsource = \"%s.*\"\n%s", db, extra)), h.serverID)
}

func (h *pgHarness) Checkpoint(t *testing.T) (phase, gtid string, found bool) {
	t.Helper()
	err := h.pg.QueryRow(context.Background(), "SELECT phase, gtid FROM _replicator.checkpoint WHERE name = 'default'").Scan(&phase, &gtid)
	var pgErr *pgconn.PgError
	if errors.Is(err, pgx.ErrNoRows) || errors.As(err, &pgErr) && pgErr.Code == "42P01" { // no state yet
		return "", "", false
	}
	if err != nil {
		t.Fatalf("read checkpoint: %v", err)
	}
	return phase, gtid, true
}

func (h *pgHarness) WaitCaughtUp(t *testing.T, my *client.Conn, p *proc, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	waitCaughtUp(t, my, h.pg, p, timeout)
	return time.Since(start)
}

func (h *pgHarness) AssertTableEqual(t *testing.T, my *client.Conn, db, table string) int {
	t.Helper()
	return assertTableEqual(t, my, h.pg, db, table, db, table)
}

func (h *pgHarness) Count(t *testing.T, db, table string) int {
	t.Helper()
	var n int
	if err := h.pg.QueryRow(context.Background(), "SELECT count(*) FROM "+pgx.Identifier{db, table}.Sanitize()).Scan(&n); err != nil {
		t.Fatalf("count %s.%s: %v", db, table, err)
	}
	return n
}

// esHarness is an Elasticsearch target: an index prefix and state index named after the
// test.
type esHarness struct {
	*esTarget
	serverID int
}

var _ targetHarness = (*esHarness)(nil)

// newESHarness removes what an earlier run of the test left under its prefix, and again
// when the test ends.
func newESHarness(t *testing.T) *esHarness {
	t.Helper()
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '-'
	}, strings.ToLower(t.Name()))
	h := &esHarness{esTarget: newESTarget(t, name), serverID: serverIDFor(t.Name())}
	t.Cleanup(func() {
		if !t.Failed() { // a failed test's documents are left to look at
			h.cleanup(t)
		}
	})
	return h
}

func (h *esHarness) Name() string { return "elasticsearch" }

func (h *esHarness) DB(base string) string { return base + "_es" }

func (h *esHarness) Config(db, extra string) string {
	return withServerID(h.config(db, extra), h.serverID)
}

func (h *esHarness) Checkpoint(t *testing.T) (phase, gtid string, found bool) {
	t.Helper()
	return h.checkpoint(t)
}

func (h *esHarness) WaitCaughtUp(t *testing.T, my *client.Conn, p *proc, timeout time.Duration) time.Duration {
	t.Helper()
	return h.waitCaughtUp(t, my, p, timeout)
}

func (h *esHarness) AssertTableEqual(t *testing.T, my *client.Conn, db, table string) int {
	t.Helper()
	return h.assertIndexEqual(t, my, db, table)
}

func (h *esHarness) Count(t *testing.T, db, table string) int {
	t.Helper()
	return h.count(t, h.index(db, table))
}

// snapshotChunks reads a snapshot's progress in the target: the chunks copied, and the
// chunks planned (0 where the target stores only the chunks done: Elasticsearch).
func snapshotChunks(t *testing.T, tg targetHarness) (done, planned int) {
	t.Helper()
	switch h := tg.(type) {
	case *pgHarness:
		if err := h.pg.QueryRow(context.Background(), "SELECT count(*) FILTER (WHERE done), count(*) FROM _replicator.snapshot_chunks").Scan(&done, &planned); err != nil {
			return 0, 0 // the state schema is not there yet
		}
	case *esHarness:
		if code, _ := esDo(t, h.es, esapi.IndicesRefreshRequest{Index: []string{h.state}}); code != 200 {
			return 0, 0
		}
		done = esCount(t, h.es, h.state, `{"term":{"kind":"chunk"}}`)
	default:
		t.Fatalf("no chunk progress for %s", tg.Name())
	}
	return done, planned
}

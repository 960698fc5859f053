// Package metrics holds the replicator's Prometheus metrics and the /metrics, /healthz and
// /readyz endpoints. Every method is safe on a nil *Metrics, so stages need no checks.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one process's metrics and readiness state.
type Metrics struct {
	reg          *prometheus.Registry
	events       prometheus.Counter
	rows         *prometheus.CounterVec
	batches      prometheus.Counter
	batchSeconds prometheus.Histogram
	errors       *prometheus.CounterVec
	reconnects   prometheus.Counter
	snapRows     *prometheus.GaugeVec
	snapEstimate *prometheus.GaugeVec

	mu sync.Mutex
	// phase is "starting", "snapshot" or "streaming".
	phase string
	// opened holds, oldest first, the source time of the first event of every batch read
	// but not yet committed (one being applied, one being built); empty when everything
	// read is applied.
	opened     []time.Time
	lastCommit time.Time
}

// New registers the metrics in a registry of their own.
func New() *Metrics {
	m := &Metrics{
		reg:   prometheus.NewRegistry(),
		phase: "starting",
		events: prometheus.NewCounter(prometheus.CounterOpts{Name: "replicator_events_read_total",
			Help: "Binary log events decoded for the selected tables (row changes, commits, DDL)."}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "replicator_rows_applied_total",
			Help: "Rows written to the target after folding, by source table and operation (upsert, delete)."}, []string{"table", "op"}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{Name: "replicator_batches_total",
			Help: "Batches committed with their checkpoint."}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "replicator_batch_seconds",
			Help: "Time from a batch's first write to its commit.", Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12)}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "replicator_errors_total",
			Help: "Errors by kind: transient ones are retried, permanent ones stop the stream."}, []string{"kind"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{Name: "replicator_reconnects_total",
			Help: "Restarts of the stream from the checkpoint after a transient error."}),
		snapRows: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "replicator_snapshot_rows",
			Help: "Rows copied by the snapshot in this process, by table."}, []string{"table"}),
		snapEstimate: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "replicator_snapshot_rows_estimate",
			Help: "The source's row estimate of each table being snapshotted."}, []string{"table"}),
	}
	lag := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "replicator_lag_seconds",
		Help: "Age of the oldest source event read but not yet committed to the target (0 when caught up)."}, m.Lag)
	m.reg.MustRegister(m.events, m.rows, m.batches, m.batchSeconds, m.errors, m.reconnects, m.snapRows, m.snapEstimate, lag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Events counts decoded events.
func (m *Metrics) Events(n int) {
	if m != nil {
		m.events.Add(float64(n))
	}
}

// Opened notes a new batch whose first event has source time t; the oldest uncommitted
// batch sets the lag.
func (m *Metrics) Opened(t time.Time) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.opened = append(m.opened, t)
	m.mu.Unlock()
}

// ResetPending forgets the uncommitted batches (a stream restarting from its checkpoint
// reads them again).
func (m *Metrics) ResetPending() {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.opened = m.opened[:0]
	m.mu.Unlock()
}

// Rows counts rows applied to a table.
func (m *Metrics) Rows(table string, upserts, deletes int) {
	if m == nil {
		return
	}
	if upserts > 0 {
		m.rows.WithLabelValues(table, "upsert").Add(float64(upserts))
	}
	if deletes > 0 {
		m.rows.WithLabelValues(table, "delete").Add(float64(deletes))
	}
}

// Committed records that the oldest open batch, whose first write was at start, committed.
func (m *Metrics) Committed(start time.Time) {
	if m == nil {
		return
	}
	m.batches.Inc()
	m.batchSeconds.Observe(time.Since(start).Seconds())
	m.mu.Lock()
	if len(m.opened) > 0 {
		m.opened = m.opened[1:]
	}
	m.lastCommit = time.Now()
	m.mu.Unlock()
}

// Error counts an error of a kind ("transient", "permanent").
func (m *Metrics) Error(kind string) {
	if m != nil {
		m.errors.WithLabelValues(kind).Inc()
	}
}

// Reconnect counts a restart of the stream.
func (m *Metrics) Reconnect() {
	if m != nil {
		m.reconnects.Inc()
	}
}

// SnapshotProgress sets a table's snapshot counters.
func (m *Metrics) SnapshotProgress(table string, rows, estimate int64) {
	if m == nil {
		return
	}
	m.snapRows.WithLabelValues(table).Set(float64(rows))
	m.snapEstimate.WithLabelValues(table).Set(float64(estimate))
}

// Phase sets what the process is doing: "snapshot" or "streaming".
func (m *Metrics) Phase(p string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.phase = p
	m.mu.Unlock()
}

// Lag returns the replication lag in seconds.
func (m *Metrics) Lag() float64 {
	if m == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.opened) == 0 {
		return 0
	}
	return max(time.Since(m.opened[0]).Seconds(), 0)
}

// ready reports whether the process streams with lag under maxLag, and why not.
func (m *Metrics) ready(maxLag time.Duration) (bool, string) {
	m.mu.Lock()
	phase := m.phase
	m.mu.Unlock()
	if phase != "streaming" {
		return false, "not streaming yet (" + phase + ")"
	}
	if lag := m.Lag(); lag > maxLag.Seconds() {
		return false, fmt.Sprintf("lag %.1fs exceeds %s", lag, maxLag)
	}
	return true, "streaming"
}

// Serve answers HTTP on ln until ctx ends, then closes it.
func (m *Metrics) Serve(ctx context.Context, ln net.Listener, maxLag time.Duration, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, why := m.ready(maxLag)
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintln(w, why)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Info("HTTP listener", "addr", ln.Addr().String(), "endpoints", "/metrics /healthz /readyz")
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
		return nil
	case err := <-done:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

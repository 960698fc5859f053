package main

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/replicator/replicator/metrics"
	"github.com/replicator/replicator/status"
)

// locker is a target that can refuse a second replicator on the same state.
type locker interface {
	Lock(ctx context.Context) (release func(), err error)
}

// errorRecorder is a target that keeps the last error for 'replicator status'.
type errorRecorder interface {
	RecordError(ctx context.Context, msg string) error
}

// statusReader is a target that reports its stored state.
type statusReader interface {
	Status(ctx context.Context) (*status.Target, error)
}

// lockTarget takes the target's instance lock when it has one.
func lockTarget(ctx context.Context, tgt target) (release func(), err error) {
	if l, ok := tgt.(locker); ok {
		return l.Lock(ctx)
	}
	return func() {}, nil
}

// serveHTTP starts the metrics and health listener when http.listen is set; the returned
// function stops it and waits for it.
func serveHTTP(ctx context.Context, env *runEnv, m *metrics.Metrics) (stop func(), err error) {
	if env.cfg.HTTP.Listen == "" {
		return func() {}, nil
	}
	// Listen before anything starts, so a taken port fails the command at once.
	ln, err := net.Listen("tcp", env.cfg.HTTP.Listen)
	if err != nil {
		return nil, fmt.Errorf("http.listen %s: %w", env.cfg.HTTP.Listen, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := m.Serve(ctx, ln, env.cfg.HTTP.ReadyMaxLag.Duration, env.log); err != nil {
			env.log.Error("HTTP listener stopped", "error", err)
		}
	}()
	return func() { cancel(); wg.Wait() }, nil
}

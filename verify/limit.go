package verify

import (
	"context"
	"sync"
	"time"
)

// limiter caps the rows read from the source per second across all workers (a token
// bucket holding at most one second of rows), so verify can run against a production
// server. A nil limiter does not limit.
type limiter struct {
	mu     sync.Mutex
	rate   float64 // rows per second
	tokens float64
	last   time.Time
}

func newLimiter(rowsPerSecond int) *limiter {
	if rowsPerSecond <= 0 {
		return nil
	}
	return &limiter{rate: float64(rowsPerSecond), tokens: float64(rowsPerSecond), last: time.Now()}
}

// take waits until n rows may be read.
func (l *limiter) take(ctx context.Context, n int) error {
	if l == nil || n <= 0 {
		return nil
	}
	l.mu.Lock()
	now := time.Now()
	l.tokens = min(l.rate, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
	l.tokens -= float64(n)
	var wait time.Duration
	if l.tokens < 0 {
		wait = time.Duration(-l.tokens / l.rate * float64(time.Second))
	}
	l.mu.Unlock()
	if wait == 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

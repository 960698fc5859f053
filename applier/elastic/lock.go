package elastic

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replicator/replicator/crashpoint"
	"github.com/replicator/replicator/instance"
)

// Elasticsearch has no session locks, so the instance lock is a lease: a document in the
// state index that the holder renews; another instance may take it over only once it has
// expired. A holder that loses its lease refuses to commit further batches.
const (
	leaseTTL   = 30 * time.Second
	leaseRenew = 10 * time.Second
)

type lockDoc struct {
	Kind      string    `json:"kind"`
	Owner     string    `json:"owner"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	ExpiresAt time.Time `json:"expires_at"`
}

// errLockLost is what commits fail with once the lease was taken over.
var errLockLost = errors.New("lost the instance lock (another replicator took over the lease in the state index): stopping to never write the target twice")

func (s *State) lockID() string { return "lock-" + s.name }

// Lock takes the instance lease in the state index, refusing when another replicator
// holds an unexpired one; the returned function stops renewing and releases it. With the
// lease taken, it deletes the index generations an interrupted process of the same state
// left behind (removeUnusedGenerations).
func (t *Target) Lock(ctx context.Context) (release func(), err error) {
	s := t.state
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	self := instance.Self()
	doc := lockDoc{Kind: "lock", Owner: hex.EncodeToString(b), Host: self.Host, PID: self.PID}
	var cur struct {
		SeqNo       int64   `json:"_seq_no"`
		PrimaryTerm int64   `json:"_primary_term"`
		Found       bool    `json:"found"`
		Source      lockDoc `json:"_source"`
	}
	put := func(ctx context.Context, query url.Values) (int, error) {
		doc.ExpiresAt = time.Now().Add(leaseTTL).UTC()
		body, err := json.Marshal(doc)
		if err != nil {
			return 0, err
		}
		var res struct {
			SeqNo       int64 `json:"_seq_no"`
			PrimaryTerm int64 `json:"_primary_term"`
		}
		code, err := call(ctx, t.es, http.MethodPut, s.docPath(s.lockID()), query, body, &res, http.StatusConflict)
		if err == nil && code < 300 {
			cur.SeqNo, cur.PrimaryTerm = res.SeqNo, res.PrimaryTerm
		}
		return code, err
	}
	// reread loads the lease document into cur and reports whether this process owns it.
	reread := func(ctx context.Context) (ours bool, err error) {
		cur.Found, cur.Source = false, lockDoc{}
		if _, err := call(ctx, t.es, http.MethodGet, s.docPath(s.lockID()), nil, nil, &cur, http.StatusNotFound); err != nil {
			return false, fmt.Errorf("read the instance lock: %w", err)
		}
		return cur.Found && cur.Source.Owner == doc.Owner, nil
	}
	code, err := put(ctx, url.Values{"op_type": {"create"}})
	if err != nil {
		return nil, fmt.Errorf("take the instance lock: %w", err)
	}
	if code == http.StatusConflict {
		ours, err := reread(ctx)
		if err != nil {
			return nil, err
		}
		if ours {
			// The client sent the create again after Elasticsearch applied it (a
			// connection lost before the answer): the lease is this process's already.
			code = http.StatusOK
		}
	}
	if code == http.StatusConflict {
		// An unexpired lease still blocks, unless its holder was a process on this host
		// that no longer exists (a crash: the restart need not wait for the expiry).
		crashed := instance.Process{Host: cur.Source.Host, PID: cur.Source.PID}.Crashed()
		if cur.Found && time.Now().Before(cur.Source.ExpiresAt) && !crashed {
			return nil, fmt.Errorf("another replicator with state.name %q is already running against this target (lease in index %s held by %s pid %d until %s): stop it first, or give this one its own [state] name",
				t.cfg.State.Name, s.index, cur.Source.Host, cur.Source.PID, cur.Source.ExpiresAt.Format(time.RFC3339))
		}
		q := url.Values{"if_seq_no": {strconv.FormatInt(cur.SeqNo, 10)}, "if_primary_term": {strconv.FormatInt(cur.PrimaryTerm, 10)}}
		if code, err = put(ctx, q); err != nil || code == http.StatusConflict {
			return nil, fmt.Errorf("another replicator with state.name %q took the instance lock in index %s at the same moment: %v", t.cfg.State.Name, s.index, err)
		}
	}
	var lost atomic.Bool
	t.lockLost = &lost
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(leaseRenew)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				crashpoint.Hit(crashpoint.ElasticLeaseRenewal)
				q := url.Values{"if_seq_no": {strconv.FormatInt(cur.SeqNo, 10)}, "if_primary_term": {strconv.FormatInt(cur.PrimaryTerm, 10)}}
				rctx, cancel := context.WithTimeout(context.Background(), leaseRenew)
				code, err := put(rctx, q)
				if code == http.StatusConflict {
					// A renewal that timed out here (or was retried by the client) after
					// Elasticsearch applied it moved the document's sequence number without
					// this process learning it: the conflict is then with itself. The lease
					// is lost only when another owner holds it.
					var ours bool
					ours, err = reread(rctx)
					switch {
					case err == nil && !ours:
						cancel()
						lost.Store(true)
						t.log.Error(errLockLost.Error(), "holder", fmt.Sprintf("%s pid %d", cur.Source.Host, cur.Source.PID))
						return
					case err == nil:
						t.log.Info("the instance lease had been renewed by a request whose answer did not arrive; renewing it again from its current version", "seq_no", cur.SeqNo)
						q = url.Values{"if_seq_no": {strconv.FormatInt(cur.SeqNo, 10)}, "if_primary_term": {strconv.FormatInt(cur.PrimaryTerm, 10)}}
						if code, err = put(rctx, q); err == nil && code == http.StatusConflict {
							err = fmt.Errorf("the lease document changed again while it was renewed")
						}
					}
				}
				cancel()
				if err != nil {
					t.log.Warn("could not renew the instance lease; retrying", "error", err)
				}
			}
		}
	}()
	// Holding the lease, this process is the only one of its state that makes
	// generations: those a killed one left with no alias go now (alias.go).
	if err := t.removeUnusedGenerations(ctx, "*-g*", "", nil); err != nil {
		t.log.Warn("could not delete the index generations no alias points to; they stay until the next start", "error", err)
	}
	return func() {
		close(stop)
		wg.Wait()
		if lost.Load() {
			return
		}
		q := url.Values{"if_seq_no": {strconv.FormatInt(cur.SeqNo, 10)}, "if_primary_term": {strconv.FormatInt(cur.PrimaryTerm, 10)}}
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = call(rctx, t.es, http.MethodDelete, s.docPath(s.lockID()), q, nil, nil, http.StatusConflict, http.StatusNotFound)
	}, nil
}

// checkLease fails once the lease is lost.
func (t *Target) checkLease() error {
	if t.lockLost != nil && t.lockLost.Load() {
		return errLockLost
	}
	return nil
}

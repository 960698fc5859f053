package elastic

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/replicator/replicator/applier/elastic/esdoc"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/plan"
)

// chunkWriter sends one chunk's rows as documents in bulk requests bounded by bytes and
// items, one request in flight while the next is filled (pipelinedSender), and marks the
// chunk done only after every item is acknowledged. Copying a chunk again is harmless:
// its documents carry the same version (see Version).
type chunkWriter struct {
	t         *Target
	p         *plan.Table
	c         plan.Chunk
	index     string
	indexJSON []byte // the action line's target: writeTarget
	version   int64
	enc       *esdoc.Encoder
	// origin is what the chunk's metadata fields show: the GTID set of the view the
	// chunk is read under (plan.Table.ReadAt).
	origin change.Origin
	sender *pipelinedSender
	cancel context.CancelFunc
	body   *bulkBody // being filled; nil once handed to the sender for good
	id     []byte
	rows   int64
	done   bool
}

// OpenChunk implements snapshot.Target: the writer's bulk requests run under ctx until
// its Commit or Abort.
func (t *Target) OpenChunk(ctx context.Context, p *plan.Table, c plan.Chunk) (plan.ChunkWriter, error) {
	if err := t.checkLease(); err != nil {
		return nil, err
	}
	pos, version, err := t.snapshotVersion()
	if err != nil {
		return nil, err
	}
	index, err := t.indexOf(p.Table)
	if err != nil {
		return nil, err
	}
	enc, err := t.encoder(p.Table, p.Columns)
	if err != nil {
		return nil, err
	}
	indexJSON, err := t.writeTarget(ctx, index)
	if err != nil {
		return nil, fmt.Errorf("snapshot of %s chunk %d: %w", p.Name(), c.ID, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	where := fmt.Sprintf("snapshot of %s chunk %d at GTID %s", p.Name(), c.ID, pos.GTID)
	return &chunkWriter{t: t, p: p, c: c, index: index, indexJSON: indexJSON, version: version,
		enc: enc.Projected(), origin: change.Origin{GTID: p.ReadAt}, sender: newPipelinedSender(ctx, t, where),
		cancel: cancel, body: getBody()}, nil
}

// Write implements plan.ChunkWriter.
func (w *chunkWriter) Write(r change.Row) error {
	var err error
	pr := w.enc.Prepare(r, w.origin) // a hashed key is hashed once for the _id and the document
	if w.id, err = w.enc.AppendPreparedID(w.id[:0], pr); err != nil {
		return fmt.Errorf("row %d of %s: %w", w.rows+1, w.p.Name(), err)
	}
	w.body.begin("index", w.indexJSON, w.id, w.version)
	if w.body.buf, err = w.enc.AppendPreparedDoc(w.body.buf, pr); err != nil {
		w.body.undo()
		return fmt.Errorf("row %d of %s (_id %s): %w", w.rows+1, w.p.Name(), w.id, err)
	}
	w.body.buf = append(w.body.buf, '\n')
	if err := placeLast(&w.body, w.t.bulk, w.p.Name(), w.id, w.sender.send); err != nil {
		var big *DocumentTooLargeError
		if errors.As(err, &big) {
			return fmt.Errorf("row %d of %s: %w", w.rows+1, w.p.Name(), err)
		}
		return w.sendFailed(err)
	}
	w.rows++
	return nil
}

// Commit implements plan.ChunkWriter: the last request goes out, every request is
// waited for, then the chunk's done mark is written.
func (w *chunkWriter) Commit(ctx context.Context) (int64, error) {
	b := w.body
	if b == nil {
		return 0, errors.New("chunk writer committed after a failed write")
	}
	w.body = nil
	if b.len() > 0 {
		if err := w.sender.send(b); err != nil {
			return 0, w.sendFailed(err)
		}
	} else {
		putBody(b)
	}
	st, err := w.sender.wait()
	if err != nil {
		return 0, err
	}
	if st.Conflicts > 0 {
		w.t.log.Warn("snapshot documents refused as older than the indexed ones", "table", w.p.Name(), "index", w.index, "chunk", w.c.ID, "count", st.Conflicts)
	}
	s := w.t.state
	if err := s.put(ctx, s.chunkID(w.p.Name(), w.c.ID), chunkDoc{Kind: "chunk", Name: s.name, SourceTable: w.p.Name(), Chunk: w.c.ID, Rows: w.rows, UpdatedAt: time.Now().UTC()}); err != nil {
		return 0, fmt.Errorf("mark chunk done: %w", err)
	}
	w.done = true
	w.cancel()
	return w.rows, nil
}

// Abort implements plan.ChunkWriter: requests still queued are dropped, the one in
// flight is cancelled and waited for.
func (w *chunkWriter) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.cancel()
	if w.body != nil {
		putBody(w.body)
		w.body = nil
	}
	_, _ = w.sender.wait()
}

// sendFailed is the sender's error once it refused a body (errSenderFailed): the failed
// request's error says why.
func (w *chunkWriter) sendFailed(err error) error {
	if _, sendErr := w.sender.wait(); sendErr != nil && errors.Is(err, errSenderFailed) {
		return sendErr
	}
	return err
}

// errSenderFailed stops filling a chunk once a bulk request failed; the sender's error is
// the one reported.
var errSenderFailed = errors.New("bulk request failed")

// pipelinedSender sends bulk bodies one after the other on its own goroutine, so reading
// and encoding the next body overlaps the current request. Its owner calls wait, which
// ends the goroutine, before letting go of it.
type pipelinedSender struct {
	queue  chan *bulkBody
	done   chan struct{}
	closed bool // the owner closed queue (only the owner reads or writes it)
	mu     sync.Mutex
	err    error
	st     bulkStats
}

func newPipelinedSender(ctx context.Context, t *Target, where string) *pipelinedSender {
	w := &pipelinedSender{queue: make(chan *bulkBody), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for b := range w.queue {
			if w.failed() {
				putBody(b)
				continue
			}
			st, err := t.sendBulk(ctx, b, where)
			w.mu.Lock()
			w.st.add(st)
			if err != nil && w.err == nil {
				w.err = err
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *pipelinedSender) failed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err != nil
}

// send hands a body to the sender, waiting while the one before it is in flight. The
// queue has no slot of its own: a chunk holds at most two bodies (the one being filled and
// the one being sent), so a snapshot's bulk buffers are bounded by 2 x
// snapshot.parallelism bodies of about bulkFillBytes; a queued third one only added
// memory, as Elasticsearch's indexing, not the encoding, is what the chunk waits for.
func (w *pipelinedSender) send(b *bulkBody) error {
	if w.failed() {
		putBody(b)
		return errSenderFailed
	}
	w.queue <- b
	return nil
}

// wait sends what is queued and returns the outcome; later calls return it again.
func (w *pipelinedSender) wait() (bulkStats, error) {
	if !w.closed {
		close(w.queue)
		w.closed = true
	}
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st, w.err
}

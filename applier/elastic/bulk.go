package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/replicator/replicator/fault"
	"github.com/replicator/replicator/mapping"
)

// Bulk request sizes: Elasticsearch advises requests of a few megabytes, so a request is
// sent once it holds bulkFillBytes (or target.elasticsearch.bulk_max_bytes when smaller);
// an item limit keeps narrow rows from making requests whose per-item overhead dominates.
// No request is larger than bulk_max_bytes (Target.bulkMax): a large document that would
// take one past it starts the next.
const (
	bulkFillBytes = 4 << 20
	bulkMaxItems  = 4000
	// bulkAttempts bounds the retries of items that failed with 429 or 5xx and of requests
	// that failed in transport; the backoff doubles from 250 ms up to 8 s, about a minute
	// in all, before the error reaches the caller (the pipeline then restarts from the
	// checkpoint).
	bulkAttempts = 10
)

// bulkBody is one bulk request being built: NDJSON action and document lines, and where
// each item starts, so failed items can be sent again on their own.
type bulkBody struct {
	buf    []byte
	starts []int
}

// bodyPool keeps request buffers for reuse. A new one starts small and grows to what its
// requests need: the item limit ends most requests well before bulkFillBytes (4,000
// sysbench rows are about 1 MB), and a snapshot holds two buffers per chunk reader, so
// buffers made at the fill size were most of its memory (live heap 71 MB of 4 MiB-plus
// buffers mostly empty, peak RSS 138-158 MiB).
var bodyPool = sync.Pool{New: func() any { return &bulkBody{buf: make([]byte, 0, bodyInitialBytes)} }}

// bodyInitialBytes is a new request buffer's capacity.
const bodyInitialBytes = 256 << 10

func getBody() *bulkBody { return bodyPool.Get().(*bulkBody) }

func putBody(b *bulkBody) {
	if cap(b.buf) > 4*bulkFillBytes {
		return
	}
	b.buf, b.starts = b.buf[:0], b.starts[:0]
	bodyPool.Put(b)
}

func (b *bulkBody) len() int { return len(b.starts) }

// bulkLimits are a Target's request sizes: fill is when a request is sent, max what none
// may exceed (target.elasticsearch.bulk_max_bytes).
type bulkLimits struct{ fill, max int }

func newBulkLimits(maxBytes int) bulkLimits {
	return bulkLimits{fill: min(bulkFillBytes, maxBytes), max: maxBytes}
}

// DocumentTooLargeError is a document whose bulk item alone (action line and source) is
// larger than target.elasticsearch.bulk_max_bytes: no request may carry it.
type DocumentTooLargeError struct {
	Table string // the source table
	ID    string // the document's _id
	Size  int    // bytes of its bulk item
	Limit int    // bulk_max_bytes
}

func (e *DocumentTooLargeError) Error() string {
	return fmt.Sprintf("the document of %s with _id %q is %d bytes in a bulk request, more than target.elasticsearch.bulk_max_bytes = %d: "+
		"raise bulk_max_bytes above it (and the cluster's http.max_content_length, 100 MB by default, above that), or leave the large columns out (tables[].exclude_columns)",
		e.Table, e.ID, e.Size, e.Limit)
}

// placeLast is called once an item was appended to *cur; it hands emit every body that is
// ready. A body that the item took past lim.max is emitted without it, the item moving to
// a new body; an item itself larger than lim.max is taken out again and is a
// *DocumentTooLargeError (table and id name it). On error *cur stays usable.
func placeLast(cur **bulkBody, lim bulkLimits, table string, id []byte, emit func(*bulkBody) error) error {
	b := *cur
	if len(b.buf) > lim.max {
		last := b.starts[len(b.starts)-1]
		if size := len(b.buf) - last; size > lim.max {
			b.undo()
			return &DocumentTooLargeError{Table: table, ID: string(id), Size: size, Limit: lim.max}
		}
		next := getBody()
		next.starts = append(next.starts, 0)
		next.buf = append(next.buf, b.buf[last:]...)
		b.undo()
		*cur = next
		if err := emit(b); err != nil {
			return err
		}
		b = next
	}
	if len(b.buf) >= lim.fill || len(b.starts) >= bulkMaxItems {
		*cur = getBody()
		return emit(b)
	}
	return nil
}

// begin starts an item with its action line; indexJSON is the JSON-quoted index name.
func (b *bulkBody) begin(op string, indexJSON, id []byte, version int64) {
	b.starts = append(b.starts, len(b.buf))
	b.buf = append(b.buf, `{"`...)
	b.buf = append(b.buf, op...)
	b.buf = append(b.buf, `":{"_index":`...)
	b.buf = append(b.buf, indexJSON...)
	b.buf = append(b.buf, `,"_id":`...)
	b.buf = mapping.AppendJSONString(b.buf, string(id))
	b.buf = append(b.buf, `,"version":`...)
	b.buf = strconv.AppendInt(b.buf, version, 10)
	b.buf = append(b.buf, `,"version_type":"external_gte"}}`...)
	b.buf = append(b.buf, '\n')
}

// undo drops the item begun last (its document could not be encoded).
func (b *bulkBody) undo() {
	n := len(b.starts) - 1
	b.buf, b.starts = b.buf[:b.starts[n]], b.starts[:n]
}

// item returns the bytes of item i (its action line and document line, if any).
func (b *bulkBody) item(i int) []byte {
	end := len(b.buf)
	if i+1 < len(b.starts) {
		end = b.starts[i+1]
	}
	return b.buf[b.starts[i]:end]
}

// subset returns a new body with the items at idx.
func (b *bulkBody) subset(idx []int) *bulkBody {
	out := getBody()
	for _, i := range idx {
		out.starts = append(out.starts, len(out.buf))
		out.buf = append(out.buf, b.item(i)...)
	}
	return out
}

// describe names item i's operation, index and _id for a message.
func (b *bulkBody) describe(i int) string {
	line := b.item(i)
	for j, c := range line {
		if c == '\n' {
			line = line[:j]
			break
		}
	}
	var action map[string]struct {
		Index string `json:"_index"`
		ID    string `json:"_id"`
	}
	if json.Unmarshal(line, &action) != nil {
		return "item " + strconv.Itoa(i)
	}
	for op, a := range action {
		return fmt.Sprintf("%s of _id %q in index %s", op, a.ID, a.Index)
	}
	return "item " + strconv.Itoa(i)
}

// bulkStats counts the outcomes of bulk items.
type bulkStats struct {
	Written   int64 // indexed or deleted
	Conflicts int64 // refused as older than the stored document (replays)
	Missing   int64 // deletes of documents that were not there
}

func (s *bulkStats) add(o bulkStats) {
	s.Written += o.Written
	s.Conflicts += o.Conflicts
	s.Missing += o.Missing
}

type bulkItemResult struct {
	Status int      `json:"status"`
	Error  *esError `json:"error"`
}

func (r *bulkItemResult) reason() string {
	if r.Error == nil {
		return "HTTP " + strconv.Itoa(r.Status)
	}
	return r.Error.Type + ": " + r.Error.reason()
}

// The answer lists only what checking needs: a successful item is a few bytes.
var bulkQuery = url.Values{"filter_path": {"errors,items.*.status,items.*.error.type,items.*.error.reason,items.*.error.caused_by.type,items.*.error.caused_by.reason"}}

// ItemError is a bulk item Elasticsearch refused for a reason retrying cannot fix (a
// mapping conflict, a value the field cannot hold). The stream stops on it, before the
// checkpoint moves past the change.
type ItemError struct {
	Item   string // operation, _id and index
	Where  string // the source position the change belongs to
	Reason string
	Status int
}

func (e *ItemError) Error() string {
	return fmt.Sprintf("Elasticsearch refused the %s (%s): HTTP %d %s", e.Item, e.Where, e.Status, e.Reason)
}

// indexingPressure matches the sizes in the reason of a write rejected for the node's
// indexing pressure (es_rejected_execution_exception): the operation's bytes and the limit.
var indexingPressure = regexp.MustCompile(`primary_operation_bytes=(\d+).*max_primary_bytes=(\d+)`)

// overIndexingPressure reports a rejection for indexing pressure whose operation, with the
// request's own size (counted as coordinating bytes while it is handled), is larger than
// the node's limit, so that no retry can succeed.
func overIndexingPressure(reason string, request int) bool {
	m := indexingPressure.FindStringSubmatch(reason)
	if m == nil {
		return false
	}
	op, err1 := strconv.ParseInt(m[1], 10, 64)
	limit, err2 := strconv.ParseInt(m[2], 10, 64)
	return err1 == nil && err2 == nil && op+int64(request) > limit
}

// sendBulk sends body until every item is acknowledged. Items refused as older than the
// stored document (409) and deletes of absent documents (404) count as done; items failing
// with 429 or 5xx are sent again with backoff; any other refusal is an *ItemError. where
// names the source position for messages. body is returned to the pool.
func (t *Target) sendBulk(ctx context.Context, body *bulkBody, where string) (bulkStats, error) {
	var st bulkStats
	defer func() { putBody(body) }()
	backoff := t.retryBase
	for attempt := 1; ; attempt++ {
		var res struct {
			Errors bool                        `json:"errors"`
			Items  []map[string]bulkItemResult `json:"items"`
		}
		_, err := call(ctx, t.es, http.MethodPost, "/_bulk", bulkQuery, body.buf, &res)
		if isStatus(err, http.StatusRequestEntityTooLarge) {
			return st, fmt.Errorf("bulk request of %d items, %d bytes (%s): %w: the cluster's http.max_content_length is smaller; set target.elasticsearch.bulk_max_bytes (now %d) below it",
				body.len(), len(body.buf), where, err, t.bulk.max)
		}
		var retry []int
		var lastReason string
		switch {
		case err != nil && (!errors.Is(err, fault.ErrTransient) || attempt >= bulkAttempts):
			return st, fmt.Errorf("bulk request of %d items (%s): %w", body.len(), where, err)
		case err != nil:
			t.log.Warn("bulk request failed; retrying", "error", err, "attempt", attempt, "where", where)
		case !res.Errors:
			st.Written += int64(body.len())
			return st, nil
		case len(res.Items) != body.len():
			return st, fmt.Errorf("bulk request (%s): %d results for %d items", where, len(res.Items), body.len())
		default:
			for i, item := range res.Items {
				for op, r := range item {
					switch {
					case r.Status < 300:
						st.Written++
					case r.Status == http.StatusConflict && r.Error != nil && r.Error.Type == "version_conflict_engine_exception":
						st.Conflicts++
					case r.Status == http.StatusNotFound && op == "delete" && r.Error == nil:
						st.Missing++
					case writeBlocked(r.Error):
						// Before the 429 case: the flood-stage block answers 429 too, and
						// the message must name the block, not an overload.
						retry = append(retry, i)
						lastReason = blockedReason + ": " + r.reason()
					case body.len() == 1 && overIndexingPressure(r.reason(), len(body.buf)):
						// Retrying cannot help: the one document alone needs more than the
						// node will ever take.
						return st, &ItemError{Item: body.describe(i), Where: where, Status: r.Status, Reason: r.reason() +
							": this one document needs more indexing memory on the node than its indexing_pressure.memory.limit allows (10% of the heap by default; " +
							"Elasticsearch 9 counts a document at several times its size): give the node more heap or raise that limit, or leave the large columns out (tables[].exclude_columns)"}
					case transientStatus(r.Status):
						retry = append(retry, i)
						lastReason = r.reason()
					default:
						return st, &ItemError{Item: body.describe(i), Where: where, Reason: r.reason(), Status: r.Status}
					}
				}
			}
			if len(retry) == 0 {
				return st, nil
			}
			if attempt >= bulkAttempts {
				return st, fmt.Errorf("%w: %d bulk items (%s) still failing after %d attempts: %s", fault.ErrTransient, len(retry), where, attempt, lastReason)
			}
			t.log.Warn("bulk items failed; retrying them", "items", len(retry), "reason", lastReason, "attempt", attempt, "where", where)
			sub := body.subset(retry)
			putBody(body)
			body = sub
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return st, ctx.Err()
		}
		backoff = min(backoff*2, 8*time.Second)
	}
}

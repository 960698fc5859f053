package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/replicator/replicator/fault"
)

// requestTimeout bounds one request, so a hung connection becomes a transient error the
// pipeline recovers from instead of a stall.
const requestTimeout = 2 * time.Minute

// httpError is a response with an error status.
type httpError struct {
	Status int
	Type   string
	Reason string
	text   string
}

func (e *httpError) Error() string { return e.text }

// transientStatus reports statuses worth retrying: overload and server-side failures.
func transientStatus(code int) bool { return code == http.StatusTooManyRequests || code >= 500 }

// call performs one request through the client (authentication, product check, its own
// retries on 429/502/503/504) and decodes a 2xx answer into out. A transport failure or a
// transient status comes back wrapped in fault.ErrTransient; other error statuses as an
// *httpError. Statuses listed in accept are not errors: the body is decoded and the status
// returned.
func call(ctx context.Context, c *elasticsearch.Client, method, path string, query url.Values, body []byte, out any, accept ...int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	ctx, last := withLastAttempt(ctx)
	// path is already escaped (indexPath, docPath): parsed, not taken as raw text, so a
	// '%' of an escape is not escaped a second time.
	u, err := url.Parse(path)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if query != nil {
		u.RawQuery = query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		if path == "/_bulk" {
			req.Header.Set("Content-Type", "application/x-ndjson")
		}
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	res, err := c.Perform(req)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, ctx.Err()
		}
		err = last.explain(err)
		if ce := certError(err); ce != nil {
			return 0, fmt.Errorf("%s %s: %w", method, path, ce)
		}
		return 0, fault.Transient(fmt.Errorf("%s %s: %w", method, path, err))
	}
	defer res.Body.Close()
	ok := res.StatusCode >= 200 && res.StatusCode < 300
	for _, a := range accept {
		ok = ok || res.StatusCode == a
	}
	if !ok {
		he := readError(res.StatusCode, res.Body)
		he.text = fmt.Sprintf("%s %s: %s", method, path, he.text)
		if transientStatus(res.StatusCode) {
			return res.StatusCode, fault.Transient(he)
		}
		if writeBlocked(&esError{Type: he.Type}) {
			return res.StatusCode, fault.Describe(blockedReason+": "+he.text, he, fault.ErrTransient)
		}
		if refusedAccess(he) {
			return res.StatusCode, fmt.Errorf("%w: %w: %s", fault.ErrAccessDenied, he, accessFix)
		}
		return res.StatusCode, he
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		return res.StatusCode, nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		if res.StatusCode >= 300 {
			return res.StatusCode, nil // an accepted error status: its body's shape varies
		}
		if ctx.Err() != nil {
			return res.StatusCode, fault.Transient(fmt.Errorf("%s %s: reading answer: %w", method, path, err))
		}
		return res.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return res.StatusCode, nil
}

// esError is the error object of an Elasticsearch answer, of a whole request or of one
// bulk item.
type esError struct {
	Type     string `json:"type"`
	Reason   string `json:"reason"`
	CausedBy *struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"caused_by"`
}

// reason is the error's reason with its cause.
func (e *esError) reason() string {
	if e.CausedBy != nil {
		return e.Reason + " (" + e.CausedBy.Type + ": " + e.CausedBy.Reason + ")"
	}
	return e.Reason
}

func readError(status int, body io.Reader) *httpError {
	b, _ := io.ReadAll(io.LimitReader(body, 8192))
	var e struct {
		Error esError `json:"error"`
	}
	he := &httpError{Status: status}
	if json.Unmarshal(b, &e) == nil && e.Error.Type != "" {
		he.Type, he.Reason = e.Error.Type, e.Error.reason()
		he.text = fmt.Sprintf("HTTP %d %s: %s", status, he.Type, he.Reason)
		return he
	}
	he.text = fmt.Sprintf("HTTP %d: %s", status, bytes.TrimSpace(b))
	return he
}

// blockedReason says what a write block means and how it lifts.
const blockedReason = "target index write-blocked (the disk above the flood-stage watermark, or index.blocks.write / read_only_allow_delete set): free disk space or remove the block"

// writeBlocked reports a refusal by an index or cluster block (403 cluster_block_exception,
// FORBIDDEN/8 index write, FORBIDDEN/12 read-only / allow delete): it lifts without a
// change to the data, by itself once the disk drops below the high watermark or when an
// administrator removes it, so the write is retried.
func writeBlocked(e *esError) bool {
	return e != nil && e.Type == "cluster_block_exception"
}

// refusedAccess reports a request refused for its credentials or their privileges: 401,
// or 403 from the security layer. Other 403s (index and cluster blocks) are not about
// rights.
func refusedAccess(he *httpError) bool {
	return he.Status == http.StatusUnauthorized || (he.Status == http.StatusForbidden && he.Type == "security_exception")
}

// isStatus reports whether err is an *httpError with the given status.
func isStatus(err error, status int) bool {
	var he *httpError
	return errors.As(err, &he) && he.Status == status
}

package elastic

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/fault"
)

// TestCallMarksKeepTheCause: the marks the pipeline acts on (transient, access denied)
// sit on top of the error they classify, which errors.As still finds.
func TestCallMarksKeepTheCause(t *testing.T) {
	for _, c := range []struct {
		name      string
		status    int
		body      string
		transient bool
		denied    bool
	}{
		{"server error", 500, `{"error":{"type":"exception","reason":"boom"}}`, true, false},
		{"overloaded", 429, `{"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}`, true, false},
		{"unauthorized", 401, `{"error":{"type":"security_exception","reason":"missing authentication"}}`, false, true},
		{"forbidden", 403, `{"error":{"type":"security_exception","reason":"action unauthorized"}}`, false, true},
		{"refused request", 400, `{"error":{"type":"mapper_parsing_exception","reason":"bad"}}`, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Elastic-Product", "Elasticsearch")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.body))
			}))
			defer srv.Close()
			es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{srv.URL}, DisableRetry: true})
			if err != nil {
				t.Fatal(err)
			}
			status, err := call(context.Background(), es, http.MethodGet, "/x", nil, nil, nil)
			if status != c.status || err == nil {
				t.Fatalf("call: status %d, error %v; want %d and an error", status, err, c.status)
			}
			if errors.Is(err, fault.ErrTransient) != c.transient || errors.Is(err, fault.ErrAccessDenied) != c.denied {
				t.Errorf("error %v: transient %v, denied %v; want %v, %v", err,
					errors.Is(err, fault.ErrTransient), errors.Is(err, fault.ErrAccessDenied), c.transient, c.denied)
			}
			var he *httpError
			if !errors.As(err, &he) || he.Status != c.status {
				t.Errorf("error %v: errors.As(*httpError) does not find the answer's status", err)
			}
		})
	}
}

func TestCallTransportFailureKeepsTheNetError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there any more
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{addr}, DisableRetry: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = call(context.Background(), es, http.MethodGet, "/x", nil, nil, nil)
	var ne net.Error
	if !errors.Is(err, fault.ErrTransient) || !errors.As(err, &ne) {
		t.Fatalf("error %v: want ErrTransient with the net.Error kept", err)
	}
}

// TestClientRetriesOverloadWithBackoff: a write the node rejects a few times with 429 (its
// write queue full) succeeds through the client NewClient builds, with pauses between the
// attempts, instead of failing after immediate retries.
func TestClientRetriesOverloadWithBackoff(t *testing.T) {
	var mu sync.Mutex
	var hits []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		mu.Lock()
		hits = append(hits, time.Now())
		n := len(hits)
		mu.Unlock()
		if n <= 4 {
			w.WriteHeader(429)
			_, _ = w.Write([]byte(`{"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"errors":false,"items":[]}`))
	}))
	defer srv.Close()
	var logged bytes.Buffer
	es, err := NewClient(config.Elasticsearch{Addresses: []string{srv.URL}}, WithRetryLog(slog.New(slog.NewTextHandler(&logged, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call(context.Background(), es, http.MethodPost, "/_bulk", nil, []byte("{}\n"), nil); err != nil {
		t.Fatalf("call after four 429s: %v", err)
	}
	if n := strings.Count(logged.String(), "Elasticsearch request refused; retrying with backoff"); n != 4 || !strings.Contains(logged.String(), "status=429") {
		t.Errorf("%d retry warnings logged; want 4 with the status:\n%s", n, logged.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hits) != 5 {
		t.Fatalf("%d requests; want 5 (four rejected, one accepted)", len(hits))
	}
	if waited := hits[4].Sub(hits[0]); waited < 1400*time.Millisecond {
		t.Errorf("the retries came %s after the first attempt; want the backoff (100+200+400+800 ms)", waited)
	}
}

func TestRetryBackoff(t *testing.T) {
	for _, c := range []struct {
		attempt int
		want    time.Duration
	}{{0, 100 * time.Millisecond}, {1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {6, 3200 * time.Millisecond}, {7, 5 * time.Second}, {60, 5 * time.Second}} {
		if got := retryBackoff(c.attempt); got != c.want {
			t.Errorf("retryBackoff(%d) = %s; want %s", c.attempt, got, c.want)
		}
	}
	var total time.Duration
	for i := 1; i <= clientRetries; i++ {
		total += retryBackoff(i)
	}
	if total < 10*time.Second || total > 30*time.Second {
		t.Errorf("the client waits %s in all before giving up; want 10-30 s", total)
	}
}

// TestRetryOnError: transport errors are retried unless sending again cannot help.
func TestRetryOnError(t *testing.T) {
	certErr := &url.Error{Op: "Get", URL: "https://es:9200/", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}, true},
		{"reset", &url.Error{Op: "Post", URL: "http://es:9200/_bulk", Err: errors.New("read: connection reset by peer")}, true},
		{"untrusted certificate", certErr, false},
		{"unknown host", &net.DNSError{Err: "no such host", Name: "es", IsNotFound: true}, false},
		{"DNS timeout", &net.DNSError{Err: "i/o timeout", Name: "es", IsTimeout: true}, true},
		{"cancelled", fmt.Errorf("post: %w", context.Canceled), false},
		{"deadline", fmt.Errorf("post: %w", context.DeadlineExceeded), false},
	} {
		if got := retryOnError(nil, c.err); got != c.want {
			t.Errorf("%s: retryOnError = %v; want %v", c.name, got, c.want)
		}
	}
}

// TestRetriedDeadlineSaysWhy: a request whose retries outlast its deadline reports the
// last attempt's failure beside the deadline, not "context deadline exceeded" alone.
func TestRetriedDeadlineSaysWhy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close() // nothing listens: every attempt is refused
	es, err := NewClient(config.Elasticsearch{Addresses: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = Info(ctx, es)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Info of a closed port under a 1 s deadline: %v; want the deadline and the refused connection", err)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("the refused connection is not reachable with errors.As: %v", err)
	}
}

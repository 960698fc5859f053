package elastic

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"

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

// Package elastic applies snapshots and change batches to Elasticsearch indexes through the
// bulk API, storing the checkpoint only after a batch is fully acknowledged.
package elastic

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/fault"
)

// clientRetries is how often the client sends a request again after 429/502/503/504 or a
// transport failure before the error reaches the caller. With retryBackoff that is about 16 s:
// a node whose write queue is full rejects every write, not only bulk items (which sendBulk
// retries on its own), and a state or lease write that gave up after three immediate
// retries stopped a snapshot on a busy node.
const clientRetries = 8

// retryBackoff is the pause before the client's attempt'th retry: 100 ms doubling up to 5 s,
// so a short overload passes unnoticed and a long one is not hammered.
func retryBackoff(attempt int) time.Duration {
	return fault.Backoff(attempt, 100*time.Millisecond, 5*time.Second)
}

// retryOnError says whether a request that failed in transport is sent again: not when
// sending it again cannot help (a refused certificate, a host name that does not resolve,
// the caller gave up), so those errors reach the caller at once instead of after every
// backoff.
func retryOnError(_ *http.Request, err error) bool {
	var dnsErr *net.DNSError
	switch {
	case certError(err) != nil, errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return false
	}
	return true
}

// retryStatuses are the responses the client sends a request again for.
var retryStatuses = []int{502, 503, 504, 429}

// ClientOption adjusts NewClient.
type ClientOption func(*clientOptions)

type clientOptions struct {
	log     *slog.Logger
	retries int
}

// WithRetryLog logs a warning for every failed attempt the client will send again (an
// unreachable or overloaded node), so an outage the retries absorb is still seen.
func WithRetryLog(log *slog.Logger) ClientOption {
	return func(o *clientOptions) { o.log = log }
}

// WithQuickFail retries once, for a command someone waits on to say whether the cluster
// answers ('check'), not for ever-running work.
func WithQuickFail() ClientOption {
	return func(o *clientOptions) { o.retries = 1 }
}

// NewClient builds a client from the target configuration. Certificates are verified
// against ca_file when given, else the system roots.
func NewClient(cfg config.Elasticsearch, opts ...ClientOption) (*elasticsearch.Client, error) {
	o := clientOptions{retries: clientRetries}
	for _, opt := range opts {
		opt(&o)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = 16
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("target.elasticsearch.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("target.elasticsearch.ca_file %s: no PEM certificate found", cfg.CAFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	tr.TLSClientConfig.ServerName = cfg.ServerName
	rt := attempts{next: tr, log: o.log}
	c, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses:     cfg.Addresses,
		Username:      cfg.Username,
		Password:      cfg.Password,
		APIKey:        cfg.APIKey,
		Transport:     rt,
		RetryOnStatus: retryStatuses,
		MaxRetries:    o.retries,
		RetryBackoff:  retryBackoff,
		RetryOnError:  retryOnError,
	})
	if err != nil {
		return nil, fmt.Errorf("target.elasticsearch: %w", err)
	}
	return c, nil
}

// attempts is the client's transport. The client retries above it and tells nobody: a
// request whose retries outlast its context ends with the context's error alone, and an
// outage the retries absorb leaves no trace. So each attempt's failure is recorded for the
// request (withLastAttempt) and, with WithRetryLog, logged.
type attempts struct {
	next http.RoundTripper
	log  *slog.Logger // nil: not logged
}

// RoundTrip implements http.RoundTripper.
func (a attempts) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := a.next.RoundTrip(req)
	last, _ := req.Context().Value(lastAttemptKey{}).(*lastAttempt)
	switch {
	case err != nil && retryOnError(req, err):
		last.set(err)
		if a.log != nil {
			a.log.Warn("Elasticsearch request failed; retrying with backoff", "request", req.Method+" "+req.URL.Path, "error", err)
		}
	case err == nil && slices.Contains(retryStatuses, res.StatusCode):
		last.set(fmt.Errorf("HTTP %d", res.StatusCode))
		if a.log != nil {
			a.log.Warn("Elasticsearch request refused; retrying with backoff", "request", req.Method+" "+req.URL.Path, "status", res.StatusCode)
		}
	}
	return res, err
}

type lastAttemptKey struct{}

// lastAttempt is the failure of a request's latest attempt the client retried.
type lastAttempt struct {
	mu  sync.Mutex
	err error
}

func (l *lastAttempt) set(err error) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.err = err
	l.mu.Unlock()
}

// withLastAttempt makes the requests sent with ctx record their attempts' failures;
// explain adds the latest one to an error the context's end caused.
func withLastAttempt(ctx context.Context) (context.Context, *lastAttempt) {
	l := &lastAttempt{}
	return context.WithValue(ctx, lastAttemptKey{}, l), l
}

// explain returns err with the latest retried attempt's failure beside it when err is
// the context's end (a deadline reached while the client was retrying): "context
// deadline exceeded" alone does not say that the node refused the connection. Both stay
// reachable with errors.Is.
func (l *lastAttempt) explain(err error) error {
	if err == nil || !(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		return err
	}
	return fmt.Errorf("%w (retried; the last attempt: %w)", err, l.err)
}

// ServerInfo is the part of the root endpoint's answer the replicator uses.
type ServerInfo struct {
	ClusterName string `json:"cluster_name"`
	Version     struct {
		Number string `json:"number"`
	} `json:"version"`
}

// Info asks the cluster for its name and version.
func Info(ctx context.Context, c *elasticsearch.Client) (ServerInfo, error) {
	var info ServerInfo
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ctx, last := withLastAttempt(ctx)
	res, err := c.Info(c.Info.WithContext(ctx))
	if err != nil {
		err = last.explain(err)
		if ce := certError(err); ce != nil {
			return info, fmt.Errorf("connect to Elasticsearch: %w", ce)
		}
		return info, fmt.Errorf("connect to Elasticsearch: %w", err)
	}
	defer res.Body.Close()
	if res.IsError() {
		he := readError(res.StatusCode, res.Body)
		if refusedAccess(he) {
			return info, fmt.Errorf("connect to Elasticsearch: %w: %w: %s", fault.ErrAccessDenied, he, accessFix)
		}
		return info, fmt.Errorf("connect to Elasticsearch: %w", he)
	}
	if err := json.NewDecoder(res.Body).Decode(&info); err != nil {
		return info, fmt.Errorf("connect to Elasticsearch: decode info: %w", err)
	}
	return info, nil
}

// accessFix says what to do about a 401 or a security 403.
const accessFix = "check target.elasticsearch username/password or api_key and the roles of that user"

// certError explains a server certificate the client refused, marked
// fault.ErrCertificate and naming the setting to fix; nil when err is not one.
func certError(err error) error {
	var certErr *tls.CertificateVerificationError
	if !errors.As(err, &certErr) {
		return nil
	}
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	switch {
	case errors.As(err, &hostErr):
		return fmt.Errorf("%w: it is not valid for the host name %q (%w): use an address by a name the certificate lists in target.elasticsearch.addresses, or set target.elasticsearch.server_name to one",
			fault.ErrCertificate, hostErr.Host, err)
	case errors.As(err, &authErr):
		return fmt.Errorf("%w: not signed by a trusted CA (%w): set target.elasticsearch.ca_file to the CA that signed the cluster's certificate",
			fault.ErrCertificate, err)
	}
	return fmt.Errorf("%w (%w): set target.elasticsearch.ca_file to the cluster's CA", fault.ErrCertificate, err)
}

// errorText condenses an error response body for a message.
func errorText(status int, body io.Reader) string { return readError(status, body).Error() }

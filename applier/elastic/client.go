// Package elastic applies snapshots and change batches to Elasticsearch indexes through the
// bulk API, storing the checkpoint only after a batch is fully acknowledged.
package elastic

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/replicator/replicator/config"
)

// NewClient builds a client from the target configuration. Certificates are verified
// against ca_file when given, else the system roots.
func NewClient(cfg config.Elasticsearch) (*elasticsearch.Client, error) {
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
	c, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses:     cfg.Addresses,
		Username:      cfg.Username,
		Password:      cfg.Password,
		APIKey:        cfg.APIKey,
		Transport:     tr,
		RetryOnStatus: []int{502, 503, 504, 429},
		MaxRetries:    3,
	})
	if err != nil {
		return nil, fmt.Errorf("target.elasticsearch: %w", err)
	}
	return c, nil
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
	res, err := c.Info(c.Info.WithContext(ctx))
	if err != nil {
		return info, fmt.Errorf("connect to Elasticsearch: %w", err)
	}
	defer res.Body.Close()
	if res.IsError() {
		return info, fmt.Errorf("connect to Elasticsearch: %s", errorText(res.StatusCode, res.Body))
	}
	if err := json.NewDecoder(res.Body).Decode(&info); err != nil {
		return info, fmt.Errorf("connect to Elasticsearch: decode info: %w", err)
	}
	return info, nil
}

// errorText condenses an error response body for a message.
func errorText(status int, body io.Reader) string { return readError(status, body).Error() }

package elastic

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/fault"
	"github.com/replicator/replicator/finding"
)

// Check runs the target checks: reachable, a version the client supports, and allowed to
// create and delete an index (a probe index that is removed again).
func Check(ctx context.Context, r *finding.Report, cfg config.Elasticsearch) {
	c, err := NewClient(cfg, WithQuickFail())
	if err != nil {
		r.Failf("target.connect", "fix the [target.elasticsearch] settings", "%v", err)
		return
	}
	info, err := Info(ctx, c)
	if err != nil {
		fix := "check target.elasticsearch.addresses, credentials and that the cluster runs"
		switch {
		case errors.Is(err, fault.ErrCertificate):
			fix = "set target.elasticsearch.ca_file to the CA that signed the cluster's certificate, and connect by a name it lists (addresses, or server_name)"
		case errors.Is(err, fault.ErrAccessDenied):
			fix = accessFix
		}
		r.Failf("target.connect", fix, "%v", err)
		return
	}
	shown := make([]string, len(cfg.Addresses))
	for i, a := range cfg.Addresses {
		shown[i] = a
		if u, err := url.Parse(a); err == nil {
			shown[i] = u.Redacted() // user:password@ written into the address
		}
	}
	r.Passf("target.connect", "Elasticsearch %s, cluster %q at %s", info.Version.Number, info.ClusterName, strings.Join(shown, ", "))
	tlsCheck(r, cfg)
	if !strings.HasPrefix(info.Version.Number, "8.") && !strings.HasPrefix(info.Version.Number, "7.17") && !strings.HasPrefix(info.Version.Number, "9.") {
		r.Warnf("target.version", "use Elasticsearch 8.x or 9.x (the tested versions; 7.17 is accepted but untested)", "version %s is not tested", info.Version.Number)
	}
	probe := fmt.Sprintf("replicator-check-%d", os.Getpid())
	res, err := c.Indices.Create(probe, c.Indices.Create.WithContext(ctx))
	if err == nil {
		defer res.Body.Close()
		if res.IsError() {
			err = fmt.Errorf("%s", errorText(res.StatusCode, res.Body))
		}
	}
	if err != nil {
		r.Failf("target.writable", "give the account the create_index, write and delete_index privileges on the target indexes", "cannot create index %s: %v", probe, err)
		return
	}
	if res, err := c.Indices.Delete([]string{probe}, c.Indices.Delete.WithContext(ctx)); err == nil {
		res.Body.Close()
	}
	r.Passf("target.writable", "can create and delete indexes")
}

// tlsCheck says what is verified of the connection to each address: https is verified
// (chain and host name, against ca_file or the system roots); plain http to a server that
// is not local is a warning, with credentials it says they travel in clear.
func tlsCheck(r *finding.Report, cfg config.Elasticsearch) {
	roots := "the system roots"
	if cfg.CAFile != "" {
		roots = "target.elasticsearch.ca_file " + cfg.CAFile
	}
	var plain, verified []string
	for _, a := range cfg.Addresses {
		u, err := url.Parse(a)
		if err != nil {
			continue
		}
		if u.Scheme == "https" {
			name := u.Hostname()
			if cfg.ServerName != "" {
				name = cfg.ServerName
			}
			if q := strconv.Quote(name); !slices.Contains(verified, q) {
				verified = append(verified, q)
			}
			continue
		}
		h := u.Hostname()
		if h != "localhost" && !strings.HasPrefix(h, "127.") && h != "::1" {
			plain = append(plain, h)
		}
	}
	creds := cfg.Password != "" || cfg.APIKey != ""
	switch {
	case len(plain) > 0 && creds:
		r.Warnf("target.tls", "use https:// addresses (and ca_file)", "plain HTTP to %s: the credentials and the data travel unencrypted", strings.Join(plain, ", "))
	case len(plain) > 0:
		r.Warnf("target.tls", "use https:// addresses (and ca_file)", "plain HTTP to %s: not encrypted", strings.Join(plain, ", "))
	case strings.HasPrefix(strings.Join(cfg.Addresses, " "), "https://"):
		r.Passf("target.tls", "https: certificate chain verified against %s, host name %s verified", roots, strings.Join(verified, ", "))
	default:
		r.Passf("target.tls", "local server over plain HTTP: TLS not required")
	}
}

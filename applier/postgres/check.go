package postgres

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/replicator/replicator/finding"
)

// Check runs the target checks: reachable, a supported version, and allowed to create the
// state schema and the target schemas. It creates them inside a transaction it rolls back,
// so the target is left as it was.
func Check(ctx context.Context, r *finding.Report, url, stateSchema string, targetSchemas []string) {
	conn, err := Connect(ctx, url)
	if err != nil {
		r.Failf("target.connect", "check target.postgres.url and that PostgreSQL accepts connections from this host", "%v", err)
		return
	}
	defer conn.Close(context.Background())
	var version string
	var num int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version'), current_setting('server_version_num')::int").Scan(&version, &num); err != nil {
		r.Failf("target.connect", "check the target server", "query failed: %v", err)
		return
	}
	cfg := conn.Config()
	r.Passf("target.connect", "PostgreSQL %s at %s:%d database %q as %q", version, cfg.Host, cfg.Port, cfg.Database, cfg.User)
	tlsCheck(r, cfg)
	if num < 110000 {
		r.Failf("target.version", "use PostgreSQL 11 or later", "PostgreSQL %s is too old", version)
	}

	schemas := map[string]bool{stateSchema: true}
	for _, s := range targetSchemas {
		schemas[s] = true
	}
	names := make([]string, 0, len(schemas))
	for s := range schemas {
		names = append(names, s)
	}
	sort.Strings(names)
	tx, err := conn.Begin(ctx)
	if err != nil {
		r.Failf("target.writable", "check the target server", "begin: %v", err)
		return
	}
	defer tx.Rollback(context.Background())
	for _, s := range names {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{s}.Sanitize()); err != nil {
			r.Failf("target.writable", fmt.Sprintf("GRANT CREATE ON DATABASE %s TO %s, or create schema %s beforehand and grant CREATE on it", pgx.Identifier{cfg.Database}.Sanitize(), pgx.Identifier{cfg.User}.Sanitize(), pgx.Identifier{s}.Sanitize()),
				"cannot create schema %q: %v", s, err)
			return
		}
		probe := pgx.Identifier{s, "replicator_check_" + strconv.Itoa(int(conn.PgConn().PID()))}.Sanitize()
		if _, err := tx.Exec(ctx, "CREATE TABLE "+probe+" (id bigint PRIMARY KEY)"); err != nil {
			r.Failf("target.writable", fmt.Sprintf("GRANT CREATE ON SCHEMA %s TO %s", pgx.Identifier{s}.Sanitize(), pgx.Identifier{cfg.User}.Sanitize()),
				"cannot create tables in schema %q: %v", s, err)
			return
		}
	}
	r.Passf("target.writable", "can create tables in schemas %v (tried in a transaction that was rolled back)", names)
}

// tlsCheck warns when the connection to a non-local server is not TLS with a verified
// certificate: libpq's default sslmode (prefer) encrypts without verifying.
func tlsCheck(r *finding.Report, cfg *pgx.ConnConfig) {
	host := cfg.Host
	local := strings.HasPrefix(host, "/") || host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
	switch {
	case cfg.TLSConfig != nil && !cfg.TLSConfig.InsecureSkipVerify:
		r.Passf("target.tls", "TLS, certificate chain and host name %q verified (sslmode=verify-full)", cfg.TLSConfig.ServerName)
	case cfg.TLSConfig != nil && cfg.TLSConfig.VerifyPeerCertificate != nil:
		// pgx implements verify-ca as a chain check without the host name.
		r.Warnf("target.tls", "use sslmode=verify-full in target.postgres.url to verify the host name too", "TLS to %s, certificate chain verified, host name NOT verified (sslmode=verify-ca)", host)
	case local && cfg.TLSConfig != nil:
		r.Passf("target.tls", "local server (%s): TLS without certificate verification (sslmode prefer or require)", host)
	case local:
		r.Passf("target.tls", "local server (%s): TLS not required", host)
	case cfg.TLSConfig == nil:
		r.Warnf("target.tls", "add sslmode=verify-full (and sslrootcert=...) to target.postgres.url", "the connection to %s is not encrypted", host)
	default:
		r.Warnf("target.tls", "use sslmode=verify-full (and sslrootcert=...) in target.postgres.url", "TLS to %s without certificate verification (sslmode prefer or require)", host)
	}
}

// Package postgres applies snapshots and change batches to PostgreSQL, keeping the
// checkpoint in the same transaction as the rows it covers.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/replicator/replicator/fault"
	"github.com/replicator/replicator/instance"
)

// Connect opens one connection to the target and explains failures without printing the
// password. The session carries this process's label (instance.Label) as its
// application_name, so a restart after a crash finds and ends what it left behind.
func Connect(ctx context.Context, url string) (*pgx.Conn, error) {
	return connectAs(ctx, url, instance.Self().Label())
}

// connectAs is Connect with the session's application_name, which pg_stat_activity shows.
func connectAs(ctx context.Context, url, app string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("target.postgres.url: %w", err)
	}
	cfg.RuntimeParams["application_name"] = app
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, explain(cfg, err)
	}
	return conn, nil
}

func explain(cfg *pgx.ConnConfig, err error) error {
	where := fmt.Sprintf("%s database %q as %q", net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), cfg.Database, cfg.User)
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "28P01", "28000":
			return fault.Describe(fmt.Sprintf("connect to target PostgreSQL %s: authentication failed (%v): check the user and password in target.postgres.url (%s)", where, fault.ErrAccessDenied, pe.Message), err, fault.ErrAccessDenied)
		case "3D000":
			return fault.Describe(fmt.Sprintf("connect to target PostgreSQL %s: database does not exist: create it or fix target.postgres.url", where), err)
		}
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("connect to target PostgreSQL %s: server unreachable: check host and port in target.postgres.url and that the server runs (%w)", where, err)
	}
	return fmt.Errorf("connect to target PostgreSQL %s: %w", where, err)
}

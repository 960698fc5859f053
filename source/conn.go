// Package source talks to the MySQL or MariaDB server being replicated: connections,
// flavor detection, server settings, GTID positions and table definitions. It and the
// snapshot reader are the only places that import go-mysql.
package source

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/replicator/replicator/config"
)

// Flavors of source server.
const (
	MySQL   = "mysql"
	MariaDB = "mariadb"
)

// ErrAccessDenied marks a login the source refused (wrong user or password, an account
// dropped or locked): a retry succeeds only once someone fixes the account, so the
// pipeline retries it for a bounded time only (see pipeline.Run).
var ErrAccessDenied = errors.New("access denied")

// ErrCertificate marks a server certificate that failed verification (an unknown CA, a
// host name it is not valid for, expired): the connection is refused, never downgraded, and
// like ErrAccessDenied it is retried for a bounded time only.
var ErrCertificate = errors.New("TLS certificate rejected")

// Dialer opens connections to the source with one resolved TLS decision, so the query
// connections and the binlog connection are secured alike.
type Dialer struct {
	cfg config.Source

	mu      sync.Mutex
	tls     *tls.Config // nil: plaintext
	decided bool
}

// NewDialer returns a Dialer for cfg. It does not connect.
func NewDialer(cfg config.Source) *Dialer { return &Dialer{cfg: cfg} }

// Addr is the source's host:port.
func (d *Dialer) Addr() string {
	return net.JoinHostPort(d.cfg.Host, strconv.Itoa(d.cfg.Port))
}

// Config returns the source configuration the dialer was made with.
func (d *Dialer) Config() config.Source { return d.cfg }

// TLSConfig returns the TLS configuration decided by the first successful Dial (nil for
// plaintext); the binlog syncer uses it.
func (d *Dialer) TLSConfig() *tls.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.tls
}

// TLSState says, for check, whether the connections are encrypted and what of the server's
// certificate is verified: its chain (against which roots) and its host name.
func (d *Dialer) TLSState() string {
	tc := d.TLSConfig()
	if tc == nil {
		if d.cfg.TLS.Mode == "disabled" {
			return "no (source.tls.mode = \"disabled\")"
		}
		return "no: the server offers none (source.tls.mode = \"preferred\"); set mode = \"required\" to refuse plaintext"
	}
	if tc.InsecureSkipVerify {
		return "yes, certificate NOT verified: neither chain nor host name (insecure_skip_verify)"
	}
	roots := "the system roots"
	if d.cfg.TLS.CAFile != "" {
		roots = "source.tls.ca_file " + d.cfg.TLS.CAFile
	}
	client := ""
	if len(tc.Certificates) > 0 {
		client = ", client certificate presented"
	}
	return fmt.Sprintf("yes, certificate chain verified against %s, host name %q verified%s", roots, tc.ServerName, client)
}

func (d *Dialer) buildTLS() (*tls.Config, error) {
	t := d.cfg.TLS
	if t.Mode == "disabled" {
		return nil, nil
	}
	tc := &tls.Config{ServerName: d.cfg.Host, InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if t.ServerName != "" {
		tc.ServerName = t.ServerName
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("source.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("source.tls.ca_file %s: no PEM certificate found", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("source.tls.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Dial opens one connection. The first call settles whether TLS is used: with mode
// "preferred" a server that offers no TLS is used in plaintext; a certificate that fails
// verification is always an error, never a silent downgrade.
func (d *Dialer) Dial(ctx context.Context) (*Conn, error) {
	d.mu.Lock()
	decided, tc := d.decided, d.tls
	d.mu.Unlock()
	if !decided {
		var err error
		if tc, err = d.buildTLS(); err != nil {
			return nil, err
		}
	}
	c, err := d.connect(ctx, tc)
	if err != nil && !decided && tc != nil && d.cfg.TLS.Mode == "preferred" && isNoTLS(err) {
		tc = nil
		c, err = d.connect(ctx, nil)
	}
	if err != nil {
		return nil, d.explain(err)
	}
	if !decided {
		d.mu.Lock()
		d.tls, d.decided = tc, true
		d.mu.Unlock()
	}
	return c, nil
}

// isNoTLS reports a server without TLS; go-mysql says so in text only
// (errors.New in client/auth.go).
func isNoTLS(err error) bool {
	return strings.Contains(err.Error(), "does not support TLS")
}

func (d *Dialer) connect(ctx context.Context, tc *tls.Config) (*Conn, error) {
	opt := func(c *client.Conn) error {
		if tc != nil {
			c.SetTLSConfig(tc)
		}
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, d.cfg.ConnectTimeout.Duration)
	defer cancel()
	raw, err := client.ConnectWithContext(cctx, d.Addr(), d.cfg.User, d.cfg.Password, "", d.cfg.ConnectTimeout.Duration, opt)
	if err != nil {
		return nil, err
	}
	// MariaDB prefixes its version with "5.5.5-" for old replication clients.
	c := &Conn{raw: raw, Version: strings.TrimPrefix(raw.GetServerVersion(), "5.5.5-")}
	c.Flavor = FlavorOf(c.Version)
	if d.cfg.Flavor != "" {
		c.Flavor = d.cfg.Flavor
	}
	// utf8mb4 and a UTC session: text values arrive as UTF-8 and TIMESTAMP columns in UTC,
	// whatever the server's defaults are.
	if _, err := c.Exec(ctx, "SET NAMES utf8mb4, time_zone = '+00:00'"); err != nil {
		c.Close()
		return nil, fmt.Errorf("set session: %w", err)
	}
	return c, nil
}

// explain turns connection errors into messages that say what to do.
func (d *Dialer) explain(err error) error {
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		var hostErr x509.HostnameError
		var authErr x509.UnknownAuthorityError
		switch {
		case errors.As(err, &hostErr):
			return fmt.Errorf("connect to source %s: %w: it is not valid for the host name %q (%w): connect by a name the certificate lists, or set source.tls.server_name to one",
				d.Addr(), ErrCertificate, hostErr.Host, err)
		case errors.As(err, &authErr):
			return fmt.Errorf("connect to source %s: %w: not signed by a trusted CA (%w): set source.tls.ca_file to the CA that signed the server's certificate",
				d.Addr(), ErrCertificate, err)
		}
		return fmt.Errorf("connect to source %s: %w (%w): set source.tls.ca_file to the server's CA, or source.tls.mode = \"disabled\"", d.Addr(), ErrCertificate, err)
	}
	var me *mysql.MyError
	if errors.As(err, &me) {
		switch me.Code {
		case mysql.ER_ACCESS_DENIED_ERROR, mysql.ER_DBACCESS_DENIED_ERROR:
			return fmt.Errorf("connect to source %s as %q: %w: check source.user and source.password (%s)", d.Addr(), d.cfg.User, ErrAccessDenied, me.Message)
		}
		return fmt.Errorf("connect to source %s: %w", d.Addr(), err)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("connect to source %s: server unreachable (%w): check source.host and source.port, and that the server is running", d.Addr(), err)
	}
	return fmt.Errorf("connect to source %s: %w", d.Addr(), err)
}

// FlavorOf tells MariaDB from MySQL by the server version string.
func FlavorOf(version string) string {
	if strings.Contains(strings.ToLower(version), "mariadb") {
		return MariaDB
	}
	return MySQL
}

// Conn is one source connection. Its methods take a context: cancelling it closes the
// connection, because the MySQL protocol has no other way to abandon a running query.
type Conn struct {
	raw     *client.Conn
	Flavor  string
	Version string
}

// Close closes the connection.
func (c *Conn) Close() error { return c.raw.Close() }

// Raw returns the underlying go-mysql connection for the snapshot reader.
func (c *Conn) Raw() *client.Conn { return c.raw }

// Exec runs a statement (with ? placeholders when args are given).
func (c *Conn) Exec(ctx context.Context, query string, args ...any) (*mysql.Result, error) {
	var res *mysql.Result
	err := c.guard(ctx, func() error {
		var err error
		res, err = c.raw.Execute(query, args...)
		return err
	})
	return res, err
}

// Guard runs fn, closing the connection if ctx ends first so fn returns promptly.
func (c *Conn) guard(ctx context.Context, fn func() error) error {
	if ctx.Done() == nil {
		return fn()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			c.raw.Close()
		case <-stop:
		}
	}()
	err := fn()
	close(stop)
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// Stream runs a SELECT and calls row for each row without buffering the result.
func (c *Conn) Stream(ctx context.Context, query string, row func([]mysql.FieldValue) error) error {
	var res mysql.Result
	return c.guard(ctx, func() error {
		return c.raw.ExecuteSelectStreaming(query, &res, func(r []mysql.FieldValue) error { return row(r) }, nil)
	})
}

// QueryStrings runs a query and returns every row as strings; NULL becomes nil. For small
// metadata queries only.
func (c *Conn) QueryStrings(ctx context.Context, query string, args ...any) ([][]*string, error) {
	res, err := c.Exec(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	if res.Resultset == nil {
		return nil, nil
	}
	out := make([][]*string, len(res.Values))
	for i, row := range res.Values {
		out[i] = make([]*string, len(row))
		for j, v := range row {
			if v.Type == mysql.FieldValueTypeNull {
				continue
			}
			s := fieldString(v)
			out[i][j] = &s
		}
	}
	return out, nil
}

func fieldString(v mysql.FieldValue) string {
	switch v.Type {
	case mysql.FieldValueTypeUnsigned:
		return strconv.FormatUint(v.AsUint64(), 10)
	case mysql.FieldValueTypeSigned:
		return strconv.FormatInt(v.AsInt64(), 10)
	case mysql.FieldValueTypeFloat:
		return strconv.FormatFloat(v.AsFloat64(), 'g', -1, 64)
	default:
		return string(v.AsString())
	}
}

// Variable returns a global or session variable (e.g. "@@GLOBAL.binlog_format"); an
// unknown variable gives ok=false.
func (c *Conn) Variable(ctx context.Context, name string) (val string, ok bool, err error) {
	rows, err := c.QueryStrings(ctx, "SELECT "+name)
	if err != nil {
		var me *mysql.MyError
		if errors.As(err, &me) && me.Code == mysql.ER_UNKNOWN_SYSTEM_VARIABLE {
			return "", false, nil
		}
		return "", false, err
	}
	if len(rows) == 0 || len(rows[0]) == 0 || rows[0][0] == nil {
		return "", true, nil
	}
	return *rows[0][0], true, nil
}

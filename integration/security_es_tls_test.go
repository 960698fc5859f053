//go:build integration

package integration

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// The secured node test.sh starts (integration/env/es.sh with ES_TLS=1): x-pack security,
// HTTPS with tls.sh's server certificate, one user with the Elasticsearch target's role.
var (
	esTLSURL  = envOr("REPLICATOR_ES_TLS_URL", "https://127.0.0.1:19202")
	esTLSUser = envOr("REPLICATOR_ES_TLS_USER", "it_admin")
	esTLSPw   = envOr("REPLICATOR_ES_TLS_PASSWORD", "it-tls-Secret-9")
)

// esTLSTarget connects to the secured node as esTLSUser, trusting the environment's CA.
func esTLSTarget(t *testing.T, name string) *esTarget {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(tlsDir, "ca.pem"))
	if err != nil {
		unavailable(t, "the test certificates (bash integration/env/tls.sh)", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return newESTargetWith(t, elasticsearch.Config{
		Addresses: []string{esTLSURL},
		Username:  esTLSUser,
		Password:  esTLSPw,
		Transport: &http.Transport{ResponseHeaderTimeout: 60 * time.Second, TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}, name)
}

// TestElasticsearchTLSNode replicates into a real Elasticsearch with security on, over
// verified HTTPS: snapshot and stream (multi-statement transactions) with basic auth, then
// on with an API key, and a new snapshot and stream with the API key, the index equal to
// the table row by row each time, and check saying
// what is verified. A wrong CA, a wrong host name and a wrong password each fail closed at
// check and at run with an error naming the key to fix. No password or API key appears in
// any output of the debug-level runs.
func TestElasticsearchTLSNode(t *testing.T) {
	db := "it_estls"
	et := esTLSTarget(t, "estls")
	ca := filepath.Join(tlsDir, "ca.pem")
	other := filepath.Join(tlsDir, "other-ca.pem")

	// An API key of the user (no role descriptors: the user's own privileges).
	var key struct {
		ID      string `json:"id"`
		APIKey  string `json:"api_key"`
		Encoded string `json:"encoded"`
	}
	esOK(t, et.es, esapi.SecurityCreateAPIKeyRequest{Body: strings.NewReader(`{"name":"it-estls"}`)}, &key)
	t.Cleanup(func() {
		esDo(t, et.es, esapi.SecurityInvalidateAPIKeyRequest{Body: strings.NewReader(`{"ids":["` + key.ID + `"]}`)})
	})
	secrets := []string{esTLSPw, key.APIKey, key.Encoded, base64.StdEncoding.EncodeToString([]byte(esTLSUser + ":" + esTLSPw))}
	var outputs []string
	record := func(out ...string) { outputs = append(outputs, out...) }

	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE `"+db+"`",
		"CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40), n BIGINT)",
		"CREATE TABLE u (k VARCHAR(20) PRIMARY KEY, d DATETIME(3))",
		"INSERT INTO t VALUES (1,'one',10),(2,'two',20),(3,'three',30)",
		"INSERT INTO u VALUES ('a','2024-01-02 03:04:05.678'),('b',NULL)")
	// conf renders the configuration with the [target.elasticsearch] keys of auth.
	conf := func(auth string) string {
		text := et.config(db, "[apply]\nflush_interval = \"100ms\"\naccess_denied_retry = \"2s\"\n")
		return writeConfig(t, strings.Replace(text, "[target.elasticsearch]\n", "[target.elasticsearch]\n"+auth+"\n", 1))
	}
	basic := conf(fmt.Sprintf("username = %q\npassword = %q\nca_file = %q", esTLSUser, esTLSPw, ca))
	apiKey := conf(fmt.Sprintf("api_key = %q\nca_file = %q", key.Encoded, ca))
	// transactions writes two multi-statement transactions touching both tables.
	transactions := func(base int) {
		mustExec(t, my, "USE `"+db+"`",
			"BEGIN",
			fmt.Sprintf("INSERT INTO t VALUES (%d,'new',%d),(%d,'newer',%d)", base, base, base+1, base+1),
			fmt.Sprintf("UPDATE t SET v = 'changed', n = n + %d WHERE id = 1", base),
			fmt.Sprintf("INSERT INTO u VALUES ('k%d', NOW(3))", base),
			"COMMIT",
			"BEGIN",
			fmt.Sprintf("DELETE FROM t WHERE id = %d", base+1),
			"UPDATE u SET d = '2030-12-31 23:59:59.999' WHERE k = 'a'",
			"COMMIT")
	}
	equal := func(what string, wantT, wantU int) {
		t.Helper()
		if n := et.assertIndexEqual(t, my, db, "t"); n != wantT {
			t.Fatalf("%s: table t has %d rows, want %d", what, n, wantT)
		}
		if n := et.assertIndexEqual(t, my, db, "u"); n != wantU {
			t.Fatalf("%s: table u has %d rows, want %d", what, n, wantU)
		}
	}

	for _, c := range []struct{ name, cfg string }{{"basic auth", basic}, {"API key", apiKey}} {
		out, res := runCheck(t, c.cfg)
		record(res.stdout, res.stderr)
		if res.code != 0 || !out.OK {
			t.Fatalf("check with %s over verified HTTPS failed (exit %d):\n%s\n%s", c.name, res.code, res.stdout, res.stderr)
		}
		want := `https: certificate chain verified against target.elasticsearch.ca_file ` + ca + `, host name "127.0.0.1" verified`
		if d := detailOf(out, "target.tls"); d != want {
			t.Errorf("check with %s: target.tls = %q, want %q", c.name, d, want)
		}
	}

	// Basic auth: snapshot, then the stream.
	p := startCLI(t, "run", "-c", basic, "--log-level", "debug")
	et.waitCaughtUp(t, my, p, 2*time.Minute)
	equal("after the snapshot", 3, 2)
	transactions(100)
	et.waitCaughtUp(t, my, p, time.Minute)
	equal("streamed with basic auth", 4, 3)
	p.stop(t)
	record(p.output())

	// The API key: streaming resumes from the checkpoint.
	transactions(200)
	p = startCLI(t, "run", "-c", apiKey, "--log-level", "debug")
	et.waitCaughtUp(t, my, p, time.Minute)
	transactions(300)
	et.waitCaughtUp(t, my, p, time.Minute)
	equal("streamed with the API key", 6, 5)
	p.stop(t)
	record(p.output())

	// The API key from scratch: indexes and state gone, a new snapshot, then the stream.
	et.cleanup(t)
	p = startCLI(t, "run", "-c", apiKey, "--log-level", "debug")
	et.waitCaughtUp(t, my, p, 2*time.Minute)
	equal("snapshot with the API key", 6, 5)
	transactions(400)
	et.waitCaughtUp(t, my, p, time.Minute)
	equal("snapshot and stream with the API key", 7, 6)
	p.stop(t)
	record(p.output())

	// Fail closed, at check and at run (which stops after access_denied_retry).
	for _, c := range []struct{ name, auth, want string }{
		{"wrong CA", fmt.Sprintf("username = %q\npassword = %q\nca_file = %q", esTLSUser, esTLSPw, other),
			"TLS certificate rejected: not signed by a trusted CA"},
		{"wrong host name", fmt.Sprintf("username = %q\npassword = %q\nca_file = %q\nserver_name = \"wrong.example\"", esTLSUser, esTLSPw, ca),
			`TLS certificate rejected: it is not valid for the host name "wrong.example"`},
		{"wrong password", fmt.Sprintf("username = %q\npassword = \"not-the-password\"\nca_file = %q", esTLSUser, ca),
			"check target.elasticsearch username/password or api_key"},
	} {
		cfg := conf(c.auth)
		out, res := runCheck(t, cfg)
		record(res.stdout, res.stderr)
		st, fix := statusOf(out, "target.connect")
		if res.code == 0 || st != "fail" || !strings.Contains(detailOf(out, "target.connect"), c.want) {
			t.Errorf("%s: check target.connect = %s %q (fix %q), want a failure saying %q", c.name, st, detailOf(out, "target.connect"), fix, c.want)
		}
		t.Logf("%s: check: %s (fix: %s)", c.name, detailOf(out, "target.connect"), fix)
		r := runCLI(t, 90*time.Second, "run", "-c", cfg, "--log-level", "debug")
		record(r.stdout, r.stderr)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: run exit %d, want a stop saying %q:\n%s", c.name, r.code, c.want, tail(r.stderr, 5))
		}
		t.Logf("%s: run: %s", c.name, lastLine(r.stderr))
	}

	for _, o := range outputs {
		for _, s := range secrets {
			if strings.Contains(o, s) {
				i := strings.Index(o, s)
				t.Errorf("a secret (%d characters) appears in the output: ...%s...", len(s), strings.ReplaceAll(o[max(0, i-200):i], "\n", " | "))
			}
		}
	}
}

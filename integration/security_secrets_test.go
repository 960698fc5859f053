//go:build integration

package integration

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Distinctive secrets: any occurrence in any output is a leak.
const (
	secretSourcePw = "SrcSecret-q7Zp4w"
	secretTargetPw = "TgtSecret-k3Vn8x"
	secretWrongPw  = "WrongSecret-h4Dk1s"
	secretESPw     = "EsSecret-m2Rt6y"
	secretESKey    = "EsApiKey-j9Lc5b"
)

// leaks returns the secrets (and their base64 forms, as sent in an Authorization header)
// found in out.
func leaks(out string) []string {
	var found []string
	for _, s := range []string{secretSourcePw, secretTargetPw, secretWrongPw, secretESPw, secretESKey} {
		for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte("it_secret:" + s)), base64.StdEncoding.EncodeToString([]byte(s))} {
			if strings.Contains(out, form) {
				found = append(found, form)
			}
		}
	}
	return found
}

// secretAccount creates a source account with the README's grants and a distinctive
// password.
func secretAccount(t *testing.T) {
	root := mysqlRoot(t)
	mustExec(t, root,
		"DROP USER IF EXISTS 'it_secret'@'127.0.0.1'",
		"CREATE USER 'it_secret'@'127.0.0.1' IDENTIFIED BY '"+secretSourcePw+"'",
		"GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR ON *.* TO 'it_secret'@'127.0.0.1'")
	t.Cleanup(func() { mustExec(t, mysqlRoot(t), "DROP USER IF EXISTS 'it_secret'@'127.0.0.1'") })
}

// TestSecretsNeverPrinted runs every command at debug level with distinctive passwords
// (source, PostgreSQL URL, Elasticsearch basic auth and API key, a wrong password, broken
// configurations) and requires that none of them appears in any output.
func TestSecretsNeverPrinted(t *testing.T) {
	secretAccount(t)
	root := mysqlRoot(t)
	freshMySQLDatabase(t, root, "it_secret")
	mustExec(t, root, "CREATE TABLE it_secret.t (id INT PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO it_secret.t VALUES (1,'a'),(2,'b')")
	plain := freshPGDatabase(t)
	// The local PostgreSQL trusts 127.0.0.1, so the password is sent (or not) and ignored:
	// what matters is that the replicator never prints it.
	url := strings.Replace(plain, "postgres://postgres@", "postgres://postgres:"+secretTargetPw+"@", 1)
	tables := "\n[[tables]]\nsource = \"it_secret.*\"\n"
	// A server id of its own: tests running alongside use configText's.
	conf := func(pw, url string) string {
		return strings.Replace(configText("it_secret", pw, url, tables), "server_id = 4201", "server_id = 4292", 1)
	}
	cfg := writeConfig(t, conf(secretSourcePw, url))

	var all strings.Builder
	record := func(what string, out ...string) {
		for _, o := range out {
			all.WriteString(o)
			if l := leaks(o); len(l) > 0 {
				t.Errorf("%s prints a secret %v:\n%s", what, l, tail(o, 20))
			}
			// The redactor is the last line of defence: what it had to blank out, a
			// code path printed.
			if i := strings.Index(o, "[redacted]"); i >= 0 {
				t.Errorf("%s printed a secret that only the redactor stopped: ...%s...", what, o[max(0, i-300):min(len(o), i+100)])
			}
		}
	}
	// runFor runs a command that may retry for ever (an unreachable server) for d, then
	// kills it.
	runFor := func(what string, d time.Duration, args ...string) {
		p := startCLI(t, args...)
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) && !p.exited() {
			time.Sleep(100 * time.Millisecond)
		}
		p.kill()
		record(what, p.output())
	}
	cli := func(what string, args ...string) result {
		start := time.Now()
		res := runCLI(t, 90*time.Second, args...)
		if d := time.Since(start); d > 10*time.Second {
			t.Logf("%s took %s", what, d.Round(time.Second))
		}
		record(what, res.stdout, res.stderr)
		return res
	}

	// Snapshot, then streaming.
	p := startCLI(t, "run", "-c", cfg, "--log-level", "debug")
	pg := pgConnect(t, plain)
	waitCaughtUp(t, root, pg, p, 60*time.Second)
	before := sourceGTID(t, root)
	mustExec(t, root, "INSERT INTO it_secret.t VALUES (3,'c')", "UPDATE it_secret.t SET v = 'z' WHERE id = 1")
	waitCaughtUp(t, root, pg, p, 60*time.Second)
	cli("status", "status", "-c", cfg, "--log-level", "debug")
	cli("status --json", "status", "-c", cfg, "--json", "--log-level", "debug")
	cli("check", "check", "-c", cfg, "--log-level", "debug")
	cli("check --json", "check", "-c", cfg, "--json", "--log-level", "debug")
	cli("verify", "verify", "-c", cfg, "--log-level", "debug")
	cli("verify --json", "verify", "-c", cfg, "--json", "--log-level", "debug")
	if r := cli("events", "events", "-c", cfg, "--from", before, "--log-level", "debug"); !strings.Contains(r.stdout, "it_secret") {
		t.Errorf("events printed no change of it_secret.t:\n%s", r.stdout)
	}
	p.stop(t)
	record("run", p.output())
	if !strings.Contains(all.String(), `"level":"DEBUG"`) {
		t.Fatalf("no debug line was printed: the test would not see what debug logging leaks")
	}

	// A wrong source password: check, and run (which must stop or keep saying why).
	bad := writeConfig(t, conf(secretWrongPw, url))
	cli("check with a wrong password", "check", "-c", bad, "--json", "--log-level", "debug")
	cli("check with a wrong password (text)", "check", "-c", bad, "--log-level", "debug")
	runFor("run with a wrong password", 4*time.Second, "run", "-c", bad, "--log-level", "debug")
	cli("events with a wrong password", "events", "-c", bad, "--from", before, "--log-level", "debug")

	// Unreachable and refusing targets with a password in the URL.
	for _, u := range []string{
		"postgres://postgres:" + secretTargetPw + "@127.0.0.1:1/x?sslmode=disable",
		strings.Replace(url, "/it_", "/nosuchdb_", 1),
		"postgres://postgres:" + secretTargetPw + "@127.0.0.1:notaport/x",
		"host=127.0.0.1 port=1 user=postgres password=" + secretTargetPw + " dbname=x sslmode=disable",
		"postgres://postgres:" + secretTargetPw + "@127.0.0.1:" + pgPort() + "/x?sslmode=bogus",
	} {
		c := writeConfig(t, conf(secretSourcePw, u))
		cli("check, target "+u, "check", "-c", c, "--json", "--log-level", "debug")
		cli("status, target "+u, "status", "-c", c, "--log-level", "debug")
		runFor("run, target "+u, 3*time.Second, "run", "-c", c, "--log-level", "debug", "--log-format", "text")
	}

	// Broken configurations around the secrets.
	for i, text := range []string{
		configText("it_secret", secretSourcePw, url, tables+"[snapshot]\nparalelism = 3\n"),
		strings.Replace(configText("it_secret", secretSourcePw, url, tables), `password = "`+secretSourcePw+`"`, `password = "`+secretSourcePw, 1),
		strings.Replace(configText("it_secret", secretSourcePw, url, tables), `password = "`+secretSourcePw+`"`, `password = `+secretSourcePw, 1),
		strings.Replace(configText("it_secret", secretSourcePw, url, tables), `password = "`+secretSourcePw+`"`, `password = ["`+secretSourcePw+`"]`, 1),
		strings.Replace(configText("it_secret", secretSourcePw, url, tables), `url = "`, `url = "${NO_SUCH_VAR_`+secretTargetPw+`}`, 1),
		configText("it_secret", secretSourcePw, url, tables+"[apply]\nbatch_rows = -1\n"),
	} {
		cli(fmt.Sprintf("bad config %d", i), "check", "-c", writeConfig(t, text), "--log-level", "debug")
	}

	// Elasticsearch with basic authentication, then with an API key (the test node has
	// security disabled and ignores both; the replicator must still never print them).
	et := newESTarget(t, "secrets")
	defer et.cleanup(t)
	for _, auth := range []string{
		fmt.Sprintf("username = \"it_secret\"\npassword = %q\n", secretESPw),
		fmt.Sprintf("api_key = %q\n", secretESKey),
	} {
		text := strings.Replace(et.config("it_secret", ""), "\n[state]", auth+"\n[state]", 1)
		text = strings.Replace(text, "server_id = 4272", "server_id = 4293", 1)
		text = strings.Replace(text, `user = "replicator"`+"\npassword = \""+mysqlReplPass+"\"", `user = "it_secret"`+"\npassword = \""+secretSourcePw+"\"", 1)
		c := writeConfig(t, text)
		cli("check (Elasticsearch)", "check", "-c", c, "--json", "--log-level", "debug")
		r := cli("snapshot (Elasticsearch)", "snapshot", "-c", c, "--log-level", "debug")
		if r.code != 0 {
			t.Errorf("snapshot into Elasticsearch failed (exit %d):\n%s", r.code, tail(r.stderr, 20))
		}
		cli("status (Elasticsearch)", "status", "-c", c, "--json", "--log-level", "debug")
		cli("verify (Elasticsearch)", "verify", "-c", c, "--log-level", "debug")
		// The credentials written into a reachable address, then an unreachable node.
		inURL := strings.Replace(text, esURL, strings.Replace(esURL, "://", "://it_secret:"+secretESPw+"@", 1), 1)
		cli("check (Elasticsearch, user:password in the address)", "check", "-c", writeConfig(t, inURL), "--json", "--log-level", "debug")
		down := strings.Replace(text, esURL, "http://it_secret:"+secretESPw+"@127.0.0.1:1", 1)
		cli("check (Elasticsearch unreachable)", "check", "-c", writeConfig(t, down), "--json", "--log-level", "debug")
		runFor("run (Elasticsearch unreachable)", 3*time.Second, "run", "-c", writeConfig(t, down), "--log-level", "debug")
	}
	t.Logf("%d bytes of output searched for secrets", all.Len())
}

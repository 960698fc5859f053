//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// configText renders a configuration for the local servers; extra is appended verbatim.
func configText(user, password, targetURL, extra string) string {
	return fmt.Sprintf(`[source]
host = %q
port = %s
user = %q
password = %q
server_id = 4201
[source.tls]
mode = "disabled"

[target]
type = "postgres"
[target.postgres]
url = %q

[log]
level = "debug"
format = "json"
%s
`, mysqlHost, mysqlPort, user, password, targetURL, extra)
}

// writeConfig writes a configuration file into the test's temporary directory.
func writeConfig(t testing.TB, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func streamConfig(url, db string) string {
	return configText("replicator", mysqlReplPass, url, fmt.Sprintf(`
[apply]
flush_interval = "100ms"
batch_rows = 2000
[snapshot]
chunk_rows = 1000
[[tables]]
source = "%s.*"
`, db))
}

// boundaryConfig streams db.* in small batches, so one large source transaction is
// applied in many parts before it commits; serverID keeps tests from sharing a binlog
// dump id.
func boundaryConfig(url, db string, serverID int) string {
	return strings.Replace(configText("replicator", mysqlReplPass, url, fmt.Sprintf(`
[apply]
batch_rows = 2000
[snapshot]
chunk_rows = 5000
[[tables]]
source = "%s.*"
`, db)), "server_id = 4201", fmt.Sprintf("server_id = %d", serverID), 1)
}

// withServerID gives a configuration its own source.server_id: replicators streaming at
// the same time with one server_id would disconnect each other.
func withServerID(cfg string, id int) string {
	return regexp.MustCompile(`(?m)^server_id = \d+$`).ReplaceAllString(cfg, fmt.Sprintf("server_id = %d", id))
}

// sourcePort rewrites a configuration's source port (to put a proxy in between).
func sourcePort(cfg, port string) string {
	return strings.Replace(cfg, "port = "+mysqlPort+"\n", "port = "+port+"\n", 1)
}

// config renders a configuration replicating db.* into this target; extra is appended.
func (et *esTarget) config(db, extra string) string {
	return fmt.Sprintf(`[source]
host = %q
port = %s
user = "replicator"
password = %q
server_id = 4272
[source.tls]
mode = "disabled"

[target]
type = "elasticsearch"
[target.elasticsearch]
addresses = [%q]

[state]
index = %q

[log]
level = "debug"
format = "json"

[[tables]]
source = "%s.*"
target = "%s{db}.{table}"
%s
`, mysqlHost, mysqlPort, mysqlReplPass, et.url, et.state, db, et.prefix, extra)
}

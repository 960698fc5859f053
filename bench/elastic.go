package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
)

// benchElastic measures the Elasticsearch target on the same tables: the snapshot in
// documents/s (with the CPU each process spent, to show where the time goes), then
// streaming under the same sysbench load, with lag from the heartbeat document.
func benchElastic(ctx context.Context, bin, dir string, my *client.Conn) {
	root, err := esDo(http.MethodGet, "/", nil)
	if err != nil {
		log.Printf("Elasticsearch at %s does not answer (%v): skipped", esURL, err)
		return
	}
	var info struct {
		Version struct {
			Number string `json:"number"`
		} `json:"version"`
	}
	if json.Unmarshal(root, &info) == nil {
		report("machine: Elasticsearch", "target, one node", "%s", info.Version.Number)
	}
	const stateIndex = "bench-replicator-state"
	for _, idx := range append(benchIndexes(), stateIndex) {
		deleteIndexAndGenerations(idx)
	}
	cfgPath := filepath.Join(dir, "config-es.toml")
	check(os.WriteFile(cfgPath, []byte(fmt.Sprintf(`[source]
host = %q
port = %s
user = "replicator"
password = %q
server_id = 4298
[source.tls]
mode = "disabled"
[target]
type = "elasticsearch"
[target.elasticsearch]
addresses = [%q]
[state]
index = %q
[apply]
flush_interval = %q
[log]
format = "json"
[[tables]]
source = "bench.*"
`, myHost, myPort, myRepl, esURL, stateIndex, esFlush.String())), 0o600))

	javaPID := esPID()
	javaCPU0 := pidTreeCPU(javaPID)
	cpu0 := serverCPU(ctx, my)
	out, rss, wall, ownCPU := runToEnd(bin, "snapshot", "-c", cfgPath)
	javaCPU := pidTreeCPU(javaPID) - javaCPU0
	if javaPID == 0 || esPID() != javaPID {
		javaCPU = math.NaN()
	}
	cpu := serverCPU(ctx, my).sub(cpu0)
	m := regexp.MustCompile(`(\d+) rows, ([\d.]+) MB in \S+ \((\d+) rows/s, ([\d.]+) MB/s\)`).FindStringSubmatch(out)
	if m == nil {
		fatalf("unexpected snapshot output: %s", out)
	}
	report("Elasticsearch snapshot docs/s", fmt.Sprintf("%s documents, wall %s", m[1], wall.Round(time.Millisecond)), "%s", m[3])
	report("Elasticsearch snapshot CPU", fmt.Sprintf("seconds over %.1f s: Elasticsearch, MariaDB, replicator", wall.Seconds()), "%s / %s / %.1f",
		secs(javaCPU), secs(cpu.my), ownCPU)
	report("Elasticsearch snapshot peak RSS", "replicator", "%.0f MiB", rss)
	// The bulk ceiling over one table's documents: the node is CPU-bound, so its rate
	// does not depend on how many tables the documents come from.
	if ceil, conc := esBulkCeiling("bench.sbtest1", []int{2, 4}); ceil > 0 {
		snapRate, _ := strconv.ParseFloat(m[3], 64)
		report("ceiling: Elasticsearch bulk", fmt.Sprintf("the snapshot's documents of bench.sbtest1 read back, bulk-loaded by a bare client, 4 MiB requests, refresh off, no replicas; best at concurrency %d of 2, 4", conc), "%.0f docs/s", ceil)
		report("Elasticsearch snapshot / bulk ceiling", "target: at least 0.8", "%.2f", snapRate/ceil)
	}

	// Streaming under the same write load, lag read from the heartbeat document.
	if *esSettle > 0 {
		log.Printf("letting Elasticsearch settle for %s after the load", *esSettle)
		time.Sleep(*esSettle)
	}
	run := startRun(bin, cfgPath)
	mustExec(my, "UPDATE bench.heartbeat SET ts = UTC_TIMESTAMP(6) WHERE id = 1")
	waitCaughtUpStatus(bin, cfgPath, my, 10*time.Minute)
	stopHB := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); heartbeat(stopHB) }()
	var lags []float64
	go func() { defer wg.Done(); lags = sampleLag(stopHB, readHeartbeatES) }()
	writes, tps := sysbench(*duration, 0)
	t0 := time.Now()
	waitCaughtUpStatus(bin, cfgPath, my, 10*time.Minute)
	catchUp := time.Since(t0)
	close(stopHB)
	wg.Wait()
	report("Elasticsearch streaming: applied row changes/s", fmt.Sprintf("sysbench %.0f tx/s; caught up %s after the load stopped", tps, catchUp.Round(time.Millisecond)),
		"%.0f", float64(writes)/(duration.Seconds()+catchUp.Seconds()))
	report("Elasticsearch streaming: lag p50 / p99 / max", fmt.Sprintf("%d heartbeat samples", len(lags)), "%.3f s / %.3f s / %.3f s",
		percentile(lags, 0.5), percentile(lags, 0.99), percentile(lags, 1))
	report("Elasticsearch streaming peak RSS", "", "%.0f MiB", run.stop())
	for _, idx := range append(benchIndexes(), stateIndex) {
		deleteIndexAndGenerations(idx)
	}
}

func benchIndexes() []string {
	idx := []string{"bench.heartbeat"}
	for i := 1; i <= *tables; i++ {
		idx = append(idx, fmt.Sprintf("bench.sbtest%d", i))
	}
	return idx
}

// deleteIndexAndGenerations deletes an index of an earlier run: a table's name is an
// alias of generations (NAME-g000001, ...), which a DELETE of the name refuses, so the
// concrete indexes are listed and deleted one by one (a wildcard DELETE is refused by
// default).
func deleteIndexAndGenerations(name string) {
	out, err := esDo(http.MethodGet, "/_cat/indices/"+name+","+name+"-g*?h=index&expand_wildcards=all&ignore_unavailable=true", nil)
	if err != nil {
		return
	}
	for _, idx := range strings.Fields(string(out)) {
		if idx == name || strings.HasPrefix(idx, name+"-g") {
			_, _ = esDo(http.MethodDelete, "/"+idx, nil)
		}
	}
}

func esDo(method, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequest(method, strings.TrimRight(esURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return b, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	return b, err
}

// waitCaughtUpStatus polls 'replicator status' until the checkpoint covers the source's
// position (target-neutral, unlike waitCaughtUp's direct PostgreSQL read).
func waitCaughtUpStatus(bin, cfg string, my *client.Conn, timeout time.Duration) {
	want := sourceGTID(my)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		out, err := exec.Command(bin, "status", "-c", cfg, "--json").Output()
		var st struct {
			State *struct {
				GTID  string `json:"gtid"`
				Phase string `json:"phase"`
			} `json:"state"`
		}
		if err == nil && json.Unmarshal(out, &st) == nil && st.State != nil && st.State.Phase == "streaming" && covers(st.State.GTID, want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	fatalf("Elasticsearch target did not catch up to %s within %s", want, timeout)
}

// readHeartbeatES reads the heartbeat document's timestamp (a real-time GET sees the last
// indexed version without waiting for a refresh).
func readHeartbeatES() (time.Time, error) {
	b, err := esDo(http.MethodGet, "/bench.heartbeat/_doc/1?realtime=true", nil)
	if err != nil {
		return time.Time{}, err
	}
	var doc struct {
		Source struct {
			TS string `json:"ts"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return time.Time{}, err
	}
	return time.Parse("2006-01-02 15:04:05.999999", doc.Source.TS)
}

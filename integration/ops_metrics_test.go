//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metricValue sums the samples of a metric whose labels contain every given fragment.
func metricValue(body, name string, labels ...string) float64 {
	sum := 0.0
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? (\S+)$`)
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(m[1], l)
		}
		if ok {
			v, _ := strconv.ParseFloat(m[2], 64)
			sum += v
		}
	}
	return sum
}

func TestMetricsHealthAndStatus(t *testing.T) {
	my := mysqlRoot(t)
	db := "it_ops"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, wlTable)
	seed(t, my, db, 5000)
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cfg := writeConfig(t, streamConfig(url, db)+fmt.Sprintf("\n[http]\nlisten = \"127.0.0.1:%d\"\nready_max_lag = \"10s\"\n", port))
	p := startCLI(t, "run", "-c", cfg)
	waitCaughtUp(t, my, pg, p, time.Minute)

	if code, body, err := httpGet(base + "/healthz"); err != nil || code != 200 {
		t.Fatalf("/healthz: %d %q %v", code, body, err)
	}
	// The checkpoint the snapshot hands over can be caught up with a moment before the
	// stream reports its phase.
	var code int
	var body string
	var err error
	if !waitFor(10*time.Second, func() bool {
		code, body, err = httpGet(base + "/readyz")
		return err == nil && code == 200 && strings.Contains(body, "streaming")
	}) {
		t.Errorf("/readyz while streaming: %d %q %v", code, body, err)
	}
	_, before, err := httpGet(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	wait := workload(t, db, 2, stop)
	// Sample lag while the workload runs: it must be reported (and stay a number).
	var sawLag bool
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		_, body, err := httpGet(base + "/metrics")
		if err == nil && metricValue(body, "replicator_lag_seconds") > 0 {
			sawLag = true
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	n := wait()
	waitCaughtUp(t, my, pg, p, time.Minute)
	_, after, err := httpGet(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	up0 := metricValue(before, "replicator_rows_applied_total", `table="it_ops.wl"`, `op="upsert"`)
	up1 := metricValue(after, "replicator_rows_applied_total", `table="it_ops.wl"`, `op="upsert"`)
	if up1 <= up0 {
		t.Errorf("rows applied did not move: %v -> %v after %d statements", up0, up1, n)
	}
	if b0, b1 := metricValue(before, "replicator_batches_total"), metricValue(after, "replicator_batches_total"); b1 <= b0 {
		t.Errorf("batches did not move: %v -> %v", b0, b1)
	}
	if !sawLag {
		t.Errorf("replicator_lag_seconds never rose above 0 during the workload")
	}
	if lag := metricValue(after, "replicator_lag_seconds"); lag != 0 {
		t.Errorf("lag after catching up = %v, want 0", lag)
	}
	for _, m := range []string{"replicator_events_read_total", "replicator_batch_seconds_bucket", "replicator_reconnects_total", "replicator_snapshot_rows"} {
		if !strings.Contains(after, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}

	// A second instance on the same target state refuses to start.
	res := runCLI(t, 30*time.Second, "run", "-c", writeConfig(t, streamConfig(url, db)))
	if res.code == 0 || !strings.Contains(res.stderr, "another replicator with state.name \"default\" is already running") {
		t.Errorf("second instance: exit %d, stderr %s", res.code, tail(res.stderr, 3))
	}

	// status, text and JSON, while it runs.
	st := runCLI(t, 30*time.Second, "status", "-c", cfg)
	if st.code != 0 || !strings.Contains(st.stdout, "phase       streaming") || !strings.Contains(st.stdout, "behind      0 transactions") {
		t.Errorf("status: exit %d\n%s\n%s", st.code, st.stdout, tail(st.stderr, 5))
	}
	t.Logf("status output:\n%s", st.stdout)
	sj := runCLI(t, 30*time.Second, "status", "-c", cfg, "--json")
	var js struct {
		State struct {
			Phase string `json:"phase"`
			GTID  string `json:"gtid"`
		} `json:"state"`
		SourceGTID string `json:"source_gtid"`
		BehindTxns *int64 `json:"behind_transactions"`
	}
	if err := json.Unmarshal([]byte(sj.stdout), &js); err != nil || js.State.Phase != "streaming" || js.BehindTxns == nil || js.SourceGTID == "" {
		t.Errorf("status --json: %v\n%s", err, sj.stdout)
	}
	p.stop(t)
	if code, _, err := httpGet(base + "/healthz"); err == nil {
		t.Errorf("listener still answers after stop (%d)", code)
	}
}

//go:build integration

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
)

// seekReadTimeout is the test's source.binlog_read_timeout: far below what MariaDB takes
// to find a GTID position behind ~900 MB of binlog read from disk.
const seekReadTimeout = 300 * time.Millisecond

// TestBinlogSeekOutlastsReadTimeout restarts streaming from a checkpoint behind ~900 MB
// of binlog in the same file, with the file out of the page cache. MariaDB sends nothing while
// it reads up to the position; before source.binlog_seek_timeout existed, go-mysql's one
// read timeout covered that silence and every attempt failed the same way, so streaming
// never started. The first run, with the seek timeout as short as the read timeout (the
// old behaviour), must fail that way; the second, with the default seek timeout, must
// stream, catch up and then stay connected on heartbeats alone.
func TestBinlogSeekOutlastsReadTimeout(t *testing.T) {
	my := mysqlRoot(t)
	const db, ballast = "it_seek", "it_seek_ballast"
	mbs := faultSize("REPLICATOR_SEEK_MB", 896, 896)
	base, file := binlogFile(t, my)
	if _, err := os.Stat(base + "." + file[strings.LastIndexByte(file, '.')+1:]); err != nil {
		t.Skipf("the source's binlog files are not on this machine (%v): the test evicts one from the page cache", err)
	}
	// A fresh file holds the checkpoint and the ballast after it, under max_binlog_size.
	mustExec(t, my, "FLUSH BINARY LOGS")
	base, file = binlogFile(t, my)
	path := base + "." + file[strings.LastIndexByte(file, '.')+1:]
	freshMySQLDatabase(t, my, db)
	freshMySQLDatabase(t, my, ballast)
	t.Cleanup(func() { _, _ = my.Execute("DROP DATABASE IF EXISTS `" + ballast + "`") })
	// The ballast comes first: the server skips what lies before the start position.
	start := time.Now()
	mustExec(t, my, "USE `"+ballast+"`", "CREATE TABLE b (id INT AUTO_INCREMENT PRIMARY KEY, b LONGBLOB)")
	for i := 0; i < mbs/64; i++ { // 8 rows of 8 MiB a statement
		mustExec(t, my, fmt.Sprintf("INSERT INTO b (b) SELECT REPEAT(CHAR(%d), 8388608) FROM seq_1_to_8", 65+i%26))
	}
	mustExec(t, my, "DROP TABLE b")
	t.Logf("wrote %d MB of binlog in %s", mbs, time.Since(start).Round(time.Millisecond))
	mustExec(t, my, "USE `"+db+"`",
		"CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40))",
		"INSERT INTO t VALUES (1, 'before the restart')")

	// The checkpoint lands behind the ballast, in the same file.
	url := freshPGDatabase(t)
	keys := func(extra string) string {
		cfg := withServerID(streamConfig(url, db), 4290)
		return strings.Replace(cfg, "server_id = 4290\n", "server_id = 4290\n"+extra, 1)
	}
	p := startCLI(t, "run", "--config", writeConfig(t, keys("")))
	waitStreaming(t, p)
	pg := pgConnect(t, url)
	waitCaughtUp(t, my, pg, p, time.Minute)
	p.stop(t)
	mustExec(t, my, "INSERT INTO t VALUES (2, 'after the restart')")
	if _, f := binlogFile(t, my); f != file {
		t.Fatalf("the ballast rotated the binlog (%s -> %s): lower REPLICATOR_SEEK_MB under max_binlog_size", file, f)
	}

	// The old behaviour: one timeout for the seek and the stream.
	evict(t, path)
	p = startCLI(t, "run", "--config", writeConfig(t, keys(fmt.Sprintf("binlog_read_timeout = %q\nbinlog_seek_timeout = %q\n", seekReadTimeout, seekReadTimeout))))
	if !waitOutput(p, "source.binlog_seek_timeout", time.Minute) {
		t.Fatalf("with binlog_seek_timeout = binlog_read_timeout = %s the seek did not time out: the test does not reproduce a slow seek\n%s", seekReadTimeout, tail(p.output(), 30))
	}
	p.kill()
	line := grepLine(p.output(), "source.binlog_seek_timeout")
	if !strings.Contains(line, "while finding the start position") {
		t.Errorf("the seek timeout's message does not say what happened: %s", line)
	}
	t.Logf("with one timeout: %s", line)

	// The fix: the seek has its own, long, timeout; the stream keeps the short one.
	evict(t, path)
	p = startCLI(t, "run", "--config", writeConfig(t, keys(fmt.Sprintf("binlog_read_timeout = %q\n", seekReadTimeout))))
	waitCaughtUp(t, my, pg, p, 2*time.Minute)
	m := regexp.MustCompile(`"msg":"binlog stream at its start position".*"seek":"([^"]+)"`).FindStringSubmatch(p.output())
	if m == nil {
		t.Fatalf("no log of the stream reaching its start position\n%s", tail(p.output(), 30))
	}
	seek, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if seek <= seekReadTimeout {
		t.Fatalf("the seek took %s, not more than the read timeout %s: the test did not exercise a slow seek", seek, seekReadTimeout)
	}
	t.Logf("seek took %s with binlog_read_timeout = %s", seek, seekReadTimeout)
	// Idle after catching up: only heartbeats (every 100 ms) keep the 300 ms timeout met.
	time.Sleep(10 * seekReadTimeout)
	for _, bad := range []string{"stream interrupted", "source.binlog_read_timeout", "source.binlog_seek_timeout"} {
		if strings.Contains(p.output(), bad) {
			t.Fatalf("the stream was interrupted (%q): %s", bad, grepLine(p.output(), bad))
		}
	}
	if n := assertTableEqual(t, my, pg, db, "t", db, "t"); n != 2 {
		t.Fatalf("%d rows replicated, want 2", n)
	}
	p.stop(t)
}

// binlogFile returns the source's binlog base name and its current file.
func binlogFile(t *testing.T, my *client.Conn) (base, file string) {
	t.Helper()
	r, err := my.Execute("SELECT @@GLOBAL.log_bin_basename")
	if err != nil {
		t.Fatal(err)
	}
	base, _ = r.GetString(0, 0)
	r, err = my.Execute("SHOW MASTER STATUS")
	if err != nil {
		t.Fatal(err)
	}
	file, _ = r.GetString(0, 0)
	return base, file
}

// evict writes the file's dirty pages and drops it from the page cache (fadvise
// DONTNEED through dd), so the server reads it from disk again, as a big binlog file
// outside the cache is read.
func evict(t *testing.T, path string) {
	t.Helper()
	for _, c := range [][]string{{"sync", path}, {"dd", "if=" + path, "iflag=nocache", "count=0", "status=none"}} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(c, " "), err, out)
		}
	}
}

// grepLine is the first line of out that contains s.
func grepLine(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

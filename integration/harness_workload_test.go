//go:build integration

package integration

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
)

// workload writes random inserts, updates (some changing the key), deletes and
// multi-row transactions to db.wl until stop is closed. Returns the number of statements.
func workload(t testing.TB, db string, workers int, stop <-chan struct{}) func() int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			c, err := client.Connect(mysqlHost+":"+mysqlPort, "root", mysqlRootPass, db)
			if err != nil {
				t.Errorf("workload connect: %v", err)
				return
			}
			defer c.Close()
			rng := rand.New(rand.NewSource(seed))
			n := 0
			for {
				select {
				case <-stop:
					mu.Lock()
					total += n
					mu.Unlock()
					return
				default:
				}
				id := rng.Intn(5000) + 1
				var q string
				switch op := rng.Intn(10); {
				case op < 4:
					q = "INSERT INTO wl (id, grp, v, note) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE v = v + 1"
					_, err = c.Execute(q, id, rng.Intn(10), rng.Int63(), randText(rng))
				case op < 7:
					_, err = c.Execute("UPDATE wl SET v = ?, note = ? WHERE id = ?", rng.Int63(), randText(rng), id)
				case op < 8:
					_, err = c.Execute("UPDATE IGNORE wl SET id = ? WHERE id = ?", rng.Intn(5000)+5001, id)
				case op < 9:
					_, err = c.Execute("DELETE FROM wl WHERE id = ?", id)
				default:
					if _, err = c.Execute("BEGIN"); err == nil {
						for i := 0; i < 5 && err == nil; i++ {
							_, err = c.Execute("REPLACE INTO wl (id, grp, v, note) VALUES (?, ?, ?, ?)", rng.Intn(10000)+1, rng.Intn(10), rng.Int63(), randText(rng))
						}
						if err == nil {
							_, err = c.Execute("COMMIT")
						}
					}
				}
				if err != nil && !strings.Contains(err.Error(), "Deadlock") && !strings.Contains(err.Error(), "Lock wait") {
					t.Errorf("workload: %v", err)
					return
				}
				n++
			}
		}(int64(w) + time.Now().UnixNano())
	}
	return func() int { wg.Wait(); return total }
}

func randText(rng *rand.Rand) string {
	words := []string{"alpha", "β-beta", "gamma\ttab", "delta\nline", "ε😀", "quote'd", `back\slash`, ""}
	return words[rng.Intn(len(words))] + strings.Repeat("x", rng.Intn(20))
}

const wlTable = `CREATE TABLE wl (
	id INT NOT NULL PRIMARY KEY,
	grp TINYINT UNSIGNED NOT NULL,
	v BIGINT NOT NULL,
	note VARCHAR(64) CHARACTER SET utf8mb4 NULL,
	ts TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	KEY (grp))`

// seed fills db.wl with n rows in one statement (MariaDB's sequence engine).
func seed(t testing.TB, my *client.Conn, db string, n int) {
	t.Helper()
	mustExec(t, my, fmt.Sprintf("INSERT INTO `%s`.wl (id, grp, v, note) SELECT seq, seq %% 10, seq * 3, CONCAT('seed ', seq) FROM seq_1_to_%d", db, n))
}

// txnWorkload runs transactions on a connection of its own (default database db) until
// stop: each is BEGIN, the statements next gives, COMMIT. An error containing one of
// tolerated rolls the transaction back and goes on; any other fails the test and ends
// the workload. The function returned waits for it and gives the transactions run.
func txnWorkload(t *testing.T, db string, stop <-chan struct{}, tolerated []string, next func(rng *rand.Rand) []string) func() int {
	var wg sync.WaitGroup
	n := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := client.Connect(mysqlHost+":"+mysqlPort, "root", mysqlRootPass, db)
		if err != nil {
			t.Errorf("workload connect: %v", err)
			return
		}
		defer c.Close()
		rng := rand.New(rand.NewSource(time.Now().UnixNano()))
		for {
			select {
			case <-stop:
				return
			default:
			}
			stmts := append(append([]string{"BEGIN"}, next(rng)...), "COMMIT")
			for _, q := range stmts {
				if _, err := c.Execute(q); err != nil {
					if !slices.ContainsFunc(tolerated, func(s string) bool { return strings.Contains(err.Error(), s) }) {
						t.Errorf("workload %s: %v", q, err)
						return
					}
					c.Execute("ROLLBACK")
					break
				}
			}
			n++
		}
	}()
	return func() int { wg.Wait(); return n }
}

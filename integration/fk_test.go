//go:build integration

package integration

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
)

// fkSchema creates tables whose foreign key actions InnoDB runs without binary log events:
// a Sakila-like chain (country <- city <- address, every key ON UPDATE CASCADE, ON DELETE
// RESTRICT), an ON DELETE CASCADE / SET NULL chain (orders <- item <- note, item <- tag), a
// composite key (pair <- pchild), two self-references (emp: ON DELETE CASCADE; emp2: ON
// DELETE SET NULL) and a cycle (ca <-> cb).
func fkSchema(db string) []string {
	return []string{
		"USE " + db,
		"CREATE TABLE country (country_id INT PRIMARY KEY, country VARCHAR(50) NOT NULL)",
		"CREATE TABLE city (city_id INT PRIMARY KEY, city VARCHAR(50) NOT NULL, country_id INT NOT NULL, KEY (country_id)," +
			" CONSTRAINT fk_city_country FOREIGN KEY (country_id) REFERENCES country (country_id) ON DELETE RESTRICT ON UPDATE CASCADE)",
		"CREATE TABLE address (address_id INT PRIMARY KEY, address VARCHAR(50) NOT NULL, city_id INT NOT NULL, KEY (city_id)," +
			" CONSTRAINT fk_address_city FOREIGN KEY (city_id) REFERENCES city (city_id) ON DELETE RESTRICT ON UPDATE CASCADE)",
		"CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(30))",
		"CREATE TABLE item (id INT PRIMARY KEY, order_id INT, qty INT, FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE ON UPDATE CASCADE)",
		"CREATE TABLE note (id INT PRIMARY KEY, item_id INT, txt VARCHAR(30), FOREIGN KEY (item_id) REFERENCES item (id) ON DELETE CASCADE ON UPDATE CASCADE)",
		"CREATE TABLE tag (id INT PRIMARY KEY, item_id INT, label VARCHAR(30), FOREIGN KEY (item_id) REFERENCES item (id) ON DELETE SET NULL ON UPDATE SET NULL)",
		"CREATE TABLE pair (p1 INT, p2 VARCHAR(10), v INT, PRIMARY KEY (p1, p2))",
		"CREATE TABLE pchild (id INT PRIMARY KEY, p1 INT, p2 VARCHAR(10), FOREIGN KEY (p1, p2) REFERENCES pair (p1, p2) ON DELETE SET NULL ON UPDATE CASCADE)",
		"CREATE TABLE emp (id INT PRIMARY KEY, boss_id INT, name VARCHAR(20), FOREIGN KEY (boss_id) REFERENCES emp (id) ON DELETE CASCADE)",
		"CREATE TABLE emp2 (id INT PRIMARY KEY, boss_id INT, name VARCHAR(20), FOREIGN KEY (boss_id) REFERENCES emp2 (id) ON DELETE SET NULL)",
		"SET foreign_key_checks = 0",
		"CREATE TABLE ca (id INT PRIMARY KEY, b_id INT, FOREIGN KEY (b_id) REFERENCES cb (id) ON DELETE SET NULL)",
		"CREATE TABLE cb (id INT PRIMARY KEY, a_id INT, FOREIGN KEY (a_id) REFERENCES ca (id) ON DELETE CASCADE)",
		"SET foreign_key_checks = 1",
	}
}

var fkTables = []string{"country", "city", "address", "orders", "item", "note", "tag", "pair", "pchild", "emp", "emp2", "ca", "cb"}

// fkSeed fills the tables (rows ids 1..n per table).
func fkSeed(db string, n int) []string {
	s := []string{"USE " + db,
		fmt.Sprintf("INSERT INTO country SELECT seq, CONCAT('country ', seq) FROM seq_1_to_%d", n),
		fmt.Sprintf("INSERT INTO city SELECT seq, CONCAT('city ', seq), 1 + seq %% %d FROM seq_1_to_%d", n, 3*n),
		fmt.Sprintf("INSERT INTO address SELECT seq, CONCAT('addr ', seq), 1 + seq %% %d FROM seq_1_to_%d", 3*n, 9*n),
		fmt.Sprintf("INSERT INTO orders SELECT seq, 'o' FROM seq_1_to_%d", n),
		fmt.Sprintf("INSERT INTO item SELECT seq, 1 + seq %% %d, seq FROM seq_1_to_%d", n, 3*n),
		fmt.Sprintf("INSERT INTO note SELECT seq, 1 + seq %% %d, 'n' FROM seq_1_to_%d", 3*n, 6*n),
		fmt.Sprintf("INSERT INTO tag SELECT seq, 1 + seq %% %d, 't' FROM seq_1_to_%d", 3*n, 6*n),
		fmt.Sprintf("INSERT INTO pair SELECT seq, CONCAT('k', seq), seq FROM seq_1_to_%d", n),
		fmt.Sprintf("INSERT INTO pchild SELECT seq, 1 + seq %% %d, CONCAT('k', 1 + seq %% %d) FROM seq_1_to_%d", n, n, 3*n),
		"INSERT INTO emp VALUES (1, NULL, 'root')",
		fmt.Sprintf("INSERT INTO emp SELECT seq, seq DIV 2, 'e' FROM seq_2_to_%d", 4*n),
		"INSERT INTO emp2 VALUES (1, NULL, 'root')",
		fmt.Sprintf("INSERT INTO emp2 SELECT seq, seq DIV 2, 'e' FROM seq_2_to_%d", 4*n),
		"SET foreign_key_checks = 0",
		fmt.Sprintf("INSERT INTO ca SELECT seq, seq FROM seq_1_to_%d", 2*n),
		fmt.Sprintf("INSERT INTO cb SELECT seq, 1 + seq %% %d FROM seq_1_to_%d", 2*n, 2*n),
		"SET foreign_key_checks = 1",
	}
	return s
}

// fkScenario is a fixed sequence of changes whose cascades must arrive, including a child's
// own change after its parent's cascade in one transaction (the child's change wins) and a
// child inserted before its parent's delete in one batch (the cascade removes it).
func fkScenario(db string) []string {
	return []string{"USE " + db,
		// Sakila: re-key a country and a city; then an address moved by its own change.
		"UPDATE country SET country_id = 1000 WHERE country_id = 2",
		"START TRANSACTION",
		"UPDATE city SET city_id = 5000 WHERE city_id = 5",
		"UPDATE address SET city_id = 7 WHERE address_id = 5",
		"COMMIT",
		"UPDATE city SET city_id = city_id + 10000 WHERE city_id BETWEEN 10 AND 14",
		// Cascade and SET NULL chains.
		"INSERT INTO item VALUES (9001, 3, 1)",
		"INSERT INTO note VALUES (9001, 9001, 'new')",
		"DELETE FROM orders WHERE id = 3",
		"UPDATE item SET id = 8000 WHERE id = 4",
		"START TRANSACTION",
		"UPDATE orders SET id = 7000 WHERE id = 5",
		"UPDATE item SET qty = -1 WHERE order_id = 7000",
		"COMMIT",
		// Composite key.
		"UPDATE pair SET p2 = 'moved' WHERE p1 = 1",
		"DELETE FROM pair WHERE p1 = 2",
		// Self-references and the cycle.
		"DELETE FROM emp WHERE id = 2",
		"DELETE FROM emp2 WHERE id = 3",
		"DELETE FROM ca WHERE id = 1",
	}
}

// fkRandom runs n random transactions of parent deletes and re-keys and child changes.
func fkRandom(t *testing.T, db string, seed int64, n int) {
	if err := fkRandomOn(mysqlRoot(t), db, seed, 20000+int(seed)*100000, n); err != nil {
		t.Error(err)
	}
}

// fkRandomOn is fkRandom on one connection the caller owns, returning the first error,
// so a loop in a goroutine neither opens a connection per round nor calls t.Fatal off
// the test goroutine. The keys it inserts are (first+1)*10 to (first+n)*10+4.
func fkRandomOn(my *client.Conn, db string, seed int64, first, n int) error {
	rng := rand.New(rand.NewSource(seed))
	if _, err := my.Execute("USE " + db); err != nil {
		return err
	}
	next := first
	for i := 0; i < n; i++ {
		next++
		stmts := []string{"START TRANSACTION"}
		for j := 0; j < 1+rng.Intn(4); j++ {
			switch rng.Intn(9) {
			case 0:
				stmts = append(stmts, fmt.Sprintf("UPDATE country SET country_id = %d WHERE country_id = (SELECT country_id FROM (SELECT country_id FROM country ORDER BY RAND() LIMIT 1) x)", next*10+j))
			case 1:
				stmts = append(stmts, fmt.Sprintf("UPDATE city SET city_id = %d WHERE city_id = (SELECT city_id FROM (SELECT city_id FROM city ORDER BY RAND() LIMIT 1) x)", next*10+j))
			case 2:
				stmts = append(stmts, "UPDATE address SET city_id = (SELECT city_id FROM city ORDER BY RAND() LIMIT 1) ORDER BY RAND() LIMIT 1")
			case 3:
				stmts = append(stmts, fmt.Sprintf("INSERT INTO orders VALUES (%d, 'r')", next*10+j),
					fmt.Sprintf("INSERT INTO item VALUES (%d, %d, 1)", next*10+j, next*10+j),
					fmt.Sprintf("INSERT INTO note VALUES (%d, %d, 'r')", next*10+j, next*10+j),
					fmt.Sprintf("INSERT INTO tag VALUES (%d, %d, 'r')", next*10+j, next*10+j))
			case 4:
				stmts = append(stmts, "DELETE FROM orders ORDER BY RAND() LIMIT 1")
			case 5:
				stmts = append(stmts, fmt.Sprintf("UPDATE item SET id = %d ORDER BY RAND() LIMIT 1", next*10+j))
			case 6:
				stmts = append(stmts, "UPDATE tag SET item_id = (SELECT id FROM item ORDER BY RAND() LIMIT 1) ORDER BY RAND() LIMIT 1")
			case 7:
				stmts = append(stmts, fmt.Sprintf("INSERT INTO emp SELECT %d, id, 'r' FROM emp ORDER BY RAND() LIMIT 1", next*10+j),
					"DELETE FROM emp WHERE id <> 1 ORDER BY RAND() LIMIT 1")
			case 8:
				stmts = append(stmts, fmt.Sprintf("UPDATE pair SET p1 = %d ORDER BY RAND() LIMIT 1", next*10+j),
					"DELETE FROM cb ORDER BY RAND() LIMIT 1", "DELETE FROM emp2 WHERE id <> 1 ORDER BY RAND() LIMIT 1")
			}
		}
		stmts = append(stmts, "COMMIT")
		for _, st := range stmts {
			if _, err := my.Execute(st); err != nil {
				my.Execute("ROLLBACK")
				return fmt.Errorf("%s: %w", st, err)
			}
		}
	}
	return nil
}

// TestFKActions: cascades InnoDB leaves out of the binary log reach the target in stream
// order (with Elasticsearch the child documents are found by their foreign key fields and
// rewritten in the batch), including those of a prepared XA transaction applied at its XA
// COMMIT after a kill -9 between, and through a kill -9 in the middle of a stream of random
// cascades; every table is then row-by-row equal and verify reports equal.
func TestFKActions(t *testing.T) {
	// Serial: a prepared XA transaction is server state (other replicators store it, every
	// snapshot waits for it to be decided).
	forEachTargetSerial(t, func(t *testing.T, tg targetHarness) {
		my := mysqlRoot(t)
		db := tg.DB("it_fk")
		freshMySQLDatabase(t, my, db)
		mustExec(t, my, fkSchema(db)...)
		mustExec(t, my, fkSeed(db, 30)...)
		cfg := writeConfig(t, tg.Config(db, "[apply]\nbatch_rows = 2000\n[snapshot]\nchunk_rows = 5000\n"))
		p := startCLI(t, "run", "-c", cfg)
		tg.WaitCaughtUp(t, my, p, 120*time.Second)

		mustExec(t, my, fkScenario(db)...)
		xa := "fk_" + tg.Name()
		rollbackXAOnCleanup(t, my, xa)
		xaSession(t, "USE "+db, "XA START '"+xa+"'", "DELETE FROM orders WHERE id = 6", "UPDATE country SET country_id = 999 WHERE country_id = 4",
			"XA END '"+xa+"'", "XA PREPARE '"+xa+"'")
		mustExec(t, my, "UPDATE "+db+".orders SET note = 'between' WHERE id = 7")
		tg.WaitCaughtUp(t, my, p, 60*time.Second)
		p.kill()
		p = startCLI(t, "run", "-c", cfg)
		xaSession(t, "XA COMMIT '"+xa+"'")
		tg.WaitCaughtUp(t, my, p, 60*time.Second)
		for _, tb := range fkTables {
			tg.AssertTableEqual(t, my, db, tb)
		}
		if t.Failed() {
			t.FailNow()
		}

		// Random cascades while the replicator is killed and restarted.
		seed, n := map[string]int64{"postgres": 1, "elasticsearch": 2}[tg.Name()], map[string]int{"postgres": 400, "elasticsearch": 300}[tg.Name()]
		done := make(chan struct{})
		go func() { defer close(done); fkRandom(t, db, seed, n) }()
		time.Sleep(300 * time.Millisecond)
		select {
		case <-done:
			t.Log("the workload ended before the kill -9")
		default:
		}
		p.kill()
		p = startCLI(t, "run", "-c", cfg)
		<-done
		tg.WaitCaughtUp(t, my, p, 90*time.Second)
		waitStreaming(t, p)
		p.stop(t)
		for _, tb := range fkTables {
			tg.AssertTableEqual(t, my, db, tb)
		}
		assertVerifyEqual(t, cfg)
	})
}

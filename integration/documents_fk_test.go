//go:build integration

package integration

import (
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"
)

// docsFKSchema is docsSchema with InnoDB foreign keys whose actions write no binary log
// events for the children: deleting an actor or a category deletes its join rows,
// deleting a language sets the language of its films to NULL and deletes the films
// whose original language it was (and so their join rows, and sets their copies'
// film_id to NULL: three levels), changing a language's key rewrites the films referring
// to it, and changing a film's key rewrites its copies.
var docsFKSchema = []string{
	"CREATE TABLE language (language_id TINYINT UNSIGNED PRIMARY KEY, name CHAR(20) NOT NULL)",
	"CREATE TABLE category (category_id TINYINT UNSIGNED PRIMARY KEY, name VARCHAR(25) NOT NULL)",
	"CREATE TABLE actor (actor_id SMALLINT UNSIGNED PRIMARY KEY, first_name VARCHAR(45) NOT NULL, last_name VARCHAR(45) NOT NULL)",
	"CREATE TABLE film (film_id SMALLINT UNSIGNED PRIMARY KEY, title VARCHAR(128) NOT NULL, language_id TINYINT UNSIGNED NULL, original_language_id TINYINT UNSIGNED NULL, length SMALLINT UNSIGNED NULL," +
		" FOREIGN KEY (language_id) REFERENCES language (language_id) ON DELETE SET NULL ON UPDATE CASCADE," +
		" FOREIGN KEY (original_language_id) REFERENCES language (language_id) ON DELETE CASCADE ON UPDATE CASCADE)",
	"CREATE TABLE film_category (film_id SMALLINT UNSIGNED NOT NULL, category_id TINYINT UNSIGNED NOT NULL, PRIMARY KEY (film_id, category_id), KEY (category_id)," +
		" FOREIGN KEY (film_id) REFERENCES film (film_id) ON DELETE CASCADE, FOREIGN KEY (category_id) REFERENCES category (category_id) ON DELETE CASCADE)",
	"CREATE TABLE film_actor (actor_id SMALLINT UNSIGNED NOT NULL, film_id SMALLINT UNSIGNED NOT NULL, PRIMARY KEY (actor_id, film_id), KEY (film_id)," +
		" FOREIGN KEY (actor_id) REFERENCES actor (actor_id) ON DELETE CASCADE, FOREIGN KEY (film_id) REFERENCES film (film_id) ON DELETE CASCADE)",
	"CREATE TABLE inventory (inventory_id MEDIUMINT UNSIGNED PRIMARY KEY, film_id SMALLINT UNSIGNED NULL, store_id TINYINT UNSIGNED NOT NULL, KEY (film_id)," +
		" FOREIGN KEY (film_id) REFERENCES film (film_id) ON DELETE SET NULL ON UPDATE CASCADE)",
	"INSERT INTO language SELECT seq, CONCAT('lang ', seq) FROM seq_1_to_6",
	"INSERT INTO category SELECT seq, CONCAT('category ', seq) FROM seq_1_to_16",
	"INSERT INTO actor SELECT seq, CONCAT('first', seq), CONCAT('last', seq) FROM seq_1_to_300",
	"INSERT INTO film SELECT seq, CONCAT('film ', seq), IF(seq % 50 = 0, NULL, 1 + seq % 6), IF(seq % 25 = 0, 1 + seq % 6, NULL), 40 + seq % 140 FROM seq_1_to_600",
	"INSERT INTO film_category SELECT seq, 1 + seq % 16 FROM seq_1_to_600",
	"INSERT IGNORE INTO film_category SELECT seq, 1 + (seq * 7) % 16 FROM seq_1_to_600 WHERE seq % 3 = 0",
	"INSERT IGNORE INTO film_actor SELECT 1 + (f.seq * 13 + a.seq * 37) % 300, f.seq FROM seq_1_to_600 f, seq_1_to_8 a",
	"INSERT INTO inventory SELECT seq, IF(seq % 97 = 0, NULL, 1 + (seq * 11) % 600), 1 + seq % 2 FROM seq_1_to_1200",
}

// docsFKWorkload runs multi-statement transactions until stop closes (at most limit),
// each setting off foreign key actions on the involved tables (the children change
// without events of their own), mixed with plain changes that bring rows back.
func docsFKWorkload(t *testing.T, db string, limit int, stop <-chan struct{}) (wait func() int) {
	my := mysqlRoot(t)
	mustExec(t, my, "USE "+db)
	var wg sync.WaitGroup
	n := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer my.Close()
		r := rand.New(rand.NewSource(2424))
		for i := 0; i < limit; i++ {
			select {
			case <-stop:
				return
			default:
			}
			f, a, c, l := 1+r.Intn(620), 1+r.Intn(300), 1+r.Intn(16), 1+r.Intn(6)
			stmts := []string{"BEGIN"}
			switch i % 6 {
			case 0: // an actor goes with its join rows (cascade) and comes back in three films
				stmts = append(stmts, fmt.Sprintf("DELETE FROM actor WHERE actor_id = %d", a),
					fmt.Sprintf("INSERT INTO actor VALUES (%d, 'back', CONCAT('actor ', %d))", a, i),
					fmt.Sprintf("INSERT IGNORE INTO film_actor SELECT %d, film_id FROM film WHERE film_id BETWEEN %d AND %d", a, f, f+2))
			case 1: // a category goes with its join rows and comes back in some films
				stmts = append(stmts, fmt.Sprintf("DELETE FROM category WHERE category_id = %d", c),
					fmt.Sprintf("INSERT INTO category VALUES (%d, CONCAT('cat ', %d))", c, i),
					fmt.Sprintf("INSERT IGNORE INTO film_category SELECT film_id, %d FROM film WHERE film_id BETWEEN %d AND %d", c, f, f+30))
			case 2: // a language's key changes: its films' language_id follows (ON UPDATE CASCADE)
				stmts = append(stmts, fmt.Sprintf("UPDATE language SET language_id = IF(language_id > 100, language_id - 100, language_id + 100), name = CONCAT('lang v', %d) WHERE language_id IN (%d, %d)", i, l, l+100),
					fmt.Sprintf("UPDATE film SET length = length + 1 WHERE film_id = %d", f))
			case 3: // a language goes: films SET NULL, films of that original language deleted with their join rows, their copies SET NULL
				stmts = append(stmts, fmt.Sprintf("DELETE FROM language WHERE language_id IN (%d, %d)", l, l+100),
					fmt.Sprintf("INSERT INTO language VALUES (%d, CONCAT('lang ', %d))", l, i),
					fmt.Sprintf("UPDATE film SET language_id = %d WHERE language_id IS NULL AND film_id %% 7 = %d", l, i%7),
					fmt.Sprintf("INSERT IGNORE INTO film VALUES (%d, CONCAT('new film ', %d), %d, %d, 60)", f, i, l, l),
					fmt.Sprintf("INSERT IGNORE INTO film_actor SELECT actor_id, %d FROM actor WHERE actor_id BETWEEN %d AND %d", f, a, a+3))
			case 4: // a film goes: join rows deleted, copies SET NULL; another comes back with copies
				g := 1 + r.Intn(620)
				stmts = append(stmts, fmt.Sprintf("DELETE FROM film WHERE film_id = %d", f),
					fmt.Sprintf("INSERT IGNORE INTO film VALUES (%d, CONCAT('film again ', %d), NULL, NULL, 70)", g, i),
					fmt.Sprintf("UPDATE inventory SET film_id = %d WHERE film_id IS NULL LIMIT 2", g),
					fmt.Sprintf("INSERT IGNORE INTO film_category SELECT %d, category_id FROM category WHERE category_id <= %d", g, c%4))
			case 5: // a film's key changes: its copies follow (ON UPDATE CASCADE); join rows first
				from, to := f, f+1000
				if r.Intn(2) == 0 {
					from, to = to, from
				}
				stmts = append(stmts, fmt.Sprintf("DELETE FROM film_actor WHERE film_id = %d", from),
					fmt.Sprintf("DELETE FROM film_category WHERE film_id = %d", from),
					fmt.Sprintf("UPDATE IGNORE film SET film_id = %d WHERE film_id = %d", to, from))
			}
			stmts = append(stmts, "COMMIT")
			for _, s := range stmts {
				if _, err := my.Execute(s); err != nil {
					t.Errorf("workload %q: %v", s, err)
					_, _ = my.Execute("ROLLBACK")
					return
				}
			}
			n++
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() int { wg.Wait(); return n }
}

// TestDocumentsForeignKeys composes the films of TestDocumentsUnderKills from tables whose
// foreign key actions change children without binary log events (actor and category
// deletes cascade into the join tables, a language delete sets NULL in films and deletes
// films with their join rows, key changes cascade), under multi-statement transactions,
// through a snapshot killed -9 after a chunk and a stream killed -9 three times right after
// a batch's bulk writes (the cascaded child writes acknowledged, the documents not
// composed again, the checkpoint not moved: the replay finds no children left to
// cascade into); then every document equals the test's own SQL composition of the
// source's rows and verify is equal.
func TestDocumentsForeignKeys(t *testing.T) {
	my := mysqlRoot(t)
	et := newESTarget(t, "docsfk")
	db := "it_docs_fk"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, append([]string{"USE " + db}, docsFKSchema...)...)
	index := et.prefix + "films"
	cfg := writeConfig(t, withServerID(et.config(db, fmt.Sprintf(docsDecl, index, db, db, db, db, db, db, db)), 4297))

	stop := make(chan struct{})
	wait := docsFKWorkload(t, db, 700, stop)
	k := startCLIEnv(t, []string{"REPLICATOR_CRASH_AT=snapshot.chunk-committed:3"}, "run", "-c", cfg)
	select {
	case <-k.done:
	case <-time.After(180 * time.Second):
		t.Fatalf("the snapshot did not reach its kill point:\n%s", tail(k.output(), 20))
	}
	if phase, _, _ := et.checkpoint(t); phase != "snapshot" {
		t.Fatalf("after the kill in the snapshot the checkpoint phase is %q, want snapshot:\n%s", phase, tail(k.output(), 20))
	}
	// The first batch of a run after a kill composes the touches the killed one stored:
	// killed there too, it stores them again with its own.
	for _, at := range []string{"elastic.bulk-sent:1", "elastic.bulk-sent:2", "elastic.bulk-sent:1"} {
		k := startCLIEnv(t, []string{"REPLICATOR_CRASH_AT=" + at}, "run", "-c", cfg)
		select {
		case <-k.done:
		case <-time.After(300 * time.Second):
			t.Fatalf("the stream did not reach its kill point %s:\n%s", at, tail(k.output(), 20))
		}
		if !strings.Contains(k.output(), "crash point elastic.bulk-sent\n") {
			t.Fatalf("the run ended otherwise than at %s:\n%s", at, tail(k.output(), 20))
		}
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	n := wait()
	p := startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, 300*time.Second)
	docs := assertDocsEqual(t, et, my, db, index)
	t.Logf("1 kill -9 in the snapshot, 3 in the stream after a batch's bulk writes, %d workload transactions with foreign key actions, %d documents equal", n, docs)

	// One transaction of cascades only, with the stream running: an actor in many films
	// and a language go; every film loses the actor, every film of the language has none.
	mustExec(t, my, "USE "+db, "INSERT IGNORE INTO film_actor SELECT 7, film_id FROM film WHERE film_id % 9 = 0",
		"BEGIN", "DELETE FROM actor WHERE actor_id = 7", "DELETE FROM language WHERE language_id IN (2, 102)", "COMMIT")
	et.waitCaughtUp(t, my, p, 60*time.Second)
	assertDocsEqual(t, et, my, db, index)
	p.stop(t)
	rep := assertVerifyEqual(t, cfg)
	if len(rep.Documents) != 1 || !rep.Documents[0].Equal || rep.Documents[0].Index != index {
		t.Errorf("verify of the composed index: %+v, want equal", rep.Documents)
	}
}

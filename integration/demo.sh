#!/usr/bin/env bash
# The main job end to end on the local servers: starts MariaDB and PostgreSQL
# (integration/env/up.sh), creates a sample shop database, runs 'replicator check', then
# 'replicator run' (snapshot, then streaming), writes changes on the source while it runs,
# waits until the target has caught up, compares both sides and stops the replicator.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
. integration/env/common.sh
DEMO_DIR=${REPLICATOR_DEMO_DIR:-/tmp/replicator-demo}
ROWS=${DEMO_ROWS:-100000}
mkdir -p "$DEMO_DIR"

REPLICATOR_ENV_ES=0 bash integration/env/up.sh >/dev/null
echo "== building replicator"
go build -o "$DEMO_DIR/replicator" ./cmd/replicator

echo "== creating sample data: demo_shop with $ROWS orders"
mysql_root <<SQL
DROP DATABASE IF EXISTS demo_shop;
CREATE DATABASE demo_shop CHARACTER SET utf8mb4;
USE demo_shop;
CREATE TABLE customers (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(120) NOT NULL UNIQUE,
  name VARCHAR(80) NOT NULL,
  country CHAR(2) NOT NULL,
  vip TINYINT(1) NOT NULL DEFAULT 0,
  created DATETIME(3) NOT NULL
);
CREATE TABLE orders (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id INT UNSIGNED NOT NULL,
  status ENUM('new','paid','shipped','cancelled') NOT NULL,
  total DECIMAL(12,2) NOT NULL,
  note TEXT NULL,
  placed_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY (customer_id), KEY (status)
);
INSERT INTO customers (email, name, country, vip, created)
  SELECT CONCAT('user', seq, '@example.com'), CONCAT('Customer ', seq, IF(seq % 7 = 0, ' Müller-Łódź 😀', '')),
         ELT(1 + seq % 4, 'DE', 'FR', 'PL', 'US'), seq % 10 = 0, '2024-01-01' + INTERVAL seq MINUTE
  FROM seq_1_to_5000;
INSERT INTO orders (customer_id, status, total, note, placed_at)
  SELECT 1 + seq % 5000, ELT(1 + seq % 4, 'new','paid','shipped','cancelled'), (seq % 100000) / 100,
         IF(seq % 5 = 0, NULL, CONCAT('order ', seq, '\tline\nbreak')), '2024-06-01' + INTERVAL seq SECOND
  FROM seq_1_to_$ROWS;
SQL

cfg=$DEMO_DIR/config.toml
cat >"$cfg" <<CFG
[source]
host = "127.0.0.1"
port = $MYSQL_PORT
user = "replicator"
password = "\${DEMO_MYSQL_PASSWORD}"
server_id = 4201
[source.tls]
mode = "disabled"

[target]
type = "postgres"
[target.postgres]
url = "postgres://postgres@127.0.0.1:$PG_PORT/demo?sslmode=disable"

[[tables]]
source = "demo_shop.*"
target = "shop.*"
CFG
export DEMO_MYSQL_PASSWORD=$MYSQL_REPL_PASSWORD
psql_() { "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }
psql_ -d postgres -c "DROP DATABASE IF EXISTS demo WITH (FORCE)" -c "CREATE DATABASE demo"

echo "== replicator check"
"$DEMO_DIR/replicator" check -c "$cfg"

echo "== replicator run (snapshot, then streaming); log: $DEMO_DIR/run.log"
"$DEMO_DIR/replicator" run -c "$cfg" --log-format text >"$DEMO_DIR/run.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT

wait_caught_up() {
	local want got
	want=$(mysql_root -N -e 'SELECT @@gtid_binlog_pos')
	for _ in $(seq 1 600); do
		got=$(psql_ -d demo -At -c "SELECT gtid FROM _replicator.checkpoint WHERE phase = 'streaming'" 2>/dev/null || true)
		[ "$got" = "$want" ] && return 0
		kill -0 $pid 2>/dev/null || { tail -20 "$DEMO_DIR/run.log"; die "replicator exited"; }
		sleep 0.2
	done
	tail -20 "$DEMO_DIR/run.log"
	die "target did not catch up to $want"
}
wait_caught_up
grep -E "snapshot opened|snapshot complete" "$DEMO_DIR/run.log" | sed 's/^/   /'

echo "== writing changes on the source while streaming"
mysql_root demo_shop <<'SQL'
UPDATE orders SET status = 'paid', total = total + 1 WHERE id % 97 = 0;
DELETE FROM orders WHERE id % 101 = 0;
INSERT INTO customers (email, name, country, vip, created) VALUES ('new@example.com', 'Zoë Newcomer', 'NL', 1, NOW(3));
UPDATE customers SET id = 900000 WHERE id = 42;
INSERT INTO orders (customer_id, status, total, note) VALUES (900000, 'new', 12.34, 'after the snapshot');
SQL
wait_caught_up

echo "== comparing source and target"
src=$(mysql_root -N demo_shop -e "SELECT COUNT(*), SUM(total), SUM(id), SUM(status = 'paid') FROM orders; SELECT COUNT(*), SUM(id), SUM(vip) FROM customers" | tr '\t\n' '  ')
dst=$(psql_ -d demo -At -F ' ' -c "SELECT COUNT(*), SUM(total), SUM(id), SUM((status = 'paid')::int) FROM shop.orders" -c "SELECT COUNT(*), SUM(id), SUM(vip) FROM shop.customers" | tr '\n' ' ')
echo "   source: $src"
echo "   target: $dst"
kill -TERM $pid; wait $pid || true
trap - EXIT
[ "$(echo $src)" = "$(echo $dst)" ] || die "source and target differ"
echo "== done: target equals source (counts and sums); the replicator stopped cleanly"

#!/usr/bin/env bash
# Both jobs end to end on the local servers, in a few minutes on a fresh machine:
#   1. MariaDB -> PostgreSQL: 'replicator init' writes the configuration from the live
#      source, 'check' preflights it, 'run' copies a consistent snapshot and streams the
#      changes written meanwhile, 'verify' compares every row.
#   2. MariaDB -> Elasticsearch: the same for a product catalogue, then a full-text search
#      answers from the index, including a product changed in MariaDB a moment before.
# It starts MariaDB, PostgreSQL and Elasticsearch with integration/env/up.sh (installing what
# is missing), uses its own databases (demo_shop, PostgreSQL "demo", indexes demo_shop.*)
# and stops the replicators it starts. DEMO_ROWS sets the number of orders (100000).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
. integration/env/common.sh
DEMO_DIR=${REPLICATOR_DEMO_DIR:-/tmp/replicator-demo}
ROWS=${DEMO_ROWS:-100000}
ES_URL=http://127.0.0.1:${ES_PORT:-19200}
mkdir -p "$DEMO_DIR"
start=$(date +%s)
step() { printf '\n== [%3ss] %s\n' $(($(date +%s) - start)) "$*"; }

step "starting MariaDB, PostgreSQL and Elasticsearch (integration/env/up.sh)"
REPLICATOR_ENV_REPLICA=0 bash integration/env/up.sh >/dev/null
step "building replicator"
go build -o "$DEMO_DIR/replicator" ./cmd/replicator
R=$DEMO_DIR/replicator

step "creating sample data: demo_shop with 5000 customers, $ROWS orders, 2000 products"
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
CREATE TABLE products (
  sku VARCHAR(20) NOT NULL PRIMARY KEY,
  name VARCHAR(120) NOT NULL,
  description TEXT NOT NULL,
  price DECIMAL(10,2) NOT NULL,
  in_stock INT NOT NULL
);
INSERT INTO customers (email, name, country, vip, created)
  SELECT CONCAT('user', seq, '@example.com'), CONCAT('Customer ', seq, IF(seq % 7 = 0, ' Müller-Łódź 😀', '')),
         ELT(1 + seq % 4, 'DE', 'FR', 'PL', 'US'), seq % 10 = 0, '2024-01-01' + INTERVAL seq MINUTE
  FROM seq_1_to_5000;
INSERT INTO orders (customer_id, status, total, note, placed_at)
  SELECT 1 + seq % 5000, ELT(1 + seq % 4, 'new','paid','shipped','cancelled'), (seq % 100000) / 100,
         IF(seq % 5 = 0, NULL, CONCAT('order ', seq, '\tline\nbreak')), '2024-06-01' + INTERVAL seq SECOND
  FROM seq_1_to_$ROWS;
INSERT INTO products (sku, name, description, price, in_stock)
  SELECT CONCAT('SKU-', LPAD(seq, 5, '0')),
         CONCAT(ELT(1 + seq % 5, 'Trail', 'City', 'Summit', 'Harbour', 'Forest'), ' ',
                ELT(1 + seq % 4, 'jacket', 'backpack', 'boots', 'tent'), ' ', seq),
         CONCAT('A ', ELT(1 + seq % 3, 'light', 'sturdy', 'warm'), ' ', ELT(1 + seq % 4, 'jacket', 'backpack', 'boots', 'tent'),
                IF(seq % 10 = 0, ', fully waterproof with taped seams', ', water-resistant'),
                ' for ', ELT(1 + seq % 3, 'hiking', 'commuting', 'camping'), '.'),
         5 + (seq % 300) + 0.99, seq % 50
  FROM seq_1_to_2000;
SQL

psql_() { "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }
psql_ -d postgres -c "DROP DATABASE IF EXISTS demo WITH (FORCE)" -c "CREATE DATABASE demo"
curl -fsS -X DELETE "$ES_URL/demo_shop.products,demo-replicator-state?ignore_unavailable=true" >/dev/null
# The password stays out of the configuration files: init writes ${MYSQL_PASSWORD}.
export MYSQL_PASSWORD=$MYSQL_REPL_PASSWORD
SOURCE="mysql://replicator@127.0.0.1:$MYSQL_PORT?tls=disabled"

pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# wait_caught_up CONFIG: until the job streams and its checkpoint is the source's position.
wait_caught_up() {
	local cfg=$1 pid=$2 out phase gtid src
	for _ in $(seq 1 900); do
		out=$("$R" status -c "$cfg" --json 2>/dev/null || true)
		phase=$(printf '%s' "$out" | sed -n 's/.*"phase": *"\([^"]*\)".*/\1/p' | head -1)
		gtid=$(printf '%s' "$out" | sed -n 's/.*"gtid": *"\([^"]*\)".*/\1/p' | head -1)
		src=$(mysql_root -N -e 'SELECT @@gtid_binlog_pos')
		[ "$phase" = streaming ] && [ "$gtid" = "$src" ] && return 0
		kill -0 "$pid" 2>/dev/null || { tail -20 "$DEMO_DIR"/*.log; die "replicator exited"; }
		sleep 0.2
	done
	die "$cfg: target did not catch up to $src"
}

# --- job 1: MariaDB -> PostgreSQL ---------------------------------------------------------
pgcfg=$DEMO_DIR/postgres.toml
rm -f "$pgcfg"
step "job 1, MariaDB -> PostgreSQL: replicator init writes $pgcfg from the live source"
"$R" init -c "$pgcfg" --source "$SOURCE" --target "postgres://postgres@127.0.0.1:$PG_PORT/demo?sslmode=disable" \
	--tables 'demo_shop.customers,demo_shop.orders' --server-id 4291
sed -n '/^\[\[tables\]\]/,/^# What/p' "$pgcfg" | grep -v '^# What' | grep . | sed 's/^/   /'

step "replicator check"
"$R" check -c "$pgcfg" | sed 's/^/   /'

step "replicator run (snapshot, then streaming); log: $DEMO_DIR/postgres.log"
"$R" run -c "$pgcfg" --log-format text >"$DEMO_DIR/postgres.log" 2>&1 &
pgpid=$!
pids+=("$pgpid")
wait_caught_up "$pgcfg" "$pgpid"
grep -E "snapshot opened|snapshot complete" "$DEMO_DIR/postgres.log" | sed 's/^/   /' || true

step "writing changes on the source while it streams"
mysql_root demo_shop <<'SQL'
UPDATE orders SET status = 'paid', total = total + 1 WHERE id % 97 = 0;
DELETE FROM orders WHERE id % 101 = 0;
INSERT INTO customers (email, name, country, vip, created) VALUES ('new@example.com', 'Zoë Newcomer', 'NL', 1, NOW(3));
UPDATE customers SET id = 900000 WHERE id = 42;
INSERT INTO orders (customer_id, status, total, note) VALUES (900000, 'new', 12.34, 'after the snapshot');
SQL
wait_caught_up "$pgcfg" "$pgpid"
echo "   PostgreSQL now: $(psql_ -d demo -At -F ' ' -c "SELECT COUNT(*) || ' orders, ' || SUM((status = 'paid')::int) || ' paid' FROM demo_shop.orders")," \
	"customer 900000: $(psql_ -d demo -At -c "SELECT name FROM demo_shop.customers WHERE id = 900000")"

step "replicator verify: every row of both tables, source against PostgreSQL"
"$R" verify -c "$pgcfg" | sed 's/^/   /'
kill -TERM "$pgpid"
wait "$pgpid" || die "the PostgreSQL job did not stop cleanly (see $DEMO_DIR/postgres.log)"

# --- job 2: MariaDB -> Elasticsearch ------------------------------------------------------
escfg=$DEMO_DIR/elasticsearch.toml
rm -f "$escfg"
step "job 2, MariaDB -> Elasticsearch: replicator init writes $escfg"
"$R" init -c "$escfg" --source "$SOURCE" --target "$ES_URL" --tables 'demo_shop.products' --server-id 4292
# The demo's own state index, which it deletes at the start so every run starts over.
printf '\n[state]\nindex = "demo-replicator-state"\n' >>"$escfg"
step "replicator run; log: $DEMO_DIR/elasticsearch.log"
"$R" run -c "$escfg" --log-format text >"$DEMO_DIR/elasticsearch.log" 2>&1 &
espid=$!
pids+=("$espid")
wait_caught_up "$escfg" "$espid"
echo "   index demo_shop.products: $(curl -fsS "$ES_URL/demo_shop.products/_count" | sed 's/.*"count":\([0-9]*\).*/\1/') documents"

step "a product changes in MariaDB; the search index follows"
mysql_root demo_shop -e "UPDATE products SET name = 'Storm shell jacket', description = 'A storm-proof, fully waterproof jacket with a hood for sailing.' WHERE sku = 'SKU-00007'"
wait_caught_up "$escfg" "$espid"
search() {
	curl -fsS -H 'Content-Type: application/json' "$ES_URL/demo_shop.products/_search" -d "$1" |
		tr -d '\n' | grep -o '"_source":{[^}]*}' | sed 's/"_source"://; s/^/   /' || true
}
# The change is in the index once the checkpoint moved; a search sees it after the
# index's next refresh (Elasticsearch refreshes every second).
q='{"size": 3, "query": {"match": {"name": "storm"}}, "_source": ["sku", "name", "in_stock"]}'
t0=$(date +%s%N)
until [ -n "$(search "$q")" ]; do
	[ $(($(date +%s%N) - t0)) -lt 30000000000 ] || die "the changed product is not searchable after 30 s"
	sleep 0.1
done
echo "   match query on name \"storm\" answers after $((($(date +%s%N) - t0) / 1000000)) ms (the index refresh):"
search "$q"
echo "   match query on description \"waterproof sailing\" (best 3 of $(curl -fsS -H 'Content-Type: application/json' \
	"$ES_URL/demo_shop.products/_count" -d '{"query": {"match": {"description": "waterproof sailing"}}}' | sed 's/.*"count":\([0-9]*\).*/\1/') matches):"
search '{"size": 3, "query": {"match": {"description": "waterproof sailing"}}, "_source": ["sku", "name", "price"]}'

step "replicator verify: every product, source against the index"
"$R" verify -c "$escfg" | sed 's/^/   /'
kill -TERM "$espid"
wait "$espid" || die "the Elasticsearch job did not stop cleanly (see $DEMO_DIR/elasticsearch.log)"
trap - EXIT
step "done: both targets equal the source (verify), the replicators stopped cleanly"

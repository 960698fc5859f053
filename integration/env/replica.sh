#!/usr/bin/env bash
# A second MariaDB 10.11 on loopback, a GTID replica of the primary of up.sh: its own
# server_id (2), its own binary log (ROW, FULL image, log_slave_updates=ON, strict mode, as
# the primary), read_only=ON, the same accounts (root/root, replicator/replicator with the
# primary's grants) and a small buffer pool. The failover test promotes it, after which it
# is no longer a replica: `fresh` makes a new one from the primary's current state.
#
#   replica.sh up      start it; reused when it answers, created (as by fresh) when it has no data
#   replica.sh fresh   stop it, wipe its data and make a new replica at the primary's current
#                      @@gtid_binlog_pos (the replica starts empty: only what the primary writes
#                      from then on reaches it)
#   replica.sh down    stop it; harmless when it is not running
#   replica.sh status  exit 0 when it answers and both replication threads run, 1 when not
#
# Environment (besides common.sh's): REPLICATOR_REPLICA_PORT (13307), REPLICATOR_REPLICA_SERVER_ID
# (2), REPLICATOR_REPLICA_DBS: comma-separated database name patterns (LIKE syntax, e.g.
# "it_failover%", the default; "%" for all) the replica applies; every other database is
# filtered out. The filter exists because the replica starts empty: writes the primary makes to
# databases created before it (other tests, other users of the server) would stop its SQL
# thread, and applying the whole suite's writes twice would cost the machine for nothing.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/common.sh"

REPLICA_SERVER_ID=${REPLICATOR_REPLICA_SERVER_ID:-2}
REPLICA_DBS=${REPLICATOR_REPLICA_DBS:-it_failover%}
REPLICA_DIR=$ENV_DIR/mariadb-replica
REPLICA_SOCK=$REPLICA_DIR/mysqld.sock
REPLICA_PID=$REPLICA_DIR/mysqld.pid

replica_root() { mariadb --no-defaults --default-character-set=utf8mb4 -uroot -p"$MYSQL_ROOT_PASSWORD" -h127.0.0.1 -P"$REPLICA_PORT" "$@"; }
replica_up() { replica_root -e 'SELECT 1' >/dev/null 2>&1; }

write_config() {
	mkdir -p "$REPLICA_DIR"
	local filter="" p pats
	IFS=, read -ra pats <<<"$REPLICA_DBS"
	for p in "${pats[@]}"; do filter+="replicate_wild_do_table=$p.%"$'\n'; done
	cat >"$REPLICA_DIR/my.cnf" <<CNF
[mysqld]
user=root
datadir=$REPLICA_DIR/data
socket=$REPLICA_SOCK
pid-file=$REPLICA_PID
log-error=$REPLICA_DIR/error.log
port=$REPLICA_PORT
bind-address=127.0.0.1
skip-name-resolve
server_id=$REPLICA_SERVER_ID
log_bin=$REPLICA_DIR/data/binlog
relay_log=$REPLICA_DIR/data/relay
binlog_format=ROW
binlog_row_image=FULL
log_slave_updates=ON
gtid_strict_mode=ON
read_only=ON
expire_logs_days=2
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
max_allowed_packet=64M
innodb_buffer_pool_size=32M
innodb_log_file_size=32M
innodb_flush_log_at_trx_commit=2
sync_binlog=0
max_connections=60
performance_schema=OFF
# XAER_NOTA: the XA COMMIT or ROLLBACK of a transaction prepared before the replica started
# (or filtered out) names an XID the replica never saw; it belongs to another database.
slave_skip_errors=1397
$filter
CNF
}

stop_replica() {
	[ -f "$REPLICA_PID" ] || return 0
	local pid
	pid=$(cat "$REPLICA_PID")
	if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
		log "stopping the MariaDB replica (pid $pid)"
		for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$REPLICA_PID"
}

# start_server: starts mariadbd on the replica's data directory and waits until it answers
# (on the socket when fresh=1, before root has a password; over TCP otherwise).
start_server() {
	local fresh=$1 i
	log "starting the MariaDB replica on 127.0.0.1:$REPLICA_PORT (server_id $REPLICA_SERVER_ID)"
	nohup mariadbd --defaults-file="$REPLICA_DIR/my.cnf" >>"$REPLICA_DIR/stdout.log" 2>&1 &
	for i in $(seq 1 120); do
		if [ "$fresh" = 1 ] && mariadb --no-defaults -uroot -S "$REPLICA_SOCK" -e 'SELECT 1' >/dev/null 2>&1; then return; fi
		if [ "$fresh" = 0 ] && replica_up; then return; fi
		sleep 0.5
	done
	tail -30 "$REPLICA_DIR/error.log" >&2
	die "the MariaDB replica did not become ready on port $REPLICA_PORT"
}

# wait_replicating: waits until both replication threads run; on an error of either it
# prints the replica's SHOW SLAVE STATUS and fails.
wait_replicating() {
	local st i
	for i in $(seq 1 60); do
		st=$(replica_root -e 'SHOW SLAVE STATUS\G' 2>/dev/null || true)
		if grep -q 'Slave_IO_Running: Yes' <<<"$st" && grep -q 'Slave_SQL_Running: Yes' <<<"$st"; then return; fi
		if grep -Eq 'Last_(IO|SQL)_Errno: [1-9]' <<<"$st"; then break; fi
		sleep 0.5
	done
	printf '%s\n' "$st" >&2
	die "the replica on port $REPLICA_PORT does not replicate from 127.0.0.1:$MYSQL_PORT (status above)"
}

fresh_replica() {
	mysql_up || die "the primary MariaDB does not answer on 127.0.0.1:$MYSQL_PORT; start it with up.sh"
	stop_replica
	rm -rf "$REPLICA_DIR/data"
	write_config
	log "initialising the MariaDB replica in $REPLICA_DIR/data"
	mariadb-install-db --defaults-file="$REPLICA_DIR/my.cnf" --auth-root-authentication-method=normal >"$REPLICA_DIR/install.log" 2>&1 ||
		{ tail -20 "$REPLICA_DIR/install.log" >&2; die "mariadb-install-db failed for the replica"; }
	start_server 1
	local pos
	pos=$(mysql_root -N -e 'SELECT @@GLOBAL.gtid_binlog_pos') || die "cannot read the primary's @@gtid_binlog_pos"
	# The accounts are made locally and kept out of the replica's binary log
	# (sql_log_bin=0): a local GTID with server id 2 would make the replica's history diverge
	# from the primary's before the test starts. It starts at the primary's current position.
	mariadb --no-defaults -uroot -S "$REPLICA_SOCK" <<SQL || die "could not set up the replica (see $REPLICA_DIR/error.log)"
SET SESSION sql_log_bin = 0;
ALTER USER 'root'@'localhost' IDENTIFIED BY '$MYSQL_ROOT_PASSWORD';
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '$MYSQL_ROOT_PASSWORD';
DELETE FROM mysql.global_priv WHERE User = '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'replicator'@'127.0.0.1' IDENTIFIED BY '$MYSQL_REPL_PASSWORD';
GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR ON *.* TO 'replicator'@'127.0.0.1';
FLUSH PRIVILEGES;
RESET MASTER;
SET GLOBAL gtid_slave_pos = '$pos';
CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = $MYSQL_PORT, MASTER_USER = 'replicator',
  MASTER_PASSWORD = '$MYSQL_REPL_PASSWORD', MASTER_CONNECT_RETRY = 1, MASTER_USE_GTID = slave_pos;
START SLAVE;
SQL
	wait_replicating
	log "replica on 127.0.0.1:$REPLICA_PORT replicates from 127.0.0.1:$MYSQL_PORT starting after GTID '$pos' (databases like $REPLICA_DBS)"
}

case "${1:-}" in
up)
	if replica_up; then
		log "MariaDB replica already running on 127.0.0.1:$REPLICA_PORT"
	elif [ -d "$REPLICA_DIR/data/mysql" ]; then
		# The configuration (with its filter) is the one fresh wrote for this data.
		[ -f "$REPLICA_DIR/my.cnf" ] || write_config
		start_server 0
	else
		fresh_replica
	fi
	;;
fresh) fresh_replica ;;
down) stop_replica ;;
status)
	st=$(replica_root -e 'SHOW SLAVE STATUS\G' 2>/dev/null) || { echo "replica on port $REPLICA_PORT: not answering"; exit 1; }
	if grep -q 'Slave_IO_Running: Yes' <<<"$st" && grep -q 'Slave_SQL_Running: Yes' <<<"$st"; then
		echo "replica on port $REPLICA_PORT: replicating from 127.0.0.1:$MYSQL_PORT"
		exit 0
	fi
	echo "replica on port $REPLICA_PORT: answering, not replicating"
	exit 1
	;;
*) die "usage: replica.sh up|fresh|down|status" ;;
esac

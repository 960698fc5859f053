#!/usr/bin/env bash
# Starts the local MariaDB 10.11 (binary log on, ROW format, FULL row image, GTID) and
# PostgreSQL 15 on loopback, each in a data directory of its own, plus a second MariaDB
# as a GTID replica of the first (integration/env/replica.sh) unless REPLICATOR_ENV_REPLICA=0
# and the Elasticsearch node (integration/env/es.sh) unless REPLICATOR_ENV_ES=0. Installs what is missing from
# Debian's packages. Idempotent: servers already running are reused.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/common.sh"

install_packages() {
	local need=()
	command -v mariadbd >/dev/null 2>&1 || need+=(mariadb-server)
	command -v mariadb >/dev/null 2>&1 || need+=(mariadb-client)
	[ -x "$PG_BIN/postgres" ] || need+=(postgresql-15)
	# PostGIS for the spatial type tests (mapping.spatial = "postgis").
	[ -f /usr/share/postgresql/15/extension/postgis.control ] || need+=(postgresql-15-postgis-3)
	command -v sysbench >/dev/null 2>&1 || need+=(sysbench)
	if [ ${#need[@]} -gt 0 ]; then
		[ "$(id -u)" = 0 ] || die "missing packages ${need[*]}; run as root or install them"
		log "installing ${need[*]}"
		export DEBIAN_FRONTEND=noninteractive
		# Package scripts must not start system-wide servers on the default ports.
		local had_policy=0
		[ -e /usr/sbin/policy-rc.d ] && had_policy=1
		[ "$had_policy" = 1 ] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d; }
		apt-get update -qq >/dev/null
		apt-get install -y -qq "${need[@]}" >/dev/null
		[ "$had_policy" = 1 ] || rm -f /usr/sbin/policy-rc.d
	fi
}

start_mariadb() {
	if mysql_up; then
		log "MariaDB already running on 127.0.0.1:$MYSQL_PORT"
		return
	fi
	mkdir -p "$MYSQL_DIR"
	cat >"$MYSQL_DIR/my.cnf" <<CNF
[mysqld]
user=root
datadir=$MYSQL_DIR/data
socket=$MYSQL_SOCK
pid-file=$MYSQL_DIR/mysqld.pid
log-error=$MYSQL_DIR/error.log
port=$MYSQL_PORT
bind-address=127.0.0.1
skip-name-resolve
server_id=1
log_bin=$MYSQL_DIR/data/binlog
binlog_format=ROW
binlog_row_image=FULL
log_slave_updates=ON
gtid_strict_mode=ON
expire_logs_days=2
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
max_allowed_packet=64M
innodb_buffer_pool_size=512M
innodb_log_file_size=256M
innodb_flush_log_at_trx_commit=2
sync_binlog=0
max_connections=300
# TLS available (accounts created REQUIRE SSL must use it; the others may use plain TCP).
ssl_ca=$TLS_DIR/ca.pem
ssl_cert=$TLS_DIR/server.pem
ssl_key=$TLS_DIR/server-key.pem
CNF
	local fresh=0
	if [ ! -d "$MYSQL_DIR/data/mysql" ]; then
		log "initialising MariaDB in $MYSQL_DIR/data"
		mariadb-install-db --defaults-file="$MYSQL_DIR/my.cnf" --auth-root-authentication-method=normal >"$MYSQL_DIR/install.log" 2>&1 ||
			{ tail -20 "$MYSQL_DIR/install.log" >&2; die "mariadb-install-db failed"; }
		fresh=1
	fi
	log "starting MariaDB on 127.0.0.1:$MYSQL_PORT"
	nohup mariadbd --defaults-file="$MYSQL_DIR/my.cnf" >>"$MYSQL_DIR/stdout.log" 2>&1 &
	local i
	for i in $(seq 1 120); do
		if [ "$fresh" = 1 ] && mariadb --no-defaults -uroot -S "$MYSQL_SOCK" -e 'SELECT 1' >/dev/null 2>&1; then break; fi
		if [ "$fresh" = 0 ] && mysql_up; then break; fi
		sleep 0.5
	done
	if [ "$fresh" = 1 ]; then
		mariadb --no-defaults -uroot -S "$MYSQL_SOCK" <<SQL || die "could not create users (see $MYSQL_DIR/error.log)"
ALTER USER 'root'@'localhost' IDENTIFIED BY '$MYSQL_ROOT_PASSWORD';
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '$MYSQL_ROOT_PASSWORD';
DELETE FROM mysql.global_priv WHERE User = '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'replicator'@'127.0.0.1' IDENTIFIED BY '$MYSQL_REPL_PASSWORD';
GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR ON *.* TO 'replicator'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
	fi
	mysql_up || { tail -30 "$MYSQL_DIR/error.log" >&2; die "MariaDB did not become ready on port $MYSQL_PORT"; }
}

# mariadb_tls_hint: a server started by an older up.sh has no TLS; the TLS tests need it.
mariadb_tls_hint() {
	if [ "$(mysql_root -N -e 'SELECT @@have_ssl' 2>/dev/null)" != YES ]; then
		log "MariaDB runs without TLS (started before TLS was configured): the TLS tests fail until it restarts: bash $HERE/down.sh mariadb && bash $HERE/up.sh"
	fi
}

# postgres_tls turns on ssl (ssl=on is reloadable: a running server needs no restart) and
# requires it of the role it_pgtls, which the TLS tests use; other roles keep plain TCP.
postgres_tls() {
	local conf=$PG_DIR/data/postgresql.conf hba=$PG_DIR/data/pg_hba.conf
	if ! grep -q '^ssl = on' "$conf"; then
		cat >>"$conf" <<CONF
ssl = on
ssl_cert_file = '$TLS_DIR/server.pem'
ssl_key_file = '$TLS_DIR/pg-server-key.pem'
ssl_ca_file = '$TLS_DIR/ca.pem'
CONF
	fi
	if ! grep -q 'it_pgtls' "$hba"; then
		# First match wins: it_pgtls without TLS is rejected before the trust lines.
		{ printf 'hostnossl all it_pgtls 127.0.0.1/32 reject\nhostssl all it_pgtls 127.0.0.1/32 trust\n'; cat "$hba"; } >"$hba.new"
		mv "$hba.new" "$hba"
		chown postgres "$hba"
	fi
	if pg_up; then
		su postgres -c "$PG_BIN/pg_ctl -D '$PG_DIR/data' reload" >/dev/null
	fi
}

start_postgres() {
	if pg_up; then
		log "PostgreSQL already running on 127.0.0.1:$PG_PORT"
		return
	fi
	id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
	mkdir -p "$PG_DIR"
	chown postgres "$PG_DIR"
	if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
		log "initialising PostgreSQL in $PG_DIR/data"
		su postgres -c "$PG_BIN/initdb -D '$PG_DIR/data' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" >"$PG_DIR/initdb.log" 2>&1 ||
			{ tail -20 "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
		cat >>"$PG_DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR'
shared_buffers = 256MB
max_wal_size = 4GB
max_connections = 200
CONF
	fi
	log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
	su postgres -c "$PG_BIN/pg_ctl -D '$PG_DIR/data' -l '$PG_DIR/server.log' -w -t 60 start" >/dev/null ||
		{ tail -30 "$PG_DIR/server.log" >&2; die "PostgreSQL did not start"; }
	pg_up || die "PostgreSQL is not answering on port $PG_PORT"
}

install_packages
mkdir -p "$ENV_DIR"
id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
bash "$HERE/tls.sh"
start_mariadb
mariadb_tls_hint
if [ "${REPLICATOR_ENV_REPLICA:-1}" != 0 ]; then
	bash "$HERE/replica.sh" up
fi
start_postgres
postgres_tls
if [ "${REPLICATOR_ENV_ES:-1}" != 0 ] && [ -f "$HERE/es.sh" ]; then
	bash "$HERE/es.sh" up
fi

cat <<OUT
# local environment is up; tests read these (the values shown are the defaults)
REPLICATOR_MYSQL_HOST=127.0.0.1
REPLICATOR_MYSQL_PORT=$MYSQL_PORT
REPLICATOR_REPLICA_PORT=$REPLICA_PORT       # GTID replica of it (server_id 2, same accounts)
REPLICATOR_MYSQL_ROOT_PASSWORD=$MYSQL_ROOT_PASSWORD      # user root: administrator for test set-up
REPLICATOR_MYSQL_REPL_PASSWORD=$MYSQL_REPL_PASSWORD   # user replicator: what the tool uses
REPLICATOR_PG_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable
OUT

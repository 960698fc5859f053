# Shared settings of the local test environment; sourced by up.sh and down.sh.
# Every value can be overridden from the environment.
ENV_DIR=${REPLICATOR_ENV_DIR:-/tmp/replicator-env}
MYSQL_PORT=${REPLICATOR_MYSQL_PORT:-13306}
# The second MariaDB, a GTID replica of the first (replica.sh).
REPLICA_PORT=${REPLICATOR_REPLICA_PORT:-13307}
PG_PORT=${REPLICATOR_PG_PORT:-15432}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
MYSQL_DIR=$ENV_DIR/mariadb
PG_DIR=$ENV_DIR/pg
MYSQL_SOCK=$MYSQL_DIR/mysqld.sock
# Test certificates (tls.sh): ca.pem signs server.pem (localhost, 127.0.0.1); other-ca.pem
# is unrelated.
TLS_DIR=$ENV_DIR/tls
# root has a password over TCP so tests can act as an administrator; "replicator" is the
# least-privileged account the tool itself uses.
MYSQL_ROOT_PASSWORD=${REPLICATOR_MYSQL_ROOT_PASSWORD:-root}
MYSQL_REPL_PASSWORD=${REPLICATOR_MYSQL_REPL_PASSWORD:-replicator}

log() { printf '[env] %s\n' "$*" >&2; }
die() { printf '[env] error: %s\n' "$*" >&2; exit 1; }

mysql_root() { mariadb --no-defaults --default-character-set=utf8mb4 -uroot -p"$MYSQL_ROOT_PASSWORD" -h127.0.0.1 -P"$MYSQL_PORT" "$@"; }
mysql_up() { mysql_root -e 'SELECT 1' >/dev/null 2>&1; }
pg_up() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; }

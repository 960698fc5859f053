#!/usr/bin/env bash
# Stops the servers started by up.sh; harmless when they are not running. Arguments name
# the servers to stop (mariadb, replica, postgres, es; default all; mariadb also stops its
# replica). With --wipe it also deletes their data directories.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/common.sh"

wipe=0
which=()
for a in "$@"; do
	case "$a" in
	--wipe) wipe=1 ;;
	mariadb | replica | postgres | es) which+=("$a") ;;
	*) die "unknown argument $a (use mariadb, replica, postgres, es, --wipe)" ;;
	esac
done
[ ${#which[@]} -gt 0 ] || which=(mariadb replica postgres es)
wants() { [[ " ${which[*]} " == *" $1 "* ]]; }

if wants es && [ -f "$HERE/es.sh" ]; then bash "$HERE/es.sh" down || true; fi
if wants replica || wants mariadb; then bash "$HERE/replica.sh" down || true; fi

if wants mariadb && [ -f "$MYSQL_DIR/mysqld.pid" ]; then
	pid=$(cat "$MYSQL_DIR/mysqld.pid")
	if kill "$pid" 2>/dev/null; then
		log "stopping MariaDB (pid $pid)"
		for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
		kill -9 "$pid" 2>/dev/null || true
	fi
fi
if wants postgres && [ -f "$PG_DIR/data/postmaster.pid" ]; then
	log "stopping PostgreSQL"
	su postgres -c "$PG_BIN/pg_ctl -D '$PG_DIR/data' -m fast -w stop" >/dev/null 2>&1 || true
fi
if [ "$wipe" = 1 ]; then
	log "removing $ENV_DIR"
	rm -rf "$ENV_DIR"
fi

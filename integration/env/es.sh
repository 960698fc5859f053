#!/usr/bin/env bash
# A real single-node Elasticsearch 8.19 on loopback for the integration tests: plain HTTP, no
# security, one JVM started from the launcher module integration/elasticsearch (built with
# Maven from Maven Central artifacts on first use, then cached).
#
#   es.sh up       start it (reused when a node already answers on the port), wait until ready
#   es.sh down     stop it (TERM, then KILL); harmless when it is not running
#   es.sh status   say whether it answers; exit 0 when it does, 1 when not
#
# Environment: ES_PORT (19200), REPLICATOR_ENV_DIR (/tmp/replicator-env), ES_DATA_DIR
# ($REPLICATOR_ENV_DIR/es/data, wiped at every start), ES_HEAP (1g), ES_START_TIMEOUT (180 s),
# ES_TRANSPORT_PORT (19300), ES_JAVA_OPTS (extra JVM options), ES_SETTINGS (node settings only a
# start can set, space-separated key=value pairs, e.g. "thread_pool.write.size=1
# thread_pool.write.queue_size=1" for TestFaultTargetElasticsearchWriteQueue; a node started
# so rejects writes under any load, so start it like that only for that test).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODULE=$(cd "$HERE/../elasticsearch" && pwd)
ENV_DIR=${REPLICATOR_ENV_DIR:-/tmp/replicator-env}
ES_DIR=$ENV_DIR/es
ES_PORT=${ES_PORT:-19200}
ES_TRANSPORT_PORT=${ES_TRANSPORT_PORT:-19300}
ES_DATA_DIR=${ES_DATA_DIR:-$ES_DIR/data}
ES_HEAP=${ES_HEAP:-1g}
ES_START_TIMEOUT=${ES_START_TIMEOUT:-180}
LOG=$ES_DIR/es.log
PIDFILE=$ES_DIR/es.pid
JAR=$MODULE/target/es-node.jar
URL=http://127.0.0.1:$ES_PORT

log() { printf '[es] %s\n' "$*" >&2; }
die() { printf '[es] error: %s\n' "$*" >&2; exit 1; }

# http_get PATH: prints the response (status line, headers, body) of a plain HTTP GET to the
# node; needs nothing but bash. Fails when nothing listens on the port.
http_get() {
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$ES_PORT" 2>/dev/null || return 1
	printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$1" "$ES_PORT" >&"$fd"
	timeout 10 cat <&"$fd" || true
	exec {fd}>&-
}

# answers: true when an Elasticsearch node (status 200 and the product header) answers GET PATH.
answers() {
	local res
	res=$(http_get "${1:-/}" 2>/dev/null) || return 1
	[[ $res == "HTTP/1.1 200"* ]] && grep -qi '^x-elastic-product: *Elasticsearch' <<<"$res"
}

# our_pid: the pid from the pid file when that process is alive and is our launcher.
our_pid() {
	local pid
	[ -f "$PIDFILE" ] || return 1
	pid=$(cat "$PIDFILE")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'es-node.jar' || return 1
	echo "$pid"
}

need_java() {
	command -v java >/dev/null 2>&1 || die "java not found: install a JDK 17 or newer (Debian: openjdk-17-jdk-headless)"
	local v
	v=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
	[ "${v%%.*}" -ge 17 ] 2>/dev/null || die "java ${v:-?} found, Elasticsearch 8 needs Java 17 or newer"
}

# build: packages the launcher when its jar is missing or older than its sources.
build() {
	if [ -f "$JAR" ] && [ -d "$MODULE/target/lib" ] &&
		[ -z "$(find "$MODULE/pom.xml" "$MODULE/src" -newer "$JAR" -print -quit)" ]; then
		return
	fi
	command -v mvn >/dev/null 2>&1 || die "mvn not found: install Maven 3 (Debian: maven) to build $MODULE"
	log "building the launcher in $MODULE (the first build downloads its dependencies)"
	local start=$SECONDS
	mvn -q -B -Dstyle.color=never -f "$MODULE/pom.xml" package >&2 || die "Maven build of $MODULE failed"
	log "built in $((SECONDS - start)) s"
}

print_settings() {
	cat <<OUT
# Elasticsearch is up; tests read REPLICATOR_ES_URL (the value shown is the default)
ES_URL=$URL
REPLICATOR_ES_URL=$URL
OUT
}

up() {
	mkdir -p "$ES_DIR"
	if answers /; then
		log "Elasticsearch already answers on $URL; reusing it"
		print_settings
		return
	fi
	local pid
	if pid=$(our_pid); then
		log "Elasticsearch (pid $pid) is running but not answering yet; waiting for it"
	else
		if (exec 3<>"/dev/tcp/127.0.0.1/$ES_PORT") 2>/dev/null; then
			die "port $ES_PORT is taken by something that is not Elasticsearch; set ES_PORT to another port"
		fi
		need_java
		build
		mkdir -p "$ES_DIR/tmp"
		log "starting Elasticsearch on $URL (data in $ES_DATA_DIR, heap $ES_HEAP, log $LOG)"
		# shellcheck disable=SC2086 # ES_JAVA_OPTS is a list of options
		ES_PORT=$ES_PORT ES_TRANSPORT_PORT=$ES_TRANSPORT_PORT ES_SETTINGS=${ES_SETTINGS:-} nohup java \
			-Xms256m -Xmx"$ES_HEAP" -XX:MaxDirectMemorySize=512m -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
			-Djava.io.tmpdir="$ES_DIR/tmp" -Djava.awt.headless=true -Dfile.encoding=UTF-8 \
			-Dlog4j2.formatMsgNoLookups=true -Dlog4j2.disable.jmx=true \
			-Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true -Dio.netty.recycler.maxCapacityPerThread=0 \
			${ES_JAVA_OPTS:-} -jar "$JAR" "$ES_DATA_DIR" >"$LOG" 2>&1 </dev/null &
		pid=$!
		echo "$pid" >"$PIDFILE"
	fi
	local deadline=$((SECONDS + ES_START_TIMEOUT))
	until answers '/_cluster/health?wait_for_status=yellow&timeout=1s'; do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "Elasticsearch (pid $pid) exited during start-up; last 40 lines of $LOG:"
			tail -n 40 "$LOG" >&2 || true
			rm -f "$PIDFILE"
			die "Elasticsearch did not start"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			log "last 40 lines of $LOG:"
			tail -n 40 "$LOG" >&2 || true
			die "Elasticsearch (pid $pid) was not ready on $URL within ${ES_START_TIMEOUT} s (ES_START_TIMEOUT); stop it with: bash $HERE/es.sh down"
		fi
		sleep 0.5
	done
	log "Elasticsearch is ready on $URL (pid $pid)"
	print_settings
}

down() {
	local pid
	if ! pid=$(our_pid); then
		rm -f "$PIDFILE"
		if answers /; then
			log "a node answers on $URL but was not started by es.sh (no live pid in $PIDFILE); leaving it"
		else
			log "Elasticsearch is not running"
		fi
		return
	fi
	log "stopping Elasticsearch (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	local i
	for i in $(seq 1 60); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "still running after 30 s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$PIDFILE"
}

status() {
	local pid res version
	if res=$(http_get / 2>/dev/null) && [[ $res == "HTTP/1.1 200"* ]]; then
		version=$(sed -n 's/.*"number":"\([^"]*\)".*/\1/p' <<<"$res")
		echo "Elasticsearch ${version:-?} answers on $URL$(pid=$(our_pid) && echo " (pid $pid)")"
		return 0
	fi
	if pid=$(our_pid); then
		echo "Elasticsearch (pid $pid) is running but not answering on $URL; see $LOG"
	else
		echo "Elasticsearch is not running on $URL"
	fi
	return 1
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
*)
	echo "usage: $0 up|down|status" >&2
	exit 2
	;;
esac

#!/usr/bin/env bash
# A real single-node Elasticsearch 8.19 on loopback for the integration tests: plain HTTP, no
# security, one JVM started from the launcher module integration/elasticsearch (built with
# Maven from Maven Central artifacts on first use, then cached). Two variants, each in a
# function of its own: ES_VERSION=9 (select_version) and the secured ES_TLS=1 (select_tls).
#
#   es.sh up       start it (reused when a node already answers on the port), wait until ready
#   es.sh down     stop it (TERM, then KILL); harmless when it is not running
#   es.sh status   say whether it answers; exit 0 when it does, 1 when not
#   es.sh java     print the JDK up would use (pick_java); exit 1 when none is new enough
#
# Environment: ES_PORT (19200), REPLICATOR_ENV_DIR (/tmp/replicator-env), ES_DATA_DIR
# ($REPLICATOR_ENV_DIR/es/data, wiped at every start), ES_HEAP (1g), ES_START_TIMEOUT (180 s),
# ES_TRANSPORT_PORT (19300), ES_DIR (the node's files: $REPLICATOR_ENV_DIR/es), ES_JAVA_OPTS (extra JVM options), ES_SETTINGS (node settings only a
# start can set, space-separated key=value pairs, e.g. "thread_pool.write.size=1
# thread_pool.write.queue_size=1" for TestFaultTargetElasticsearchWriteQueue; a node started
# so rejects writes under any load, so start it like that only for that test).
#
# ES_VERSION selects the major version (select_version): 8 (default, 8.19, Java 17+) or 9
# (9.5, Java 21+, e.g. ES_VERSION=9 ES_PORT=19201 ES_TRANSPORT_PORT=19301 es.sh up); a 9
# node keeps its files in $REPLICATOR_ENV_DIR/es9, so it can run beside the default node.
# Java (pick_java): ES_JAVA_HOME, else java on PATH when new enough, else the newest JDK
# under /usr/lib/jvm that is; the same JDK builds the launcher.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODULE=$(cd "$HERE/../elasticsearch" && pwd)
ENV_DIR=${REPLICATOR_ENV_DIR:-/tmp/replicator-env}
ES_VERSION=${ES_VERSION:-8}
ES_DIR_GIVEN=${ES_DIR:-} ES_DATA_DIR_GIVEN=${ES_DATA_DIR:-}
ES_PORT=${ES_PORT:-19200}
ES_TRANSPORT_PORT=${ES_TRANSPORT_PORT:-19300}
ES_HEAP=${ES_HEAP:-1g}
ES_START_TIMEOUT=${ES_START_TIMEOUT:-180}
URL=http://127.0.0.1:$ES_PORT

# select_version sets what differs between the major versions: the Maven profile of the
# launcher, its build directory, the Java it needs and where the node keeps its files.
select_version() {
	case "$ES_VERSION" in
	8 | 8.*) PROFILE=es8 BUILD_DIR=$MODULE/target MIN_JAVA=17 ES_DIR=${ES_DIR:-$ENV_DIR/es} ;;
	9 | 9.*) PROFILE=es9 BUILD_DIR=$MODULE/target-es9 MIN_JAVA=21 ES_DIR=${ES_DIR:-$ENV_DIR/es9} ;;
	*)
		printf '[es] error: ES_VERSION=%s: want 8 or 9\n' "$ES_VERSION" >&2
		exit 2
		;;
	esac
	JAR=$BUILD_DIR/es-node.jar
}
select_version

# select_tls: ES_TLS=1 is the secured variant, an 8.19 node built with x-pack security (the
# launcher's tls profile) serving HTTPS with $ES_TLS_DIR/server.pem (integration/env/tls.sh:
# signed by ca.pem for localhost and 127.0.0.1) and one file-realm user, ES_USER (it_admin)
# with ES_PASSWORD (required, 6 characters or more), whose role has the privileges of the
# replicator's Elasticsearch target (cluster monitor and manage_own_api_key, all on every
# index). Its files are in $REPLICATOR_ENV_DIR/es-tls; give it ports of its own, e.g.
# ES_TLS=1 ES_PASSWORD=... ES_PORT=19202 ES_TRANSPORT_PORT=19302 es.sh up. It replaces
# http_get with curl over verified HTTPS as that user, so up, down and status work the same.
select_tls() {
	[ "${ES_TLS:-0}" = 1 ] || return 0
	case "$ES_VERSION" in
	8 | 8.*) ;;
	*) die "ES_TLS=1 is an Elasticsearch 8 node; unset ES_VERSION (now $ES_VERSION)" ;;
	esac
	[ ${#ES_PASSWORD} -ge 6 ] 2>/dev/null || die "ES_TLS=1 needs ES_PASSWORD (6 characters or more): the password of ES_USER (${ES_USER:-it_admin}) on the secured node"
	command -v curl >/dev/null 2>&1 || die "ES_TLS=1 needs curl to reach the node over HTTPS: install it (Debian: curl)"
	PROFILE=tls BUILD_DIR=$MODULE/target-tls ES_DIR=${ES_DIR_GIVEN:-$ENV_DIR/es-tls}
	JAR=$BUILD_DIR/es-node.jar
	ES_DATA_DIR=${ES_DATA_DIR_GIVEN:-$ES_DIR/data} LOG=$ES_DIR/es.log PIDFILE=$ES_DIR/es.pid
	ES_USER=${ES_USER:-it_admin}
	NODE_TLS_DIR=${ES_TLS_DIR:-$ENV_DIR/tls}
	URL=https://127.0.0.1:$ES_PORT
	if [ ! -f "$NODE_TLS_DIR/server.pem" ]; then
		[ "$NODE_TLS_DIR" = "$ENV_DIR/tls" ] || die "ES_TLS_DIR=$NODE_TLS_DIR holds no server.pem: create the certificates with integration/env/tls.sh"
		bash "$HERE/tls.sh"
	fi
	export ES_USER ES_PASSWORD
	# The password goes to curl on its standard input, never on its command line.
	http_get() {
		printf 'user = "%s:%s"\n' "$ES_USER" "$ES_PASSWORD" |
			curl -si --http1.1 --max-time 10 --cacert "$NODE_TLS_DIR/ca.pem" -K - "$URL$1" 2>/dev/null | tr -d '\r'
	}
	print_settings() {
		cat <<OUT
# the secured Elasticsearch node is up (user $ES_USER, password ES_PASSWORD, CA $NODE_TLS_DIR/ca.pem)
REPLICATOR_ES_TLS_URL=$URL
OUT
	}
}
ES_DATA_DIR=${ES_DATA_DIR:-$ES_DIR/data}
LOG=$ES_DIR/es.log
PIDFILE=$ES_DIR/es.pid

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

# java_feature JAVA: the feature version (17, 21, 25) of a java binary, empty when it does
# not run.
java_feature() {
	local v
	v=$("$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
	echo "${v%%.*}"
}

# pick_java sets JAVA_HOME (for Maven) and JAVA to a JDK of at least MIN_JAVA: ES_JAVA_HOME
# when set (and then only it), else the java on PATH, else the newest under /usr/lib/jvm.
pick_java() {
	local j v best="" bestv=0
	if [ -n "${ES_JAVA_HOME:-}" ]; then
		v=$(java_feature "$ES_JAVA_HOME/bin/java")
		[ "${v:-0}" -ge "$MIN_JAVA" ] 2>/dev/null ||
			die "ES_JAVA_HOME=$ES_JAVA_HOME is Java ${v:-?} (or not a JDK); Elasticsearch $ES_VERSION needs Java $MIN_JAVA or newer"
		best=$ES_JAVA_HOME
	else
		if j=$(command -v java 2>/dev/null); then
			j=$(readlink -f "$j")
			v=$(java_feature "$j")
			[ "${v:-0}" -ge "$MIN_JAVA" ] 2>/dev/null && best=${j%/bin/java}
		fi
		if [ -z "$best" ]; then
			for j in /usr/lib/jvm/*/bin/java; do
				[ -x "$j" ] || continue
				v=$(java_feature "$j")
				if [ "${v:-0}" -ge "$MIN_JAVA" ] 2>/dev/null && [ "$v" -gt "$bestv" ]; then
					best=${j%/bin/java} bestv=$v
				fi
			done
		fi
		[ -n "$best" ] || die "no Java $MIN_JAVA or newer found (PATH, /usr/lib/jvm) for Elasticsearch $ES_VERSION: install one or set ES_JAVA_HOME"
	fi
	export JAVA_HOME=$best
	JAVA=$best/bin/java
}

# build: packages the launcher when its jar is missing or older than its sources.
build() {
	if [ -f "$JAR" ] && [ -d "$BUILD_DIR/lib" ] &&
		[ -z "$(find "$MODULE/pom.xml" "$MODULE/src" -newer "$JAR" -print -quit)" ]; then
		return
	fi
	command -v mvn >/dev/null 2>&1 || die "mvn not found: install Maven 3 (Debian: maven) to build $MODULE"
	log "building the $PROFILE launcher in $MODULE with $JAVA_HOME (the first build downloads its dependencies)"
	local start=$SECONDS
	mvn -q -B -Dstyle.color=never -P"$PROFILE" -f "$MODULE/pom.xml" package >&2 || die "Maven build of $MODULE ($PROFILE) failed"
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
		local running
		running=$(http_get / | sed -n 's/.*"number" *: *"\([^"]*\)".*/\1/p')
		[ "${running%%.*}" = "${ES_VERSION%%.*}" ] ||
			die "Elasticsearch ${running:-?} already answers on $URL, not version $ES_VERSION (ES_VERSION): stop it or set ES_PORT to another port"
		log "Elasticsearch $running already answers on $URL; reusing it"
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
		pick_java
		build
		mkdir -p "$ES_DIR/tmp"
		log "starting Elasticsearch $ES_VERSION on $URL (data in $ES_DATA_DIR, heap $ES_HEAP, log $LOG)"
		# shellcheck disable=SC2086 # ES_JAVA_OPTS is a list of options
		ES_PORT=$ES_PORT ES_TRANSPORT_PORT=$ES_TRANSPORT_PORT ES_SETTINGS=${ES_SETTINGS:-} ES_TLS_DIR=${NODE_TLS_DIR:-} nohup "$JAVA" \
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

# java_cmd: prints the JDK up would use for ES_VERSION; exits 1 (saying why) when none is
# new enough, so callers (integration/es9.sh) can tell "no Java 21" from a failed start.
java_cmd() {
	pick_java
	echo "Java $(java_feature "$JAVA") at $JAVA_HOME"
}

select_tls

case "${1:-}" in
up) up ;;
java) java_cmd ;;
down) down ;;
status) status ;;
*)
	echo "usage: $0 up|down|status|java" >&2
	exit 2
	;;
esac

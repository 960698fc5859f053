#!/usr/bin/env bash
# The full test suite on a fresh machine: installs and starts the local servers
# (integration/env/up.sh), checks formatting and vet, runs the unit tests and then the
# integration tests against the real servers. Servers this script started are stopped at
# the end; ones that were already running are left running.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
. integration/env/common.sh

command -v go >/dev/null 2>&1 || die "Go is not installed (go.mod names the version)"

# Remember which servers were already running: only the ones this script starts are stopped.
started=()
mysql_up || started+=(mariadb)
pg_up || started+=(postgres)
bash integration/env/es.sh status >/dev/null 2>&1 || started+=(es)
cleanup() {
	if [ ${#started[@]} -gt 0 ] && [ "${REPLICATOR_KEEP_ENV:-0}" != 1 ]; then
		bash integration/env/down.sh "${started[@]}" || true
	fi
}
trap cleanup EXIT
# stage NAME: a heading with the time so far, so a slow run's log shows where it went.
stage() { echo "== $* ($(date +%T), ${SECONDS}s since the start)"; }
stage "servers"
bash integration/env/up.sh

# Extra Elasticsearch nodes, each a JVM of its own on its own ports (files under
# $REPLICATOR_ENV_DIR/es-NAME): "small" refuses requests over 1 MB
# (TestElasticsearchBulkSplit), "tls" is the secured node (x-pack security, HTTPS, a user;
# TestElasticsearchTLSNode), "queue" has a one-slot write queue that rejects writes under
# any load (TestFaultTargetElasticsearchWriteQueue). Each costs about 400 MB of memory and
# starts in 6 s (tls: 40 s), all three at once while the checks and unit tests run. Each
# is stopped at the end if this script started it. With CI=true a node that does not
# start fails the run (its test would only skip).
ENV_DIR=${REPLICATOR_ENV_DIR:-/tmp/replicator-env}
small_port=${REPLICATOR_ES_SMALL_PORT:-19201}
tls_port=${REPLICATOR_ES_TLS_PORT:-19202}
queue_port=${REPLICATOR_ES_QUEUE_PORT:-19204}
export REPLICATOR_ES_SMALL_URL=http://127.0.0.1:$small_port
export REPLICATOR_ES_TLS_URL=https://127.0.0.1:$tls_port
export REPLICATOR_ES_QUEUE_URL=http://127.0.0.1:$queue_port
export REPLICATOR_ES_TLS_PASSWORD=${REPLICATOR_ES_TLS_PASSWORD:-it-tls-Secret-9}
small_node=(ES_PORT="$small_port" ES_TRANSPORT_PORT=$((small_port + 100)) ES_DIR="$ENV_DIR/es-small" ES_HEAP=256m
	ES_SETTINGS=http.max_content_length=1mb)
queue_node=(ES_PORT="$queue_port" ES_TRANSPORT_PORT=$((queue_port + 100)) ES_DIR="$ENV_DIR/es-queue" ES_HEAP=256m
	ES_SETTINGS="thread_pool.write.size=1 thread_pool.write.queue_size=1")
tls_node=(ES_TLS=1 ES_PASSWORD="$REPLICATOR_ES_TLS_PASSWORD" ES_PORT="$tls_port" ES_TRANSPORT_PORT=$((tls_port + 100)) ES_HEAP=512m)
extra_started=()
extra_pids=()
stop_extra_nodes() {
	local n
	for n in "${extra_started[@]}"; do
		local -n settings=${n}_node
		env "${settings[@]}" bash integration/env/es.sh down || true
	done
	extra_started=()
}
# extra_node NAME: starts the node whose settings are in the array NAME_node, in the
# background (the nodes start while the checks and unit tests run; extra_wait waits for
# them before the integration tests).
extra_node() {
	local -n settings=${1}_node
	if env "${settings[@]}" bash integration/env/es.sh status >/dev/null 2>&1; then
		return
	fi
	[ "${REPLICATOR_KEEP_ENV:-0}" = 1 ] || extra_started+=("$1")
	mkdir -p "$ENV_DIR"
	env "${settings[@]}" bash integration/env/es.sh up >"$ENV_DIR/es-$1-up.log" 2>&1 &
	extra_pids+=("$1:$!")
}
extra_wait() {
	local e
	for e in "${extra_pids[@]}"; do
		if ! wait "${e#*:}"; then
			cat "$ENV_DIR/es-${e%%:*}-up.log"
			if [ "${CI:-true}" = true ]; then
				echo "the ${e%%:*} Elasticsearch node did not start (see above); CI=true, so this fails"
				exit 1
			fi
			echo "(the ${e%%:*} Elasticsearch node did not start: its tests skip)"
		fi
	done
	extra_pids=()
}
trap 'stop_extra_nodes; cleanup' EXIT
extra_node small
extra_node tls
extra_node queue

stage "gofmt / go vet"
unformatted=$(gofmt -l $(git ls-files '*.go'))
[ -z "$unformatted" ] || { echo "gofmt would change: $unformatted"; exit 1; }
go vet ./...
go vet -tags integration ./integration/
stage "go mod tidy / staticcheck"
go mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -tags integration ./integration/

stage "unit tests"
go test -count=1 ./...

# Every fuzz target for a bounded number of inputs (its seeds already ran as unit tests
# above): a count, not a duration, because a duration that runs out while the fuzzer
# minimises a new input fails with "context deadline exceeded" though nothing failed.
# Longer: REPLICATOR_FUZZTIME=10m bash integration/test.sh, or one target by hand (README,
# Fuzzing).
fuzztime=${REPLICATOR_FUZZTIME:-30000x}
stage "fuzz ($fuzztime per target)"
for target in ddl:FuzzParse applier/postgres/pgddl:FuzzTranslate source:FuzzRowValues config:FuzzParse config:FuzzSecretNotInError; do
	go test -run '^$' -fuzz "^${target#*:}\$" -fuzztime "$fuzztime" "./${target%%:*}" >/tmp/replicator-fuzz.log 2>&1 ||
		{ tail -30 /tmp/replicator-fuzz.log; echo "fuzz target $target failed: the input is under ${target%%:*}/testdata/fuzz/"; exit 1; }
	echo "ok  ${target%%:*} ${target#*:}"
done

extra_wait
stage "integration tests"
# One package, run serially: the tests share the servers (and some change global settings).
export CI=${CI:-true}
# The full verbose log goes to a file; the terminal gets test names, failures and the summary.
log=${REPLICATOR_TEST_LOG:-/tmp/replicator-integration.log}
set +e
go test -tags integration -count=1 -p 1 -timeout 40m ${REPLICATOR_TEST_RUN:+-run "$REPLICATOR_TEST_RUN"} -v ./integration/ 2>&1 |
	tee "$log" | grep --line-buffered -E '^(=== RUN|\s*--- |PASS|FAIL|ok|panic)|_test.go:[0-9]+:'
status=${PIPESTATUS[0]}
set -e
passed=$(grep -cE '^--- PASS' "$log" || true)
failed=$(grep -cE '^--- FAIL' "$log" || true)
skipped=$(grep -cE '^--- SKIP' "$log" || true)
echo "integration: $passed passed, $failed failed, $skipped skipped"
if [ -z "${REPLICATOR_SAKILA_DIR:-}" ]; then
	echo "(the Sakila extra suite did not run: set REPLICATOR_SAKILA_DIR to the dataset's folder)"
fi
echo "(full log: $log)"
stop_extra_nodes

# The short pass on an Elasticsearch 9 node (integration/es9.sh; the full Elasticsearch suite
# on 9: bash integration/es9.sh full). It needs Java 21+: without one it is left out (exit
# 3); with one, a node that cannot start fails the run.
stage "Elasticsearch 9 pass"
es9=0
bash integration/es9.sh || es9=$?
case $es9 in
0) ;;
3) echo "(the Elasticsearch 9 pass did not run: no Java 21 or newer; set ES_JAVA_HOME to one)" ;;
*) status=$((status == 0 ? es9 : status)) ;;
esac
stage "done (exit $status)"
exit "$status"

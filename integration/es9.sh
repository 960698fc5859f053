#!/usr/bin/env bash
# The Elasticsearch tests on a 9.x node: starts one with es.sh (ES_VERSION=9, its own ports
# and files) beside the servers of up.sh, runs the tests with REPLICATOR_ES_URL pointing at
# it and only the Elasticsearch subtests of the scenarios (REPLICATOR_TARGETS), then stops
# the node if it started it. MariaDB and PostgreSQL must be up already (integration/env/up.sh).
#
#   es9.sh          the short pass test.sh runs (ES9_SHORT: node, snapshot, stream, DDL and
#                   aliases, types, deletes; about 3 minutes)
#   es9.sh full     every test that touches Elasticsearch (es_tests, 61 less the 3 with nodes
#                   of their own; about 11 minutes)
#   es9.sh list     print the names es9.sh full runs
#   es9.sh run RE   the tests matching the go test -run expression RE
#
# Exit status 3 when no Java 21+ is found (es.sh java): the caller decides whether that is
# a failure. Environment: REPLICATOR_ES9_PORT (19203), REPLICATOR_ES9_TRANSPORT_PORT (19303),
# REPLICATOR_ES9_LOG (/tmp/replicator-es9.log), REPLICATOR_ENV_DIR and what the tests read.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# ES9_SHORT covers snapshot (TestSnapshotExistingTarget), stream (TestStreamDML), DDL and
# aliases (TestElasticDDL, TestElasticTableDDL, TestElasticSwapAlias), the type matrix
# (TestTypesMatrix, which sends more than 100 MB of rows: the bulk split) and deletes
# (TestDeletesSoftIgnore), plus the node check itself.
ES9_SHORT='^(TestElasticsearchNode|TestSnapshotExistingTarget|TestStreamDML|TestElasticDDL|TestElasticTableDDL|TestElasticSwapAlias|TestTypesMatrix|TestDeletesSoftIgnore)$'

# es_tests prints the top-level tests that touch Elasticsearch: those whose body, or the
# body of a helper they call (followed to a fixed point), names an Elasticsearch harness.
es_tests() {
	local base='newESTarget|newESHarness|esHarness|forEachTarget|targetKinds[(]|esURL|REPLICATOR_ES_URL'
	local re=$base prev="" f
	# One name a line for every function whose body matches re.
	local funcs='
	/^func / {
		if (name != "" && hit) print name
		name = ""; hit = 0
		if ($0 ~ /^func [A-Za-z0-9_]+[[(]/) { name = $2; sub(/[[(].*/, "", name) }
		next
	}
	name != "" && $0 ~ re { hit = 1 }
	END { if (name != "" && hit) print name }'
	while [ "$re" != "$prev" ]; do
		prev=$re
		re=$base
		for f in $(awk -v re="$prev" "$funcs" integration/*_test.go | grep -v '^Test' | sort -u); do
			re="$re|[^A-Za-z0-9_.]$f[[(]"
		done
	done
	awk -v re="$re" "$funcs" integration/*_test.go | grep '^Test' | sort -u
}

mode=${1:-short}
case "$mode" in
list)
	es_tests
	exit 0
	;;
short) run=$ES9_SHORT ;;
full) run="^($(es_tests | paste -sd '|'))\$" ;;
run) run=${2:?es9.sh run needs a go test -run expression} ;;
*)
	echo "usage: $0 [short|full|list|run RE]" >&2
	exit 2
	;;
esac

export ES_VERSION=9 ES_PORT=${REPLICATOR_ES9_PORT:-19203} ES_TRANSPORT_PORT=${REPLICATOR_ES9_TRANSPORT_PORT:-19303}
# Elasticsearch 9 counts a document at about four times its size against
# indexing_pressure.memory.limit (10% of the heap): TestTypesMatrix's 44 MB document needs
# 179 MB beside the request's own 45 MB, so the node gets 1 GB and 30% (the replicator,
# refused, says so and stops).
export ES_HEAP=${ES_HEAP:-1g} ES_SETTINGS=${ES_SETTINGS:-indexing_pressure.memory.limit=30%}
if ! java=$(bash integration/env/es.sh java 2>&1); then
	echo "$java" >&2
	exit 3
fi
started=0
bash integration/env/es.sh status >/dev/null 2>&1 || started=1
[ "$started" = 0 ] || trap 'bash integration/env/es.sh down || true' EXIT
bash integration/env/es.sh up >/dev/null

log=${REPLICATOR_ES9_LOG:-/tmp/replicator-es9.log}
echo "== integration tests on Elasticsearch 9 ($mode, $java, log $log)"
set +e
# The tests with a node of their own (test.sh's extra 8.19 nodes: REPLICATOR_ES_SMALL_URL,
# _TLS_URL, _QUEUE_URL) test that node, whatever the version: left out.
REPLICATOR_ES_URL=http://127.0.0.1:$ES_PORT REPLICATOR_ES_MAJOR=9 REPLICATOR_TARGETS=elasticsearch CI=${CI:-true} \
	go test -tags integration -count=1 -p 1 -timeout 60m -run "$run" -skip '^(TestElasticsearchBulkSplit|TestElasticsearchTLSNode|TestFaultTargetElasticsearchWriteQueue)$' -v ./integration/ 2>&1 |
	tee "$log" | grep --line-buffered -E '^(\s*--- FAIL|FAIL|ok|panic)|_test.go:[0-9]+:'
status=${PIPESTATUS[0]}
set -e
echo "Elasticsearch 9: $(grep -cE '^--- PASS' "$log" || true) passed, $(grep -cE '^--- FAIL' "$log" || true) failed, $(grep -cE '^--- SKIP' "$log" || true) skipped (log $log)"
exit "$status"

#!/bin/sh
# SPDX-License-Identifier: MIT
# churn_refused.sh - every bad churn{} is refused at its line, exit 2, with
# a message naming the key and value, and nothing stored; a churn swept by
# a param() runs both points.
#   churn_refused.sh UKFORK
set -u
UKFORK=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/ukf-churn.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL [churn_refused]: $*" >&2; exit 1; }

# refused BODY EXPECTED-MESSAGE
refused() {
	printf 'cluster { nodes = 2 }\nrun { duration = "1s" }\nchurn { %s }\n' \
		"$1" >"$T/s.lua"
	"$UKFORK" run "$T/s.lua" --quiet --db "$T/db" 2>"$T/err"
	rc=$?
	[ "$rc" = 2 ] || fail "churn{ $1 }: exit $rc, expected 2"
	grep -qF "s.lua:3: churn{}: $2" "$T/err" ||
		fail "churn{ $1 }: expected '$2', got: $(cat "$T/err")"
	[ ! -e "$T/db" ] || fail "churn{ $1 }: a database was written"
}
refused 'mtbf = -1, mttr = 1' 'bad value mtbf=-1: expected a time >= 0'
refused 'mtbf = "1s", mttr = "-2s"' 'bad value mttr=-2s'
refused 'mtbf = 0, mttr = "1s"' 'mtbf must be > 0'
refused 'mtbf = "1s", mttr = 0' 'mttr must be > 0'
refused 'mtbf = true, mttr = "1s"' 'mtbf must be a time, not a boolean'
refused 'mtbf = "1s", mttr = "1s", detect = false' 'detect must be a time, not a boolean'
refused 'mtbf = "10", mttr = "1s"' 'bad value mtbf=10: expected a time'
refused 'mtbf = "10m", mttr = "1s"' 'bad value mtbf=10m'
refused 'mtbf = "10s"' 'give both mtbf and mttr'
refused 'mttr = "10s"' 'give both mtbf and mttr'
refused 'detect = "-5ms"' 'bad value detect=-5ms'
refused '' 'give mtbf and mttr, or detect'
refused 'mtbf = "1s", mttr = "1s", mtrr = 3' "unknown argument 'mtrr'"
refused 'mtbf = { "1s", "2s" }, mttr = "1s"' 'mtbf must be a time, not a table'

# twice, and inside a process
printf 'churn { detect = "1s" }\nchurn { detect = "2s" }\n' >"$T/s.lua"
"$UKFORK" run "$T/s.lua" --quiet 2>"$T/err"
[ $? = 2 ] && grep -qF 's.lua:2: churn{} given twice (first at' "$T/err" ||
	fail "churn{} twice: $(cat "$T/err")"
printf 'process(function() churn { detect = "1s" } end)\n' >"$T/s.lua"
"$UKFORK" run "$T/s.lua" --quiet 2>"$T/err"
[ $? = 2 ] && grep -qF 'churn{} is a declaration' "$T/err" ||
	fail "churn{} in a process: $(cat "$T/err")"

# swept through a param(): two points, each its own churn
cat >"$T/s.lua" <<'LUA'
cluster { nodes = 3 }
run { duration = "20s" }
churn { mtbf = param("mtbf", { "1s", "100s" }), mttr = "1s" }
app("a", "mem=16M init=10ms work=50ms")
LUA
"$UKFORK" run "$T/s.lua" --quiet --trace "$T/trace" 2>"$T/err" ||
	fail "swept churn: $(cat "$T/err")"
n1=$(awk '/^# run/ { k++ } /node-fail/ && k == 1' "$T/trace" | wc -l)
n2=$(awk '/^# run/ { k++ } /node-fail/ && k == 2' "$T/trace" | wc -l)
# mean 1 s up, 1 s down on 3 nodes for 20 s: ~30 failures; mean 100 s: ~0.6
[ "$n1" -gt 10 ] && [ "$n2" -lt "$n1" ] ||
	fail "swept mtbf: $n1 failures at 1 s, $n2 at 100 s"
exit 0

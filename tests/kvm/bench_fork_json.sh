#!/bin/sh
# SPDX-License-Identifier: MIT
# bench_fork_json.sh BENCH SYNTH - ukvm-bench-fork --json reports like bootbench (keys, nearest-rank figures), bad arguments exit 2 (77 = skip).
set -u
B=$1
SYNTH=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; cat "$T/out" "$T/err" 2>/dev/null; exit 1; }
# bad input first: refused before any VM, exit 2
"$B" --clones 0 >"$T/out" 2>"$T/err"; r=$?
[ $r = 2 ] || [ $r = 77 ] || fail "--clones 0: exit $r, want 2"
"$B" --bogus >"$T/out" 2>"$T/err"; r=$?
[ $r = 2 ] || fail "--bogus: exit $r, want 2"
grep -q -- "--json" "$T/err" || fail "usage does not list --json"
"$B" --synth /nonexistent/synth --json >"$T/out" 2>"$T/err"; r=$?
[ $r = 77 ] && exit 77
[ $r = 2 ] || fail "missing guest: exit $r, want 2"
grep -q "/nonexistent/synth" "$T/err" || fail "missing guest not named"
# the image is part of the build: missing is a failure, not a skip
[ -f "$SYNTH" ] || fail "$SYNTH was not built (a build failure, not a missing capability)"
"$B" --synth "$SYNTH" --json --clones 20 --forks 20 --throughput 20 --cold 3 \
	>"$T/out" 2>"$T/err"; r=$?
[ $r = 77 ] && exit 77
[ $r = 0 ] || fail "exit $r"
[ "$(wc -l <"$T/out")" = 1 ] || fail "stdout is not one JSON line"
grep -q "cold boot to ready" "$T/err" || fail "text figures not on stderr"
for f in cold_boot_to_ready template_clone_to_ready template_clone_to_marker \
	live_fork_to_child_started live_fork_op; do
	grep -q "\"$f\":{\"count\":[0-9]*,\"median_ms\":[0-9.e+-]*,\"median_ci_ms\":\[[^]]*\],\"p95_ms\":[0-9.e+-]*,\"p95_ci_ms\":\[[^]]*\],\"p99_ms\":[0-9.e+-]*,\"p99_ci_ms\":\[[^]]*\],\"max_ms\":[0-9.e+-]*" "$T/out" ||
		fail "figure $f missing or malformed"
done
grep -q '"template_clone_to_ready":{"count":20,' "$T/out" || fail "count"
# 20 values: the median CI is bounded on both sides
grep -q '"live_fork_op":{[^}]*"median_ci_ms":\[[0-9.e+-]*,[0-9.e+-]*\]' "$T/out" ||
	fail "median CI of 20 values not bounded"
for k in live_fork_per_s clone_2threads_per_s sustained_clone_2threads_per_s \
	first_touch_pages_per_s; do
	grep -q "\"$k\":[0-9.e+-]*" "$T/out" || fail "throughput $k missing"
done
# a closed object (balanced braces)
o=$(tr -cd '{' <"$T/out" | wc -c); c=$(tr -cd '}' <"$T/out" | wc -c)
[ "$o" = "$c" ] || fail "unbalanced braces"
exit 0

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# idle-gap.sh - what an idle spell before a template clone costs it on node agents: cluster-ops.lua's template clones (local and remote, one at a time) with each gap in turn, on a 2-node testbed; medians of request -> ready, placement -> start and start -> ready per gap and place.
#   scripts/bench/idle-gap.sh [-b BUILD_DIR] [ROUNDS] [GAPS]
# Needs /dev/kvm and root (ukfork testbed: network namespaces). ROUNDS
# (default 3) of one cluster-ops.lua run per gap (GAPS, default "20ms
# 100ms 300ms 1000ms"): 2 apps of 16 MiB, 10 clones each after their
# forks, `gap` apart; each (run, app, node)'s first clone is left out (the
# node makes its VM shell then). calibrate measures its clones 20 ms
# apart (alone-ops.lua, cluster-ops.lua); held-out.lua's requests come
# 0.6 s or more apart. Session 35 (docs/validation.md): local clones
# 9-16% dearer after 300 ms or more idle, remote ones 1-6%. Compare gaps
# within one run.
set -euo pipefail
PROG=idle-gap.sh
ROUNDS_DEFAULT=3
# bench_rounds (B, R, NARGS), bench_testbed (U, T, ST), bench_stats
. "$(dirname "$0")/../lib/bench-testbed.sh"
bench_rounds "$@"
shift "$NARGS"
GAPS=${1:-20ms 100ms 300ms 1000ms}
for g in $GAPS; do
	[[ $g =~ ^[0-9]+(us|ms|s)$ ]] || { echo "idle-gap.sh: a gap is a duration such as 20ms, got '$g'" >&2; exit 2; }
done
cd "$(dirname "$0")/../.."
bench_testbed
for k in $(seq 1 "$R"); do
	echo "round $k of $R ($(date -u +%T))" >&2
	for g in $GAPS; do
		"$U" run scripts/calibrate/cluster-ops.lua --cluster "$ST/cluster.conf" \
			--set nodes=2 --set n=2 --set sizes=16 --set units=1 --set dirty=64 \
			--set clones=10 --set "gap=$g" --seed "$k" --db "$T/g$g.db" --quiet ||
			{ echo "idle-gap.sh: the run with gap $g failed" >&2; exit 1; }
	done
done
# later template clones (no fetch): place, then the three spans in ns
q="SELECT CASE WHEN node = origin THEN 'local' ELSE 'remote' END,
     t_ready - t_request, t_start - t_placed, t_ready - t_start FROM (
     SELECT *, row_number() OVER (PARTITION BY run, app, node
       ORDER BY t_request) AS k FROM instances
     WHERE start = 'template' AND template_fetched = 0
       AND t_ready IS NOT NULL) WHERE k > 1"
med() { # column -> median in us of the rows on stdin
	awk -v c="$1" '{ print $c }' | bench_stats 1e3 0 | cut -d' ' -f2
}
printf '%-8s %-7s %4s %14s %16s %15s\n' gap place n request_ready placed_start start_ready
for g in $GAPS; do
	for p in local remote; do
		rows=$(sqlite3 -separator ' ' "$T/g$g.db" "$q" | awk -v p="$p" '$1 == p')
		printf '%-8s %-7s %4s %14s %16s %15s\n' "$g" "$p" "$(printf '%s\n' "$rows" | grep -c .)" \
			"$(printf '%s\n' "$rows" | med 2)" "$(printf '%s\n' "$rows" | med 3)" \
			"$(printf '%s\n' "$rows" | med 4)"
	done
done

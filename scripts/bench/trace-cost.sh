#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# trace-cost.sh - what `--trace` costs the operations it traces on node agents: template clones of alone-ops.lua with and without a trace, in turns, on a 2-node testbed; medians of request -> ready per memory size and their ratio.
#   scripts/bench/trace-cost.sh [-b BUILD_DIR] [ROUNDS]
# Needs /dev/kvm and root (ukfork testbed: network namespaces). ROUNDS
# (default 6) pairs of runs, each `alone-ops.lua --set n=20 --set forks=2
# --set dirty=64` (60 template clones at 8, 16 and 32 MiB, one at a time),
# the traced one first. calibrate measures with a trace and the
# validation's real runs have none, so a trace that slows what it traces
# biases the model (session 34: before the agents held their trace lines
# until idle, traced clones were 4.6-9.5% slower; after, -1.6..+2.0%).
# On a shared machine, compare the ratio of one run, not figures of two.
set -euo pipefail
PROG=trace-cost.sh
ROUNDS_DEFAULT=6
# bench_rounds (B, R, NARGS), bench_testbed (U, T, ST), bench_stats
. "$(dirname "$0")/../lib/bench-testbed.sh"
bench_rounds "$@"
shift "$NARGS"
cd "$(dirname "$0")/../.."
bench_testbed
for k in $(seq 1 "$R"); do
	echo "round $k of $R ($(date -u +%T))" >&2
	for mode in traced untraced; do
		tr=()
		[ $mode = traced ] && tr=(--trace "$T/t.trace")
		"$U" run scripts/calibrate/alone-ops.lua --cluster "$ST/cluster.conf" \
			--set n=20 --set forks=2 --set dirty=64 --seed "$k" \
			--db "$T/$mode.db" --quiet "${tr[@]}" ||
			{ echo "trace-cost.sh: the $mode run failed" >&2; exit 1; }
	done
done
# template clones of the cN apps but each run's first of an app (the
# node's first at that size: the monitor makes its VM shell)
q="SELECT app, ns FROM (SELECT app, t_ready - t_request AS ns,
     row_number() OVER (PARTITION BY run, app ORDER BY t_request) AS k
     FROM instances WHERE start = 'template' AND app GLOB 'c[0-9]*'
     AND t_ready IS NOT NULL) WHERE k > 1 ORDER BY app, ns"
med() { # DB APP -> median in us
	sqlite3 -separator ' ' "$1" "$q" | awk -v a="$2" '$1 == a { print $2 }' |
		bench_stats 1e3 0 | cut -d' ' -f2
}
printf '%-6s %8s %10s %10s %8s\n' app n traced_us untraced_us ratio
for app in $(sqlite3 "$T/untraced.db" "SELECT DISTINCT app FROM instances WHERE app GLOB 'c[0-9]*' ORDER BY length(app), app"); do
	n=$(sqlite3 -separator ' ' "$T/untraced.db" "$q" | awk -v a="$app" '$1 == a' | wc -l)
	a=$(med "$T/traced.db" "$app")
	b=$(med "$T/untraced.db" "$app")
	printf '%-6s %8s %10s %10s %8s\n' "$app" "$n" "$a" "$b" \
		"$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }')"
done

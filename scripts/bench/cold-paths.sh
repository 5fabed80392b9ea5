#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cold-paths.sh - cold boots of 12 and 24 MiB on the three paths a validation compares, in turns on a 2-node testbed: bootbench back to back (what `ukfork calibrate` measures), a cold-only scenario through the node agents (cold-paths.lua), and held-out.lua's own cold starts; median, min and max of request -> ready per path and size.
#   scripts/bench/cold-paths.sh [-b BUILD_DIR] [ROUNDS]
# Needs /dev/kvm and root (ukfork testbed: network namespaces). ROUNDS
# (default 4), each: `bootbench -n 10 -j 1` at 12M and 24M, one
# cold-paths.lua run (9 boots of each size), two held-out.lua
# replications at pace 0.25 (one cold start of each app each). Session 35
# (docs/validation.md): the floor is the same on every path; the medians
# follow spells of the shared machine. Compare paths within one run.
set -euo pipefail
PROG=cold-paths.sh
ROUNDS_DEFAULT=4
# bench_rounds (B, R, NARGS), bench_testbed (U, T, ST), bench_stats
. "$(dirname "$0")/../lib/bench-testbed.sh"
bench_rounds "$@"
shift "$NARGS"
cd "$(dirname "$0")/../.."
[ -r "$B/guest/synth" ] || { echo "cold-paths.sh: no guest $B/guest/synth (build the guests)" >&2; exit 2; }
bench_testbed
SYNTH=$B/guest/synth
# both worlds of a validation run the testbed unshaped (interleave.sh)
NET=(--set bandwidth=1000G --set latency=0)
for k in $(seq 1 "$R"); do
	echo "round $k of $R ($(date -u +%T))" >&2
	for m in 12M 24M; do
		"$U" bootbench -n 10 -j 1 --mem "$m" --db "$T/bb$m.db" --guest "$SYNTH" \
			"mem=$m" init=0ns work=0 dirty=0 >/dev/null 2>"$T/bb.err" ||
			{ cat "$T/bb.err" >&2; echo "cold-paths.sh: bootbench $m failed" >&2; exit 1; }
	done
	"$U" run scripts/bench/cold-paths.lua --cluster "$ST/cluster.conf" --seed "$k" \
		--db "$T/cold.db" --quiet "${NET[@]}" ||
		{ echo "cold-paths.sh: cold-paths.lua failed" >&2; exit 1; }
	"$U" run scripts/validate/held-out.lua --cluster "$ST/cluster.conf" --seed "$k" \
		--reps 2 --db "$T/ho.db" --quiet --set pace=0.25 "${NET[@]}" ||
		{ echo "cold-paths.sh: held-out.lua failed" >&2; exit 1; }
done
row() { # PATH SIZE "n med min max"
	set -- "$1" "$2" $3
	printf '%-28s %5s %4s %8s %8s %8s\n' "$1" "$2" "$3" "$4" "$5" "$6"
}
printf '%-28s %5s %4s %8s %8s %8s\n' path size n p50_ms min_ms max_ms
for m in 12M 24M; do
	row "bootbench, back to back" "$m" "$(sqlite3 "$T/bb$m.db" \
		"SELECT t_marker - t_launch FROM boots WHERE ok AND t_marker >= t_launch" | bench_stats 1e6 1)"
done
for db in cold ho; do
	name="cold-paths.lua, agents"
	[ $db = ho ] && name="held-out.lua, agents"
	for a in w:12M f:24M; do
		row "$name" "${a#*:}" "$(sqlite3 "$T/$db.db" "SELECT t_ready - t_request FROM instances
			WHERE start = 'cold' AND app = '${a%%:*}' AND t_ready IS NOT NULL" | bench_stats 1e6 1)"
	done
done

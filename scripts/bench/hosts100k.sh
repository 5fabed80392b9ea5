#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# hosts100k.sh - run scripts/bench/hosts100k.lua and print wall time, user CPU, max RSS, events/s.
#   scripts/bench/hosts100k.sh [-b BUILD_DIR] [--set NAME=V ...]
#     e.g. scripts/bench/hosts100k.sh -b build --set hosts=1000 --set requests=100000
# Default: 100,000 hosts, 10,000,000 requests, 4 cores per host (contention
# on), least-loaded placement (goal: under 120 s and 4 GiB on 2 cores).
# The figures come from /usr/bin/time -v (wall, user, sys, max RSS) and
# from ukfork's own line (events, events/s of the event loop). On a shared
# machine compare user CPU, not wall time.
set -euo pipefail
B=build
if [ "${1:-}" = -b ]; then
	B=$2
	shift 2
fi
cd "$(dirname "$0")/../.."
[ -x "$B/ukfork" ] || { echo "hosts100k.sh: $B/ukfork not built" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "hosts100k.sh: /usr/bin/time missing (apt-get install time)" >&2; exit 2; }
tv=$(mktemp)
out=$(mktemp)
trap 'rm -f "$tv" "$out"' EXIT
/usr/bin/time -v -o "$tv" "$B/ukfork" run scripts/bench/hosts100k.lua "$@" \
	>"$out" 2>&1 || { cat "$out" "$tv" >&2; exit 1; }
# ukfork's line: "run ... rep 0: N events, W s wall (event loop L s: R M events/s), ..."
run=$(grep -E '^run .*events' "$out" | tail -1)
echo "$run"
grep -A1 -E '^config ' "$out" || true
ev=$(echo "$run" | sed -E 's/.*: ([0-9]+) events.*/\1/')
awk -F': ' -v ev="$ev" '
	/Elapsed \(wall clock\)/ { w = $2 }
	/User time/ { u = $2 }
	/System time/ { s = $2 }
	/Maximum resident set size/ { m = $2 }
	END {
		printf "wall %s, user %s s, sys %s s, max RSS %d KiB (%.1f MiB)\n", w, u, s, m, m / 1024
		if (u > 0)
			printf "%.3f M events per user-CPU second (%d events)\n", ev / u / 1e6, ev
	}
' "$tv"

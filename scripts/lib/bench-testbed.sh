# SPDX-License-Identifier: MIT
# scripts/lib/bench-testbed.sh - what the 2-node testbed benchmarks of
# scripts/bench share (sourced by bash scripts that set PROG to their
# name): their first arguments, the build's programs and the tools they
# need checked, a testbed of two node agents made, taken down at exit, and
# the statistics of their tables.
#   bench_testbed
# after bench_rounds: sets U (B's ukfork), T (a temporary directory,
# removed at exit) and ST (the testbed's state, ST/cluster.conf its
# cluster file). Exits 2 when something is missing (77 without /dev/kvm)
# and 1 when the testbed cannot be made.
#   bench_stats DIVISOR DIGITS
# numbers on stdin -> "n median min max", each divided by DIVISOR and
# printed with DIGITS decimals ("0 - - -" without any).
# bench_rounds "$@": the script's arguments [-b BUILD_DIR] [ROUNDS] ...:
# B (BUILD_DIR, default build, taken from where the script was started,
# absolute), R (ROUNDS, a number >= 1, default $ROUNDS_DEFAULT), NARGS
# (how many arguments that was, for `shift`).
bench_rounds() {
	B=build
	NARGS=0
	if [ "${1:-}" = -b ]; then
		B=${2:-}
		shift 2 || { echo "$PROG: -b needs a build directory" >&2; exit 2; }
		NARGS=2
	fi
	R=${1:-$ROUNDS_DEFAULT}
	[ $# -eq 0 ] || NARGS=$((NARGS + 1))
	case $R in '' | *[!0-9]* | 0) echo "$PROG: ROUNDS must be a number >= 1, got '$R'" >&2; exit 2 ;; esac
	B=$(cd "$B" && pwd) || exit 2
}
bench_testbed() {
	U=$B/ukfork
	[ -x "$U" ] && [ -x "$B/ukforkd" ] || { echo "$PROG: $B/ukfork or ukforkd not built" >&2; exit 2; }
	[ -r /dev/kvm ] || { echo "$PROG: needs /dev/kvm" >&2; exit 77; }
	command -v sqlite3 >/dev/null || { echo "$PROG: needs sqlite3 (apt-get install sqlite3)" >&2; exit 2; }
	T=$(mktemp -d)
	ST=$T/tb
	trap '"$U" testbed down --state "$ST" >/dev/null 2>&1 || true; rm -rf "$T"' EXIT
	UKFORKD=$B/ukforkd "$U" testbed up --nodes 2 --state "$ST" --wait 120 \
		--peer-timeout 15s --compress none >"$T/tb.log" 2>&1 ||
		{ tail -20 "$T/tb.log" >&2; echo "$PROG: testbed up failed" >&2; exit 1; }
}
bench_stats() { # DIVISOR DIGITS
	sort -n | awk -v d="$1" -v f="%.$2f" '{ v[n++] = $1 } END {
		if (!n) { print "0 - - -"; exit }
		m = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
		printf "%d " f " " f " " f "\n", n, m / d, v[0] / d, v[n - 1] / d }'
}

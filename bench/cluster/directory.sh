#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/cluster/directory.sh - the cluster directory, embedded vs etcd, in one
# run: update-to-visibility latency (embedded; etcd of 1 and of 3 members),
# time from SIGKILL of an agent to every other agent having dropped it
# (embedded: heartbeat timeout; etcd: lease TTL), and placement decisions per
# second on a 10,000-node replica loaded from etcd. Prints figures; asserts
# nothing. Needs etcd (Debian etcd-server); no root, no KVM.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PROG=bench/cluster/directory.sh

usage() {
	cat <<EOF2
usage: $PROG [--build DIR] [--samples N] [--drops N] [--timeout S]
             [--nodes N] [--only PART[,PART]]
  --build DIR    the build directory (default: build)
  --samples N    updates timed per directory (default 500)
  --drops N      SIGKILLs timed per directory (default 3)
  --timeout S    embedded peer_timeout and etcd lease TTL, seconds (default 3)
  --nodes N      the replica's size for placement (default 10000)
parts (default all): visibility, drop, placement
EOF2
}

BUILD=$REPO/build SAMPLES=500 DROPS=3 TMO=3 NODES=10000 ONLY=visibility,drop,placement
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--build) BUILD=${2:?}; shift 2 ;;
	--samples) SAMPLES=${2:?}; shift 2 ;;
	--drops) DROPS=${2:?}; shift 2 ;;
	--timeout) TMO=${2:?}; shift 2 ;;
	--nodes) NODES=${2:?}; shift 2 ;;
	--only) ONLY=${2:?}; shift 2 ;;
	*) echo "$PROG: unknown option '$1' (try --help)" >&2; exit 2 ;;
	esac
done
for v in SAMPLES DROPS TMO NODES; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$PROG: --${v,,}: '${!v}' is not a positive integer" >&2; exit 2; }
done
BENCH=$BUILD/tests/agent/bench_dir
for f in "$BENCH" "$BUILD/ukfork" "$BUILD/ukforkd"; do
	[ -x "$f" ] || { echo "$PROG: $f is missing (build first: ./ukf.sh build)" >&2; exit 2; }
done
command -v etcd >/dev/null || { echo "$PROG: etcd is not installed (apt-get install etcd-server)" >&2; exit 2; }
part() { [[ ,$ONLY, == *,$1,* ]]; }

T=$(mktemp -d /tmp/ukf-dirbench.XXXXXX)
cleanup() {
	for c in one three; do
		[ -d "$T/$c" ] && bash "$REPO/scripts/etcd/local.sh" stop "$T/$c" >/dev/null 2>&1
	done
	rm -rf "$T"
}
trap cleanup EXIT
echo "# $(date -u +%FT%TZ) $(uname -n), $(nproc) cores; etcd $(etcd --version | sed -n 's/^etcd Version: //p')"
ONE=$(bash "$REPO/scripts/etcd/local.sh" start "$T/one" 2>/dev/null) || { echo "$PROG: cannot start etcd" >&2; exit 1; }
if part visibility; then
	THREE=$(bash "$REPO/scripts/etcd/local.sh" start "$T/three" --members 3 2>/dev/null) ||
		{ echo "$PROG: cannot start a 3-member etcd" >&2; exit 1; }
	echo "## update to visibility at another agent ($SAMPLES updates each, one at a time)"
	"$BENCH" visibility embedded --samples "$SAMPLES"
	"$BENCH" visibility etcd "$ONE" --label etcd-1 --samples "$SAMPLES"
	"$BENCH" visibility etcd "$THREE" --label etcd-3 --samples "$SAMPLES"
	bash "$REPO/scripts/etcd/local.sh" stop "$T/three" --clean >/dev/null 2>&1
fi
if part drop; then
	echo "## SIGKILL of an agent to every other agent having dropped it (3 agents; $DROPS times each)"
	for dir in embedded etcd; do
		ts=()
		for i in $(seq 1 "$DROPS"); do
			out=$(PEER_TIMEOUT=${TMO}s ETCD_TTL=${TMO}s bash "$REPO/tests/agent/agents_test.sh" \
				"$BUILD/ukfork" "$BUILD/ukforkd" drop "$dir" 2>&1)
			t=$(sed -n 's/.*dropped node 2 \([0-9.]*\) s after SIGKILL.*/\1/p' <<<"$out")
			[ -n "$t" ] || { echo "$dir: run $i failed:"; tail -5 <<<"$out"; continue; }
			ts+=("$t")
		done
		[ ${#ts[@]} -gt 0 ] || continue
		med=$(printf '%s\n' "${ts[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
		if [ $dir = embedded ]; then set_=" (heartbeat 250 ms, peer_timeout ${TMO} s)"; else set_=" (lease TTL ${TMO} s)"; fi
		printf 'drop %-9s median %5.2f s  runs: %s%s\n' "$dir" "$med" "${ts[*]}" "$set_"
	done
fi
if part placement; then
	echo "## placement decisions on a replica of $NODES nodes loaded from etcd (1 member)"
	"$BENCH" placement "$ONE" --nodes "$NODES"
fi

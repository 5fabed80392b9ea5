#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# forkbench.sh [-n FORKS] [-r RUNS] [--mem SIZE] [--dirty PAGES] [--build DIR]
#              [--clone direct|libxl] [--fork snapshot|stream]
# The issue's Xen fork figures in one Xen testbed run: the `forkbench`
# guest (build/guest-xen/forkbench) under `ukfork exec --backend xen` in
# dom0 touches its memory, calls ready, then FORKS times dirties PAGES
# pages (default 256: 1 MiB), forks a child that sends one message and
# exits, and reaps it. Printed per run and over all runs:
#   fork-return  the parent's fork call until the child's id comes back
#   child-start  the parent's fork call until fork returns 0 in the child
#   round-trip   the parent's fork call until wait has the child's exit
# (guest clock: Xen's system time, the same in every domain of the host),
# the backend's own split of each fork (UKF_XEN_TIMES=1: the parent's
# part - a snapshot of the suspended parent, the default, or libxl's save
# to a file with --fork stream (UKF_XEN_FORK) or --clone libxl
# (UKF_XEN_CLONE) - the child's domain made - by the direct builder, or
# by libxl's restore with --clone libxl - running), and domains per second: forks
# completed (child created, run, reaped) per second: 1 / median round-trip.
# All figures are EMULATED (Xen 4.17 under QEMU TCG): compare within a run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
FORKS=10 RUNS=2 MEM=16M DIRTY=256 VMEM=32M CLONE="" FORK=""
B=$ROOT/build
usage() { sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
	case $1 in
	-n) FORKS=$2; shift 2 ;;
	-r) RUNS=$2; shift 2 ;;
	--mem) MEM=$2; shift 2 ;;
	--vm-mem) VMEM=$2; shift 2 ;;
	--dirty) DIRTY=$2; shift 2 ;;
	--build) B=$2; shift 2 ;;
	--clone) CLONE=$2; shift 2 ;;
	--fork) FORK=$2; shift 2 ;;
	-h | --help) usage; echo "  --vm-mem SIZE  the guest domain's memory (default 32M; --mem must fit in it)"; exit 0 ;;
	*) echo "forkbench.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done
num() { # NAME VALUE MIN
	[[ $2 =~ ^[0-9]+$ ]] && (($2 >= $3)) || {
		echo "forkbench.sh: $1 must be a whole number >= $3, not '$2'" >&2
		exit 2
	}
}
num -n "$FORKS" 1
num -r "$RUNS" 1
num --dirty "$DIRTY" 0
case $CLONE in
'' | direct | libxl) ;;
*) echo "forkbench.sh: --clone is direct or libxl, not '$CLONE'" >&2; exit 2 ;;
esac
case $FORK in
'' | snapshot | stream) ;;
*) echo "forkbench.sh: --fork is snapshot or stream, not '$FORK'" >&2; exit 2 ;;
esac
B=$(cd "$B" && pwd -P)
UKF=$B/ukfork
IMG=$B/guest-xen/forkbench
[ -x "$UKF" ] && [ -f "$IMG" ] || {
	echo "forkbench.sh: needs $UKF and $IMG (cmake -DUKF_BUILD_XEN=ON; build)" >&2
	exit 2
}
D=$(mktemp -d "${TMPDIR:-/tmp}/ukf-xen-fb.XXXXXX")
trap 'rm -rf "$D"' EXIT
chmod 755 "$D"

cat >"$D/in-dom0.sh" <<INNER
set -u
for i in \$(seq 1 $RUNS); do
	echo "run \$i"
	UKF_XEN_CLONE=$CLONE UKF_XEN_FORK=$FORK UKF_XEN_TIMES=1 timeout 1500 "$UKF" exec --backend xen --mem $VMEM \
		"$IMG" n=$FORKS mem=$MEM dirty=$DIRTY >"$D/out.\$i" 2>"$D/err.\$i"
	rc=\$?
	cat "$D/out.\$i"
	grep -E '^xen: (direct )?fork (of|child)' "$D/err.\$i" || true
	[ \$rc -eq 0 ] || { echo "ukfork exit \$rc" >&2; tail -20 "$D/err.\$i" >&2; exit 1; }
	xl list | awk 'NR > 2 { print "left over: " \$0; bad = 1 } END { exit bad }' || exit 1
done
INNER

echo "forkbench.sh: booting a Xen testbed host for $RUNS run(s) of $FORKS forks (EMULATED, minutes)" >&2
"$ROOT/scripts/xen-testbed/run" --timeout $((600 + RUNS * FORKS * 120)) --dom0-vcpus 1 \
	--share "$D" -- bash "$D/in-dom0.sh" >"$D/all"
cat "$D/all"

# forkbench prints "forkbench: NAME median M us p99 P us max X us (n N)"
# per run; over all runs the figures are recomputed from the backend's
# per-fork lines, and the guest's medians are shown per run.
q() { sort -g | awk -v p="$1" '{ v[NR] = $1 } END { if (!NR) { print "-"; exit } i = int(p * NR + 0.999999); if (i < 1) i = 1; printf "%.1f", v[i] }'; }
saves=$(sed -n 's/^xen: fork of .* saved in \([0-9.]*\) ms.*/\1/p' "$D/all")
rest=$(sed -n 's/^xen: fork child .* restored in \([0-9.]*\) ms.*/\1/p' "$D/all")
runs=$(sed -n 's/^xen: fork child .* running \([0-9.]*\) ms after clone_live.*/\1/p' "$D/all")
# the direct builder's own lines (the default; none with UKF_XEN_CLONE=libxl)
dbuilt=$(sed -n 's/^xen: direct fork child [0-9]* (domain [0-9]*): \([0-9.]*\) ms (parse.*/\1/p' "$D/all")
dparse=$(sed -n 's/^xen: direct fork child .* ms (parse \([0-9.]*\),.*/\1/p' "$D/all")
nd=$(grep -c . <<<"$dbuilt" || true)
nsnap=$(grep -c 'xen: fork of .* saved in .* (suspend' "$D/all" || true)
rtt=$(awk '$1 == "forkbench:" && $2 == "round-trip" { print $4 / 1000 }' "$D/all")
n=$(grep -c . <<<"$runs" || true)
echo
echo "EMULATED (Xen 4.17 under QEMU TCG, 1-vCPU dom0, $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)):"
echo "forkbench n=$FORKS mem=$MEM dirty=$DIRTY (pages) in a $VMEM domain, $RUNS run(s), $n forks, $nd children built directly (the rest restored by libxl: UKF_XEN_CLONE=libxl), $nsnap from snapshots (the rest from save files)"
echo "| per fork (backend, UKF_XEN_TIMES) | median ms | p99 ms | max ms |"
echo "| --- | --- | --- | --- |"
echo "| parent's part (snapshot, or libxl's save) | $(q 0.5 <<<"$saves") | $(q 0.99 <<<"$saves") | $(q 1 <<<"$saves") |"
echo "| child's domain made (from clone_live) | $(q 0.5 <<<"$rest") | $(q 0.99 <<<"$rest") | $(q 1 <<<"$rest") |"
if ((nd)); then
	echo "| of which the direct build (parse + build) | $(q 0.5 <<<"$dbuilt") | $(q 0.99 <<<"$dbuilt") | $(q 1 <<<"$dbuilt") |"
	echo "| of which the parse of the save stream | $(q 0.5 <<<"$dparse") | $(q 0.99 <<<"$dparse") | $(q 1 <<<"$dparse") |"
fi
echo "| child running (from clone_live) | $(q 0.5 <<<"$runs") | $(q 0.99 <<<"$runs") | $(q 1 <<<"$runs") |"
echo "guest's round-trip medians per run (ms): $(tr '\n' ' ' <<<"$rtt")"
echo "domains per second (forks created, run and reaped one after another: 1 / the guest's median round-trip), per run: $(awk '$1 == "forkbench:" && $2 == "round-trip" && $4 > 0 { printf "%.3f ", 1e6 / $4 }' "$D/all")"

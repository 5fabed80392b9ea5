#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# xen_fanout_loop.sh BUILD - the fork stress loop of docs/xen.md's fork bug:
# `ukfork exec --backend xen --mem 32M fanout 4 100000` N times in one dom0
# session (scripts/xen-testbed, 1 vCPU), each run expected to exit 0 with
# fanout's answer (9592 primes below 100000, all 4 children's results).
# A run that loses a child's result, aborts (glibc's heap checks), or hangs
# (past UKF_XEN_LOOP_HANG s, default 300: a stack of every thread of ukfork
# and of its children is printed when gdb is there) fails the test, with
# the run's number and the reason (a crash's core stack too, with gdb). N
# is UKF_XEN_LOOP_RUNS (default 30). UKF_XEN_LOOP_HOG=1 keeps a shell busy
# loop running in dom0 meanwhile: ukfork's threads are then preempted more
# often (the fork bug showed more under load).
# Timings printed are EMULATED (QEMU TCG). Exit 77 (skip) only when
# qemu-system-x86_64 is missing.
set -euo pipefail

B=$(cd "${1:?usage: xen_fanout_loop.sh BUILD}" && pwd -P)
G=$B/guest-xen
N=${UKF_XEN_LOOP_RUNS:-30}
HANG=${UKF_XEN_LOOP_HANG:-300}
HOG=${UKF_XEN_LOOP_HOG:-0}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x "$B/ukfork" ] || fail "no $B/ukfork"
[ -f "$G/fanout" ] || fail "no Xen image $G/fanout (build target guest-xen-all)"
[[ "$N" =~ ^[1-9][0-9]*$ ]] || fail "UKF_XEN_LOOP_RUNS='$N' is not a positive number"
[[ "$HANG" =~ ^[1-9][0-9]*$ ]] || fail "UKF_XEN_LOOP_HANG='$HANG' is not a positive number"
[[ "$HOG" =~ ^[01]$ ]] || fail "UKF_XEN_LOOP_HOG='$HOG' is not 0 or 1"
xen_need_qemu
xen_workdir ukf-xen-fanout-loop

# Each run in dom0: "== run I rc=R secs=S", its last lines when it failed.
cat >"$D/in-dom0.sh" <<INNER
set -u
cd "$B"
export UKF_XEN_TEMPLATE_DIR=/tmp
ulimit -c unlimited
echo "$D/core.%p" >/proc/sys/kernel/core_pattern
if [ $HOG = 1 ]; then
	bash -c 'while :; do :; done' &
	hog=\$!
	echo "== hog pid \$hog"
fi
for i in \$(seq 1 $N); do
	t0=\$(date +%s)
	./ukfork exec --backend xen --mem 32M fanout 4 100000 >"$D/run\$i.out" 2>"$D/run\$i.err" &
	pid=\$!
	hung=0
	while kill -0 \$pid 2>/dev/null; do
		if [ \$((\$(date +%s) - t0)) -ge $HANG ]; then
			hung=1
			if command -v gdb >/dev/null; then
				for p in \$pid \$(pgrep -P \$pid); do
					echo "-- pid \$p: \$(tr '\\0' ' ' </proc/\$p/cmdline)"
					gdb -q -batch -p \$p -ex 'thread apply all bt 25' 2>&1
				done >"$D/run\$i.stacks"
			fi
			kill -KILL \$pid
			break
		fi
		sleep 1
	done
	wait \$pid
	rc=\$?
	ok=\$(grep -c 'primes below 100000: 9592' "$D/run\$i.out")
	if [ \$hung = 1 ]; then
		echo "== run \$i rc=hang secs=\$((\$(date +%s) - t0))"
	else
		echo "== run \$i rc=\$rc answer=\$ok secs=\$((\$(date +%s) - t0))"
	fi
	if [ \$hung = 1 ] || [ \$rc != 0 ] || [ \$ok != 1 ]; then
		tail -n 5 "$D/run\$i.out" "$D/run\$i.err" | sed 's/^/   | /'
		[ -f "$D/run\$i.stacks" ] && sed 's/^/   # /' "$D/run\$i.stacks"
		for c in "$D"/core.*; do
			[ -f "\$c" ] || continue
			command -v gdb >/dev/null &&
				gdb -q -batch -ex 'thread apply all bt 25' ./ukfork "\$c" 2>&1 | sed 's/^/   # /'
			rm -f "\$c"
		done
	fi
	xl list | awk 'NR > 2 {print \$1}' | while read -r n; do xl destroy "\$n"; done
done
[ $HOG = 1 ] && kill \$hog
echo "== end"
INNER

xen_testbed_run $((N * 200 + 300)) "$D"

runs=$(grep -c '^== run ' "$D/out" || true)
bad=$(grep '^== run ' "$D/out" | grep -v ' rc=0 answer=1 ' || true)
((runs == N)) || fail "$runs of $N runs reported"
[ -z "$bad" ] || fail "$(grep -c . <<<"$bad") of $N runs failed: $(tr '\n' ';' <<<"$bad")"
echo "$N of $N runs of fanout 4 gave the answer (hog $HOG)"

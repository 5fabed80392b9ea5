#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# xen_guest.sh BUILD - ukfork's guest apps built as Xen PV images boot on a
# real Xen host (scripts/xen-testbed) with `xl create`: hello prints its
# UKF-READY marker on the PV console and powers off with exit status 0 in
# xenstore (data/ukf-exit); fanout (fork not carried on Xen: slices done in
# the parent) prints the right count of primes; synth (mem=48M in a 64 MiB
# domain) is ready and does its forked units in-process; ukf_abort crashes
# the domain with status 255 and its message on the console; test-abi's
# calls behave (console, pvclock time, a 1 s block, info with the command
# line) and fork, spawn, wait and send say ENOSYS; a null dereference
# (test-fault null) crashes its domain. Timings printed are EMULATED.
# Exit 77 (skip) only when qemu-system-x86_64 is missing.
set -euo pipefail

B=$(cd "${1:?usage: xen_guest.sh BUILD}" && pwd -P)
G=$B/guest-xen
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
xen_need_qemu
for app in hello fanout synth test-abi test-fault; do
	[ -f "$G/$app" ] || fail "no Xen image $G/$app (build target guest-xen-all, cmake -DUKF_BUILD_XEN=ON)"
done
[ -d /usr/lib/xen-4.17 ] || fail "no xen-utils-4.17 on this machine (dom0 runs its xl; ./ukf.sh installs it)"

xen_workdir ukf-xen-guest

# name app memory(MiB) cmdline: one xl config each, kept after shutdown
# (on_poweroff/on_crash preserve) so the test reads its state and xenstore.
mkcfg() {
	cat >"$D/$1.cfg" <<CFG
name = "$1"
type = "pv"
kernel = "$G/$2"
memory = $3
vcpus = 1
cmdline = "$4"
on_poweroff = "preserve"
on_crash = "preserve"
CFG
}
mkcfg ukf-hello hello 32 ""
mkcfg ukf-fanout fanout 32 "4 100000"
mkcfg ukf-synth synth 64 "mem=48M init=20ms work=1ms dirty=16 fork=2"
mkcfg ukf-abort fanout 32 "x 10"
mkcfg ukf-abi test-abi 32 "one two"
mkcfg ukf-fault test-fault 32 "null"

cat >"$D/in-dom0.sh" <<INNER
set -u
fail() { echo "FAIL (in dom0): \$*" >&2; xl list >&2; xl dmesg | tail -20 >&2; exit 1; }
now() { date +%s.%N; }
# state NAME: the flags of xl list (r, b, p, s, c, d) or "gone"
state() { xl list "\$1" 2>/dev/null | awk 'NR == 2 { print \$5 }' | grep . || echo gone; }
# run NAME: create, wait for shutdown (120 s guard), print console + status
run() {
	local log=/var/log/xen/console/guest-\$1.log t0 t1 i=0 st
	t0=\$(now)
	xl create "$D/\$1.cfg" >/dev/null 2>"$D/\$1.err" || { cat "$D/\$1.err" >&2; fail "xl create \$1 failed"; }
	while :; do
		st=\$(state "\$1")
		case "\$st" in *s* | *c* | gone) break ;; esac
		i=\$((i + 1))
		[ \$i -lt 600 ] || { cat "\$log" >&2; fail "\$1 still running after 120 s"; }
		sleep 0.2
	done
	t1=\$(now)
	echo "== \$1: state \$st, data/ukf-exit '\$(xenstore-read /local/domain/\$(xl domid "\$1")/data/ukf-exit 2>/dev/null)'"
	echo "EMULATED: xl create of \$1 to its shutdown: \$(echo "\$t1 \$t0" | awk '{ printf "%.2f", \$1 - \$2 }') s"
	sed 's/^/   | /' "\$log"
	xl destroy "\$1" || fail "xl destroy \$1"
}
for n in ukf-hello ukf-fanout ukf-synth ukf-abort ukf-abi ukf-fault; do run \$n; done
INNER

xen_testbed_run 600 "$D"

# what a user would check, per guest (lines "== NAME: state ...", not lib.sh's
# "== NAME rc=N")
block() { sed -n "/^== $1:/,/^== /p" "$D/out"; }
block ukf-hello | grep -q "state ---s--, data/ukf-exit '0'" ||
	fail "hello did not power off with exit status 0"
block ukf-hello | grep -qx '   | UKF-READY' || fail "hello's console has no UKF-READY line"
block ukf-fanout | grep -q "state ---s--, data/ukf-exit '0'" || fail "fanout did not exit 0"
block ukf-fanout | grep -q 'primes below 100000: 9592' || fail "fanout's answer is missing or wrong"
block ukf-synth | grep -q "state ---s--, data/ukf-exit '0'" || fail "synth did not exit 0"
block ukf-synth | grep -q '^   | UKF-READY' || fail "synth's console has no UKF-READY"
block ukf-synth | grep -q 'synth: done id=1 units=1 children=0 inline=2 failed=0' ||
	fail "synth did not do its 2 children's units in-process (fork is ENOSYS on Xen)"
block ukf-abort | grep -Eq "state -*s?c-*, data/ukf-exit '255'" ||
	fail "ukf_abort did not crash the domain with status 255"
block ukf-abort | grep -q "ukf_abort: fanout: K 'x' is not a number" || fail "the abort message is not on the console"
block ukf-abi | grep -q "state ---s--, data/ukf-exit '0'" || fail "test-abi did not exit 0"
block ukf-abi | grep -q '^   | abi: done, 0 failed$' || fail "test-abi: a call misbehaved on Xen"
block ukf-abi | grep -q '^   | abi: platform xen, ' || fail "test-abi: ukf_platform() does not answer UKF_PLATFORM_XEN on Xen"
block ukf-abi | grep -q "^   | abi: info ret=7 id=1 parent=0 node=0 args='one two'$" ||
	fail "test-abi: the command line did not arrive as the arguments"
for call in fork spawn-unknown wait-unknown send-self; do
	block ukf-abi | grep -q "^   | abi: $call ret=-38$" || fail "test-abi: $call is not ENOSYS (-38) on Xen"
done
block ukf-fault | grep -Eq "state -*s?c-*," || fail "test-fault null did not crash its domain"
echo "PASS: hello, fanout and synth ran as Xen PV guests with their output and exit status; abort and a null dereference crashed their domains"

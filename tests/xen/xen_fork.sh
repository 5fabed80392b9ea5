#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# xen_fork.sh BUILD - the ABI's calls carried from Xen PV guests to the xen
# backend in dom0 (call page + event channel, backends/xen/uxen_abi.h) and
# fork on a real Xen host (scripts/xen-testbed), through the engine
# (`ukfork exec --backend xen`): fanout forks 3 children that each count
# their slice and send it back, with the answer KVM gives (9592 primes
# below 100000, every slice done by a child, none inline); test-xencall's
# bad arguments are refused with their errors (by the runtime: EFAULT,
# EINVAL, EMSGSIZE; by the node: ENOENT, ECHILD, ENOSYS), a message to
# itself comes back, a forked child sees fork() 0 and its own id and the
# parent's wait returns its status 7; test-abi passes every check with
# fork, wait, spawn and messages really carried; a guest that breaks the
# call page (test-xencall raw, spawned) is failed with the reason (in the
# engine's log, --trace) while the backend goes on serving its parent
# (which forks again); the children are built by the direct builder from
# snapshots of the suspended parent (the default: 3 snapshots, 3 child
# domains, none the parent's), from libxl's save file (UKF_XEN_FORK=stream)
# and restored by libxl (UKF_XEN_CLONE=libxl), each with fanout's answer;
# save files cut short (UKF_XEN_TEST_FORK_CUT, stream route) are refused
# with the parser's reason, no domain is made and the parent computes the
# slices itself; no domain is left. Fork timings printed (UKF_XEN_TIMES=1) are EMULATED (QEMU TCG).
# Exit 77 (skip) only when qemu-system-x86_64 is missing.
set -euo pipefail

B=$(cd "${1:?usage: xen_fork.sh BUILD}" && pwd -P)
BOOT=$B/backends/xen/ukf-xen-boot
G=$B/guest-xen
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
xen_need_boot fanout test-xencall test-abi
[ -x "$B/ukfork" ] || fail "no $B/ukfork"
xen_need_qemu
xen_workdir ukf-xen-fork

# Each case in dom0: "== NAME rc=N", then its stdout and stderr.
cat >"$D/in-dom0.sh" <<INNER
set -u
. "$D/case.sh"
export UKF_XEN_TIMES=1 UKF_XEN_TEMPLATE_DIR=/tmp
# case_ (case.sh) in the build directory, each case at most 600 s
bcase() {
	local name=\$1
	shift
	case_ "\$name" env -C "$B" timeout 600 "\$@"
}
bcase fanout ./ukfork exec --backend xen --mem 32M fanout 3 100000
bcase calls ./ukfork exec --backend xen --mem 32M test-xencall
bcase abi ./ukfork exec --backend xen --mem 32M test-abi one two
bcase raw ./ukfork exec --trace --backend xen --mem 32M test-xencall spawn-raw
bcase libxl env UKF_XEN_CLONE=libxl ./ukfork exec --backend xen --mem 32M fanout 3 100000
bcase stream env UKF_XEN_FORK=stream ./ukfork exec --backend xen --mem 32M fanout 3 100000
bcase cut env UKF_XEN_FORK=stream UKF_XEN_TEST_FORK_CUT=1000000 ./ukfork exec --trace --backend xen --mem 32M fanout 2 100000
domains 'cut domains'
domains 'domains left'
INNER

xen_testbed_run 1500 "$D"

expect fanout 0 '^   \| primes below 100000: 9592$' "fanout's answer on Xen (9592, as on KVM)"
for i in 0 1 2; do
	block fanout | grep -Eq "^   \| child $i: \[[0-9]+, [0-9]+\) [0-9]+ primes in .* on node 0 \(id [0-9]+\)$" ||
		fail "fanout: slice $i was not counted by a forked child"
done
block fanout | grep -q 'inline' && fail "fanout: a slice was computed inline (a fork failed)"
[ "$(block fanout | grep -c 'xen: fork child [0-9]* (domain [0-9]*) running')" = 3 ] ||
	fail "fanout: not 3 children forked as domains"
# the default: each child built by the direct builder from a snapshot of
# its suspended parent (no save file), as a domain of its own (not the
# parent's, not another's)
[ "$(block fanout | grep -Ec 'xen: fork of 1 \(domain [0-9]+\): saved in [0-9.]+ ms \(suspend [0-9.]+, snapshot [0-9.]+, resume')" = 3 ] ||
	fail "fanout: the parent was not read by 3 snapshots"
[ "$(block fanout | grep -Ec 'xen: direct fork child [0-9]+ \(domain [0-9]+\): [0-9.]+ ms \(parse')" = 3 ] ||
	fail "fanout: the 3 children were not built by the direct builder"
pdom=$(block fanout | sed -n 's/.*xen: fork of [0-9]* (domain \([0-9]*\)): saved in.*/\1/p' | sort -u)
[ "$(echo "$pdom" | grep -c .)" = 1 ] || fail "fanout: the parent's domain is not one domain: '$pdom'"
cdoms=$(block fanout | sed -n 's/.*xen: direct fork child [0-9]* (domain \([0-9]*\)).*/\1/p' | sort -u)
[ "$(echo "$cdoms" | grep -c .)" = 3 ] || fail "fanout: the 3 children did not have 3 domains: $cdoms"
echo "$cdoms" | grep -qx "$pdom" && fail "fanout: a child was built in its parent's domain $pdom"

expect calls 0 '^   \| xencall: done, 0 failed$' "test-xencall's checks"
for c in spawn-badptr:-14 spawn-empty:-22 fork-flags:-22 send-big:-90 spawn-unknown:-2 \
	wait-unknown:-10 unknown-call:-38 send-self:0 recv:4; do
	block calls | grep -q "^   | xencall: ${c%%:*} ret=${c#*:} ok$" ||
		fail "test-xencall: ${c%%:*} did not answer ${c#*:}"
done
block calls | grep -Eq '^   \| (\[[0-9]+\] )?xencall: child id=([0-9]+) parent=1$' ||
	fail "test-xencall: the fork child did not see fork() 0 with its own id"
block calls | grep -q '^   | xencall: fork id=[0-9]* status=7$' ||
	fail "test-xencall: wait did not return the child's status 7"

expect abi 0 '^   \| abi: done, 0 failed$' "test-abi through the xen backend"
block abi | grep -q '^   | abi: fork+wait ok$' || fail "test-abi: fork+wait did not run on Xen"
block abi | grep -q '^   | abi: recv ok$' || fail "test-abi: send/recv did not run on Xen"

expect raw 0 '^   \| xencall: done, 0 failed$' "a parent after its spawned child broke the call page"
block raw | grep -q 'hypercall spawn: bad spawn app name \[0x100000, +0x5)' ||
	fail "raw: the broken call page was not refused with its reason"
block raw | grep -q '^   | xencall: after-raw fork+wait ret=[0-9]* ok$' ||
	fail "raw: the backend did not go on serving the parent"
block raw | grep -q 'xencall: raw ret=' && fail "raw: the broken call was answered instead of refused"
# UKF_XEN_FORK=stream: the children built directly from libxl's save file
expect stream 0 '^   \| primes below 100000: 9592$' "fanout's answer with the children built from the save stream"
block stream | grep -q 'inline' && fail "stream: a slice was computed inline (a fork failed)"
[ "$(block stream | grep -Ec 'xen: direct fork child [0-9]+ \(domain [0-9]+\): [0-9.]+ ms \(parse')" = 3 ] ||
	fail "stream: the 3 children were not built by the direct builder"
block stream | grep -q 'snapshot [0-9.]*, resume' && fail "stream: a snapshot was taken under UKF_XEN_FORK=stream"

# UKF_XEN_CLONE=libxl: the children restored by libxl, as before
expect libxl 0 '^   \| primes below 100000: 9592$' "fanout's answer with the children restored by libxl"
block libxl | grep -q 'inline' && fail "libxl: a slice was computed inline (a fork failed)"
[ "$(block libxl | grep -c 'xen: fork child [0-9]* (domain [0-9]*) running')" = 3 ] ||
	fail "libxl: not 3 children forked as domains"
block libxl | grep -q 'xen: direct fork child' && fail "libxl: a child was built directly under UKF_XEN_CLONE=libxl"

# a damaged save stream (cut to 1000000 bytes): each child refused by the
# parser with the file and offset, no domain made, the parent goes on and
# does the slices itself
expect cut 0 '^   \| primes below 100000: 9592$' "fanout's answer after its forks' streams were damaged"
[ "$(block cut | grep -c 'fanout: fork of child [01] failed: .*computing its slice inline')" = 2 ] ||
	fail "cut: the parent did not go on after its 2 children failed"
[ "$(block cut | grep -Ec " fail [0-9]+ node=0 reason=xen: cannot create domain ukf-[0-9-]+: direct fork child \(PV, 32 MiB, the parent's save file /tmp/ukf-xen-fork-[0-9-]+\): /tmp/ukf-xen-fork-[0-9-]+: .*(past the end of the file|truncated at offset)")" = 2 ] ||
	fail "cut: the damaged streams were not refused with the parser's reason"
block cut | grep -q 'xen: direct fork child [0-9]* (domain' && fail "cut: a child was built from a damaged stream"
[ "$(block 'cut domains' | grep -c '^   | ')" = 1 ] ||
	fail "cut: a domain was left: $(block 'cut domains' | tr '\n' ' ')"
xen_expect_no_domains_left
echo "PASS: fanout forked 3 children on Xen with the right answer; calls carried to dom0 and refused where they should be; fork child saw 0, wait its status; test-abi passed; a guest breaking the call page failed with the reason while the backend went on; the children built by the direct builder in domains of their own, and restored by libxl under UKF_XEN_CLONE=libxl, with the same answer; damaged fork streams refused with the parser's reason, no domain made, the parent went on; no domain left"

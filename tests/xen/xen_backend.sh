#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# xen_backend.sh BUILD - ukfork's Xen backend (backends/xen, libxenlight)
# through the registry, with ukf-xen-boot, on a real Xen host
# (scripts/xen-testbed): hello is created as a PV domain and its UKF-READY
# line and exit status come back; fanout's answer comes back; 6 domains
# created at once all reach UKF-READY; the error
# paths a user meets say what went wrong - a missing image, a KVM image, an
# abort, a fault, more memory than the host has (a real libxl error) - and
# leave no domain behind; `ukfork exec --backend xen fanout` runs through the
# live world unchanged. Outside dom0 the backend says it is unavailable.
# Timings printed are EMULATED (QEMU TCG).
# Exit 77 (skip) only when qemu-system-x86_64 is missing.
set -euo pipefail

B=$(cd "${1:?usage: xen_backend.sh BUILD}" && pwd -P)
BOOT=$B/backends/xen/ukf-xen-boot
G=$B/guest-xen
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
xen_need_boot hello fanout test-fault

# On this host (no Xen): refused with the reason, no crash.
set +e
out=$("$BOOT" "$G/hello" 2>&1)
rc=$?
set -e
((rc == 125)) || fail "outside dom0: exit $rc, expected 125: $out"
grep -q "backend xen is not available here: not a Xen control domain" <<<"$out" ||
	fail "outside dom0: unclear message: $out"
echo "outside dom0: $out"

xen_need_qemu
xen_workdir ukf-xen-backend

# Each case in dom0: "== NAME rc=N", then its stdout and stderr.
cat >"$D/in-dom0.sh" <<INNER
set -u
. "$D/case.sh"
case_ hello "$BOOT" "$G/hello"
case_ fanout "$BOOT" --mem 32M "$G/fanout" 4 100000
case_ parallel "$BOOT" -n 6 -j 6 "$G/hello"
case_ missing "$BOOT" /nonexistent/hello
case_ kvmimage "$BOOT" "$B/guest/hello"
case_ abort "$BOOT" "$G/fanout" x 10
case_ fault "$BOOT" "$G/test-fault" null
case_ nomem "$BOOT" --mem 1G "$G/hello"
case_ after "$BOOT" "$G/hello"
if [ -x "$B/ukfork" ]; then # the live world, unchanged, on the xen backend
	cd "$B"
	case_ exec ./ukfork exec --backend xen --mem 32M fanout 4 100000
	cd - >/dev/null
fi
domains 'domains left'
INNER

xen_testbed_run 600 "$D"

expect hello 0 '^   \| UKF-READY$' "hello's console line through the backend"
block hello | grep -Eq 'UKF-READY [0-9.]+ ms, exit 0' || fail "hello: no create-to-ready time or exit 0"
expect fanout 0 'primes below 100000: 9592' "fanout's answer"
expect parallel 0 '6/6 runs reached UKF-READY \(6 at once at most\)' "6 domains at once"
[ "$(block parallel | grep -c '^   | \[[1-6]\] UKF-READY$')" = 6 ] || fail "parallel: not one UKF-READY line from each of the 6"
expect missing 125 'cold boot: /nonexistent/hello: No such file or directory' "a missing image"
expect kvmimage 125 'a PVH/KVM image, not a Xen PV image' "a KVM image given to Xen"
expect abort 125 "failed: abort: fanout: K 'x' is not a number" "ukf_abort's message"
expect fault 125 'crashed \(a fault in the guest' "a null dereference"
expect nomem 125 'cannot create domain .*libxl_domain_create_new \(PV, 1024 MiB.*\): libxl error fail' "1 GiB on a host with less free"
expect after 0 '^   \| UKF-READY$' "a boot after the failures"
if [ -x "$B/ukfork" ]; then
	expect exec 0 'primes below 100000: 9592' "ukfork exec --backend xen fanout"
else
	echo "note: no $B/ukfork: ukfork exec --backend xen not tried"
fi
xen_expect_no_domains_left
echo "PASS: the xen backend booted hello and fanout through the registry, 6 hellos at once; missing and KVM images, abort, fault and a libxl out-of-memory failed with clear reasons and left no domain; ukfork exec --backend xen ran fanout"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# xen_remote_ops.sh BUILD - the xen backend's cross-node operations on a
# real Xen host (scripts/xen-testbed), driven directly in one dom0 as the
# agents of two nodes drive them (tests/xen/xen_remote_ops_test.c):
# template bytes out and in, a fork child restored from its parent's delta
# that counts its primes, -ESTALE against another template version, bad
# delta bytes and a missing template directory refused with their reasons,
# the whole image sent when there is no template; no domain is left.
# Exit 77 (skip) only when qemu-system-x86_64 is missing.
set -euo pipefail

B=$(cd "${1:?usage: xen_remote_ops.sh BUILD}" && pwd -P)
BOOT=$B/backends/xen/ukf-xen-boot
G=$B/guest-xen
T=$B/tests/xen/xen-remote-ops-test
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
xen_need_boot fanout
[ -x "$T" ] || fail "no $T"
xen_need_qemu
xen_workdir ukf-xen-rops

cat >"$D/in-dom0.sh" <<INNER
set -u
. "$D/case.sh"
mkdir -p /tmp/tpl-rops
# local forks through libxl's save file (UKF_XEN_FORK=stream): the test's
# missing-directory case expects a local fork to fail on that file (the
# default snapshot fork writes none; xen.fork_calls tests it)
UKF_XEN_FORK=stream timeout 1200 "$T" "$G/fanout" /tmp/tpl-rops >"$D/rops.out" 2>"$D/rops.err"
echo "== rops rc=\$?"
sed 's/^/   | /' "$D/rops.out"
grep -E 'FAIL|lacks|^xen: ' "$D/rops.err" | sed 's/^/   | /'
domains 'domains left'
INNER

xen_testbed_run 1400 "$D"

expect rops 0 '^   \| PASS$' "every check of the cross-node operations"
for c in 10 13; do
	block rops | grep -Eq "^   \| child $c \(.*\): slice 0, 430 primes, id [0-9]+$" ||
		fail "rops: child $c restored from a delta did not count 430 primes below 3000"
done
block rops | grep -q '^   | fail 12: .*fork from another node: .*payload checksum mismatch' ||
	fail "rops: a delta of bad bytes was not refused with its reason"
xen_expect_no_domains_left
echo "PASS: template exported and loaded, children restored from a delta and from the whole image counted their primes, stale template, bad bytes and a missing directory refused with their reasons; no domain left"

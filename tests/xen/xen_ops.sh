#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# xen_ops.sh BUILD - the xen backend's operations on a real Xen host
# (scripts/xen-testbed), driven directly as an engine drives them
# (tests/xen/xen_ops_test.c): each operation asked wrongly answers its
# error code or failure event while the held instance goes on to make a
# template (then dropped, its file removed) and exit 0; with UKF_XEN_DEBUG=1
# libxl's own messages reach stderr; no domain is left.
# Exit 77 (skip) only when qemu-system-x86_64 is missing.
set -euo pipefail

B=$(cd "${1:?usage: xen_ops.sh BUILD}" && pwd -P)
BOOT=$B/backends/xen/ukf-xen-boot
G=$B/guest-xen
T=$B/tests/xen/xen-ops-test
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
xen_need_boot hello
[ -x "$T" ] || fail "no $T"
xen_need_qemu
xen_workdir ukf-xen-ops

cat >"$D/in-dom0.sh" <<INNER
set -u
. "$D/case.sh"
mkdir -p /tmp/tpl-ops
"$T" "$G/hello" /tmp/tpl-ops >"$D/ops.out" 2>"$D/ops.err"
echo "== ops rc=\$?"
sed 's/^/   | /' "$D/ops.out"
grep -c '^libxl: ' "$D/ops.err" | sed 's/^/   | libxl debug lines: /'
grep 'FAIL' "$D/ops.err" | sed 's/^/   | /'
domains 'domains left'
INNER

xen_testbed_run 600 "$D"

expect ops 0 '^   \| PASS$' "every operation's refusal"
block ops | grep -q '^   | fail 3: cold boot: the app has no guest image' || fail "ops: no reason for an app without an image"
block ops | grep -q '^   | instance 1: exit 0$' || fail "ops: the held instance did not go on to exit 0"
n=$(block ops | sed -n 's/^   | libxl debug lines: //p')
((${n:-0} > 0)) || fail "ops: UKF_XEN_DEBUG=1 printed no libxl message"
xen_expect_no_domains_left
echo "PASS: the backend's operations refused wrong requests with their errors while the held instance made a template and exited 0; libxl's messages printed with UKF_XEN_DEBUG=1; no domain left"

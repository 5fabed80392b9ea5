#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# exec_xen.sh BUILD - the `ukfork exec` suite of tests/live/exec.sh (the
# cases the KVM backend passes: hello, mem, fanout, abi, spawn, tdir,
# missing, limits) run on the Xen backend with the Xen builds of the apps,
# in one dom0 session of scripts/xen-testbed (UKF_EXEC_BACKEND=xen). Every
# case must pass; each one's output is printed (UKF_EXEC_XEN_CASES="tdir
# ..." runs some).
# Exit 77 (skip) only when qemu-system-x86_64 is missing.
set -euo pipefail

B=$(cd "${1:?usage: exec_xen.sh BUILD}" && pwd -P)
EX=$B/live/ukf-exec
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
CASES=${UKF_EXEC_XEN_CASES:-"hello mem fanout abi spawn tdir missing limits"}
. "$HERE/../xen/lib.sh"
[ -x "$EX" ] || fail "no $EX"
for app in hello synth fanout test-abi test-loop; do
	[ -f "$B/guest-xen/$app" ] || fail "no Xen image $B/guest-xen/$app (build target guest-xen-all)"
done
xen_need_qemu
xen_workdir ukf-exec-xen

cat >"$D/in-dom0.sh" <<INNER
set -u
for c in $CASES; do
	UKF_EXEC_BACKEND=xen timeout 900 sh "$HERE/exec.sh" \$c "$EX" "$B" >"$D/\$c.out" 2>&1
	echo "== \$c rc=\$?"
	sed 's/^/   | /' "$D/\$c.out"
done
echo "== domains left"
xl list | awk 'NR > 1 { print "   | " \$1 }'
INNER

xen_testbed_run 2400 "$D"

for c in $CASES; do
	expect "$c" 0 '^   \| PASS$' "exec.sh $c on the Xen backend"
done
xen_expect_no_domains_left
echo "PASS: the ukfork exec suite ($CASES) passed on the Xen backend; no domain left"

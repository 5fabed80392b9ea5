#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# xen_backend.sh BUILD - `ukfork bootbench --backend xen` on a real Xen host
# (scripts/xen-testbed): 2 hellos booted at once through ukfork's Xen
# backend in-process each reach UKF-READY (backend xen, mode cold, the
# EMULATED Xen label and no KVM one); 2 clones of hello's template
# (--from-template) reach it too (mode template); a guest that aborts is a
# failure with its abort message (exit 1); a KVM image is refused with the
# backend's reason; no domain is left.
# Exit 77 (skip) only when qemu-system-x86_64 is missing.
set -euo pipefail

B=$(cd "${1:?usage: xen_backend.sh BUILD}" && pwd -P)
BB=$B/bootbench/ukf-bootbench
G=$B/guest-xen
. "$(dirname "${BASH_SOURCE[0]}")/../xen/lib.sh"
[ -x "$BB" ] || fail "no $BB"
for app in hello test-fault; do
	[ -f "$G/$app" ] || fail "no Xen image $G/$app (build target guest-xen-all)"
done
[ -f "$B/guest/hello" ] || fail "no KVM image $B/guest/hello"
xen_need_qemu
xen_workdir ukf-bb-xen

cat >"$D/in-dom0.sh" <<INNER
set -u
. "$D/case.sh"
one() { # NAME ARGS...: bootbench's output, indented, after "== NAME rc=N"
	case_ -m "\$1" "$BB" "\${@:2}"
}
one cold --backend xen -n 2 -j 2 --mem 32M --guest "$G/hello"
one template --backend xen -n 2 --from-template --mem 32M --guest "$G/hello"
one abort --backend xen --json --mem 32M --guest "$G/test-fault"
one kvmimage --backend xen --mem 32M --guest "$B/guest/hello"
domains 'domains left'
INNER

xen_testbed_run 900 "$D"

expect cold 0 '^   \| +ok 2, failed 0' "2 cold boots at once reach the marker"
block cold | grep -q 'backend xen, mode cold, parallel 2' || fail "cold: not backend xen, mode cold, parallel 2"
block cold | grep -q 'EMULATED: in a Xen dom0 under QEMU TCG' || fail "cold: no EMULATED Xen label"
! block cold | grep -q 'KVM nested under QEMU TCG' || fail "cold: labelled as KVM nested under QEMU TCG in a dom0 without KVM"
expect template 0 '^   \| +ok 2, failed 0' "2 clones of the template reach the marker"
block template | grep -q 'backend xen, mode template' || fail "template: not mode template"
expect abort 1 '"failed":1' "an aborting guest is a failure"
block abort | grep -q 'abort: test-fault: usage' || fail "abort: the failure does not carry the guest's abort message"
expect kvmimage 1 'failed 1' "a KVM image fails"
block kvmimage | grep -Eiq 'PV|Xen' || fail "kvmimage: the reason does not say the image is not a Xen PV image"
xen_expect_no_domains_left
echo "PASS: bootbench --backend xen booted 2 hellos at once and 2 clones of its template to UKF-READY, labelled EMULATED (Xen); an abort and a KVM image failed with their reasons; no domain left"

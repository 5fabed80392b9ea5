#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# xen_testbed.sh - scripts/xen-testbed boots a real Xen host: dom0 lists
# itself (`xl list`), a tiny PV guest (a grub-xen image whose embedded
# config prints a marker) starts, prints the marker on its console and is
# destroyed. Prints the timings, which are EMULATED (QEMU TCG).
# Exit 77 (skip) only when qemu-system-x86_64 is missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
MARK=UKF-XEN-TINY-GUEST-UP
command -v qemu-system-x86_64 >/dev/null || {
	echo "SKIP: qemu-system-x86_64 is not installed (apt install qemu-system-x86)"
	exit 77
}
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v grub-mkimage >/dev/null && [ -d /usr/lib/grub/x86_64-xen ] ||
	fail "no grub-mkimage for x86_64-xen (apt install grub-xen-bin; ./ukf.sh installs it)"
[ -d /usr/lib/xen-4.17 ] || fail "no xen-utils-4.17 on this machine (dom0 runs its xl; ./ukf.sh installs it)"

D=$(mktemp -d "${TMPDIR:-/tmp}/ukf-xen-test.XXXXXX")
trap 'rm -rf "$D"' EXIT
chmod 755 "$D"

# The guest: GRUB built for Xen PV with a config that prints the marker and
# waits (it stays up until destroyed).
printf 'echo %s\nsleep 3600\n' "$MARK" >"$D/grub.cfg"
grub-mkimage -O x86_64-xen -o "$D/tiny.img" -c "$D/grub.cfg" -p / echo sleep ||
	fail "grub-mkimage -O x86_64-xen failed"
cat >"$D/tiny.cfg" <<CFG
name = "ukf-tiny"
kernel = "$D/tiny.img"
memory = 32
vcpus = 1
CFG

# What runs in dom0.
cat >"$D/in-dom0.sh" <<INNER
set -u
fail() { echo "FAIL (in dom0): \$*" >&2; exit 1; }
now() { date +%s.%N; }
xl list >"$D/list.out" 2>&1 || { cat "$D/list.out" >&2; fail "xl list failed"; }
cat "$D/list.out"
awk '\$1 == "Domain-0" && \$2 == 0 { ok = 1 } END { exit !ok }' "$D/list.out" ||
	fail "Domain-0 is not in xl list"
log=/var/log/xen/console/guest-ukf-tiny.log
t0=\$(now)
xl create "$D/tiny.cfg" || fail "xl create failed"
i=0
until grep -q "$MARK" "\$log" 2>/dev/null; do
	i=\$((i + 1))
	[ \$i -lt 1200 ] || { cat "\$log" >&2; xl list >&2; fail "no $MARK in \$log after 120 s"; }
	sleep 0.1
done
t1=\$(now)
echo "guest console: \$(grep -m1 "$MARK" "\$log" | tr -d '\r')"
echo "EMULATED: xl create to the guest's console marker: \$(echo "\$t1 \$t0" | awk '{ printf "%.2f", \$1 - \$2 }') s"
xl destroy ukf-tiny || fail "xl destroy failed"
xl list | awk '\$1 == "ukf-tiny" { exit 1 }' || fail "ukf-tiny still listed after xl destroy"
echo "xl destroy: ukf-tiny is gone"
INNER

set +e
"$ROOT/scripts/xen-testbed/run" --timeout 540 --dom0-vcpus 1 --share "$D" -- bash "$D/in-dom0.sh" 2>"$D/run.err"
rc=$?
set -e
cat "$D/run.err" >&2
((rc == 0)) || fail "scripts/xen-testbed/run exited $rc"
ready=$(sed -n 's/.*dom0 ready.* \([0-9.]*\) s after QEMU started.*/\1/p' "$D/run.err")
[ -n "$ready" ] || fail "run did not report dom0 ready"
echo "EMULATED: QEMU start to dom0 ready (Xen daemons up): $ready s"
echo "PASS: Domain-0 listed; tiny PV guest created, printed its marker, destroyed"

#!/bin/sh
# SPDX-License-Identifier: MIT
# pvh_boot.sh - boot a guest image under QEMU microvm (PVH path) and check its output.
# usage: pvh_boot.sh IMAGE EXPECTED_STATUS 'ARGS' PATTERN...
#   EXPECTED_STATUS is the guest's exit status (QEMU exits with status*2+1
#   through isa-debug-exit, 255 for an abort); every PATTERN (grep -E) must
#   appear in the serial output. Exits 77 (skip) without qemu-system-x86_64.
#   UKF_QEMU_ACCEL=kvm uses KVM (skip if /dev/kvm is not usable); default tcg.
set -u
accel=${UKF_QEMU_ACCEL:-tcg}
if [ "$accel" = kvm ] && ! [ -r /dev/kvm -a -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is not usable"; exit 77
fi
image=$1 want=$2 args=$3
shift 3
command -v qemu-system-x86_64 >/dev/null 2>&1 || {
	echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
[ -r "$image" ] || { echo "FAIL: no image $image"; exit 1; }
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
timeout 60 qemu-system-x86_64 -M microvm -accel "$accel" -m 128M -nographic \
	-no-reboot -nodefaults -serial stdio -display none \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-kernel "$image" -append "$args" </dev/null >"$out" 2>&1
rc=$?
cat "$out"
if [ "$want" = abort ]; then
	wantrc=255
else
	wantrc=$(( (want * 2 + 1) & 255 ))
fi
if [ "$rc" -ne "$wantrc" ]; then
	echo "FAIL: qemu exit status $rc, expected $wantrc (guest status $want)"
	exit 1
fi
for pat in "$@"; do
	grep -Eq -- "$pat" "$out" || { echo "FAIL: no line matching '$pat'"; exit 1; }
done
echo "PASS"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# thesis-cells.sh - the cells of thesis-table.sh for one hypervisor, run
# INSIDE its emulated host: `kvm` in scripts/kvm-vm (ukfork's unikernel on
# ukfork's KVM backend, a Debian Linux under QEMU -accel kvm), `xen` in
# scripts/xen-testbed's dom0 (ukfork's unikernel through ukfork's Xen
# backend, a Debian Linux PV guest under `xl create -c`). Every cell goes
# through `ukfork bootbench`, which times each instance from its launch to
# the UKF-READY line on its console.
#
# usage: thesis-cells.sh kvm|xen WORKDIR BUILD "N..." ROUNDS LINUX-ROUNDS
# WORKDIR holds vmlinux and initrd.cpio (thesis-table.sh makes them) and
# receives, per cell PLATFORM-GUEST-N: .lat (one launch-to-marker ms per
# line, every boot that reached it), .failed (a count), .json (bootbench's
# summary of the cell's last round) and .err. A cell is ROUNDS (Linux:
# LINUX-ROUNDS) bootbench runs of N instances launched at once (-n N -j N).
set -u

PLAT=$1 W=$2 B=$3 NS=$4 ROUNDS=$5 LROUNDS=$6
UKF=$B/ukfork
T=/tmp/ukf-thesis.$$
mkdir -p "$T"
say() { echo "thesis-cells($PLAT): $*" >&2; }

# cell GUEST N ROUNDS BOOTBENCH-ARGS...: R rounds of N at once, boots into
# a results database under /tmp (SQLite cannot lock on the 9p share), then
# the latencies of the boots that reached the marker into WORKDIR.
cell() {
	local guest=$1 n=$2 r=$3 name i
	shift 3
	name=$PLAT-$guest-$n
	rm -f "$T/$name.db"
	for i in $(seq 1 "$r"); do
		say "$name: round $i/$r: ukfork bootbench -n $n -j $n $*"
		"$UKF" bootbench --json --db "$T/$name.db" -n "$n" -j "$n" "$@" \
			>"$W/$name.json" 2>"$W/$name.err"
		between_rounds
	done
	sqlite3 "$T/$name.db" 'select (t_marker - t_launch) / 1e6 from boots where ok = 1 and t_marker >= 0' \
		>"$W/$name.lat" 2>>"$W/$name.err"
	sqlite3 "$T/$name.db" 'select count(*) from boots where ok = 0' \
		>"$W/$name.failed" 2>>"$W/$name.err" || echo 0 >"$W/$name.failed"
	say "$name: $(wc -l <"$W/$name.lat") boots reached the marker, $(cat "$W/$name.failed") failed"
}

between_rounds() { :; }

case $PLAT in
kvm)
	[ -e /dev/kvm ] || { say "no /dev/kvm here (run me inside scripts/kvm-vm)"; exit 2; }
	for n in $NS; do
		cell unikernel "$n" "$ROUNDS" --timeout 60000 --grace 0 \
			--guest "$B/guest/hello"
	done
	# A Debian kernel + busybox initramfs under QEMU/KVM (-M pc: under
	# microvm this kernel stopped after "PCI: Fatal: No config space access
	# function found"). Some boots hang silently after "Booting from
	# ROM..." here (docs/bootbench.md); one that arrives takes 16-81 s, so
	# 300 s bounds what a hang costs.
	for n in $NS; do
		cell linux "$n" "$LROUNDS" --timeout 300000 --grace 0 \
			--fail 'Kernel panic|KVM internal error' \
			--cmd "qemu-system-x86_64 -M pc -accel kvm -cpu host -m 128M -nodefaults -no-user-config -nographic -display none -serial stdio -no-reboot -kernel $W/vmlinux -initrd $W/initrd.cpio -append 'console=ttyS0 panic=-1 quiet'"
	done
	;;
xen)
	[ -e /dev/xen/privcmd ] || { say "not a Xen dom0 (run me inside scripts/xen-testbed/run)"; exit 2; }
	# the Linux guest's kernel in dom0's tmpfs: read over 9p it boots
	# seconds slower (../shared/XEN-NOTES.md)
	cp "$W/vmlinux" "$W/initrd.cpio" "$T/" || exit 2
	cat >"$T/linux.cfg" <<CFG
type = "pv"
kernel = "$T/vmlinux"
ramdisk = "$T/initrd.cpio"
extra = "console=hvc0 panic=-1 quiet"
memory = 128
vcpus = 1
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "destroy"
CFG
	# every domain of a round gone before the next, for at most 60 s of
	# wall time (a loaded dom0 takes seconds per `xl list`: a bound in
	# iterations once waited over 20 minutes)
	between_rounds() {
		local end=$(($(date +%s) + 60))
		while [ "$(date +%s)" -lt "$end" ]; do
			[ "$(xl list 2>/dev/null | wc -l)" -le 2 ] && return 0
			sleep 0.5
		done
		say "domains still alive after a round: $(xl list | awk 'NR > 2 { print $1 }' | tr '\n' ' ')"
		xl list | awk 'NR > 2 { print $1 }' | while read -r d; do xl destroy "$d"; done
	}
	for n in $NS; do
		# ukfork's Xen backend in bootbench's process (--backend xen:
		# one libxl context, N PV domains at once, console ptys), as the
		# KVM cell runs ukfork's KVM backend in-process
		cell unikernel "$n" "$ROUNDS" --timeout 120000 --grace 0 \
			--backend xen --mem 32M --guest "$B/guest-xen/hello"
	done
	for n in $NS; do
		cell linux "$n" "$LROUNDS" --timeout 600000 --grace 60000 \
			--marker '^UKF-READY' --fail 'Kernel panic' \
			--cmd "xl create -c $T/linux.cfg 'name=\"ukf-thesis-linux-{i}\"'"
	done
	xl list
	;;
*)
	say "platform '$PLAT': want kvm or xen"
	exit 2
	;;
esac
rm -rf "$T"

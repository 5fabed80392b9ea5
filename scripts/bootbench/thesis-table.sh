#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# thesis-table.sh - the thesis' boot comparison in one script (issue 10
# item 4): KVM vs Xen x ukfork's unikernel vs Linux, N instances launched
# at once, each timed from its launch to the UKF-READY line on its console
# by `ukfork bootbench`. See docs/bootbench.md.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/bootbench/thesis-table.sh [-b BUILD] [-N "1 4"] [-r ROUNDS]
           [--linux-rounds R] [--json FILE] [--only kvm|xen] [--keep DIR]

The table KVM vs Xen x unikernel vs Linux, in one run, every cell through
`ukfork bootbench` (ready = the UKF-READY line on the instance's console):

  kvm unikernel  build/guest/hello on ukfork's KVM backend (bootbench
                 --guest, in-process), inside scripts/kvm-vm
  kvm linux      a Debian kernel (linux-image-amd64, raw vmlinux) + a
                 busybox-static initramfs whose /init prints UKF-READY,
                 under qemu-system-x86_64 -M pc -accel kvm, inside
                 scripts/kvm-vm (bootbench --cmd)
  xen unikernel  build/guest-xen/hello as a PV domain through ukfork's Xen
                 backend in bootbench's process (bootbench --backend xen),
                 in the dom0 of scripts/xen-testbed
  xen linux      the same kernel and initramfs as a Linux PV domain
                 (`xl create -c`, 128 MiB), in the same dom0

For each N in -N (default "1 4"), a cell is ROUNDS runs (-r, default 10;
Linux cells --linux-rounds, default 2) of N instances launched at once
(-n N -j N); the median and p95 (nearest rank) are over every boot of the
cell that reached the marker. No machine here runs either hypervisor for
real: KVM is nested under QEMU TCG and Xen runs under QEMU TCG, so EVERY
figure is EMULATED and labelled so (behaviour is real, times are not; they
compare only within one run). The two emulated hosts run one after the
other, never at once. Needs a build with -DUKF_BUILD_XEN=ON (targets
ukfork, guest-hello, guest-xen-hello), qemu-system-x86,
xen-utils-4.17, busybox-static, sqlite3 and jq.

  -b BUILD           the build directory (default build)
  -N "N..."          instances at once per cell (default "1 4")
  -r ROUNDS          rounds per unikernel cell (default 10)
  --linux-rounds R   rounds per Linux cell (default 2: each Linux boot takes
                     a minute or more under emulation)
  --json FILE        also write the table as JSON (an object with "cells")
  --only kvm|xen     measure one hypervisor only (its cells)
  --keep DIR         keep the cells' raw files (latencies, bootbench JSON)
  -h, --help         this text

Exit status: 0 when every cell has at least one boot that reached the
marker, 1 otherwise (the table is printed either way), 2 bad usage or a
missing build, 125 when an emulated host could not run.
USAGE
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
BUILD=build
NS="1 4"
ROUNDS=10
LROUNDS=2
JSON=
ONLY=
KEEP=
while (($#)); do
	case $1 in
	-b) BUILD=${2:?-b needs a directory}; shift 2 ;;
	-N) NS=${2:?-N needs counts}; shift 2 ;;
	-r) ROUNDS=${2:?-r needs a count}; shift 2 ;;
	--linux-rounds) LROUNDS=${2:?--linux-rounds needs a count}; shift 2 ;;
	--json) JSON=${2:?--json needs a file}; shift 2 ;;
	--only) ONLY=${2:?--only needs kvm or xen}; shift 2 ;;
	--keep) KEEP=${2:?--keep needs a directory}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "thesis-table.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
for v in $NS "$ROUNDS" "$LROUNDS"; do
	[[ "$v" =~ ^[1-9][0-9]{0,2}$ ]] ||
		{ echo "thesis-table.sh: '$v' is not a count from 1 to 999 (-N, -r, --linux-rounds)" >&2; exit 2; }
done
[ -n "$NS" ] || { echo "thesis-table.sh: -N names no count" >&2; exit 2; }
case $ONLY in '' | kvm | xen) ;; *) echo "thesis-table.sh: --only $ONLY: want kvm or xen" >&2; exit 2 ;; esac
B=$(cd "$BUILD" 2>/dev/null && pwd -P) || { echo "thesis-table.sh: no build directory $BUILD" >&2; exit 2; }
for f in ukfork guest/hello guest-xen/hello; do
	[ -e "$B/$f" ] || { echo "thesis-table.sh: no $B/$f (cmake -DUKF_BUILD_XEN=ON; build ukfork, guest-hello, guest-xen-hello)" >&2; exit 2; }
done
for c in qemu-system-x86_64 sqlite3 jq; do
	command -v "$c" >/dev/null || { echo "thesis-table.sh: $c is not installed" >&2; exit 2; }
done

W=$(mktemp -d "${TMPDIR:-/tmp}/ukf-thesis.XXXXXX")
cleanup() {
	if [ -n "$KEEP" ]; then mkdir -p "$KEEP" && cp -a "$W"/. "$KEEP"/; fi
	rm -rf "$W"
}
trap cleanup EXIT
chmod 755 "$W"

# The Linux guest: the Debian kernel the Xen testbed boots as dom0 (its raw
# vmlinux boots as a PV domU and under QEMU alike) and a busybox-static
# initramfs whose /init prints the marker and reboots (QEMU -no-reboot
# exits; the Xen domain has on_reboot = destroy).
# shellcheck source=../xen-testbed/lib.sh
. "$ROOT/scripts/xen-testbed/lib.sh"
xen_tb_prepare >&2 || { echo "thesis-table.sh: cannot prepare the kernel (scripts/xen-testbed/lib.sh)" >&2; exit 125; }
cp "$XEN_TB_VMLINUX" "$W/vmlinux"
mkdir -p "$W/root/bin" "$W/root/proc" "$W/root/sys" "$W/root/dev"
cp "$BUSYBOX" "$W/root/bin/busybox"
cat >"$W/root/init" <<'INIT'
#!/bin/busybox sh
echo UKF-READY
/bin/busybox reboot -f
INIT
chmod 755 "$W/root/init" "$W/root/bin/busybox"
(cd "$W/root" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null) >"$W/initrd.cpio"
rm -rf "$W/root"

CELLS=$ROOT/scripts/bootbench/thesis-cells.sh
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
HOSTRC=0
if [ "$ONLY" != xen ]; then
	echo "thesis-table.sh: KVM cells in scripts/kvm-vm (nested KVM under QEMU TCG)" >&2
	"$ROOT/scripts/kvm-vm/run" -q --timeout 3000 --share "$W" \
		-- bash "$CELLS" kvm "$W" "$B" "$NS" "$ROUNDS" "$LROUNDS" >&2 || {
		echo "thesis-table.sh: the KVM cells' host exited $?" >&2
		HOSTRC=125
	}
fi
if [ "$ONLY" != kvm ]; then
	echo "thesis-table.sh: Xen cells in scripts/xen-testbed (Xen 4.17 under QEMU TCG)" >&2
	"$ROOT/scripts/xen-testbed/run" -q --timeout 3000 --dom0-vcpus 1 --share "$W" \
		-- bash "$CELLS" xen "$W" "$B" "$NS" "$ROUNDS" "$LROUNDS" >&2 || {
		echo "thesis-table.sh: the Xen cells' host exited $?" >&2
		HOSTRC=125
	}
fi
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# One JSON object per cell: nearest-rank median and p95 over its boots.
stats() { # FILE: "n median p95 min max" of the values in FILE (one per line)
	sort -g "$1" | awk '
	function rank(q,   k) { k = q * NR; k = (k == int(k)) ? k : int(k) + 1; return k < 1 ? 1 : k }
	{ v[NR] = $1 }
	END {
		if (NR == 0) { print 0, "null", "null", "null", "null"; exit }
		printf "%d %.6g %.6g %.6g %.6g\n", NR, v[rank(0.5)], v[rank(0.95)], v[1], v[NR]
	}'
}
how() { # PLATFORM GUEST
	case $1-$2 in
	kvm-unikernel) echo "guest/hello on ukfork's KVM backend (bootbench --guest), in scripts/kvm-vm" ;;
	kvm-linux) echo "Debian vmlinux + busybox initramfs, qemu -M pc -accel kvm, 128 MiB (bootbench --cmd), in scripts/kvm-vm" ;;
	xen-unikernel) echo "guest-xen/hello PV through ukfork's Xen backend in-process (bootbench --backend xen), in the testbed's dom0" ;;
	xen-linux) echo "Debian vmlinux + busybox initramfs as a PV domain, xl create -c, 128 MiB (bootbench --cmd), in the testbed's dom0" ;;
	esac
}
ALLOK=1
: >"$W/cells.jsonl"
for plat in kvm xen; do
	[ -n "$ONLY" ] && [ "$ONLY" != "$plat" ] && continue
	for guest in unikernel linux; do
		for n in $NS; do
			c=$W/$plat-$guest-$n
			[ -e "$c.lat" ] || : >"$c.lat"
			read -r cnt med p95 lo hi < <(stats "$c.lat")
			failed=$(cat "$c.failed" 2>/dev/null || echo null)
			[[ "$failed" =~ ^[0-9]+$ ]] || failed=null
			reason=$(jq -r 'if (.failures // []) | length > 0 then (.failures[0] | "\(.reason): \(.last_output[-120:])") else empty end' "$c.json" 2>/dev/null | tr '\n\r' '  ' || true)
			[ -s "$c.json" ] || reason="not measured: $(tail -c 300 "$c.err" 2>/dev/null | tr '\n' ' ')"
			emu=$(jq -r '.emulated // false' "$c.json" 2>/dev/null || echo false)
			((cnt > 0)) || ALLOK=0
			jq -nc --arg p "$plat" --arg g "$guest" --argjson n "$n" --argjson boots "$cnt" \
				--argjson failed "$failed" --argjson med "$med" --argjson p95 "$p95" \
				--argjson lo "$lo" --argjson hi "$hi" --arg how "$(how "$plat" "$guest")" \
				--arg reason "$reason" --argjson bbemu "${emu:-false}" \
				'{platform: $p, guest: $g, instances: $n, boots: $boots, failed: $failed,
				  median_ms: $med, p95_ms: $p95, min_ms: $lo, max_ms: $hi,
				  emulated: true, bootbench_emulated: $bbemu, how: $how,
				  first_failure: (if $reason == "" then null else $reason end)}' >>"$W/cells.jsonl"
		done
	done
done

ROUNDS_DESC="unikernel cells $ROUNDS rounds, Linux cells $LROUNDS rounds, of N launched at once"
echo "EMULATED: every figure below was taken under emulation (KVM nested under QEMU TCG in scripts/kvm-vm; Xen 4.17 under QEMU TCG in scripts/xen-testbed). Behaviour is real, times are not: compare within this table only."
echo "thesis table, $STARTED, $(nproc) CPUs, load $LOAD0 -> $LOAD1; $ROUNDS_DESC; ms from launch to UKF-READY on the console"
printf '| %-8s | %-9s | %3s | %5s | %6s | %12s | %12s | %10s | %10s |\n' hypervisor guest N boots failed "median ms" "p95 ms" "min ms" "max ms"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
jq -r '[.platform, .guest, (.instances|tostring), (.boots|tostring), (.failed // "-" | tostring),
	(.median_ms // "-" | tostring), (.p95_ms // "-" | tostring), (.min_ms // "-" | tostring), (.max_ms // "-" | tostring)] | @tsv' \
	"$W/cells.jsonl" | while IFS=$'\t' read -r a b c d e f g h i; do
	printf '| %-8s | %-9s | %3s | %5s | %6s | %12s | %12s | %10s | %10s |\n' "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" "$i"
done
echo "cells (EMULATED):"
jq -r '"  \(.platform) \(.guest): \(.how)" + (if .first_failure then "\n    N=\(.instances) first failure: \(.first_failure)" else "" end)' "$W/cells.jsonl" | awk '!seen[$0]++'
if [ -n "$JSON" ]; then
	jq -s --arg started "$STARTED" --arg load "$LOAD0 -> $LOAD1" --arg rounds "$ROUNDS_DESC" \
		--arg cpus "$(nproc)" \
		'{emulated: true, note: "EMULATED: KVM nested under QEMU TCG, Xen under QEMU TCG; behaviour real, times not",
		  started: $started, cpus: ($cpus|tonumber), load: $load, rounds: $rounds,
		  marker: "UKF-READY", cells: .}' "$W/cells.jsonl" >"$JSON"
fi
((HOSTRC == 0)) || exit "$HOSTRC"
((ALLOK)) || exit 1
exit 0

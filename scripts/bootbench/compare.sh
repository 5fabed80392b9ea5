#!/bin/sh
# SPDX-License-Identifier: MIT
# compare.sh - boot-time comparison in ONE run: the hello image on ukfork's
# KVM backend vs the same image under QEMU microvm (-accel kvm, -accel tcg),
# and a Debian Linux kernel + busybox initramfs under QEMU; prints a table
# with ratios against ukfork. See docs/bootbench.md.
#
# usage: scripts/bootbench/compare.sh [-b BUILD] [-n COUNT] [-j PARALLEL]
#            [-i IMAGE] [--db FILE] [--linux-n N] [--no-linux] [--no-install]
#            [--linux-accel tcg|kvm] [--qemu-timeout MS] [--pool N|auto]
#            [--allow-emulated]
# --pool adds a row for ukfork with N pre-made VM shells (auto: COUNT),
# made before timing as LightVM does, and a column of ratios against it.
# The Linux row boots -M pc (microvm has no usable TSC reference for Linux
# under TCG here) with a small -n, at most nproc at once: it takes seconds.
# Where KVM is itself emulated (inside scripts/kvm-vm) the comparison is
# refused (exit 3): --allow-emulated runs it, marks it EMULATED and prints
# no ratios.
set -eu

BUILD=build
N=100
J=
IMAGE=
DB=
LINUX=1
LINUX_N=4
LINUX_ACCEL=tcg
INSTALL=1
QTIMEOUT=20000
POOL=0
ALLOW_EMU=0
while [ $# -gt 0 ]; do
	case $1 in
	-b) BUILD=$2; shift 2 ;;
	-n) N=$2; shift 2 ;;
	-j) J=$2; shift 2 ;;
	-i) IMAGE=$2; shift 2 ;;
	--db) DB=$2; shift 2 ;;
	--linux-n) LINUX_N=$2; shift 2 ;;
	--linux-accel) LINUX_ACCEL=$2; shift 2 ;;
	--no-linux) LINUX=0; shift ;;
	--no-install) INSTALL=0; shift ;;
	--qemu-timeout) QTIMEOUT=$2; shift 2 ;;
	--pool) POOL=$2; shift 2 ;;
	--allow-emulated) ALLOW_EMU=1; shift ;;
	-h|--help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -n "$J" ] || J=$N
[ "$POOL" = auto ] && POOL=$N
case $POOL in ''|*[!0-9]*) echo "compare.sh: --pool: a count or auto" >&2; exit 2 ;; esac
[ -n "$IMAGE" ] || IMAGE=$BUILD/guest/hello
[ -f "$IMAGE" ] || { echo "compare.sh: no image $IMAGE (build first)" >&2; exit 1; }

# The bootbench: `ukfork bootbench` when the CLI has it, else the driver.
# (The top-level build puts ukfork in $BUILD itself; older trees had cli/.)
if [ -x "$BUILD/ukfork" ] && "$BUILD/ukfork" bootbench --help >/dev/null 2>&1; then
	BB="$BUILD/ukfork bootbench"
elif [ -x "$BUILD/cli/ukfork" ] && "$BUILD/cli/ukfork" bootbench --help >/dev/null 2>&1; then
	BB="$BUILD/cli/ukfork bootbench"
elif [ -x "$BUILD/bootbench/ukf-bootbench" ]; then
	BB="$BUILD/bootbench/ukf-bootbench"
else
	echo "compare.sh: no bootbench in $BUILD (build target ukf-bootbench)" >&2; exit 1
fi

# What KVM this is: every figure is labelled with it; emulated KVM makes
# the timing comparison meaningless.
. "$(dirname "$0")/kvm-info.sh"
kvm_info "$BB"
refuse_emulated compare.sh "$ALLOW_EMU"

# Debian packages, installed when missing.
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
need_pkg() { # package, file that proves it is installed
	[ -e "$2" ] && return 0
	if [ "$INSTALL" = 1 ]; then
		echo "compare.sh: installing $1 (apt-get)" >&2
		$SUDO apt-get install -y --no-install-recommends "$1" >/dev/null ||
			$SUDO sh -c "apt-get update >/dev/null && apt-get install -y --no-install-recommends $1 >/dev/null"
	fi
	[ -e "$2" ]
}
need_pkg qemu-system-x86 /usr/bin/qemu-system-x86_64 ||
	{ echo "compare.sh: qemu-system-x86 is required" >&2; exit 1; }
if [ "$LINUX" = 1 ]; then
	KERNEL=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -1 || true)
	if [ -z "$KERNEL" ]; then
		need_pkg linux-image-cloud-amd64 /nonexistent-probe || true
		KERNEL=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -1 || true)
	fi
	need_pkg busybox-static /bin/busybox || true
	if [ -z "$KERNEL" ] || ! [ -x /bin/busybox ]; then
		echo "compare.sh: no cloud kernel or busybox-static: skipping Linux" >&2
		LINUX=0
	fi
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if [ "$LINUX" = 1 ]; then
	# initramfs: a static busybox and an init that prints the marker
	R=$TMP/root
	mkdir -p "$R/bin" "$R/proc" "$R/sys" "$R/dev"
	cp /bin/busybox "$R/bin/busybox"
	ln -s busybox "$R/bin/sh"
	cat >"$R/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo UKF-READY
/bin/busybox poweroff -f
INIT
	chmod +x "$R/init"
	(cd "$R" && find . | /bin/busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$TMP/initrd.gz"
	# the kernel is root-only readable on Debian: use a copy
	cp "$KERNEL" "$TMP/vmlinuz"
fi

QEMU="qemu-system-x86_64 -M microvm -m 64M -nodefaults -no-user-config -nographic -display none -serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04"
DBARG=
[ -n "$DB" ] && DBARG="--db $DB"

echo "# compare.sh: $(date -u '+%F %T UTC'), $(nproc) CPUs, image $IMAGE, $N instances, $J at once" >&2
echo "# KVM here: $KVMDESC"
[ "$EMU" = true ] && echo "# EMULATED: KVM nested under QEMU TCG; every figure below shows behaviour only; no ratios"
run() { # label, bootbench args...
	label=$1; shift
	echo "# $label: $BB $*" >&2
	# shellcheck disable=SC2086
	$BB --json $DBARG --fail 'KVM internal error|Kernel panic' "$@" >"$TMP/$label.json" 2>"$TMP/$label.err" || true
	if ! [ -s "$TMP/$label.json" ]; then
		echo "{\"count\":0,\"ok\":0,\"failed\":0,\"error\":\"$(head -c 200 "$TMP/$label.err" | tr '\n"' ' .')\"}" >"$TMP/$label.json"
	fi
	echo "$label" >>"$TMP/order"
}

run ukfork-kvm -n "$N" -j "$J" --timeout 30000 --grace 0 --guest "$IMAGE"
[ "$POOL" -gt 0 ] &&
	run ukfork-kvm-pool$POOL -n "$N" -j "$J" --timeout 30000 --grace 0 --pool "$POOL" --guest "$IMAGE"
run qemu-microvm-kvm -n "$N" -j "$J" --timeout "$QTIMEOUT" --grace 1000 \
	--cmd "$QEMU -accel kvm -kernel $IMAGE"
run qemu-microvm-tcg -n "$N" -j "$J" --timeout "$QTIMEOUT" --grace 1000 \
	--cmd "$QEMU -accel tcg -kernel $IMAGE"
if [ "$LINUX" = 1 ]; then
	LJ=$LINUX_N
	[ "$LJ" -gt "$(nproc)" ] && LJ=$(nproc)
	run linux-busybox-qemu-$LINUX_ACCEL -n "$LINUX_N" -j "$LJ" --timeout 120000 --grace 2000 \
		--cmd "qemu-system-x86_64 -M pc -accel $LINUX_ACCEL -m 256M -nodefaults -no-user-config -nographic -display none -serial stdio -no-reboot -kernel $TMP/vmlinuz -initrd $TMP/initrd.gz -append 'console=ttyS0 panic=-1 quiet'"
fi

# the table: medians with 95% CIs, and ratios against ukfork's KVM backend
base=$(jq -r '.median_ms // empty' "$TMP/ukfork-kvm.json")
pbase=
[ "$POOL" -gt 0 ] && pbase=$(jq -r '.median_ms // empty' "$TMP/ukfork-kvm-pool$POOL.json")
if [ "$EMU" = true ]; then base=; pbase=; fi
printf '%-26s %5s %5s %10s %22s %10s %10s %10s %11s %12s %12s\n' configuration n fail median_ms "95% CI" p95_ms p99_ms max_ms launches/s "x ukfork" "x pooled" 
while read -r label; do
	f=$TMP/$label.json
	jq -r --arg l "$label" --arg base "${base:-}" --arg pbase "${pbase:-}" '
	  def n(x): if x == null then "-" else (x * 1000 | round / 1000 | tostring) end;
	  [ $l, (.count|tostring), (.failed|tostring), n(.median_ms),
	    (if .median_ci_ms and .median_ms != null then "[" + n(.median_ci_ms[0]) + ", " + n(.median_ci_ms[1]) + "]" else "-" end),
	    n(.p95_ms), n(.p99_ms), n(.max_ms),
	    (if .launch_rate == null then "-" else (.launch_rate * 10 | round / 10 | tostring) end),
	    (if .median_ms == null or $base == "" then "-" else ((.median_ms / ($base|tonumber)) * 10 | round / 10 | tostring) + "x" end),
	    (if .median_ms == null or $pbase == "" then "-" else ((.median_ms / ($pbase|tonumber)) * 10 | round / 10 | tostring) + "x" end)
	  ] | @tsv' "$f" | awk -F'\t' '{ printf "%-26s %5s %5s %10s %22s %10s %10s %10s %11s %12s %12s\n", $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11 }'
	jq -r --arg l "$label" 'if .error then "  \($l): could not run: \(.error)" else
	  (.failures[:3][] | "  \($l) #\(.index) failed: \(.reason); last output: \(.last_output | sub("[\r\n]+$"; "") | gsub("[\r\n]+"; " | ") | .[-160:])") end' "$f"
done <"$TMP/order"

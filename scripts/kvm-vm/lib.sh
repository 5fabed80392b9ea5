# SPDX-License-Identifier: MIT
# lib.sh - find or fetch a Debian kernel and busybox-static, and build the
# KVM test VM's initramfs from them (cached). Sourced by scripts/kvm-vm/run.
#
# Everything comes from Debian's archive: an installed Debian kernel
# (/boot/vmlinuz-V with /lib/modules/V) when there is one with the KVM and
# 9p modules, otherwise the current linux-image-amd64 package fetched with
# `apt-get download` and unpacked into the cache (the machine's own /boot
# and boot loader are never touched). The same for busybox-static.
#
# Sets KVM_VM_KERNEL and KVM_VM_INITRD. Cache: $UKF_KVM_VM_CACHE, default
# ${XDG_CACHE_HOME:-$HOME/.cache}/ukfork/kvm-vm.

KVM_VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KVM_VM_CACHE=${UKF_KVM_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ukfork/kvm-vm}

# Modules the VM needs, by name; their dependencies are added from each
# module's own .modinfo. kvm_amd/kvm_intel are loaded by init by CPU vendor.
# bridge, veth and the netem/tbf qdiscs: the node-agent testbed
# (scripts/testbed) inside the VM, for machines whose own kernel lacks them.
KVM_VM_MODULES=(virtio_pci 9pnet_virtio 9p kvm kvm_amd kvm_intel
	bridge veth sch_netem sch_tbf)

# Progress lines on stderr, prefixed with $KVM_VM_NAME (scripts/xen-testbed
# sets its own).
KVM_VM_NAME=${KVM_VM_NAME:-kvm-vm}
kvm_vm_log() { [ -n "${KVM_VM_QUIET:-}" ] || echo "$KVM_VM_NAME: $*" >&2; }

# apt-get download PKG... into the current directory; refresh the package
# lists once if the archive does not know the package yet.
kvm_vm_apt_download() {
	if ! apt-get download -q "$@" >/dev/null 2>"$KVM_VM_CACHE/apt.err"; then
		kvm_vm_log "apt-get download $* failed; refreshing package lists"
		local sudo=""
		[ "$(id -u)" -eq 0 ] || sudo=sudo
		$sudo apt-get update -qq >/dev/null 2>&1
		apt-get download -q "$@" >/dev/null 2>"$KVM_VM_CACHE/apt.err" || {
			cat "$KVM_VM_CACHE/apt.err" >&2
			return 1
		}
	fi
}

# kvm_vm_fetch_deb PKG DIR - unpack the Debian package PKG into DIR, once
# (DIR/.done marks it complete): fetched with `apt-get download` into the
# cache, never installed. Also used by scripts/xen-testbed.
kvm_vm_fetch_deb() {
	local pkg=$1 d=$2 dl=$KVM_VM_CACHE/dl
	[ -e "$d/.done" ] && return 0
	kvm_vm_log "fetching $pkg from Debian's archive (once; cached in ${d%/*})"
	rm -rf "$d" "$dl"
	mkdir -p "$dl" && chmod 777 "$dl"
	(cd "$dl" && kvm_vm_apt_download "$pkg") || return 1
	dpkg-deb -x "$dl/$pkg"_*.deb "$d" || return 1
	rm -rf "$dl"
	touch "$d/.done"
}

# An installed Debian kernel with the modules we need: prints its version.
kvm_vm_installed_kernel() {
	local v
	for v in $(ls -1 /lib/modules 2>/dev/null | sort -rV); do
		[ -r "/boot/vmlinuz-$v" ] || continue
		[ -e "/lib/modules/$v/kernel/arch/x86/kvm/kvm.ko" ] || continue
		[ -e "/lib/modules/$v/kernel/fs/9p/9p.ko" ] || continue
		echo "$v"
		return 0
	done
	return 1
}

# Sets KROOT (a tree with boot/ and lib/modules/V) and KVER.
kvm_vm_find_kernel() {
	if KVER=$(kvm_vm_installed_kernel); then
		KROOT=/
		return 0
	fi
	local pkg
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	if [ -z "$pkg" ]; then
		kvm_vm_log "apt does not know linux-image-amd64; refreshing package lists"
		local sudo=""
		[ "$(id -u)" -eq 0 ] || sudo=sudo
		$sudo apt-get update -qq >/dev/null 2>&1
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
			awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	fi
	[ -n "$pkg" ] || { kvm_vm_log "no Debian kernel package found"; return 1; }
	KVER=${pkg#linux-image-}
	KROOT=$KVM_VM_CACHE/$pkg
	kvm_vm_fetch_deb "$pkg" "$KROOT"
}

# Sets BUSYBOX to a static busybox binary.
kvm_vm_find_busybox() {
	if dpkg -s busybox-static >/dev/null 2>&1 && [ -x /bin/busybox ]; then
		BUSYBOX=/bin/busybox
		return 0
	fi
	local d=$KVM_VM_CACHE/busybox-static
	kvm_vm_fetch_deb busybox-static "$d" || return 1
	BUSYBOX=$d/bin/busybox
}

# Resolve module names (with dependencies, each once, dependencies first)
# to paths relative to lib/modules/V; prints them in load order.
kvm_vm_resolve_modules() {
	local mdir=$1
	shift
	declare -A path=() seen=()
	local rel base
	while read -r rel; do
		base=${rel##*/}
		base=${base%.ko*}
		path[${base//-/_}]=$rel
	done <"$mdir/modules.order"
	kvm_vm_visit() {
		local n=${1//-/_} deps d
		[ -n "${seen[$n]:-}" ] && return 0
		seen[$n]=1
		[ -n "${path[$n]:-}" ] || return 0 # built into the kernel
		deps=$(tr '\0' '\n' <"$mdir/${path[$n]}" | sed -n 's/^depends=//p' | head -1)
		for d in ${deps//,/ }; do kvm_vm_visit "$d"; done
		echo "${path[$n]}"
	}
	for base in "$@"; do kvm_vm_visit "$base"; done
}

# Build (or reuse) the initramfs; sets KVM_VM_KERNEL and KVM_VM_INITRD.
kvm_vm_prepare() {
	mkdir -p "$KVM_VM_CACHE" || return 1
	kvm_vm_find_kernel || return 1
	kvm_vm_find_busybox || return 1
	KVM_VM_KERNEL=$KROOT/boot/vmlinuz-$KVER
	[ -r "$KVM_VM_KERNEL" ] || { kvm_vm_log "cannot read $KVM_VM_KERNEL"; return 1; }
	local stamp
	stamp=$(cat "$KVM_VM_DIR/init" "$KVM_VM_DIR/lib.sh" |
		cat - <(echo "$KROOT $KVER $(stat -c %s:%Y "$BUSYBOX")") | sha256sum | cut -c1-16)
	KVM_VM_INITRD=$KVM_VM_CACHE/initramfs-$KVER-$stamp.cpio
	[ -s "$KVM_VM_INITRD" ] && return 0

	kvm_vm_log "building the initramfs for kernel $KVER"
	# kvm_amd/kvm_intel: init picks one by CPU vendor
	kvm_vm_make_initramfs "$KVM_VM_INITRD" "$KVM_VM_DIR/init" \
		"kvm-amd.ko kvm-intel.ko" "kvm.ko 9p.ko" "${KVM_VM_MODULES[@]}" || return 1
	# older initramfs images of this cache
	find "$KVM_VM_CACHE" -maxdepth 1 -name 'initramfs-*.cpio' ! -path "$KVM_VM_INITRD" -delete
}

# kvm_vm_make_initramfs OUT INIT NOLOAD NEED MODULE... - write an
# uncompressed cpio to OUT: $BUSYBOX as /bin/busybox, INIT as /init, the
# named modules of $KROOT/lib/modules/$KVER with their dependencies in
# /modules, and their load order in /modules.list, less the file names in
# the word list NOLOAD (init loads those itself). Fails, with a message,
# when a file named in the word list NEED is not among them. Also used by
# scripts/xen-testbed.
kvm_vm_make_initramfs() {
	local out=$1 init=$2 noload=" $3 " need=$4
	shift 4
	local mdir=$KROOT/lib/modules/$KVER t m n
	t=$(mktemp -d "$(dirname "$out")/initramfs.XXXXXX") || return 1
	mkdir -p "$t/bin" "$t/modules" "$t/proc" "$t/sys" "$t/dev"
	cp "$BUSYBOX" "$t/bin/busybox"
	cp "$init" "$t/init"
	chmod 755 "$t/init" "$t/bin/busybox"
	: >"$t/modules.list"
	for m in $(kvm_vm_resolve_modules "$mdir" "$@"); do
		case "$m" in
		*.ko) cp "$mdir/$m" "$t/modules/" ;;
		*) kvm_vm_log "compressed module $m is not supported"; rm -rf "$t"; return 1 ;;
		esac
		case "$noload" in
		*" ${m##*/} "*) ;;
		*) echo "${m##*/}" >>"$t/modules.list" ;;
		esac
	done
	for n in $need; do
		[ -e "$t/modules/$n" ] && continue
		kvm_vm_log "kernel $KVER lacks $n"
		rm -rf "$t"
		return 1
	done
	(cd "$t" && find . -mindepth 1 | "$BUSYBOX" cpio -o -H newc 2>/dev/null) \
		>"$out.tmp" || { rm -rf "$t"; return 1; }
	mv "$out.tmp" "$out"
	rm -rf "$t"
}

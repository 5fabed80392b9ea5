# SPDX-License-Identifier: MIT
# lib.sh - find or fetch the Xen hypervisor, a dom0 kernel as a raw vmlinux
# and busybox-static, and build the Xen test host's initramfs (cached).
# Sourced by scripts/xen-testbed/run.
#
# The kernel, busybox and the module and initramfs helpers are those of
# scripts/kvm-vm/lib.sh (a Debian kernel has CONFIG_XEN_DOM0=y and the Xen
# drivers as modules); the kernel's download is shared with kvm-vm's cache.
# The hypervisor is /boot/xen-4.17-amd64.gz when xen-hypervisor-4.17-amd64
# is installed, otherwise that package fetched with `apt-get download` and
# unpacked into the cache: this machine's /boot is never touched.
#
# Sets XEN_TB_XEN (multiboot ELF), XEN_TB_VMLINUX, XEN_TB_INITRD. Cache:
# $UKF_XEN_TESTBED_CACHE, default ${XDG_CACHE_HOME:-$HOME/.cache}/ukfork/xen-testbed.

XEN_TB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
XEN_TB_CACHE=${UKF_XEN_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ukfork/xen-testbed}
XEN_TB_PKG=xen-hypervisor-4.17-amd64
KVM_VM_NAME=xen-testbed
# shellcheck source=../kvm-vm/lib.sh
. "$XEN_TB_DIR/../kvm-vm/lib.sh"

# What dom0 needs: the Xen devices and xenfs for the toolstack, virtio-9p
# for the shares, virtio-net for the link between two hosts (run --link).
XEN_TB_MODULES=(xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs
	virtio_pci 9pnet_virtio 9p virtio_net)

# Sets XEN_TB_XEN to an uncompressed copy of the hypervisor in the cache.
xen_tb_find_xen() {
	local gz=/boot/xen-4.17-amd64.gz d=$XEN_TB_CACHE/$XEN_TB_PKG
	if [ ! -r "$gz" ]; then
		gz=$d/boot/xen-4.17-amd64.gz
		kvm_vm_fetch_deb "$XEN_TB_PKG" "$d" || return 1
	fi
	[ -r "$gz" ] || { kvm_vm_log "no $gz"; return 1; }
	XEN_TB_XEN=$XEN_TB_CACHE/xen-$(stat -c %s-%Y "$gz")
	[ -s "$XEN_TB_XEN" ] && return 0
	zcat "$gz" >"$XEN_TB_XEN.tmp" && mv "$XEN_TB_XEN.tmp" "$XEN_TB_XEN"
}

# xen_tb_extract_vmlinux VMLINUZ OUT - the raw ELF kernel inside a bzImage,
# as the kernel's scripts/extract-vmlinux finds it: try each compressor at
# each offset where its magic occurs until the output is an ELF file. An
# uncompressed kernel boots ~10 s faster under TCG than an XZ one.
xen_tb_extract_vmlinux() {
	local in=$1 out=$2 magic cmd off
	while read -r magic cmd; do
		command -v "${cmd%% *}" >/dev/null || continue
		for off in $(LC_ALL=C grep -obUaP "$magic" "$in" | cut -d: -f1); do
			tail -c "+$((off + 1))" "$in" | $cmd >"$out.tmp" 2>/dev/null
			if [ "$(head -c4 "$out.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
				mv "$out.tmp" "$out"
				return 0
			fi
		done
	done <<'MAGIC'
\xfd\x37\x7a\x58\x5a\x00 xz -dc
\x1f\x8b\x08 gzip -dc
\x28\xb5\x2f\xfd zstd -dcq
\x42\x5a\x68 bzip2 -dc
\x5d\x00\x00\x00 xz -dc --format=lzma
\x02\x21\x4c\x18 lz4 -dc
MAGIC
	rm -f "$out.tmp"
	kvm_vm_log "no ELF kernel found inside $in"
	return 1
}

# Build (or reuse) everything; sets XEN_TB_XEN, XEN_TB_VMLINUX, XEN_TB_INITRD.
xen_tb_prepare() {
	mkdir -p "$XEN_TB_CACHE" "$KVM_VM_CACHE" || return 1
	xen_tb_find_xen || return 1
	kvm_vm_find_kernel || return 1
	kvm_vm_find_busybox || return 1
	grep -qx 'CONFIG_XEN_DOM0=y' "$KROOT/boot/config-$KVER" 2>/dev/null ||
		{ kvm_vm_log "kernel $KVER has no CONFIG_XEN_DOM0=y"; return 1; }
	XEN_TB_VMLINUX=$XEN_TB_CACHE/vmlinux-$KVER
	if [ ! -s "$XEN_TB_VMLINUX" ]; then
		kvm_vm_log "extracting vmlinux from $KROOT/boot/vmlinuz-$KVER"
		xen_tb_extract_vmlinux "$KROOT/boot/vmlinuz-$KVER" "$XEN_TB_VMLINUX" || return 1
	fi
	local stamp
	stamp=$(cat "$XEN_TB_DIR/init" "$XEN_TB_DIR/lib.sh" "$KVM_VM_DIR/lib.sh" |
		cat - <(echo "$KROOT $KVER $(stat -c %s:%Y "$BUSYBOX")") | sha256sum | cut -c1-16)
	XEN_TB_INITRD=$XEN_TB_CACHE/initramfs-$KVER-$stamp.cpio
	[ -s "$XEN_TB_INITRD" ] && return 0
	kvm_vm_log "building the dom0 initramfs for kernel $KVER"
	kvm_vm_make_initramfs "$XEN_TB_INITRD" "$XEN_TB_DIR/init" "" \
		"xen-evtchn.ko xen-privcmd.ko xenfs.ko 9p.ko" "${XEN_TB_MODULES[@]}" || return 1
	find "$XEN_TB_CACHE" -maxdepth 1 -name 'initramfs-*.cpio' ! -path "$XEN_TB_INITRD" -delete
	find "$XEN_TB_CACHE" -maxdepth 1 -name 'vmlinux-*' ! -path "$XEN_TB_VMLINUX" -delete
}

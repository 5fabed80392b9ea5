# SPDX-License-Identifier: MIT
# kvm-info.sh - sourced by the benchmark scripts: what KVM this machine has,
# from `bootbench --kvm-info` (the monitor's own detection), to label every
# figure and to refuse timing comparisons under an emulated KVM.
#   kvm_info "BOOTBENCH COMMAND"   sets KVMDESC, EMU (true|false), KVMOK (true|false)
#   refuse_emulated NAME ALLOW     exit 3 with a message if EMU and ALLOW is 0
kvm_info() {
	_info=$($1 --kvm-info 2>/dev/null || echo '{}')
	KVMDESC=$(echo "$_info" | jq -r '.kvm // "unknown"')
	EMU=$(echo "$_info" | jq -r '.kvm_emulated // false')
	KVMOK=$(echo "$_info" | jq -r '.usable // false')
}
refuse_emulated() {
	if [ "$EMU" = true ] && [ "$2" = 0 ]; then
		echo "$1: KVM here is $KVMDESC: timings under emulation compare with nothing real; refused (--allow-emulated runs it anyway, marked EMULATED, without ratios)" >&2
		exit 3
	fi
}

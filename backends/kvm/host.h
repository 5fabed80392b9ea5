/* SPDX-License-Identifier: MIT */
/* host.h - what this host's KVM is, detected once per process, and the vCPU settings that depend on it. */
#ifndef UKVM_HOST_H
#define UKVM_HOST_H

#include <stdint.h>

enum ukvm_host_kind {
	UKVM_HOST_HARDWARE, /* kvm_intel/kvm_amd on a CPU that is not a VM */
	UKVM_HOST_PVM,      /* kvm_pvm: software nested, CPL3 native */
	UKVM_HOST_NESTED,   /* kvm_intel/kvm_amd inside another hypervisor */
	UKVM_HOST_EMULATED, /* inside scripts/kvm-vm: nested under QEMU TCG */
};

struct ukvm_host {
	enum ukvm_host_kind kind;
	int svm;             /* 1: AMD SVM (or its emulation), 0: VMX or PVM */
	uint8_t tr_type;     /* TSS descriptor type to give TR: 0x9 or 0xb */
	char vendor[13];     /* CPUID vendor string */
	char hv_sig[13];     /* hypervisor signature, "" on bare metal */
	char desc[64];       /* e.g. "hardware (VMX)", "nested kvm_pvm" */
};

/*
 * The host's KVM, detected on first call (thread-safe) from /sys/module,
 * CPUID and the test VM's marker; never fails. The result is shared and
 * read-only.
 */
const struct ukvm_host *ukvm_host(void);

/* A short name for a kind ("hardware", "nested kvm_pvm", ...). */
const char *ukvm_host_kind_name(enum ukvm_host_kind k);

/*
 * The TR type every vCPU gets at boot and at every restore: 0xb (busy) on
 * VMX and kvm_pvm, 0x9 (available) on SVM, whose KVM_GET_SREGS reports
 * busy regardless, so saved states must be corrected when restored.
 */
uint8_t ukvm_host_tr_type(void);

#endif /* UKVM_HOST_H */

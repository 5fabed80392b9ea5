/* SPDX-License-Identifier: MIT */
/* host.c - what this host's KVM is (hardware, kvm_pvm, nested, emulated) and what follows from it. */
#include "host.h"

#include <cpuid.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct ukvm_host host;
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

static int module_loaded(const char *name)
{
	char p[96];

	snprintf(p, sizeof(p), "/sys/module/%s", name);
	return access(p, F_OK) == 0;
}

static void cpuid_str(unsigned leaf, int vendor_order, char out[13])
{
	unsigned a, b, c, d;

	__cpuid(leaf, a, b, c, d);
	(void)a;
	memcpy(out, &b, 4);
	if (vendor_order) { /* leaf 0: EBX EDX ECX */
		memcpy(out + 4, &d, 4);
		memcpy(out + 8, &c, 4);
	} else { /* hypervisor leaves: EBX ECX EDX */
		memcpy(out + 4, &c, 4);
		memcpy(out + 8, &d, 4);
	}
	out[12] = 0;
	for (int i = 0; i < 12; i++)
		if (out[i] && (out[i] < 0x20 || out[i] > 0x7e))
			out[i] = '?';
}

/*
 * The kind, from what is visible without running a VM: the module that
 * provides /dev/kvm, the CPU vendor, the hypervisor bit and signature
 * (a machine that is itself a VM; QEMU's TCG says "TCGTCGTCGTCG"), and
 * the test VM's marker (scripts/kvm-vm sets UKF_IN_KVM_VM). kvm_pvm is
 * checked first: it can sit beside a vendor module.
 */
static void detect(void)
{
	unsigned a, b, c, d;
	const char *vm = getenv("UKF_IN_KVM_VM");
	int hv;

	cpuid_str(0, 1, host.vendor);
	__cpuid(1, a, b, c, d);
	hv = (c >> 31) & 1;
	if (hv)
		cpuid_str(0x40000000, 0, host.hv_sig);
	host.svm = !strcmp(host.vendor, "AuthenticAMD") ||
		   !strcmp(host.vendor, "HygonGenuine");
	if (module_loaded("kvm_pvm")) {
		host.kind = UKVM_HOST_PVM;
		host.svm = 0;
	} else if (module_loaded("kvm_amd")) {
		host.svm = 1;
		host.kind = hv ? UKVM_HOST_NESTED : UKVM_HOST_HARDWARE;
	} else if (module_loaded("kvm_intel")) {
		host.svm = 0;
		host.kind = hv ? UKVM_HOST_NESTED : UKVM_HOST_HARDWARE;
	} else {
		host.kind = hv ? UKVM_HOST_NESTED : UKVM_HOST_HARDWARE;
	}
	if (host.kind == UKVM_HOST_NESTED &&
	    ((vm && !strcmp(vm, "tcg")) || !strcmp(host.hv_sig, "TCGTCGTCGTCG")))
		host.kind = UKVM_HOST_EMULATED;
	/*
	 * The task register's type. VMX requires "busy" (0xb) in the guest
	 * state; kvm_pvm emulates CPL3 port I/O with KVM's own emulator,
	 * which ignores the type, and has always run with 0xb. On SVM
	 * nothing checks it, but QEMU's emulated SVM (nested under TCG)
	 * consults the TSS I/O bitmap only for an "available" TSS (9), so
	 * every CPL3 `out` would #GP with 0xb. Hardware AMD accepts 9 too.
	 */
	host.tr_type = host.svm ? 0x9 : 0xb;
	snprintf(host.desc, sizeof(host.desc), "%s",
		 ukvm_host_kind_name(host.kind));
	if (host.kind == UKVM_HOST_NESTED && host.hv_sig[0])
		snprintf(host.desc, sizeof(host.desc), "nested (%s, under '%s')",
			 host.svm ? "SVM" : "VMX", host.hv_sig);
	else if (host.kind == UKVM_HOST_HARDWARE)
		snprintf(host.desc, sizeof(host.desc), "hardware (%s)",
			 host.svm ? "SVM" : "VMX");
}

const struct ukvm_host *ukvm_host(void)
{
	pthread_once(&host_once, detect);
	return &host;
}

const char *ukvm_host_kind_name(enum ukvm_host_kind k)
{
	switch (k) {
	case UKVM_HOST_HARDWARE:
		return "hardware";
	case UKVM_HOST_PVM:
		return "nested kvm_pvm";
	case UKVM_HOST_NESTED:
		return "nested";
	case UKVM_HOST_EMULATED:
		return "nested under QEMU TCG (emulated)";
	}
	return "unknown";
}

uint8_t ukvm_host_tr_type(void)
{
	return ukvm_host()->tr_type;
}

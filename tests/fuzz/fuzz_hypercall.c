/* SPDX-License-Identifier: MIT */
/* fuzz_hypercall.c - libFuzzer target: hypercall argument decoding in the KVM monitor - the argument struct sizes (ukvm_hc_size) and the one checked guest-address accessor (ukvm_gpa) over every pointer a call carries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/kvm/ukvm_int.h"
#include "core/le.h"
#include "include/ukf_abi.h"
#include "tests/fuzz/fuzz.h"

/* Guest memory: the boot info page and a little more above it. The
 * monitor's accessor must never hand out a byte outside [0, MEM). */
#define MEM (UKF_BOOTINFO_GPA + 0x10000)

/*
 * A range the accessor accepted: every byte is inside guest memory (an
 * exact malloc: ASan reports a byte outside), and inside the part the
 * guest may read or write.
 */
static const uint8_t *checked(const struct ukvm_vm *vm, ukf_gpa_t gpa,
			      uint64_t len, int write)
{
	uint8_t *p = ukvm_gpa(vm, gpa, len, write);

	FUZZ_CHECK(!p == !ukvm_gpa_ok(vm->mem_size, gpa, len, write));
	if (!p)
		return NULL;
	FUZZ_CHECK(gpa >= UKF_BOOTINFO_GPA + (write ? UKF_PAGE_SIZE : 0));
	if (write) /* written as it is: ASan checks the stores */
		for (volatile uint8_t *w = p; w < p + (len ? len : 1); w++)
			*w = *w;
	else
		fuzz_touch(p, len ? len : 1);
	return p;
}

/*
 * Input: u32 call number, u64 argument struct address, then guest memory
 * from the boot info page up (the argument struct and whatever its
 * pointers point at). The struct is read where vm.c's hypercall() reads
 * it, and each buffer it names is checked with the length vm.c uses.
 * (hypercall() itself is static and needs a running VM: its own checks
 * are mirrored here, not called.)
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ukvm_vm *vm;

	if (size < 12)
		return 0;
	if (!vm) {
		vm = calloc(1, sizeof(*vm));
		if (!vm || !(vm->mem = malloc(MEM)))
			abort();
		vm->mem_size = MEM;
	}
	/* memory size: MEM, or smaller (a page boundary at or above the
	 * boot info page) when the high byte of nr asks */
	uint32_t nr = ukf_get32(data);
	ukf_gpa_t gpa = ukf_get64(data + 4);
	size_t n = size - 12;
	vm->mem_size = MEM - ((nr >> 24) % 16) * UKF_PAGE_SIZE;
	nr &= 0xffffff;
	if (n > MEM - UKF_BOOTINFO_GPA)
		n = MEM - UKF_BOOTINFO_GPA;
	memset(vm->mem + UKF_BOOTINFO_GPA, 0, MEM - UKF_BOOTINFO_GPA);
	memcpy(vm->mem + UKF_BOOTINFO_GPA, data + 12, n);

	(void)ukvm_hc_name(nr);
	uint32_t asize = ukvm_hc_size(nr);
	FUZZ_CHECK(asize >= 8 && asize <= 256);
	if (gpa & 7)
		return 0;
	const uint8_t *a = checked(vm, gpa, asize, 1);
	if (!a)
		return 0;
	switch (nr) {
	case UKF_HC_CONSOLE: {
		struct ukf_hc_console c;
		memcpy(&c, a, sizeof(c));
		if (c.len && c.len <= UKF_CONSOLE_MAX)
			(void)checked(vm, c.buf, c.len, 0);
		break;
	}
	case UKF_HC_ABORT: {
		struct ukf_hc_abort x;
		memcpy(&x, a, sizeof(x));
		if (x.len > 1024)
			x.len = 1024;
		if (x.len)
			(void)checked(vm, x.msg, x.len, 0);
		break;
	}
	case UKF_HC_INFO: {
		struct ukf_hc_info x;
		memcpy(&x, a, sizeof(x));
		if (x.args_buf && x.args_cap)
			(void)checked(vm, x.args_buf, x.args_cap, 1);
		break;
	}
	case UKF_HC_SPAWN: {
		struct ukf_hc_spawn x;
		memcpy(&x, a, sizeof(x));
		if (x.app_len == 0 || x.app_len >= UKF_APP_NAME_MAX ||
		    x.args_len >= UKF_ARGS_MAX)
			break;
		(void)checked(vm, x.app, x.app_len, 0);
		if (x.args_len)
			(void)checked(vm, x.args, x.args_len, 0);
		break;
	}
	case UKF_HC_SEND: {
		struct ukf_hc_send x;
		memcpy(&x, a, sizeof(x));
		if (x.len && x.len <= UKF_MSG_MAX)
			(void)checked(vm, x.buf, x.len, 0);
		break;
	}
	case UKF_HC_RECV: {
		struct ukf_hc_recv x;
		memcpy(&x, a, sizeof(x));
		uint64_t cap = x.cap > UKF_MSG_MAX ? UKF_MSG_MAX : x.cap;
		if (cap)
			(void)checked(vm, x.buf, cap, 1);
		break;
	}
	default:
		break;
	}
	return 0;
}

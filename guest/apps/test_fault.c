/* SPDX-License-Identifier: MIT */
/* test_fault.c - monitor test guest: dies with the named exception. */
#include "guest/rt/ukfrt.h"

/*
 * test-fault null|ud2|div0|gp|pf|bp
 *   null  write to address 0 (#PF 14, page 0 is unmapped)
 *   ud2   invalid opcode (#UD 6)
 *   div0  integer divide by zero (#DE 0)
 *   gp    privileged instruction hlt at CPL3 (#GP 13)
 *   pf    write far outside guest memory (#PF 14)
 *   bp    int3 (#BP 3)
 * Prints "test-fault: NAME" first; reaching the end is a failure (exit 1).
 */
int main(int argc, char **argv)
{
	if (argc != 2)
		ukf_abort("test-fault: usage: test-fault "
			  "null|ud2|div0|gp|pf|bp");
	const char *what = argv[1];
	printf("test-fault: %s\n", what);
	if (!strcmp(what, "null")) {
		*(volatile uint64_t *)(uintptr_t)0 = 1;
	} else if (!strcmp(what, "ud2")) {
		__asm__ volatile("ud2");
	} else if (!strcmp(what, "div0")) {
		uint32_t q;
		__asm__ volatile("xor %%edx, %%edx\n\t"
				 "xor %%ecx, %%ecx\n\t"
				 "mov $1, %%eax\n\t"
				 "div %%ecx"
				 : "=a"(q)
				 :
				 : "ecx", "edx");
		printf("test-fault: quotient %u\n", q);
	} else if (!strcmp(what, "gp")) {
		__asm__ volatile("hlt");
	} else if (!strcmp(what, "pf")) {
		*(volatile uint64_t *)(uintptr_t)(1ULL << 45) = 1;
	} else if (!strcmp(what, "bp")) {
		__asm__ volatile("int3");
	} else {
		ukf_abort("test-fault: unknown fault '%s' (null ud2 div0 gp pf "
			  "bp)",
			  what);
	}
	puts("test-fault: still alive (no fault)");
	return 1;
}

/* SPDX-License-Identifier: MIT */
/* test_loop.c - test guest for the monitor: prints once, then spins forever. */
#include "guest/rt/ukfrt.h"

int main(int argc, char **argv)
{
	puts("test-loop: looping");
	for (volatile uint64_t i = 0;; i++)
		;
}

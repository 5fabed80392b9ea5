/* SPDX-License-Identifier: MIT */
/* main.c - standalone `ukf-bootbench` driver (tests; same as `ukfork bootbench`). */
#include "bootbench.h"

int main(int argc, char **argv)
{
	return ukf_bootbench_main(argc, argv);
}

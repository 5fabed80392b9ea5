/* SPDX-License-Identifier: MIT */
/* exec_main.c - standalone `ukf-exec` driver (tests; same as `ukfork exec`). */
#include "exec.h"

int main(int argc, char **argv)
{
	return ukf_exec_main(argc, argv);
}

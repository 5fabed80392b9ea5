/* SPDX-License-Identifier: MIT */
/* hello.c - smallest guest: ready, print the UKF-READY marker, exit 0. */
#include "guest/rt/ukfrt.h"

int main(int argc, char **argv)
{
	ukf_ready();
	puts("UKF-READY");
	return 0;
}

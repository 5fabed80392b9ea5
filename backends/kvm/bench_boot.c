/* SPDX-License-Identifier: MIT */
/* bench_boot.c - ukvm-bench: cold-boot latency and monitor memory per VM. */
int main(void) { return 0; }

/* SPDX-License-Identifier: MIT */
/* bb_nokvm.c - bootbench without the KVM backend: --guest is unavailable. */
#include "bb_int.h"

int bb_run_kvm(const struct bb_opts *o, struct bb_inst *insts,
	       struct bb_result *res, char *err, size_t errlen)
{
	(void)o;
	(void)insts;
	(void)res;
	snprintf(err, errlen, "--guest: this build has no KVM backend (ukf_kvm)");
	return -1;
}

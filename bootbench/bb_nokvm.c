/* SPDX-License-Identifier: MIT */
/* bb_nokvm.c - bootbench without the KVM backend: --guest is unavailable. */
#include "bb_int.h"

#include <stdlib.h>
#include <string.h>

void bb_platform(struct bb_platform *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->kvm, sizeof(p->kvm), "none: this build has no KVM backend");
	p->emulated = getenv("UKF_IN_KVM_VM") != NULL;
}

int bb_run_kvm(const struct bb_opts *o, struct bb_inst *insts,
	       struct bb_result *res, char *err, size_t errlen)
{
	(void)o;
	(void)insts;
	(void)res;
	snprintf(err, errlen, "--guest: this build has no KVM backend (ukf_kvm)");
	return -1;
}

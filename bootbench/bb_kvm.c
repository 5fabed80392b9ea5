/* SPDX-License-Identifier: MIT */
/* bb_kvm.c - bootbench runner for ukfork's KVM backend, in-process (ukvm), with its VM-shell pool; the boot loop is bb_be.c's. */
#include "bb_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../backends/kvm/host.h"
#include "../backends/kvm/ukvm.h"
#include "../live/evq.h"

void bb_platform(struct bb_platform *p)
{
	const struct ukvm_host *h = ukvm_host();
	char why[128];

	memset(p, 0, sizeof(*p));
	p->usable = ukvm_available(why, sizeof(why));
	if (p->usable)
		snprintf(p->kvm, sizeof(p->kvm), "%s", h->desc);
	else
		snprintf(p->kvm, sizeof(p->kvm), "none: %s", why);
	p->emulated = h->kind == UKVM_HOST_EMULATED;
}

int bb_run_kvm(const struct bb_opts *o, struct bb_inst *insts,
	       struct bb_result *res, char *err, size_t errlen)
{
	struct bb_be k = { 0 };
	struct ukvm_config cfg;
	struct ukf_app app;
	ukvm_t *m = NULL;
	int rc = -1;

	res->mode = o->from_template ? "template" : "cold";
	res->backend = "kvm";
	if (!ukvm_available(err, errlen) || bb_be_app(o, &app, err, errlen) < 0)
		return -1;
	k.q = ukf_evq_create();
	if (!k.q) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -1;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.event = bb_be_event;
	cfg.u = &k;
	cfg.node = 0;
	cfg.pause_on_ready = o->from_template; /* a template needs the pause */
	cfg.shell_pool = o->pool;
	m = ukvm_create(&cfg, err, errlen);
	if (!m)
		goto out;
	k.ops = &ukvm_backend_ops;
	k.b = m;
	if (o->from_template && bb_be_template(o, &k, &app, err, errlen) < 0)
		goto out;
	if (o->pool && !o->from_template) {
		/* untimed, as LightVM: the shells exist before the first
		 * launch (a background thread refills the pool meanwhile) */
		int have = ukvm_boot_pool_fill(m, o->mem_bytes, 60000);

		if (have < (int)o->pool) {
			snprintf(err, errlen,
				 "--pool %u: only %d VM shells could be made",
				 o->pool, have < 0 ? 0 : have);
			goto out;
		}
	}
	rc = bb_be_loop(o, insts, res, &k, &app);
	snprintf(res->measures, sizeof(res->measures),
		 "in-process: the monitor process's CPU time and peak-RSS "
		 "growth over the run, divided by the instance count");
out:
	ukvm_destroy(&m);
	ukf_evq_destroy(&k.q);
	return rc;
}

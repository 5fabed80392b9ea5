/* SPDX-License-Identifier: MIT */
/* measure_nokvm.c - the measurement plan where ukfork is built without the KVM
 * backend: it says so. */
#include "calib_int.h"

int ukf_calib_measure_kvm(const struct ukf_calib_plan *p, const char *db,
			  const char *tmpdir, ukf_calib_scenario_fn run,
			  ukf_calib_set_t *s, char *err, size_t errlen)
{
	(void)p;
	(void)db;
	(void)tmpdir;
	(void)run;
	(void)s;
	snprintf(err, errlen,
		 "this ukfork is built without the KVM backend "
		 "(UKF_BUILD_KVM=OFF): only --from-db works");
	return -1;
}

int ukf_calib_measure_cluster(const struct ukf_calib_plan *p,
			      const char *cluster, uint32_t nodes,
			      const char *link,
			      const char *db, const char *tmpdir,
			      ukf_calib_scenario_fn run, ukf_calib_set_t *s,
			      char *err, size_t errlen)
{
	(void)p;
	(void)cluster;
	(void)nodes;
	(void)link;
	(void)db;
	(void)tmpdir;
	(void)run;
	(void)s;
	snprintf(err, errlen,
		 "this ukfork is built without the live world and node agents "
		 "(UKF_BUILD_KVM=OFF): only --from-db works");
	return -1;
}

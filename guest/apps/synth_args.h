/* SPDX-License-Identifier: MIT */
/* synth_args.h - the synth app's key=value arguments (pure, host-testable). */
#ifndef UKF_SYNTH_ARGS_H
#define UKF_SYNTH_ARGS_H

#include <stddef.h>
#include <stdint.h>

/*
 * The same keys, units and defaults as core/app.c (ukf_app_parse), so one
 * argument string describes the app in the simulator and on KVM:
 *   mem=64M init=50ms work=10ms dirty=256 fork=0 units=1 [vcpus=1 image=2M]
 * Sizes take B/K/k/KiB/M/MiB/G/GiB (bare = bytes), times ns/us/ms/s (bare =
 * ms); both accept a decimal fraction ("1.5ms"). vcpus and image are
 * accepted and ignored by the guest.
 */
struct synth_cfg {
	uint64_t mem;	  /* bytes to allocate and touch during init */
	uint64_t init_ns; /* busy time spent initialising */
	uint64_t work_ns; /* busy time per unit */
	uint32_t dirty;	  /* pages dirtied per unit */
	uint32_t fork;	  /* children forked per unit */
	uint32_t units;	  /* units of work */
};

/* Fill in the defaults. */
void synth_defaults(struct synth_cfg *c);
/*
 * Apply the words argv[0..argc) (each "key=value") on top of *c. Returns 0,
 * or -1 with a message naming the bad word in err (c may be partly updated).
 */
int synth_parse(struct synth_cfg *c, int argc, char *const *argv, char *err,
		size_t errlen);
/* Parse one size / time value (the rules above): 0, or -1. */
int synth_parse_size(const char *s, uint64_t *out);
int synth_parse_time(const char *s, uint64_t *out);

#endif /* UKF_SYNTH_ARGS_H */

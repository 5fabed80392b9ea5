/* SPDX-License-Identifier: MIT */
/* oomhook.h - the allocation-failure hook of tests/sim (oomhook.c). */
#ifndef UKF_TESTS_OOMHOOK_H
#define UKF_TESTS_OOMHOOK_H

/* Sanitizer builds have their own allocator: no hook (tests skip). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define NO_INTERPOSE 1
#endif
#endif


/*
 * With the hook linked: the allocation numbered oom_fail_at (counted in
 * oom_allocs from when it is set >= 0) returns NULL; oom_live counts the
 * blocks allocated and not yet freed, so a run that leaks shows.
 */
extern long long oom_allocs, oom_fail_at, oom_live;

#endif

/* SPDX-License-Identifier: MIT */
/* evq.h - a thread-safe queue of backend events, woken through an eventfd. */
#ifndef UKF_EVQ_H
#define UKF_EVQ_H

#include "../core/backend.h"

/*
 * Backend events arrive on vCPU threads; the code that owns the engine (or
 * a benchmark) handles them on one thread. ukf_evq_push() deep-copies an
 * event (its text and data too) under a mutex and signals an internal
 * eventfd that ukf_evq_wait() polls; ukf_evq_pop() hands them back in
 * order on the consumer thread.
 */
typedef struct ukf_evq ukf_evq_t;

/* One queued event: `ev.text`/`ev.data` point into this allocation. */
struct ukf_evq_item {
	struct ukf_evq_item *next;
	ukf_node_id_t node;
	struct ukf_be_event ev;
};

/* NULL on failure (errno set). */
ukf_evq_t *ukf_evq_create(void);
/* Free the queue and anything still in it; NULL *q. */
void ukf_evq_destroy(ukf_evq_t **q);

/*
 * Copy `ev` into the queue (any thread). If ev->at is 0 it is set to
 * `stamp`. Returns 0, or -ENOMEM (the event is lost; callers count it).
 */
int ukf_evq_push(ukf_evq_t *q, ukf_node_id_t node,
		 const struct ukf_be_event *ev, int64_t stamp);

/*
 * Take the oldest event (consumer thread), or NULL if empty. The caller
 * frees it with free().
 */
struct ukf_evq_item *ukf_evq_pop(ukf_evq_t *q);

/*
 * Wait until an event is queued or `timeout_ns` passes (< 0 = forever);
 * consumes the eventfd's count. Returns 1 if events may be queued, 0 on
 * timeout, -1 on error (EINTR included).
 */
int ukf_evq_wait(ukf_evq_t *q, int64_t timeout_ns);

/*
 * The eventfd that becomes readable when an event is queued, for a loop
 * that polls other fds too (a node agent's network): once it is readable,
 * call ukf_evq_wait(q, 0) to consume its count, then pop.
 */
int ukf_evq_fd(const ukf_evq_t *q);

/* 1 if an event is queued (any thread). */
int ukf_evq_pending(ukf_evq_t *q);

/* Events lost because a copy could not be allocated. */
uint64_t ukf_evq_lost(ukf_evq_t *q);

#endif /* UKF_EVQ_H */

/* SPDX-License-Identifier: MIT */
/* evq.c - thread-safe backend event queue (mutex + eventfd). */
#define _GNU_SOURCE
#include "evq.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct ukf_evq {
	pthread_mutex_t lock;
	struct ukf_evq_item *head, *tail;
	int efd;
	uint64_t lost;
};

ukf_evq_t *ukf_evq_create(void)
{
	ukf_evq_t *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->efd < 0) {
		int e = errno;

		free(q);
		errno = e;
		return NULL;
	}
	pthread_mutex_init(&q->lock, NULL);
	return q;
}

void ukf_evq_destroy(ukf_evq_t **qp)
{
	ukf_evq_t *q = qp ? *qp : NULL;
	struct ukf_evq_item *it;

	if (!q)
		return;
	while ((it = q->head)) {
		q->head = it->next;
		free(it);
	}
	close(q->efd);
	pthread_mutex_destroy(&q->lock);
	free(q);
	*qp = NULL;
}

int ukf_evq_push(ukf_evq_t *q, ukf_node_id_t node,
		 const struct ukf_be_event *ev, int64_t stamp)
{
	size_t tlen = ev->text ? strlen(ev->text) + 1 : 0;
	size_t dlen = ev->data ? ev->len : 0;
	struct ukf_evq_item *it;
	char *p;
	uint64_t one = 1;

	/* +1: data is kept NUL-terminated so consumers may print it. */
	it = malloc(sizeof(*it) + tlen + dlen + 1);
	if (!it) {
		pthread_mutex_lock(&q->lock);
		q->lost++;
		pthread_mutex_unlock(&q->lock);
		return -ENOMEM;
	}
	it->next = NULL;
	it->node = node;
	it->ev = *ev;
	p = (char *)(it + 1);
	if (tlen) {
		memcpy(p, ev->text, tlen);
		it->ev.text = p;
		p += tlen;
	}
	if (ev->data) {
		memcpy(p, ev->data, dlen);
		p[dlen] = '\0';
		it->ev.data = p;
	}
	if (!it->ev.at)
		it->ev.at = stamp;

	pthread_mutex_lock(&q->lock);
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	pthread_mutex_unlock(&q->lock);
	/* Only fails if the counter would overflow: it is then readable. */
	if (write(q->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return 0;
	return 0;
}

int ukf_evq_fd(const ukf_evq_t *q)
{
	return q->efd;
}

struct ukf_evq_item *ukf_evq_pop(ukf_evq_t *q)
{
	struct ukf_evq_item *it;

	pthread_mutex_lock(&q->lock);
	it = q->head;
	if (it) {
		q->head = it->next;
		if (!q->head)
			q->tail = NULL;
		it->next = NULL;
	}
	pthread_mutex_unlock(&q->lock);
	return it;
}

int ukf_evq_wait(ukf_evq_t *q, int64_t timeout_ns)
{
	struct pollfd p = { .fd = q->efd, .events = POLLIN };
	struct timespec ts;
	uint64_t cnt;
	int r;

	pthread_mutex_lock(&q->lock);
	r = q->head != NULL;
	pthread_mutex_unlock(&q->lock);
	if (r)
		return 1;
	ts.tv_sec = timeout_ns / 1000000000;
	ts.tv_nsec = timeout_ns % 1000000000;
	r = ppoll(&p, 1, timeout_ns < 0 ? NULL : &ts, NULL);
	if (r < 0)
		return -1;
	if (r == 0)
		return 0;
	if (read(q->efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return -1;
	return 1;
}

int ukf_evq_pending(ukf_evq_t *q)
{
	int r;

	pthread_mutex_lock(&q->lock);
	r = q->head != NULL;
	pthread_mutex_unlock(&q->lock);
	return r;
}

uint64_t ukf_evq_lost(ukf_evq_t *q)
{
	uint64_t n;

	pthread_mutex_lock(&q->lock);
	n = q->lost;
	pthread_mutex_unlock(&q->lock);
	return n;
}

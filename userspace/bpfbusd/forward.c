// SPDX-License-Identifier: BSD-2-Clause
/*
 * Deliveries to http targets off the loop (docs/daemon.md, "Intake and
 * delivery"): a POST is a job for one of a few worker threads, so a slow or
 * unreachable endpoint holds a worker, never the loop, the store lock or the
 * other events of its round. At most QUEUE_MAX jobs wait for a worker; the
 * caller asks for room first and, without it, fails the delivery into the
 * retry path. Finished jobs come back through an eventfd and are settled by
 * intake.c on the loop's thread.
 *
 * Durability is intake.c's: each job holds a lease in the retry store,
 * written in the round that made the job, so a crash before the job settles
 * leaves a retry behind. This file keeps every job until it is settled (the
 * held list), so that the retry round knows a lease of a job still in
 * progress from one a dead daemon left.
 */
#define _GNU_SOURCE
#include "bpfbusd.h"
#include "http_post.h"
#include "strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define WORKERS 2
#define QUEUE_MAX 1024 /* jobs waiting for a worker */

struct bbd_forward {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu: */
	struct bbd_http_job *queued, **queued_tail; /* waiting for a worker, oldest first */
	size_t n_queued;
	struct bbd_http_job *done; /* finished, for the loop to settle */
	bool stop;
	/* under the store lock: every job not yet settled, by held_next */
	struct bbd_http_job *held;
	int efd;
	pthread_t th[WORKERS];
	int nth;
};

void bbd_forward_job_free(struct bbd_http_job *j)
{
	free(j->url);
	free(j->body);
	free(j->key);
	free(j->event);
	free(j->group_id);
	free(j->dedup_id);
	free(j);
}

static void *worker(void *arg)
{
	struct bbd_forward *f = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		struct bbd_http_job *j;

		while (!f->queued && !f->stop)
			pthread_cond_wait(&f->cv, &f->mu);
		if (f->stop)
			break;
		j = f->queued;
		f->queued = j->next;
		if (!f->queued)
			f->queued_tail = &f->queued;
		f->n_queued--;
		pthread_mutex_unlock(&f->mu);
		j->status = http_post(
			&(struct http_post_req){ .url = j->url,
						 .content_type = "application/json; charset=utf-8",
						 .body = j->body,
						 .len = j->len,
						 .timeout_ms = BBD_HTTP_TARGET_TIMEOUT_MS },
			j->err, sizeof(j->err));
		pthread_mutex_lock(&f->mu);
		j->next = f->done;
		f->done = j;
		if (write(f->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn("http targets: cannot wake the loop: %s", strerror(errno));
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

int bbd_forward_start(struct bbd *d)
{
	struct bbd_forward *f = xcalloc(1, sizeof(*f));

	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	f->queued_tail = &f->queued;
	f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	d->forward = f;
	if (f->efd < 0 || bbd_epoll_add(d, f->efd, EPOLLIN, BBD_EP_FORWARD)) {
		log_err("http targets: cannot set up the workers' eventfd: %s", strerror(errno));
		return -1;
	}
	for (; f->nth < WORKERS; f->nth++)
		if (pthread_create(&f->th[f->nth], NULL, worker, f)) {
			log_err("http targets: cannot start the workers");
			return -1;
		}
	return 0;
}

bool bbd_forward_room(const struct bbd *d)
{
	struct bbd_forward *f = d->forward;
	bool room;

	if (!f)
		return false;
	pthread_mutex_lock(&f->mu);
	room = !f->stop && f->n_queued < QUEUE_MAX;
	pthread_mutex_unlock(&f->mu);
	return room;
}

void bbd_forward_post(struct bbd *d, struct bbd_http_job *j)
{
	struct bbd_forward *f = d->forward;

	j->held_next = f->held;
	f->held = j;
	pthread_mutex_lock(&f->mu);
	j->next = NULL;
	*f->queued_tail = j;
	f->queued_tail = &j->next;
	f->n_queued++;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

struct bbd_http_job *bbd_forward_held(const struct bbd *d, uint64_t lease_seq)
{
	for (struct bbd_http_job *j = d->forward ? d->forward->held : NULL; j; j = j->held_next)
		if (j->lease.seq == lease_seq)
			return j;
	return NULL;
}

static void unhold(struct bbd_forward *f, const struct bbd_http_job *j)
{
	for (struct bbd_http_job **p = &f->held; *p; p = &(*p)->held_next)
		if (*p == j) {
			*p = j->held_next;
			return;
		}
}

struct bbd_http_job *bbd_forward_take_done(struct bbd *d)
{
	struct bbd_forward *f = d->forward;
	struct bbd_http_job *done;
	uint64_t n;

	if (!f)
		return NULL;
	if (read(f->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("http targets: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&f->mu);
	done = f->done;
	f->done = NULL;
	pthread_mutex_unlock(&f->mu);
	for (struct bbd_http_job *j = done; j; j = j->next)
		unhold(f, j);
	return done;
}

void bbd_forward_stop(struct bbd *d)
{
	struct bbd_forward *f = d->forward;
	size_t left = 0;

	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	for (int i = 0; i < f->nth; i++)
		pthread_join(f->th[i], NULL);
	f->nth = 0;
	/* not started: their leases stay in the retry store, tried after the restart */
	while (f->queued) {
		struct bbd_http_job *j = f->queued;

		f->queued = j->next;
		unhold(f, j);
		bbd_forward_job_free(j);
		left++;
	}
	f->queued_tail = &f->queued;
	f->n_queued = 0;
	if (left)
		log_info("http targets: %zu deliveries left for a retry after the restart", left);
}

void bbd_forward_free(struct bbd *d)
{
	struct bbd_forward *f = d->forward;

	if (!f)
		return;
	bbd_forward_stop(d);
	for (struct bbd_http_job *j = bbd_forward_take_done(d), *next; j; j = next) {
		next = j->next;
		bbd_forward_job_free(j);
	}
	if (f->efd >= 0)
		close(f->efd);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
	d->forward = NULL;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * Deliveries to http targets off the loop (docs/daemon.md, "Intake and
 * delivery"): a POST is a job for one of a few worker threads, so a slow or
 * unreachable endpoint holds a worker, never the loop, the store lock or the
 * other events of its round. At most --http-queue jobs wait for a worker; the
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
#include "strbuf.h"

#include <stdlib.h>

#define WORKERS 2

struct bbd_forward {
	struct post_pool *pool;
	/* under the store lock: every job not yet settled, by held_next */
	struct bbd_http_job *held;
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

int bbd_forward_start(struct bbd *d)
{
	struct bbd_forward *f = xcalloc(1, sizeof(*f));

	d->forward = f;
	f->pool = post_pool_start(d, "http targets", WORKERS, d->http_queue_max, BBD_EP_FORWARD);
	return f->pool ? 0 : -1;
}

bool bbd_forward_room(const struct bbd *d)
{
	return d->forward && d->forward->pool && post_pool_room(d->forward->pool);
}

size_t bbd_forward_waiting(const struct bbd *d)
{
	return d->forward && d->forward->pool ? post_pool_waiting(d->forward->pool) : 0;
}

void bbd_forward_post(struct bbd *d, struct bbd_http_job *j)
{
	struct bbd_forward *f = d->forward;

	j->held_next = f->held;
	f->held = j;
	j->post.req = (struct http_post_req){ .url = j->url,
					      .content_type = "application/json; charset=utf-8",
					      .body = j->body,
					      .len = j->len,
					      .timeout_ms = BBD_HTTP_TARGET_TIMEOUT_MS };
	post_pool_submit(f->pool, &j->post);
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

/* The pool's jobs as http jobs linked by next, each no longer held. */
static struct bbd_http_job *unhold_all(struct bbd_forward *f, struct post_job *pj)
{
	struct bbd_http_job *list = NULL;

	for (struct post_job *next; pj; pj = next) {
		struct bbd_http_job *j = post_job_owner(pj, struct bbd_http_job, post);

		next = pj->next;
		unhold(f, j);
		j->next = list;
		list = j;
	}
	return list;
}

struct bbd_http_job *bbd_forward_take_done(struct bbd *d)
{
	struct bbd_forward *f = d->forward;

	if (!f || !f->pool)
		return NULL;
	return unhold_all(f, post_pool_take_done(f->pool));
}

void bbd_forward_stop(struct bbd *d)
{
	struct bbd_forward *f = d->forward;
	size_t left = 0;

	if (!f || !f->pool)
		return;
	/* not started: their leases stay in the retry store, tried after the restart */
	for (struct bbd_http_job *j = unhold_all(f, post_pool_stop(f->pool)), *next; j; j = next) {
		next = j->next;
		bbd_forward_job_free(j);
		left++;
	}
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
	post_pool_free(f->pool);
	free(f);
	d->forward = NULL;
}

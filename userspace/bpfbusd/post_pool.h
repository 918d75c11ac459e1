/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A pool of worker threads making blocking POSTs (http_post) off the
 * daemon's loop, shared by http targets (forward.c) and the topic outbox
 * (outbox.c). Jobs wait in a FIFO queue for a worker; a finished job goes
 * on a done list and the pool's eventfd (registered with the loop under
 * the tag its owner chose) wakes the loop, whose thread takes the done
 * list and settles the jobs. The pool never frees a job: its owner embeds
 * a struct post_job in its own job and owns both.
 */
#ifndef BPFBUSD_POST_POOL_H
#define BPFBUSD_POST_POOL_H

#include "http_post.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bbd;

/* One POST: the request (its strings belong to the owner's job), then the answer. */
struct post_job {
	struct http_post_req req;
	int status; /* the HTTP status, or -1 with err saying why no answer came */
	char err[300];
	struct post_job *next; /* the pool's queue or done list */
};

/* The owner's job around @pj, a pointer to its member @member. */
#define post_job_owner(pj, type, member) ((type *)((char *)(pj)-offsetof(type, member)))

struct post_pool;

/*
 * @workers threads; at most @queue_max jobs wait for one (0: no bound).
 * @what names the pool in log lines. NULL on failure, logged.
 */
struct post_pool *post_pool_start(struct bbd *d, const char *what, int workers, size_t queue_max,
				  uint64_t ep_tag);
/* Whether a job submitted now finds room in the queue (false once stopped). */
bool post_pool_room(struct post_pool *p);
/* Jobs waiting for a worker now. */
size_t post_pool_waiting(struct post_pool *p);
void post_pool_submit(struct post_pool *p, struct post_job *j);
/* The finished jobs (linked by next, most recent first), for the loop to settle. */
struct post_job *post_pool_take_done(struct post_pool *p);
/* Stop the workers once their POSTs are answered; returns the jobs never started. */
struct post_job *post_pool_stop(struct post_pool *p);
/* After post_pool_stop and a last post_pool_take_done. */
void post_pool_free(struct post_pool *p);

#endif

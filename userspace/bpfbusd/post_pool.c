// SPDX-License-Identifier: BSD-2-Clause
/*
 * POST worker threads for the loop (post_pool.h). One mutex guards the
 * queue, the done list and the stop flag; a worker holds it only to take a
 * job or hand one back, never during the POST.
 */
#define _GNU_SOURCE
#include "post_pool.h"
#include "bpfbusd.h"
#include "strbuf.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define POOL_MAX_WORKERS 8

struct post_pool {
	const char *what;
	size_t queue_max;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu: */
	struct post_job *queued, **queued_tail; /* waiting for a worker, oldest first */
	size_t n_queued;
	struct post_job *done; /* finished, for the loop to settle */
	bool stop;
	int efd;
	pthread_t th[POOL_MAX_WORKERS];
	int nth;
};

static void *worker(void *arg)
{
	struct post_pool *p = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct post_job *j;

		while (!p->queued && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			break;
		j = p->queued;
		p->queued = j->next;
		if (!p->queued)
			p->queued_tail = &p->queued;
		p->n_queued--;
		pthread_mutex_unlock(&p->mu);
		j->status = http_post(&j->req, j->err, sizeof(j->err));
		pthread_mutex_lock(&p->mu);
		j->next = p->done;
		p->done = j;
		if (write(p->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn("%s: cannot wake the loop: %s", p->what, strerror(errno));
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct post_pool *post_pool_start(struct bbd *d, const char *what, int workers, size_t queue_max,
				  uint64_t ep_tag)
{
	struct post_pool *p = xcalloc(1, sizeof(*p));

	p->what = what;
	p->queue_max = queue_max;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->queued_tail = &p->queued;
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0 || bbd_epoll_add(d, p->efd, EPOLLIN, ep_tag)) {
		log_err("%s: cannot set up the workers' eventfd: %s", what, strerror(errno));
		post_pool_free(p);
		return NULL;
	}
	if (workers > POOL_MAX_WORKERS)
		workers = POOL_MAX_WORKERS;
	for (; p->nth < workers; p->nth++)
		if (pthread_create(&p->th[p->nth], NULL, worker, p)) {
			log_err("%s: cannot start the workers", what);
			post_pool_stop(p);
			post_pool_free(p);
			return NULL;
		}
	return p;
}

bool post_pool_room(struct post_pool *p)
{
	bool room;

	pthread_mutex_lock(&p->mu);
	room = !p->stop && (!p->queue_max || p->n_queued < p->queue_max);
	pthread_mutex_unlock(&p->mu);
	return room;
}

size_t post_pool_waiting(struct post_pool *p)
{
	size_t n;

	pthread_mutex_lock(&p->mu);
	n = p->n_queued;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void post_pool_submit(struct post_pool *p, struct post_job *j)
{
	pthread_mutex_lock(&p->mu);
	j->next = NULL;
	*p->queued_tail = j;
	p->queued_tail = &j->next;
	p->n_queued++;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

struct post_job *post_pool_take_done(struct post_pool *p)
{
	struct post_job *done;
	uint64_t n;

	if (read(p->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("%s: eventfd: %s", p->what, strerror(errno));
	pthread_mutex_lock(&p->mu);
	done = p->done;
	p->done = NULL;
	pthread_mutex_unlock(&p->mu);
	return done;
}

struct post_job *post_pool_stop(struct post_pool *p)
{
	struct post_job *left;

	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	p->nth = 0;
	left = p->queued;
	p->queued = NULL;
	p->queued_tail = &p->queued;
	p->n_queued = 0;
	return left;
}

void post_pool_free(struct post_pool *p)
{
	if (!p)
		return;
	if (p->efd >= 0)
		close(p->efd);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

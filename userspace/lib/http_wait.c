// SPDX-License-Identifier: BSD-2-Clause
/*
 * Long-poll waiters (http_int.h): suspended ReceiveMessage requests, woken
 * by a send to their queue or, by a timer thread, when a delay or visibility
 * timeout ends or their wait is over. Waking is only a resume: the request
 * runs again on the listener's thread, which alone touches the store.
 */
#include "http_int.h"
#include "strbuf.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct waiter {
	void *conn;
	char queue[96];
	int64_t until_ms;
	struct waiter *next;
};

struct http_waiters {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct waiter *list;
	bool stop;
	pthread_t timer;
	http_wake_fn wake;
};

int64_t http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Unlink the waiters @pick selects (NULL queue: those due by @now) and wake them unlocked. */
static void wake_matching(struct http_waiters *w, const char *queue, int64_t now, bool all)
{
	struct waiter *due = NULL, **pp;

	pthread_mutex_lock(&w->mu);
	for (pp = &w->list; *pp;) {
		struct waiter *it = *pp;
		bool hit = all || (queue ? !strcmp(it->queue, queue) : it->until_ms <= now);

		if (hit) {
			*pp = it->next;
			it->next = due;
			due = it;
		} else {
			pp = &it->next;
		}
	}
	pthread_mutex_unlock(&w->mu);
	while (due) {
		struct waiter *next = due->next;

		w->wake(due->conn);
		free(due);
		due = next;
	}
}

static void *timer_main(void *arg)
{
	struct http_waiters *w = arg;

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		int64_t next = 0;

		for (struct waiter *it = w->list; it; it = it->next)
			if (!next || it->until_ms < next)
				next = it->until_ms;
		if (!next) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		if (next > http_now_ms()) {
			struct timespec ts = { .tv_sec = next / 1000,
					       .tv_nsec = (long)(next % 1000) * 1000000 };

			pthread_cond_timedwait(&w->cv, &w->mu, &ts);
			continue;
		}
		pthread_mutex_unlock(&w->mu);
		wake_matching(w, NULL, http_now_ms(), false);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct http_waiters *http_waiters_new(http_wake_fn wake)
{
	struct http_waiters *w = xcalloc(1, sizeof(*w));

	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->wake = wake;
	if (pthread_create(&w->timer, NULL, timer_main, w)) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		free(w);
		return NULL;
	}
	return w;
}

void http_waiters_add(struct http_waiters *w, void *conn, const char *queue, int64_t until_ms)
{
	struct waiter *it = xcalloc(1, sizeof(*it));

	it->conn = conn;
	snprintf(it->queue, sizeof(it->queue), "%s", queue);
	it->until_ms = until_ms;
	pthread_mutex_lock(&w->mu);
	it->next = w->list;
	w->list = it;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void http_waiters_wake_queue(struct http_waiters *w, const char *queue)
{
	wake_matching(w, queue, 0, false);
}

void http_waiters_wake_all(struct http_waiters *w)
{
	wake_matching(w, NULL, 0, true);
}

void http_waiters_free(struct http_waiters *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->timer, NULL);
	http_waiters_wake_all(w);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * What each queue did since its store was opened (queue.h, "Activity"):
 * counters and the age of messages at their first receive, kept in memory
 * for GET /metrics. Whoever uses the store serialises access to it, so these
 * need no lock of their own.
 */
#include "prom.h"
#include "queue.h"
#include "queue_int.h"

#include <stdio.h>

static struct prom_entry *activity_of(struct queue_store *st, const char *queue)
{
	char key[QUEUE_NAME_MAX + 16];

	/* queue names are letters, digits, '-' and '_': nothing to escape */
	snprintf(key, sizeof(key), "queue=\"%s\"", queue);
	return prom_table_get(&st->activity, key);
}

void qstats_count(struct queue_store *st, const char *queue, enum queue_activity_counter c,
		  uint64_t n)
{
	if (n)
		activity_of(st, queue)->counter[c] += n;
}

void qstats_received(struct queue_store *st, const char *queue, const struct queue_received *out)
{
	struct prom_entry *e;

	if (!out->n)
		return;
	e = activity_of(st, queue);
	e->counter[QA_RECEIVED] += out->n;
	for (size_t i = 0; i < out->n; i++) {
		const struct queue_message *m = &out->msgs[i];

		if (m->receive_count == 1)
			prom_observe(&e->h, 1000 * (m->first_receive_timestamp - m->sent_timestamp),
				     1);
	}
}

const struct prom_entry *queue_store_activity(const struct queue_store *st, const char *queue)
{
	char key[QUEUE_NAME_MAX + 16];

	snprintf(key, sizeof(key), "queue=\"%s\"", queue);
	return prom_table_find(&st->activity, key);
}

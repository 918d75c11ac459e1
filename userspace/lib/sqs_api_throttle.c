// SPDX-License-Identifier: BSD-2-Clause
/*
 * FIFO queues' throughput quota (docs/queues.md, "FifoThroughputLimit"), as
 * SQS applies it: 300 transactions per second per API action (SendMessage,
 * ReceiveMessage, DeleteMessage; a batch call is one transaction of up to 10
 * messages, hence 3,000 messages per second with batching). perQueue counts
 * a queue's calls; perMessageGroupId (high throughput) counts sends per
 * message group. A call past the quota fails with ThrottlingException and
 * changes nothing.
 *
 * Counting is in one-second windows of the store's clock (the testing clock
 * makes it deterministic), in a fixed table: its memory does not grow with
 * the number of queues or groups. When every slot a key may use holds a count
 * of the current second, one is taken over, so a flood of distinct groups can
 * only make the limit more lenient, never refuse a call wrongly.
 */
#include "sqs_api_int.h"

#include <string.h>

#define SQS_FIFO_TPS 300 /* transactions per second per action */
#define TPUT_PROBES 8 /* slots a key may use */

enum { T_SEND = 1, T_RECEIVE, T_DELETE };

static int action_class(const char *action)
{
	if (!strcmp(action, "SendMessage") || !strcmp(action, "SendMessageBatch"))
		return T_SEND;
	if (!strcmp(action, "ReceiveMessage"))
		return T_RECEIVE;
	if (!strcmp(action, "DeleteMessage") || !strcmp(action, "DeleteMessageBatch"))
		return T_DELETE;
	return 0;
}

/* FNV-1a over queue, action class and group: the slot key (0 is "empty"). */
static uint64_t slot_key(const char *queue, int cls, const char *group)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *parts[] = { queue, group ? group : "" };

	for (int p = 0; p < 2; p++) {
		for (const unsigned char *s = (const unsigned char *)parts[p]; *s; s++)
			h = (h ^ *s) * 0x100000001b3ULL;
		h = (h ^ (uint64_t)(p ? 0xff : cls)) * 0x100000001b3ULL;
	}
	return h ? h : 1;
}

/*
 * The slot counting @key in second @sec. Probing stops at the first slot that
 * is free or stale (counts of an earlier second): within one second a key's
 * slot is never behind one, so the key is not further on. With every slot
 * busy this second, the first is taken over (its key counts from 0 again).
 */
static struct queue_tput_slot *slot_for(struct queue_store *st, uint64_t key, int64_t sec)
{
	struct queue_tput_slot *tab = queue_store_tput(st);
	size_t i = (size_t)(key % QUEUE_TPUT_SLOTS);
	struct queue_tput_slot *victim = &tab[i];

	for (int probe = 0; probe < TPUT_PROBES; probe++) {
		struct queue_tput_slot *s = &tab[(i + (size_t)probe) % QUEUE_TPUT_SLOTS];

		if (s->key == key && s->sec == sec)
			return s;
		if (!s->key || s->sec != sec) {
			victim = s;
			break;
		}
	}
	*victim = (struct queue_tput_slot){ .key = key, .sec = sec };
	return victim;
}

/* The distinct MessageGroupIds of a send (at most QUEUE_MAX_BATCH of a batch). */
static size_t send_groups(const struct sqs_call *c, const char **groups)
{
	const struct json_value *entries = json_get(c->req, "Entries"), *g;
	size_t n = 0;

	if (!entries) {
		g = json_get(c->req, "MessageGroupId");
		if (g && g->type == JSON_STRING)
			groups[n++] = g->u.str.s;
		return n;
	}
	for (size_t i = 0; entries->type == JSON_ARRAY && i < entries->u.arr.n; i++) {
		const struct json_value *e = entries->u.arr.items[i];
		size_t j = 0;

		g = e->type == JSON_OBJECT ? json_get(e, "MessageGroupId") : NULL;
		if (!g || g->type != JSON_STRING)
			continue;
		while (j < n && strcmp(groups[j], g->u.str.s))
			j++;
		if (j == n && n < QUEUE_MAX_BATCH)
			groups[n++] = g->u.str.s;
	}
	return n;
}

int sqs_throttle_check(struct sqs_call *c, const char *action, struct sqs_tput_claim *claim)
{
	int cls = action_class(action);
	char queue[SQS_NAME_CAP];
	const char *groups[QUEUE_MAX_BATCH];
	enum queue_fifo_mode mode;
	struct queue_result res;
	size_t n = 1;

	claim->n = 0;
	if (!cls)
		return 0;
	/* a bad or unknown queue is the action's error to report, not ours */
	if (sqs_get_queue(c, queue) || queue_fifo_mode(c->api->st, queue, &mode, &res) ||
	    mode == QUEUE_NOT_FIFO) {
		memset(c->err, 0, sizeof(*c->err));
		return 0;
	}
	if (mode == QUEUE_FIFO_PER_GROUP) {
		/* high throughput: the quota is per message group, and only sends name one */
		if (cls != T_SEND)
			return 0;
		n = send_groups(c, groups);
	} else {
		groups[0] = NULL;
	}
	int64_t sec = queue_store_now(c->api->st) / 1000;

	for (size_t i = 0; i < n; i++) {
		struct queue_tput_slot *s =
			slot_for(c->api->st, slot_key(queue, cls, groups[i]), sec);

		if (s->calls >= SQS_FIFO_TPS)
			return sqs_fail_other(c, 400, "ThrottlingException", "Rate exceeded");
		claim->key[claim->n++] = s->key;
	}
	claim->sec = sec;
	return 0;
}

void sqs_throttle_count(struct sqs_api *api, const struct sqs_tput_claim *claim)
{
	for (size_t i = 0; i < claim->n; i++)
		slot_for(api->st, claim->key[i], claim->sec)->calls++;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * Durable retries (retry.h) as records of the queue store's user: each retry
 * is "rq/" + due time + sequence (big-endian, so they sort by due time) and
 * one record "rq#" holds the count and the next sequence number. Both are
 * written in the caller's transaction, so they commit or abort together with
 * the deliveries around them.
 */
#include "retry.h"
#include "queue_int.h" /* put_be64, get_be64, qerr */

#include <stdlib.h>
#include <string.h>

#define KEY_PREFIX "rq/"
#define KEY_PREFIX_LEN 3
#define META_KEY "rq#"
#define KEY_LEN (KEY_PREFIX_LEN + 16)

struct retry_meta {
	uint64_t count;
	uint64_t next_seq;
};

/* The stored value: this header, then target, group, dedup id and body. */
struct retry_rec {
	int64_t first_ms;
	uint32_t retries;
	uint32_t body_len;
	uint16_t target_len, group_len, dedup_len;
	uint8_t kind;
	uint8_t pad;
};

struct retry_store {
	struct queue_store *st;
	size_t max;
	struct retry_meta meta;
	uint64_t dropped;
};

const char *retry_exhausted_name(enum retry_verdict v)
{
	return v == RETRY_EXHAUSTED_ATTEMPTS ? "MaximumRetryAttempts"
	       : v == RETRY_EXHAUSTED_AGE    ? "MaximumEventAgeInSeconds"
					     : "";
}

enum retry_verdict retry_plan(const struct retry_policy *p, const struct retry_backoff *b,
			      int64_t first_ms, uint32_t retries, int64_t now_ms, uint64_t rnd,
			      int64_t *due_ms)
{
	int64_t wait = b->base_ms > 0 ? b->base_ms : 1;

	if ((int64_t)retries >= p->max_attempts)
		return RETRY_EXHAUSTED_ATTEMPTS;
	for (uint32_t i = 0; i < retries && wait < b->cap_ms; i++)
		wait *= 2;
	if (wait > b->cap_ms)
		wait = b->cap_ms;
	/* equal jitter: half fixed, half random */
	wait = wait - wait / 2 + (int64_t)(rnd % (uint64_t)(wait / 2 + 1));
	*due_ms = now_ms + wait;
	if (*due_ms - first_ms > (int64_t)p->max_age_s * 1000)
		return RETRY_EXHAUSTED_AGE;
	return RETRY_SCHEDULE;
}

static void make_key(uint8_t key[KEY_LEN], int64_t due_ms, uint64_t seq)
{
	memcpy(key, KEY_PREFIX, KEY_PREFIX_LEN);
	put_be64(key + KEY_PREFIX_LEN, (uint64_t)(due_ms < 0 ? 0 : due_ms));
	put_be64(key + KEY_PREFIX_LEN + 8, seq);
}

static int load_meta(struct retry_store *rs, struct queue_result *res)
{
	size_t len = 0;
	int found = queue_app_get(rs->st, META_KEY, strlen(META_KEY), &rs->meta, sizeof(rs->meta),
				  &len, res);

	if (found < 0)
		return -1;
	if (!found || len != sizeof(rs->meta))
		memset(&rs->meta, 0, sizeof(rs->meta));
	return 0;
}

static int save_meta(struct retry_store *rs, struct queue_result *res)
{
	return queue_app_put(rs->st, META_KEY, strlen(META_KEY), &rs->meta, sizeof(rs->meta), res);
}

struct retry_store *retry_open(struct queue_store *st, size_t max, struct queue_result *res)
{
	struct retry_store *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	rs->st = st;
	rs->max = max;
	if (load_meta(rs, res)) {
		free(rs);
		return NULL;
	}
	return rs;
}

void retry_close(struct retry_store *rs)
{
	free(rs);
}

size_t retry_pending(const struct retry_store *rs)
{
	return (size_t)rs->meta.count;
}

uint64_t retry_dropped(const struct retry_store *rs)
{
	return rs->dropped;
}

int retry_resync(struct retry_store *rs, struct queue_result *res)
{
	return load_meta(rs, res);
}

static size_t opt_len(const char *s)
{
	return s ? strlen(s) : 0;
}

int retry_schedule(struct retry_store *rs, const struct retry_item *it, struct queue_result *res)
{
	return retry_schedule_ref(rs, it, NULL, res);
}

int retry_schedule_ref(struct retry_store *rs, const struct retry_item *it, struct retry_ref *ref,
		       struct queue_result *res)
{
	struct retry_rec h = {
		.first_ms = it->first_ms,
		.retries = it->retries,
		.body_len = (uint32_t)it->body_len,
		.target_len = (uint16_t)strlen(it->target),
		.group_len = (uint16_t)opt_len(it->group_id),
		.dedup_len = (uint16_t)opt_len(it->dedup_id),
		.kind = it->kind,
	};
	size_t len = sizeof(h) + h.target_len + h.group_len + h.dedup_len + it->body_len;
	uint8_t key[KEY_LEN], *val, *p;
	int rc;

	if (rs->meta.count >= rs->max) {
		rs->dropped++;
		return 1;
	}
	val = malloc(len);
	if (!val) {
		rs->dropped++;
		return 1;
	}
	memcpy(val, &h, sizeof(h));
	p = val + sizeof(h);
	memcpy(p, it->target, h.target_len);
	p += h.target_len;
	if (h.group_len)
		memcpy(p, it->group_id, h.group_len);
	p += h.group_len;
	if (h.dedup_len)
		memcpy(p, it->dedup_id, h.dedup_len);
	p += h.dedup_len;
	if (it->body_len)
		memcpy(p, it->body, it->body_len);
	make_key(key, it->due_ms, rs->meta.next_seq);
	rc = queue_app_put(rs->st, key, sizeof(key), val, len, res);
	free(val);
	if (rc)
		return -1;
	if (ref)
		*ref = (struct retry_ref){ it->due_ms < 0 ? 0 : it->due_ms, rs->meta.next_seq };
	rs->meta.next_seq++;
	rs->meta.count++;
	return save_meta(rs, res);
}

int retry_cancel(struct retry_store *rs, const struct retry_ref *ref, struct queue_result *res)
{
	uint8_t key[KEY_LEN], hdr[sizeof(struct retry_rec)];
	size_t len = 0;
	int found;

	make_key(key, ref->due_ms, ref->seq);
	found = queue_app_get(rs->st, key, sizeof(key), hdr, sizeof(hdr), &len, res);
	if (found <= 0)
		return found;
	if (queue_app_del(rs->st, key, sizeof(key), res))
		return -1;
	if (rs->meta.count)
		rs->meta.count--;
	return save_meta(rs, res) ? -1 : 1;
}

static char *dup_str(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = 0;
	}
	return s;
}

/* Decode record @r into @it (strings malloc'd); -1 when malformed or out of memory. */
static int decode(const struct queue_app_rec *r, struct retry_item *it)
{
	struct retry_rec h;
	const uint8_t *p;

	if (r->klen != KEY_LEN || r->vlen < sizeof(h))
		return -1;
	memcpy(&h, r->val, sizeof(h));
	if (r->vlen != sizeof(h) + h.target_len + h.group_len + h.dedup_len + (size_t)h.body_len)
		return -1;
	p = r->val + sizeof(h);
	memset(it, 0, sizeof(*it));
	it->kind = h.kind;
	it->first_ms = h.first_ms;
	it->retries = h.retries;
	it->due_ms = (int64_t)get_be64(r->key + KEY_PREFIX_LEN);
	it->seq = get_be64(r->key + KEY_PREFIX_LEN + 8);
	it->target = dup_str(p, h.target_len);
	p += h.target_len;
	it->group_id = h.group_len ? dup_str(p, h.group_len) : NULL;
	p += h.group_len;
	it->dedup_id = h.dedup_len ? dup_str(p, h.dedup_len) : NULL;
	p += h.dedup_len;
	it->body = dup_str(p, h.body_len);
	it->body_len = h.body_len;
	if (!it->target || !it->body || (h.group_len && !it->group_id) ||
	    (h.dedup_len && !it->dedup_id))
		return -1;
	return 0;
}

static void item_free(struct retry_item *it)
{
	free((char *)it->target);
	free((char *)it->body);
	free((char *)it->group_id);
	free((char *)it->dedup_id);
}

void retry_items_free(struct retry_item *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		item_free(&v[i]);
	free(v);
}

long retry_take_due(struct retry_store *rs, int64_t now_ms, size_t max, struct retry_item **out,
		    struct queue_result *res)
{
	uint8_t below[KEY_LEN];
	struct queue_app_rec *recs;
	struct retry_item *items;
	long n;
	size_t got = 0;

	*out = NULL;
	make_key(below, now_ms + 1, 0);
	n = queue_app_first(rs->st, KEY_PREFIX, KEY_PREFIX_LEN, below, sizeof(below), max, &recs,
			    res);
	if (n <= 0) {
		queue_app_recs_free(recs, 0);
		return n;
	}
	items = calloc((size_t)n, sizeof(*items));
	for (long i = 0; items && i < n; i++) {
		if (queue_app_del(rs->st, recs[i].key, recs[i].klen, res)) {
			retry_items_free(items, got);
			queue_app_recs_free(recs, (size_t)n);
			return -1;
		}
		if (rs->meta.count)
			rs->meta.count--;
		/* a malformed record is dropped: it can never be delivered */
		if (decode(&recs[i], &items[got]) == 0)
			got++;
		else
			item_free(&items[got]), memset(&items[got], 0, sizeof(items[got]));
	}
	queue_app_recs_free(recs, (size_t)n);
	if (!items)
		return qerr(res, QE_INTERNAL_ERROR, "Out of memory");
	if (save_meta(rs, res)) {
		retry_items_free(items, got);
		return -1;
	}
	*out = items;
	return (long)got;
}

int64_t retry_next_due(struct retry_store *rs, struct queue_result *res)
{
	struct queue_app_rec *recs;
	long n = queue_app_first(rs->st, KEY_PREFIX, KEY_PREFIX_LEN, NULL, 0, 1, &recs, res);
	int64_t due;

	if (n < 0)
		return -1;
	due = n ? (int64_t)get_be64(recs[0].key + KEY_PREFIX_LEN) : 0;
	queue_app_recs_free(recs, (size_t)n);
	return due;
}

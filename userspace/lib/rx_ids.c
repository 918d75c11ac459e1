// SPDX-License-Identifier: BSD-2-Clause
/* Rule-id lists waiting for their AF_XDP frames. See rx_ids.h. */
#include "rx_ids.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Records wait here only between a ring-buffer read and the socket read
 * that follows it, so a few thousand slots are plenty; the probe window
 * bounds the work of a put or a take. */
#define SLOTS 4096
#define PROBE 16

struct slot {
	uint64_t handle;
	uint64_t stamp; /* when it was put (a counter): the oldest is evicted */
	uint32_t n, cap;
	uint32_t *ids;
	bool used;
};

struct rx_ids {
	struct slot s[SLOTS];
	uint64_t clock;
};

static uint32_t slot_of(uint64_t handle)
{
	handle ^= handle >> 33;
	handle *= 0xff51afd7ed558ccdULL;
	handle ^= handle >> 33;
	return (uint32_t)handle & (SLOTS - 1);
}

struct rx_ids *rx_ids_new(void)
{
	return calloc(1, sizeof(struct rx_ids));
}

void rx_ids_free(struct rx_ids *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < SLOTS; i++)
		free(t->s[i].ids);
	free(t);
}

int rx_ids_put(struct rx_ids *t, uint64_t handle, const uint32_t *ids, uint32_t n)
{
	uint32_t h = slot_of(handle);
	struct slot *victim = NULL;

	for (uint32_t k = 0; k < PROBE; k++) {
		struct slot *s = &t->s[(h + k) & (SLOTS - 1)];

		if (!s->used || s->handle == handle) {
			victim = s;
			break;
		}
		if (!victim || s->stamp < victim->stamp)
			victim = s; /* the oldest so far: its frame is long gone */
	}
	if (victim->cap < n) {
		uint32_t *p = realloc(victim->ids, (size_t)n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		victim->ids = p;
		victim->cap = n;
	}
	if (n)
		memcpy(victim->ids, ids, (size_t)n * sizeof(*ids));
	victim->n = n;
	victim->handle = handle;
	victim->stamp = ++t->clock;
	victim->used = true;
	return 0;
}

const uint32_t *rx_ids_take(struct rx_ids *t, uint64_t handle, uint32_t *n)
{
	uint32_t h = slot_of(handle);

	for (uint32_t k = 0; k < PROBE; k++) {
		struct slot *s = &t->s[(h + k) & (SLOTS - 1)];

		if (s->used && s->handle == handle) {
			s->used = false;
			*n = s->n;
			return s->ids;
		}
	}
	return NULL;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A static centered interval tree: the numeric conditions of one path.
 * A stabbing query reports every interval that contains a value in
 * O(log n + hits), so numeric matching does not slow down as rules are added.
 */
#ifndef BPFBUS_NUMERIC_H
#define BPFBUS_NUMERIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct interval {
	double lo, hi;
	bool lo_open, hi_open;
	uint32_t id; /* reported on a hit */
};

struct itree;

/* Build from @n intervals (copied). */
struct itree *itree_build(const struct interval *iv, size_t n);
void itree_free(struct itree *t);
size_t itree_memory(const struct itree *t);

/* Call @hit(arg, id) for each interval containing @x. */
void itree_stab(const struct itree *t, double x,
		void (*hit)(void *arg, uint32_t id), void *arg);

bool interval_contains(const struct interval *iv, double x);

/* All intervals of the tree (in lower-bound order); their count. */
size_t itree_intervals(const struct itree *t, const struct interval **out);

#endif

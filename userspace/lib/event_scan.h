/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One-pass event scanner. It walks the event's JSON text, building each
 * key's flattened path ("detail.state") and its hash incrementally, and
 * reports only leaves on paths that some rule reads. Subtrees under paths no
 * rule uses are skipped without being decoded. Each reported leaf records
 * the arrays it sits in (array instance and index) for array consistency.
 */
#ifndef BPFBUS_EVENT_SCAN_H
#define BPFBUS_EVENT_SCAN_H

#include "ir.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bb_ruleset;
struct path_info;

struct scan_value {
	enum vtype type;
	const char *s; /* VT_STRING, unescaped */
	size_t len;
	double num;    /* VT_NUMBER */
};

struct scan_arr {
	uint32_t id;    /* array instance, unique within the event */
	uint32_t index; /* element index within it */
};

struct scan_leaf {
	uint32_t arr_off; /* into event_scan.arrs */
	uint32_t depth;	  /* number of enclosing arrays */
};

struct event_scan {
	char *path;
	size_t path_cap;
	struct scan_arr *stack; /* enclosing arrays of the current position */
	size_t depth, stack_cap;
	struct scan_arr *arrs; /* snapshots of the stack, per leaf */
	size_t n_arrs, arrs_cap;
	struct scan_leaf *leaves;
	size_t n_leaves, leaves_cap;
	char *str; /* unescaped string value */
	size_t str_cap;
	char *key; /* unescaped key */
	size_t key_cap;
	uint32_t next_arr;
	int nesting;
	char error[256];
};

typedef void (*scan_leaf_fn)(void *arg, const struct path_info *pi,
			     const struct scan_value *v, uint32_t leaf);

void event_scan_init(struct event_scan *s);
void event_scan_free(struct event_scan *s);

/* Scan @len bytes; false (with s->error) when the event is not an object
 * or is malformed in a part the scanner had to read. */
bool event_scan_run(struct event_scan *s, const struct bb_ruleset *rs,
		    const char *ev, size_t len, scan_leaf_fn fn, void *arg);
/* The same with every path under the namespace byte @ns (0: none), as
 * attribute-scope paths are (include/bpfbus/attrs.h). */
bool event_scan_run_ns(struct event_scan *s, const struct bb_ruleset *rs, const char *ev,
		       size_t len, char ns, scan_leaf_fn fn, void *arg);

#endif

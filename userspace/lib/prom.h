/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Prometheus text exposition (GET /metrics, docs/api.md): label escapes,
 * family headers, and latency histograms with fixed buckets kept in tables
 * keyed by their rendered labels. Observing is a few additions on a table
 * entry found once (entries never move), so hot paths keep the entry.
 * Nothing here locks: each table belongs to one thread or one lock.
 */
#ifndef BPFBUS_LIB_PROM_H
#define BPFBUS_LIB_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* Append `name="value"` with Prometheus's escapes (backslash, quote, newline). */
void prom_label(struct strbuf *out, const char *name, const char *value, size_t len);
/* Append @s escaped as a label value. */
void prom_escape(struct strbuf *out, const char *s, size_t len);
/* "# HELP name help\n# TYPE name type\n" */
void prom_family(struct strbuf *out, const char *name, const char *type, const char *help);

/* Buckets: upper bounds from 0.5 ms to 1 h (0.0005 ... 3600 s), and +Inf. */
#define PROM_NBOUNDS 19

struct prom_hist {
	uint64_t bucket[PROM_NBOUNDS + 1]; /* per bucket, not cumulative; the last is +Inf */
	uint64_t count;
	uint64_t sum_us;
};

/* @n observations of @us microseconds each (negative ones count as 0). */
void prom_observe(struct prom_hist *h, int64_t us, uint64_t n);

/* One histogram of a table, and what a round has yet to observe in it. */
#define PROM_ENTRY_COUNTERS 6

struct prom_entry {
	char *labels; /* rendered: queue="orders" */
	struct prom_hist h;
	/* counters with the same labels: the table's owner says which is which */
	uint64_t counter[PROM_ENTRY_COUNTERS];
	uint64_t pending;
	struct prom_entry *next_pending;
};

/* A table of histograms keyed by labels (open addressing; entries never move). */
struct prom_table {
	struct prom_entry **slot;
	size_t cap, n;
};

/* The entry of @labels, created empty on first use. */
struct prom_entry *prom_table_get(struct prom_table *t, const char *labels);
/* The entry of @labels, or NULL. */
const struct prom_entry *prom_table_find(const struct prom_table *t, const char *labels);
void prom_table_free(struct prom_table *t);
/* Render every entry as histogram @name (the family header first). */
void prom_table_render(struct strbuf *out, const char *name, const char *help,
		       const struct prom_table *t);
/* Render one histogram's lines: name_bucket{labels,le=...}, name_sum, name_count. */
void prom_hist_render(struct strbuf *out, const char *name, const char *labels,
		      const struct prom_hist *h);

/*
 * Observations that wait for a commit: deliveries of a round count from the
 * round's start (@t0_us) to its group commit.
 */
struct prom_pending {
	struct prom_entry *head;
	int64_t t0_us; /* 0: set by the first add */
};

void prom_pending_add(struct prom_pending *p, struct prom_entry *e, uint64_t n);
/* Observe everything pending as @now_us - t0 when @committed, else forget it. */
void prom_pending_flush(struct prom_pending *p, int64_t now_us, bool committed);

/* CLOCK_MONOTONIC in microseconds. */
int64_t prom_now_us(void);

#endif

// SPDX-License-Identifier: BSD-2-Clause
/*
 * Prometheus text exposition and latency histograms (prom.h).
 */
#include "prom.h"
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The bucket bounds in microseconds, and as Prometheus's le= labels. */
static const int64_t bound_us[PROM_NBOUNDS] = {
	500,	  1000,	    2500,      5000,	  10000,      25000,   50000,
	100000,	  250000,   500000,    1000000,	  2500000,    5000000, 10000000,
	30000000, 60000000, 300000000, 900000000, 3600000000,
};
static const char *const bound_le[PROM_NBOUNDS] = {
	"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
	"1",	  "2.5",   "5",	     "10",    "30",   "60",    "300",  "900", "3600",
};

void prom_escape(struct strbuf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' || s[i] == '"')
			sb_addc(out, '\\');
		if (s[i] == '\n')
			sb_adds(out, "\\n");
		else
			sb_addc(out, s[i]);
	}
}

void prom_label(struct strbuf *out, const char *name, const char *value, size_t len)
{
	sb_adds(out, name);
	sb_adds(out, "=\"");
	prom_escape(out, value, len);
	sb_addc(out, '"');
}

void prom_family(struct strbuf *out, const char *name, const char *type, const char *help)
{
	sb_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_observe(struct prom_hist *h, int64_t us, uint64_t n)
{
	size_t b = 0;

	if (us < 0)
		us = 0;
	while (b < PROM_NBOUNDS && us > bound_us[b])
		b++;
	h->bucket[b] += n;
	h->count += n;
	h->sum_us += (uint64_t)us * n;
}

void prom_hist_render(struct strbuf *out, const char *name, const char *labels,
		      const struct prom_hist *h)
{
	const char *sep = *labels ? "," : "";
	uint64_t cum = 0;

	for (size_t b = 0; b <= PROM_NBOUNDS; b++) {
		cum += h->bucket[b];
		if (b < PROM_NBOUNDS)
			sb_printf(out, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels, sep,
				  bound_le[b], (unsigned long long)cum);
		else
			sb_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
				  (unsigned long long)cum);
	}
	sb_printf(out, "%s_sum{%s} %llu.%06llu\n", name, labels,
		  (unsigned long long)(h->sum_us / 1000000),
		  (unsigned long long)(h->sum_us % 1000000));
	sb_printf(out, "%s_count{%s} %llu\n", name, labels, (unsigned long long)h->count);
}

/* ------------------------------------------------------------ tables */

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct prom_entry **probe(struct prom_entry **slot, size_t cap, const char *labels)
{
	size_t i = hash(labels) & (cap - 1);

	while (slot[i] && strcmp(slot[i]->labels, labels))
		i = (i + 1) & (cap - 1);
	return &slot[i];
}

const struct prom_entry *prom_table_find(const struct prom_table *t, const char *labels)
{
	return t->cap ? *probe(t->slot, t->cap, labels) : NULL;
}

struct prom_entry *prom_table_get(struct prom_table *t, const char *labels)
{
	struct prom_entry **s;

	if (2 * (t->n + 1) > t->cap) { /* at most half full */
		size_t cap = t->cap ? 2 * t->cap : 16;
		struct prom_entry **slot = xcalloc(cap, sizeof(*slot));

		for (size_t i = 0; i < t->cap; i++)
			if (t->slot[i])
				*probe(slot, cap, t->slot[i]->labels) = t->slot[i];
		free(t->slot);
		t->slot = slot;
		t->cap = cap;
	}
	s = probe(t->slot, t->cap, labels);
	if (!*s) {
		*s = xcalloc(1, sizeof(**s));
		(*s)->labels = xstrndup(labels, strlen(labels));
		t->n++;
	}
	return *s;
}

void prom_table_free(struct prom_table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->slot[i]) {
			free(t->slot[i]->labels);
			free(t->slot[i]);
		}
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

static int by_labels(const void *a, const void *b)
{
	return strcmp((*(struct prom_entry *const *)a)->labels,
		      (*(struct prom_entry *const *)b)->labels);
}

void prom_table_render(struct strbuf *out, const char *name, const char *help,
		       const struct prom_table *t)
{
	struct prom_entry **v = xcalloc(t->n + 1, sizeof(*v));
	size_t n = 0;

	prom_family(out, name, "histogram", help);
	for (size_t i = 0; i < t->cap; i++)
		if (t->slot[i])
			v[n++] = t->slot[i];
	qsort(v, n, sizeof(*v), by_labels); /* a stable order from scrape to scrape */
	for (size_t i = 0; i < n; i++)
		prom_hist_render(out, name, v[i]->labels, &v[i]->h);
	free(v);
}

/* ------------------------------------------------------------ pending */

void prom_pending_add(struct prom_pending *p, struct prom_entry *e, uint64_t n)
{
	if (!p->t0_us)
		p->t0_us = prom_now_us();
	if (!e->pending) {
		e->next_pending = p->head;
		p->head = e;
	}
	e->pending += n;
}

void prom_pending_flush(struct prom_pending *p, int64_t now_us, bool committed)
{
	while (p->head) {
		struct prom_entry *e = p->head;

		if (committed)
			prom_observe(&e->h, now_us - p->t0_us, e->pending);
		e->pending = 0;
		p->head = e->next_pending;
		e->next_pending = NULL;
	}
	p->t0_us = 0;
}

int64_t prom_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

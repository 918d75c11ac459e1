// SPDX-License-Identifier: BSD-2-Clause
/*
 * Request counters of the HTTP listener (http_int.h), by action and status,
 * and their latency. Only the listener's thread counts and renders them,
 * so they need no lock.
 */
#include "http_int.h"
#include "strbuf.h"

#include <stdio.h>
#include <string.h>

static void observe(struct http_stats *st, const char *action, int64_t us)
{
	struct strbuf key = STRBUF_INIT;

	if (us < 0)
		return;
	prom_label(&key, "action", action, strlen(action));
	prom_observe(&prom_table_get(&st->latency, key.buf)->h, us, 1);
	sb_free(&key);
}

void http_stats_count(struct http_stats *st, const char *action, int status, int64_t us)
{
	const char *a = action && *action ? action : "unknown";
	size_t i;

	observe(st, a, us);

	for (i = 0; i < st->n; i++)
		if (st->slot[i].status == status && !strcmp(st->slot[i].action, a)) {
			st->slot[i].n++;
			return;
		}
	if (st->n == HTTP_STATS_SLOTS) {
		st->other++;
		return;
	}
	snprintf(st->slot[i].action, sizeof(st->slot[i].action), "%s", a);
	st->slot[i].status = status;
	st->slot[i].n = 1;
	st->n++;
}

void http_stats_render(const struct http_stats *st, struct strbuf *out)
{
	sb_adds(out, "# HELP bpfbus_http_requests_total HTTP API requests answered, by action "
		     "and status.\n# TYPE bpfbus_http_requests_total counter\n");
	for (size_t i = 0; i < st->n; i++)
		sb_printf(out, "bpfbus_http_requests_total{action=\"%s\",status=\"%d\"} %llu\n",
			  st->slot[i].action, st->slot[i].status,
			  (unsigned long long)st->slot[i].n);
	if (st->other)
		sb_printf(out,
			  "bpfbus_http_requests_total{action=\"other\",status=\"other\"} %llu\n",
			  (unsigned long long)st->other);
	prom_table_render(
		out, "bpfbus_http_request_duration_seconds",
		"HTTP API requests by action: from the request's first line to its answer "
		"(long polls included).",
		&st->latency);
}

void http_stats_free(struct http_stats *st)
{
	prom_table_free(&st->latency);
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * Prometheus histograms (prom.h): bucket edges, the rendered text, tables
 * that grow without moving their entries, observations pending a commit.
 */
#include "../harness.h"
#include "prom.h"
#include "strbuf.h"

#include <stdio.h>
#include <string.h>

TEST(bucket_edges)
{
	struct prom_hist h = { 0 };

	prom_observe(&h, 500, 1); /* exactly 0.5 ms: le="0.0005" */
	prom_observe(&h, 501, 1);
	prom_observe(&h, -7, 1); /* a clock step back counts as 0 */
	prom_observe(&h, 3600000000LL, 1); /* an hour: the last bound */
	prom_observe(&h, 3600000001LL, 2); /* above it: +Inf only */
	EXPECT_EQ(2, h.bucket[0]);
	EXPECT_EQ(1, h.bucket[1]);
	EXPECT_EQ(1, h.bucket[PROM_NBOUNDS - 1]);
	EXPECT_EQ(2, h.bucket[PROM_NBOUNDS]);
	EXPECT_EQ(6, h.count);
	EXPECT_EQ(500 + 501 + 3600000000ULL + 2 * 3600000001ULL, h.sum_us);
}

TEST(rendered_cumulative)
{
	struct prom_hist h = { 0 };
	struct strbuf sb = STRBUF_INIT;

	prom_observe(&h, 1500, 2); /* 1.5 ms: le="0.0025" */
	prom_observe(&h, 2000000, 1); /* 2 s: le="2.5" */
	prom_hist_render(&sb, "x_seconds", "queue=\"q\"", &h);
	EXPECT_NE_NULL(strstr(sb.buf, "x_seconds_bucket{queue=\"q\",le=\"0.0005\"} 0\n"
				      "x_seconds_bucket{queue=\"q\",le=\"0.001\"} 0\n"
				      "x_seconds_bucket{queue=\"q\",le=\"0.0025\"} 2\n"));
	EXPECT_NE_NULL(strstr(sb.buf, "x_seconds_bucket{queue=\"q\",le=\"1\"} 2\n"
				      "x_seconds_bucket{queue=\"q\",le=\"2.5\"} 3\n"));
	EXPECT_NE_NULL(strstr(sb.buf, "x_seconds_bucket{queue=\"q\",le=\"+Inf\"} 3\n"
				      "x_seconds_sum{queue=\"q\"} 2.003000\n"
				      "x_seconds_count{queue=\"q\"} 3\n"));
	sb_free(&sb);
}

TEST(labels_escaped)
{
	struct strbuf sb = STRBUF_INIT;

	prom_label(&sb, "rule", "a\"b\\c\nd", 7);
	EXPECT_STREQ("rule=\"a\\\"b\\\\c\\nd\"", sb.buf);
	sb_free(&sb);
}

TEST(table_entries_stay_put)
{
	struct prom_table t = { 0 };
	struct prom_entry *first = prom_table_get(&t, "queue=\"q0\"");
	struct strbuf sb = STRBUF_INIT;
	char key[32];

	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "queue=\"q%d\"", i);
		prom_observe(&prom_table_get(&t, key)->h, i, 1);
	}
	EXPECT_EQ(1000, t.n);
	EXPECT_TRUE(first == prom_table_get(&t, "queue=\"q0\""));
	EXPECT_TRUE(prom_table_find(&t, "queue=\"q999\"") != NULL);
	EXPECT_NULL(prom_table_find(&t, "queue=\"q1000\""));
	prom_table_render(&sb, "a_seconds", "help", &t);
	EXPECT_NE_NULL(strstr(sb.buf, "# HELP a_seconds help\n# TYPE a_seconds histogram\n"
				      "a_seconds_bucket{queue=\"q0\",le=\"0.0005\"} 1\n"));
	prom_table_free(&t);
	sb_free(&sb);
}

TEST(pending_until_commit)
{
	struct prom_table t = { 0 };
	struct prom_pending p = { 0 };
	struct prom_entry *a = prom_table_get(&t, "rule=\"a\""),
			  *b = prom_table_get(&t, "rule=\"b\"");

	p.t0_us = 1000;
	prom_pending_add(&p, a, 1);
	prom_pending_add(&p, b, 2);
	prom_pending_add(&p, a, 1);
	prom_pending_flush(&p, 31000, true); /* 30 ms */
	EXPECT_EQ(2, a->h.count);
	EXPECT_EQ(60000, a->h.sum_us);
	EXPECT_EQ(2, b->h.count);
	EXPECT_EQ(0, p.t0_us);
	EXPECT_NULL(p.head);
	/* a round that did not commit observes nothing */
	prom_pending_add(&p, a, 5);
	prom_pending_flush(&p, prom_now_us(), false);
	EXPECT_EQ(2, a->h.count);
	EXPECT_EQ(0, a->pending);
	prom_table_free(&t);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: BSD-2-Clause
/*
 * Durable retries (retry.h) on a real LMDB store: the back-off and when a
 * RetryPolicy is exhausted, retries taken in due order, surviving a reopen
 * when committed and gone with an abort, and the bound with counted drops.
 */
#include "retry.h"
#include "../harness.h"
#include "queue_test.h"

#include <string.h>

static const struct retry_policy policy = { .max_attempts = 5, .max_age_s = 60 };
static const struct retry_backoff backoff = { .base_ms = 1000, .cap_ms = 8000 };

TEST(backoff_doubles_with_jitter_up_to_the_cap)
{
	int64_t want[] = { 1000, 2000, 4000, 8000, 8000 };
	struct retry_policy p = { .max_attempts = 185, .max_age_s = 86400 };

	for (uint32_t n = 0; n < 5; n++) {
		int64_t lo = -1, hi = -1;

		/* the jitter's extremes: rnd 0 gives the fixed half, rnd w/2 all of it */
		for (uint64_t rnd = 0; rnd <= (uint64_t)want[n]; rnd += 1) {
			int64_t due;

			ASSERT_EQ(RETRY_SCHEDULE, retry_plan(&p, &backoff, 0, n, 100, rnd, &due));
			due -= 100;
			ASSERT_GE(due, want[n] / 2);
			ASSERT_LE(due, want[n]);
			lo = lo < 0 || due < lo ? due : lo;
			hi = due > hi ? due : hi;
		}
		EXPECT_EQ(want[n] / 2, lo);
		EXPECT_EQ(want[n], hi);
	}
}

TEST(policy_is_exhausted_by_attempts_or_age)
{
	int64_t due;

	EXPECT_EQ(RETRY_SCHEDULE, retry_plan(&policy, &backoff, 0, 4, 1000, 0, &due));
	EXPECT_EQ(RETRY_EXHAUSTED_ATTEMPTS, retry_plan(&policy, &backoff, 0, 5, 1000, 0, &due));
	/* first tried at 0, a retry at 58 s + at least 4 s would be past 60 s */
	EXPECT_EQ(RETRY_EXHAUSTED_AGE, retry_plan(&policy, &backoff, 0, 3, 58000, 0, &due));
	EXPECT_EQ(RETRY_SCHEDULE, retry_plan(&policy, &backoff, 0, 3, 50000, 0, &due));
	struct retry_policy none = { .max_attempts = 0, .max_age_s = 60 };

	EXPECT_EQ(RETRY_EXHAUSTED_ATTEMPTS, retry_plan(&none, &backoff, 0, 0, 0, 0, &due));
	EXPECT_STREQ("MaximumRetryAttempts", retry_exhausted_name(RETRY_EXHAUSTED_ATTEMPTS));
	EXPECT_STREQ("MaximumEventAgeInSeconds", retry_exhausted_name(RETRY_EXHAUSTED_AGE));
}

static void schedule(FIXTURE_DATA(q) *self, struct retry_store *rs, const char *target,
		     const char *body, int64_t due, int want)
{
	struct retry_item it = { .kind = 3,
				 .target = target,
				 .body = body,
				 .body_len = strlen(body),
				 .group_id = "g1",
				 .first_ms = 42,
				 .retries = 2,
				 .due_ms = due };

	ASSERT_EQ(want, retry_schedule(rs, &it, &self->res));
}

TEST_F(q, retries_come_back_in_due_order_with_everything_kept)
{
	struct retry_store *rs = retry_open(self->st, 100, &self->res);
	struct retry_item *v;

	ASSERT_NE_NULL(rs);
	schedule(self, rs, "bus/rule/t2", "{\"b\":2}", T0 + 2000, 0);
	schedule(self, rs, "bus/rule/t1", "{\"a\":1}", T0 + 1000, 0);
	schedule(self, rs, "bus/rule/t3", "{\"c\":3}", T0 + 9000, 0);
	EXPECT_EQ(3, retry_pending(rs));
	EXPECT_EQ(T0 + 1000, retry_next_due(rs, &self->res));
	EXPECT_EQ(0, retry_take_due(rs, T0 + 999, 10, &v, &self->res));
	retry_items_free(v, 0);

	ASSERT_EQ(2, retry_take_due(rs, T0 + 2000, 10, &v, &self->res));
	EXPECT_STREQ("bus/rule/t1", v[0].target);
	EXPECT_STREQ("{\"a\":1}", v[0].body);
	EXPECT_EQ(7, v[0].body_len);
	EXPECT_STREQ("g1", v[0].group_id);
	EXPECT_NULL(v[0].dedup_id);
	EXPECT_EQ(3, v[0].kind);
	EXPECT_EQ(42, v[0].first_ms);
	EXPECT_EQ(2, v[0].retries);
	EXPECT_EQ(T0 + 1000, v[0].due_ms);
	EXPECT_STREQ("bus/rule/t2", v[1].target);
	retry_items_free(v, 2);
	EXPECT_EQ(1, retry_pending(rs));
	EXPECT_EQ(T0 + 9000, retry_next_due(rs, &self->res));
	retry_close(rs);
}

/* A schedule's record is known by its ref: cancelled once, known when taken. */
TEST_F(q, a_scheduled_record_is_cancelled_by_its_ref)
{
	struct retry_store *rs = retry_open(self->st, 100, &self->res);
	struct retry_item it = { .target = "bus/rule\nt", .body = "{}", .body_len = 2 };
	struct retry_ref lease, other;
	struct retry_item *v;

	ASSERT_NE_NULL(rs);
	it.due_ms = T0 + 5000;
	ASSERT_EQ(0, retry_schedule_ref(rs, &it, &lease, &self->res));
	it.due_ms = T0 + 6000;
	ASSERT_EQ(0, retry_schedule_ref(rs, &it, &other, &self->res));
	EXPECT_EQ(T0 + 5000, lease.due_ms);
	EXPECT_NE(lease.seq, other.seq);
	EXPECT_EQ(2, retry_pending(rs));
	EXPECT_EQ(1, retry_cancel(rs, &lease, &self->res));
	EXPECT_EQ(0, retry_cancel(rs, &lease, &self->res)); /* gone already */
	EXPECT_EQ(1, retry_pending(rs));
	EXPECT_EQ(T0 + 6000, retry_next_due(rs, &self->res));
	ASSERT_EQ(1, retry_take_due(rs, T0 + 6000, 10, &v, &self->res));
	EXPECT_EQ(other.seq, v[0].seq);
	EXPECT_EQ(other.due_ms, v[0].due_ms);
	retry_items_free(v, 1);
	EXPECT_EQ(0, retry_cancel(rs, &other, &self->res)); /* taken when due */
	EXPECT_EQ(0, retry_pending(rs));
	retry_close(rs);
}

TEST_F(q, committed_retries_survive_a_reopen_and_aborted_ones_do_not)
{
	struct retry_store *rs = retry_open(self->st, 100, &self->res);
	struct retry_item *v;

	ASSERT_NE_NULL(rs);
	ASSERT_EQ(0, queue_txn_begin(self->st, &self->res));
	schedule(self, rs, "kept", "k", T0, 0);
	ASSERT_EQ(0, queue_txn_commit(self->st, &self->res));
	ASSERT_EQ(0, queue_txn_begin(self->st, &self->res));
	schedule(self, rs, "lost", "l", T0, 0);
	EXPECT_EQ(2, retry_pending(rs));
	queue_txn_abort(self->st);
	ASSERT_EQ(0, retry_resync(rs, &self->res));
	EXPECT_EQ(1, retry_pending(rs));
	retry_close(rs);

	qt_reopen(self);
	rs = retry_open(self->st, 100, &self->res);
	ASSERT_NE_NULL(rs);
	EXPECT_EQ(1, retry_pending(rs));
	ASSERT_EQ(1, retry_take_due(rs, T0, 10, &v, &self->res));
	EXPECT_STREQ("kept", v[0].target);
	retry_items_free(v, 1);
	/* a take inside an aborted group leaves the retry where it was */
	schedule(self, rs, "again", "a", T0, 0);
	ASSERT_EQ(0, queue_txn_begin(self->st, &self->res));
	ASSERT_EQ(1, retry_take_due(rs, T0, 10, &v, &self->res));
	retry_items_free(v, 1);
	queue_txn_abort(self->st);
	ASSERT_EQ(0, retry_resync(rs, &self->res));
	EXPECT_EQ(1, retry_pending(rs));
	EXPECT_EQ(T0, retry_next_due(rs, &self->res));
	retry_close(rs);
}

TEST_F(q, a_full_store_refuses_and_counts)
{
	struct retry_store *rs = retry_open(self->st, 2, &self->res);
	struct retry_item *v;

	ASSERT_NE_NULL(rs);
	schedule(self, rs, "a", "1", T0, 0);
	schedule(self, rs, "b", "2", T0, 0);
	schedule(self, rs, "c", "3", T0, 1);
	schedule(self, rs, "d", "4", T0, 1);
	EXPECT_EQ(2, retry_pending(rs));
	EXPECT_EQ(2, retry_dropped(rs));
	ASSERT_EQ(1, retry_take_due(rs, T0, 1, &v, &self->res));
	retry_items_free(v, 1);
	schedule(self, rs, "e", "5", T0, 0); /* room again */
	EXPECT_EQ(2, retry_pending(rs));
	retry_close(rs);
}

TEST_HARNESS_MAIN

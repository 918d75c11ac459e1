// SPDX-License-Identifier: BSD-2-Clause
/*
 * The store user's records (queue_app_*): durable with the group commit they
 * were written in, gone with its abort, and expired by their time stamp.
 */
#include "queue.h"
#include "../harness.h"
#include "queue_test.h"

#include <string.h>

struct rec {
	int64_t stamp;
	uint64_t value;
};

static void put(FIXTURE_DATA(q) *self, const char *key, int64_t stamp, uint64_t value)
{
	struct rec r = { stamp, value };

	ASSERT_EQ(0, queue_app_put(self->st, key, strlen(key), &r, sizeof(r), &self->res));
}

/* The record's value, or 0 when it does not exist. */
static uint64_t get(FIXTURE_DATA(q) *self, const char *key)
{
	struct rec r = { 0, 0 };
	size_t len = 0;
	int found = queue_app_get(self->st, key, strlen(key), &r, sizeof(r), &len, &self->res);

	EXPECT_GE(found, 0);
	return found == 1 && len == sizeof(r) ? r.value : 0;
}

TEST_F(q, records_survive_a_reopen)
{
	put(self, "prod/a", 1, 41);
	put(self, "prod/a", 1, 42); /* replaced */
	EXPECT_EQ(42, get(self, "prod/a"));
	EXPECT_EQ(0, get(self, "prod/b"));
	qt_reopen(self);
	EXPECT_EQ(42, get(self, "prod/a"));
}

TEST_F(q, records_commit_and_abort_with_the_group)
{
	ASSERT_EQ(0, queue_txn_begin(self->st, &self->res));
	put(self, "prod/kept", 1, 7);
	EXPECT_EQ(7, get(self, "prod/kept")); /* visible inside the group */
	ASSERT_EQ(0, queue_txn_commit(self->st, &self->res));
	ASSERT_EQ(0, queue_txn_begin(self->st, &self->res));
	put(self, "prod/lost", 1, 8);
	queue_txn_abort(self->st);
	qt_reopen(self);
	EXPECT_EQ(7, get(self, "prod/kept"));
	EXPECT_EQ(0, get(self, "prod/lost"));
}

TEST_F(q, expire_removes_old_records_of_the_prefix_only)
{
	/* three old ones in a row (deleting must not skip the next), a new one, another prefix */
	put(self, "prod/1", 100, 1);
	put(self, "prod/2", 150, 2);
	put(self, "prod/3", 199, 3);
	put(self, "prod/4", 200, 4);
	put(self, "prodx", 50, 5);
	put(self, "other/1", 50, 6);
	EXPECT_EQ(3, queue_app_expire(self->st, "prod/", 5, 0, 200, &self->res));
	EXPECT_EQ(0, get(self, "prod/1"));
	EXPECT_EQ(0, get(self, "prod/2"));
	EXPECT_EQ(0, get(self, "prod/3"));
	EXPECT_EQ(4, get(self, "prod/4"));
	EXPECT_EQ(5, get(self, "prodx"));
	EXPECT_EQ(6, get(self, "other/1"));
	EXPECT_EQ(0, queue_app_expire(self->st, "prod/", 5, 0, 200, &self->res));
}

TEST_F(q, bad_keys_are_refused)
{
	char big[300];

	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	EXPECT_EQ(-1, queue_app_put(self->st, big, strlen(big), "x", 1, &self->res));
	EXPECT_EQ(QE_INVALID_PARAMETER_VALUE, self->res.code);
	EXPECT_EQ(-1, queue_app_put(self->st, "", 0, "x", 1, &self->res));
}

TEST_HARNESS_MAIN

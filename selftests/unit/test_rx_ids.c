// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests of the AF_XDP receiver's table of ids records
 * (userspace/lib/rx_ids.c): a list comes back once, under its own handle
 * only; a full table forgets the oldest lists, never mixes them up.
 */
#include "rx_ids.h"
#include "../harness.h"

#include <stdlib.h>

TEST(put_then_take_once)
{
	struct rx_ids *t = rx_ids_new();
	const uint32_t ids[] = { 7, 8, 9, 10, 11 };
	const uint32_t *got;
	uint32_t n = 0;

	ASSERT_NE_NULL(t);
	ASSERT_EQ(0, rx_ids_put(t, 42, ids, 5));
	EXPECT_NULL(rx_ids_take(t, 43, &n));
	got = rx_ids_take(t, 42, &n);
	ASSERT_NE_NULL(got);
	EXPECT_EQ(5, n);
	for (uint32_t i = 0; i < 5; i++)
		EXPECT_EQ(ids[i], got[i]);
	EXPECT_NULL(rx_ids_take(t, 42, &n)); /* taken: gone */
	rx_ids_free(t);
}

/* Far more lists than slots, with handles as the kernel makes them (CPU
 * over a sequence): whatever is still there is exactly what was put under
 * that handle, and the most recent lists are all there. */
TEST(overflow_forgets_oldest_never_mixes)
{
	enum { N = 20000, RECENT = 256 };
	struct rx_ids *t = rx_ids_new();
	uint32_t found = 0;

	ASSERT_NE_NULL(t);
	for (uint32_t i = 0; i < N; i++) {
		uint64_t h = ((uint64_t)(i & 1) << 48) | i;
		uint32_t ids[4] = { i, i + 1, i + 2, i + 3 };

		ASSERT_EQ(0, rx_ids_put(t, h, ids, 1 + i % 4));
	}
	for (uint32_t i = 0; i < N; i++) {
		uint64_t h = ((uint64_t)(i & 1) << 48) | i;
		uint32_t n = 0;
		const uint32_t *got = rx_ids_take(t, h, &n);

		if (i >= N - RECENT)
			EXPECT_NE_NULL(got);
		if (!got)
			continue;
		found++;
		EXPECT_EQ(1 + i % 4, n);
		for (uint32_t k = 0; k < n; k++)
			EXPECT_EQ(i + k, got[k]);
	}
	EXPECT_GE(found, RECENT);
	rx_ids_free(t);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests of the kernel path table's cuckoo placement
 * (ktables_place_path, include/bpfbus/scan.h): every placed path is found
 * in one of its two buckets, with its own id, and a placement that cannot
 * succeed says so instead of losing a path.
 */
#include "ktables.h"
#include "../harness.h"

#include <stdlib.h>

/* The bucket holding @hash, as the kernel's scan_path looks it up. */
static const struct bpfbus_pbucket *find(const struct bpfbus_pbucket *tab, uint64_t hash)
{
	for (int second = 0; second < 2; second++) {
		const struct bpfbus_pbucket *b = &tab[bpfbus_path_bucket(hash, second)];

		if (b->path.used && b->hash == hash)
			return b;
	}
	return NULL;
}

static uint64_t next_hash(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

TEST(pathtab_full_load_all_found)
{
	struct bpfbus_pbucket *tab = calloc(BPFBUS_PATH_BUCKETS, sizeof(*tab));
	uint64_t x = 0x9e3779b97f4a7c15ull, *h = calloc(BPFBUS_MAX_PATHS, sizeof(*h));

	ASSERT_NE(NULL, tab);
	ASSERT_NE(NULL, h);
	/* the most paths a rule set may have: a quarter of the buckets */
	for (uint32_t i = 0; i < BPFBUS_MAX_PATHS; i++) {
		struct bpfbus_path p = { .id = i, .leaf = 1 };

		h[i] = next_hash(&x);
		ASSERT_EQ(0, ktables_place_path(tab, h[i], p));
	}
	for (uint32_t i = 0; i < BPFBUS_MAX_PATHS; i++) {
		const struct bpfbus_pbucket *b = find(tab, h[i]);

		ASSERT_NE(NULL, b);
		EXPECT_EQ(i, b->path.id);
	}
	/* a hash never placed is not found */
	EXPECT_EQ(NULL, find(tab, next_hash(&x)));
	free(h);
	free(tab);
}

TEST(pathtab_evictions_keep_every_path)
{
	struct bpfbus_pbucket *tab = calloc(BPFBUS_PATH_BUCKETS, sizeof(*tab));
	/* (first bucket, second bucket): a (1,2) lands in 1, x (3,4) in 3;
	 * b (1,3) finds both taken, takes 1 and moves a to its bucket 2 */
	uint64_t a = 0x0000000200000001ull, x = 0x0000000400000003ull, b = 0x0000000300000001ull;

	ASSERT_NE(NULL, tab);
	ASSERT_EQ(0, ktables_place_path(tab, a, (struct bpfbus_path){ .id = 1 }));
	ASSERT_EQ(0, ktables_place_path(tab, x, (struct bpfbus_path){ .id = 2 }));
	ASSERT_EQ(0, ktables_place_path(tab, b, (struct bpfbus_path){ .id = 3 }));
	ASSERT_NE(NULL, find(tab, a));
	ASSERT_NE(NULL, find(tab, x));
	ASSERT_NE(NULL, find(tab, b));
	EXPECT_EQ(1u, find(tab, a)->path.id);
	EXPECT_EQ(2u, find(tab, x)->path.id);
	EXPECT_EQ(3u, find(tab, b)->path.id);
	EXPECT_EQ(&tab[2], find(tab, a)); /* a was moved */
	free(tab);
}

TEST(pathtab_three_paths_on_two_buckets_fail)
{
	struct bpfbus_pbucket *tab = calloc(BPFBUS_PATH_BUCKETS, sizeof(*tab));
	/* all three hash to buckets 3 and 4: only two can be placed */
	uint64_t h[3] = { 0x0000000400000003ull, 0x1000000400000003ull, 0x2000000400000003ull };

	ASSERT_NE(NULL, tab);
	ASSERT_EQ(0, ktables_place_path(tab, h[0], (struct bpfbus_path){ .id = 1 }));
	ASSERT_EQ(0, ktables_place_path(tab, h[1], (struct bpfbus_path){ .id = 2 }));
	EXPECT_EQ(-1, ktables_place_path(tab, h[2], (struct bpfbus_path){ .id = 3 }));
	free(tab);
}

TEST(pathtab_same_hash_replaces)
{
	struct bpfbus_pbucket *tab = calloc(BPFBUS_PATH_BUCKETS, sizeof(*tab));

	ASSERT_NE(NULL, tab);
	ASSERT_EQ(0, ktables_place_path(tab, 42, (struct bpfbus_path){ .id = 1 }));
	ASSERT_EQ(0, ktables_place_path(tab, 42, (struct bpfbus_path){ .id = 2 }));
	ASSERT_NE(NULL, find(tab, 42));
	EXPECT_EQ(2u, find(tab, 42)->path.id);
	free(tab);
}

TEST_HARNESS_MAIN

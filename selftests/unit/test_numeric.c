// SPDX-License-Identifier: BSD-2-Clause
/* itree_stab checked against brute force (userspace/lib/numeric.h). */
#include "numeric.h"
#include "../harness.h"

#include <math.h>

#define MAX_IV 400

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64*: deterministic across libcs */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

/* Values from a small grid so that endpoints collide and queries hit them. */
static double grid(void)
{
	return ((int)(rnd() % 41) - 20) * 0.5;
}

struct hits {
	uint8_t seen[MAX_IV];
	int dup;
};

static void on_hit(void *arg, uint32_t id)
{
	struct hits *h = arg;

	if (id >= MAX_IV)
		return;
	if (h->seen[id])
		h->dup++;
	h->seen[id] = 1;
}

static void random_interval(struct interval *iv, uint32_t id)
{
	double a = grid(), b = grid();

	memset(iv, 0, sizeof(*iv));
	iv->id = id;
	switch (rnd() % 8) {
	case 0: /* point */
		iv->lo = iv->hi = a;
		return;
	case 1: /* (-inf, b] or (-inf, b) */
		iv->lo = -INFINITY;
		iv->lo_open = true;
		iv->hi = b;
		iv->hi_open = rnd() & 1;
		return;
	case 2:
		iv->lo = a;
		iv->lo_open = rnd() & 1;
		iv->hi = INFINITY;
		iv->hi_open = true;
		return;
	case 3: /* everything */
		iv->lo = -INFINITY;
		iv->hi = INFINITY;
		iv->lo_open = iv->hi_open = true;
		return;
	default:
		if (a > b) {
			double t = a;

			a = b;
			b = t;
		}
		iv->lo = a;
		iv->hi = b;
		iv->lo_open = rnd() & 1;
		iv->hi_open = rnd() & 1;
	}
}

static bool brute(const struct interval *iv, double x)
{
	bool lo_ok = iv->lo_open ? x > iv->lo : x >= iv->lo;
	bool hi_ok = iv->hi_open ? x < iv->hi : x <= iv->hi;

	return lo_ok && hi_ok;
}

FIXTURE(stab)
{
	struct interval iv[MAX_IV];
	struct itree *t;
};

FIXTURE_VARIANT(stab)
{
	uint64_t seed;
	size_t n;
	int rounds;
};

FIXTURE_VARIANT_ADD(stab, empty){ .seed = 1, .n = 0, .rounds = 1 };
FIXTURE_VARIANT_ADD(stab, one){ .seed = 2, .n = 1, .rounds = 200 };
FIXTURE_VARIANT_ADD(stab, few){ .seed = 3, .n = 5, .rounds = 200 };
FIXTURE_VARIANT_ADD(stab, some){ .seed = 4, .n = 40, .rounds = 50 };
FIXTURE_VARIANT_ADD(stab, many){ .seed = 5, .n = MAX_IV, .rounds = 10 };

FIXTURE_SETUP(stab)
{
	rng_state = variant->seed * 0x9E3779B97F4A7C15ULL;
	self->t = NULL;
}

FIXTURE_TEARDOWN(stab)
{
	itree_free(self->t);
}

static void check_queries(struct th_meta *_metadata, struct interval *iv, size_t n, struct itree *t)
{
	double xs[64 + 2 * MAX_IV + 8];
	size_t nx = 0;
	int bad = 0;

	(void)_metadata;
	for (int i = 0; i < 64; i++)
		xs[nx++] = grid() + ((rnd() % 4) == 0 ? 0.25 : 0);
	for (size_t i = 0; i < n; i++) { /* every endpoint */
		xs[nx++] = iv[i].lo;
		xs[nx++] = iv[i].hi;
	}
	xs[nx++] = -INFINITY;
	xs[nx++] = INFINITY;
	xs[nx++] = -1e300;
	xs[nx++] = 1e300;
	xs[nx++] = 0.0;
	xs[nx++] = -0.0;
	xs[nx++] = nextafter(10.0, 11.0);
	xs[nx++] = nextafter(-10.0, -11.0);

	for (size_t q = 0; q < nx; q++) {
		struct hits h;

		memset(&h, 0, sizeof(h));
		itree_stab(t, xs[q], on_hit, &h);
		EXPECT_EQ(0, h.dup);
		for (size_t i = 0; i < n; i++) {
			bool want = brute(&iv[i], xs[q]);

			EXPECT_EQ(want, interval_contains(&iv[i], xs[q]));
			if (want != (bool)h.seen[i] && bad++ < 10)
				TH_LOG("x=%g interval %zu %c%g, %g%c: want %d got %d", xs[q], i,
				       iv[i].lo_open ? '(' : '[', iv[i].lo, iv[i].hi,
				       iv[i].hi_open ? ')' : ']', want, h.seen[i]);
		}
	}
	EXPECT_EQ(0, bad);
}

TEST_F(stab, matches_brute_force)
{
	for (int r = 0; r < variant->rounds; r++) {
		for (size_t i = 0; i < variant->n; i++)
			random_interval(&self->iv[i], (uint32_t)i);
		itree_free(self->t);
		self->t = itree_build(self->iv, variant->n);
		ASSERT_NE_NULL(self->t);
		EXPECT_LT(0, itree_memory(self->t));
		check_queries(_metadata, self->iv, variant->n, self->t);
		if (_metadata->res->failed)
			break;
	}
}

TEST(all_same_point)
{
	struct interval iv[50];
	struct itree *t;
	struct hits h;

	for (uint32_t i = 0; i < 50; i++)
		iv[i] = (struct interval){ .lo = 3, .hi = 3, .id = i };
	t = itree_build(iv, 50);
	memset(&h, 0, sizeof(h));
	itree_stab(t, 3, on_hit, &h);
	for (int i = 0; i < 50; i++)
		EXPECT_EQ(1, h.seen[i]);
	memset(&h, 0, sizeof(h));
	itree_stab(t, 3.0000001, on_hit, &h);
	itree_stab(t, 2.9999999, on_hit, &h);
	for (int i = 0; i < 50; i++)
		EXPECT_EQ(0, h.seen[i]);
	itree_free(t);
}

TEST(all_infinite)
{
	struct interval iv[3] = {
		{ .lo = -INFINITY, .hi = INFINITY, .lo_open = true, .hi_open = true, .id = 0 },
		{ .lo = -INFINITY, .hi = -INFINITY, .id = 1 },
		{ .lo = INFINITY, .hi = INFINITY, .id = 2 },
	};
	struct itree *t = itree_build(iv, 3);
	struct hits h;

	memset(&h, 0, sizeof(h));
	itree_stab(t, 5, on_hit, &h);
	EXPECT_EQ(1, h.seen[0]);
	EXPECT_EQ(0, h.seen[1]);
	EXPECT_EQ(0, h.seen[2]);
	memset(&h, 0, sizeof(h));
	itree_stab(t, INFINITY, on_hit, &h);
	EXPECT_EQ(0, h.seen[0]);
	EXPECT_EQ(0, h.seen[1]);
	EXPECT_EQ(1, h.seen[2]);
	itree_free(t);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests of IP/CIDR parsing and range splitting (userspace/lib/cidr.h). */
#include "cidr.h"
#include "../harness.h"

#include <arpa/inet.h>

/* ------------------------------------------------------------ ip_parse */

FIXTURE(ip)
{
	int unused;
};

FIXTURE_VARIANT(ip)
{
	const char *text;
	bool ok, v6;
	uint8_t addr[16];
};

FIXTURE_VARIANT_ADD(ip, v4){ .text = "10.1.2.3", .ok = true, .addr = { 10, 1, 2, 3 } };
FIXTURE_VARIANT_ADD(ip, v4_zero){ .text = "0.0.0.0", .ok = true };
FIXTURE_VARIANT_ADD(ip, v4_max){ .text = "255.255.255.255",
				 .ok = true,
				 .addr = { 255, 255, 255, 255 } };
FIXTURE_VARIANT_ADD(ip, v6_loopback){ .text = "::1", .ok = true, .v6 = true, .addr = { [15] = 1 } };
FIXTURE_VARIANT_ADD(ip, v6_full){
	.text = "2001:db8:0:0:0:0:2:1",
	.ok = true,
	.v6 = true,
	.addr = { 0x20, 0x01, 0x0d, 0xb8, [13] = 2, [15] = 1 },
};
FIXTURE_VARIANT_ADD(ip, v6_compressed_upper){
	.text = "FE80::ABCD",
	.ok = true,
	.v6 = true,
	.addr = { 0xfe, 0x80, [14] = 0xab, [15] = 0xcd },
};
FIXTURE_VARIANT_ADD(ip, v6_all){ .text = "::", .ok = true, .v6 = true };
FIXTURE_VARIANT_ADD(ip, v4_octet_too_big){ .text = "256.1.1.1" };
FIXTURE_VARIANT_ADD(ip, v4_three_parts){ .text = "1.2.3" };
FIXTURE_VARIANT_ADD(ip, v4_five_parts){ .text = "1.2.3.4.5" };
FIXTURE_VARIANT_ADD(ip, v4_trailing_dot){ .text = "1.2.3.4." };
FIXTURE_VARIANT_ADD(ip, v4_empty_part){ .text = "1..3.4" };
FIXTURE_VARIANT_ADD(ip, v4_space){ .text = "1.2.3.4 " };
FIXTURE_VARIANT_ADD(ip, v4_sign){ .text = "+1.2.3.4" };
FIXTURE_VARIANT_ADD(ip, v6_double_compress){ .text = "1::2::3" };
FIXTURE_VARIANT_ADD(ip, v6_bad_hex){ .text = "2001:db8::g" };
FIXTURE_VARIANT_ADD(ip, v6_too_long_group){ .text = "12345::1" };
FIXTURE_VARIANT_ADD(ip, garbage){ .text = "hello" };
FIXTURE_VARIANT_ADD(ip, empty){ .text = "" };
FIXTURE_VARIANT_ADD(ip, hostname){ .text = "example.com" };

FIXTURE_SETUP(ip)
{
}

FIXTURE_TEARDOWN(ip)
{
}

TEST_F(ip, parse)
{
	uint8_t addr[16];
	bool v6 = !variant->v6;

	memset(addr, 0xaa, sizeof(addr));
	ASSERT_EQ(variant->ok, ip_parse(variant->text, strlen(variant->text), addr, &v6));
	if (!variant->ok)
		return;
	EXPECT_EQ(variant->v6, v6);
	EXPECT_EQ(0, memcmp(variant->addr, addr, variant->v6 ? 16 : 4));
}

TEST(ip_parse_uses_len)
{
	uint8_t addr[16];
	bool v6;

	ASSERT_TRUE(ip_parse("1.2.3.45", 7, addr, &v6));
	EXPECT_FALSE(v6);
	EXPECT_EQ(4, addr[3]);
}

/* ---------------------------------------------------------- cidr_parse */

FIXTURE(cidr)
{
	int unused;
};

FIXTURE_VARIANT(cidr)
{
	const char *text;
	const char *err; /* NULL: valid */
	bool v6;
	uint8_t lo[16], hi[16];
};

FIXTURE_VARIANT_ADD(cidr, v4_24_unmasked_base){
	.text = "10.0.0.5/24",
	.lo = { 10, 0, 0, 5 },
	.hi = { 10, 0, 0, 255 },
};
FIXTURE_VARIANT_ADD(cidr, v4_24_aligned){
	.text = "192.168.1.0/24",
	.lo = { 192, 168, 1, 0 },
	.hi = { 192, 168, 1, 255 },
};
FIXTURE_VARIANT_ADD(cidr, v4_0){ .text = "0.0.0.0/0", .hi = { 255, 255, 255, 255 } };
FIXTURE_VARIANT_ADD(cidr, v4_0_unmasked){
	.text = "1.2.3.4/0",
	.lo = { 1, 2, 3, 4 },
	.hi = { 255, 255, 255, 255 },
};
FIXTURE_VARIANT_ADD(cidr,
		    v4_31){ .text = "10.0.0.6/31", .lo = { 10, 0, 0, 6 }, .hi = { 10, 0, 0, 7 } };
FIXTURE_VARIANT_ADD(cidr, v4_13){
	.text = "172.17.1.2/13",
	.lo = { 172, 17, 1, 2 },
	.hi = { 172, 23, 255, 255 },
};
FIXTURE_VARIANT_ADD(cidr, v4_plus_mask){
	.text = "10.0.0.0/+8",
	.lo = { 10 },
	.hi = { 10, 255, 255, 255 },
};
FIXTURE_VARIANT_ADD(cidr, v4_trailing_slashes){
	.text = "10.0.0.0/8//",
	.lo = { 10 },
	.hi = { 10, 255, 255, 255 },
};
FIXTURE_VARIANT_ADD(cidr, v6_64){
	.text = "2001:db8::1/64",
	.v6 = true,
	.lo = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
	.hi = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255 },
};
FIXTURE_VARIANT_ADD(cidr, v6_127){
	.text = "::4/127",
	.v6 = true,
	.lo = { [15] = 4 },
	.hi = { [15] = 5 },
};
FIXTURE_VARIANT_ADD(cidr, v6_0){
	.text = "::/0",
	.v6 = true,
	.hi = { 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255 },
};
FIXTURE_VARIANT_ADD(cidr, v6_61){
	.text = "fe80::/61",
	.v6 = true,
	.lo = { 0xfe, 0x80 },
	.hi = { 0xfe, 0x80, 0, 0, 0, 0, 0, 7, 255, 255, 255, 255, 255, 255, 255, 255 },
};
FIXTURE_VARIANT_ADD(cidr, no_slash){ .text = "10.0.0.1",
				     .err = "Malformed CIDR, one '/' required" };
FIXTURE_VARIANT_ADD(cidr, only_trailing_slash){
	.text = "10.0.0.1/",
	.err = "Malformed CIDR, one '/' required",
};
FIXTURE_VARIANT_ADD(cidr, two_slashes){
	.text = "10.0.0.1/8/8",
	.err = "Malformed CIDR, one '/' required",
};
FIXTURE_VARIANT_ADD(cidr, mask_not_int){
	.text = "10.0.0.1/abc",
	.err = "Malformed CIDR, mask bits must be an integer",
};
FIXTURE_VARIANT_ADD(cidr, mask_fraction){
	.text = "10.0.0.1/8.5",
	.err = "Malformed CIDR, mask bits must be an integer",
};
FIXTURE_VARIANT_ADD(cidr, mask_sign_only){
	.text = "10.0.0.1/-",
	.err = "Malformed CIDR, mask bits must be an integer",
};
FIXTURE_VARIANT_ADD(cidr, mask_too_big_for_int){
	.text = "10.0.0.1/2147483648",
	.err = "Malformed CIDR, mask bits must be an integer",
};
FIXTURE_VARIANT_ADD(cidr, mask_negative){
	.text = "10.0.0.1/-1",
	.err = "Malformed CIDR, mask bits must not be negative",
};
FIXTURE_VARIANT_ADD(cidr, bad_address){ .text = "x/24", .err = "Nonstandard IP address: x" };
FIXTURE_VARIANT_ADD(cidr, bad_v4_address){
	.text = "10.0.0.256/24",
	.err = "Nonstandard IP address: 10.0.0.256",
};
FIXTURE_VARIANT_ADD(cidr, empty_address){ .text = "/24", .err = "Nonstandard IP address: " };
FIXTURE_VARIANT_ADD(cidr, v4_mask_32){ .text = "10.0.0.1/32",
				       .err = "IPv4 mask bits must be < 32" };
FIXTURE_VARIANT_ADD(cidr, v4_mask_33){ .text = "10.0.0.1/33",
				       .err = "IPv4 mask bits must be < 32" };
FIXTURE_VARIANT_ADD(cidr, v6_mask_128){ .text = "::1/128", .err = "IPv6 mask bits must be < 128" };
FIXTURE_VARIANT_ADD(cidr, v6_mask_200){ .text = "2001:db8::/200",
					.err = "IPv6 mask bits must be < 128" };

FIXTURE_SETUP(cidr)
{
}

FIXTURE_TEARDOWN(cidr)
{
}

TEST_F(cidr, parse)
{
	uint8_t lo[16], hi[16];
	char reason[128] = "";
	bool v6 = false;
	bool ok = cidr_parse(variant->text, strlen(variant->text), lo, hi, &v6, reason,
			     sizeof(reason));

	if (variant->err) {
		EXPECT_FALSE(ok);
		EXPECT_STREQ(variant->err, reason);
		return;
	}
	ASSERT_TRUE(ok);
	EXPECT_EQ(variant->v6, v6);
	EXPECT_EQ(0, memcmp(variant->lo, lo, v6 ? 16 : 4));
	EXPECT_EQ(0, memcmp(variant->hi, hi, v6 ? 16 : 4));
}

TEST(cidr_mask_clears_host_bits)
{
	uint8_t a[16] = { 10, 1, 2, 3 };
	uint8_t b[16];

	memset(b, 0xff, sizeof(b));
	cidr_mask(a, 12);
	EXPECT_EQ(10, a[0]);
	EXPECT_EQ(0, a[1]);
	EXPECT_EQ(0, a[2]);
	EXPECT_EQ(0, a[3]);
	cidr_mask(b, 65);
	EXPECT_EQ(0xff, b[7]);
	EXPECT_EQ(0x80, b[8]);
	EXPECT_EQ(0, b[9]);
	EXPECT_EQ(0, b[15]);
}

/* --------------------------------------------------- range_to_prefixes */

struct block {
	uint8_t lo[16], hi[16];
};

struct blocks {
	struct block b[300];
	size_t n, alen;
	int misaligned;
};

static void collect(void *arg, const uint8_t *prefix, uint8_t bits)
{
	struct blocks *bs = arg;
	struct block *b;

	if (bs->n >= 300)
		return;
	b = &bs->b[bs->n++];
	memset(b, 0, sizeof(*b));
	memcpy(b->lo, prefix, bs->alen);
	memcpy(b->hi, prefix, bs->alen);
	for (size_t k = 0; k < bs->alen; k++) {
		int keep = (int)bits - (int)k * 8;
		uint8_t host = keep >= 8 ? 0 : keep <= 0 ? 0xff : (uint8_t)(0xff >> keep);

		if (b->lo[k] & host)
			bs->misaligned++;
		b->hi[k] |= host;
	}
}

static int cmp(const uint8_t *a, const uint8_t *b, size_t alen)
{
	return memcmp(a, b, alen);
}

/* a += d (d = +1 or -1); false on wrap */
static bool step(uint8_t *a, size_t alen, int d)
{
	for (size_t k = alen; k-- > 0;) {
		a[k] = (uint8_t)(a[k] + d);
		if (a[k] != (d > 0 ? 0 : 0xff))
			return true;
	}
	return false;
}

static bool covered(const struct blocks *bs, const uint8_t *a)
{
	int hits = 0;

	for (size_t i = 0; i < bs->n; i++)
		hits += cmp(bs->b[i].lo, a, bs->alen) <= 0 && cmp(a, bs->b[i].hi, bs->alen) <= 0;
	return hits > 0;
}

FIXTURE(range)
{
	struct blocks bs;
};

FIXTURE_VARIANT(range)
{
	const char *lo, *hi; /* addresses, or lo as a CIDR when hi is NULL */
	size_t want_n; /* 0: not checked */
};

FIXTURE_VARIANT_ADD(range, v4_all){ .lo = "0.0.0.0/0", .want_n = 1 };
FIXTURE_VARIANT_ADD(range, v4_unmasked_24){ .lo = "10.0.0.5/24" };
FIXTURE_VARIANT_ADD(range, v4_single){ .lo = "10.0.0.5", .hi = "10.0.0.5", .want_n = 1 };
FIXTURE_VARIANT_ADD(range, v4_aligned_16){ .lo = "172.16.0.0/16", .want_n = 1 };
FIXTURE_VARIANT_ADD(range, v4_odd){ .lo = "10.0.0.1", .hi = "10.0.1.254" };
FIXTURE_VARIANT_ADD(range, v4_worst){ .lo = "0.0.0.1", .hi = "255.255.255.254", .want_n = 62 };
FIXTURE_VARIANT_ADD(range, v4_to_top){ .lo = "1.2.3.4/0" };
FIXTURE_VARIANT_ADD(range, v4_from_zero){ .lo = "0.0.0.0", .hi = "9.255.255.255" };
FIXTURE_VARIANT_ADD(range, v4_byte_boundary){ .lo = "10.0.0.255", .hi = "10.0.1.0", .want_n = 2 };
FIXTURE_VARIANT_ADD(range, v6_all){ .lo = "::/0", .want_n = 1 };
FIXTURE_VARIANT_ADD(range, v6_unmasked_64){ .lo = "2001:db8::1234/64" };
FIXTURE_VARIANT_ADD(range, v6_odd){ .lo = "2001:db8::3", .hi = "2001:db8:0:1::fffe" };
FIXTURE_VARIANT_ADD(range, v6_worst){ .lo = "::1",
				      .hi = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
				      .want_n = 254 };
FIXTURE_VARIANT_ADD(range, v6_to_top){ .lo = "fe80::1:2/9" };

FIXTURE_SETUP(range)
{
	memset(&self->bs, 0, sizeof(self->bs));
}

FIXTURE_TEARDOWN(range)
{
}

TEST_F(range, exact_cover)
{
	uint8_t lo[16] = { 0 }, hi[16] = { 0 }, a[16];
	bool v6 = false, v6b = false;
	char reason[128];
	struct blocks *bs = &self->bs;

	if (variant->hi) {
		ASSERT_TRUE(ip_parse(variant->lo, strlen(variant->lo), lo, &v6));
		ASSERT_TRUE(ip_parse(variant->hi, strlen(variant->hi), hi, &v6b));
		ASSERT_EQ(v6, v6b);
	} else {
		ASSERT_TRUE(cidr_parse(variant->lo, strlen(variant->lo), lo, hi, &v6, reason,
				       sizeof(reason)));
	}
	bs->alen = v6 ? 16 : 4;
	range_to_prefixes(lo, hi, bs->alen, collect, bs);

	ASSERT_LE(1, bs->n);
	EXPECT_LE(bs->n, 2 * 8 * bs->alen);
	if (variant->want_n)
		EXPECT_EQ(variant->want_n, bs->n);
	EXPECT_EQ(0, bs->misaligned);

	/* Emitted in ascending order, each starting right after the previous
	 * one ends: together they are exactly [lo, hi], without overlap. */
	EXPECT_EQ(0, cmp(bs->b[0].lo, lo, bs->alen));
	EXPECT_EQ(0, cmp(bs->b[bs->n - 1].hi, hi, bs->alen));
	for (size_t i = 1; i < bs->n; i++) {
		memcpy(a, bs->b[i - 1].hi, 16);
		ASSERT_TRUE(step(a, bs->alen, 1));
		EXPECT_EQ(0, cmp(a, bs->b[i].lo, bs->alen));
	}
	/* pairwise disjoint, independent of order */
	for (size_t i = 0; i < bs->n; i++)
		for (size_t j = i + 1; j < bs->n; j++)
			EXPECT_TRUE(cmp(bs->b[i].hi, bs->b[j].lo, bs->alen) < 0 ||
				    cmp(bs->b[j].hi, bs->b[i].lo, bs->alen) < 0);

	/* membership at and just outside both ends */
	EXPECT_TRUE(covered(bs, lo));
	EXPECT_TRUE(covered(bs, hi));
	memcpy(a, lo, 16);
	if (step(a, bs->alen, 1) && cmp(a, hi, bs->alen) <= 0)
		EXPECT_TRUE(covered(bs, a));
	memcpy(a, lo, 16);
	if (step(a, bs->alen, -1))
		EXPECT_FALSE(covered(bs, a));
	memcpy(a, hi, 16);
	if (step(a, bs->alen, 1))
		EXPECT_FALSE(covered(bs, a));
	memcpy(a, hi, 16);
	if (step(a, bs->alen, -1) && cmp(a, lo, bs->alen) >= 0)
		EXPECT_TRUE(covered(bs, a));
}

TEST_HARNESS_MAIN

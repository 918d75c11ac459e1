// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests of wire v1 (userspace/lib/wire.h, include/bpfbus/wire.h) and of
 * the producer library's address parsing and sending (userspace/lib/producer.h).
 */
#define _GNU_SOURCE
#include "producer.h"
#include "wire.h"
#include "../harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define ATTRS "{\"store\":{\"Type\":\"String\",\"Value\":\"x\"}}"

static unsigned char buf[BPFBUS_WIRE_MAX_PAYLOAD + 64];

/* A string of @n copies of @c (static storage, one per call site is enough). */
static const char *fill(char *dst, char c, size_t n)
{
	memset(dst, c, n);
	dst[n] = '\0';
	return dst;
}

/* ------------------------------------------------------------ FNV-1a */

TEST(name_hash_vectors)
{
	/* Published FNV-1a 32 test vectors. */
	EXPECT_EQ(0x811c9dc5u, bb_wire_name_hash("", 0));
	EXPECT_EQ(0xe40c292cu, bb_wire_name_hash("a", 1));
	EXPECT_EQ(0xbf9cf968u, bb_wire_name_hash("foobar", 6));
}

/* ------------------------------------------------------------ golden bytes */

/* The sample of docs/wire.md, byte for byte. */
TEST(golden_sample)
{
	static const unsigned char want[] = {
		0x42, 0x42, 0x55, 0x53, 0x01, 0x01, 0x00, 0x04, 0x00, 0x30, 0x00, 0x07, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x0e, 0x93, 0x3b, 0x5b, 0xde, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 'd',  'e',	'f',  'a',  'u',  'l',	't',  '{',
		'"',  's',  'o',  'u',	'r',  'c',  'e',  '"',	':',  '"',  'a',  '"',	'}',
	};
	struct bb_wire_msg m = {
		.kind = BPFBUS_WIRE_KIND_EVENT,
		.name = "default",
		.name_len = 7,
		.body = "{\"source\":\"a\"}",
		.body_len = 14,
		.producer_id = 7,
		.seq = 42,
	};
	long n = bb_wire_encode(&m, buf, sizeof(buf));

	ASSERT_EQ((long)sizeof(want), n);
	for (size_t i = 0; i < sizeof(want); i++) {
		if (want[i] != buf[i])
			TH_LOG("byte %zu: want 0x%02x, got 0x%02x", i, want[i], buf[i]);
		EXPECT_EQ(want[i], buf[i]);
	}
	EXPECT_EQ(0x933b5bdeu, bb_wire_name_hash("default", 7));
}

/* ------------------------------------------------------------ round trips */

static char big_name[BPFBUS_WIRE_MAX_NAME + 1], big_group[BPFBUS_WIRE_MAX_GROUP + 1],
	big_dedup[BPFBUS_WIRE_MAX_DEDUP + 1], big_attrs[BPFBUS_WIRE_MAX_ATTRS + 1],
	big_body[BPFBUS_WIRE_MAX_BODY + 1];

/* Largest SNS-shaped attributes text of exactly BPFBUS_WIRE_MAX_ATTRS bytes. */
static const char *max_attrs(void)
{
	const char *pre = "{\"a\":{\"Type\":\"String\",\"Value\":\"", *post = "\"}}";
	size_t n = BPFBUS_WIRE_MAX_ATTRS - strlen(pre) - strlen(post);

	strcpy(big_attrs, pre);
	memset(big_attrs + strlen(pre), 'v', n);
	strcpy(big_attrs + strlen(pre) + n, post);
	return big_attrs;
}

/* Largest event body: {"k":"vvv..."} of @len bytes. */
static const char *object_of(size_t len)
{
	big_body[0] = '{';
	memcpy(big_body + 1, "\"k\":\"", 5);
	memset(big_body + 6, 'v', len - 8);
	memcpy(big_body + len - 2, "\"}", 2);
	big_body[len] = '\0';
	return big_body;
}

FIXTURE(roundtrip)
{
	struct bb_wire_msg in;
};

FIXTURE_VARIANT(roundtrip)
{
	int kind;
	uint16_t flags;
	const char *name, *group, *dedup, *attrs, *body;
	int big; /* 1: max name/group/dedup/attrs; 2: max body */
	uint64_t producer_id, seq, time_ns;
};

FIXTURE_VARIANT_ADD(roundtrip,
		    minimal_event){ .kind = BPFBUS_WIRE_KIND_EVENT, .name = "b", .body = "{}" };
FIXTURE_VARIANT_ADD(roundtrip, event_with_producer){
	.kind = BPFBUS_WIRE_KIND_EVENT,
	.name = "default",
	.body = "{\"source\":\"aws.ec2\",\"detail\":{\"state\":\"running\"}}",
	.producer_id = 0xfedcba9876543210ull,
	.seq = 0x0102030405060708ull,
	.time_ns = 1700000000123456789ull,
};
FIXTURE_VARIANT_ADD(roundtrip, sns_text_with_attrs){
	.kind = BPFBUS_WIRE_KIND_SNS, .name = "orders", .attrs = ATTRS, .body = "hello, world"
};
FIXTURE_VARIANT_ADD(roundtrip, sns_fifo){
	.kind = BPFBUS_WIRE_KIND_SNS,
	.flags = BPFBUS_WIRE_F_FIFO | BPFBUS_WIRE_F_ACK,
	.name = "orders.fifo",
	.group = "g-1",
	.dedup = "d!~#1",
	.body = "{\"n\":1}",
	.producer_id = 1,
	.seq = 1,
};
FIXTURE_VARIANT_ADD(roundtrip, advisory_flag_kept){
	.kind = BPFBUS_WIRE_KIND_EVENT, .flags = 0x8000, .name = "b", .body = "{}"
};
FIXTURE_VARIANT_ADD(roundtrip, max_sections){
	.kind = BPFBUS_WIRE_KIND_SNS, .flags = BPFBUS_WIRE_F_FIFO, .big = 1, .body = "{}"
};
FIXTURE_VARIANT_ADD(roundtrip, max_body){ .kind = BPFBUS_WIRE_KIND_EVENT, .name = "b", .big = 2 };

FIXTURE_SETUP(roundtrip)
{
	struct bb_wire_msg *m = &self->in;

	memset(m, 0, sizeof(*m));
	m->kind = (uint8_t)variant->kind;
	m->flags = variant->flags;
	m->name = variant->name;
	m->group = variant->group;
	m->dedup = variant->dedup;
	m->attrs = variant->attrs;
	m->body = variant->body;
	if (variant->big == 1) {
		m->name = fill(big_name, 'n', BPFBUS_WIRE_MAX_NAME);
		m->group = fill(big_group, 'g', BPFBUS_WIRE_MAX_GROUP);
		m->dedup = fill(big_dedup, 'd', BPFBUS_WIRE_MAX_DEDUP);
		m->attrs = max_attrs();
	} else if (variant->big == 2) {
		m->body = object_of(BPFBUS_WIRE_MAX_BODY);
	}
	m->name_len = m->name ? strlen(m->name) : 0;
	m->group_len = m->group ? strlen(m->group) : 0;
	m->dedup_len = m->dedup ? strlen(m->dedup) : 0;
	m->attrs_len = m->attrs ? strlen(m->attrs) : 0;
	m->body_len = strlen(m->body);
	m->producer_id = variant->producer_id;
	m->seq = variant->seq;
	m->time_ns = variant->time_ns;
}

FIXTURE_TEARDOWN(roundtrip)
{
}

static void expect_section(const char *want, size_t want_len, const char *got, size_t got_len)
{
	EXPECT_EQ(want_len, got_len);
	if (want_len == got_len && want_len)
		EXPECT_EQ(0, memcmp(want, got, want_len));
}

TEST_F(roundtrip, encode_decode)
{
	const struct bb_wire_msg *in = &self->in;
	struct bb_wire_msg out;
	long n = bb_wire_encode(in, buf, sizeof(buf));

	ASSERT_EQ((long)bb_wire_encoded_len(in), n);
	ASSERT_LE(n, BPFBUS_WIRE_MAX_PAYLOAD);
	ASSERT_EQ(BPFBUS_WIRE_OK, bb_wire_decode(buf, (size_t)n, &out, BB_WIRE_CHECK_JSON));
	EXPECT_EQ(1, out.version);
	EXPECT_EQ(BPFBUS_WIRE_HDR_LEN, out.hdr_len);
	EXPECT_EQ(in->kind, out.kind);
	uint16_t want_flags = in->flags | (in->producer_id ? BPFBUS_WIRE_F_PRODUCER : 0) |
			      (in->time_ns ? BPFBUS_WIRE_F_TIME : 0);

	EXPECT_EQ(want_flags, out.flags);
	EXPECT_EQ(bb_wire_name_hash(in->name, in->name_len), out.name_hash);
	EXPECT_EQ(in->producer_id, out.producer_id);
	EXPECT_EQ(in->seq, out.seq);
	EXPECT_EQ(in->time_ns, out.time_ns);
	expect_section(in->name, in->name_len, out.name, out.name_len);
	expect_section(in->group, in->group_len, out.group, out.group_len);
	expect_section(in->dedup, in->dedup_len, out.dedup, out.dedup_len);
	expect_section(in->attrs, in->attrs_len, out.attrs, out.attrs_len);
	expect_section(in->body, in->body_len, out.body, out.body_len);
	/* The body sits where the four bounded additions of docs/wire.md put it. */
	EXPECT_EQ((const char *)buf + out.hdr_len + out.name_len + out.group_len + out.dedup_len +
			  out.attrs_len,
		  out.body);
}

TEST_F(roundtrip, set_seq_patches_only_seq_and_time)
{
	struct bb_wire_msg out;
	long n = bb_wire_encode(&self->in, buf, sizeof(buf));

	ASSERT_GT(n, 0);
	bb_wire_set_seq(buf, 0xabcdef, 123456789);
	ASSERT_EQ(BPFBUS_WIRE_OK, bb_wire_decode(buf, (size_t)n, &out, 0));
	EXPECT_EQ(0xabcdef, out.seq);
	EXPECT_EQ(123456789, out.time_ns);
	EXPECT_TRUE(out.flags & BPFBUS_WIRE_F_TIME);
	EXPECT_EQ(self->in.producer_id, out.producer_id);
	expect_section(self->in.body, self->in.body_len, out.body, out.body_len);
}

/* ------------------------------------------------------------ malformed */

/*
 * The base datagram of the malformed cases: SNS, FIFO, every section present.
 * name at 48 (11 bytes), group at 59 (2), dedup at 61 (3), attrs at 64, body after.
 */
#define B_NAME "orders.fifo"
#define B_BODY "{\"a\":1}"
#define OFF_NAME 48
#define OFF_GROUP 59
#define OFF_DEDUP 61
#define OFF_ATTRS 64
#define OFF_BODY (OFF_ATTRS + (int)sizeof(ATTRS) - 1)
#define BASE_LEN (OFF_BODY + (int)sizeof(B_BODY) - 1)

static long encode_base(unsigned char *out)
{
	struct bb_wire_msg m = {
		.kind = BPFBUS_WIRE_KIND_SNS,
		.flags = BPFBUS_WIRE_F_FIFO,
		.name = B_NAME,
		.name_len = strlen(B_NAME),
		.group = "g1",
		.group_len = 2,
		.dedup = "d-1",
		.dedup_len = 3,
		.attrs = ATTRS,
		.attrs_len = strlen(ATTRS),
		.body = B_BODY,
		.body_len = strlen(B_BODY),
		.producer_id = 9,
		.seq = 10,
	};

	return bb_wire_encode(&m, out, BPFBUS_WIRE_MAX_PAYLOAD);
}

static void put(unsigned char *p, int off, int width, uint64_t v)
{
	for (int i = width - 1; i >= 0; i--, v >>= 8)
		p[off + i] = (unsigned char)v;
}

struct patch {
	int off, width; /* width 0: no patch */
	uint64_t val;
};

FIXTURE(malformed)
{
	size_t len;
};

FIXTURE_VARIANT(malformed)
{
	struct patch p[2];
	int len_delta; /* bytes added (zeros) or removed at the end */
	bool rehash; /* recompute name_hash after patching */
	bool fold_attrs; /* attrs_len 0: the attribute bytes start the body */
	unsigned int opts;
	enum bpfbus_wire_err want;
};

#define P(o, w, v)                                   \
	{                                            \
		.off = (o), .width = (w), .val = (v) \
	}

FIXTURE_VARIANT_ADD(malformed, valid_base){ .want = BPFBUS_WIRE_OK };
FIXTURE_VARIANT_ADD(malformed, bad_magic){ .p = { P(0, 4, 0x42425554) },
					   .want = BPFBUS_WIRE_ERR_MAGIC };
FIXTURE_VARIANT_ADD(malformed, other_protocol){ .p = { P(0, 4, 0x45000054) },
						.want = BPFBUS_WIRE_ERR_MAGIC };
FIXTURE_VARIANT_ADD(malformed, version_0){ .p = { P(4, 1, 0) }, .want = BPFBUS_WIRE_ERR_VERSION };
FIXTURE_VARIANT_ADD(malformed, version_2){ .p = { P(4, 1, 2) }, .want = BPFBUS_WIRE_ERR_VERSION };
FIXTURE_VARIANT_ADD(malformed, kind_0){ .p = { P(5, 1, 0) }, .want = BPFBUS_WIRE_ERR_KIND };
FIXTURE_VARIANT_ADD(malformed, kind_3){ .p = { P(5, 1, 3) }, .want = BPFBUS_WIRE_ERR_KIND };
FIXTURE_VARIANT_ADD(malformed, unknown_critical_flag){ .p = { P(6, 2, 0x0081) },
						       .want = BPFBUS_WIRE_ERR_FLAGS };
FIXTURE_VARIANT_ADD(malformed, unknown_advisory_flag){ .p = { P(6, 2, 0x8005) },
						       .want = BPFBUS_WIRE_OK };
FIXTURE_VARIANT_ADD(malformed, hdr_len_short){ .p = { P(8, 2, 40) },
					       .want = BPFBUS_WIRE_ERR_HDR_LEN };
FIXTURE_VARIANT_ADD(malformed, hdr_len_unaligned){ .p = { P(8, 2, 52) },
						   .want = BPFBUS_WIRE_ERR_HDR_LEN };
FIXTURE_VARIANT_ADD(malformed, hdr_len_over_max){ .p = { P(8, 2, 136) },
						  .want = BPFBUS_WIRE_ERR_HDR_LEN };
FIXTURE_VARIANT_ADD(malformed, hdr_len_past_end){ .p = { P(8, 2, 128) },
						  .want = BPFBUS_WIRE_ERR_TRUNC_HDR };
/* hdr_len 56 lies: the sections then start 8 bytes later and overrun. */
FIXTURE_VARIANT_ADD(malformed, hdr_len_lies){ .p = { P(8, 2, 56) },
					      .want = BPFBUS_WIRE_ERR_PAST_END };
FIXTURE_VARIANT_ADD(malformed, name_len_0){ .p = { P(10, 2, 0) },
					    .want = BPFBUS_WIRE_ERR_NAME_EMPTY };
FIXTURE_VARIANT_ADD(malformed, name_len_257){ .p = { P(10, 2, 257) },
					      .want = BPFBUS_WIRE_ERR_NAME_LEN };
FIXTURE_VARIANT_ADD(malformed, name_len_65535){ .p = { P(10, 2, 0xffff) },
						.want = BPFBUS_WIRE_ERR_NAME_LEN };
FIXTURE_VARIANT_ADD(malformed, name_len_plus_1){ .p = { P(10, 2, 12) },
						 .want = BPFBUS_WIRE_ERR_PAST_END };
FIXTURE_VARIANT_ADD(malformed, group_len_129){ .p = { P(12, 1, 129) },
					       .want = BPFBUS_WIRE_ERR_GROUP_LEN };
FIXTURE_VARIANT_ADD(malformed, group_len_255){ .p = { P(12, 1, 255) },
					       .want = BPFBUS_WIRE_ERR_GROUP_LEN };
FIXTURE_VARIANT_ADD(malformed, dedup_len_129){ .p = { P(13, 1, 129) },
					       .want = BPFBUS_WIRE_ERR_DEDUP_LEN };
FIXTURE_VARIANT_ADD(malformed, attrs_len_8193){ .p = { P(14, 2, 8193) },
						.want = BPFBUS_WIRE_ERR_ATTRS_LEN };
FIXTURE_VARIANT_ADD(malformed, attrs_len_minus_1){ .p = { P(14, 2, sizeof(ATTRS) - 2) },
						   .want = BPFBUS_WIRE_ERR_TRAILING };
FIXTURE_VARIANT_ADD(malformed, body_len_huge){ .p = { P(16, 4, 0xffffffff) },
					       .want = BPFBUS_WIRE_ERR_BODY_LEN };
FIXTURE_VARIANT_ADD(malformed, body_len_max_plus_1){ .p = { P(16, 4, BPFBUS_WIRE_MAX_BODY + 1) },
						     .want = BPFBUS_WIRE_ERR_BODY_LEN };
FIXTURE_VARIANT_ADD(malformed, body_len_0){ .p = { P(16, 4, 0) },
					    .want = BPFBUS_WIRE_ERR_BODY_EMPTY };
FIXTURE_VARIANT_ADD(malformed, body_len_plus_1){ .p = { P(16, 4, sizeof(B_BODY)) },
						 .want = BPFBUS_WIRE_ERR_PAST_END };
FIXTURE_VARIANT_ADD(malformed, trailing_byte){ .len_delta = 1, .want = BPFBUS_WIRE_ERR_TRAILING };
FIXTURE_VARIANT_ADD(malformed, body_cut){ .len_delta = -1, .want = BPFBUS_WIRE_ERR_PAST_END };
/* Lengths shifted between sections: total right, hash now over the wrong bytes. */
FIXTURE_VARIANT_ADD(malformed, lengths_shifted){ .p = { P(10, 2, 12), P(12, 1, 1) },
						 .want = BPFBUS_WIRE_ERR_NAME_HASH };
FIXTURE_VARIANT_ADD(malformed, hash_wrong){ .p = { P(20, 4, 0x12345678) },
					    .want = BPFBUS_WIRE_ERR_NAME_HASH };
FIXTURE_VARIANT_ADD(malformed, name_space){ .p = { P(OFF_NAME + 3, 1, ' ') },
					    .rehash = true,
					    .want = BPFBUS_WIRE_ERR_NAME_CHARS };
FIXTURE_VARIANT_ADD(malformed, name_nul){ .p = { P(OFF_NAME, 1, 0) },
					  .rehash = true,
					  .want = BPFBUS_WIRE_ERR_NAME_CHARS };
FIXTURE_VARIANT_ADD(malformed, name_utf8){ .p = { P(OFF_NAME, 2, 0xc3a9) },
					   .rehash = true,
					   .want = BPFBUS_WIRE_ERR_NAME_CHARS };
FIXTURE_VARIANT_ADD(malformed, group_del){ .p = { P(OFF_GROUP + 1, 1, 0x7f) },
					   .want = BPFBUS_WIRE_ERR_GROUP_CHARS };
FIXTURE_VARIANT_ADD(malformed, dedup_newline){ .p = { P(OFF_DEDUP, 1, '\n') },
					       .want = BPFBUS_WIRE_ERR_DEDUP_CHARS };
/* group_len 0, dedup 2 bytes longer: total unchanged, FIFO left without a group. */
FIXTURE_VARIANT_ADD(malformed, fifo_without_group){ .p = { P(12, 1, 0), P(13, 1, 5) },
						    .want = BPFBUS_WIRE_ERR_FIFO_GROUP };
FIXTURE_VARIANT_ADD(malformed, no_fifo_group_ok){ .p = { P(6, 2, BPFBUS_WIRE_F_PRODUCER) },
						  .want = BPFBUS_WIRE_OK };
FIXTURE_VARIANT_ADD(malformed, attrs_on_event){ .p = { P(5, 1, BPFBUS_WIRE_KIND_EVENT) },
						.want = BPFBUS_WIRE_ERR_ATTRS_KIND };
FIXTURE_VARIANT_ADD(malformed, attrs_not_json){ .p = { P(OFF_ATTRS, 1, '[') },
						.opts = BB_WIRE_CHECK_JSON,
						.want = BPFBUS_WIRE_ERR_ATTRS_JSON };
FIXTURE_VARIANT_ADD(malformed, attrs_unchecked){ .p = { P(OFF_ATTRS, 1, '[') },
						 .want = BPFBUS_WIRE_OK };
FIXTURE_VARIANT_ADD(malformed, attrs_wrong_shape){ .p = { P(OFF_ATTRS + 12, 1, 'X') },
						   .opts = BB_WIRE_CHECK_JSON,
						   .want = BPFBUS_WIRE_ERR_ATTRS_JSON };
/* An SNS body need not be JSON. */
FIXTURE_VARIANT_ADD(malformed, sns_body_text){ .p = { P(OFF_BODY, 1, 'x') },
					       .opts = BB_WIRE_CHECK_JSON,
					       .want = BPFBUS_WIRE_OK };
/* attrs_len 0, body takes the attribute bytes: an event kind with a non-object body. */
FIXTURE_VARIANT_ADD(malformed, event_body_not_object){ .p = { P(5, 1, BPFBUS_WIRE_KIND_EVENT),
							      P(OFF_ATTRS, 1, '[') },
						       .fold_attrs = true,
						       .opts = BB_WIRE_CHECK_JSON,
						       .want = BPFBUS_WIRE_ERR_BODY_JSON };

FIXTURE_SETUP(malformed)
{
	long n = encode_base(buf);

	ASSERT_EQ(BASE_LEN, n);
	self->len = (size_t)n;
}

FIXTURE_TEARDOWN(malformed)
{
}

TEST_F(malformed, decode_reason)
{
	struct bb_wire_msg m;

	for (int i = 0; i < 2; i++)
		if (variant->p[i].width)
			put(buf, variant->p[i].off, variant->p[i].width, variant->p[i].val);
	if (variant->fold_attrs) {
		put(buf, 14, 2, 0);
		put(buf, 16, 4, (uint64_t)(BASE_LEN - OFF_ATTRS));
	}
	if (variant->rehash)
		put(buf, 20, 4, bb_wire_name_hash(buf + OFF_NAME, strlen(B_NAME)));
	size_t len = self->len + (size_t)(long)variant->len_delta;

	if (variant->len_delta > 0)
		memset(buf + self->len, 0, (size_t)variant->len_delta);
	enum bpfbus_wire_err got = bb_wire_decode(buf, len, &m, variant->opts);

	if (got != variant->want)
		TH_LOG("want %s, got %s", bb_wire_err_name(variant->want), bb_wire_err_name(got));
	EXPECT_EQ(variant->want, got);
}

/* Every prefix of a valid datagram is rejected, for the reason its length gives. */
TEST(truncated_at_every_length)
{
	struct bb_wire_msg m;
	long n = encode_base(buf);

	ASSERT_EQ(BASE_LEN, n);
	for (long len = 0; len < n; len++) {
		enum bpfbus_wire_err want = len < 5			? BPFBUS_WIRE_ERR_SHORT
					    : len < BPFBUS_WIRE_HDR_LEN ? BPFBUS_WIRE_ERR_TRUNC_HDR
									: BPFBUS_WIRE_ERR_PAST_END;
		enum bpfbus_wire_err got = bb_wire_decode(buf, (size_t)len, &m, 0);

		if (got != want)
			TH_LOG("length %ld: want %s, got %s", len, bb_wire_err_name(want),
			       bb_wire_err_name(got));
		EXPECT_EQ(want, got);
	}
	EXPECT_EQ(BPFBUS_WIRE_OK, bb_wire_decode(buf, (size_t)n, &m, 0));
}

/* Short datagrams still say what they are when they can. */
TEST(short_prefixes)
{
	struct bb_wire_msg m;
	const unsigned char v2[] = { 'B', 'B', 'U', 'S', 2, 1 };
	const unsigned char garbage[] = { 'G', 'E', 'T', ' ', '/' };

	EXPECT_EQ(BPFBUS_WIRE_ERR_SHORT, bb_wire_decode(v2, 4, &m, 0));
	EXPECT_EQ(BPFBUS_WIRE_ERR_VERSION, bb_wire_decode(v2, sizeof(v2), &m, 0));
	EXPECT_EQ(2, m.version);
	EXPECT_EQ(BPFBUS_WIRE_ERR_MAGIC, bb_wire_decode(garbage, sizeof(garbage), &m, 0));
	EXPECT_EQ(BPFBUS_WIRE_ERR_SHORT, bb_wire_decode(NULL, 0, &m, 0));
}

TEST(too_big)
{
	struct bb_wire_msg m;

	EXPECT_EQ(BPFBUS_WIRE_ERR_TOO_BIG, bb_wire_decode(buf, BPFBUS_WIRE_MAX_PAYLOAD + 1, &m, 0));
}

/* A longer header (a later revision of v1) is skipped by hdr_len. */
TEST(extended_header_is_skipped)
{
	static unsigned char ext[BASE_LEN + 8];
	struct bb_wire_msg m;
	long n = encode_base(buf);

	ASSERT_EQ(BASE_LEN, n);
	memcpy(ext, buf, BPFBUS_WIRE_HDR_LEN);
	memset(ext + BPFBUS_WIRE_HDR_LEN, 0xee, 8); /* unknown new fields */
	memcpy(ext + BPFBUS_WIRE_HDR_LEN + 8, buf + BPFBUS_WIRE_HDR_LEN,
	       (size_t)n - BPFBUS_WIRE_HDR_LEN);
	put(ext, 8, 2, 56);
	ASSERT_EQ(BPFBUS_WIRE_OK, bb_wire_decode(ext, sizeof(ext), &m, BB_WIRE_CHECK_JSON));
	EXPECT_EQ(56, m.hdr_len);
	ASSERT_EQ(strlen(B_NAME), m.name_len);
	EXPECT_EQ(0, memcmp(B_NAME, m.name, m.name_len));
	ASSERT_EQ(strlen(B_BODY), m.body_len);
	EXPECT_EQ(0, memcmp(B_BODY, m.body, m.body_len));
}

/* ------------------------------------------------------------ encoder errors */

FIXTURE(encode_error)
{
	struct bb_wire_msg m;
};

FIXTURE_VARIANT(encode_error)
{
	int kind;
	uint16_t flags;
	size_t name_len, group_len, dedup_len, attrs_len, body_len;
	size_t cap;
	long want; /* minus a reason, or a length */
};

FIXTURE_VARIANT_ADD(encode_error, ok){ .kind = 2, .name_len = 1, .body_len = 2, .want = 51 };
FIXTURE_VARIANT_ADD(encode_error, kind_0){
	.kind = 0, .name_len = 1, .body_len = 2, .want = -BPFBUS_WIRE_ERR_KIND
};
FIXTURE_VARIANT_ADD(encode_error, unknown_flag){
	.kind = 2, .flags = 0x40, .name_len = 1, .body_len = 2, .want = -BPFBUS_WIRE_ERR_FLAGS
};
FIXTURE_VARIANT_ADD(encode_error,
		    no_name){ .kind = 2, .body_len = 2, .want = -BPFBUS_WIRE_ERR_NAME_EMPTY };
FIXTURE_VARIANT_ADD(encode_error, name_257){
	.kind = 2, .name_len = 257, .body_len = 2, .want = -BPFBUS_WIRE_ERR_NAME_LEN
};
FIXTURE_VARIANT_ADD(encode_error,
		    name_256){ .kind = 2, .name_len = 256, .body_len = 2, .want = 48 + 256 + 2 };
FIXTURE_VARIANT_ADD(encode_error, group_129){ .kind = 2,
					      .flags = BPFBUS_WIRE_F_FIFO,
					      .name_len = 1,
					      .group_len = 129,
					      .body_len = 2,
					      .want = -BPFBUS_WIRE_ERR_GROUP_LEN };
FIXTURE_VARIANT_ADD(encode_error, dedup_129){ .kind = 2,
					      .name_len = 1,
					      .dedup_len = 129,
					      .body_len = 2,
					      .want = -BPFBUS_WIRE_ERR_DEDUP_LEN };
FIXTURE_VARIANT_ADD(encode_error, attrs_8193){ .kind = 2,
					       .name_len = 1,
					       .attrs_len = 8193,
					       .body_len = 2,
					       .want = -BPFBUS_WIRE_ERR_ATTRS_LEN };
FIXTURE_VARIANT_ADD(encode_error,
		    body_0){ .kind = 2, .name_len = 1, .want = -BPFBUS_WIRE_ERR_BODY_EMPTY };
FIXTURE_VARIANT_ADD(encode_error, body_over_max){ .kind = 2,
						  .name_len = 1,
						  .body_len = BPFBUS_WIRE_MAX_BODY + 1,
						  .want = -BPFBUS_WIRE_ERR_BODY_LEN };
FIXTURE_VARIANT_ADD(encode_error, body_max_with_name_2){
	.kind = 2, .name_len = 2, .body_len = BPFBUS_WIRE_MAX_BODY, .want = -BPFBUS_WIRE_ERR_TOO_BIG
};
FIXTURE_VARIANT_ADD(encode_error, fifo_without_group){ .kind = 2,
						       .flags = BPFBUS_WIRE_F_FIFO,
						       .name_len = 1,
						       .body_len = 2,
						       .want = -BPFBUS_WIRE_ERR_FIFO_GROUP };
FIXTURE_VARIANT_ADD(encode_error, attrs_on_event){
	.kind = 1, .name_len = 1, .attrs_len = 2, .body_len = 2, .want = -BPFBUS_WIRE_ERR_ATTRS_KIND
};
FIXTURE_VARIANT_ADD(encode_error, no_space){
	.kind = 2, .name_len = 1, .body_len = 2, .cap = 50, .want = -BPFBUS_WIRE_ERR_NOSPACE
};

FIXTURE_SETUP(encode_error)
{
	self->m = (struct bb_wire_msg){
		.kind = (uint8_t)variant->kind,
		.flags = variant->flags,
		.name = fill(big_name, 'n', BPFBUS_WIRE_MAX_NAME),
		.name_len = variant->name_len,
		.group = fill(big_group, 'g', BPFBUS_WIRE_MAX_GROUP),
		.group_len = variant->group_len,
		.dedup = fill(big_dedup, 'd', BPFBUS_WIRE_MAX_DEDUP),
		.dedup_len = variant->dedup_len,
		.attrs = fill(big_attrs, 'a', BPFBUS_WIRE_MAX_ATTRS),
		.attrs_len = variant->attrs_len,
		.body = fill(big_body, 'b', BPFBUS_WIRE_MAX_BODY),
		.body_len = variant->body_len,
	};
}

FIXTURE_TEARDOWN(encode_error)
{
}

TEST_F(encode_error, result)
{
	long got = bb_wire_encode(&self->m, buf, variant->cap ? variant->cap : sizeof(buf));

	if (got != variant->want && got < 0)
		TH_LOG("got %s", bb_wire_err_name((enum bpfbus_wire_err) - got));
	EXPECT_EQ(variant->want, got);
}

/* ------------------------------------------------------------ reasons */

TEST(reason_names_unique)
{
	for (int i = 0; i < BPFBUS_WIRE_ERR_MAX; i++) {
		const char *a = bb_wire_err_name((enum bpfbus_wire_err)i);

		ASSERT_NE_NULL(a);
		ASSERT_NE_NULL(bb_wire_strerror((enum bpfbus_wire_err)i));
		EXPECT_STRNE("unknown", a);
		for (int j = 0; j < i; j++)
			EXPECT_STRNE(bb_wire_err_name((enum bpfbus_wire_err)j), a);
	}
	EXPECT_STREQ("unknown", bb_wire_err_name(BPFBUS_WIRE_ERR_MAX));
	EXPECT_STREQ("bad_magic", bb_wire_err_name(BPFBUS_WIRE_ERR_MAGIC));
}

/* ------------------------------------------------------------ producer */

FIXTURE(hostport)
{
	int unused;
};

FIXTURE_VARIANT(hostport)
{
	const char *in;
	int rc;
	const char *want; /* bb_format_addr */
};

FIXTURE_VARIANT_ADD(hostport, v4_port){ .in = "127.0.0.1:5000", .want = "127.0.0.1:5000" };
FIXTURE_VARIANT_ADD(hostport, v4_default){ .in = "10.1.2.3", .want = "10.1.2.3:4790" };
FIXTURE_VARIANT_ADD(hostport, v6_port){ .in = "[::1]:5000", .want = "[::1]:5000" };
FIXTURE_VARIANT_ADD(hostport, v6_brackets){ .in = "[fe80::1]", .want = "[fe80::1]:4790" };
FIXTURE_VARIANT_ADD(hostport, v6_bare){ .in = "2001:db8::7", .want = "[2001:db8::7]:4790" };
FIXTURE_VARIANT_ADD(hostport, port_max){ .in = "1.2.3.4:65535", .want = "1.2.3.4:65535" };
FIXTURE_VARIANT_ADD(hostport, port_0){ .in = "1.2.3.4:0", .rc = -1 };
FIXTURE_VARIANT_ADD(hostport, port_big){ .in = "1.2.3.4:65536", .rc = -1 };
FIXTURE_VARIANT_ADD(hostport, port_text){ .in = "1.2.3.4:udp", .rc = -1 };
FIXTURE_VARIANT_ADD(hostport, port_empty){ .in = "1.2.3.4:", .rc = -1 };
FIXTURE_VARIANT_ADD(hostport, no_host){ .in = ":80", .rc = -1 };
FIXTURE_VARIANT_ADD(hostport, unclosed){ .in = "[::1:80", .rc = -1 };
FIXTURE_VARIANT_ADD(hostport, junk_after_bracket){ .in = "[::1]x", .rc = -1 };

FIXTURE_SETUP(hostport)
{
	self->unused = 0;
}

FIXTURE_TEARDOWN(hostport)
{
}

TEST_F(hostport, parse)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[128] = "", out[80];
	int rc = bb_parse_hostport(variant->in, BPFBUS_WIRE_DEFAULT_PORT, &ss, &len, err,
				   sizeof(err));

	EXPECT_EQ(variant->rc, rc);
	if (rc == 0) {
		bb_format_addr(&ss, out, sizeof(out));
		EXPECT_STREQ(variant->want, out);
	} else {
		EXPECT_NE(0, err[0]);
	}
}

/* A real loopback socket receives a sendmmsg batch intact and in order. */
TEST(producer_batch_loopback)
{
	int rx = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	char dest[64], err[128];
	struct bb_producer p;
	enum { N = 100 };

	ASSERT_GE(rx, 0);
	ASSERT_EQ(0, bind(rx, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(0, getsockname(rx, (struct sockaddr *)&a, &alen));
	int rcvbuf = 1 << 20;

	setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	snprintf(dest, sizeof(dest), "127.0.0.1:%u", ntohs(a.sin_port));
	ASSERT_EQ(0, bb_producer_open(&p, dest, 1, err, sizeof(err)));

	long n = encode_base(buf);

	ASSERT_GT(n, 0);
	static unsigned char hdr[N][BPFBUS_WIRE_HDR_LEN];
	struct iovec iov[N][2];
	struct mmsghdr msgs[N];

	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < N; i++) {
		memcpy(hdr[i], buf, BPFBUS_WIRE_HDR_LEN);
		bb_wire_set_seq(hdr[i], (uint64_t)i, 0);
		iov[i][0] = (struct iovec){ hdr[i], BPFBUS_WIRE_HDR_LEN };
		iov[i][1] = (struct iovec){ buf + BPFBUS_WIRE_HDR_LEN,
					    (size_t)n - BPFBUS_WIRE_HDR_LEN };
		msgs[i].msg_hdr.msg_iov = iov[i];
		msgs[i].msg_hdr.msg_iovlen = 2;
	}
	struct bb_pacer pc;

	bb_pacer_init(&pc, 20000); /* 100 datagrams in about 5 ms */
	unsigned int burst = bb_pacer_burst(&pc);

	EXPECT_EQ(20, burst);
	for (unsigned int i = 0; i < N; i += burst) {
		bb_pacer_wait(&pc, i);
		ASSERT_EQ(0, bb_producer_send_batch(&p, msgs + i, burst));
	}
	EXPECT_EQ(N, p.sent);
	EXPECT_EQ((uint64_t)N * (uint64_t)n, p.bytes);
	for (int i = 0; i < N; i++) {
		static unsigned char rbuf[2048];
		struct bb_wire_msg m;
		ssize_t r = recv(rx, rbuf, sizeof(rbuf), MSG_DONTWAIT);

		ASSERT_EQ(n, r);
		ASSERT_EQ(BPFBUS_WIRE_OK, bb_wire_decode(rbuf, (size_t)r, &m, BB_WIRE_CHECK_JSON));
		EXPECT_EQ(i, m.seq);
	}
	bb_producer_close(&p);
	close(rx);
}

TEST(pacer_rate)
{
	struct bb_pacer pc;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	bb_pacer_init(&pc, 1000);
	EXPECT_EQ(1, bb_pacer_burst(&pc));
	bb_pacer_wait(&pc, 50); /* due 50 ms after start */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;

	EXPECT_GE(ms, 49);
	EXPECT_LT(ms, 1000);
	bb_pacer_init(&pc, 0);
	EXPECT_EQ(BB_PRODUCER_BATCH, bb_pacer_burst(&pc));
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests of equals-ignore-case folding (userspace/lib/casefold.h). */
#include "casefold.h"
#include "casefold_table.h"
#include "../harness.h"

#include <string.h>

static const char *fold(const char *s, char *buf)
{
	size_t n = casefold(s, strlen(s), buf);

	buf[n] = '\0';
	return buf;
}

static size_t utf8_len(uint32_t c)
{
	return c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
}

TEST(table_is_sorted_and_length_preserving)
{
	size_t n = sizeof(casefold_pairs) / sizeof(casefold_pairs[0]);

	ASSERT_GT(n, 1000);
	for (size_t i = 0; i < n; i++) {
		EXPECT_GE(casefold_pairs[i][0], 0x80);
		EXPECT_NE(casefold_pairs[i][0], casefold_pairs[i][1]);
		EXPECT_EQ(utf8_len(casefold_pairs[i][0]), utf8_len(casefold_pairs[i][1]));
		if (i)
			EXPECT_LT(casefold_pairs[i - 1][0], casefold_pairs[i][0]);
	}
}

FIXTURE(folds)
{
	char buf[64];
};

FIXTURE_VARIANT(folds)
{
	const char *in, *out;
};

FIXTURE_VARIANT_ADD(folds, ascii){ .in = "AbC-09_Z", .out = "abc-09_z" };
FIXTURE_VARIANT_ADD(folds, latin1){ .in = "ÀÉÎÕÜÞ", .out = "àéîõüþ" };
FIXTURE_VARIANT_ADD(folds, y_diaeresis){ .in = "Ÿ", .out = "ÿ" };
FIXTURE_VARIANT_ADD(folds, latin_ext_b){ .in = "ǄƁ", .out = "ǆɓ" };
FIXTURE_VARIANT_ADD(folds, greek_tonos){ .in = "ΆΊΌ", .out = "άίό" };
FIXTURE_VARIANT_ADD(folds, cyrillic){ .in = "ЁҐЖ", .out = "ёґж" };
FIXTURE_VARIANT_ADD(folds, armenian){ .in = "ԱՖ", .out = "աֆ" };
FIXTURE_VARIANT_ADD(folds, vietnamese){ .in = "ẠẶỸ", .out = "ạặỹ" };
FIXTURE_VARIANT_ADD(folds, fullwidth){ .in = "ＡＺ", .out = "ａｚ" };
/* outside clean pairs: Java maps these to other letters one way only */
FIXTURE_VARIANT_ADD(folds, dotted_capital_i){ .in = "İı", .out = "İı" };
FIXTURE_VARIANT_ADD(folds, kelvin_sign){ .in = "\xe2\x84\xaa", .out = "\xe2\x84\xaa" };
FIXTURE_VARIANT_ADD(folds, final_sigma){ .in = "ς", .out = "ς" };
FIXTURE_VARIANT_ADD(folds, sharp_s){ .in = "ßẞ", .out = "ßẞ" };
FIXTURE_VARIANT_ADD(folds, titlecase_digraph){ .in = "ǅ", .out = "ǅ" };
FIXTURE_VARIANT_ADD(folds, different_utf8_length){ .in = "Ⱥ", .out = "Ⱥ" };
FIXTURE_VARIANT_ADD(folds, non_bmp){ .in = "𐐀🚀", .out = "𐐀🚀" };

FIXTURE_SETUP(folds)
{
}

FIXTURE_TEARDOWN(folds)
{
}

TEST_F(folds, table)
{
	EXPECT_STREQ(variant->out, fold(variant->in, self->buf));
}

TEST(invalid_utf8_passes_through)
{
	/* a lead byte without its continuation, a stray continuation, a
	 * truncated 3-byte sequence at the end */
	const char in[] = "\xc3"
			  "A"
			  "\x80"
			  "B"
			  "\xe1\xba";
	char out[sizeof(in)];

	ASSERT_EQ(sizeof(in) - 1, casefold(in, sizeof(in) - 1, out));
	EXPECT_EQ(0, memcmp("\xc3"
			    "a"
			    "\x80"
			    "b"
			    "\xe1\xba",
			    out, sizeof(in) - 1));
}

TEST(length_is_kept)
{
	const char *s = "ΣΊΣΥΦΟΣ ĐẶNG ＡＷＳ Ǆ";
	char out[64];

	EXPECT_EQ(strlen(s), casefold(s, strlen(s), out));
}

TEST_HARNESS_MAIN

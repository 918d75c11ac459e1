// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests of EventBridge wildcard patterns (userspace/lib/wildcard.h). */
#include "wildcard.h"
#include "../harness.h"

FIXTURE(match)
{
	int unused;
};

FIXTURE_VARIANT(match)
{
	const char *pattern;
	const char *yes[6];
	const char *no[6];
};

FIXTURE_VARIANT_ADD(match, literal){
	.pattern = "abc",
	.yes = { "abc" },
	.no = { "ab", "abcd", "xabc", "", "ABC" },
};
FIXTURE_VARIANT_ADD(match, empty_pattern){ .pattern = "", .yes = { "" }, .no = { "a", "*" } };
FIXTURE_VARIANT_ADD(match, star_only){ .pattern = "*", .yes = { "", "a", "*", "anything at all" } };
FIXTURE_VARIANT_ADD(match, leading_star){
	.pattern = "*.png",
	.yes = { ".png", "a.png", "x.png.png" },
	.no = { "a.pngx", "png", "a.PNG", "" },
};
FIXTURE_VARIANT_ADD(match, trailing_star){
	.pattern = "dir/*",
	.yes = { "dir/", "dir/a", "dir/a/b" },
	.no = { "dir", "xdir/a", "Dir/a" },
};
FIXTURE_VARIANT_ADD(match, middle_star){
	.pattern = "a*z",
	.yes = { "az", "abz", "azz", "a*z", "azaz" },
	.no = { "a", "z", "aza", "za" },
};
FIXTURE_VARIANT_ADD(match, two_stars){
	.pattern = "*ab*cd*",
	.yes = { "abcd", "xxabyycdzz", "abab cdcd", "cdabcd" },
	.no = { "acbd", "cdab", "abc d", "" },
};
FIXTURE_VARIANT_ADD(match, backtracking){
	.pattern = "a*ab*abc",
	.yes = { "aababc", "aaabababc", "aabcabc" },
	.no = { "aabab", "aabca", "ababc x" },
};
FIXTURE_VARIANT_ADD(match, escaped_star){
	.pattern = "a\\*b",
	.yes = { "a*b" },
	.no = { "ab", "axb", "a\\*b", "a\\b" },
};
FIXTURE_VARIANT_ADD(match, escaped_star_then_star){
	.pattern = "\\**",
	.yes = { "*", "*abc", "**" },
	.no = { "", "a*", "\\*" },
};
FIXTURE_VARIANT_ADD(match, escaped_backslash){
	.pattern = "a\\\\b",
	.yes = { "a\\b" },
	.no = { "a\\\\b", "ab" },
};
FIXTURE_VARIANT_ADD(match, escaped_backslash_then_star){
	.pattern = "c:\\\\*",
	.yes = { "c:\\", "c:\\dir\\file" },
	.no = { "c:", "c:/dir" },
};
FIXTURE_VARIANT_ADD(match, utf8){
	.pattern = "caf\xc3\xa9*",
	.yes = { "caf\xc3\xa9", "caf\xc3\xa9s" },
	.no = { "cafe", "caf\xc3" },
};

FIXTURE_SETUP(match)
{
	char reason[128];

	ASSERT_TRUE(wildcard_validate(variant->pattern, strlen(variant->pattern), reason,
				      sizeof(reason)));
}

FIXTURE_TEARDOWN(match)
{
}

TEST_F(match, table)
{
	const char *p = variant->pattern;

	for (int i = 0; i < 6 && variant->yes[i]; i++)
		if (!wildcard_match(p, strlen(p), variant->yes[i], strlen(variant->yes[i]))) {
			TH_LOG("'%s' should match '%s'", p, variant->yes[i]);
			EXPECT_TRUE(0);
		}
	for (int i = 0; i < 6 && variant->no[i]; i++)
		if (wildcard_match(p, strlen(p), variant->no[i], strlen(variant->no[i]))) {
			TH_LOG("'%s' should not match '%s'", p, variant->no[i]);
			EXPECT_TRUE(0);
		}
}

TEST_F(match, is_literal)
{
	const char *p = variant->pattern;
	bool has_star = false;

	for (size_t i = 0; p[i]; i++) {
		if (p[i] == '\\') {
			i++;
			continue;
		}
		has_star |= p[i] == '*';
	}
	EXPECT_EQ(!has_star, wildcard_is_literal(p, strlen(p)));
}

TEST(match_respects_lengths)
{
	EXPECT_TRUE(wildcard_match("ab*", 2, "abc", 2));
	EXPECT_FALSE(wildcard_match("ab*", 2, "abc", 3));
	EXPECT_TRUE(wildcard_match("a*", 2, "a\0b", 3));
}

/* ------------------------------------------------------------ validate */

FIXTURE(validate)
{
	int unused;
};

FIXTURE_VARIANT(validate)
{
	const char *pattern;
	const char *err; /* NULL: valid */
};

/* Positions are 1-based byte offsets of the offending '*' or '\' (EventBridge
 * counts the quote it puts in front of the value). */
FIXTURE_VARIANT_ADD(validate, plain){ .pattern = "abc" };
FIXTURE_VARIANT_ADD(validate, stars){ .pattern = "*a*b*" };
FIXTURE_VARIANT_ADD(validate, escapes){ .pattern = "\\*\\\\*" };
FIXTURE_VARIANT_ADD(validate, escaped_star_before_star){ .pattern = "a\\**" };
FIXTURE_VARIANT_ADD(validate, consecutive_start){
	.pattern = "**",
	.err = "Consecutive wildcard characters at pos 1",
};
FIXTURE_VARIANT_ADD(validate, consecutive_middle){
	.pattern = "abc**def",
	.err = "Consecutive wildcard characters at pos 4",
};
FIXTURE_VARIANT_ADD(validate, consecutive_after_escape){
	.pattern = "\\\\**",
	.err = "Consecutive wildcard characters at pos 3",
};
FIXTURE_VARIANT_ADD(validate, consecutive_utf8_offset){
	.pattern = "\xc3\xa9**",
	.err = "Consecutive wildcard characters at pos 3",
};
FIXTURE_VARIANT_ADD(validate, bad_escape){
	.pattern = "a\\bc",
	.err = "Invalid escape character at pos 2",
};
FIXTURE_VARIANT_ADD(validate, bad_escape_later){
	.pattern = "a*c\\def",
	.err = "Invalid escape character at pos 4",
};
FIXTURE_VARIANT_ADD(validate, trailing_backslash){
	.pattern = "abc\\",
	.err = "Invalid escape character at pos 4",
};

FIXTURE_SETUP(validate)
{
}

FIXTURE_TEARDOWN(validate)
{
}

TEST_F(validate, reason)
{
	char reason[128] = "";
	bool ok = wildcard_validate(variant->pattern, strlen(variant->pattern), reason,
				    sizeof(reason));

	EXPECT_EQ(!variant->err, ok);
	if (variant->err)
		EXPECT_STREQ(variant->err, reason);
}

/* ---------------------------------------------------------- complexity */

static size_t cx(const char *p)
{
	return wildcard_complexity(p, strlen(p));
}

TEST(complexity_simple_patterns_are_low)
{
	EXPECT_EQ(1, cx("abc"));
	EXPECT_EQ(1, cx(""));
	/* a star's position, its closure and one step past a literal */
	EXPECT_LE(cx("*"), 2);
	EXPECT_LE(cx("abc*"), 3);
	EXPECT_LE(cx("*abc"), 3);
	EXPECT_LE(cx("a*b"), 3);
	EXPECT_LE(cx("\\*\\*\\*"), 1); /* escaped stars are literals */
}

TEST(complexity_grows_with_stars_and_repeats)
{
	EXPECT_LE(cx("a*b"), cx("a*b*c"));
	EXPECT_LE(cx("a*b*c"), cx("a*b*c*d"));
	EXPECT_LT(cx("*abc"), cx("*a*a*a*a*a"));
	EXPECT_LE(cx("*a*a*a*a*a"), 11); /* at most every position */
	EXPECT_GE(cx("*a*a*a*a*a"), 4);
}

TEST(complexity_bounded_by_positions)
{
	const char *ps[] = { "*a*b*c*d*e*f*g*", "*aaaaaaaaaaaaaaaa*", "x*y*x*y*x*y" };

	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		size_t c = cx(ps[i]);

		EXPECT_LE(1, c);
		EXPECT_GE(strlen(ps[i]) + 1, c);
	}
}

TEST_HARNESS_MAIN

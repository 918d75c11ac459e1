// SPDX-License-Identifier: BSD-2-Clause
#include "wildcard.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STAR 0x100 /* token value for an unescaped '*' */

/* Turn the pattern into tokens: bytes, or STAR. Returns the token count. */
static size_t tokenize(const char *p, size_t len, uint16_t *tok)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\\' && i + 1 < len) {
			tok[n++] = (unsigned char)p[++i];
			continue;
		}
		tok[n++] = p[i] == '*' ? STAR : (unsigned char)p[i];
	}
	return n;
}

bool wildcard_validate(const char *p, size_t len, char *reason,
		       size_t reason_len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\\') {
			if (i + 1 >= len || (p[i + 1] != '*' && p[i + 1] != '\\')) {
				snprintf(reason, reason_len,
					 "Invalid escape character at pos %zu",
					 i + 1);
				return false;
			}
			i++;
			continue;
		}
		if (p[i] == '*' && i + 1 < len && p[i + 1] == '*') {
			snprintf(reason, reason_len,
				 "Consecutive wildcard characters at pos %zu",
				 i + 1);
			return false;
		}
	}
	return true;
}

bool wildcard_is_literal(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\\') {
			i++;
			continue;
		}
		if (p[i] == '*')
			return false;
	}
	return true;
}

/* Iterative glob match with backtracking to the most recent star. */
bool wildcard_match(const char *p, size_t plen, const char *s, size_t slen)
{
	size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;

	while (si < slen) {
		if (pi < plen) {
			char c = p[pi];
			size_t step = 1;

			if (c == '\\' && pi + 1 < plen) {
				c = p[pi + 1];
				step = 2;
			} else if (c == '*') {
				star_p = ++pi;
				star_s = si;
				continue;
			}
			if (c == s[si]) {
				pi += step;
				si++;
				continue;
			}
		}
		if (star_p == SIZE_MAX)
			return false;
		pi = star_p;
		si = ++star_s;
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

/*
 * Simulate the pattern's NFA on every input class (each distinct literal
 * byte, plus "any other byte") breadth-first over reachable state sets, and
 * report the largest set. Sets are bitmaps over token positions; the search
 * is capped so a hostile pattern cannot make validation slow.
 */
size_t wildcard_complexity(const char *p, size_t len)
{
	uint16_t *tok = calloc(len + 1, sizeof(*tok));
	size_t n = tokenize(p, len, tok);
	size_t words = (n + 1 + 63) / 64;
	size_t cap = 4096, count = 0, head = 0, best = 0;
	uint64_t *sets = calloc(cap * words, sizeof(uint64_t));
	uint16_t alpha[257];
	size_t n_alpha = 0;

	for (size_t i = 0; i < n; i++) {
		if (tok[i] == STAR)
			continue;
		bool seen = false;

		for (size_t j = 0; j < n_alpha; j++)
			seen |= alpha[j] == tok[i];
		if (!seen)
			alpha[n_alpha++] = tok[i];
	}
	alpha[n_alpha++] = STAR; /* stands for a byte in no literal */

	/* closure: a star position may be skipped (matches empty) */
#define SET(s, i) ((s)[(i) / 64] |= 1ull << ((i) % 64))
#define HAS(s, i) (((s)[(i) / 64] >> ((i) % 64)) & 1)
	uint64_t *cur = sets;

	SET(cur, 0);
	for (size_t i = 0; i < n && tok[i] == STAR; i++)
		SET(cur, i + 1);
	count = 1;
	while (head < count && count < cap) {
		uint64_t *src = sets + head * words;
		size_t size = 0;

		for (size_t i = 0; i <= n; i++)
			size += HAS(src, i);
		if (size > best)
			best = size;
		head++;
		for (size_t a = 0; a < n_alpha && count < cap; a++) {
			uint64_t *dst = sets + count * words;
			bool any = false;

			memset(dst, 0, words * sizeof(uint64_t));
			for (size_t i = 0; i < n; i++) {
				if (!HAS(src, i))
					continue;
				if (tok[i] == STAR) {
					SET(dst, i);
					any = true;
				} else if (tok[i] == alpha[a]) {
					SET(dst, i + 1);
					any = true;
				}
			}
			if (!any)
				continue;
			for (size_t i = 0; i < n; i++)
				if (HAS(dst, i) && tok[i] == STAR)
					SET(dst, i + 1);
			bool dup = false;

			for (size_t k = 0; k < count && !dup; k++)
				dup = !memcmp(sets + k * words, dst,
					      words * sizeof(uint64_t));
			if (!dup)
				count++;
		}
	}
#undef SET
#undef HAS
	free(sets);
	free(tok);
	return best;
}

// SPDX-License-Identifier: BSD-2-Clause
#include "casefold.h"
#include "casefold_table.h"

#include <stdbool.h>
#include <stdint.h>

/* The lower case of @c if it is the upper half of a clean pair, else @c. */
static uint32_t fold_cp(uint32_t c)
{
	size_t lo = 0, hi = sizeof(casefold_pairs) / sizeof(casefold_pairs[0]);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (casefold_pairs[mid][0] == c)
			return casefold_pairs[mid][1];
		if (casefold_pairs[mid][0] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return c;
}

static bool is_cont(unsigned char b)
{
	return (b & 0xc0) == 0x80;
}

/*
 * Folding never changes the UTF-8 length: the table holds only pairs of
 * equal length, so a 2-byte (3-byte) sequence is rewritten in place.
 */
size_t casefold(const char *in, size_t len, char *out)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t i = 0;

	while (i < len) {
		unsigned char b = u[i];

		if (b < 0x80) {
			out[i] = (b >= 'A' && b <= 'Z') ? (char)(b + 32) : (char)b;
			i++;
		} else if ((b & 0xe0) == 0xc0 && i + 1 < len && is_cont(u[i + 1])) {
			uint32_t f = fold_cp(((uint32_t)(b & 0x1f) << 6) | (u[i + 1] & 0x3f));

			out[i] = (char)(0xc0 | (f >> 6));
			out[i + 1] = (char)(0x80 | (f & 0x3f));
			i += 2;
		} else if ((b & 0xf0) == 0xe0 && i + 2 < len && is_cont(u[i + 1]) &&
			   is_cont(u[i + 2])) {
			uint32_t f =
				fold_cp(((uint32_t)(b & 0x0f) << 12) |
					((uint32_t)(u[i + 1] & 0x3f) << 6) | (u[i + 2] & 0x3f));

			out[i] = (char)(0xe0 | (f >> 12));
			out[i + 1] = (char)(0x80 | ((f >> 6) & 0x3f));
			out[i + 2] = (char)(0x80 | (f & 0x3f));
			i += 3;
		} else {
			out[i] = in[i];
			i++;
		}
	}
	return len;
}

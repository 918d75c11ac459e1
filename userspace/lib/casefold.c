// SPDX-License-Identifier: BSD-2-Clause
#include "casefold.h"

#include <stdint.h>

static uint32_t fold_cp(uint32_t c)
{
	if (c >= 0xc0 && c <= 0xde && c != 0xd7)
		return c + 0x20;
	if (c >= 0x100 && c <= 0x17f) {
		/* pairs: even upper/odd lower, except 0x139-0x148, 0x179-0x17e */
		if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
			return (c & 1) ? c + 1 : c;
		if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149 ||
		    c == 0x17f)
			return c;
		if (c == 0x178)
			return 0xff;
		return (c & 1) ? c : c + 1;
	}
	if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
		return c + 0x20;
	if (c >= 0x410 && c <= 0x42f)
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40f)
		return c + 0x50;
	return c;
}

/* Folding never changes the UTF-8 length within the ranges above. */
size_t casefold(const char *in, size_t len, char *out)
{
	size_t i = 0;

	while (i < len) {
		unsigned char b = (unsigned char)in[i];

		if (b < 0x80) {
			out[i] = (b >= 'A' && b <= 'Z') ? (char)(b + 32) : (char)b;
			i++;
			continue;
		}
		if ((b & 0xe0) == 0xc0 && i + 1 < len &&
		    ((unsigned char)in[i + 1] & 0xc0) == 0x80) {
			uint32_t c = ((uint32_t)(b & 0x1f) << 6) |
				     ((unsigned char)in[i + 1] & 0x3f);
			uint32_t f = fold_cp(c);

			if (f >= 0x80 && f < 0x800) {
				out[i] = (char)(0xc0 | (f >> 6));
				out[i + 1] = (char)(0x80 | (f & 0x3f));
			} else {
				out[i] = in[i];
				out[i + 1] = in[i + 1];
			}
			i += 2;
			continue;
		}
		out[i] = in[i];
		i++;
	}
	return len;
}

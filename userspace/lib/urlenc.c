// SPDX-License-Identifier: BSD-2-Clause
#include "urlenc.h"
#include "bpfbus/hexdigit.h"
#include "strbuf.h"

#include <stdlib.h>

char *pct_decode(const char *s, size_t len, bool plus_is_space, size_t *out_len)
{
	char *out = xmalloc(len + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi = i + 2 < len ? bb_hex_digit((unsigned char)s[i + 1]) : -1;
			int lo = hi >= 0 ? bb_hex_digit((unsigned char)s[i + 2]) : -1;

			if (lo < 0) {
				free(out);
				return NULL;
			}
			out[n++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[n++] = plus_is_space && s[i] == '+' ? ' ' : s[i];
		}
	}
	out[n] = '\0';
	*out_len = n;
	return out;
}

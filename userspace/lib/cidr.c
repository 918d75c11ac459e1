// SPDX-License-Identifier: BSD-2-Clause
#include "cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static bool parse_v4(const char *s, size_t len, uint8_t out[4])
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		size_t digits = 0;

		while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 3) {
			v = v * 10 + (unsigned)(s[i] - '0');
			i++;
			digits++;
		}
		if (!digits || v > 255)
			return false;
		out[part] = (uint8_t)v;
		if (part < 3) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
	}
	return i == len;
}

bool ip_parse(const char *s, size_t len, uint8_t addr[16], bool *v6)
{
	char buf[64];

	memset(addr, 0, 16);
	/* inet_pton would stop at a NUL; such a string is no address at all */
	if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len))
		return false;
	if (memchr(s, ':', len)) {
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (inet_pton(AF_INET6, buf, addr) != 1)
			return false;
		*v6 = true;
		return true;
	}
	*v6 = false;
	return parse_v4(s, len, addr);
}

/* event-ruler takes IPv6 text only of hex digits and colons (Constants.IPv6_REGEX). */
static bool ipv6_text_plain(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!(c == ':' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

bool ip_parse_pattern(const char *s, size_t len, uint8_t addr[16], bool *v6)
{
	if (memchr(s, ':', len) && !ipv6_text_plain(s, len))
		return false;
	return ip_parse(s, len, addr, v6);
}

void cidr_mask(uint8_t addr[16], uint8_t bits)
{
	for (int i = 0; i < 16; i++) {
		int keep = (int)bits - i * 8;

		if (keep >= 8)
			continue;
		addr[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
}

bool cidr_parse(const char *s, size_t len, uint8_t lo[16], uint8_t hi[16], bool *v6, char *reason,
		size_t reason_len)
{
	/* like Java's split("/"): trailing empty parts vanish */
	size_t n = len;

	while (n > 0 && s[n - 1] == '/')
		n--;
	const char *slash = memchr(s, '/', n);

	if (!slash || memchr(slash + 1, '/', n - (size_t)(slash + 1 - s))) {
		snprintf(reason, reason_len, "Malformed CIDR, one '/' required");
		return false;
	}
	const char *m = slash + 1;
	size_t mlen = n - (size_t)(m - s), i = 0;
	bool neg = false;
	long v = 0;

	if (mlen && (m[0] == '-' || m[0] == '+')) {
		neg = m[0] == '-';
		i = 1;
	}
	if (i >= mlen || mlen - i > 10)
		goto not_int;
	for (; i < mlen; i++) {
		if (m[i] < '0' || m[i] > '9')
			goto not_int;
		v = v * 10 + (m[i] - '0');
	}
	if (v > 2147483647L + neg)
		goto not_int;
	if (neg && v > 0) {
		snprintf(reason, reason_len, "Malformed CIDR, mask bits must not be negative");
		return false;
	}
	size_t alen = (size_t)(slash - s);

	if (!ip_parse_pattern(s, alen, lo, v6)) {
		snprintf(reason, reason_len, "Nonstandard IP address: %.*s", (int)alen, s);
		return false;
	}
	if (!*v6 && v > 31) {
		snprintf(reason, reason_len, "IPv4 mask bits must be < 32");
		return false;
	}
	if (*v6 && v > 127) {
		snprintf(reason, reason_len, "IPv6 mask bits must be < 128");
		return false;
	}
	size_t bytes = *v6 ? 16 : 4;

	memcpy(hi, lo, 16);
	for (size_t k = 0; k < bytes; k++) {
		long keep = v - (long)k * 8;

		if (keep < 8)
			hi[k] |= keep <= 0 ? 0xff : (uint8_t)(0xff >> keep);
	}
	return true;
not_int:
	snprintf(reason, reason_len, "Malformed CIDR, mask bits must be an integer");
	return false;
}

static int addr_cmp(const uint8_t *a, const uint8_t *b, size_t alen)
{
	return memcmp(a, b, alen);
}

/* Is @a aligned to a block of (alen*8 - host) prefix bits? */
static bool aligned(const uint8_t *a, size_t alen, unsigned host)
{
	for (size_t k = alen; k-- > 0 && host > 0;) {
		unsigned take = host >= 8 ? 8 : host;
		uint8_t mask = (uint8_t)((1u << take) - 1);

		if (a[k] & mask)
			return false;
		host -= take;
	}
	return true;
}

/* a + 2^host - 1 (the block's last address) into out; false on overflow. */
static bool block_end(const uint8_t *a, size_t alen, unsigned host, uint8_t *out)
{
	memcpy(out, a, alen);
	for (size_t k = alen; k-- > 0 && host > 0;) {
		unsigned take = host >= 8 ? 8 : host;

		out[k] |= (uint8_t)((1u << take) - 1);
		host -= take;
	}
	return true;
}

static bool addr_inc(uint8_t *a, size_t alen)
{
	for (size_t k = alen; k-- > 0;)
		if (++a[k] != 0)
			return true;
	return false; /* wrapped past the top */
}

void range_to_prefixes(const uint8_t lo[16], const uint8_t hi[16], size_t alen,
		       void (*fn)(void *arg, const uint8_t *prefix, uint8_t bits), void *arg)
{
	uint8_t cur[16], end[16];
	unsigned total = (unsigned)alen * 8;

	memcpy(cur, lo, alen);
	for (;;) {
		/* the largest aligned block at cur that stays within hi */
		unsigned host = total;

		while (host > 0 && !(aligned(cur, alen, host) && block_end(cur, alen, host, end) &&
				     addr_cmp(end, hi, alen) <= 0))
			host--;
		block_end(cur, alen, host, end);
		fn(arg, cur, (uint8_t)(total - host));
		if (addr_cmp(end, hi, alen) >= 0)
			return;
		memcpy(cur, end, alen);
		if (!addr_inc(cur, alen))
			return;
	}
}

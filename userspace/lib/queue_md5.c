// SPDX-License-Identifier: BSD-2-Clause
/*
 * Digests: MD5OfMessageBody, MD5OfMessageAttributes, SHA-256 for
 * content-based deduplication; hex, UUID and random helpers.
 */
#include "queue_int.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void qhex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void quuid_format(const uint8_t id[16], char out[37])
{
	char hex[33];

	qhex(id, 16, hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

void qrandom(void *p, size_t n)
{
	if (RAND_bytes(p, (int)n) != 1)
		abort();
}

static void digest(const EVP_MD *md, const void *p, size_t n, uint8_t *out)
{
	unsigned int len;

	if (EVP_Digest(p, n, out, &len, md, NULL) != 1)
		abort();
}

void qmd5(const void *p, size_t n, uint8_t out[16])
{
	digest(EVP_md5(), p, n, out);
}

void qsha256_hex(const void *p, size_t n, char out[65])
{
	uint8_t d[32];

	digest(EVP_sha256(), p, n, d);
	qhex(d, 32, out);
}

void queue_md5_body(const void *body, size_t len, char *out)
{
	uint8_t d[16];

	qmd5(body, len, d);
	qhex(d, 16, out);
}

static void add_len_bytes(EVP_MD_CTX *c, const void *p, size_t n)
{
	uint8_t be[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };

	EVP_DigestUpdate(c, be, 4);
	EVP_DigestUpdate(c, p, n);
}

static int by_name(const void *a, const void *b)
{
	const struct queue_msg_attr *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/*
 * The SQS algorithm: attributes sorted by name; each contributes its name and
 * data type (4-byte big-endian length, then the UTF-8 bytes), one transport
 * byte (1: String and Number, 2: Binary) and its value, length-prefixed too.
 */
void queue_md5_attrs(const struct queue_msg_attr *a, size_t n, char *out)
{
	const struct queue_msg_attr *sorted[QUEUE_MAX_ATTRS * 2];
	uint8_t d[16];
	unsigned int len;
	EVP_MD_CTX *c;

	out[0] = '\0';
	if (n == 0 || n > sizeof(sorted) / sizeof(sorted[0]))
		return;
	for (size_t i = 0; i < n; i++)
		sorted[i] = &a[i];
	qsort(sorted, n, sizeof(sorted[0]), by_name);
	c = EVP_MD_CTX_new();
	if (!c || EVP_DigestInit_ex(c, EVP_md5(), NULL) != 1)
		abort();
	for (size_t i = 0; i < n; i++) {
		uint8_t transport = strncmp(sorted[i]->type, "Binary", 6) == 0 ? 2 : 1;

		add_len_bytes(c, sorted[i]->name, strlen(sorted[i]->name));
		add_len_bytes(c, sorted[i]->type, strlen(sorted[i]->type));
		EVP_DigestUpdate(c, &transport, 1);
		add_len_bytes(c, sorted[i]->value, sorted[i]->len);
	}
	EVP_DigestFinal_ex(c, d, &len);
	EVP_MD_CTX_free(c);
	qhex(d, 16, out);
}

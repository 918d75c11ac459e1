// SPDX-License-Identifier: BSD-2-Clause
/*
 * Digests: MD5OfMessageBody, MD5OfMessageAttributes, SHA-256 for
 * content-based deduplication; hex, UUID and random helpers.
 */
#include "queue_int.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	size_t o = 0;

	/* 8-4-4-4-12 */
	qhex(id, 16, hex);
	for (int i = 0; i < 32; i++) {
		if (i == 8 || i == 12 || i == 16 || i == 20)
			out[o++] = '-';
		out[o++] = hex[i];
	}
	out[o] = '\0';
}

/*
 * Random bytes from OpenSSL's DRBG, drawn 4 KiB at a time: one message id per
 * send made RAND_bytes (and its locks) a visible part of the intake's cost.
 * The pool is refilled in a forked child, which must not repeat its parent.
 */
static struct {
	uint8_t buf[4096];
	size_t left;
	pid_t pid;
} pool;

void qrandom(void *p, size_t n)
{
	uint8_t *out = p;

	if (pool.pid != getpid()) {
		pool.left = 0;
		pool.pid = getpid();
	}
	while (n) {
		if (!pool.left) {
			if (RAND_bytes(pool.buf, (int)sizeof(pool.buf)) != 1)
				abort();
			pool.left = sizeof(pool.buf);
		}
		size_t k = n < pool.left ? n : pool.left;
		uint8_t *src = pool.buf + sizeof(pool.buf) - pool.left;

		memcpy(out, src, k);
		memset(src, 0, k); /* handed out once */
		pool.left -= k;
		out += k;
		n -= k;
	}
}

/* The digests, fetched once: an implicit fetch per call takes OpenSSL's locks. */
static const EVP_MD *md5_md, *sha256_md;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void fetch_mds(void)
{
	md5_md = EVP_MD_fetch(NULL, "MD5", NULL);
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!md5_md || !sha256_md)
		abort();
}

static const EVP_MD *md5(void)
{
	pthread_once(&md_once, fetch_mds);
	return md5_md;
}

static const EVP_MD *sha256(void)
{
	pthread_once(&md_once, fetch_mds);
	return sha256_md;
}

static void digest(const EVP_MD *md, const void *p, size_t n, uint8_t *out)
{
	unsigned int len;

	if (EVP_Digest(p, n, out, &len, md, NULL) != 1)
		abort();
}

void qmd5(const void *p, size_t n, uint8_t out[16])
{
	digest(md5(), p, n, out);
}

void qsha256_hex(const void *p, size_t n, char out[65])
{
	uint8_t d[32];

	digest(sha256(), p, n, d);
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
	if (!c || EVP_DigestInit_ex(c, md5(), NULL) != 1)
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

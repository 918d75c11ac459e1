// SPDX-License-Identifier: BSD-2-Clause
/*
 * AWS Signature Version 4 verification (sigv4.h): the Authorization header,
 * the canonical request rebuilt from the raw request, the string to sign,
 * the signing key chain, the clock and scope checks.
 */
#define _GNU_SOURCE /* strchrnul, strptime */
#include "sigv4.h"
#include "strbuf.h"
#include "urlenc.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const struct {
	const char *code;
	int status;
} errs[] = {
	[SIGV4_OK] = { "", 200 },
	[SIGV4_MISSING_TOKEN] = { "MissingAuthenticationToken", 403 },
	[SIGV4_INCOMPLETE_SIGNATURE] = { "IncompleteSignature", 400 },
	[SIGV4_INVALID_CLIENT_TOKEN_ID] = { "InvalidClientTokenId", 403 },
	[SIGV4_SIGNATURE_DOES_NOT_MATCH] = { "SignatureDoesNotMatch", 403 },
	[SIGV4_REQUEST_EXPIRED] = { "RequestExpired", 400 },
	[SIGV4_ACCESS_DENIED] = { "AccessDenied", 403 },
};

const char *sigv4_err_code(enum sigv4_err e)
{
	return (size_t)e < sizeof(errs) / sizeof(errs[0]) ? errs[e].code : "InternalFailure";
}

int sigv4_err_status(enum sigv4_err e)
{
	return (size_t)e < sizeof(errs) / sizeof(errs[0]) ? errs[e].status : 500;
}

static int fail(struct sigv4_result *res, enum sigv4_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct sigv4_result *res, enum sigv4_err code, const char *fmt, ...)
{
	va_list ap;

	res->code = code;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* ------------------------------------------------------------ hashing */

static void hex(const unsigned char *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

void sigv4_sha256_hex(const void *data, size_t len, char *out)
{
	unsigned char md[32];
	unsigned int n = 0;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	hex(md, 32, out);
}

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
	unsigned int n = 32;

	HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &n);
}

/* ------------------------------------------------------------ canonical request */

static bool unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static void uri_encode(struct strbuf *sb, const char *s, size_t len, bool keep_slash)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (unreserved(c) || (keep_slash && c == '/'))
			sb_addc(sb, (char)c);
		else
			sb_printf(sb, "%%%02X", c);
	}
}

/* Percent-decoding of one query component ('+' stays '+'; a bad escape stays as sent). */
static char *uri_decode(const char *s, size_t len, size_t *out_len)
{
	char *out = pct_decode(s, len, false, out_len);

	if (!out) {
		out = xstrndup(s, len);
		*out_len = len;
	}
	return out;
}

/* The path without "." and ".." segments or empty segments, as SigV4 normalises it. */
static void canonical_path(struct strbuf *sb, const char *path)
{
	const char *segs[256];
	size_t lens[256], n = 0;
	const char *p = path && *path ? path : "/";
	bool trailing = p[strlen(p) - 1] == '/';

	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t l = (size_t)(e - p);

		if (l == 2 && !memcmp(p, "..", 2)) {
			if (n)
				n--;
		} else if (l && !(l == 1 && *p == '.') && n < 256) {
			segs[n] = p;
			lens[n++] = l;
		}
		p = *e ? e + 1 : e;
	}
	for (size_t i = 0; i < n; i++) {
		sb_addc(sb, '/');
		uri_encode(sb, segs[i], lens[i], false);
	}
	if (!n || trailing)
		sb_addc(sb, '/');
}

struct qparam {
	struct strbuf kv; /* encoded "key=value" */
	size_t klen; /* length of the encoded key */
};

static int by_key_then_value(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	size_t kl = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->kv.buf, y->kv.buf, kl);

	if (c)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return strcmp(x->kv.buf + x->klen, y->kv.buf + y->klen);
}

static void canonical_query(struct strbuf *sb, const char *query)
{
	struct qparam *v = NULL;
	size_t n = 0;
	const char *p = query ? query : "";

	while (*p) {
		const char *e = strchrnul(p, '&');
		const char *eq = memchr(p, '=', (size_t)(e - p));
		const char *vend = e;
		size_t dl;
		char *d;

		if (e == p) {
			p = *e ? e + 1 : e;
			continue;
		}
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n].kv = (struct strbuf)STRBUF_INIT;
		d = uri_decode(p, (size_t)((eq ? eq : e) - p), &dl);
		uri_encode(&v[n].kv, d, dl, false);
		free(d);
		v[n].klen = v[n].kv.len;
		sb_addc(&v[n].kv, '=');
		if (eq) {
			d = uri_decode(eq + 1, (size_t)(vend - eq - 1), &dl);
			uri_encode(&v[n].kv, d, dl, false);
			free(d);
		}
		n++;
		p = *e ? e + 1 : e;
	}
	if (n)
		qsort(v, n, sizeof(*v), by_key_then_value);
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_addc(sb, '&');
		sb_add(sb, v[i].kv.buf, v[i].kv.len);
		sb_free(&v[i].kv);
	}
	free(v);
}

/* The value with outer spaces trimmed and inner runs of spaces collapsed. */
static void trimmed_value(struct strbuf *sb, const char *s)
{
	bool space = false, any = false;

	for (; *s; s++) {
		if (*s == ' ' || *s == '\t') {
			space = true;
			continue;
		}
		if (space && any)
			sb_addc(sb, ' ');
		space = false;
		any = true;
		sb_addc(sb, *s);
	}
}

/* "name:v1,v2\n" for each signed header name, values in arrival order. */
static void canonical_headers(struct strbuf *sb, const struct sigv4_request *req,
			      const char *signed_headers)
{
	const char *p = signed_headers;

	while (*p) {
		const char *e = strchrnul(p, ';');
		size_t l = (size_t)(e - p);
		bool first = true;

		sb_add(sb, p, l);
		sb_addc(sb, ':');
		for (size_t i = 0; i < req->nheaders; i++) {
			const char *name = req->headers[i].name;

			if (strlen(name) != l || strncasecmp(name, p, l))
				continue;
			if (!first)
				sb_addc(sb, ',');
			first = false;
			trimmed_value(sb, req->headers[i].value ? req->headers[i].value : "");
		}
		sb_addc(sb, '\n');
		p = *e ? e + 1 : e;
	}
}

static void canonical_request(struct strbuf *sb, const struct sigv4_request *req,
			      const char *signed_headers)
{
	char body_hash[65];

	sb_adds(sb, req->method);
	sb_addc(sb, '\n');
	canonical_path(sb, req->path);
	sb_addc(sb, '\n');
	canonical_query(sb, req->query);
	sb_addc(sb, '\n');
	canonical_headers(sb, req, signed_headers);
	sb_addc(sb, '\n');
	sb_adds(sb, signed_headers);
	sb_addc(sb, '\n');
	sigv4_sha256_hex(req->body ? req->body : "", req->body_len, body_hash);
	sb_adds(sb, body_hash);
}

void sigv4_sign(const struct sigv4_request *req, const char *signed_headers, const char *secret,
		const char *amz_date, const char *region, const char *service, char *out)
{
	struct strbuf creq = STRBUF_INIT, sts = STRBUF_INIT, k = STRBUF_INIT;
	unsigned char kdate[32], kregion[32], kservice[32], ksigning[32], sig[32];
	char date[9], creq_hash[65];

	snprintf(date, sizeof(date), "%.8s", amz_date);
	canonical_request(&creq, req, signed_headers);
	sigv4_sha256_hex(creq.buf, creq.len, creq_hash);
	sb_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", amz_date, date, region,
		  service, creq_hash);
	sb_printf(&k, "AWS4%s", secret);
	hmac(k.buf, k.len, date, kdate);
	hmac(kdate, 32, region, kregion);
	hmac(kregion, 32, service, kservice);
	hmac(kservice, 32, "aws4_request", ksigning);
	hmac(ksigning, 32, sts.buf, sig);
	hex(sig, 32, out);
	OPENSSL_cleanse(k.buf, k.len);
	sb_free(&creq);
	sb_free(&sts);
	sb_free(&k);
}

/* ------------------------------------------------------------ verification */

static const char *header(const struct sigv4_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (!strcasecmp(req->headers[i].name, name))
			return req->headers[i].value ? req->headers[i].value : "";
	return NULL;
}

/* One "Name=value" component of the Authorization header, copied into @out. */
static bool auth_part(const char *auth, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	const char *p = auth;

	while ((p = strstr(p, name))) {
		bool starts = p == auth || p[-1] == ' ' || p[-1] == ',';

		if (starts && p[nl] == '=') {
			const char *v = p + nl + 1;
			size_t l = strcspn(v, ", ");

			if (l >= cap)
				return false;
			memcpy(out, v, l);
			out[l] = '\0';
			return true;
		}
		p += nl;
	}
	return false;
}

/* "20150830T123600Z" or an RFC 1123 Date header, to ms; -1 when neither. */
static int64_t parse_date(const char *s, bool amz, char *iso, size_t cap)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, amz ? "%Y%m%dT%H%M%SZ" : "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return -1;
	strftime(iso, cap, "%Y%m%dT%H%M%SZ", &tm);
	return (int64_t)timegm(&tm) * 1000;
}

static void iso_of(int64_t ms, char *buf, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y%m%dT%H%M%SZ", &tm);
}

static bool signed_list_has(const char *list, const char *name)
{
	size_t l = strlen(name);

	for (const char *p = list; *p;) {
		const char *e = strchrnul(p, ';');

		if ((size_t)(e - p) == l && !strncmp(p, name, l))
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}

static int check_clock(const struct sigv4_request *req, int64_t t, const char *iso,
		       struct sigv4_result *res)
{
	char now[32], edge[32];

	iso_of(req->now_ms, now, sizeof(now));
	if (t < req->now_ms - SIGV4_MAX_SKEW_MS) {
		iso_of(req->now_ms - SIGV4_MAX_SKEW_MS, edge, sizeof(edge));
		return fail(res, SIGV4_REQUEST_EXPIRED,
			    "Signature expired: %s is now earlier than %s (%s - 15 min.)", iso,
			    edge, now);
	}
	if (t > req->now_ms + SIGV4_MAX_SKEW_MS) {
		iso_of(req->now_ms + SIGV4_MAX_SKEW_MS, edge, sizeof(edge));
		return fail(res, SIGV4_REQUEST_EXPIRED,
			    "Signature not yet current: %s is still later than %s (%s + 15 min.)",
			    iso, edge, now);
	}
	return 0;
}

/* Credential=KEY/DATE/REGION/SERVICE/aws4_request, split in place. */
static int split_scope(char *cred, char **parts, struct sigv4_result *res)
{
	int n = 0;

	for (char *p = cred; n < 5; n++) {
		parts[n] = p;
		p = strchr(p, '/');
		if (!p)
			break;
		*p++ = '\0';
	}
	if (n != 4 || strchr(parts[4], '/') || !*parts[0])
		return fail(res, SIGV4_INCOMPLETE_SIGNATURE,
			    "Authorization header's Credential must be "
			    "KEY/YYYYMMDD/REGION/SERVICE/aws4_request.");
	return 0;
}

static int check_scope(char **parts, const char *iso, const char *region, const char *service,
		       struct sigv4_result *res)
{
	if (strlen(parts[1]) != 8 || strncmp(parts[1], iso, 8))
		return fail(
			res, SIGV4_SIGNATURE_DOES_NOT_MATCH,
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
			"of date from HTTP: '%.16s' != '%.8s', from '%s'.",
			parts[1], iso, iso);
	if (strcmp(parts[2], region))
		return fail(res, SIGV4_SIGNATURE_DOES_NOT_MATCH,
			    "Credential should be scoped to a valid region, not '%.64s'. Expected "
			    "'%s'.",
			    parts[2], region);
	if (strcmp(parts[3], service))
		return fail(res, SIGV4_SIGNATURE_DOES_NOT_MATCH,
			    "Credential should be scoped to correct service: '%s'.", service);
	if (strcmp(parts[4], "aws4_request"))
		return fail(res, SIGV4_SIGNATURE_DOES_NOT_MATCH,
			    "Credential should be scoped with a valid terminator: 'aws4_request', "
			    "not '%.32s'.",
			    parts[4]);
	return 0;
}

int sigv4_verify(const struct sigv4_creds *creds, const struct sigv4_request *req,
		 const char *region, const char *service, struct sigv4_result *res)
{
	char cred[256], signed_headers[1024], sig[80], iso[32], want[65];
	const char *auth = header(req, "Authorization"), *date;
	const struct sigv4_cred *key = NULL;
	char *parts[5];
	bool amz;
	int64_t t;

	res->code = SIGV4_OK;
	res->message[0] = '\0';
	res->cred = NULL;
	if (!auth)
		return fail(res, SIGV4_MISSING_TOKEN, "Request is missing Authentication Token");
	if (strncmp(auth, "AWS4-HMAC-SHA256 ", 17))
		return fail(res, SIGV4_INCOMPLETE_SIGNATURE,
			    "Unsupported AWS 'algorithm': '%.*s'. Only AWS4-HMAC-SHA256 is "
			    "accepted.",
			    (int)strcspn(auth, " "), auth);
	if (!auth_part(auth + 17, "Credential", cred, sizeof(cred)) ||
	    !auth_part(auth + 17, "SignedHeaders", signed_headers, sizeof(signed_headers)) ||
	    !auth_part(auth + 17, "Signature", sig, sizeof(sig)))
		return fail(res, SIGV4_INCOMPLETE_SIGNATURE,
			    "Authorization header requires 'Credential', 'SignedHeaders' and "
			    "'Signature' parameters. Authorization=%.300s",
			    auth);
	if (split_scope(cred, parts, res))
		return -1;
	for (size_t i = 0; i < creds->n && !key; i++)
		if (!strcmp(creds->v[i].access_key_id, parts[0]))
			key = &creds->v[i];
	if (!key)
		return fail(res, SIGV4_INVALID_CLIENT_TOKEN_ID,
			    "The security token included in the request is invalid.");
	amz = (date = header(req, "X-Amz-Date")) != NULL;
	if (!amz && !(date = header(req, "Date")))
		return fail(res, SIGV4_INCOMPLETE_SIGNATURE,
			    "Authorization header requires existence of either a 'X-Amz-Date' or "
			    "a 'Date' header.");
	t = parse_date(date, amz, iso, sizeof(iso));
	if (t < 0)
		return fail(res, SIGV4_INCOMPLETE_SIGNATURE,
			    "Date must be in ISO-8601 'basic format'; got '%.64s'.", date);
	if (check_clock(req, t, iso, res) || check_scope(parts, iso, region, service, res))
		return -1;
	if (!signed_list_has(signed_headers, "host"))
		return fail(res, SIGV4_SIGNATURE_DOES_NOT_MATCH,
			    "'Host' must be a 'SignedHeader' in the AWS Authorization.");
	if (!signed_list_has(signed_headers, amz ? "x-amz-date" : "date"))
		return fail(res, SIGV4_SIGNATURE_DOES_NOT_MATCH,
			    "'%s' must be a 'SignedHeader' in the AWS Authorization.",
			    amz ? "X-Amz-Date" : "Date");
	sigv4_sign(req, signed_headers, key->secret, iso, region, service, want);
	if (strlen(sig) != 64 || CRYPTO_memcmp(sig, want, 64))
		return fail(
			res, SIGV4_SIGNATURE_DOES_NOT_MATCH,
			"The request signature we calculated does not match the signature you "
			"provided. Check your AWS Secret Access Key and signing method. Consult "
			"the service documentation for details.");
	res->cred = key;
	return 0;
}

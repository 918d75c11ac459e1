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

/* Is the raw parameter at @p (up to @e) the presigned URL's own signature? */
static bool is_signature_param(const char *p, const char *e)
{
	return e - p >= 15 && !strncmp(p, "X-Amz-Signature", 15) && (p + 15 == e || p[15] == '=');
}

/* The sorted, re-encoded query; a presigned URL's X-Amz-Signature left out. */
static void canonical_query(struct strbuf *sb, const char *query, bool presigned)
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

		if (e == p || (presigned && is_signature_param(p, e))) {
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

/* How a signature was computed, beyond the request itself. */
struct sign_how {
	bool presigned; /* the query string carries the signature */
	const char *payload_hash; /* NULL: SHA-256 of the body */
};

static void canonical_request(struct strbuf *sb, const struct sigv4_request *req,
			      const char *signed_headers, const struct sign_how *how)
{
	char body_hash[65];

	sb_adds(sb, req->method);
	sb_addc(sb, '\n');
	canonical_path(sb, req->path);
	sb_addc(sb, '\n');
	canonical_query(sb, req->query, how->presigned);
	sb_addc(sb, '\n');
	canonical_headers(sb, req, signed_headers);
	sb_addc(sb, '\n');
	sb_adds(sb, signed_headers);
	sb_addc(sb, '\n');
	if (how->payload_hash) {
		sb_adds(sb, how->payload_hash);
		return;
	}
	sigv4_sha256_hex(req->body ? req->body : "", req->body_len, body_hash);
	sb_adds(sb, body_hash);
}

static void sign_as(const struct sigv4_request *req, const char *signed_headers,
		    const struct sign_how *how, const char *secret, const char *amz_date,
		    const char *region, const char *service, char *out)
{
	struct strbuf creq = STRBUF_INIT, sts = STRBUF_INIT, k = STRBUF_INIT;
	unsigned char kdate[32], kregion[32], kservice[32], ksigning[32], sig[32];
	char date[9], creq_hash[65];

	snprintf(date, sizeof(date), "%.8s", amz_date);
	canonical_request(&creq, req, signed_headers, how);
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

void sigv4_sign_payload(const struct sigv4_request *req, const char *signed_headers,
			const char *payload_hash, const char *secret, const char *amz_date,
			const char *region, const char *service, char *out)
{
	struct sign_how how = { .presigned = false, .payload_hash = payload_hash };

	sign_as(req, signed_headers, &how, secret, amz_date, region, service, out);
}

void sigv4_sign(const struct sigv4_request *req, const char *signed_headers, const char *secret,
		const char *amz_date, const char *region, const char *service, char *out)
{
	sigv4_sign_payload(req, signed_headers, NULL, secret, amz_date, region, service, out);
}

/* ------------------------------------------------------------ verification */

static const char *header(const struct sigv4_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (!strcasecmp(req->headers[i].name, name))
			return req->headers[i].value ? req->headers[i].value : "";
	return NULL;
}

/* What a request says about its signature, from its Authorization header or its query. */
struct auth_in {
	bool presigned;
	char cred[256];
	char signed_headers[1024];
	char sig[80];
	char date[64]; /* X-Amz-Date, or an RFC 1123 Date header when !amz */
	bool amz;
	long long expires_s; /* presigned: X-Amz-Expires */
	char token[4096]; /* X-Amz-Security-Token */
	bool has_token;
};

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

static bool copy_value(const char *v, char *out, size_t cap, bool *present)
{
	*present = v != NULL;
	if (!v)
		return true;
	if (strlen(v) >= cap)
		return false;
	strcpy(out, v);
	return true;
}

static int read_header_auth(const struct sigv4_request *req, const char *auth, struct auth_in *a,
			    struct sigv4_result *res)
{
	const char *date;
	bool present;

	if (strncmp(auth, "AWS4-HMAC-SHA256 ", 17))
		return fail(res, SIGV4_INCOMPLETE_SIGNATURE,
			    "Unsupported AWS 'algorithm': '%.*s'. Only AWS4-HMAC-SHA256 is "
			    "accepted.",
			    (int)strcspn(auth, " "), auth);
	if (!auth_part(auth + 17, "Credential", a->cred, sizeof(a->cred)) ||
	    !auth_part(auth + 17, "SignedHeaders", a->signed_headers, sizeof(a->signed_headers)) ||
	    !auth_part(auth + 17, "Signature", a->sig, sizeof(a->sig)))
		return fail(res, SIGV4_INCOMPLETE_SIGNATURE,
			    "Authorization header requires 'Credential', 'SignedHeaders' and "
			    "'Signature' parameters. Authorization=%.300s",
			    auth);
	a->amz = (date = header(req, "X-Amz-Date")) != NULL;
	if (!a->amz && !(date = header(req, "Date")))
		return fail(res, SIGV4_INCOMPLETE_SIGNATURE,
			    "Authorization header requires existence of either a 'X-Amz-Date' or "
			    "a 'Date' header.");
	if (!copy_value(date, a->date, sizeof(a->date), &present) ||
	    !copy_value(header(req, "X-Amz-Security-Token"), a->token, sizeof(a->token),
			&a->has_token))
		return fail(res, SIGV4_INCOMPLETE_SIGNATURE,
			    "The date or security token header is too long.");
	return 0;
}

/*
 * The decoded value of the query parameter @name into @out: 1, 0 when it is
 * not there, -1 when it is too long or badly encoded.
 */
static int query_param(const char *query, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	for (const char *p = query ? query : ""; *p;) {
		const char *e = strchrnul(p, '&');

		if ((size_t)(e - p) >= nl && !strncmp(p, name, nl) &&
		    (p[nl] == '=' || p + nl == e)) {
			const char *v = p + nl + (p[nl] == '=');
			size_t dl;
			char *d = pct_decode(v, (size_t)(e - v), false, &dl);
			int rc = d && dl < cap && !memchr(d, '\0', dl) ? 1 : -1;

			if (rc == 1)
				memcpy(out, d, dl + 1);
			free(d);
			return rc;
		}
		p = *e ? e + 1 : e;
	}
	return 0;
}

/* A presigned URL: the signature and its parameters in the query string. */
static int read_query_auth(const struct sigv4_request *req, struct auth_in *a,
			   struct sigv4_result *res)
{
	char algo[64], expires[32], *end;
	int tok;

	a->presigned = true;
	a->amz = true;
	if (query_param(req->query, "X-Amz-Algorithm", algo, sizeof(algo)) != 1 ||
	    strcmp(algo, "AWS4-HMAC-SHA256"))
		return fail(res, SIGV4_INCOMPLETE_SIGNATURE,
			    "Unsupported AWS 'algorithm' in X-Amz-Algorithm. Only AWS4-HMAC-SHA256 "
			    "is accepted.");
	if (query_param(req->query, "X-Amz-Credential", a->cred, sizeof(a->cred)) != 1 ||
	    query_param(req->query, "X-Amz-Date", a->date, sizeof(a->date)) != 1 ||
	    query_param(req->query, "X-Amz-Expires", expires, sizeof(expires)) != 1 ||
	    query_param(req->query, "X-Amz-SignedHeaders", a->signed_headers,
			sizeof(a->signed_headers)) != 1 ||
	    query_param(req->query, "X-Amz-Signature", a->sig, sizeof(a->sig)) != 1)
		return fail(res, SIGV4_INCOMPLETE_SIGNATURE,
			    "AWS query-string parameters must include 'X-Amz-Algorithm', "
			    "'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', "
			    "'X-Amz-SignedHeaders' and 'X-Amz-Signature'. Re-examine the "
			    "query-string parameters.");
	a->expires_s = strtoll(expires, &end, 10);
	if (!isdigit((unsigned char)expires[0]) || *end || a->expires_s < 1 ||
	    a->expires_s > SIGV4_MAX_EXPIRES_S)
		return fail(res, SIGV4_INCOMPLETE_SIGNATURE,
			    "X-Amz-Expires must be a number of seconds from 1 to %d, not '%.20s'.",
			    SIGV4_MAX_EXPIRES_S, expires);
	tok = query_param(req->query, "X-Amz-Security-Token", a->token, sizeof(a->token));
	if (tok < 0)
		return fail(res, SIGV4_INCOMPLETE_SIGNATURE,
			    "X-Amz-Security-Token is too long or badly encoded.");
	a->has_token = tok == 1;
	return 0;
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

/*
 * The request time @t against the server's clock: at most 15 minutes ahead,
 * and at most 15 minutes behind (a presigned URL: valid until @t plus its
 * X-Amz-Expires).
 */
static int check_clock(const struct sigv4_request *req, const struct auth_in *a, int64_t t,
		       const char *iso, struct sigv4_result *res)
{
	char now[32], edge[32];

	iso_of(req->now_ms, now, sizeof(now));
	if (a->presigned && req->now_ms > t + a->expires_s * 1000) {
		iso_of(t + a->expires_s * 1000, edge, sizeof(edge));
		return fail(res, SIGV4_REQUEST_EXPIRED,
			    "Request has expired: X-Amz-Date %s plus X-Amz-Expires %lld s ended "
			    "at %s; it is now %s.",
			    iso, a->expires_s, edge, now);
	}
	if (!a->presigned && t < req->now_ms - SIGV4_MAX_SKEW_MS) {
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
			    "The Credential must be KEY/YYYYMMDD/REGION/SERVICE/aws4_request.");
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

/*
 * A key with a session token needs that token in every request; a key
 * without one takes none, as AWS refuses a token that is not the key's.
 */
static int check_token(const struct sigv4_cred *key, const struct auth_in *a,
		       struct sigv4_result *res)
{
	size_t want = key->session_token ? strlen(key->session_token) : 0;
	bool ok = key->session_token ? a->has_token && strlen(a->token) == want &&
					       !CRYPTO_memcmp(a->token, key->session_token, want)
				     : !a->has_token;

	if (ok)
		return 0;
	return fail(res, SIGV4_INVALID_CLIENT_TOKEN_ID,
		    "The security token included in the request is invalid.");
}

/* A signed "x-amz-content-sha256: UNSIGNED-PAYLOAD" header. */
static bool claims_unsigned_payload(const struct sigv4_request *req, const struct auth_in *a)
{
	const char *v = header(req, "X-Amz-Content-Sha256");

	return v && !strcmp(v, SIGV4_UNSIGNED_PAYLOAD) &&
	       signed_list_has(a->signed_headers, "x-amz-content-sha256");
}

/*
 * The signature @a->sig against what @key computes. The body hash is the
 * SHA-256 of the body, or UNSIGNED-PAYLOAD where AWS allows it (a header
 * says so, or a presigned URL signed the S3 way) and nothing can be slipped
 * into the body unnoticed: over TLS, or when there is no body.
 */
static int check_signature(const struct sigv4_request *req, const struct auth_in *a,
			   const struct sigv4_cred *key, const char *iso, const char *region,
			   const char *service, struct sigv4_result *res)
{
	bool unsigned_ok = req->tls || !req->body_len;
	struct sign_how how = { .presigned = a->presigned };
	char want[65];
	bool match;

	if (!a->presigned && claims_unsigned_payload(req, a)) {
		if (!unsigned_ok)
			return fail(res, SIGV4_SIGNATURE_DOES_NOT_MATCH,
				    "UNSIGNED-PAYLOAD is accepted over HTTPS only (or without a "
				    "body): sign the body's SHA-256.");
		how.payload_hash = SIGV4_UNSIGNED_PAYLOAD;
	}
	sign_as(req, a->signed_headers, &how, key->secret, iso, region, service, want);
	match = strlen(a->sig) == 64 && !CRYPTO_memcmp(a->sig, want, 64);
	if (!match && a->presigned && unsigned_ok) {
		how.payload_hash = SIGV4_UNSIGNED_PAYLOAD;
		sign_as(req, a->signed_headers, &how, key->secret, iso, region, service, want);
		match = strlen(a->sig) == 64 && !CRYPTO_memcmp(a->sig, want, 64);
	}
	if (!match)
		return fail(
			res, SIGV4_SIGNATURE_DOES_NOT_MATCH,
			"The request signature we calculated does not match the signature you "
			"provided. Check your AWS Secret Access Key and signing method. Consult "
			"the service documentation for details.");
	return 0;
}

static int read_auth(const struct sigv4_request *req, struct auth_in *a, struct sigv4_result *res)
{
	const char *auth = header(req, "Authorization");
	char algo[64];

	if (auth)
		return read_header_auth(req, auth, a, res);
	if (query_param(req->query, "X-Amz-Algorithm", algo, sizeof(algo)))
		return read_query_auth(req, a, res);
	return fail(res, SIGV4_MISSING_TOKEN, "Request is missing Authentication Token");
}

int sigv4_verify(const struct sigv4_creds *creds, const struct sigv4_request *req,
		 const char *region, const char *service, struct sigv4_result *res)
{
	struct auth_in *a = xcalloc(1, sizeof(*a));
	const struct sigv4_cred *key = NULL;
	char iso[32], *parts[5];
	int64_t t;
	int rc = -1;

	res->code = SIGV4_OK;
	res->message[0] = '\0';
	res->cred = NULL;
	if (read_auth(req, a, res) || split_scope(a->cred, parts, res))
		goto out;
	for (size_t i = 0; i < creds->n && !key; i++)
		if (!strcmp(creds->v[i].access_key_id, parts[0]))
			key = &creds->v[i];
	if (!key) {
		fail(res, SIGV4_INVALID_CLIENT_TOKEN_ID,
		     "The security token included in the request is invalid.");
		goto out;
	}
	if (check_token(key, a, res))
		goto out;
	t = parse_date(a->date, a->amz, iso, sizeof(iso));
	if (t < 0) {
		fail(res, SIGV4_INCOMPLETE_SIGNATURE,
		     "Date must be in ISO-8601 'basic format'; got '%.64s'.", a->date);
		goto out;
	}
	if (check_clock(req, a, t, iso, res) || check_scope(parts, iso, region, service, res))
		goto out;
	if (!signed_list_has(a->signed_headers, "host")) {
		fail(res, SIGV4_SIGNATURE_DOES_NOT_MATCH,
		     "'Host' must be a 'SignedHeader' in the AWS Authorization.");
		goto out;
	}
	/* a presigned URL's date is in its (signed) query */
	if (!a->presigned && !signed_list_has(a->signed_headers, a->amz ? "x-amz-date" : "date")) {
		fail(res, SIGV4_SIGNATURE_DOES_NOT_MATCH,
		     "'%s' must be a 'SignedHeader' in the AWS Authorization.",
		     a->amz ? "X-Amz-Date" : "Date");
		goto out;
	}
	if (check_signature(req, a, key, iso, region, service, res))
		goto out;
	res->cred = key;
	rc = 0;
out:
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
	return rc;
}

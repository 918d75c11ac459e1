/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * AWS Signature Version 4 verification (docs/api.md): the canonical request
 * is rebuilt from the raw request as it arrived (method, raw path, raw query
 * string, the signed headers only, the SHA-256 of the exact body bytes), the
 * credential scope and the clock are checked, and the signature is compared
 * in constant time. Credentials come from a file (sigv4_creds_load), each
 * key with optional lists of allowed actions and resources.
 */
#ifndef BPFBUS_LIB_SIGV4_H
#define BPFBUS_LIB_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest clock difference accepted, as AWS: 15 minutes. */
#define SIGV4_MAX_SKEW_MS (15 * 60 * 1000LL)

enum sigv4_err {
	SIGV4_OK = 0,
	SIGV4_MISSING_TOKEN, /* no Authorization header */
	SIGV4_INCOMPLETE_SIGNATURE, /* malformed Authorization header */
	SIGV4_INVALID_CLIENT_TOKEN_ID, /* unknown access key id */
	SIGV4_SIGNATURE_DOES_NOT_MATCH, /* wrong signature, scope or date */
	SIGV4_REQUEST_EXPIRED, /* clock skew above 15 minutes */
	SIGV4_ACCESS_DENIED, /* the key may not do this action on this resource */
};

/* AWS's error code ("SignatureDoesNotMatch") and HTTP status (400 or 403). */
const char *sigv4_err_code(enum sigv4_err e);
int sigv4_err_status(enum sigv4_err e);

/* One access key. Patterns are globs ('*', '?'); no list means everything. */
struct sigv4_cred {
	char *access_key_id;
	char *secret;
	char **actions; /* "sqs:SendMessage", "sqs:*", "sns:Publish" */
	size_t nactions;
	char **resources; /* "arn:aws:sqs:eu-west-1:123456789012:orders*" */
	size_t nresources;
	char *session_token; /* NULL: requests must carry no X-Amz-Security-Token */
};

struct sigv4_creds {
	struct sigv4_cred *v;
	size_t n;
};

/*
 * The credentials file: one key per line,
 *   ACCESS_KEY_ID SECRET [actions=PATTERN,...] [resources=PATTERN,...]
 *                        [session-token=TOKEN]
 * blank lines and lines starting with '#' ignored. Returns 0, or -1 with a
 * message naming the file, line and problem in @err.
 */
int sigv4_creds_load(const char *path, struct sigv4_creds *out, char *err, size_t cap);
int sigv4_creds_parse(const char *text, size_t len, const char *origin, struct sigv4_creds *out,
		      char *err, size_t cap);
void sigv4_creds_free(struct sigv4_creds *c);

struct sigv4_header {
	const char *name;
	const char *value;
};

/* A request exactly as it arrived. */
struct sigv4_request {
	const char *method;
	const char *path; /* raw, still percent-encoded, without the query */
	const char *query; /* raw, without '?'; NULL or "" when none */
	const struct sigv4_header *headers; /* repeated names allowed, in arrival order */
	size_t nheaders;
	const void *body;
	size_t body_len;
	int64_t now_ms; /* the server's clock */
	bool tls; /* arrived over HTTPS: a signed UNSIGNED-PAYLOAD may stand for the body */
};

struct sigv4_result {
	enum sigv4_err code;
	char message[512];
	const struct sigv4_cred *cred; /* the key that signed, when known */
};

/*
 * Verify @req against @creds for the scope @region/@service. The signature
 * is in the Authorization header, or in the query string (a presigned URL:
 * X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires,
 * X-Amz-SignedHeaders, X-Amz-Signature). Returns 0 with res->cred set, or -1
 * with the error in @res.
 */
int sigv4_verify(const struct sigv4_creds *creds, const struct sigv4_request *req,
		 const char *region, const char *service, struct sigv4_result *res);

/*
 * May res->cred do @action ("sqs:SendMessage") on @resource (an ARN, or
 * NULL for actions on no particular resource)? 0, or -1 with AccessDenied
 * naming the key, action and resource; @account forms the user ARN.
 */
int sigv4_authorize(const struct sigv4_cred *cred, const char *action, const char *resource,
		    const char *account, struct sigv4_result *res);

/* Lowercase hex of SHA-256(@data) into @out (65 bytes). */
void sigv4_sha256_hex(const void *data, size_t len, char *out);

/*
 * The signature of @req by @secret for the given date, region and service
 * (what a client computes): used by tests and by anything that signs.
 * @signed_headers: "host;x-amz-date". @out: 65 bytes.
 */
void sigv4_sign(const struct sigv4_request *req, const char *signed_headers, const char *secret,
		const char *amz_date, const char *region, const char *service, char *out);
/* The same with @payload_hash ("UNSIGNED-PAYLOAD") in place of the body's SHA-256. */
void sigv4_sign_payload(const struct sigv4_request *req, const char *signed_headers,
			const char *payload_hash, const char *secret, const char *amz_date,
			const char *region, const char *service, char *out);

/* Longest validity of a presigned URL (X-Amz-Expires), as AWS: 7 days. */
#define SIGV4_MAX_EXPIRES_S 604800

/* The payload hash that stands for a body the signature does not cover. */
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

#endif

// SPDX-License-Identifier: BSD-2-Clause
/*
 * SigV4 beyond the Authorization header (sigv4.h): presigned URLs (the
 * signature in the query string, with its expiry), AWS's published
 * presigned-URL example, session tokens (X-Amz-Security-Token) and the
 * UNSIGNED-PAYLOAD body hash.
 */
#include "../harness.h"
#include "sigv4.h"
#include "strbuf.h"

#include <stdio.h>
#include <string.h>

#define NOW 1440938160000LL /* 20150830T123600Z */
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

/*
 * AWS's example of query-string authentication ("Authenticating Requests:
 * Using Query Parameters (AWS Signature Version 4)", Amazon S3 API
 * reference): a GET of examplebucket's test.txt valid for a day, signed
 * with UNSIGNED-PAYLOAD as S3 signs presigned URLs.
 */
TEST(aws_presigned_url_example)
{
	static const char creds_text[] =
		"AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";
	static const char query[] =
		"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%"
		"2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-"
		"Amz-SignedHeaders=host&X-Amz-Signature="
		"aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
	struct sigv4_header h[] = { { "Host", "examplebucket.s3.amazonaws.com" } };
	struct sigv4_request req = { .method = "GET",
				     .path = "/test.txt",
				     .query = query,
				     .headers = h,
				     .nheaders = 1,
				     .now_ms = 1369353600000LL + 3600 * 1000 };
	struct sigv4_creds creds;
	struct sigv4_result res;
	char err[256], bad[sizeof(query)];

	ASSERT_EQ(0,
		  sigv4_creds_parse(creds_text, strlen(creds_text), "t", &creds, err, sizeof(err)));
	if (sigv4_verify(&creds, &req, "us-east-1", "s3", &res))
		TH_LOG("%s: %s", sigv4_err_code(res.code), res.message);
	EXPECT_EQ(SIGV4_OK, res.code);
	/* one digit of the signature changed */
	snprintf(bad, sizeof(bad), "%s", query);
	bad[strlen(bad) - 1] = '5';
	req.query = bad;
	EXPECT_EQ(-1, sigv4_verify(&creds, &req, "us-east-1", "s3", &res));
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, res.code);
	/* a day and a second later */
	req.query = query;
	req.now_ms = 1369353600000LL + 86401 * 1000LL;
	EXPECT_EQ(-1, sigv4_verify(&creds, &req, "us-east-1", "s3", &res));
	EXPECT_EQ(SIGV4_REQUEST_EXPIRED, res.code);
	EXPECT_STREQ("Request has expired: X-Amz-Date 20130524T000000Z plus X-Amz-Expires 86400 s "
		     "ended at 20130525T000000Z; it is now 20130525T000001Z.",
		     res.message);
	sigv4_creds_free(&creds);
}

/* A presigned GET of SQS's ListQueues, signed the way botocore's SigV4QueryAuth signs. */
FIXTURE(pre)
{
	struct sigv4_creds creds;
	struct sigv4_header h[4];
	char query[2048];
	struct sigv4_request req;
	struct sigv4_result res;
};

/* Sign the query @params (auth parameters included, X-Amz-Signature not) into self->query. */
static void presign(FIXTURE_DATA(pre) *self, const char *params, const char *secret)
{
	char sig[65];

	snprintf(self->query, sizeof(self->query), "%s", params);
	self->req.query = self->query;
	sigv4_sign(&self->req, "host", secret, "20150830T123600Z", "us-east-1", "sqs", sig);
	snprintf(self->query + strlen(self->query), sizeof(self->query) - strlen(self->query),
		 "&X-Amz-Signature=%s", sig);
}

#define AUTH(expires)                                                                         \
	"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-" \
	"1%2Fsqs%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=" expires           \
	"&X-Amz-SignedHeaders=host"
#define LIST "Action=ListQueues&QueueNamePrefix=a%20b&Version=2012-11-05&"

FIXTURE_SETUP(pre)
{
	static const char text[] = "AKIDEXAMPLE " SECRET "\n"
				   "AKIDTEMP " SECRET " session-token=FQoGZXIvYXdzE+/token=\n";
	char err[256];

	ASSERT_EQ(0, sigv4_creds_parse(text, strlen(text), "t", &self->creds, err, sizeof(err)));
	self->h[0] = (struct sigv4_header){ "Host", "localhost:9324" };
	self->req = (struct sigv4_request){
		.method = "GET", .path = "/", .headers = self->h, .nheaders = 1, .now_ms = NOW
	};
	presign(self, LIST AUTH("60"), SECRET);
}

FIXTURE_TEARDOWN(pre)
{
	sigv4_creds_free(&self->creds);
}

static enum sigv4_err check(FIXTURE_DATA(pre) *self)
{
	if (sigv4_verify(&self->creds, &self->req, "us-east-1", "sqs", &self->res))
		TH_LOG("%s: %s", sigv4_err_code(self->res.code), self->res.message);
	return self->res.code;
}

TEST_F(pre, valid_until_it_expires)
{
	EXPECT_EQ(SIGV4_OK, check(self));
	EXPECT_STREQ("AKIDEXAMPLE", self->res.cred->access_key_id);
	self->req.now_ms = NOW + 60 * 1000;
	EXPECT_EQ(SIGV4_OK, check(self));
	self->req.now_ms = NOW + 61 * 1000;
	EXPECT_EQ(SIGV4_REQUEST_EXPIRED, check(self));
	EXPECT_EQ(400, sigv4_err_status(self->res.code));
	/* a URL dated more than 15 minutes ahead is not yet valid */
	self->req.now_ms = NOW - 16 * 60 * 1000;
	EXPECT_EQ(SIGV4_REQUEST_EXPIRED, check(self));
	EXPECT_NE_NULL(strstr(self->res.message, "Signature not yet current"));
	/* a week is the longest a URL may live, and it may */
	presign(self, LIST AUTH("604800"), SECRET);
	self->req.now_ms = NOW + 604800 * 1000LL;
	EXPECT_EQ(SIGV4_OK, check(self));
}

TEST_F(pre, tampered_or_wrongly_signed)
{
	char *p = strstr(self->query, "a%20b");

	p[0] = 'c'; /* another QueueNamePrefix */
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check(self));
	presign(self, LIST AUTH("60"), "not-the-secret");
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check(self));
	/* a longer life than the signature covers */
	presign(self, LIST AUTH("60"), SECRET);
	p = strstr(self->query, "Expires=60");
	memcpy(p, "Expires=90", 10);
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check(self));
	/* a body the URL did not sign */
	presign(self, LIST AUTH("60"), SECRET);
	self->req.body = "Action=DeleteQueue";
	self->req.body_len = strlen(self->req.body);
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check(self));
	/* another key id */
	presign(self,
		LIST "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDNONE%2F20150830%"
		     "2Fus-east-1%2Fsqs%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-"
		     "Expires=60&X-Amz-SignedHeaders=host",
		SECRET);
	self->req.body = NULL;
	self->req.body_len = 0;
	EXPECT_EQ(SIGV4_INVALID_CLIENT_TOKEN_ID, check(self));
}

TEST_F(pre, incomplete_parameters)
{
	static const struct {
		const char *params, *message;
	} bad[] = {
		{ "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-"
		  "east-"
		  "1%2Fsqs%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host",
		  "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', "
		  "'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders' and 'X-Amz-Signature'. "
		  "Re-examine the query-string parameters." },
		{ AUTH("0"),
		  "X-Amz-Expires must be a number of seconds from 1 to 604800, not '0'." },
		{ AUTH("604801"),
		  "X-Amz-Expires must be a number of seconds from 1 to 604800, not '604801'." },
		{ AUTH("-5"),
		  "X-Amz-Expires must be a number of seconds from 1 to 604800, not '-5'." },
		{ AUTH("6x"),
		  "X-Amz-Expires must be a number of seconds from 1 to 604800, not '6x'." },
		{ "X-Amz-Algorithm=AWS4-HMAC-SHA1&X-Amz-Credential=x",
		  "Unsupported AWS 'algorithm' in X-Amz-Algorithm. Only AWS4-HMAC-SHA256 is "
		  "accepted." },
		{ "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830&X-Amz-"
		  "Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host",
		  "The Credential must be KEY/YYYYMMDD/REGION/SERVICE/aws4_request." },
		{ "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-"
		  "east-"
		  "1%2Fsqs%2Faws4_request&X-Amz-Date=%zz&X-Amz-Expires=60&X-Amz-SignedHeaders=host",
		  "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', "
		  "'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders' and 'X-Amz-Signature'. "
		  "Re-examine the query-string parameters." },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		presign(self, bad[i].params, SECRET);
		EXPECT_EQ(SIGV4_INCOMPLETE_SIGNATURE, check(self));
		EXPECT_STREQ(bad[i].message, self->res.message);
	}
	/* no signature at all: neither a header nor X-Amz-Algorithm */
	snprintf(self->query, sizeof(self->query), "Action=ListQueues");
	EXPECT_EQ(SIGV4_MISSING_TOKEN, check(self));
}

TEST_F(pre, host_must_be_signed)
{
	char sig[65];

	snprintf(self->query, sizeof(self->query),
		 "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%%2F20150830%%2Fus-"
		 "east-1%%2Fsqs%%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-"
		 "SignedHeaders=x-extra");
	self->h[1] = (struct sigv4_header){ "X-Extra", "1" };
	self->req.nheaders = 2;
	sigv4_sign(&self->req, "x-extra", SECRET, "20150830T123600Z", "us-east-1", "sqs", sig);
	snprintf(self->query + strlen(self->query), sizeof(self->query) - strlen(self->query),
		 "&X-Amz-Signature=%s", sig);
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check(self));
	EXPECT_STREQ("'Host' must be a 'SignedHeader' in the AWS Authorization.",
		     self->res.message);
}

TEST_F(pre, session_tokens)
{
	/* the token is a signed query parameter, as botocore puts it */
#define TEMP(token)                                                                               \
	"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDTEMP%2F20150830%2Fus-east-1%2Fsqs" \
	"%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60" token                      \
	"&X-Amz-SignedHeaders=host"

	presign(self, LIST TEMP("&X-Amz-Security-Token=FQoGZXIvYXdzE%2B%2Ftoken%3D"), SECRET);
	EXPECT_EQ(SIGV4_OK, check(self));
	EXPECT_STREQ("AKIDTEMP", self->res.cred->access_key_id);
	presign(self, LIST TEMP("&X-Amz-Security-Token=FQoGZXIvYXdzE%2B%2Ftoken"), SECRET);
	EXPECT_EQ(SIGV4_INVALID_CLIENT_TOKEN_ID, check(self)); /* another token */
	EXPECT_STREQ("The security token included in the request is invalid.", self->res.message);
	presign(self, LIST TEMP(""), SECRET);
	EXPECT_EQ(SIGV4_INVALID_CLIENT_TOKEN_ID, check(self)); /* none */
	/* a key without a token takes none */
	presign(self, LIST AUTH("60") "&X-Amz-Security-Token=FQoGZXIvYXdzE%2B%2Ftoken%3D", SECRET);
	EXPECT_EQ(SIGV4_INVALID_CLIENT_TOKEN_ID, check(self));
#undef TEMP
}

/* Header authentication: a token header, and UNSIGNED-PAYLOAD for the body hash. */
FIXTURE(hdr)
{
	struct sigv4_creds creds;
	struct sigv4_header h[6];
	size_t nh;
	char authz[512];
	struct sigv4_request req;
	struct sigv4_result res;
};

FIXTURE_SETUP(hdr)
{
	static const char text[] = "AKIDEXAMPLE " SECRET "\n"
				   "AKIDTEMP " SECRET " session-token=tok\n";
	char err[256];

	ASSERT_EQ(0, sigv4_creds_parse(text, strlen(text), "t", &self->creds, err, sizeof(err)));
	self->h[0] = (struct sigv4_header){ "Host", "localhost:9324" };
	self->h[1] = (struct sigv4_header){ "X-Amz-Date", "20150830T123600Z" };
	self->nh = 2;
	self->req = (struct sigv4_request){ .method = "POST",
					    .path = "/",
					    .headers = self->h,
					    .body = "Action=ListQueues",
					    .body_len = 17,
					    .now_ms = NOW };
}

FIXTURE_TEARDOWN(hdr)
{
	sigv4_creds_free(&self->creds);
}

/* Sign the headers so far (@signed_headers of them); @payload_hash NULL: the body's. */
static void sign_hdr(FIXTURE_DATA(hdr) *self, const char *key, const char *signed_headers,
		     const char *payload_hash)
{
	struct sigv4_request as_signed = self->req;
	char sig[65];

	as_signed.nheaders = self->nh;
	sigv4_sign_payload(&as_signed, signed_headers, payload_hash, SECRET, "20150830T123600Z",
			   "us-east-1", "sqs", sig);
	snprintf(self->authz, sizeof(self->authz),
		 "AWS4-HMAC-SHA256 Credential=%s/20150830/us-east-1/sqs/aws4_request, "
		 "SignedHeaders=%s, Signature=%s",
		 key, signed_headers, sig);
	self->h[self->nh] = (struct sigv4_header){ "Authorization", self->authz };
	self->req.nheaders = self->nh + 1;
}

static enum sigv4_err check_hdr(FIXTURE_DATA(hdr) *self)
{
	if (sigv4_verify(&self->creds, &self->req, "us-east-1", "sqs", &self->res))
		TH_LOG("%s: %s", sigv4_err_code(self->res.code), self->res.message);
	return self->res.code;
}

TEST_F(hdr, session_token_header)
{
	self->h[self->nh++] = (struct sigv4_header){ "X-Amz-Security-Token", "tok" };
	sign_hdr(self, "AKIDTEMP", "host;x-amz-date;x-amz-security-token", NULL);
	EXPECT_EQ(SIGV4_OK, check_hdr(self));
	self->h[2].value = "tol";
	sign_hdr(self, "AKIDTEMP", "host;x-amz-date;x-amz-security-token", NULL);
	EXPECT_EQ(SIGV4_INVALID_CLIENT_TOKEN_ID, check_hdr(self));
	self->h[2].value = "tok";
	sign_hdr(self, "AKIDEXAMPLE", "host;x-amz-date;x-amz-security-token", NULL);
	EXPECT_EQ(SIGV4_INVALID_CLIENT_TOKEN_ID, check_hdr(self));
	self->nh--; /* no token header */
	sign_hdr(self, "AKIDTEMP", "host;x-amz-date", NULL);
	EXPECT_EQ(SIGV4_INVALID_CLIENT_TOKEN_ID, check_hdr(self));
}

TEST_F(hdr, unsigned_payload)
{
	self->h[self->nh++] = (struct sigv4_header){ "X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD" };
	sign_hdr(self, "AKIDEXAMPLE", "host;x-amz-content-sha256;x-amz-date", "UNSIGNED-PAYLOAD");
	/* over plain HTTP a body could be swapped unnoticed: refused */
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check_hdr(self));
	EXPECT_STREQ("UNSIGNED-PAYLOAD is accepted over HTTPS only (or without a body): sign the "
		     "body's SHA-256.",
		     self->res.message);
	self->req.tls = true;
	EXPECT_EQ(SIGV4_OK, check_hdr(self));
	self->req.tls = false;
	self->req.body_len = 0;
	EXPECT_EQ(SIGV4_OK, check_hdr(self));
	/* the header must be signed to count */
	self->req.tls = true;
	self->req.body_len = 17;
	sign_hdr(self, "AKIDEXAMPLE", "host;x-amz-date", "UNSIGNED-PAYLOAD");
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check_hdr(self));
	/* a body hash in the header is checked against the body as always */
	self->h[2].value = "0000000000000000000000000000000000000000000000000000000000000000";
	sign_hdr(self, "AKIDEXAMPLE", "host;x-amz-content-sha256;x-amz-date",
		 "0000000000000000000000000000000000000000000000000000000000000000");
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check_hdr(self));
}

TEST_HARNESS_MAIN

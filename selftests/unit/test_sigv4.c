// SPDX-License-Identifier: BSD-2-Clause
/*
 * SigV4 verification (sigv4.h): AWS's published test suite
 * (selftests/data/sigv4-suite.txt), every rejection with its AWS error, the
 * credentials file and what a key may do.
 */
#include "../harness.h"
#include "sigv4.h"
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

#define SUITE_NOW 1440938160000LL /* 20150830T123600Z */
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static struct sigv4_creds suite_creds(void)
{
	static const char text[] = "# the suite's key\n"
				   "AKIDEXAMPLE " SECRET "\n";
	struct sigv4_creds c;
	char err[256];

	if (sigv4_creds_parse(text, strlen(text), "suite", &c, err, sizeof(err)))
		abort();
	return c;
}

/* One parsed case: a raw request and the Authorization AWS computed for it. */
struct suite_case {
	char name[96];
	char method[8];
	char path[256];
	char query[256];
	struct sigv4_header h[16];
	char names[16][64];
	char values[16][256];
	size_t nh;
	struct strbuf body;
	char authz[512];
};

/* Parse the case starting at *p; false at the end of the file. */
static bool next_case(char **p, struct suite_case *c)
{
	char *line, *start;
	bool in_body = false;

	memset(c, 0, sizeof(*c));
	while ((line = strsep(p, "\n")) && strncmp(line, "=== ", 4))
		;
	if (!line)
		return false;
	snprintf(c->name, sizeof(c->name), "%s", line + 4);
	line = strsep(p, "\n");
	start = strchr(line, ' ');
	*start++ = '\0';
	snprintf(c->method, sizeof(c->method), "%s", line);
	*strrchr(start, ' ') = '\0';
	if (strchr(start, '?')) {
		snprintf(c->query, sizeof(c->query), "%s", strchr(start, '?') + 1);
		*strchr(start, '?') = '\0';
	}
	snprintf(c->path, sizeof(c->path), "%s", start);
	while ((line = strsep(p, "\n")) && strcmp(line, "--- authz")) {
		if (!in_body && !*line) {
			in_body = true;
		} else if (in_body) {
			if (c->body.len)
				sb_addc(&c->body, '\n');
			sb_adds(&c->body, line);
		} else if (*line == ' ') {
			/* A folded line: AWS's suite counts it as another value of the header. */
			memcpy(c->names[c->nh], c->names[c->nh - 1], 64);
			snprintf(c->values[c->nh++], 256, "%s", line + strspn(line, " "));
		} else {
			char *colon = strchr(line, ':');

			*colon = '\0';
			snprintf(c->names[c->nh], 64, "%s", line);
			snprintf(c->values[c->nh++], 256, "%s", colon + 1);
		}
	}
	snprintf(c->authz, sizeof(c->authz), "%s", strsep(p, "\n"));
	return true;
}

/* Verify @c with Authorization @authz at @now. */
static int verify(struct suite_case *c, const char *authz, int64_t now,
		  const struct sigv4_creds *creds, struct sigv4_result *res)
{
	struct sigv4_request req = { .method = c->method,
				     .path = c->path,
				     .query = c->query,
				     .headers = c->h,
				     .body = c->body.buf,
				     .body_len = c->body.len,
				     .now_ms = now };

	for (size_t i = 0; i < c->nh; i++)
		c->h[i] = (struct sigv4_header){ c->names[i], c->values[i] };
	c->h[c->nh] = (struct sigv4_header){ "Authorization", authz };
	req.nheaders = authz ? c->nh + 1 : c->nh;
	return sigv4_verify(creds, &req, "us-east-1", "service", res);
}

static char *suite_text(void)
{
	const char *src = getenv("SRCTREE");
	char path[512];
	size_t len;

	snprintf(path, sizeof(path), "%s/selftests/data/sigv4-suite.txt", src ? src : ".");
	return read_whole_file(path, &len);
}

TEST(aws_test_suite)
{
	struct sigv4_creds creds = suite_creds();
	char *text = suite_text(), *p = text;
	struct suite_case c;
	int n = 0;

	ASSERT_NE_NULL(text);
	while (next_case(&p, &c)) {
		struct sigv4_result res;
		char bad[512];

		if (verify(&c, c.authz, SUITE_NOW, &creds, &res))
			TH_LOG("%s: %s %s", c.name, sigv4_err_code(res.code), res.message);
		EXPECT_EQ(SIGV4_OK, res.code);
		/* One changed signature digit is rejected. */
		snprintf(bad, sizeof(bad), "%s", c.authz);
		bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
		EXPECT_EQ(-1, verify(&c, bad, SUITE_NOW, &creds, &res));
		EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, res.code);
		sb_free(&c.body);
		n++;
	}
	EXPECT_EQ(23, n);
	free(text);
	sigv4_creds_free(&creds);
}

/* A signed SQS-like POST for the negative cases. */
FIXTURE(neg)
{
	struct sigv4_creds creds;
	struct sigv4_header h[8];
	size_t nh;
	char authz[512];
	char date[32];
	const char *body;
	struct sigv4_request req;
	struct sigv4_result res;
};

static void sign_with(FIXTURE_DATA(neg) *self, const char *key, const char *secret,
		      const char *scope_date, const char *region, const char *service)
{
	char sig[65];

	self->req.nheaders = self->nh; /* without Authorization */
	sigv4_sign(&self->req, "content-type;host;x-amz-date", secret, self->date, region, service,
		   sig);
	snprintf(self->authz, sizeof(self->authz),
		 "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
		 "SignedHeaders=content-type;host;x-amz-date, Signature=%s",
		 key, scope_date, region, service, sig);
	self->h[self->nh] = (struct sigv4_header){ "Authorization", self->authz };
	self->req.nheaders = self->nh + 1;
}

FIXTURE_SETUP(neg)
{
	static const char text[] = "AKIDEXAMPLE " SECRET "\n";
	char err[256];

	ASSERT_EQ(0, sigv4_creds_parse(text, strlen(text), "t", &self->creds, err, sizeof(err)));
	snprintf(self->date, sizeof(self->date), "20150830T123600Z");
	self->body = "Action=ListQueues&Version=2012-11-05";
	self->h[0] = (struct sigv4_header){ "Host", "localhost:9324" };
	self->h[1] = (struct sigv4_header){ "Content-Type", "application/x-www-form-urlencoded" };
	self->h[2] = (struct sigv4_header){ "X-Amz-Date", self->date };
	self->nh = 3;
	self->req = (struct sigv4_request){ .method = "POST",
					    .path = "/",
					    .headers = self->h,
					    .body = self->body,
					    .body_len = strlen(self->body),
					    .now_ms = SUITE_NOW };
	sign_with(self, "AKIDEXAMPLE", SECRET, "20150830", "us-east-1", "sqs");
}

FIXTURE_TEARDOWN(neg)
{
	sigv4_creds_free(&self->creds);
}

static enum sigv4_err check(FIXTURE_DATA(neg) *self)
{
	if (sigv4_verify(&self->creds, &self->req, "us-east-1", "sqs", &self->res))
		TH_LOG("%s: %s", sigv4_err_code(self->res.code), self->res.message);
	return self->res.code;
}

TEST_F(neg, good_request_passes)
{
	EXPECT_EQ(SIGV4_OK, check(self));
	EXPECT_STREQ("AKIDEXAMPLE", self->res.cred->access_key_id);
	/* Headers that are not signed may be added or changed. */
	self->h[4] = self->h[3];
	self->h[3] = (struct sigv4_header){ "User-Agent", "curl" };
	self->req.nheaders = 5;
	EXPECT_EQ(SIGV4_OK, check(self));
}

TEST_F(neg, wrong_key)
{
	sign_with(self, "AKIDOTHER", SECRET, "20150830", "us-east-1", "sqs");
	EXPECT_EQ(SIGV4_INVALID_CLIENT_TOKEN_ID, check(self));
	EXPECT_STREQ("InvalidClientTokenId", sigv4_err_code(self->res.code));
	EXPECT_EQ(403, sigv4_err_status(self->res.code));
	EXPECT_STREQ("The security token included in the request is invalid.", self->res.message);
}

TEST_F(neg, wrong_secret)
{
	sign_with(self, "AKIDEXAMPLE", "not-the-secret", "20150830", "us-east-1", "sqs");
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check(self));
	EXPECT_NE_NULL(strstr(self->res.message, "does not match the signature you provided"));
}

TEST_F(neg, tampered_body)
{
	self->req.body = "Action=ListQueues&Version=2012-11-06";
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check(self));
	self->req.body = self->body;
	self->req.body_len--;
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check(self));
}

TEST_F(neg, tampered_signed_header_path_or_query)
{
	self->h[1].value = "application/json";
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check(self));
	self->h[1].value = "application/x-www-form-urlencoded";
	self->req.path = "/123456789012/q";
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check(self));
	self->req.path = "/";
	self->req.query = "Action=DeleteQueue";
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check(self));
	self->req.query = NULL;
	self->req.method = "PUT";
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check(self));
}

TEST_F(neg, clock_skew)
{
	self->req.now_ms = SUITE_NOW + 15 * 60 * 1000;
	EXPECT_EQ(SIGV4_OK, check(self));
	self->req.now_ms = SUITE_NOW + 15 * 60 * 1000 + 1000;
	EXPECT_EQ(SIGV4_REQUEST_EXPIRED, check(self));
	EXPECT_STREQ("Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z "
		     "(20150830T125101Z - 15 min.)",
		     self->res.message);
	self->req.now_ms = SUITE_NOW - 15 * 60 * 1000 - 1000;
	EXPECT_EQ(SIGV4_REQUEST_EXPIRED, check(self));
	EXPECT_NE_NULL(strstr(self->res.message, "Signature not yet current"));
}

TEST_F(neg, scope_date_region_service)
{
	sign_with(self, "AKIDEXAMPLE", SECRET, "20150829", "us-east-1", "sqs");
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check(self));
	EXPECT_NE_NULL(strstr(self->res.message, "Date in Credential scope does not match"));
	sign_with(self, "AKIDEXAMPLE", SECRET, "20150830", "eu-west-1", "sqs");
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check(self));
	EXPECT_STREQ("Credential should be scoped to a valid region, not 'eu-west-1'. Expected "
		     "'us-east-1'.",
		     self->res.message);
	sign_with(self, "AKIDEXAMPLE", SECRET, "20150830", "us-east-1", "sns");
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check(self));
	EXPECT_STREQ("Credential should be scoped to correct service: 'sqs'.", self->res.message);
}

TEST_F(neg, incomplete_or_missing)
{
	self->req.nheaders = self->nh;
	EXPECT_EQ(SIGV4_MISSING_TOKEN, check(self));
	EXPECT_STREQ("MissingAuthenticationToken", sigv4_err_code(self->res.code));
	self->req.nheaders = self->nh + 1;
	self->h[self->nh].value = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sqs/"
				  "aws4_request, SignedHeaders=host;x-amz-date";
	EXPECT_EQ(SIGV4_INCOMPLETE_SIGNATURE, check(self));
	EXPECT_EQ(400, sigv4_err_status(self->res.code));
	self->h[self->nh].value = "AWS3 Credential=x";
	EXPECT_EQ(SIGV4_INCOMPLETE_SIGNATURE, check(self));
	self->h[self->nh].value = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1, "
				  "SignedHeaders=host;x-amz-date, Signature=00";
	EXPECT_EQ(SIGV4_INCOMPLETE_SIGNATURE, check(self));
	/* Without a date header. */
	self->h[2].name = "X-Not-Date";
	sign_with(self, "AKIDEXAMPLE", SECRET, "20150830", "us-east-1", "sqs");
	EXPECT_EQ(SIGV4_INCOMPLETE_SIGNATURE, check(self));
	/* A malformed date. */
	self->h[2] = (struct sigv4_header){ "X-Amz-Date", "2015-08-30 12:36" };
	EXPECT_EQ(SIGV4_INCOMPLETE_SIGNATURE, check(self));
}

TEST_F(neg, host_and_date_must_be_signed)
{
	char sig[65];

	self->req.nheaders = self->nh;
	sigv4_sign(&self->req, "content-type;x-amz-date", SECRET, self->date, "us-east-1", "sqs",
		   sig);
	snprintf(self->authz, sizeof(self->authz),
		 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sqs/aws4_request, "
		 "SignedHeaders=content-type;x-amz-date, Signature=%s",
		 sig);
	self->req.nheaders = self->nh + 1;
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check(self));
	EXPECT_STREQ("'Host' must be a 'SignedHeader' in the AWS Authorization.",
		     self->res.message);
	self->req.nheaders = self->nh;
	sigv4_sign(&self->req, "content-type;host", SECRET, self->date, "us-east-1", "sqs", sig);
	snprintf(self->authz, sizeof(self->authz),
		 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sqs/aws4_request, "
		 "SignedHeaders=content-type;host, Signature=%s",
		 sig);
	self->req.nheaders = self->nh + 1;
	EXPECT_EQ(SIGV4_SIGNATURE_DOES_NOT_MATCH, check(self));
}

TEST_F(neg, date_header_instead_of_x_amz_date)
{
	char sig[65];

	self->h[2] = (struct sigv4_header){ "Date", "Sun, 30 Aug 2015 12:36:00 GMT" };
	self->req.nheaders = self->nh;
	sigv4_sign(&self->req, "date;host", SECRET, "20150830T123600Z", "us-east-1", "sqs", sig);
	snprintf(self->authz, sizeof(self->authz),
		 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sqs/aws4_request, "
		 "SignedHeaders=date;host, Signature=%s",
		 sig);
	self->req.nheaders = self->nh + 1;
	EXPECT_EQ(SIGV4_OK, check(self));
}

TEST(credentials_file)
{
	static const char text[] = "# bpfbus credentials\n"
				   "\n"
				   "ADMIN secret1\n"
				   "  READER secret2 actions=sqs:ReceiveMessage,sqs:Get* "
				   "resources=arn:aws:sqs:*:123456789012:orders*\r\n";
	struct sigv4_creds c;
	struct sigv4_result res;
	char err[256];

	ASSERT_EQ(0, sigv4_creds_parse(text, strlen(text), "creds", &c, err, sizeof(err)));
	ASSERT_EQ(2, c.n);
	EXPECT_STREQ("ADMIN", c.v[0].access_key_id);
	EXPECT_STREQ("secret1", c.v[0].secret);
	EXPECT_EQ(0, c.v[0].nactions);
	EXPECT_STREQ("secret2", c.v[1].secret);
	ASSERT_EQ(2, c.v[1].nactions);
	EXPECT_STREQ("sqs:Get*", c.v[1].actions[1]);
	ASSERT_EQ(1, c.v[1].nresources);

	EXPECT_EQ(0, sigv4_authorize(&c.v[0], "sqs:DeleteQueue", NULL, "123456789012", &res));
	EXPECT_EQ(0, sigv4_authorize(&c.v[1], "sqs:GetQueueUrl",
				     "arn:aws:sqs:eu-west-1:123456789012:orders-eu", "123456789012",
				     &res));
	EXPECT_EQ(-1, sigv4_authorize(&c.v[1], "sqs:SendMessage",
				      "arn:aws:sqs:eu-west-1:123456789012:orders", "123456789012",
				      &res));
	EXPECT_EQ(SIGV4_ACCESS_DENIED, res.code);
	EXPECT_STREQ("AccessDenied", sigv4_err_code(res.code));
	EXPECT_STREQ("User: arn:aws:iam::123456789012:user/READER is not authorized to perform: "
		     "sqs:SendMessage on resource: arn:aws:sqs:eu-west-1:123456789012:orders",
		     res.message);
	EXPECT_EQ(-1, sigv4_authorize(&c.v[1], "sqs:ReceiveMessage",
				      "arn:aws:sqs:eu-west-1:123456789012:billing", "123456789012",
				      &res));
	/* A key limited to resources cannot act on none in particular (ListQueues). */
	EXPECT_EQ(-1, sigv4_authorize(&c.v[1], "sqs:GetQueueUrl", NULL, "123456789012", &res));
	sigv4_creds_free(&c);
}

TEST(credentials_file_errors)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "ONLYKEY\n", "f:1: a line needs an access key id and a secret" },
		{ "# c\nK S colour=red\n",
		  "f:2: unknown field 'colour=red' (expected actions=..., resources=... or "
		  "session-token=...)" },
		{ "K S session-token=\n", "f:1: session-token= must be given once, not empty" },
		{ "K S session-token=a session-token=b\n",
		  "f:1: session-token= must be given once, not empty" },
		{ "K S\nK T\n", "f:2: access key id K is repeated" },
		{ "K S actions=\n", "f:1: 'actions=' must be one non-empty comma-separated list" },
		{ "K S actions=a,,b\n", "f:1: 'actions=a,,b' must be one non-empty comma-separated "
					"list" },
		{ "K/1 S\n", "f:1: access key id must be 1-128 of A-Za-z0-9_-" },
		{ "# nothing\n\n", "f: no credentials in the file" },
	};
	struct sigv4_creds c;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-1, sigv4_creds_parse(bad[i].text, strlen(bad[i].text), "f", &c, err,
						sizeof(err)));
		EXPECT_STREQ(bad[i].err, err);
		EXPECT_EQ(0, c.n);
	}
	EXPECT_EQ(-1, sigv4_creds_load("/nonexistent/creds", &c, err, sizeof(err)));
	EXPECT_STREQ("/nonexistent/creds: No such file or directory", err);
}

TEST_HARNESS_MAIN

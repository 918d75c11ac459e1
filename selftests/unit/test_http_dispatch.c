// SPDX-License-Identifier: BSD-2-Clause
/*
 * The HTTP listener's plug-in point for other services (http_api_register)
 * and its credentials reload, over real sockets: a listener on a real LMDB
 * store with an "echo" service registered, requests signed with SigV4 as a
 * client signs them. The SQS side is tested with real clients against
 * bpfbusd (selftests/api_boto3.py, selftests/api_cli.py).
 */
#define QT_NO_FIXTURE
#include "../harness.h"
#include "http_api.h"
#include "queue_test.h"
#include "sigv4.h"
#include "strbuf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define KEY "AKIDECHOTEST"
#define SECRET "echo-secret"
#define READER "AKIDREADER"
#define READER_SECRET "reader-secret"
#define REGION "eu-west-1"

/* The stand-in service: X-Amz-Target "BpfbusEcho.Echo" or Version=2099-01-01, action Echo. */
static bool echo_has_action(void *ctx, const char *action)
{
	(void)ctx;
	return !strcmp(action, "Echo");
}

static void echo_resource(void *ctx, const struct http_call *call, char *arn, size_t cap)
{
	(void)ctx;
	(void)call;
	snprintf(arn, cap, "arn:aws:echo:::thing");
}

static void echo_handle(void *ctx, const struct http_call *call, struct http_reply *reply)
{
	(void)ctx;
	if (!echo_has_action(NULL, call->action)) {
		reply->status = 400;
		reply->content_type = "text/xml";
		http_query_error(reply->body, true, "InvalidAction", "No such echo action.",
				 call->request_id);
		return;
	}
	reply->status = 200;
	if (call->json) {
		reply->content_type = "application/x-amz-json-1.1";
		sb_printf(reply->body, "{\"Action\":\"%s\",\"BodyBytes\":%zu}", call->action,
			  call->body_len);
	} else {
		reply->content_type = "text/xml";
		sb_printf(reply->body, "<EchoResponse><Params>%zu</Params></EchoResponse>",
			  call->nparams);
	}
}

FIXTURE(srv)
{
	char dir[64], creds[96];
	struct queue_store *st;
	struct http_api *api;
	int status;
	char head[2048];
	struct strbuf body;
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

FIXTURE_SETUP(srv)
{
	struct http_dispatcher d = { .json_target_prefix = "BpfbusEcho.",
				     .query_version = "2099-01-01",
				     .signing_service = "echo",
				     .has_action = echo_has_action,
				     .resource = echo_resource,
				     .handle = echo_handle };
	struct queue_result res;
	char err[512];

	ASSERT_NE_NULL(flatdir_make(self->dir, sizeof(self->dir), "http"));
	snprintf(self->creds, sizeof(self->creds), "%s.creds", self->dir);
	write_file(self->creds, KEY " " SECRET "\n" READER " " READER_SECRET
				    " actions=echo:Other resources=arn:aws:echo:::thing\n");
	self->st = queue_store_open(self->dir, NULL, &res);
	ASSERT_NE_NULL(self->st);
	struct http_api_config cfg = { .address = "127.0.0.1",
				       .credentials_file = self->creds,
				       .region = REGION,
				       .store = self->st };

	self->api = http_api_start(&cfg, err, sizeof(err));
	if (!self->api)
		TH_LOG("%s", err);
	ASSERT_NE_NULL(self->api);
	ASSERT_EQ(0, http_api_register(self->api, &d));
}

FIXTURE_TEARDOWN(srv)
{
	http_api_stop(self->api);
	queue_store_close(self->st);
	qt_rmrf(self->dir);
	unlink(self->creds);
	sb_free(&self->body);
}

/*
 * POST @body to "/" with @target (NULL: a form body), signed by @key and
 * @secret for @service; the answer's status and body land in the fixture.
 */
static void call(FIXTURE_DATA(srv) *self, const char *target, const char *body, const char *key,
		 const char *secret, const char *service)
{
	char date[17], host[32], authz[512], sig[65], req_head[1024];
	struct sigv4_header h[4];
	size_t nh = 0;
	time_t now = time(NULL);
	struct tm tm;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)http_api_port(self->api)) };
	const char *ctype =
		target ? "application/x-amz-json-1.1" : "application/x-www-form-urlencoded";
	int fd, n;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(host, sizeof(host), "127.0.0.1:%d", http_api_port(self->api));
	h[nh++] = (struct sigv4_header){ "Content-Type", ctype };
	h[nh++] = (struct sigv4_header){ "Host", host };
	h[nh++] = (struct sigv4_header){ "X-Amz-Date", date };
	if (target)
		h[nh++] = (struct sigv4_header){ "X-Amz-Target", target };
	struct sigv4_request rq = { .method = "POST",
				    .path = "/",
				    .query = "",
				    .headers = h,
				    .nheaders = nh,
				    .body = body,
				    .body_len = strlen(body) };
	const char *signed_headers = target ? "content-type;host;x-amz-date;x-amz-target"
					    : "content-type;host;x-amz-date";

	sigv4_sign(&rq, signed_headers, secret, date, REGION, service, sig);
	snprintf(authz, sizeof(authz),
		 "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, "
		 "Signature=%s",
		 key, date, REGION, service, signed_headers, sig);
	n = snprintf(req_head, sizeof(req_head),
		     "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nX-Amz-Date: %s\r\n"
		     "%s%s%sAuthorization: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		     host, ctype, date, target ? "X-Amz-Target: " : "", target ? target : "",
		     target ? "\r\n" : "", authz, strlen(body));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(n, write(fd, req_head, (size_t)n));
	ASSERT_EQ((ssize_t)strlen(body), write(fd, body, strlen(body)));

	struct strbuf all = STRBUF_INIT;
	char buf[4096];
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0)
		sb_add(&all, buf, (size_t)r);
	close(fd);
	sb_addc(&all, '\0');
	self->status = 0;
	sscanf(all.buf, "HTTP/1.1 %d", &self->status);
	const char *end = strstr(all.buf, "\r\n\r\n");

	ASSERT_NE_NULL(end);
	snprintf(self->head, sizeof(self->head), "%.*s", (int)(end - all.buf), all.buf);
	sb_reset(&self->body);
	sb_adds(&self->body, end + 4);
	sb_free(&all);
}

TEST_F(srv, json_request_reaches_the_dispatcher)
{
	call(self, "BpfbusEcho.Echo", "{\"x\":1}", KEY, SECRET, "echo");
	EXPECT_EQ(200, self->status);
	EXPECT_STREQ("{\"Action\":\"Echo\",\"BodyBytes\":7}", self->body.buf);
	EXPECT_NE_NULL(strstr(self->head, "Content-Type: application/x-amz-json-1.1"));
}

TEST_F(srv, signature_must_be_scoped_to_the_dispatcher_service)
{
	call(self, "BpfbusEcho.Echo", "{\"x\":1}", KEY, SECRET, "sqs");
	EXPECT_EQ(403, self->status);
	EXPECT_NE_NULL(strstr(self->body.buf, "SignatureDoesNotMatch"));
	EXPECT_NE_NULL(
		strstr(self->body.buf, "Credential should be scoped to correct service: 'echo'."));
}

TEST_F(srv, query_request_by_version_or_by_action)
{
	call(self, NULL, "Action=Echo&Version=2099-01-01&A=1", KEY, SECRET, "echo");
	EXPECT_EQ(200, self->status);
	EXPECT_STREQ("<EchoResponse><Params>3</Params></EchoResponse>", self->body.buf);
	call(self, NULL, "Action=Echo&A=1", KEY, SECRET, "echo");
	EXPECT_EQ(200, self->status);
	EXPECT_STREQ("<EchoResponse><Params>2</Params></EchoResponse>", self->body.buf);
}

TEST_F(srv, unknown_action_of_the_service)
{
	call(self, NULL, "Action=Nope&Version=2099-01-01", KEY, SECRET, "echo");
	EXPECT_EQ(400, self->status);
	EXPECT_NE_NULL(strstr(self->body.buf, "<Code>InvalidAction</Code>"));
}

TEST_F(srv, key_limited_to_other_actions_is_denied)
{
	call(self, NULL, "Action=Echo&Version=2099-01-01", READER, READER_SECRET, "echo");
	EXPECT_EQ(403, self->status);
	EXPECT_NE_NULL(strstr(self->body.buf, "not authorized to perform: echo:Echo on resource: "
					      "arn:aws:echo:::thing"));
}

TEST_F(srv, unknown_target_prefix)
{
	call(self, "Unknown.Thing", "{}", KEY, SECRET, "echo");
	EXPECT_EQ(400, self->status);
	EXPECT_NE_NULL(strstr(self->body.buf, "UnknownOperationException"));
}

TEST_F(srv, credentials_reload)
{
	char err[512];

	write_file(self->creds, "AKIDNEW new-secret\n");
	ASSERT_EQ(0, http_api_reload_credentials(self->api, self->creds, err, sizeof(err)));
	call(self, "BpfbusEcho.Echo", "{}", KEY, SECRET, "echo");
	EXPECT_EQ(403, self->status);
	EXPECT_NE_NULL(strstr(self->body.buf, "InvalidClientTokenId"));
	call(self, "BpfbusEcho.Echo", "{}", "AKIDNEW", "new-secret", "echo");
	EXPECT_EQ(200, self->status);
	/* A broken file is refused and the keys in use stay. */
	write_file(self->creds, "only-a-key-id\n");
	EXPECT_EQ(-1, http_api_reload_credentials(self->api, self->creds, err, sizeof(err)));
	EXPECT_NE_NULL(strstr(err, self->creds));
	call(self, "BpfbusEcho.Echo", "{}", "AKIDNEW", "new-secret", "echo");
	EXPECT_EQ(200, self->status);
}

TEST_HARNESS_MAIN

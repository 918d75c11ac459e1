// SPDX-License-Identifier: BSD-2-Clause
/*
 * The http/https client of rule targets and SNS subscriptions (http_post.h) against a real TCP
 * server on a thread of the test: the request as sent (line, Host, type,
 * length, extra headers, body), statuses passed through, and every way no
 * answer comes: a bad URL, a refused connection, an answer that is not HTTP,
 * a server that never answers (the deadline).
 */
#include "http_post.h"
#include "strbuf.h"
#include "../harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

FIXTURE(srv)
{
	int lfd, port;
	pthread_t tid;
	const char *answer; /* NULL: accept, read, never answer */
	char request[4096];
	char url[128];
};

FIXTURE_VARIANT(srv)
{
	int family;
};

FIXTURE_VARIANT_ADD(srv, v4){ AF_INET };
FIXTURE_VARIANT_ADD(srv, v6){ AF_INET6 };

/* Accept one connection, keep what it sent until the blank line + body, answer. */
static void *serve(void *arg)
{
	FIXTURE_DATA(srv) *self = arg;
	int fd = accept(self->lfd, NULL, NULL);
	size_t got = 0;

	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t n = recv(fd, self->request + got, sizeof(self->request) - 1 - got, 0);
		char *end;

		if (n <= 0)
			break;
		got += (size_t)n;
		self->request[got] = '\0';
		end = strstr(self->request, "\r\n\r\n");
		const char *cl = strstr(self->request, "Content-Length: ");

		if (end && cl &&
		    got >= (size_t)(end + 4 - self->request) + strtoul(cl + 16, NULL, 10))
			break;
	}
	if (self->answer)
		send(fd, self->answer, strlen(self->answer), MSG_NOSIGNAL);
	else
		sleep(2); /* longer than the client's deadline */
	close(fd);
	return NULL;
}

FIXTURE_SETUP(srv)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;

	self->lfd = socket(variant->family, SOCK_STREAM, 0);
	ASSERT_LE(0, self->lfd);
	if (variant->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*s4);
	}
	if (bind(self->lfd, (struct sockaddr *)&ss, sl))
		SKIP("no %s loopback here", variant->family == AF_INET6 ? "IPv6" : "IPv4");
	ASSERT_EQ(0, listen(self->lfd, 4));
	ASSERT_EQ(0, getsockname(self->lfd, (struct sockaddr *)&ss, &sl));
	self->port = ntohs(((struct sockaddr_in *)&ss)->sin_port); /* same offset in v6 */
	snprintf(self->url, sizeof(self->url), "http://%s:%d/hook?x=1",
		 variant->family == AF_INET6 ? "[::1]" : "127.0.0.1", self->port);
}

FIXTURE_TEARDOWN(srv)
{
	close(self->lfd);
}

static void start(FIXTURE_DATA(srv) *self, const char *answer)
{
	self->answer = answer;
	pthread_create(&self->tid, NULL, serve, self);
}

TEST_F(srv, posts_and_passes_the_status_through)
{
	static const char *const extra[] = { "X-Test: 1", NULL };
	struct http_post_req req = { .url = self->url,
				     .content_type = "application/json; charset=utf-8",
				     .body = "{\"a\":1}",
				     .len = 7,
				     .headers = extra };
	char err[200], host[80];

	start(self, "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
	EXPECT_EQ(204, http_post(&req, err, sizeof(err)));
	pthread_join(self->tid, NULL);
	EXPECT_EQ(0, strncmp(self->request, "POST /hook?x=1 HTTP/1.1\r\n", 25));
	snprintf(host, sizeof(host), "\r\nHost: %s:%d\r\n",
		 variant->family == AF_INET6 ? "[::1]" : "127.0.0.1", self->port);
	EXPECT_NE_NULL(strstr(self->request, host));
	EXPECT_NE_NULL(
		strstr(self->request, "\r\nContent-Type: application/json; charset=utf-8\r\n"));
	EXPECT_NE_NULL(strstr(self->request, "\r\nContent-Length: 7\r\n"));
	EXPECT_NE_NULL(strstr(self->request, "\r\nX-Test: 1\r\n"));
	EXPECT_NE_NULL(strstr(self->request, "\r\n\r\n{\"a\":1}"));
}

TEST_F(srv, error_statuses_are_answers)
{
	struct http_post_req req = {
		.url = self->url, .content_type = "text/plain", .body = "x", .len = 1
	};
	char err[200];

	start(self, "HTTP/1.0 503 Busy\r\n\r\n");
	EXPECT_EQ(503, http_post(&req, err, sizeof(err)));
	pthread_join(self->tid, NULL);
}

TEST_F(srv, an_answer_that_is_not_http)
{
	struct http_post_req req = {
		.url = self->url, .content_type = "text/plain", .body = "x", .len = 1
	};
	char err[200];

	start(self, "SSH-2.0-OpenSSH\r\n");
	EXPECT_EQ(-1, http_post(&req, err, sizeof(err)));
	pthread_join(self->tid, NULL);
	EXPECT_NE_NULL(strstr(err, "the answer is not HTTP/1.x"));
}

TEST_F(srv, no_answer_before_the_deadline)
{
	struct http_post_req req = { .url = self->url,
				     .content_type = "text/plain",
				     .body = "x",
				     .len = 1,
				     .timeout_ms = 300 };
	struct timespec a, b;
	char err[200];

	start(self, NULL);
	clock_gettime(CLOCK_MONOTONIC, &a);
	EXPECT_EQ(-1, http_post(&req, err, sizeof(err)));
	clock_gettime(CLOCK_MONOTONIC, &b);
	pthread_join(self->tid, NULL);
	EXPECT_NE_NULL(strstr(err, "no answer"));
	long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;

	EXPECT_LE(250, ms);
	EXPECT_GT(1500, ms);
}

TEST_F(srv, refused_connection)
{
	struct http_post_req req = {
		.url = self->url, .content_type = "text/plain", .body = "x", .len = 1
	};
	char err[200];

	close(self->lfd); /* nobody listens on the port any more */
	self->lfd = socket(AF_INET, SOCK_STREAM, 0);
	EXPECT_EQ(-1, http_post(&req, err, sizeof(err)));
	EXPECT_NE_NULL(strstr(err, "cannot connect to"));
}

TEST(bad_urls)
{
	static const char *const urls[] = { "http://",	"http://h:x/", "http://[::1/",
					    "ftp://h/", "http://h:0/", "http://h:123456/" };
	char err[200];

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		struct http_post_req req = {
			.url = urls[i], .content_type = "text/plain", .body = "x", .len = 1
		};

		EXPECT_FALSE(http_post_url_ok(urls[i]));
		EXPECT_EQ(-1, http_post(&req, err, sizeof(err)));
		EXPECT_NE_NULL(strstr(err, "is not an http:// or https:// URL"));
		TH_LOG("%s: %s", urls[i], err);
	}
}

TEST(good_urls)
{
	EXPECT_TRUE(http_post_url_ok("http://h"));
	EXPECT_TRUE(http_post_url_ok("http://h:8080"));
	EXPECT_TRUE(http_post_url_ok("http://[::1]:80/a/b?c=d"));
	EXPECT_TRUE(http_post_url_ok("https://h:8443/x"));
	EXPECT_FALSE(http_post_url_ok("http://h/a b"));
}

TEST_HARNESS_MAIN

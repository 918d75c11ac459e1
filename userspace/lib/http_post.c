// SPDX-License-Identifier: BSD-2-Clause
/* One HTTP(S) POST over a fresh connection, with a deadline (http_post.h). */
#define _GNU_SOURCE
#include "http_post.h"
#include "strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* http_post_trust's file: read-only while POSTs run */
static char *trusted_ca_file;

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int http_url_split(const char *url, char *scheme, size_t scheme_cap, char *host, size_t host_cap,
		   char *port, size_t port_cap, const char **path)
{
	const char *sep = strstr(url, "://"), *h, *end, *colon = NULL;
	size_t n;

	if (!sep || (size_t)(sep - url) >= scheme_cap)
		return -1;
	snprintf(scheme, scheme_cap, "%.*s", (int)(sep - url), url);
	h = sep + 3;
	end = h + strcspn(h, "/?#");
	if (*h == '[') {
		const char *close = memchr(h, ']', (size_t)(end - h));

		if (!close)
			return -1;
		n = (size_t)(close - h - 1);
		if (!n || n >= host_cap)
			return -1;
		memcpy(host, h + 1, n);
		colon = close[1] == ':' ? close + 1 : NULL;
		if (!colon && close + 1 != end)
			return -1;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		n = (size_t)((colon ? colon : end) - h);
		if (!n || n >= host_cap)
			return -1;
		memcpy(host, h, n);
	}
	host[n] = '\0';
	if (colon) {
		n = (size_t)(end - colon - 1);
		if (!n || n >= port_cap || strspn(colon + 1, "0123456789") < n)
			return -1;
		snprintf(port, port_cap, "%.*s", (int)n, colon + 1);
		if (atoi(port) < 1 || atoi(port) > 65535)
			return -1;
	} else {
		snprintf(port, port_cap, "%s", !strcmp(scheme, "https") ? "443" : "80");
	}
	*path = *end == '/' ? end : "/";
	return 0;
}

bool http_post_url_ok(const char *url)
{
	char scheme[8], host[256], port[8];
	const char *path;

	return !http_url_split(url, scheme, sizeof(scheme), host, sizeof(host), port, sizeof(port),
			       &path) &&
	       (!strcmp(scheme, "http") || !strcmp(scheme, "https")) && !strpbrk(url, " \t\r\n");
}

/* The connection: a socket and, for https, its TLS session. */
struct conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	int64_t deadline;
};

static int wait_fd(struct conn *c, short events)
{
	int left = (int)(c->deadline - mono_ms());
	struct pollfd pfd = { .fd = c->fd, .events = events };

	if (left <= 0)
		return -1;
	return poll(&pfd, 1, left) == 1 ? 0 : -1;
}

static int connect_to(struct conn *c, const char *host, const char *port, char *err, size_t cap)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int rc = getaddrinfo(host, port, &hints, &res), soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (rc) {
		snprintf(err, cap, "cannot resolve %s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			continue;
		if (!connect(c->fd, ai->ai_addr, ai->ai_addrlen) ||
		    (errno == EINPROGRESS && !wait_fd(c, POLLOUT) &&
		     !getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) && !soerr))
			break;
		if (soerr)
			errno = soerr;
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	if (c->fd < 0) {
		snprintf(err, cap, "cannot connect to %s:%s: %s", host, port,
			 mono_ms() >= c->deadline ? "timed out" : strerror(errno));
		return -1;
	}
	return 0;
}

int http_post_trust(const char *ca_file, char *err, size_t cap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	STACK_OF(X509_NAME) *names = ca_file ? SSL_load_client_CA_file(ca_file) : NULL;
	unsigned long e;
	int ok = ctx && (!ca_file || SSL_CTX_load_verify_locations(ctx, ca_file, NULL) == 1);

	/* a file of no certificate at all loads "fine": insist on one */
	ok = ok && (!ca_file || (names && sk_X509_NAME_num(names) > 0));
	e = ERR_get_error();
	if (!ok)
		snprintf(err, cap, "%s: no PEM CA certificate can be read from it%s%s",
			 ca_file ? ca_file : "(none)", e ? ": " : "",
			 e ? ERR_reason_error_string(e) : "");
	ERR_clear_error();
	sk_X509_NAME_pop_free(names, X509_NAME_free);
	SSL_CTX_free(ctx);
	if (!ok)
		return -1;
	free(trusted_ca_file);
	trusted_ca_file = ca_file ? strdup(ca_file) : NULL;
	return 0;
}

static int tls_fail(char *err, size_t cap, const char *what, const char *host)
{
	unsigned long e = ERR_get_error();

	snprintf(err, cap, "TLS with %s: %s: %s", host, what,
		 e ? ERR_reason_error_string(e) : "the connection failed");
	ERR_clear_error();
	return -1;
}

/* Run one SSL_* step until it completes, waiting for the socket as asked. */
static int tls_step(struct conn *c, int r)
{
	int e = SSL_get_error(c->ssl, r);

	if (e == SSL_ERROR_WANT_READ)
		return wait_fd(c, POLLIN) ? -1 : 1;
	if (e == SSL_ERROR_WANT_WRITE)
		return wait_fd(c, POLLOUT) ? -1 : 1;
	return -1;
}

static int tls_start(struct conn *c, const char *host, char *err, size_t cap)
{
	int r;

	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx || SSL_CTX_set_default_verify_paths(c->ctx) != 1 ||
	    (trusted_ca_file && SSL_CTX_load_verify_locations(c->ctx, trusted_ca_file, NULL) != 1))
		return tls_fail(err, cap, "no TLS context", host);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 ||
	    SSL_set_tlsext_host_name(c->ssl, host) != 1 || SSL_set1_host(c->ssl, host) != 1)
		return tls_fail(err, cap, "cannot set up the session", host);
	while ((r = SSL_connect(c->ssl)) != 1)
		if (tls_step(c, r) < 0) {
			long v = SSL_get_verify_result(c->ssl);

			if (v == X509_V_OK)
				return tls_fail(err, cap, "handshake failed", host);
			/* say which check the certificate failed, not just that one did */
			snprintf(err, cap, "TLS with %s: the server's certificate is rejected: %s",
				 host, X509_verify_cert_error_string(v));
			ERR_clear_error();
			return -1;
		}
	return 0;
}

static int send_all(struct conn *c, const char *p, size_t len)
{
	while (len) {
		ssize_t n;

		if (c->ssl) {
			int r = SSL_write(c->ssl, p, (int)(len > 1 << 20 ? 1 << 20 : len));

			if (r <= 0) {
				if (tls_step(c, r) < 0)
					return -1;
				continue;
			}
			n = r;
		} else {
			n = send(c->fd, p, len, MSG_NOSIGNAL);
			if (n < 0) {
				if ((errno != EAGAIN && errno != EINTR) || wait_fd(c, POLLOUT))
					return -1;
				continue;
			}
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read until the status line is complete; its code, or -1. */
static int read_status(struct conn *c, char *err, size_t cap)
{
	char buf[1024];
	size_t have = 0;
	int code;

	while (have < sizeof(buf) - 1) {
		ssize_t n;

		if (c->ssl) {
			int r = SSL_read(c->ssl, buf + have, (int)(sizeof(buf) - 1 - have));

			if (r <= 0) {
				if (tls_step(c, r) < 0)
					break;
				continue;
			}
			n = r;
		} else {
			n = recv(c->fd, buf + have, sizeof(buf) - 1 - have, 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				if (wait_fd(c, POLLIN))
					break;
				continue;
			}
			if (n <= 0)
				break;
		}
		have += (size_t)n;
		buf[have] = '\0';
		if (strstr(buf, "\r\n"))
			break;
	}
	buf[have] = '\0';
	if (sscanf(buf, "HTTP/1.%*[01] %3d", &code) == 1 && code >= 100 && code <= 599)
		return code;
	snprintf(err, cap, "%s",
		 !have			    ? "no answer (timed out or closed)"
		 : mono_ms() >= c->deadline ? "timed out reading the answer"
					    : "the answer is not HTTP/1.x");
	return -1;
}

int http_post(const struct http_post_req *req, char *err, size_t cap)
{
	char scheme[8], host[256], port[8];
	struct conn c = { .fd = -1,
			  .deadline = mono_ms() + (req->timeout_ms > 0 ? req->timeout_ms : 5000) };
	struct strbuf head = STRBUF_INIT;
	const char *path;
	bool https;
	int code = -1;

	if (!http_post_url_ok(req->url) ||
	    http_url_split(req->url, scheme, sizeof(scheme), host, sizeof(host), port, sizeof(port),
			   &path)) {
		snprintf(err, cap, "'%.200s' is not an http:// or https:// URL", req->url);
		return -1;
	}
	https = !strcmp(scheme, "https");
	if (connect_to(&c, host, port, err, cap) || (https && tls_start(&c, host, err, cap)))
		goto out;
	sb_printf(&head,
		  "POST %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nContent-Type: %s\r\n"
		  "Content-Length: %zu\r\nUser-Agent: %s\r\nConnection: close\r\n",
		  path, strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port,
		  req->content_type, req->len, req->user_agent ? req->user_agent : "bpfbusd");
	for (const char *const *h = req->headers; h && *h; h++)
		sb_printf(&head, "%s\r\n", *h);
	sb_adds(&head, "\r\n");
	if (send_all(&c, head.buf, head.len) || send_all(&c, req->body, req->len)) {
		snprintf(err, cap, "cannot send to %s:%s: %s", host, port,
			 mono_ms() >= c.deadline ? "timed out" : strerror(errno));
		goto out;
	}
	code = read_status(&c, err, cap);
out:
	if (c.ssl) {
		SSL_shutdown(c.ssl);
		SSL_free(c.ssl);
	}
	SSL_CTX_free(c.ctx);
	if (c.fd >= 0)
		close(c.fd);
	sb_free(&head);
	return code;
}

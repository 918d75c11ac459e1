// SPDX-License-Identifier: BSD-2-Clause
/* One HTTP POST over a fresh connection. See http_post.h. */
#define _GNU_SOURCE
#include "http_post.h"
#include "strbuf.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "http://host:port/path" -> host, port ("80"), path ("/"); -1 when it is no such URL. */
static int split_url(const char *url, char *host, size_t hcap, char *port, size_t pcap,
		     const char **path)
{
	const char *h, *end, *colon;
	size_t n;

	if (strncmp(url, "http://", 7))
		return -1;
	h = url + 7;
	end = h + strcspn(h, "/?#");
	*path = *end == '/' ? end : "/";
	if (*h == '[') {
		const char *close = memchr(h, ']', (size_t)(end - h));

		if (!close)
			return -1;
		n = (size_t)(close - h - 1);
		colon = close[1] == ':' ? close + 1 : NULL;
		h++;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		n = (size_t)((colon ? colon : end) - h);
	}
	if (!n || n >= hcap)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	if (colon) {
		n = (size_t)(end - colon - 1);
		if (!n || n >= pcap || strspn(colon + 1, "0123456789") < n)
			return -1;
		memcpy(port, colon + 1, n);
		port[n] = '\0';
	} else {
		snprintf(port, pcap, "80");
	}
	return 0;
}

/* Wait until @fd is ready for @events or the deadline passes; 0 or -1 (errno ETIMEDOUT). */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - mono_ms();
		struct pollfd p = { .fd = fd, .events = events };
		int r;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static int connect_to(const char *host, const char *port, int64_t deadline, char *err, size_t cap)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	int fd = -1, r = getaddrinfo(host, port, &hints, &ai);

	if (r) {
		snprintf(err, cap, "cannot resolve %s: %s", host, gai_strerror(r));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (!connect(fd, a->ai_addr, a->ai_addrlen) ||
		    (errno == EINPROGRESS && !wait_fd(fd, POLLOUT, deadline) &&
		     !getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) && !soerr))
			break;
		if (soerr)
			errno = soerr;
		snprintf(err, cap, "cannot connect to %s:%s: %s", host, port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static int send_all(int fd, const char *p, size_t len, int64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (wait_fd(fd, POLLOUT, deadline))
				return -1;
			continue;
		}
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read until the status line is complete; the status, or -1. */
static int read_status(int fd, int64_t deadline, char *err, size_t cap)
{
	char buf[512];
	size_t got = 0;

	while (got < sizeof(buf) - 1) {
		ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (wait_fd(fd, POLLIN, deadline)) {
				snprintf(err, cap, "no answer: %s", strerror(errno));
				return -1;
			}
			continue;
		}
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if (strchr(buf, '\n'))
			break;
	}
	buf[got] = '\0';
	int status;

	if (strncmp(buf, "HTTP/1.", 7) || sscanf(buf + 8, " %3d", &status) != 1 || status < 100 ||
	    status > 599) {
		snprintf(err, cap, "not an HTTP answer: '%.40s'", buf);
		return -1;
	}
	return status;
}

int http_post(const struct http_post_req *req, char *err, size_t cap)
{
	char host[256], port[8];
	const char *path;
	int64_t deadline = mono_ms() + (req->timeout_ms > 0 ? req->timeout_ms : 5000);
	struct strbuf head = STRBUF_INIT;
	int fd, status = -1;

	if (split_url(req->url, host, sizeof(host), port, sizeof(port), &path)) {
		snprintf(err, cap, "'%.200s' is not an http:// URL", req->url);
		return -1;
	}
	fd = connect_to(host, port, deadline, err, cap);
	if (fd < 0)
		return -1;
	sb_printf(
		&head,
		"POST %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		"User-Agent: bpfbusd\r\nConnection: close\r\n",
		path, strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port,
		req->content_type, req->len);
	for (const char *const *h = req->headers; h && *h; h++)
		sb_printf(&head, "%s\r\n", *h);
	sb_adds(&head, "\r\n");
	if (send_all(fd, head.buf, head.len, deadline) ||
	    send_all(fd, req->body, req->len, deadline))
		snprintf(err, cap, "cannot send to %s:%s: %s", host, port, strerror(errno));
	else
		status = read_status(fd, deadline, err, cap);
	sb_free(&head);
	close(fd);
	return status;
}

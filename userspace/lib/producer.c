// SPDX-License-Identifier: BSD-2-Clause
/* UDP producer of bpfbus wire v1 datagrams: socket, batches, pacing. */
#define _GNU_SOURCE
#include "producer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int bb_parse_hostport(const char *s, uint16_t default_port, struct sockaddr_storage *ss,
		      socklen_t *len, char *err, size_t errlen)
{
	char host[256];
	const char *port_s = NULL;
	uint16_t port = default_port;
	size_t hlen;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || (close[1] && close[1] != ':')) {
			snprintf(err, errlen, "'%s': expected [IPv6]:PORT", s);
			return -1;
		}
		hlen = (size_t)(close - s - 1);
		if (hlen >= sizeof(host))
			goto too_long;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (close[1] == ':')
			port_s = close + 2;
	} else {
		const char *colon = strchr(s, ':');

		/* Two colons or more: a bare IPv6 address, no port. */
		if (colon && strchr(colon + 1, ':'))
			colon = NULL;
		hlen = colon ? (size_t)(colon - s) : strlen(s);
		if (hlen >= sizeof(host))
			goto too_long;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (colon)
			port_s = colon + 1;
	}
	if (!host[0]) {
		snprintf(err, errlen, "'%s': no host", s);
		return -1;
	}
	if (port_s && parse_port(port_s, &port)) {
		snprintf(err, errlen, "'%s': port must be 1..65535", s);
		return -1;
	}

	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM };
	struct addrinfo *res;
	int rc = getaddrinfo(host, NULL, &hints, &res);

	if (rc) {
		snprintf(err, errlen, "'%s': %s", host, gai_strerror(rc));
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else {
		snprintf(err, errlen, "'%s': not an IPv4 or IPv6 address", host);
		return -1;
	}
	return 0;
too_long:
	snprintf(err, errlen, "host name too long");
	return -1;
}

void bb_format_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	}
}

int bb_producer_open(struct bb_producer *p, const char *dest, uint16_t default_port, char *err,
		     size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->fd = -1;
	if (bb_parse_hostport(dest, default_port, &p->addr, &p->addr_len, err, errlen))
		return -1;
	bb_format_addr(&p->addr, p->addr_str, sizeof(p->addr_str));
	p->fd = socket(p->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	if (p->fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* A larger send buffer smooths sendmmsg bursts; best effort. */
	int sndbuf = 4 << 20;

	setsockopt(p->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	return 0;
}

void bb_producer_close(struct bb_producer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* Errors worth waiting out: the socket or device queue is momentarily full. */
static bool transient(int err)
{
	return err == EINTR || err == ENOBUFS || err == EAGAIN;
}

static void backoff(int err)
{
	if (err != EINTR) {
		struct timespec ts = { 0, 50 * 1000 };

		nanosleep(&ts, NULL);
	}
}

int bb_producer_send(struct bb_producer *p, const void *buf, size_t len)
{
	for (;;) {
		ssize_t n = sendto(p->fd, buf, len, 0, (struct sockaddr *)&p->addr, p->addr_len);

		if (n >= 0) {
			p->sent++;
			p->bytes += len;
			return 0;
		}
		if (!transient(errno))
			return -1;
		backoff(errno);
	}
}

int bb_producer_send_batch(struct bb_producer *p, struct mmsghdr *msgs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		msgs[i].msg_hdr.msg_name = &p->addr;
		msgs[i].msg_hdr.msg_namelen = p->addr_len;
	}
	unsigned int done = 0;

	while (done < n) {
		unsigned int want = n - done;

		if (want > BB_PRODUCER_BATCH)
			want = BB_PRODUCER_BATCH;
		int r = sendmmsg(p->fd, msgs + done, want, 0);

		if (r < 0) {
			if (!transient(errno))
				return -1;
			backoff(errno);
			continue;
		}
		for (int i = 0; i < r; i++) {
			p->sent++;
			p->bytes += msgs[done + i].msg_len;
		}
		done += (unsigned int)r;
	}
	return 0;
}

void bb_pacer_init(struct bb_pacer *pc, double rate)
{
	pc->rate = rate;
	clock_gettime(CLOCK_MONOTONIC, &pc->start);
}

void bb_pacer_wait(const struct bb_pacer *pc, uint64_t i)
{
	if (pc->rate <= 0)
		return;
	double off = (double)i / pc->rate;
	uint64_t ns = (uint64_t)(off * 1e9);
	struct timespec due = pc->start;

	due.tv_sec += (time_t)(ns / 1000000000ULL);
	due.tv_nsec += (long)(ns % 1000000000ULL);
	if (due.tv_nsec >= 1000000000L) {
		due.tv_sec++;
		due.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR)
		;
}

unsigned int bb_pacer_burst(const struct bb_pacer *pc)
{
	if (pc->rate <= 0)
		return BB_PRODUCER_BATCH;
	double b = pc->rate / 1000.0;

	if (b < 1)
		return 1;
	if (b > BB_PRODUCER_BATCH)
		return BB_PRODUCER_BATCH;
	return (unsigned int)b;
}

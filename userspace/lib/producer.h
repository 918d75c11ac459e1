/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Producer side of bpfbus wire v1: a UDP socket to the router (IPv4 or IPv6),
 * single sends, sendmmsg batches, and pacing at a fixed event rate.
 *
 *	struct bb_producer p;
 *	if (bb_producer_open(&p, "[::1]:4790", BPFBUS_WIRE_DEFAULT_PORT, err, sizeof(err)))
 *		...
 *	bb_producer_send(&p, buf, len);
 *	bb_producer_close(&p);
 */
#ifndef BPFBUS_LIB_PRODUCER_H
#define BPFBUS_LIB_PRODUCER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

struct mmsghdr;

/* Largest batch handed to one sendmmsg call. */
#define BB_PRODUCER_BATCH 64

struct bb_producer {
	int fd;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char addr_str[80]; /* "127.0.0.1:4790", "[::1]:4790" */
	uint64_t sent; /* datagrams sent */
	uint64_t bytes; /* UDP payload bytes sent */
};

/*
 * Parse "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address
 * ("::1") into a socket address; @default_port when none is given. Host
 * names are resolved (first address). Returns 0, or -1 with a message in @err.
 */
int bb_parse_hostport(const char *s, uint16_t default_port, struct sockaddr_storage *ss,
		      socklen_t *len, char *err, size_t errlen);

/* Format @ss as "a.b.c.d:port" or "[v6]:port". */
void bb_format_addr(const struct sockaddr_storage *ss, char *buf, size_t len);

/* Open an unconnected UDP socket for @dest. Returns 0, or -1 with @err set. */
int bb_producer_open(struct bb_producer *p, const char *dest, uint16_t default_port, char *err,
		     size_t errlen);
void bb_producer_close(struct bb_producer *p);

/* Send one datagram. Returns 0 or -1 with errno set. */
int bb_producer_send(struct bb_producer *p, const void *buf, size_t len);

/*
 * Send @n datagrams described by @msgs (msg_iov/msg_iovlen filled; msg_name
 * is set here) with sendmmsg, BB_PRODUCER_BATCH at a time, retrying partial
 * sends, EINTR and transient ENOBUFS/EAGAIN. Returns 0 or -1 with errno set
 * (p->sent counts what went out).
 */
int bb_producer_send_batch(struct bb_producer *p, struct mmsghdr *msgs, unsigned int n);

/*
 * Pacing: datagram i is due at start + i / rate (CLOCK_MONOTONIC, absolute
 * deadlines, so sleep overshoot does not accumulate). rate <= 0: no pacing.
 */
struct bb_pacer {
	double rate;
	struct timespec start;
};

void bb_pacer_init(struct bb_pacer *pc, double rate);
/* Sleep until datagram number @i (from 0) is due. */
void bb_pacer_wait(const struct bb_pacer *pc, uint64_t i);
/* How many datagrams to send per wake-up: about one batch per millisecond. */
unsigned int bb_pacer_burst(const struct bb_pacer *pc);

#endif

// SPDX-License-Identifier: BSD-2-Clause
/*
 * The acknowledged sender against a hand-driven router socket on the
 * loopback: sequence numbers, retransmission, and the window waiting for its
 * oldest datagram (not for any free room) before sending further.
 */
#include "producer_ack.h"
#include "wire.h"
#include "../harness.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

FIXTURE(acked)
{
	int router;
	struct bb_producer p;
	struct bb_acked a;
	uint8_t dgram[128];
	long len;
};

FIXTURE_SETUP(acked)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t sl = sizeof(sa);
	char dest[64], err[128];
	struct bb_wire_msg m = { .kind = BPFBUS_WIRE_KIND_EVENT,
				 .name = "b",
				 .name_len = 1,
				 .body = "{}",
				 .body_len = 2 };

	self->router = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_EQ(0, bind(self->router, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, getsockname(self->router, (struct sockaddr *)&sa, &sl));
	snprintf(dest, sizeof(dest), "127.0.0.1:%u", ntohs(sa.sin_port));
	ASSERT_EQ(0, bb_producer_open(&self->p, dest, 0, err, sizeof(err)));
	ASSERT_EQ(0, bb_acked_init(&self->a, &self->p, 42, 1, 4, 50));
	self->len = bb_wire_encode(&m, self->dgram, sizeof(self->dgram));
	ASSERT_GT(self->len, 0);
}

FIXTURE_TEARDOWN(acked)
{
	bb_acked_free(&self->a);
	bb_producer_close(&self->p);
	close(self->router);
}

/* The next datagram at the router within 1 s: its seq, or 0; *from gets the sender. */
static uint64_t router_recv(int fd, struct sockaddr_in *from)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint8_t buf[256];
	socklen_t fl = sizeof(*from);
	struct bb_wire_msg m;

	if (poll(&pfd, 1, 1000) != 1)
		return 0;
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)from, &fl);

	if (n <= 0 || bb_wire_decode(buf, (size_t)n, &m, 0) != BPFBUS_WIRE_OK ||
	    m.producer_id != 42 || (m.flags & BPFBUS_WIRE_F_ACK) == 0)
		return 0;
	return m.seq;
}

static void router_ack(int fd, const struct sockaddr_in *to, uint64_t seq)
{
	struct bpfbus_wire_ack k = { .magic = htonl(BPFBUS_ACK_MAGIC),
				     .version = BPFBUS_ACK_VERSION,
				     .producer_id = htobe64(42),
				     .seq = htobe64(seq) };

	sendto(fd, &k, sizeof(k), 0, (const struct sockaddr *)to, sizeof(*to));
}

TEST_F(acked, window_waits_for_its_oldest_datagram)
{
	struct sockaddr_in from;

	for (int i = 1; i <= 4; i++)
		ASSERT_EQ(0, bb_acked_send(&self->a, self->dgram, (size_t)self->len, 0));
	for (uint64_t want = 1; want <= 4; want++)
		ASSERT_EQ(want, router_recv(self->router, &from));
	/* 2, 3 and 4 acknowledged, 1 not: room in the window, but not for seq 5 */
	for (uint64_t s = 2; s <= 4; s++)
		router_ack(self->router, &from, s);
	ASSERT_EQ(-1, bb_acked_send(&self->a, self->dgram, (size_t)self->len, 300));
	ASSERT_EQ(ETIMEDOUT, errno);
	ASSERT_EQ(3, self->a.acked);
	/* meanwhile seq 1 was retransmitted (and nothing else was sent) */
	ASSERT_EQ(1, router_recv(self->router, &from));
	router_ack(self->router, &from, 1);
	ASSERT_EQ(0, bb_acked_send(&self->a, self->dgram, (size_t)self->len, 1000));
	uint64_t s;

	while ((s = router_recv(self->router, &from)) == 1)
		; /* more retransmissions of 1 may be queued */
	ASSERT_EQ(5, s);
	router_ack(self->router, &from, 5);
	ASSERT_EQ(0, bb_acked_flush(&self->a, 1000));
	ASSERT_EQ(5, self->a.acked);
	ASSERT_GE(self->a.retransmits, 1);
}

TEST_F(acked, flush_gives_up_without_acks)
{
	ASSERT_EQ(0, bb_acked_send(&self->a, self->dgram, (size_t)self->len, 0));
	ASSERT_EQ(-1, bb_acked_flush(&self->a, 200));
	ASSERT_EQ(ETIMEDOUT, errno);
	ASSERT_EQ(0, self->a.acked);
}

TEST_HARNESS_MAIN

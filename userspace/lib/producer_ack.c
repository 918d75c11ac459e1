// SPDX-License-Identifier: BSD-2-Clause
/* Acknowledged sending. See producer_ack.h. */
#include "producer_ack.h"
#include "strbuf.h"
#include "wire.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct bb_acked_slot {
	bool used;
	uint64_t seq;
	int64_t due_ms; /* next retransmission */
	size_t len;
	uint8_t *buf;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int bb_acked_init(struct bb_acked *a, struct bb_producer *p, uint64_t producer_id,
		  uint64_t first_seq, unsigned int window, int rto_ms)
{
	memset(a, 0, sizeof(*a));
	if (!window || window > BB_ACKED_MAX_WINDOW || rto_ms <= 0) {
		errno = EINVAL;
		return -1;
	}
	while (!producer_id)
		if (getrandom(&producer_id, sizeof(producer_id), 0) != sizeof(producer_id))
			return -1;
	a->p = p;
	a->producer_id = producer_id;
	a->next_seq = first_seq;
	a->window = window;
	a->rto_ms = rto_ms;
	a->slots = xcalloc(window, sizeof(*a->slots));
	for (unsigned int i = 0; i < window; i++)
		a->slots[i].buf = xmalloc(BPFBUS_WIRE_MAX_PAYLOAD);
	return 0;
}

void bb_acked_free(struct bb_acked *a)
{
	for (unsigned int i = 0; a->slots && i < a->window; i++)
		free(a->slots[i].buf);
	free(a->slots);
	a->slots = NULL;
}

static void on_ack(struct bb_acked *a, const struct bpfbus_wire_ack *k)
{
	uint64_t seq = be64toh(k->seq);
	struct bb_acked_slot *s = &a->slots[seq % a->window];

	if (ntohl(k->magic) != BPFBUS_ACK_MAGIC || k->version != BPFBUS_ACK_VERSION ||
	    be64toh(k->producer_id) != a->producer_id || !s->used || s->seq != seq)
		return; /* not ours, or a late duplicate */
	s->used = false;
	a->in_flight--;
	a->acked++;
	if (k->status == BPFBUS_ACK_REJECTED)
		a->rejected++;
	else if (k->status == BPFBUS_ACK_FAILED)
		a->failed++;
}

/*
 * Retransmit what is due, oldest first (a router keeping FIFO order takes
 * them only in order); the earliest next due time (-1: nothing in flight).
 */
static int64_t retransmit(struct bb_acked *a)
{
	int64_t now = now_ms(), next = -1;
	uint64_t seq = a->next_seq > a->window ? a->next_seq - a->window : 0;

	for (; a->in_flight && seq < a->next_seq; seq++) {
		struct bb_acked_slot *s = &a->slots[seq % a->window];

		if (!s->used || s->seq != seq)
			continue;
		if (s->due_ms <= now) {
			if (bb_producer_send(a->p, s->buf, s->len) == 0)
				a->retransmits++;
			s->due_ms = now + a->rto_ms;
		}
		if (next < 0 || s->due_ms < next)
			next = s->due_ms;
	}
	return next;
}

int bb_acked_poll(struct bb_acked *a, int timeout_ms)
{
	int64_t end = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int got = 0;

	for (;;) {
		struct bpfbus_wire_ack k;
		ssize_t n;

		while ((n = recv(a->p->fd, &k, sizeof(k), MSG_DONTWAIT)) >= 0)
			if (n == sizeof(k)) {
				uint64_t before = a->acked;

				on_ack(a, &k);
				got += a->acked != before;
			}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNREFUSED)
			return -1;
		int64_t next = retransmit(a), now = now_ms();

		if (got || now >= end)
			return got;
		int64_t wait = end - now;

		if (next >= 0 && next - now < wait)
			wait = next > now ? next - now : 0;
		struct pollfd pfd = { .fd = a->p->fd, .events = POLLIN };

		if (poll(&pfd, 1, (int)wait) < 0 && errno != EINTR)
			return -1;
	}
}

/*
 * Wait for the slot of the next sequence number (or, with @all, for every
 * ack), giving up after @timeout_ms without one. Waiting for that slot, not
 * for any room, keeps every unacknowledged number within @window of the next.
 */
static int wait_acks(struct bb_acked *a, bool all, int timeout_ms)
{
	int64_t last = now_ms();

	while (all ? a->in_flight > 0 : a->slots[a->next_seq % a->window].used) {
		int r = bb_acked_poll(a, 50);

		if (r < 0)
			return -1;
		if (r > 0)
			last = now_ms();
		else if (timeout_ms >= 0 && now_ms() - last >= timeout_ms) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

int bb_acked_send(struct bb_acked *a, const void *dgram, size_t len, int timeout_ms)
{
	if (len < BPFBUS_WIRE_HDR_LEN || len > BPFBUS_WIRE_MAX_PAYLOAD) {
		errno = EMSGSIZE;
		return -1;
	}
	if (wait_acks(a, false, timeout_ms))
		return -1;
	struct bb_acked_slot *s = &a->slots[a->next_seq % a->window];
	struct bpfbus_wire_hdr *h = (struct bpfbus_wire_hdr *)s->buf;

	memcpy(s->buf, dgram, len);
	h->flags |= htons(BPFBUS_WIRE_F_ACK | BPFBUS_WIRE_F_PRODUCER);
	h->producer_id = htobe64(a->producer_id);
	h->seq = htobe64(a->next_seq);
	s->used = true;
	s->seq = a->next_seq++;
	s->len = len;
	s->due_ms = now_ms() + a->rto_ms;
	a->in_flight++;
	if (bb_producer_send(a->p, s->buf, len) && errno != ECONNREFUSED)
		return -1; /* (refused: nobody listens yet; retransmitted later) */
	/* acks that are already there */
	return bb_acked_poll(a, 0) < 0 ? -1 : 0;
}

int bb_acked_flush(struct bb_acked *a, int timeout_ms)
{
	return wait_acks(a, true, timeout_ms);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Acknowledged sending (docs/wire.md, "Acknowledged ingest"): datagrams
 * carry F_ACK, F_PRODUCER, a producer id and consecutive sequence numbers;
 * each is retransmitted every @rto_ms until the router's ack datagram for it
 * comes back (the router deduplicates retransmissions). Sequence number N is
 * sent only once N - @window was acknowledged: the sender blocks until then,
 * reading acks and retransmitting.
 */
#ifndef BPFBUS_LIB_PRODUCER_ACK_H
#define BPFBUS_LIB_PRODUCER_ACK_H

#include "producer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The router keeps 1024 sequence numbers per producer: at most half in flight. */
#define BB_ACKED_MAX_WINDOW 512

struct bb_acked_slot;

struct bb_acked {
	struct bb_producer *p;
	uint64_t producer_id;
	uint64_t next_seq; /* of the next datagram */
	unsigned int window;
	int rto_ms;
	struct bb_acked_slot *slots; /* [seq % window] */
	unsigned int in_flight;
	/* counts */
	uint64_t acked, retransmits, rejected, failed;
};

/*
 * @producer_id 0: a random one. @first_seq: of the first datagram (1 is usual).
 * @window 1..BB_ACKED_MAX_WINDOW; @rto_ms the retransmission interval.
 */
int bb_acked_init(struct bb_acked *a, struct bb_producer *p, uint64_t producer_id,
		  uint64_t first_seq, unsigned int window, int rto_ms);
void bb_acked_free(struct bb_acked *a);

/*
 * Send one encoded datagram (bb_wire_encode output; its producer fields and
 * flags are set here). Waits while the window is full, up to @timeout_ms
 * without an ack (-1: forever). Returns 0, or -1 with errno (ETIMEDOUT).
 */
int bb_acked_send(struct bb_acked *a, const void *dgram, size_t len, int timeout_ms);

/* Read acks and retransmit for up to @timeout_ms. Returns acks read, or -1. */
int bb_acked_poll(struct bb_acked *a, int timeout_ms);

/*
 * Until every datagram sent is acknowledged; gives up after @timeout_ms
 * without progress. Returns 0, or -1 with errno ETIMEDOUT.
 */
int bb_acked_flush(struct bb_acked *a, int timeout_ms);

#endif

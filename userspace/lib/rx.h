/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Receiving what the XDP datapath hands to userspace: AF_XDP sockets (one per
 * RX queue, libxdp's xsk API, the match result in the 32 bytes of metadata in
 * front of each frame) or the ring buffer (struct bpfbus_rb_record). Both
 * deliver the same struct bb_rx_event to a callback. The daemon builds its
 * rx workers on this; `bpfbus capture` prints what it gets.
 */
#ifndef BPFBUS_LIB_RX_H
#define BPFBUS_LIB_RX_H

#include "bpfbus/datapath.h"

#include <stdbool.h>
#include <stdint.h>

struct bb_rx_event {
	const struct bpfbus_meta *meta;
	const uint32_t *rule_ids; /* n_ids rule ids the kernel listed */
	uint32_t n_ids;
	bool verify; /* BPFBUS_META_F_VERIFY: match in userspace */
	uint32_t verify_why; /* with verify: why the kernel asked (kverify_reasons names them) */
	bool truncated; /* more rules matched than rule_ids lists: match in userspace */
	const uint8_t *frame; /* from the Ethernet header */
	uint32_t frame_len;
	const uint8_t *body; /* the event body within the frame */
	uint32_t body_len;
	uint32_t queue; /* RX queue (AF_XDP); 0 for the ring buffer */
};

/* Return 0 to go on, nonzero to stop after this event (bb_rx_poll returns). */
typedef int (*bb_rx_fn)(const struct bb_rx_event *ev, void *ctx);

/* UMEM frames per RX queue (4 KiB each), also the fill and RX ring sizes */
#define BB_XSK_FRAMES_DEFAULT 4096
#define BB_XSK_FRAMES_MIN 64
#define BB_XSK_FRAMES_MAX (1u << 20)

struct bb_xsk_opts {
	uint32_t queues; /* sockets for queues 0..queues-1; 0: every RX queue */
	uint32_t frames; /* UMEM frames per queue, a power of 2 (-EINVAL if not); 0: default */
	bool zerocopy; /* XDP_ZEROCOPY; default XDP_COPY (veth, generic mode) */
};

struct bb_rx;

/*
 * AF_XDP: one UMEM and socket per RX queue of @ifname, each put into the XSKMAP
 * @xsks_fd at its queue index (the XDP program must already be attached).
 * @ring_fd (the BPFBUS_MAP_RING map, or -1) brings the ids records of frames
 * that matched more rules than their metadata lists; without it such events
 * arrive truncated.
 */
int bb_rx_open_xsk(struct bb_rx **rx, const char *ifname, int xsks_fd, int ring_fd,
		   const struct bb_xsk_opts *opts);
/* Ring buffer: @ring_fd is the BPFBUS_MAP_RING map. */
int bb_rx_open_ringbuf(struct bb_rx **rx, int ring_fd);

/*
 * Wait up to @timeout_ms (-1: forever) for events and deliver each to @fn.
 * Returns the number delivered, or -errno (-EINTR: a signal came).
 */
int bb_rx_poll(struct bb_rx *rx, int timeout_ms, bb_rx_fn fn, void *ctx);

/* File descriptors to wait on (for an epoll loop); returns how many, up to @max. */
int bb_rx_fds(struct bb_rx *rx, int *fds, int max);

struct bb_rx_stats {
	uint64_t delivered;
	uint64_t bad_meta; /* frames without valid metadata (skipped) */
	/* AF_XDP sockets, summed (XDP_STATISTICS) */
	uint64_t rx_dropped, rx_ring_full, fill_ring_empty;
};
int bb_rx_stats(struct bb_rx *rx, struct bb_rx_stats *st);

void bb_rx_close(struct bb_rx *rx);

#endif

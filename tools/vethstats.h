/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The veth driver's own per-queue counters (what `ethtool -S` shows), read
 * with the SIOCETHTOOL ioctl and summed over the queues, so the end-to-end
 * benchmark can say where every injected frame went:
 *
 *   on the sender veth   xdp_xmit       frames its ndo_xdp_xmit put into the
 *                                       peer's XDP ring
 *                        xdp_xmit_err   frames it refused: the peer's ring
 *                                       (256 frames) was full
 *   on the receiver veth xdp_packets    frames its NAPI took off that ring
 *                        rx_drops       frames it dropped on receive
 */
#ifndef BPFBUS_TOOLS_VETHSTATS_H
#define BPFBUS_TOOLS_VETHSTATS_H

#include <stdint.h>

struct veth_counters {
	uint64_t xdp_xmit, xdp_xmit_err, xdp_packets, rx_drops;
};

/* 0, or -1 with errno (ENODEV: no such interface; EOPNOTSUPP: no such
 * counters, not a veth). */
int veth_counters_read(const char *ifname, struct veth_counters *c);
/* *after - *before, field by field, into *d. */
void veth_counters_delta(const struct veth_counters *before, const struct veth_counters *after,
			 struct veth_counters *d);

#endif

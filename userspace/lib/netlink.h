/* SPDX-License-Identifier: BSD-2-Clause */
/* Interfaces through libnl (rtnetlink): lookup by name or index, link state. */
#ifndef BPFBUS_LIB_NETLINK_H
#define BPFBUS_LIB_NETLINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

struct bb_link {
	int ifindex;
	char name[IF_NAMESIZE];
	bool up; /* IFF_UP: administratively up */
	bool running; /* IFF_RUNNING: carrier */
	char operstate[16]; /* "up", "down", "lowerlayerdown", ... */
	uint32_t mtu;
	uint32_t rx_queues; /* RX queues (AF_XDP binds one socket per queue) */
};

/* 0, -ENODEV (no such interface) or -errno. */
int bb_link_get(const char *name, struct bb_link *link);
int bb_link_get_index(int ifindex, struct bb_link *link);
/* Calls @fn for every interface, in index order; stops when it returns nonzero. */
int bb_link_foreach(int (*fn)(const struct bb_link *link, void *ctx), void *ctx);

#endif

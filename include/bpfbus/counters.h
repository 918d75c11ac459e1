/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Counters kept by the XDP programs in a BPF_MAP_TYPE_PERCPU_ARRAY, indexed by
 * enum bpfbus_counter_idx. Shared by bpf/ and userspace/: one definition.
 */
#ifndef BPFBUS_COUNTERS_H
#define BPFBUS_COUNTERS_H

#ifndef __VMLINUX_H__ /* BPF side gets the types from vmlinux.h */
#include <linux/types.h>
#endif

/* Default UDP port of bpfbus wire v1 datagrams. */
#define BPFBUS_DEFAULT_PORT 4790

enum bpfbus_counter_idx {
	BPFBUS_CTR_RX_V4 = 0, /* bpfbus datagrams over IPv4 */
	BPFBUS_CTR_RX_V6 = 1, /* bpfbus datagrams over IPv6 */
	BPFBUS_CTR_MAX,
};

struct bpfbus_counter {
	__u64 packets;
	__u64 bytes; /* whole frames, Ethernet header included */
};

_Static_assert(sizeof(struct bpfbus_counter) == 16, "bpfbus_counter is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_counter, bytes) == 8, "bpfbus_counter is ABI");
_Static_assert(BPFBUS_CTR_MAX == 2, "append new counters before BPFBUS_CTR_MAX");

#endif /* BPFBUS_COUNTERS_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The frame templates tools/loadgen hands to bpf/loadgen.bpf.c (live-frames
 * mode): complete Ethernet + IPv4 + UDP frames carrying wire v1 datagrams.
 * Shared by bpf/ and userspace/: one definition.
 */
#ifndef BPFBUS_LOADGEN_H
#define BPFBUS_LOADGEN_H

#ifndef __VMLINUX_H__ /* BPF side gets the types from vmlinux.h */
#include <linux/types.h>
#endif

#define LOADGEN_MAX_FRAMES 1024 /* templates in the round robin */
#define LOADGEN_MIN_FRAME 60 /* Ethernet minimum without FCS */
#define LOADGEN_MAX_FRAME 1514 /* Ethernet + 1500 bytes of MTU */

#define LOADGEN_F_MATCH 0x1 /* the event matches the loaded rules */

struct loadgen_frame {
	__u32 len; /* bytes of data used */
	__u32 flags; /* LOADGEN_F_* */
	__u8 data[1516]; /* LOADGEN_MAX_FRAME, padded to a multiple of 4 */
};

/* Per CPU: the round robin's position, pacing and what went out (XDP_TX). */
struct loadgen_stats {
	__u32 next; /* next template */
	__u32 pad;
	__u64 due; /* paced: when the next frame is due (bpf_ktime_get_ns) */
	__u64 sent; /* frames the program returned XDP_TX for */
	__u64 matching; /* of those, with LOADGEN_F_MATCH */
};

_Static_assert(sizeof(((struct loadgen_frame *)0)->data) >= LOADGEN_MAX_FRAME, "frame fits");
_Static_assert(sizeof(struct loadgen_frame) == 1524, "loadgen_frame is ABI");
_Static_assert(sizeof(struct loadgen_stats) == 32, "loadgen_stats is ABI");

#endif /* BPFBUS_LOADGEN_H */

// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * kmatch_test: the kernel scanner and matcher over a whole test frame taken
 * as the event body, for `bpfbus pattern test --engine kernel` and the
 * selftests (BPF_PROG_TEST_RUN). The XDP datapath runs the same two steps
 * on the body of a wire datagram.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* plain arrays, so userspace reads the state back after a test run */
#define KM_STATE_MAP_TYPE BPF_MAP_TYPE_ARRAY
#include "kmatch_maps.h"
#include "kmatch.h"

/* Which table slot is live (set by userspace when it switches tables). */
__u32 table_slot = 0;

SEC("xdp")
int kmatch_frame(struct xdp_md *ctx)
{
	struct scan_state *s = km_scan_state();
	struct km_state *m = km_match_state();

	if (!s || !m)
		return XDP_ABORTED;
	__u32 len = ctx->data_end - ctx->data;

	if (len >= BPFBUS_SCAN_MAX_BODY || len == 0) {
		s->res.verify = BPFBUS_VERIFY_SIZE;
		m->verify = BPFBUS_VERIFY_SIZE;
		return XDP_PASS;
	}
	/* bound len to [1, MAX_BODY] in the register the helper gets (see
	 * scan_test.bpf.c) */
	asm volatile("%0 += -1\n\t%0 &= %1\n\t%0 += 1" : "+r"(len) : "i"(SCAN_BODY_MASK));
	if (bpf_xdp_load_bytes(ctx, 0, s->buf, len))
		return XDP_ABORTED;
	s->len = len;
	s->slot = table_slot & (BPFBUS_SLOTS - 1);
	json_scan(s, &km_pathtab);
	kmatch(s->slot, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

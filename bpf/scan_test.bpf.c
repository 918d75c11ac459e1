// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * scan_test: runs the kernel JSON scanner (json_scan.h) over a whole test
 * frame taken as the event body, so selftests can compare the kernel's
 * leaves with the userspace scanner's under BPF_PROG_TEST_RUN. The XDP
 * datapath uses the same scanner on the body of a wire datagram.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "json_scan.h"

/* The path table of slot 0 (scan.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBUS_PATH_BUCKETS);
	__type(key, __u32);
	__type(value, struct bpfbus_pbucket);
} paths SEC(".maps");

/* A plain array (one entry) so the test reads the result directly. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scan_state);
} state SEC(".maps");

SEC("xdp")
int scan_frame(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct scan_state *s = bpf_map_lookup_elem(&state, &zero);

	if (!s)
		return XDP_ABORTED;
	__u32 len = ctx->data_end - ctx->data;

	if (len >= BPFBUS_SCAN_MAX_BODY) {
		s->res.verify = BPFBUS_VERIFY_SIZE;
		s->res.n_leaves = 0;
		return XDP_PASS;
	}
	if (len == 0)
		return XDP_ABORTED;
	/* Bound len to [1, MAX_BODY] in the register the helper receives:
	 * done in asm because clang otherwise hands the call an unmasked copy
	 * and the verifier rejects it (possibly negative or zero-sized). */
	asm volatile("%0 += -1\n\t%0 &= %1\n\t%0 += 1" : "+r"(len) : "i"(SCAN_BODY_MASK));
	if (bpf_xdp_load_bytes(ctx, 0, s->buf, len))
		return XDP_ABORTED;
	s->len = len;
	s->slot = 0;
	json_scan(s, &paths);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * loadgen_tx: the traffic source of tools/loadgen in live-frames mode. Run by
 * BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES on the sender veth, it
 * rewrites each injected frame with the next prebuilt frame of lg_frames (a
 * round robin over n_frames complete Ethernet/IPv4/UDP frames) and returns
 * XDP_TX, which the kernel turns into a redirect out of that veth: the peer
 * receives the frame in its driver (veth NAPI), exactly as from a NIC.
 *
 * Live frames are initialised from data_in once per page and their length
 * is reset before every run, so the program trims the frame to this
 * template's length and overwrites the bytes each time.
 *
 * Pacing (gap_ns > 0) happens here, by spinning until the frame is due: each
 * BPF_PROG_TEST_RUN call has a fixed cost of tens of milliseconds on this
 * kernel (page pool set-up and teardown), so calls must be long, and the
 * frames within a call can only be spaced by the program itself.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "bpfbus/loadgen.h"

const volatile __u32 n_frames = 1;
const volatile __u64 gap_ns; /* 0: as fast as possible */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LOADGEN_MAX_FRAMES);
	__type(key, __u32);
	__type(value, struct loadgen_frame);
} lg_frames SEC(".maps");

/* Per CPU: the round robin's position and the frames sent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct loadgen_stats);
} lg_stats SEC(".maps");

static long past(__u64 i, void *due)
{
	(void)i;
	return bpf_ktime_get_ns() >= *(__u64 *)due; /* 1 ends bpf_loop */
}

SEC("xdp")
int loadgen_tx(struct xdp_md *ctx)
{
	__u32 zero = 0, idx, len;
	struct loadgen_frame *f;
	struct loadgen_stats *st;
	int cur;

	st = bpf_map_lookup_elem(&lg_stats, &zero);
	if (!st)
		return XDP_ABORTED;
	idx = st->next;
	if (idx >= n_frames)
		idx = 0;
	st->next = idx + 1;
	f = bpf_map_lookup_elem(&lg_frames, &idx);
	if (!f)
		return XDP_ABORTED;
	len = f->len;
	if (len < LOADGEN_MIN_FRAME || len > LOADGEN_MAX_FRAME)
		return XDP_ABORTED;
	cur = (int)(ctx->data_end - ctx->data);
	if (cur != (int)len && bpf_xdp_adjust_tail(ctx, (int)len - cur))
		return XDP_ABORTED;
	if (bpf_xdp_store_bytes(ctx, 0, f->data, len))
		return XDP_ABORTED;
	if (gap_ns) {
		__u64 due = st->due, now = bpf_ktime_get_ns();

		/* No catching up after a pause (between calls): no bursts. */
		if (!due || now > due + 64 * gap_ns)
			due = now;
		if (now < due)
			bpf_loop(1 << 23, past, &due, 0);
		st->due = due + gap_ns; /* absolute deadlines: no drift */
	}
	st->sent++;
	if (f->flags & LOADGEN_F_MATCH)
		st->matching++;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Schema discovery's sample of the events a bus would drop (docs/kernel.md,
 * "Archives and schema discovery"): with BPFBUS_BUS_F_DISCOVERY the datapath
 * asks bpfbus_sample_take() before dropping an event no rule or archive
 * wants, and hands the event off flagged BPFBUS_META_F_SAMPLE when it says so.
 *
 * The bound is a token bucket of rate_per_s tokens a second holding at most
 * one second's worth, kept as GCRA (the generic cell rate algorithm): one
 * timestamp, tat_ns, the time at which the bucket would be full again. An
 * event may pass when taking its token leaves tat_ns at most one second
 * ahead of now; then tat_ns moves on by one token's interval. Why this shape:
 *  - one 64-bit word is the whole state, so CPUs share it with one
 *    compare-and-swap instead of a spin lock; a CPU that loses the race does
 *    not sample (never more than the rate);
 *  - no loop and no refill arithmetic over elapsed time: straight-line code
 *    the verifier checks in a few instructions;
 *  - it runs only where the event would otherwise be dropped on a bus with
 *    discovery, so buses without it pay nothing.
 */
#ifndef BPFBUS_SAMPLE_H
#define BPFBUS_SAMPLE_H

#include "bpfbus/datapath.h"

#define BPFBUS_NS_PER_S 1000000000ULL

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBUS_MAX_BUSES);
	__type(key, __u32); /* bus id */
	__type(value, struct bpfbus_sample);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bb_sample SEC(".maps");

/* 1 when an event of bus @bus_id may go to discovery now (its token taken). */
static __always_inline int bpfbus_sample_take(__u32 bus_id)
{
	struct bpfbus_sample *b = bpf_map_lookup_elem(&bb_sample, &bus_id);
	__u64 now, tat, start, interval;
	__u32 rate;

	if (!b)
		return 0;
	rate = b->rate_per_s;
	if (!rate)
		return 0;
	interval = BPFBUS_NS_PER_S / rate;
	now = bpf_ktime_get_ns();
	tat = b->tat_ns;
	start = tat > now ? tat : now; /* an idle bucket is full, not more */
	if (start + interval > now + BPFBUS_NS_PER_S)
		return 0; /* empty */
	return __sync_val_compare_and_swap(&b->tat_ns, tat, start + interval) == tat;
}

#endif /* BPFBUS_SAMPLE_H */

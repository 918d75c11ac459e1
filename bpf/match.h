/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The kernel matcher: one function the datapath (bpfbus.bpf.c) calls per
 * event, with the body in the per-CPU scan buffer.
 *
 * PLACEHOLDER: this version only scans the body (so malformed JSON is told
 * apart) and asks userspace to match every event that scans (VERIFY). The
 * real matcher replaces the body of bpfbus_match() and the maps below,
 * keeping the signature and the contract:
 *
 *  - on entry s->buf[0..s->len) holds the body, 1 <= s->len < BPFBUS_SCAN_MAX_BODY,
 *    and out->generation holds bus->generation, out->n_rules and out->verify 0;
 *  - return and set out->verdict: DROP (no rule matches), MATCH (out->n_rules
 *    rules match, the first min(n_rules, 64) ids in out->rule_ids), VERIFY (it
 *    cannot decide; out->verify says why), MALFORMED (the body is not a JSON
 *    object: the event goes to the slow path);
 *  - it may set out->generation to the generation it actually read.
 */
#ifndef BPFBUS_MATCH_H
#define BPFBUS_MATCH_H

#include "bpfbus/datapath.h"
#include "json_scan.h"

/* The path table json_scan() reads (struct bpfbus_path by path hash). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct bpfbus_path);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bb_paths SEC(".maps");

/* The scanner's per-CPU state: the datapath copies the body into ->buf. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scan_state);
} bb_scan SEC(".maps");

static __always_inline struct scan_state *bpfbus_scan_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&bb_scan, &zero);
}

/*
 * The scan as a global function: the verifier checks it once on its own
 * instead of inside the datapath's packet parsing, whose states it would
 * otherwise multiply (the program then exceeds the 1M-instruction budget).
 */
__attribute__((noinline)) int bpfbus_scan_body(void)
{
	struct scan_state *s = bpfbus_scan_state();

	if (!s)
		return -1;
	json_scan(s, &bb_paths);
	return 0;
}

static __always_inline int bpfbus_match(struct xdp_md *ctx, struct scan_state *s,
					const struct bpfbus_bus *bus,
					struct bpfbus_match_result *out)
{
	(void)ctx;
	(void)bus;
	if (bpfbus_scan_body() < 0) {
		out->verdict = BPFBUS_VERDICT_VERIFY;
		return out->verdict;
	}
	if (s->res.error) {
		out->verdict = BPFBUS_VERDICT_MALFORMED;
		return out->verdict;
	}
	out->verify = s->res.verify;
	out->verdict = BPFBUS_VERDICT_VERIFY;
	return out->verdict;
}

#endif /* BPFBUS_MATCH_H */

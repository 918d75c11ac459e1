/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The kernel matcher as the datapath (bpfbus.bpf.c) calls it: one function
 * per event, with the body in the per-CPU scan buffer.
 *
 * Contract:
 *  - on entry s->buf[0..s->len) holds the body, 1 <= s->len < BPFBUS_SCAN_MAX_BODY,
 *    for a topic the @attrs_len bytes of attributes follow it (kattrs.h),
 *    and out->generation holds bus->generation, out->n_rules and out->verify 0;
 *  - return and set out->verdict: DROP (no rule of the bus matches), MATCH
 *    (out->n_rules rules match: the first three in out->rule_ids, all of
 *    them in km_state.out), VERIFY (the kernel cannot decide; out->verify says why),
 *    MALFORMED (the body is not a JSON object: the event goes to the slow path;
 *    never for a topic, whose Message is any text), MALFORMED_ATTRS (a topic's
 *    attributes are not JSON: the slow path, where the daemon refuses them).
 *
 * A bus whose generation is 0 has no tables in the kernel yet: its events
 * are VERIFY, so userspace decides and nothing a rule wants is dropped.
 */
#ifndef BPFBUS_MATCH_H
#define BPFBUS_MATCH_H

#include "bpfbus/datapath.h"

/* the rule tables are pinned by name, so they outlive a program reload */
#define KM_PIN __uint(pinning, LIBBPF_PIN_BY_NAME);
#include "kmatch_maps.h"
#include "kmatch.h"
#include "bpfbus/attrs.h"

/* The attribute namespace's root hash: FNV-1a of its one byte. */
#define KA_ROOT ((BPFBUS_FNV_OFFSET ^ BPFBUS_ATTR_NS) * BPFBUS_FNV_PRIME)

/*
 * The scanner and the matcher as global functions: the verifier checks each
 * once, on its own, however many callers (an SNS datagram scans two
 * regions), instead of inside every caller, which its 1M-instruction budget
 * does not allow.
 */
__attribute__((noinline)) int bpfbus_scan_region(__u32 start, __u32 end, __u32 attrs_ns)
{
	struct scan_state *s = km_scan_state();

	if (!s)
		return -1;
	json_scan_region(s, &km_pathtab, start, end, attrs_ns ? KA_ROOT : BPFBUS_FNV_OFFSET);
	return 0;
}

#include "kattrs.h"

_Static_assert(KM_MAX_OUT == BPFBUS_MATCH_MAX_RULES, "the matcher reports what a hand-off carries");

/* Rule names for `bpfbus rule show` (written with the tables). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BPFBUS_MAX_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct bpfbus_rule_name);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} km_rule_names SEC(".maps");

static __always_inline struct scan_state *bpfbus_scan_state(void)
{
	return km_scan_state();
}

/*
 * SNS delivers nothing to a MessageAttributes-scope policy when the message
 * has no attributes ("Key matching": an empty set of attributes results in
 * the filter not matching). Only a branch of exists:false conditions could
 * match then; when one did and the message has none, userspace decides.
 */
static __always_inline void bpfbus_attrs_none(struct scan_state *s, __u32 attrs_len)
{
	struct km_state *m = km_match_state();

	if (!m || m->verify || !m->n_out)
		return;
	struct bpfbus_ktable *t = bpf_map_lookup_elem(&km_header, &m->slot);

	if (t && t->n_attr_free && kattrs_none(s, s->len, attrs_len))
		m->verify |= BPFBUS_VERIFY_ATTR_NONE;
}

/*
 * Scan and match as one global function: the verifier checks it once on its
 * own instead of inside the datapath's packet parsing, whose states it would
 * otherwise multiply past its 1M-instruction budget.
 */
__attribute__((noinline)) int bpfbus_scan_match(__u32 generation, __u32 bus, __u32 topic,
						__u32 attrs_len)
{
	struct scan_state *s = km_scan_state();

	if (!s)
		return -1;
	s->slot = generation & (BPFBUS_SLOTS - 1);
	s->next_arr = 0;
	s->res.error = 0;
	s->res.verify = 0;
	s->res.n_leaves = 0;
	if (topic) {
		if (kattrs_scan(s, s->len, attrs_len))
			return 1;
	} else {
		bpfbus_scan_region(0, s->len, 0);
	}
	if (generation) {
		kmatch(s->slot, bus);
		if (topic)
			bpfbus_attrs_none(s, attrs_len);
	}
	return 0;
}

static __always_inline int bpfbus_match(struct xdp_md *ctx, struct scan_state *s,
					const struct bpfbus_bus *bus,
					struct bpfbus_match_result *out, __u32 attrs_len)
{
	(void)ctx;
	struct km_state *m = km_match_state();
	int r;

	r = bpfbus_scan_match(bus->generation, bus->id, bus->kind == BPFBUS_BUS_TOPIC, attrs_len);
	if (r < 0 || !m) {
		out->verify = BPFBUS_VERIFY_INTERNAL;
		out->verdict = BPFBUS_VERDICT_VERIFY;
		return out->verdict;
	}
	if (r > 0) {
		out->verdict = BPFBUS_VERDICT_MALFORMED_ATTRS;
	} else if (s->res.error) {
		out->verdict = BPFBUS_VERDICT_MALFORMED;
	} else if (!bus->generation) {
		/* no tables yet: the scan only told malformed bodies apart */
		out->verify = s->res.verify | BPFBUS_VERIFY_NO_TABLES;
		out->verdict = BPFBUS_VERDICT_VERIFY;
	} else if (m->verify) {
		out->verify = m->verify;
		out->verdict = BPFBUS_VERDICT_VERIFY;
	} else if (m->n_out) {
		__u32 n = m->n_out;

		out->n_rules = n;
		for (__u32 i = 0; i < BPFBUS_META_RULES; i++) {
			if (i >= n)
				break;
			out->rule_ids[i] = m->out[i];
		}
		out->verdict = BPFBUS_VERDICT_MATCH;
	} else {
		out->verdict = BPFBUS_VERDICT_DROP;
	}
	return out->verdict;
}

#endif /* BPFBUS_MATCH_H */

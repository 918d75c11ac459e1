// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * bpfbus_xdp: the datapath. For UDP datagrams to the router's port (IPv4 or
 * IPv6, optionally behind one VLAN tag) it validates the wire v1 header and
 * section lengths, finds the bus by name hash and name, copies the body into
 * the per-CPU scan buffer and calls the matcher (bpf/match.h). Then:
 *
 *	DROP       XDP_DROP, unless an archive of the bus keeps every event or
 *	           schema discovery samples it (bpf/sample.h): then a hand-off
 *	MATCH      hand-off: XDP_REDIRECT to the AF_XDP socket of the RX queue with
 *	VERIFY     struct bpfbus_meta in the metadata area, or a ring-buffer record
 *	           and XDP_DROP (bpfbus_handoff)
 *	MALFORMED  XDP_PASS (the daemon's UDP socket, slow path)
 *
 * Malformed datagrams, unknown buses, fragments and IPv6 extension headers
 * are counted by reason and passed. Everything else is not bpfbus traffic:
 * XDP_PASS, untouched and uncounted. docs/kernel.md, "The datapath".
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bpfbus/datapath.h"
#include "bpfbus/scan.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define IPV6_FRAG_OFFSET 0xfff8 /* fragment offset bits of frag_off (host order) */
#define IPV6_EXT_MAX 4 /* extension headers walked to find UDP (for counting) */

/* Set by the loader before load (skeleton: skel->rodata->...). */
const volatile __u16 bpfbus_port = BPFBUS_DEFAULT_PORT;
const volatile __u8 bpfbus_handoff = BPFBUS_HANDOFF_XSK;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BPFBUS_MAX_BUSES);
	__type(key, __u32); /* wire name_hash, host order */
	__type(value, struct bpfbus_bus);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bb_buses SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BPFBUS_MAX_BUSES);
	__type(key, __u32); /* bus id */
	__type(value, struct bpfbus_bus_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bb_bus_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BPFBUS_MAX_RULES);
	__type(key, __u32); /* rule id */
	__type(value, struct bpfbus_rule_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bb_rule_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, BPFBUS_MAX_QUEUES);
	__type(key, __u32); /* rx queue index */
	__type(value, __u32); /* AF_XDP socket fd (written by userspace) */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bb_xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, BPFBUS_RING_SIZE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bb_ring SEC(".maps");

/* Per-CPU scratch: the match result, the name. (The scanner's state is the
 * matcher's: bpfbus_scan_state().) */
struct scratch {
	struct bpfbus_match_result res;
	/* BPFBUS_META_F_ARCHIVE or _SAMPLE: handed off though no rule matched.
	 * In the map value, not a local: the verifier does not track it, so
	 * the hand-off paths are not explored once per value. */
	__u32 kept;
	/* no rule matched, handed off only because the producer asked for an
	 * acknowledgement (counted ack_unmatched, not matched); a map value
	 * for the same reason as kept */
	__u32 ack_only;
	__u32 n_rules; /* count_rules(): of the matched ids, rules */
	__u64 name[BPFBUS_WIRE_MAX_NAME / 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} bb_scratch SEC(".maps");

/* Per-CPU staging of a ring-buffer record: header, ids, frame. */
struct rb_stage {
	__u64 seq; /* ids records written on this CPU (their handles) */
	struct bpfbus_rb_record rec;
	/* ids, then the frame; twice the ids' room because the verifier sees
	 * the id count only through a power-of-two mask (handoff_ringbuf) */
	__u8 tail[2 * 4 * BPFBUS_MATCH_MAX_RULES + BPFBUS_RB_MAX_FRAME];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rb_stage);
} bb_rb_stage SEC(".maps");

/* The matcher: bpfbus_match() and its tables. */
#include "match.h"
/* Schema discovery's sampling: bpfbus_sample_take(). */
#include "sample.h"

struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

struct ipv6_ext {
	__u8 nexthdr;
	__u8 len;
	__be16 frag_off; /* fragment header only */
	__be32 pad;
};

/* What the L2-L4 parse found. */
enum parse_res {
	P_NOT_OURS = 0, /* not a datagram to our port: XDP_PASS, uncounted */
	P_OURS = 1, /* UDP to our port: validate the payload */
	P_FRAGMENT = 2, /* ours, but a fragment: counted, passed */
	P_EXT_HDR = 3, /* ours, behind IPv6 extension headers: counted, passed */
};

struct pkt {
	__u32 payload_off; /* UDP payload offset in the frame */
	__u32 udp_len; /* from the UDP header */
	__u8 ipv6;
};

static __always_inline struct bpfbus_bus_stats *bus_stats(__u32 id)
{
	return bpf_map_lookup_elem(&bb_bus_stats, &id);
}

/* IPv6 extension headers: only to tell our traffic apart for counting. */
static __always_inline int parse_ipv6_ext(void *data, void *data_end, void *p, __u8 next,
					  struct pkt *pk)
{
	int frag = 0;

	for (int i = 0; i < IPV6_EXT_MAX; i++) {
		struct ipv6_ext *e = p;

		if (next == IPPROTO_UDP)
			break;
		if ((void *)(e + 1) > data_end)
			return P_NOT_OURS;
		switch (next) {
		case 0: /* hop-by-hop */
		case 43: /* routing */
		case 60: /* destination options */
			p += (e->len + 1) * 8;
			break;
		case 51: /* authentication header */
			p += (e->len + 2) * 4;
			break;
		case 44: /* fragment: only the first one carries the UDP header */
			if (bpf_ntohs(e->frag_off) & IPV6_FRAG_OFFSET)
				return P_NOT_OURS;
			frag = 1;
			p += 8;
			break;
		default:
			return P_NOT_OURS;
		}
		next = e->nexthdr;
	}
	if (next != IPPROTO_UDP)
		return P_NOT_OURS;
	struct udphdr *udp = p;

	if ((void *)(udp + 1) > data_end || udp->dest != bpf_htons(bpfbus_port))
		return P_NOT_OURS;
	pk->payload_off = (void *)(udp + 1) - data;
	return frag ? P_FRAGMENT : P_EXT_HDR;
}

static __always_inline int parse(void *data, void *data_end, struct pkt *pk)
{
	struct ethhdr *eth = data;
	struct udphdr *udp;
	void *l3 = eth + 1;
	__be16 proto;
	int frag = 0;

	if (l3 > data_end)
		return P_NOT_OURS;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_tag *tag = l3;

		if ((void *)(tag + 1) > data_end)
			return P_NOT_OURS;
		proto = tag->proto;
		l3 = tag + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;

		if ((void *)(ip + 1) > data_end || ip->ihl < 5 || ip->protocol != IPPROTO_UDP)
			return P_NOT_OURS;
		if (ip->frag_off & bpf_htons(IP_OFFSET))
			return P_NOT_OURS; /* not the first fragment: no UDP header */
		frag = !!(ip->frag_off & bpf_htons(IP_MF));
		udp = l3 + ip->ihl * 4;
		pk->ipv6 = 0;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end)
			return P_NOT_OURS;
		pk->ipv6 = 1;
		if (ip6->nexthdr != IPPROTO_UDP)
			return parse_ipv6_ext(data, data_end, ip6 + 1, ip6->nexthdr, pk);
		udp = (void *)(ip6 + 1);
	} else {
		return P_NOT_OURS;
	}

	if ((void *)(udp + 1) > data_end || udp->dest != bpf_htons(bpfbus_port))
		return P_NOT_OURS;
	pk->payload_off = (void *)(udp + 1) - data;
	pk->udp_len = bpf_ntohs(udp->len);
	return frag ? P_FRAGMENT : P_OURS;
}

/*
 * Wire v1 framing checks, in docs/wire.md's order, against the UDP length and
 * the real frame. Fills the section offsets. Returns BPFBUS_WIRE_OK or a reason.
 */
struct wire {
	__u32 plen; /* UDP payload length */
	__u32 name_off; /* frame offsets */
	__u32 body_off;
	__u32 name_len;
	__u32 body_len;
	__u32 name_hash;
	__u16 flags;
	__u8 kind;
	__u8 group_len;
	__u16 attrs_len;
};

static __always_inline int check_wire(void *data, void *data_end, struct pkt *pk, struct wire *w)
{
	void *payload = data + (pk->payload_off & 0xff); /* < 256: L2-L4 headers */
	struct bpfbus_wire_hdr *h = payload;
	__u32 plen, hdr_len, name_len, group_len, dedup_len, attrs_len, body_len, end;

	if (pk->udp_len < 8)
		return BPFBUS_WIRE_ERR_SHORT;
	plen = pk->udp_len - 8;
	w->plen = plen;
	if (plen > BPFBUS_WIRE_MAX_PAYLOAD)
		return BPFBUS_WIRE_ERR_TOO_BIG;
	if (payload + plen > data_end)
		return BPFBUS_WIRE_ERR_PAST_END; /* the UDP length lies: frame is cut */
	if (plen < 5)
		return BPFBUS_WIRE_ERR_SHORT;
	if (payload + 5 > data_end)
		return BPFBUS_WIRE_ERR_PAST_END;
	if (h->magic != bpf_htonl(BPFBUS_WIRE_MAGIC))
		return BPFBUS_WIRE_ERR_MAGIC;
	if (h->version != BPFBUS_WIRE_VERSION)
		return BPFBUS_WIRE_ERR_VERSION;
	if (plen < BPFBUS_WIRE_HDR_LEN || (void *)(h + 1) > data_end)
		return BPFBUS_WIRE_ERR_TRUNC_HDR;
	hdr_len = bpf_ntohs(h->hdr_len);
	if (hdr_len < BPFBUS_WIRE_HDR_LEN || hdr_len > BPFBUS_WIRE_HDR_MAX || hdr_len % 8)
		return BPFBUS_WIRE_ERR_HDR_LEN;
	if (plen < hdr_len)
		return BPFBUS_WIRE_ERR_TRUNC_HDR;
	if (h->kind != BPFBUS_WIRE_KIND_EVENT && h->kind != BPFBUS_WIRE_KIND_SNS)
		return BPFBUS_WIRE_ERR_KIND;
	w->flags = bpf_ntohs(h->flags);
	if (w->flags & BPFBUS_WIRE_F_CRITICAL & ~BPFBUS_WIRE_F_KNOWN)
		return BPFBUS_WIRE_ERR_FLAGS;
	name_len = bpf_ntohs(h->name_len);
	if (!name_len)
		return BPFBUS_WIRE_ERR_NAME_EMPTY;
	if (name_len > BPFBUS_WIRE_MAX_NAME)
		return BPFBUS_WIRE_ERR_NAME_LEN;
	group_len = h->group_len;
	if (group_len > BPFBUS_WIRE_MAX_GROUP)
		return BPFBUS_WIRE_ERR_GROUP_LEN;
	dedup_len = h->dedup_len;
	if (dedup_len > BPFBUS_WIRE_MAX_DEDUP)
		return BPFBUS_WIRE_ERR_DEDUP_LEN;
	attrs_len = bpf_ntohs(h->attrs_len);
	if (attrs_len > BPFBUS_WIRE_MAX_ATTRS)
		return BPFBUS_WIRE_ERR_ATTRS_LEN;
	body_len = bpf_ntohl(h->body_len);
	if (body_len > BPFBUS_WIRE_MAX_BODY)
		return BPFBUS_WIRE_ERR_BODY_LEN;
	if (!body_len)
		return BPFBUS_WIRE_ERR_BODY_EMPTY;
	/* Every length is bounded: no overflow. */
	end = hdr_len + name_len + group_len + dedup_len + attrs_len + body_len;
	if (end > plen)
		return BPFBUS_WIRE_ERR_PAST_END;
	if (end < plen)
		return BPFBUS_WIRE_ERR_TRAILING;

	w->kind = h->kind;
	w->group_len = group_len;
	w->attrs_len = attrs_len;
	w->name_hash = bpf_ntohl(h->name_hash);
	w->name_len = name_len;
	w->body_len = body_len;
	w->name_off = pk->payload_off + hdr_len;
	w->body_off = w->name_off + name_len + group_len + dedup_len + attrs_len;
	return BPFBUS_WIRE_OK;
}

/* Is the datagram's name exactly the bus's? Word compares over <= 256 bytes. */
static __always_inline int name_equal(struct xdp_md *ctx, struct scratch *sc,
				      const struct bpfbus_bus *bus, struct wire *w)
{
	__u32 len = w->name_len;

	if (bus->name_len != len || len == 0 || len > BPFBUS_WIRE_MAX_NAME)
		return 0;
	/* [1, 256] in the register the helper gets (see bpf/scan_test.bpf.c). */
	asm volatile("%0 += -1\n\t%0 &= %1\n\t%0 += 1" : "+r"(len) : "i"(BPFBUS_WIRE_MAX_NAME - 1));
	if (bpf_xdp_load_bytes(ctx, w->name_off, sc->name, len))
		return 0;
	const __u64 *bn = (const __u64 *)bus->name;

	for (__u32 i = 0; i < BPFBUS_WIRE_MAX_NAME / 8; i++) {
		__u32 off = i * 8;

		if (off >= len)
			break;
		__u64 a = sc->name[i], b = bn[i];
		__u32 rem = len - off;

		if (rem < 8) { /* little-endian: the first rem bytes are the low ones */
			__u64 mask = (1ULL << (rem * 8)) - 1;

			a &= mask;
			b &= mask;
		}
		if (a != b)
			return 0;
	}
	return 1;
}

static __always_inline int pass(struct bpfbus_bus_stats *st, __u32 reason)
{
	if (st) {
		st->passed++;
		if (reason < BPFBUS_PASS_MAX)
			st->pass_reason[reason]++;
	}
	return XDP_PASS;
}

static __always_inline int malformed(struct bpfbus_bus_stats *st, __u32 err)
{
	if (st && err < BPFBUS_WIRE_ERR_MAX)
		st->malformed[err]++;
	return pass(st, BPFBUS_PASS_MALFORMED);
}

/*
 * An SNS datagram's attributes go right after the body in the scan buffer
 * (bpf/kattrs.h). Returns 0, 1 when they do not fit beside it (VERIFY:
 * size), or -1 when they are not in the frame.
 */
static __always_inline int load_attrs(struct xdp_md *ctx, struct scan_state *s, struct wire *w)
{
	__u32 off = s->len, len = w->attrs_len;

	if (!len)
		return 0;
	if (len > BPFBUS_SCAN_MAX_ATTRS || off + len >= BPFBUS_SCAN_MAX_BODY)
		return 1;
	/* the buffer's end stays inside the map value (kattrs.h): bound both
	 * in the registers the helper gets */
	asm volatile("%0 &= %1" : "+r"(off) : "i"(BPFBUS_SCAN_MAX_BODY - 1));
	asm volatile("%0 += -1\n\t%0 &= %1\n\t%0 += 1"
		     : "+r"(len)
		     : "i"(BPFBUS_SCAN_MAX_ATTRS - 1));
	return bpf_xdp_load_bytes(ctx, w->body_off - w->attrs_len, s->buf + off, len) ? -1 : 0;
}

/* The matched rule ids live in the matcher's per-CPU state (km_state.out):
 * up to BPFBUS_MATCH_MAX_RULES of them, visited with bpf_loop (an unrolled
 * loop that long exhausted the verifier's budget). */
struct rules_ctx {
	struct km_state *m;
	struct rb_stage *stg; /* copy ids here (ring buffer), or count them */
	__u32 body_len;
	__u32 archive_base; /* ids from here on are archive entries */
	/* ids below archive_base (rules) counted: in the map value, because
	 * a counter on the stack makes each callback iteration a new state
	 * to the verifier (it went past its 1M-instruction budget) */
	__u32 *n_rules;
};

static long count_rule_cb(__u64 i, void *arg)
{
	struct rules_ctx *c = arg;
	__u32 id = c->m->out[i & (KM_MAX_OUT - 1)];
	struct bpfbus_rule_stats *rs = bpf_map_lookup_elem(&bb_rule_stats, &id);

	if (rs) {
		rs->matches++;
		rs->bytes += c->body_len;
	}
	*c->n_rules += id < c->archive_base;
	return 0;
}

/* Count the matched ids; returns how many are rules, not archive entries. */
static __always_inline __u32 count_rules(struct scratch *sc, __u32 body_len,
					 const struct bpfbus_bus *bus)
{
	struct rules_ctx c = { .m = km_match_state(), .body_len = body_len };
	__u32 n = sc->res.n_rules;

	if (!c.m)
		return n;
	c.archive_base = bus->flags & BPFBUS_BUS_F_ARCHIVES ? bus->archive_base : ~0U;
	sc->n_rules = 0;
	c.n_rules = &sc->n_rules;
	if (n > BPFBUS_MATCH_MAX_RULES)
		n = BPFBUS_MATCH_MAX_RULES;
	bpf_loop(n, count_rule_cb, &c, 0);
	return sc->n_rules;
}

static long copy_rule_cb(__u64 i, void *arg)
{
	struct rules_ctx *c = arg;
	__u32 k = i & (KM_MAX_OUT - 1);

	*(__u32 *)(c->stg->tail + 4 * k) = c->m->out[k];
	return 0;
}

static __always_inline void fill_meta(struct bpfbus_meta *m, const struct bpfbus_bus *bus,
				      struct bpfbus_match_result *res, struct wire *w,
				      struct pkt *pk, __u8 kept)
{
	__u32 n = res->verdict == BPFBUS_VERDICT_MATCH ? res->n_rules : 0;

	m->magic = BPFBUS_META_MAGIC;
	m->version = BPFBUS_META_VERSION;
	m->flags = kept;
	if (res->verdict == BPFBUS_VERDICT_VERIFY)
		m->flags |= BPFBUS_META_F_VERIFY;
	if (n > BPFBUS_META_RULES)
		m->flags |= BPFBUS_META_F_TRUNCATED;
	if (pk->ipv6)
		m->flags |= BPFBUS_META_F_IPV6;
	m->generation = res->generation;
	m->bus_id = bus->id;
	m->n_rules = n > 0xffff ? 0xffff : n;
	m->body_off = w->body_off;
	m->body_len = w->body_len;
	/* a VERIFY hand-off says why in the first id's place (datapath.h) */
	m->rule_ids[0] = n > 0 ? res->rule_ids[0] : m->flags & BPFBUS_META_F_VERIFY ? res->verify : 0;
	m->rule_ids[1] = n > 1 ? res->rule_ids[1] : 0;
	m->rule_ids[2] = n > 2 ? res->rule_ids[2] : 0;
}

static __always_inline int handoff_ringbuf(struct xdp_md *ctx, struct bpfbus_meta *m)
{
	__u32 zero = 0, len = ctx->data_end - ctx->data;
	struct rb_stage *stg = bpf_map_lookup_elem(&bb_rb_stage, &zero);
	__u32 n = m->n_rules;

	if (!stg || len == 0 || len > BPFBUS_RB_MAX_FRAME)
		return -1;
	if (n > BPFBUS_MATCH_MAX_RULES)
		n = BPFBUS_MATCH_MAX_RULES;
	stg->rec.meta = *m;
	stg->rec.frame_len = len;
	stg->rec.n_ids = n;
	struct rules_ctx c = { .m = km_match_state(), .stg = stg };

	if (!c.m)
		return -1;
	bpf_loop(n, copy_rule_cb, &c, 0);
	/* the frame follows the ids: bound both in the registers the helpers
	 * get, in a way clang cannot drop */
	asm volatile("%0 += -1\n\t%0 &= %1\n\t%0 += 1" : "+r"(len) : "i"(BPFBUS_RB_MAX_FRAME - 1));
	asm volatile("%0 &= %1" : "+r"(n) : "i"(2 * BPFBUS_MATCH_MAX_RULES - 1));
	if (bpf_xdp_load_bytes(ctx, 0, stg->tail + 4 * n, len))
		return -1;
	if (bpf_ringbuf_output(&bb_ring, &stg->rec, sizeof(stg->rec) + 4 * n + len, 0))
		return -1;
	return 0;
}

/*
 * AF_XDP with more matched rules than the metadata lists: all the ids go
 * into an ids record in the ring buffer (written before the frame is
 * redirected, so a receiver that reads the ring before its socket finds it),
 * and the metadata carries the record's handle. When no socket would take
 * the frame, or the ring is full, the metadata stays TRUNCATED and the
 * receiver completes the list in userspace.
 */
static __always_inline void xsk_ids_record(struct xdp_md *ctx, struct bpfbus_meta *m)
{
	__u32 zero = 0, n = m->n_rules, q = ctx->rx_queue_index;
	struct rb_stage *stg;

	if (n <= BPFBUS_META_RULES || !bpf_map_lookup_elem(&bb_xsks, &q))
		return;
	stg = bpf_map_lookup_elem(&bb_rb_stage, &zero);
	if (!stg)
		return;
	if (n > BPFBUS_MATCH_MAX_RULES)
		n = BPFBUS_MATCH_MAX_RULES;
	/* per-CPU sequence under the CPU number: unique among records in flight */
	__u64 handle = ((__u64)bpf_get_smp_processor_id() << 48) | (++stg->seq & 0xffffffffffffULL);
	struct rules_ctx c = { .m = km_match_state(), .stg = stg };

	if (!c.m)
		return;
	stg->rec.meta = *m;
	stg->rec.meta.flags |= BPFBUS_META_F_IDS_ONLY;
	stg->rec.meta.rule_ids[1] = (__u32)handle;
	stg->rec.meta.rule_ids[2] = (__u32)(handle >> 32);
	stg->rec.frame_len = 0;
	stg->rec.n_ids = n;
	bpf_loop(n, copy_rule_cb, &c, 0);
	asm volatile("%0 &= %1" : "+r"(n) : "i"(2 * BPFBUS_MATCH_MAX_RULES - 1));
	if (bpf_ringbuf_output(&bb_ring, &stg->rec, sizeof(stg->rec) + 4 * n, 0))
		return;
	m->flags |= BPFBUS_META_F_IDS_RECORD;
	m->rule_ids[1] = (__u32)handle;
	m->rule_ids[2] = (__u32)(handle >> 32);
}

/* XDP_REDIRECT, XDP_PASS (no socket) or -1 (metadata refused). */
static __always_inline int handoff_xsk(struct xdp_md *ctx, struct bpfbus_meta *m)
{
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m)))
		return -1;
	void *data = (void *)(long)ctx->data;
	struct bpfbus_meta *dst = (void *)(long)ctx->data_meta;

	if ((void *)(dst + 1) > data)
		return -1;
	__builtin_memcpy(dst, m, sizeof(*m));
	return bpf_redirect_map(&bb_xsks, ctx->rx_queue_index, XDP_PASS);
}

SEC("xdp")
int bpfbus_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bpfbus_bus_stats *st;
	struct pkt pk = {};
	struct wire w = {};
	__u32 zero = 0;
	int r, err;

	r = parse(data, data_end, &pk);
	if (r == P_NOT_OURS)
		return XDP_PASS;

	st = bus_stats(BPFBUS_BUS_NONE);
	if (r == P_FRAGMENT || r == P_EXT_HDR) {
		if (st)
			st->received++;
		return pass(st, r == P_FRAGMENT ? BPFBUS_PASS_FRAGMENT : BPFBUS_PASS_EXT_HDR);
	}

	err = check_wire(data, data_end, &pk, &w);
	if (err) {
		if (st) {
			st->received++;
			st->bytes += w.plen;
		}
		return malformed(st, err);
	}

	struct scratch *sc = bpf_map_lookup_elem(&bb_scratch, &zero);
	__u32 key = w.name_hash;
	const struct bpfbus_bus *bus = bpf_map_lookup_elem(&bb_buses, &key);

	if (!sc)
		return XDP_PASS;
	if (!bus || bus->kind != w.kind || !name_equal(ctx, sc, bus, &w)) {
		if (st) {
			st->received++;
			st->bytes += w.plen;
		}
		return pass(st, BPFBUS_PASS_UNKNOWN_BUS);
	}

	/* From here on the datagram is the bus's. */
	st = bus_stats(bus->id);
	if (st) {
		st->received++;
		st->bytes += w.plen;
	}
	if ((w.flags & BPFBUS_WIRE_F_FIFO) && !w.group_len)
		return malformed(st, BPFBUS_WIRE_ERR_FIFO_GROUP);
	if (w.attrs_len && w.kind != BPFBUS_WIRE_KIND_SNS)
		return malformed(st, BPFBUS_WIRE_ERR_ATTRS_KIND);

	struct bpfbus_match_result *res = &sc->res;
	struct scan_state *s = bpfbus_scan_state();

	if (!s)
		return pass(st, BPFBUS_PASS_HANDOFF_FAIL);

	res->generation = bus->generation;
	res->n_rules = 0;
	res->verify = 0;
	if (bus->flags & BPFBUS_BUS_F_VERIFY_ALL) {
		/* rules the kernel does not evaluate: the daemon decides them all */
		res->verdict = BPFBUS_VERDICT_VERIFY;
		res->verify = BPFBUS_VERIFY_BUS;
	} else if (w.body_len >= BPFBUS_SCAN_MAX_BODY) {
		res->verdict = BPFBUS_VERDICT_VERIFY;
		res->verify = BPFBUS_VERIFY_SIZE;
	} else {
		__u32 len = w.body_len;

		asm volatile("%0 += -1\n\t%0 &= %1\n\t%0 += 1"
			     : "+r"(len)
			     : "i"(BPFBUS_SCAN_MAX_BODY - 1));
		if (bpf_xdp_load_bytes(ctx, w.body_off, s->buf, len))
			return malformed(st, BPFBUS_WIRE_ERR_PAST_END); /* body not in the frame */
		s->len = len;
		r = load_attrs(ctx, s, &w);
		if (r < 0)
			return malformed(st, BPFBUS_WIRE_ERR_PAST_END);
		if (r > 0) {
			res->verdict = BPFBUS_VERDICT_VERIFY;
			res->verify = BPFBUS_VERIFY_SIZE;
		} else {
			res->verdict = bpfbus_match(ctx, s, bus, res, w.attrs_len);
		}
	}

	sc->kept = 0;
	sc->ack_only = 0;
	switch (res->verdict) {
	case BPFBUS_VERDICT_DROP:
		if (bus->flags & BPFBUS_BUS_F_ARCHIVE_ALL) {
			sc->kept = BPFBUS_META_F_ARCHIVE; /* a pattern-less archive wants it */
		} else if (!(w.flags & BPFBUS_WIRE_F_ACK) && !(bus->flags & BPFBUS_BUS_F_KEEP_ALL)) {
			if (!(bus->flags & BPFBUS_BUS_F_DISCOVERY) ||
			    !bpfbus_sample_take(bus->id)) {
				if (st)
					st->dropped++;
				return XDP_DROP;
			}
			sc->kept = BPFBUS_META_F_SAMPLE;
		}
		/* the producer waits for an answer, or the bus keeps everything
		 * (a subscription without a policy, which matches it): hand it
		 * off with no rules */
		if (!sc->kept && !(bus->flags & BPFBUS_BUS_F_KEEP_ALL))
			sc->ack_only = 1;
		res->verdict = BPFBUS_VERDICT_MATCH;
		res->n_rules = 0;
		break;
	case BPFBUS_VERDICT_MATCH:
		if (!count_rules(sc, w.body_len, bus))
			sc->kept = BPFBUS_META_F_ARCHIVE; /* only archive entries matched */
		break;
	case BPFBUS_VERDICT_VERIFY:
		break;
	case BPFBUS_VERDICT_MALFORMED_ATTRS:
		return malformed(st, BPFBUS_WIRE_ERR_ATTRS_JSON);
	default:
		return malformed(st, BPFBUS_WIRE_ERR_BODY_JSON);
	}

	struct bpfbus_meta m;

	fill_meta(&m, bus, res, &w, &pk, (__u8)sc->kept);
	if (bpfbus_handoff == BPFBUS_HANDOFF_RINGBUF) {
		if (handoff_ringbuf(ctx, &m))
			return pass(st, BPFBUS_PASS_HANDOFF_FAIL);
		r = XDP_DROP; /* the record is the event now */
	} else {
		xsk_ids_record(ctx, &m);
		r = handoff_xsk(ctx, &m);
		if (r < 0)
			return pass(st, BPFBUS_PASS_HANDOFF_FAIL);
		if (r != XDP_REDIRECT)
			return pass(st, BPFBUS_PASS_NO_SOCKET);
	}
	if (st) {
		st->redirected++;
		if (m.flags & BPFBUS_META_F_VERIFY)
			st->verify++;
		else if (m.flags & BPFBUS_META_F_ARCHIVE)
			st->archived++;
		else if (m.flags & BPFBUS_META_F_SAMPLE)
			st->sampled++;
		else if (sc->ack_only)
			st->ack_unmatched++;
		else
			st->matched++;
	}
	return r;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

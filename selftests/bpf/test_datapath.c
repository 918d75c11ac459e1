// SPDX-License-Identifier: BSD-2-Clause
/*
 * bpf/bpfbus.bpf.c under BPF_PROG_TEST_RUN, table-driven: each variant is one
 * datagram (a valid wire v1 payload, mutated, wrapped in Ethernet/VLAN/IP/UDP
 * headers) with its expected XDP verdict, the counters it must move (bus,
 * pass reason, malformed reason, redirected/verify) and, when handed off, the
 * metadata or ring-buffer record. Every counter not expected must stay 0.
 */
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfbus/datapath.h"
#include "wire.h"
#include "ktables.h"
#include "ruleset.h"
#include "bpfbus.skel.h"
#include "../harness.h"

#define BUS_ID 7
#define BUS_NAME "orders"
#define BODY "{\"source\":\"a\",\"detail\":{\"n\":1}}"
#define PORT_OTHER 53
#define MAXFRAME 8192

/* How the frame around the payload is built. */
enum l3 { V4, V6, V6_DSTOPTS, V6_FRAG, V4_FRAG_FIRST, V4_FRAG_LATER };

struct dgram {
	__u8 buf[MAXFRAME];
	size_t len;
};

typedef void (*mutate_fn)(struct dgram *p);

/* Header field mutators (the payload starts with struct bpfbus_wire_hdr). */
static struct bpfbus_wire_hdr *hdr(struct dgram *p)
{
	return (struct bpfbus_wire_hdr *)p->buf;
}
static void m_magic(struct dgram *p)
{
	hdr(p)->magic = htonl(0x12345678);
}
static void m_version(struct dgram *p)
{
	hdr(p)->version = 2;
}
static void m_short(struct dgram *p)
{
	p->len = 3;
}
static void m_trunc_hdr(struct dgram *p)
{
	p->len = 30;
}
static void m_hdr_len(struct dgram *p)
{
	hdr(p)->hdr_len = htons(50);
}
static void m_hdr_len_past(struct dgram *p)
{
	/* hdr_len 128 > a 70-byte datagram: truncated header */
	hdr(p)->hdr_len = htons(128);
	p->len = 70;
}
static void m_kind(struct dgram *p)
{
	hdr(p)->kind = 9;
}
static void m_flags(struct dgram *p)
{
	hdr(p)->flags = htons(0x0080);
}
static void m_name_empty(struct dgram *p)
{
	hdr(p)->name_len = 0;
}
static void m_name_long(struct dgram *p)
{
	hdr(p)->name_len = htons(257);
}
static void m_group_long(struct dgram *p)
{
	hdr(p)->group_len = 129;
}
static void m_dedup_long(struct dgram *p)
{
	hdr(p)->dedup_len = 200;
}
static void m_attrs_long(struct dgram *p)
{
	hdr(p)->attrs_len = htons(8193);
}
static void m_body_long(struct dgram *p)
{
	hdr(p)->body_len = htonl(70000);
}
static void m_body_empty(struct dgram *p)
{
	hdr(p)->body_len = 0;
}
static void m_past_end(struct dgram *p)
{
	hdr(p)->body_len = htonl(ntohl(hdr(p)->body_len) + 10);
}
static void m_trailing(struct dgram *p)
{
	memcpy(p->buf + p->len, "xyz", 3);
	p->len += 3;
}
static void m_fifo(struct dgram *p)
{
	hdr(p)->flags |= htons(BPFBUS_WIRE_F_FIFO);
}
static void m_garbage(struct dgram *p)
{
	for (size_t i = 0; i < 64; i++)
		p->buf[i] = (__u8)(i * 37 + 11);
	p->len = 64;
}

FIXTURE(dp)
{
	struct bpfbus_bpf *skel;
	int ncpus;
};

FIXTURE_VARIANT(dp)
{
	enum l3 l3;
	int vlan;
	__u8 l4proto; /* 0: UDP */
	__u16 dport; /* 0: the default port */
	__u16 port; /* bpfbus_port to load with; 0: the default */
	int ringbuf; /* load in ring-buffer hand-off mode */
	const char *bus; /* bus name in the datagram; NULL: BUS_NAME */
	int kind; /* 0: event */
	const char *body; /* NULL: BODY */
	size_t body_repeat; /* body of this many bytes ({"k":"..."}, padded) */
	int attrs; /* SNS attributes */
	int ack; /* the producer asks for an acknowledgement (F_ACK, producer 9, seq 1) */
	mutate_fn mutate;
	int lie_udp_len; /* UDP length larger than the frame */
	size_t cut; /* the frame cut to this many bytes; 0: whole */
	/* expected */
	int verdict;
	int counted; /* 0: not bpfbus traffic, nothing counted */
	int on_bus; /* counted on BUS_ID (else on bus 0) */
	int pass_reason; /* -1: not passed */
	int malformed; /* enum bpfbus_wire_err, 0: none */
	int handed; /* redirected (verify) */
	int meta_flags; /* expected meta flags when handed off or metadata written */
	int store_name_differs; /* the bus map holds another name under the hash */
};

#define KNOWN .counted = 1, .on_bus = 1
#define PASSED(r) .verdict = XDP_PASS, .pass_reason = (r)
#define MALF(e) .verdict = XDP_PASS, .pass_reason = BPFBUS_PASS_MALFORMED, .malformed = (e)
#define BAD(e) .counted = 1, MALF(e)

/* Valid datagrams for a known bus. */
FIXTURE_VARIANT_ADD(dp, v4_xsk_no_socket){
	KNOWN,
	PASSED(BPFBUS_PASS_NO_SOCKET),
	.meta_flags = BPFBUS_META_F_VERIFY,
};
FIXTURE_VARIANT_ADD(dp, v4_ringbuf){
	.ringbuf = 1,
	KNOWN,
	.verdict = XDP_DROP,
	.pass_reason = -1,
	.handed = 1,
	.meta_flags = BPFBUS_META_F_VERIFY,
};
FIXTURE_VARIANT_ADD(dp, v6_ringbuf){
	.l3 = V6,
	.ringbuf = 1,
	KNOWN,
	.verdict = XDP_DROP,
	.pass_reason = -1,
	.handed = 1,
	.meta_flags = BPFBUS_META_F_VERIFY | BPFBUS_META_F_IPV6,
};
FIXTURE_VARIANT_ADD(dp, vlan_v4_ringbuf){
	.vlan = 1,
	.ringbuf = 1,
	KNOWN,
	.verdict = XDP_DROP,
	.pass_reason = -1,
	.handed = 1,
	.meta_flags = BPFBUS_META_F_VERIFY,
};
FIXTURE_VARIANT_ADD(dp, vlan_v6_xsk){
	.vlan = 1,
	.l3 = V6,
	KNOWN,
	PASSED(BPFBUS_PASS_NO_SOCKET),
	.meta_flags = BPFBUS_META_F_VERIFY | BPFBUS_META_F_IPV6,
};
FIXTURE_VARIANT_ADD(dp, configured_port){
	.port = 9999,
	.dport = 9999,
	.ringbuf = 1,
	KNOWN,
	.verdict = XDP_DROP,
	.pass_reason = -1,
	.handed = 1,
	.meta_flags = BPFBUS_META_F_VERIFY,
};
/* (BPF_PROG_TEST_RUN takes linear frames of at most ~3.5 KiB: the
 * bodies >= BPFBUS_SCAN_MAX_BODY of jumbo frames cannot be fed here.) */
FIXTURE_VARIANT_ADD(dp, body_3000_scanned){
	.ringbuf = 1,
	.body_repeat = 3000,
	KNOWN,
	.verdict = XDP_DROP,
	.pass_reason = -1,
	.handed = 1,
	.meta_flags = BPFBUS_META_F_VERIFY,
};
FIXTURE_VARIANT_ADD(dp, body_not_object){
	.body = "[1,2]",
	KNOWN,
	MALF(BPFBUS_WIRE_ERR_BODY_JSON),
};
FIXTURE_VARIANT_ADD(dp, body_truncated_json){
	.body = "{\"a\":\"x\"",
	KNOWN,
	MALF(BPFBUS_WIRE_ERR_BODY_JSON),
};
FIXTURE_VARIANT_ADD(dp, fifo_without_group){
	.mutate = m_fifo,
	KNOWN,
	MALF(BPFBUS_WIRE_ERR_FIFO_GROUP),
};

/* Not for a known bus. */
FIXTURE_VARIANT_ADD(dp, unknown_bus){
	.bus = "nosuchbus",
	.counted = 1,
	PASSED(BPFBUS_PASS_UNKNOWN_BUS),
};
FIXTURE_VARIANT_ADD(dp, name_differs_same_hash){
	.store_name_differs = 1,
	.counted = 1,
	PASSED(BPFBUS_PASS_UNKNOWN_BUS),
};
FIXTURE_VARIANT_ADD(dp, kind_differs){
	.kind = BPFBUS_WIRE_KIND_SNS,
	.counted = 1,
	PASSED(BPFBUS_PASS_UNKNOWN_BUS),
};

/* Every wire malformation the kernel checks. */
FIXTURE_VARIANT_ADD(dp, bad_magic){ .mutate = m_magic, BAD(BPFBUS_WIRE_ERR_MAGIC) };
FIXTURE_VARIANT_ADD(dp, garbage){ .mutate = m_garbage, BAD(BPFBUS_WIRE_ERR_MAGIC) };
FIXTURE_VARIANT_ADD(dp, bad_version){ .mutate = m_version, BAD(BPFBUS_WIRE_ERR_VERSION) };
FIXTURE_VARIANT_ADD(dp, short_payload){ .mutate = m_short, BAD(BPFBUS_WIRE_ERR_SHORT) };
FIXTURE_VARIANT_ADD(dp, truncated_header){
	.mutate = m_trunc_hdr,
	BAD(BPFBUS_WIRE_ERR_TRUNC_HDR),
};
FIXTURE_VARIANT_ADD(dp, header_len_past_datagram){
	.mutate = m_hdr_len_past,
	BAD(BPFBUS_WIRE_ERR_TRUNC_HDR),
};
FIXTURE_VARIANT_ADD(dp, bad_header_len){ .mutate = m_hdr_len, BAD(BPFBUS_WIRE_ERR_HDR_LEN) };
FIXTURE_VARIANT_ADD(dp, bad_kind){ .mutate = m_kind, BAD(BPFBUS_WIRE_ERR_KIND) };
FIXTURE_VARIANT_ADD(dp, unknown_flags){ .mutate = m_flags, BAD(BPFBUS_WIRE_ERR_FLAGS) };
FIXTURE_VARIANT_ADD(dp, name_empty){ .mutate = m_name_empty, BAD(BPFBUS_WIRE_ERR_NAME_EMPTY) };
FIXTURE_VARIANT_ADD(dp, name_too_long){ .mutate = m_name_long, BAD(BPFBUS_WIRE_ERR_NAME_LEN) };
FIXTURE_VARIANT_ADD(dp, group_too_long){
	.mutate = m_group_long,
	BAD(BPFBUS_WIRE_ERR_GROUP_LEN),
};
FIXTURE_VARIANT_ADD(dp, dedup_too_long){
	.mutate = m_dedup_long,
	BAD(BPFBUS_WIRE_ERR_DEDUP_LEN),
};
FIXTURE_VARIANT_ADD(dp, attrs_too_long){
	.mutate = m_attrs_long,
	BAD(BPFBUS_WIRE_ERR_ATTRS_LEN),
};
FIXTURE_VARIANT_ADD(dp, body_too_long){ .mutate = m_body_long, BAD(BPFBUS_WIRE_ERR_BODY_LEN) };
FIXTURE_VARIANT_ADD(dp, body_empty){ .mutate = m_body_empty, BAD(BPFBUS_WIRE_ERR_BODY_EMPTY) };
FIXTURE_VARIANT_ADD(dp, body_len_past_end){
	.mutate = m_past_end,
	BAD(BPFBUS_WIRE_ERR_PAST_END),
};
FIXTURE_VARIANT_ADD(dp, trailing_bytes){ .mutate = m_trailing, BAD(BPFBUS_WIRE_ERR_TRAILING) };
FIXTURE_VARIANT_ADD(dp, udp_len_past_frame){
	.lie_udp_len = 1,
	BAD(BPFBUS_WIRE_ERR_PAST_END),
};
FIXTURE_VARIANT_ADD(dp, attributes_not_sns){
	.attrs = 1,
	KNOWN,
	MALF(BPFBUS_WIRE_ERR_ATTRS_KIND),
};

/* Datagrams the kernel leaves to the slow path, and traffic not ours. */
FIXTURE_VARIANT_ADD(dp, v4_first_fragment){
	.l3 = V4_FRAG_FIRST,
	.counted = 1,
	PASSED(BPFBUS_PASS_FRAGMENT),
};
FIXTURE_VARIANT_ADD(dp, v4_later_fragment){ .l3 = V4_FRAG_LATER, PASSED(-1) };
FIXTURE_VARIANT_ADD(dp, v6_ext_header){
	.l3 = V6_DSTOPTS,
	.counted = 1,
	PASSED(BPFBUS_PASS_EXT_HDR),
};
FIXTURE_VARIANT_ADD(dp, v6_fragment_header){
	.l3 = V6_FRAG,
	.counted = 1,
	PASSED(BPFBUS_PASS_FRAGMENT),
};
FIXTURE_VARIANT_ADD(dp, tcp_not_ours){ .l4proto = IPPROTO_TCP, PASSED(-1) };
FIXTURE_VARIANT_ADD(dp, other_port_not_ours){ .dport = PORT_OTHER, PASSED(-1) };
FIXTURE_VARIANT_ADD(dp, v6_other_port_not_ours){ .l3 = V6, .dport = PORT_OTHER, PASSED(-1) };
/* frames that end inside their UDP or IPv6 header: no bpfbus datagram */
FIXTURE_VARIANT_ADD(dp, v4_cut_in_udp_header){ .cut = 14 + 20 + 4, PASSED(-1) };
FIXTURE_VARIANT_ADD(dp, v6_cut_in_ip_header){ .l3 = V6, .cut = 14 + 30, PASSED(-1) };

FIXTURE_SETUP(dp)
{
	struct bpf_map *map;
	int err;

	self->ncpus = libbpf_num_possible_cpus();
	ASSERT_GT(self->ncpus, 0);
	self->skel = bpfbus_bpf__open();
	ASSERT_NE_NULL(self->skel);
	/* Private maps: nothing pinned, nothing shared between tests. */
	bpf_object__for_each_map(map, self->skel->obj)
		ASSERT_EQ(0, bpf_map__set_pin_path(map, NULL));
	if (variant->port)
		self->skel->rodata->bpfbus_port = variant->port;
	self->skel->rodata->bpfbus_handoff =
		variant->ringbuf ? BPFBUS_HANDOFF_RINGBUF : BPFBUS_HANDOFF_XSK;
	err = bpfbus_bpf__load(self->skel);
	if (th_bpf_not_permitted(err))
		SKIP("BPF not permitted (euid %u, bpf() %s): run as root or with CAP_BPF",
		     geteuid(), strerror(-err));
	ASSERT_EQ(0, err);

	/* generation 0: no rule tables in the kernel, so every event that scans
	 * is VERIFY (userspace decides); the "rules" tests load real tables */
	struct bpfbus_bus bus = { .id = BUS_ID, .generation = 0, .kind = BPFBUS_BUS_EVENT };
	const char *name = variant->store_name_differs ? "ordert" : BUS_NAME;

	bus.name_len = strlen(name);
	memcpy(bus.name, name, bus.name_len);
	__u32 key = bb_wire_name_hash(BUS_NAME, strlen(BUS_NAME));

	ASSERT_EQ(0, bpf_map__update_elem(self->skel->maps.bb_buses, &key, sizeof(key), &bus,
					  sizeof(bus), BPF_ANY));
}

FIXTURE_TEARDOWN(dp)
{
	bpfbus_bpf__destroy(self->skel);
}

/* The wire payload for the variant. */
static void build_payload(const FIXTURE_VARIANT(dp) *v, struct dgram *p)
{
	static char big[MAXFRAME];
	struct bb_wire_msg m = {
		.kind = v->kind ? v->kind : BPFBUS_WIRE_KIND_EVENT,
		.name = v->bus ? v->bus : BUS_NAME,
		.body = v->body ? v->body : BODY,
	};

	if (v->body_repeat) {
		size_t n = v->body_repeat;

		memset(big, 'x', n);
		memcpy(big, "{\"k\":\"", 6);
		memcpy(big + n - 2, "\"}", 2);
		m.body = big;
		m.body_len = n;
	} else {
		m.body_len = strlen(m.body);
	}
	m.name_len = strlen(m.name);
	if (v->ack) {
		m.flags |= BPFBUS_WIRE_F_ACK;
		m.producer_id = 9;
		m.seq = 1;
	}
	long n = bb_wire_encode(&m, p->buf, sizeof(p->buf));

	if (v->attrs) {
		/* attributes on an event: encode refuses, so splice them in */
		static const char attrs[] = "{\"a\":{\"Type\":\"String\",\"Value\":\"x\"}}";
		size_t al = sizeof(attrs) - 1, body_off = n - m.body_len;

		memmove(p->buf + body_off + al, p->buf + body_off, m.body_len);
		memcpy(p->buf + body_off, attrs, al);
		hdr(p)->attrs_len = htons(al);
		n += al;
	}
	p->len = n > 0 ? (size_t)n : 0;
	if (v->mutate)
		v->mutate(p);
}

/* Ethernet [+VLAN] + IPv4/IPv6 [+ext] + UDP + payload; returns the length. */
static size_t build_frame(const FIXTURE_VARIANT(dp) *v, __u8 *buf, const struct dgram *p)
{
	struct ethhdr *eth = (void *)buf;
	__u8 *l3 = (void *)(eth + 1), *l4;
	__u16 proto = v->l3 == V4 || v->l3 == V4_FRAG_FIRST || v->l3 == V4_FRAG_LATER ? ETH_P_IP
										      : ETH_P_IPV6;
	size_t l4len = sizeof(struct udphdr) + p->len;
	__u8 l4proto = v->l4proto ? v->l4proto : IPPROTO_UDP;

	memset(eth->h_dest, 0x02, ETH_ALEN);
	memset(eth->h_source, 0x04, ETH_ALEN);
	if (v->vlan) {
		eth->h_proto = htons(ETH_P_8021Q);
		l3[0] = 0;
		l3[1] = 42; /* VLAN 42 */
		*(__u16 *)(l3 + 2) = htons(proto);
		l3 += 4;
	} else {
		eth->h_proto = htons(proto);
	}
	if (proto == ETH_P_IP) {
		struct iphdr *ip = (void *)l3;

		memset(ip, 0, sizeof(*ip));
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = l4proto;
		ip->tot_len = htons(sizeof(*ip) + l4len);
		ip->saddr = htonl(0x0a000001);
		ip->daddr = htonl(0x0a000002);
		if (v->l3 == V4_FRAG_FIRST)
			ip->frag_off = htons(0x2000); /* MF, offset 0 */
		else if (v->l3 == V4_FRAG_LATER)
			ip->frag_off = htons(185); /* offset 1480 */
		l4 = (void *)(ip + 1);
	} else {
		struct ipv6hdr *ip6 = (void *)l3;
		size_t ext = v->l3 == V6 ? 0 : 8;

		memset(ip6, 0, sizeof(*ip6));
		ip6->version = 6;
		ip6->hop_limit = 64;
		ip6->payload_len = htons(l4len + ext);
		ip6->saddr.s6_addr[15] = 1;
		ip6->daddr.s6_addr[15] = 2;
		l4 = (void *)(ip6 + 1);
		if (v->l3 == V6) {
			ip6->nexthdr = l4proto;
		} else {
			/* one 8-byte extension header, then UDP */
			memset(l4, 0, 8);
			ip6->nexthdr = v->l3 == V6_FRAG ? 44 : 60;
			l4[0] = l4proto;
			if (v->l3 == V6_FRAG)
				l4[3] = 1; /* M flag: first fragment of several */
			l4 += 8;
		}
	}
	struct udphdr *udp = (void *)l4;

	udp->source = htons(40000);
	udp->dest = htons(v->dport ? v->dport : BPFBUS_DEFAULT_PORT);
	udp->len = htons(l4len + (v->lie_udp_len ? 100 : 0));
	udp->check = 0;
	memcpy(udp + 1, p->buf, p->len);
	return (__u8 *)(udp + 1) - buf + p->len;
}

static void read_bus_stats(struct bpfbus_bpf *skel, int ncpus, __u32 id,
			   struct bpfbus_bus_stats *sum)
{
	struct bpfbus_bus_stats vals[ncpus];

	memset(sum, 0, sizeof(*sum));
	if (bpf_map__lookup_elem(skel->maps.bb_bus_stats, &id, sizeof(id), vals, sizeof(vals), 0))
		return;
	for (int c = 0; c < ncpus; c++) {
		__u64 *s = (__u64 *)sum, *x = (__u64 *)&vals[c];

		for (size_t i = 0; i < sizeof(*sum) / 8; i++)
			s[i] += x[i];
	}
}

struct rb_seen {
	int n;
	struct bpfbus_rb_record rec;
	__u32 ids[BPFBUS_MATCH_MAX_RULES];
	__u8 frame[MAXFRAME];
	size_t frame_bytes; /* what followed the ids */
};

/* A record: header, rec.n_ids ids, then the frame (what is left). */
static int on_record(void *ctx, void *data, size_t len)
{
	struct rb_seen *seen = ctx;

	seen->n++;
	if (len < sizeof(seen->rec))
		return 0;
	memcpy(&seen->rec, data, sizeof(seen->rec));
	size_t idb = 4 * (size_t)seen->rec.n_ids;

	if (seen->rec.n_ids > BPFBUS_MATCH_MAX_RULES || idb > len - sizeof(seen->rec))
		return 0;
	memcpy(seen->ids, (__u8 *)data + sizeof(seen->rec), idb);
	seen->frame_bytes = len - sizeof(seen->rec) - idb;
	memcpy(seen->frame, (__u8 *)data + sizeof(seen->rec) + idb,
	       seen->frame_bytes < sizeof(seen->frame) ? seen->frame_bytes : sizeof(seen->frame));
	return 0;
}

static void check_meta(const FIXTURE_VARIANT(dp) *v, const struct bpfbus_meta *m, const __u8 *frame,
		       size_t frame_len, const struct dgram *p)
{
	EXPECT_EQ(BPFBUS_META_MAGIC, m->magic);
	EXPECT_EQ(BPFBUS_META_VERSION, m->version);
	EXPECT_EQ(v->meta_flags, m->flags);
	EXPECT_EQ(BUS_ID, m->bus_id);
	EXPECT_EQ(0, m->generation);
	EXPECT_EQ(0, m->n_rules);
	/* no tables at generation 0: the reason sits in the first id's place */
	if (m->flags & BPFBUS_META_F_VERIFY)
		EXPECT_EQ(BPFBUS_VERIFY_NO_TABLES, m->rule_ids[0] & BPFBUS_VERIFY_NO_TABLES);
	ASSERT_LE(m->body_off + m->body_len, frame_len);
	/* the body is the payload's last body_len bytes */
	ASSERT_LE(m->body_len, p->len);
	EXPECT_EQ(0, memcmp(frame + m->body_off, p->buf + p->len - m->body_len, m->body_len));
	if (!v->body_repeat)
		EXPECT_EQ(strlen(v->body ? v->body : BODY), m->body_len);
	else
		EXPECT_EQ(v->body_repeat, m->body_len);
}

TEST_F(dp, verdict_counters_handoff)
{
	static struct dgram payload;
	static __u8 storage[MAXFRAME + 64 + 2] __attribute__((aligned(8)));
	static __u8 out[MAXFRAME + 512];
	__u8 *frame = storage + 2; /* NET_IP_ALIGN: IP header 4-aligned */
	size_t len;

	memset(&payload, 0, sizeof(payload));
	build_payload(variant, &payload);
	len = build_frame(variant, frame, &payload);
	if (variant->cut)
		len = variant->cut;

	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);
	ASSERT_EQ(0, bpf_prog_test_run_opts(bpf_program__fd(self->skel->progs.bpfbus_xdp), &opts));
	EXPECT_EQ(variant->verdict, opts.retval);

	/* Counters: the expected slot moved exactly as expected, all others 0. */
	for (__u32 id = 0; id < 2; id++) {
		__u32 bus = id ? BUS_ID : 0;
		int here = variant->counted && (!!variant->on_bus == !!id);
		struct bpfbus_bus_stats s;

		read_bus_stats(self->skel, self->ncpus, bus, &s);
		TH_LOG("bus %u: received %llu redirected %llu verify %llu passed %llu", bus,
		       (unsigned long long)s.received, (unsigned long long)s.redirected,
		       (unsigned long long)s.verify, (unsigned long long)s.passed);
		EXPECT_EQ(here, s.received);
		EXPECT_EQ(0, s.dropped);
		EXPECT_EQ(here && variant->handed, s.redirected);
		EXPECT_EQ(here && variant->handed, s.verify);
		EXPECT_EQ(0, s.matched);
		EXPECT_EQ(here && variant->pass_reason >= 0, s.passed);
		for (int r = 0; r < BPFBUS_PASS_MAX; r++)
			EXPECT_EQ(here && variant->pass_reason == r, s.pass_reason[r]);
		for (int e = 1; e < BPFBUS_WIRE_ERR_MAX; e++)
			EXPECT_EQ(here && variant->malformed == e, s.malformed[e]);
		if (here && variant->pass_reason != BPFBUS_PASS_FRAGMENT &&
		    variant->pass_reason != BPFBUS_PASS_EXT_HDR)
			EXPECT_GT(s.bytes, 0);
		else
			EXPECT_EQ(0, s.bytes);
	}

	/* Hand-off: the ring-buffer record or the metadata in front of the frame. */
	struct rb_seen *seen = calloc(1, sizeof(*seen));
	struct ring_buffer *rb =
		ring_buffer__new(bpf_map__fd(self->skel->maps.bb_ring), on_record, seen, NULL);

	ASSERT_NE_NULL(rb);
	ASSERT_GE(ring_buffer__consume(rb), 0);
	ring_buffer__free(rb);
	if (variant->ringbuf && variant->handed) {
		EXPECT_EQ(1, seen->n);
		EXPECT_EQ(len, seen->rec.frame_len);
		EXPECT_EQ(0, seen->rec.n_ids);
		EXPECT_EQ(0, memcmp(seen->frame, frame, len));
		check_meta(variant, &seen->rec.meta, seen->frame, len, &payload);
	} else {
		EXPECT_EQ(0, seen->n);
	}
	free(seen);

	if (variant->meta_flags && !variant->ringbuf) {
		/* data_out starts at data_meta: 32 bytes of meta, then the frame */
		ASSERT_EQ(len + sizeof(struct bpfbus_meta), opts.data_size_out);
		check_meta(variant, (struct bpfbus_meta *)out, out + sizeof(struct bpfbus_meta),
			   len, &payload);
	} else {
		EXPECT_EQ(len, opts.data_size_out);
	}
}

/*
 * With rule tables loaded (userspace/lib/ktables.c into the program's own
 * maps) the datapath decides: a matching event is handed off with its rule
 * ids, a non-matching one is dropped in the driver and counted, and a rule
 * of another bus never matches this bus's events.
 */
struct rule_case {
	const char *body;
	int verdict;
	int n_ids; /* rule ids in the record */
	__u32 id0; /* first rule id */
	int verify; /* handed off flagged VERIFY instead */
	int ack; /* sent with F_ACK: handed off even when no rule matches */
};

/* The bus's counters so far, moved by each case. */
struct rule_counts {
	__u64 dropped, matched, ack_unmatched;
};

static void run_rule_case(struct bpfbus_bpf *skel, int ncpus, const struct rule_case *rc,
			  struct rule_counts *c)
{
	static struct dgram payload;
	static __u8 storage[MAXFRAME + 64 + 2] __attribute__((aligned(8)));
	__u8 *frame = storage + 2;
	FIXTURE_VARIANT(dp) v = { .ringbuf = 1, .body = rc->body, .ack = rc->ack };
	int handed = rc->n_ids || rc->verify || rc->ack;

	memset(&payload, 0, sizeof(payload));
	build_payload(&v, &payload);
	size_t len = build_frame(&v, frame, &payload);

	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len, .repeat = 1);
	ASSERT_EQ(0, bpf_prog_test_run_opts(bpf_program__fd(skel->progs.bpfbus_xdp), &opts));
	EXPECT_EQ(rc->verdict, opts.retval);

	struct rb_seen *seen = calloc(1, sizeof(*seen));
	struct ring_buffer *rb =
		ring_buffer__new(bpf_map__fd(skel->maps.bb_ring), on_record, seen, NULL);

	ASSERT_NE_NULL(rb);
	ASSERT_GE(ring_buffer__consume(rb), 0);
	ring_buffer__free(rb);
	EXPECT_EQ(handed ? 1 : 0, seen->n);
	if (rc->ack && !rc->n_ids && !rc->verify) {
		/* nothing matched, but the producer waits for its answer */
		EXPECT_EQ(0, seen->rec.n_ids);
		EXPECT_EQ(0, seen->rec.meta.n_rules);
		EXPECT_EQ(0, seen->rec.meta.flags & BPFBUS_META_F_VERIFY);
	}
	if (rc->verify) {
		EXPECT_EQ(BPFBUS_META_F_VERIFY, seen->rec.meta.flags & BPFBUS_META_F_VERIFY);
		EXPECT_NE(0, seen->rec.meta.rule_ids[0]); /* why the kernel asked */
	}
	if (rc->n_ids) {
		EXPECT_EQ(rc->n_ids, seen->rec.n_ids);
		EXPECT_EQ(rc->id0, seen->ids[0]);
		EXPECT_EQ(seen->rec.frame_len, seen->frame_bytes);
		EXPECT_EQ(0, seen->rec.meta.flags & BPFBUS_META_F_VERIFY);
		EXPECT_EQ(1, seen->rec.meta.generation);
	}
	free(seen);

	struct bpfbus_bus_stats st;

	read_bus_stats(skel, ncpus, BUS_ID, &st);
	EXPECT_EQ(c->dropped + (rc->verdict == XDP_DROP && !handed), st.dropped);
	/* an acknowledged event no rule matched is handed off, but not matched */
	EXPECT_EQ(c->matched + (rc->n_ids ? 1 : 0), st.matched);
	EXPECT_EQ(c->ack_unmatched + (rc->ack && !rc->n_ids && !rc->verify ? 1 : 0),
		  st.ack_unmatched);
	EXPECT_EQ(st.redirected,
		  st.matched + st.verify + st.archived + st.sampled + st.ack_unmatched);
	*c = (struct rule_counts){ st.dropped, st.matched, st.ack_unmatched };
}

/*
 * The datapath with ring-buffer hand-off and @n patterns compiled into table
 * slot 1, rule i on bus rule_bus[i]; BUS_NAME points at generation 1.
 * NULL with *err set when the program does not load (the caller SKIPs only
 * when th_bpf_not_permitted(err)).
 */
static struct bpfbus_bpf *load_with_rules(const char *const *patterns, size_t n,
					  const uint32_t *rule_bus, int *err)
{
	struct bpfbus_bpf *skel = bpfbus_bpf__open();
	struct bpf_map *map;

	*err = -ENOMEM;
	if (!skel)
		return NULL;
	bpf_object__for_each_map(map, skel->obj) bpf_map__set_pin_path(map, NULL);
	skel->rodata->bpfbus_handoff = BPFBUS_HANDOFF_RINGBUF;
	*err = bpfbus_bpf__load(skel);
	if (*err) {
		bpfbus_bpf__destroy(skel);
		return NULL;
	}
	struct bb_ruleset *rs = bb_ruleset_new();
	struct ktables kt;
	char msg[256];

	for (size_t i = 0; i < n; i++)
		EXPECT_EQ((int)i,
			  bb_ruleset_add_pattern(rs, "r", patterns[i], strlen(patterns[i]), NULL));
	bb_ruleset_compile(rs);
	EXPECT_EQ(0, ktables_build(rs, 1, 1, rule_bus, &kt, msg, sizeof(msg)));
	struct ktable_fds fds = {
		.paths = bpf_map__fd(skel->maps.km_pathtab),
		.kpaths = bpf_map__fd(skel->maps.km_kpaths),
		.values = bpf_map__fd(skel->maps.km_values),
		.postings = bpf_map__fd(skel->maps.km_postings),
		.conds = bpf_map__fd(skel->maps.km_conds),
		.branches = bpf_map__fd(skel->maps.km_branches),
		.header = bpf_map__fd(skel->maps.km_header),
		.inodes = bpf_map__fd(skel->maps.km_inodes),
		.ivals = bpf_map__fd(skel->maps.km_ivals),
		.wild = bpf_map__fd(skel->maps.km_wild),
		.grids = bpf_map__fd(skel->maps.km_grids),
		.gbounds = bpf_map__fd(skel->maps.km_gbounds),
		.gcells = bpf_map__fd(skel->maps.km_gcells),
		.boxes = bpf_map__fd(skel->maps.km_boxes),
		.vtab = bpf_map__fd(skel->maps.km_vtab),
		.vfilter = bpf_map__fd(skel->maps.km_vfilter),
	};

	EXPECT_EQ(0, ktables_load(&kt, &fds));
	ktables_free(&kt);
	bb_ruleset_free(rs);

	/* the bus points at generation 1: table slot 1 */
	struct bpfbus_bus bus = { .id = BUS_ID, .generation = 1, .kind = BPFBUS_BUS_EVENT };
	__u32 key = bb_wire_name_hash(BUS_NAME, strlen(BUS_NAME));

	bus.name_len = strlen(BUS_NAME);
	memcpy(bus.name, BUS_NAME, bus.name_len);
	EXPECT_EQ(0, bpf_map__update_elem(skel->maps.bb_buses, &key, sizeof(key), &bus, sizeof(bus),
					  BPF_ANY));
	return skel;
}

TEST(rules_decided_in_the_kernel)
{
	/* rules 0 and 2 belong to this bus, rule 1 to another one */
	static const char *const patterns[] = {
		"{\"source\": [\"a\"], \"detail\": {\"n\": [{\"numeric\": [\">\", 0]}]}}",
		"{\"source\": [\"a\"]}",
		"{\"detail\": {\"n\": [{\"numeric\": [\">\", 100]}]}}",
	};
	const uint32_t rule_bus[] = { BUS_ID, BUS_ID + 2, BUS_ID };
	int ncpus = libbpf_num_possible_cpus();
	int err;
	struct bpfbus_bpf *skel = load_with_rules(patterns, 3, rule_bus, &err);

	if (th_bpf_not_permitted(err))
		SKIP("BPF not permitted (euid %u): run as root or with CAP_BPF", geteuid());
	ASSERT_EQ(0, err);
	ASSERT_NE_NULL(skel);

	static const struct rule_case cases[] = {
		/* rule 0; rule 1 matches too but is another bus's */
		{ "{\"source\":\"a\",\"detail\":{\"n\":1}}", XDP_DROP, 1, 0, 0, 0 },
		/* rule 2 only */
		{ "{\"source\":\"b\",\"detail\":{\"n\":500}}", XDP_DROP, 1, 2, 0, 0 },
		/* nothing of this bus: dropped in the driver */
		{ "{\"source\":\"a\",\"detail\":{\"n\":-1}}", XDP_DROP, 0, 0, 0, 0 },
		{ "{\"other\":true}", XDP_DROP, 0, 0, 0, 0 },
		/* no rule matches, but F_ACK: handed off with no rules, not dropped */
		{ "{\"other\":true}", XDP_DROP, 0, 0, 0, 1 },
		/* F_ACK with a match: the same as without */
		{ "{\"source\":\"b\",\"detail\":{\"n\":500}}", XDP_DROP, 1, 2, 0, 1 },
	};
	struct rule_counts counts = { 0 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		TH_LOG("case %zu: %s", i, cases[i].body);
		run_rule_case(skel, ncpus, &cases[i], &counts);
	}
	EXPECT_EQ(2, counts.dropped);
	EXPECT_EQ(3, counts.matched);
	EXPECT_EQ(1, counts.ack_unmatched);

	/* The value table is keyed by a digest of the value: the kernel must
	 * still compare the bytes (a value whose entry holds other bytes does
	 * not match), and hand off an entry marked collided as VERIFY. The
	 * entry of "a" is in one of its two buckets of slot 1, under the
	 * path id of "source". */
	struct bpfbus_vbucket vb;
	int vfd = bpf_map__fd(skel->maps.km_vtab), found = 0;
	__u32 at = 0;
	__u64 digest = bpfbus_val_digest((const __u8 *)"a\0\0\0\0\0\0", 1);

	for (__u32 path = 0; path < 64 && !found; path++)
		for (int second = 0; second < 2 && !found; second++) {
			at = BPFBUS_VTAB_BUCKETS +
			     bpfbus_vtab_bucket(path, BPFBUS_K_STR, 1, digest, second);
			found = !bpf_map_lookup_elem(vfd, &at, &vb) && vb.path1 == path + 1 &&
				vb.kind == BPFBUS_K_STR && vb.len == 1 && vb.val[0] == 'a';
		}
	ASSERT_EQ(1, found);
	static const struct rule_case same_digest_other_bytes = {
		"{\"source\":\"a\",\"detail\":{\"n\":1}}", XDP_DROP, 0, 0, 0, 0
	};
	static const struct rule_case collided = {
		"{\"source\":\"a\",\"detail\":{\"n\":1}}", XDP_DROP, 0, 0, 1, 0
	};

	vb.val[0] = 'q';
	ASSERT_EQ(0, bpf_map_update_elem(vfd, &at, &vb, BPF_EXIST));
	run_rule_case(skel, ncpus, &same_digest_other_bytes, &counts);
	vb.val[0] = 'a';
	vb.flags |= BPFBUS_V_COLLIDED;
	ASSERT_EQ(0, bpf_map_update_elem(vfd, &at, &vb, BPF_EXIST));
	run_rule_case(skel, ncpus, &collided, &counts);
	EXPECT_EQ(3, counts.dropped);
	bpfbus_bpf__destroy(skel);
}

/*
 * Every matched rule is listed, however many: 300 rules of this bus match
 * one event (more than the metadata's 3 and the former 64), each once and
 * each counted; beyond BPFBUS_MATCH_MAX_RULES the kernel asks userspace.
 */
TEST(large_match_lists)
{
	enum { MANY = 300, TOO_MANY = BPFBUS_MATCH_MAX_RULES + 1 };
	char **patterns = calloc(TOO_MANY + 1, sizeof(*patterns));
	uint32_t *rule_bus = calloc(TOO_MANY + 1, sizeof(*rule_bus));
	int ncpus = libbpf_num_possible_cpus(), err;

	ASSERT_NE_NULL(patterns);
	ASSERT_NE_NULL(rule_bus);
	/* rules 0..MANY-1 match source "many"; MANY..TOO_MANY-1 match source
	 * "all" together with the first MANY through a second condition */
	for (int i = 0; i < TOO_MANY; i++) {
		char buf[128];

		if (i < MANY)
			snprintf(buf, sizeof(buf),
				 "{\"source\": [\"many\", \"all\"], \"n\": [%d, 1]}", i + 100);
		else
			snprintf(buf, sizeof(buf), "{\"source\": [\"all\"], \"n\": [%d, 1]}",
				 i + 100);
		patterns[i] = strdup(buf);
		rule_bus[i] = BUS_ID;
	}
	struct bpfbus_bpf *skel =
		load_with_rules((const char *const *)patterns, TOO_MANY, rule_bus, &err);

	if (th_bpf_not_permitted(err))
		SKIP("BPF not permitted (euid %u): run as root or with CAP_BPF", geteuid());
	ASSERT_EQ(0, err);
	ASSERT_NE_NULL(skel);

	static struct dgram payload;
	static __u8 storage[MAXFRAME + 64 + 2] __attribute__((aligned(8)));
	__u8 *frame = storage + 2;
	FIXTURE_VARIANT(dp) v = { .ringbuf = 1, .body = "{\"source\":\"many\",\"n\":1}" };

	build_payload(&v, &payload);
	size_t len = build_frame(&v, frame, &payload);
	struct rb_seen *seen = calloc(1, sizeof(*seen));

	ASSERT_NE_NULL(seen);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len, .repeat = 1);
	ASSERT_EQ(0, bpf_prog_test_run_opts(bpf_program__fd(skel->progs.bpfbus_xdp), &opts));
	EXPECT_EQ(XDP_DROP, opts.retval); /* handed off through the ring buffer */

	struct ring_buffer *rb =
		ring_buffer__new(bpf_map__fd(skel->maps.bb_ring), on_record, seen, NULL);

	ASSERT_NE_NULL(rb);
	ASSERT_GE(ring_buffer__consume(rb), 0);
	EXPECT_EQ(1, seen->n);
	EXPECT_EQ(0, seen->rec.meta.flags & BPFBUS_META_F_VERIFY);
	EXPECT_EQ(BPFBUS_META_F_TRUNCATED, seen->rec.meta.flags & BPFBUS_META_F_TRUNCATED);
	EXPECT_EQ(MANY, seen->rec.meta.n_rules);
	EXPECT_EQ(MANY, seen->rec.n_ids);
	EXPECT_EQ(len, seen->rec.frame_len);
	EXPECT_EQ(len, seen->frame_bytes);
	EXPECT_EQ(0, memcmp(seen->frame, frame, len));

	/* each of rules 0..MANY-1 exactly once, and counted once */
	char *listed = calloc(MANY, 1);

	ASSERT_NE_NULL(listed);
	for (__u32 i = 0; i < seen->rec.n_ids && i < BPFBUS_MATCH_MAX_RULES; i++) {
		__u32 id = seen->ids[i];

		EXPECT_LT(id, MANY);
		if (id < MANY) {
			EXPECT_EQ(0, listed[id]);
			listed[id] = 1;
		}
	}
	for (__u32 id = 0; id < MANY; id += 37) {
		__u64 x[256] = { 0 }, sum = 0;
		struct bpfbus_rule_stats *rs = (void *)x;

		ASSERT_LE(ncpus * sizeof(*rs), sizeof(x));
		ASSERT_EQ(0, bpf_map__lookup_elem(skel->maps.bb_rule_stats, &id, sizeof(id), x,
						  ncpus * sizeof(*rs), 0));
		for (int c = 0; c < ncpus; c++)
			sum += rs[c].matches;
		EXPECT_EQ(1, sum);
	}

	/* all TOO_MANY rules match: more than a hand-off lists, so VERIFY */
	memset(seen, 0, sizeof(*seen));
	v.body = "{\"source\":\"all\",\"n\":1}";
	memset(&payload, 0, sizeof(payload));
	build_payload(&v, &payload);
	len = build_frame(&v, frame, &payload);
	opts.data_size_in = len;
	ASSERT_EQ(0, bpf_prog_test_run_opts(bpf_program__fd(skel->progs.bpfbus_xdp), &opts));
	ASSERT_GE(ring_buffer__consume(rb), 0);
	EXPECT_EQ(1, seen->n);
	EXPECT_EQ(BPFBUS_META_F_VERIFY, seen->rec.meta.flags & BPFBUS_META_F_VERIFY);
	EXPECT_EQ(KM_VERIFY_OUT, seen->rec.meta.rule_ids[0]);
	EXPECT_EQ(0, seen->rec.n_ids);

	ring_buffer__free(rb);
	free(listed);
	free(seen);
	for (int i = 0; i < TOO_MANY; i++)
		free(patterns[i]);
	free(patterns);
	free(rule_bus);
	bpfbus_bpf__destroy(skel);
}

/*
 * Archives and schema discovery (docs/kernel.md, "Archives and schema
 * discovery"): rule 0 is a rule, rule 1 an archive entry (archive_base 1).
 * One frame of @body through the datapath; its ring-buffer record, if any,
 * in *@seen (n 0 when dropped).
 */
static void keep_case(struct bpfbus_bpf *skel, const char *body, int ack, struct rb_seen *seen)
{
	static struct dgram payload;
	static __u8 storage[MAXFRAME + 64 + 2] __attribute__((aligned(8)));
	__u8 *frame = storage + 2;
	FIXTURE_VARIANT(dp) v = { .ringbuf = 1, .body = body, .ack = ack };

	memset(&payload, 0, sizeof(payload));
	memset(seen, 0, sizeof(*seen));
	build_payload(&v, &payload);
	size_t len = build_frame(&v, frame, &payload);

	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len, .repeat = 1);
	ASSERT_EQ(0, bpf_prog_test_run_opts(bpf_program__fd(skel->progs.bpfbus_xdp), &opts));
	EXPECT_EQ(XDP_DROP, opts.retval); /* a hand-off too: the record is the event */

	struct ring_buffer *rb =
		ring_buffer__new(bpf_map__fd(skel->maps.bb_ring), on_record, seen, NULL);

	ASSERT_NE_NULL(rb);
	ASSERT_GE(ring_buffer__consume(rb), 0);
	ring_buffer__free(rb);
}

static void set_bus(struct bpfbus_bpf *skel, __u8 flags, __u32 archive_base)
{
	struct bpfbus_bus bus = { .id = BUS_ID,
				  .generation = 1,
				  .kind = BPFBUS_BUS_EVENT,
				  .flags = flags,
				  .archive_base = archive_base };
	__u32 key = bb_wire_name_hash(BUS_NAME, strlen(BUS_NAME));

	bus.name_len = strlen(BUS_NAME);
	memcpy(bus.name, BUS_NAME, bus.name_len);
	EXPECT_EQ(0, bpf_map__update_elem(skel->maps.bb_buses, &key, sizeof(key), &bus, sizeof(bus),
					  BPF_ANY));
}

static void set_sample_rate(struct bpfbus_bpf *skel, __u32 rate)
{
	struct bpfbus_sample v = { .rate_per_s = rate };
	__u32 id = BUS_ID;

	EXPECT_EQ(0, bpf_map__update_elem(skel->maps.bb_sample, &id, sizeof(id), &v, sizeof(v),
					  BPF_ANY));
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

TEST(archives_and_samples_in_the_kernel)
{
	static const char *const patterns[] = { "{\"source\": [\"a\", \"both\"]}",
						"{\"source\": [\"arc\", \"both\"]}" };
	const uint32_t rule_bus[] = { BUS_ID, BUS_ID };
	int ncpus = libbpf_num_possible_cpus(), err;
	struct bpfbus_bpf *skel = load_with_rules(patterns, 2, rule_bus, &err);
	struct rb_seen *seen = calloc(1, sizeof(*seen));
	struct bpfbus_bus_stats st;

	if (th_bpf_not_permitted(err))
		SKIP("BPF not permitted (euid %u): run as root or with CAP_BPF", geteuid());
	ASSERT_EQ(0, err);
	ASSERT_NE_NULL(skel);
	ASSERT_NE_NULL(seen);

	/* without the flag, id 1 is a rule like any other */
	keep_case(skel, "{\"source\":\"arc\"}", 0, seen);
	EXPECT_EQ(1, seen->n);
	EXPECT_EQ(0, seen->rec.meta.flags & BPFBUS_META_F_ARCHIVE);

	set_bus(skel, BPFBUS_BUS_F_ARCHIVES, 1);
	/* a rule: matched */
	keep_case(skel, "{\"source\":\"a\"}", 0, seen);
	EXPECT_EQ(1, seen->n);
	EXPECT_EQ(0, seen->rec.meta.flags & (BPFBUS_META_F_ARCHIVE | BPFBUS_META_F_SAMPLE));
	EXPECT_EQ(0, seen->ids[0]);
	/* only the archive entry: kept for it, with its id */
	keep_case(skel, "{\"source\":\"arc\"}", 0, seen);
	EXPECT_EQ(1, seen->n);
	EXPECT_EQ(BPFBUS_META_F_ARCHIVE, seen->rec.meta.flags & BPFBUS_META_F_ARCHIVE);
	EXPECT_EQ(1, seen->rec.n_ids);
	EXPECT_EQ(1, seen->ids[0]);
	/* the rule and the archive entry: a plain match listing both */
	keep_case(skel, "{\"source\":\"both\"}", 0, seen);
	EXPECT_EQ(1, seen->n);
	EXPECT_EQ(0, seen->rec.meta.flags & BPFBUS_META_F_ARCHIVE);
	EXPECT_EQ(2, seen->rec.n_ids);
	/* nothing: dropped */
	keep_case(skel, "{\"source\":\"zz\"}", 0, seen);
	EXPECT_EQ(0, seen->n);
	read_bus_stats(skel, ncpus, BUS_ID, &st);
	EXPECT_EQ(3, st.matched); /* the first case, "a" and "both" */
	EXPECT_EQ(1, st.archived);
	EXPECT_EQ(1, st.dropped);

	/* a pattern-less archive: everything kept, no ids */
	set_bus(skel, BPFBUS_BUS_F_ARCHIVES | BPFBUS_BUS_F_ARCHIVE_ALL, 1);
	keep_case(skel, "{\"source\":\"zz\"}", 0, seen);
	EXPECT_EQ(1, seen->n);
	EXPECT_EQ(BPFBUS_META_F_ARCHIVE, seen->rec.meta.flags & BPFBUS_META_F_ARCHIVE);
	EXPECT_EQ(0, seen->rec.n_ids);

	/* discovery at 3 a second: of 10 unwanted events, the bucket's 3 (and
	 * one more per third of a second the loop took) */
	set_bus(skel, BPFBUS_BUS_F_DISCOVERY, 2);
	set_sample_rate(skel, 3);
	int samples = 0;
	__u64 t0 = now_ns();

	for (int i = 0; i < 10; i++) {
		keep_case(skel, "{\"source\":\"zz\"}", 0, seen);
		if (seen->n) {
			EXPECT_EQ(BPFBUS_META_F_SAMPLE,
				  seen->rec.meta.flags & BPFBUS_META_F_SAMPLE);
			EXPECT_EQ(0, seen->rec.n_ids);
			EXPECT_EQ(0, seen->rec.meta.n_rules);
		}
		samples += seen->n;
	}
	__u64 most = 3 + (now_ns() - t0) * 3 / 1000000000ULL;

	TH_LOG("%d samples of 10 (at most %llu)", samples, (unsigned long long)most);
	EXPECT_GE(samples, 3);
	EXPECT_LE(samples, most);
	/* wanted ones are not samples, nor is an event that asks for an ack */
	keep_case(skel, "{\"source\":\"a\"}", 0, seen);
	EXPECT_EQ(0, seen->rec.meta.flags & BPFBUS_META_F_SAMPLE);
	keep_case(skel, "{\"source\":\"zz\"}", 1, seen);
	EXPECT_EQ(1, seen->n);
	EXPECT_EQ(0, seen->rec.meta.flags & BPFBUS_META_F_SAMPLE);
	/* rate 0: no sample */
	set_sample_rate(skel, 0);
	keep_case(skel, "{\"source\":\"zz\"}", 0, seen);
	EXPECT_EQ(0, seen->n);

	read_bus_stats(skel, ncpus, BUS_ID, &st);
	EXPECT_EQ(samples, st.sampled);
	EXPECT_EQ(2, st.archived);
	EXPECT_EQ(1 + 10 - samples + 1, st.dropped);
	EXPECT_EQ(1, st.ack_unmatched); /* "zz" with an ack */
	EXPECT_EQ(st.redirected,
		  st.matched + st.verify + st.archived + st.sampled + st.ack_unmatched);
	free(seen);
	bpfbus_bpf__destroy(skel);
}

TEST_HARNESS_MAIN

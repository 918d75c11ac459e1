// SPDX-License-Identifier: BSD-2-Clause
#include "kdatapath.h"
#include "bpfbus/attrs.h"
#include "bpfbus/datapath.h"
#include "ktables.h"
#include "strbuf.h"
#include "wire.h"
#include "bpfbus.skel.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* BPF_PROG_TEST_RUN takes linear XDP frames of about 3.5 KiB at most. */
#define KDP_MAX_FRAME 3500
#define KDP_HEADERS (sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr))

struct kdp {
	struct bpfbus_bpf *skel;
	struct ring_buffer *ring;
	struct ktable_fds fds;
	struct bpfbus_bus bus;
	uint8_t *storage;
	uint8_t *frame; /* storage + 2: the IP header 4-byte aligned */
	struct kresult *seen; /* where the ring callback writes */
	int records;
};

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* A record: header, n_ids rule ids, then the frame. */
static int on_record(void *ctx, void *data, size_t len)
{
	struct kdp *k = ctx;
	struct bpfbus_rb_record rec;
	struct kresult *r = k->seen;

	k->records++;
	if (len < sizeof(rec))
		return 0;
	memcpy(&rec, data, sizeof(rec));
	if (rec.n_ids > KM_MAX_OUT || 4 * (size_t)rec.n_ids > len - sizeof(rec))
		return 0;
	r->verdict = rec.meta.flags & BPFBUS_META_F_VERIFY ? KV_VERIFY : KV_MATCH;
	if (r->verdict == KV_VERIFY) /* why, in the first id's place (datapath.h) */
		r->verify = rec.meta.rule_ids[0];
	r->n_ids = rec.n_ids;
	memcpy(r->ids, (uint8_t *)data + sizeof(rec), 4 * (size_t)rec.n_ids);
	return 0;
}

struct kdp *kdp_open(uint8_t kind, const char *name, uint32_t id, char *err, size_t err_len)
{
	struct kdp *k = xcalloc(1, sizeof(*k));
	libbpf_print_fn_t old = libbpf_set_print(getenv("BPFBUS_DEBUG") ? NULL : silent);
	struct bpf_map *map;
	int r = -ENOMEM;

	if (getenv("BPFBUS_DEBUG"))
		libbpf_set_print(old);
	k->skel = bpfbus_bpf__open();
	if (k->skel) {
		/* private maps: nothing pinned, nothing shared */
		bpf_object__for_each_map(map, k->skel->obj) bpf_map__set_pin_path(map, NULL);
		k->skel->rodata->bpfbus_handoff = BPFBUS_HANDOFF_RINGBUF;
		r = bpfbus_bpf__load(k->skel);
	}
	libbpf_set_print(old);
	if (r) {
		snprintf(err, err_len, "cannot load the XDP datapath: %s%s", strerror(-r),
			 r == -EPERM ? " (needs root or CAP_BPF)" : "");
		kdp_close(k);
		return NULL;
	}
	ktables_fds_from_object(k->skel->obj, &k->fds);
	k->ring = ring_buffer__new(bpf_map__fd(k->skel->maps.bb_ring), on_record, k, NULL);
	k->storage = xmalloc(KDP_MAX_FRAME + 8);
	k->frame = k->storage + 2;
	k->bus = (struct bpfbus_bus){ .id = id, .kind = kind };
	k->bus.name_len = (uint16_t)strnlen(name, sizeof(k->bus.name));
	memcpy(k->bus.name, name, k->bus.name_len);
	if (!k->ring) {
		snprintf(err, err_len, "cannot read the datapath's ring buffer: %s",
			 strerror(errno));
		kdp_close(k);
		return NULL;
	}
	return k;
}

void kdp_close(struct kdp *k)
{
	if (!k)
		return;
	ring_buffer__free(k->ring);
	bpfbus_bpf__destroy(k->skel);
	free(k->storage);
	free(k);
}

int kdp_load(struct kdp *k, const struct bb_ruleset *rs, char *err, size_t err_len)
{
	uint32_t gen = k->bus.generation + 1, slot = gen & (BPFBUS_SLOTS - 1);
	size_t n = bb_ruleset_rule_count(rs);
	uint32_t *rule_bus = xmalloc((n + 1) * sizeof(*rule_bus));
	struct ktables kt;
	int r;

	for (size_t i = 0; i < n; i++)
		rule_bus[i] = k->bus.id;
	ktables_clear_slot(&k->fds, slot);
	r = ktables_build(rs, (uint8_t)slot, gen, rule_bus, &kt, err, err_len);
	free(rule_bus);
	if (r < 0)
		return -1;
	r = ktables_load(&kt, &k->fds);
	ktables_free(&kt);
	if (r < 0) {
		snprintf(err, err_len, "writing the kernel tables: %s", strerror(-r));
		return -1;
	}
	/* the new generation goes live with this one update */
	struct bpfbus_bus bus = k->bus;
	__u32 key = bb_wire_name_hash(bus.name, bus.name_len);

	bus.generation = gen;
	if (bpf_map__update_elem(k->skel->maps.bb_buses, &key, sizeof(key), &bus, sizeof(bus),
				 BPF_ANY)) {
		snprintf(err, err_len, "switching the bus: %s", strerror(errno));
		return -1;
	}
	k->bus = bus;
	return 0;
}

/* Ethernet + IPv4 + UDP to the router port around @payload. */
static size_t build_frame(uint8_t *buf, const uint8_t *payload, size_t len)
{
	struct ethhdr *eth = (void *)buf;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);

	memset(buf, 0, KDP_HEADERS);
	memset(eth->h_dest, 0x02, ETH_ALEN);
	memset(eth->h_source, 0x04, ETH_ALEN);
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons((uint16_t)(sizeof(*ip) + sizeof(*udp) + len));
	ip->saddr = htonl(0x0a000001);
	ip->daddr = htonl(0x0a000002);
	udp->source = htons(40000);
	udp->dest = htons(BPFBUS_DEFAULT_PORT);
	udp->len = htons((uint16_t)(sizeof(*udp) + len));
	memcpy(udp + 1, payload, len);
	return KDP_HEADERS + len;
}

int kdp_send(struct kdp *k, const char *attrs, size_t attrs_len, const char *body, size_t body_len,
	     struct kresult *r)
{
	struct bb_wire_msg m = { .kind = k->bus.kind,
				 .name = (const char *)k->bus.name,
				 .name_len = k->bus.name_len,
				 .attrs = attrs,
				 .attrs_len = attrs_len,
				 .body = body,
				 .body_len = body_len };
	uint8_t payload[KDP_MAX_FRAME];
	long n = bb_wire_encode(&m, payload, sizeof(payload) - KDP_HEADERS);

	memset(r, 0, sizeof(*r));
	if (body_len >= BPFBUS_SCAN_MAX_BODY ||
	    (k->bus.kind == BPFBUS_BUS_TOPIC &&
	     (attrs_len > BPFBUS_SCAN_MAX_ATTRS || body_len + attrs_len >= BPFBUS_SCAN_MAX_BODY))) {
		/* the program hands these over unscanned (VERIFY: size) before
		 * anything else; a test run cannot take a frame that large */
		r->verdict = KV_VERIFY;
		r->verify = BPFBUS_VERIFY_SIZE;
		return 0;
	}
	if (n == -BPFBUS_WIRE_ERR_NOSPACE || n == -BPFBUS_WIRE_ERR_TOO_BIG)
		return -E2BIG;
	if (n < 0)
		return -EINVAL;
	size_t len = build_frame(k->frame, payload, (size_t)n);

	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = k->frame, .data_size_in = (__u32)len,
		    .repeat = 1);
	if (bpf_prog_test_run_opts(bpf_program__fd(k->skel->progs.bpfbus_xdp), &opts))
		return -errno;
	k->seen = r;
	k->records = 0;
	if (ring_buffer__consume(k->ring) < 0)
		return -EIO;
	r->ns = opts.duration;
	if (opts.retval == XDP_PASS)
		r->verdict = KV_PASS;
	else if (!k->records)
		r->verdict = KV_DROP;
	if (r->verdict == KV_VERIFY)
		r->n_ids = 0;
	return opts.retval == XDP_PASS || opts.retval == XDP_DROP ? 0 : -EPROTO;
}

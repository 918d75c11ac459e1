// SPDX-License-Identifier: BSD-2-Clause
/*
 * bpf/probe.bpf.c under BPF_PROG_TEST_RUN: hand-built frames, one variant per
 * frame, each checked for verdict and counters.
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

#include "bpfbus/counters.h"
#include "probe.skel.h"
#include "../harness.h"

FIXTURE(probe)
{
	struct probe_bpf *skel;
	int ncpus;
};

FIXTURE_VARIANT(probe)
{
	int ipver; /* 4 or 6 */
	__u8 l4proto;
	__u16 dport;
	__u16 port; /* bpfbus_port to load with; 0: the default */
	size_t cut; /* truncate the frame to this many bytes; 0: whole */
	int counter; /* counter expected to count it, -1: none */
};

FIXTURE_VARIANT_ADD(probe, udp4_counted){
	.ipver = 4,
	.l4proto = IPPROTO_UDP,
	.dport = BPFBUS_DEFAULT_PORT,
	.counter = BPFBUS_CTR_RX_V4,
};
FIXTURE_VARIANT_ADD(probe, udp6_counted){
	.ipver = 6,
	.l4proto = IPPROTO_UDP,
	.dport = BPFBUS_DEFAULT_PORT,
	.counter = BPFBUS_CTR_RX_V6,
};
FIXTURE_VARIANT_ADD(probe, udp4_configured_port){
	.ipver = 4,
	.l4proto = IPPROTO_UDP,
	.dport = 9999,
	.port = 9999,
	.counter = BPFBUS_CTR_RX_V4,
};
FIXTURE_VARIANT_ADD(probe, udp4_other_port){
	.ipver = 4,
	.l4proto = IPPROTO_UDP,
	.dport = 53,
	.counter = -1,
};
FIXTURE_VARIANT_ADD(probe, tcp4_not_counted){
	.ipver = 4,
	.l4proto = IPPROTO_TCP,
	.dport = BPFBUS_DEFAULT_PORT,
	.counter = -1,
};
FIXTURE_VARIANT_ADD(probe, tcp6_not_counted){
	.ipver = 6,
	.l4proto = IPPROTO_TCP,
	.dport = BPFBUS_DEFAULT_PORT,
	.counter = -1,
};
FIXTURE_VARIANT_ADD(probe, udp4_truncated){
	.ipver = 4,
	.l4proto = IPPROTO_UDP,
	.dport = BPFBUS_DEFAULT_PORT,
	.cut = sizeof(struct ethhdr) + sizeof(struct iphdr) + 4,
	.counter = -1,
};
FIXTURE_VARIANT_ADD(probe, udp6_truncated){
	.ipver = 6,
	.l4proto = IPPROTO_UDP,
	.dport = BPFBUS_DEFAULT_PORT,
	.cut = sizeof(struct ethhdr) + 30,
	.counter = -1,
};

FIXTURE_SETUP(probe)
{
	int err;

	self->ncpus = libbpf_num_possible_cpus();
	ASSERT_GT(self->ncpus, 0);
	self->skel = probe_bpf__open();
	ASSERT_NE_NULL(self->skel);
	if (variant->port)
		self->skel->rodata->bpfbus_port = variant->port;
	err = probe_bpf__load(self->skel);
	if (th_bpf_not_permitted(err))
		SKIP("BPF not permitted (euid %u, bpf() %s): run as root or with CAP_BPF",
		     geteuid(), strerror(-err));
	ASSERT_EQ(0, err);
}

FIXTURE_TEARDOWN(probe)
{
	probe_bpf__destroy(self->skel);
}

/* Ethernet + IPv4/IPv6 + UDP/L4 header + payload; returns the frame length. */
static size_t build_frame(__u8 *buf, size_t cap, int ipver, __u8 proto, __u16 dport)
{
	static const char payload[] = "{\"source\":\"bpfbus.test\"}";
	struct ethhdr *eth = (void *)buf;
	size_t l4len = sizeof(struct udphdr) + 20 + sizeof(payload), len;
	struct udphdr *udp;

	memset(buf, 0, cap);
	memset(eth->h_dest, 0x02, ETH_ALEN);
	memset(eth->h_source, 0x04, ETH_ALEN);
	if (ipver == 4) {
		struct iphdr *ip = (void *)(eth + 1);

		eth->h_proto = htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = proto;
		ip->tot_len = htons(sizeof(*ip) + l4len);
		ip->saddr = htonl(0x0a000001);
		ip->daddr = htonl(0x0a000002);
		udp = (void *)(ip + 1);
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		eth->h_proto = htons(ETH_P_IPV6);
		ip6->version = 6;
		ip6->nexthdr = proto;
		ip6->hop_limit = 64;
		ip6->payload_len = htons(l4len);
		ip6->saddr.s6_addr[15] = 1;
		ip6->daddr.s6_addr[15] = 2;
		udp = (void *)(ip6 + 1);
	}
	/* UDP and TCP both start with source and destination ports. */
	udp->source = htons(40000);
	udp->dest = htons(dport);
	udp->len = htons(l4len);
	len = (__u8 *)udp - buf + l4len;
	memcpy((__u8 *)udp + l4len - sizeof(payload), payload, sizeof(payload));
	return len;
}

static void read_counter(struct probe_bpf *skel, int ncpus, __u32 idx, struct bpfbus_counter *sum)
{
	struct bpfbus_counter vals[ncpus];

	memset(sum, 0, sizeof(*sum));
	if (bpf_map__lookup_elem(skel->maps.bpfbus_counters, &idx, sizeof(idx), vals, sizeof(vals),
				 0))
		return;
	for (int i = 0; i < ncpus; i++) {
		sum->packets += vals[i].packets;
		sum->bytes += vals[i].bytes;
	}
}

TEST_F(probe, verdict_and_counters)
{
	/* Offset by 2 like NET_IP_ALIGN so the IP header is 4-byte aligned. */
	__u8 storage[256 + 2] __attribute__((aligned(8))), *frame = storage + 2;
	size_t len = build_frame(frame, sizeof(storage) - 2, variant->ipver, variant->l4proto,
				 variant->dport);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame,
		    .data_size_in = variant->cut ? variant->cut : len, .repeat = 1);

	ASSERT_LE(len, sizeof(storage) - 2);
	ASSERT_EQ(0,
		  bpf_prog_test_run_opts(bpf_program__fd(self->skel->progs.bpfbus_probe), &opts));
	EXPECT_EQ(XDP_PASS, opts.retval);

	for (__u32 idx = 0; idx < BPFBUS_CTR_MAX; idx++) {
		struct bpfbus_counter sum;
		int want = (int)idx == variant->counter;

		read_counter(self->skel, self->ncpus, idx, &sum);
		EXPECT_EQ(want, sum.packets);
		EXPECT_EQ(want ? opts.data_size_in : 0, sum.bytes);
	}
}

TEST_HARNESS_MAIN

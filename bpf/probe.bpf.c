// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * probe: the smallest real bpfbus XDP program. It recognises bpfbus datagrams
 * (UDP to bpfbus_port over IPv4 or IPv6, optionally behind one VLAN tag),
 * counts them per CPU and passes everything on. IPv4 fragments and IPv6
 * extension headers are not bpfbus datagrams here (the daemon's slow path).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bpfbus/counters.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define IP_MF_OFFSET 0x3fff /* more-fragments flag and fragment offset */

struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

/* Set by the loader before load (skeleton: skel->rodata->bpfbus_port). */
const volatile __u16 bpfbus_port = BPFBUS_DEFAULT_PORT;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BPFBUS_CTR_MAX);
	__type(key, __u32);
	__type(value, struct bpfbus_counter);
} bpfbus_counters SEC(".maps");

/* Returns the UDP header of a bpfbus datagram or NULL; *idx gets the counter. */
static __always_inline struct udphdr *parse(void *data, void *data_end, __u32 *idx)
{
	struct ethhdr *eth = data;
	struct udphdr *udp;
	void *l3 = eth + 1;
	__be16 proto;

	if (l3 > data_end)
		return NULL;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_tag *tag = l3;

		if ((void *)(tag + 1) > data_end)
			return NULL;
		proto = tag->proto;
		l3 = tag + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;

		if ((void *)(ip + 1) > data_end || ip->ihl < 5 || ip->protocol != IPPROTO_UDP ||
		    (ip->frag_off & bpf_htons(IP_MF_OFFSET)))
			return NULL;
		udp = l3 + ip->ihl * 4;
		*idx = BPFBUS_CTR_RX_V4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_UDP)
			return NULL;
		udp = (void *)(ip6 + 1);
		*idx = BPFBUS_CTR_RX_V6;
	} else {
		return NULL;
	}

	if ((void *)(udp + 1) > data_end || udp->dest != bpf_htons(bpfbus_port))
		return NULL;
	return udp;
}

SEC("xdp")
int bpfbus_probe(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bpfbus_counter *ctr;
	__u32 idx = 0;

	if (!parse(data, data_end, &idx))
		return XDP_PASS;
	ctr = bpf_map_lookup_elem(&bpfbus_counters, &idx);
	if (ctr) {
		ctr->packets++;
		ctr->bytes += data_end - data;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

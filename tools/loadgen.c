// SPDX-License-Identifier: BSD-2-Clause
/*
 * loadgen: the sender of the end-to-end benchmark (tools/bench-e2e). It reads
 * events (JSON lines), classifies each with the userspace matcher against a
 * rule file, and pre-builds a pool of wire v1 datagrams of which exactly
 * --match-pct percent match (the rest match no rule). Then it sends the pool
 * round robin to the router, as fast as it can or paced, for a duration or a
 * count, by one of two methods:
 *
 *   sendmmsg  a UDP socket, batches of 64 (userspace/lib/producer.c);
 *   live      BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES on the sender
 *             veth (bpf/loadgen.bpf.c): complete frames, XDP_TX out of the
 *             veth, so the peer gets them in its driver as from a NIC.
 *
 * One RESULT line on stdout: what was sent (and how many matching), seconds,
 * this process's CPU time and every CPU's busy share over the send window.
 */
#define _GNU_SOURCE
#include "loadcommon.h"
#include "producer.h"
#include "ruleset.h"
#include "strbuf.h"
#include "vethstats.h"
#include "wire.h"
#include "bpfbus/loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loadgen.skel.h"

#define POOL_DEFAULT 1000
/*
 * Each BPF_PROG_TEST_RUN call costs about 20 ms of set-up and teardown (two
 * updates of the kernel's XDP dispatcher, each waiting for an RCU grace
 * period, and a page pool), in which no frame goes out and after which a
 * paced run does not catch up: with 0.25 s calls a paced sender kept only
 * about 92% of its offered rate. Aim at calls this long.
 */
#define LIVE_CALL_S 1.0
#define LIVE_FIRST_CALL 65536
#define SRC_PORT 40000

struct opts {
	const char *to, *bus, *rules, *events, *method, *iface, *dst_mac;
	double match_pct, duration, rate;
	uint64_t count;
	unsigned int pool;
	int cpu;
};

struct dgram {
	uint8_t *buf; /* the UDP payload */
	size_t len;
	bool match;
};

struct pool {
	struct dgram *d; /* the round robin: entries of cls[] */
	unsigned int n;
	uint64_t avg_len;
	struct dgram *cls[2]; /* every usable event: [0] matches no rule, [1] matches */
	size_t ncls[2];
};

static void usage(void)
{
	fprintf(stderr,
		"Usage: loadgen --to HOST[:PORT] --rules FILE --events FILE [--bus NAME]\n"
		"               [--match-pct P] [--pool N] [--method sendmmsg|live]\n"
		"               [--iface IF --dst-mac MAC] [--duration S | --count N]\n"
		"               [--rate N] [--cpu C]\n"
		"\n"
		"Sends a pool of N (default %d) wire v1 datagrams built from the events,\n"
		"P%% (default 10) of them matching the rules, round robin. 'live' injects\n"
		"complete frames on IF (the sender veth; the peer's MAC is MAC) with\n"
		"BPF_PROG_TEST_RUN live frames. Prints one RESULT line.\n",
		POOL_DEFAULT);
	exit(2);
}

/* Events file -> datagrams, split into matching and non-matching. */
static void build_pool(const struct opts *o, struct pool *p)
{
	struct bb_ruleset *rs = lc_load_rules(o->rules);
	struct bb_match_ctx *mc = bb_match_ctx_new(rs);
	struct dgram **cls = p->cls;
	size_t *ncls = p->ncls, len, skipped = 0;
	char *text = read_whole_file(o->events, &len);
	uint8_t buf[BPFBUS_WIRE_MAX_PAYLOAD];

	if (!text)
		lc_die("%s: %s", o->events, strerror(errno));
	for (char *line = text, *next; line < text + len; line = next) {
		char *nl = memchr(line, '\n', (size_t)(text + len - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(text + len - line);
		const uint32_t *ids;

		next = line + n + 1;
		if (!n)
			continue;
		int m = bb_match_event(mc, line, n, &ids, NULL);
		struct bb_wire_msg msg = { .kind = BPFBUS_WIRE_KIND_EVENT,
					   .name = o->bus,
					   .name_len = strlen(o->bus),
					   .body = line,
					   .body_len = n };
		long w = m < 0 ? -1 : bb_wire_encode(&msg, buf, sizeof(buf));

		/* Whole frames must fit the veth's MTU (no fragments). */
		if (w < 0 ||
		    w + sizeof(struct ether_header) + sizeof(struct iphdr) + sizeof(struct udphdr) >
			    LOADGEN_MAX_FRAME) {
			skipped++;
			continue;
		}
		int c = m > 0;

		cls[c] = xrealloc(cls[c], (ncls[c] + 1) * sizeof(*cls[c]));
		cls[c][ncls[c]] =
			(struct dgram){ .buf = xmalloc((size_t)w), .len = (size_t)w, .match = c };
		memcpy(cls[c][ncls[c]++].buf, buf, (size_t)w);
	}
	free(text);
	bb_match_ctx_free(mc);
	bb_ruleset_free(rs);
	if ((o->match_pct > 0 && !ncls[1]) || (o->match_pct < 100 && !ncls[0]))
		lc_die("%s: %zu events match the rules and %zu do not: need both", o->events,
		       ncls[1], ncls[0]);
	if (skipped)
		fprintf(stderr, "loadgen: %zu events skipped (not an object, or over %d bytes)\n",
			skipped, LOADGEN_MAX_FRAME);

	/* Position i matches when floor((i+1)p) > floor(ip): an even spread. */
	size_t next[2] = { 0, 0 };
	uint64_t bytes = 0;

	p->n = o->pool;
	p->d = xcalloc(p->n, sizeof(*p->d));
	for (unsigned int i = 0; i < p->n; i++) {
		int c = (uint64_t)((i + 1) * o->match_pct / 100) >
			(uint64_t)(i * o->match_pct / 100);

		p->d[i] = cls[c][next[c]++ % ncls[c]];
		bytes += p->d[i].len;
	}
	p->avg_len = bytes / p->n;
}

static void free_pool(struct pool *p)
{
	for (int c = 0; c < 2; c++) {
		for (size_t i = 0; i < p->ncls[c]; i++)
			free(p->cls[c][i].buf);
		free(p->cls[c]);
	}
	free(p->d);
}

/* Datagrams among the first @sent of the round robin that match. */
static uint64_t matching_of(const struct pool *p, uint64_t sent)
{
	uint64_t per_round = 0, m = 0;

	for (unsigned int i = 0; i < p->n; i++) {
		per_round += p->d[i].match;
		if (i < sent % p->n)
			m += p->d[i].match;
	}
	return sent / p->n * per_round + m;
}

struct run {
	uint64_t sent, matching;
	double seconds;
	bool have_veth; /* live: the sender veth's counters over the run */
	struct veth_counters veth;
};

/* True while the run should go on; @i datagrams sent so far. */
static bool more(const struct opts *o, uint64_t i, double t0)
{
	if (o->count)
		return i < o->count;
	return lc_now() - t0 < o->duration;
}

static uint64_t want_now(const struct opts *o, uint64_t i, uint64_t chunk)
{
	if (o->count && o->count - i < chunk)
		return o->count - i;
	return chunk;
}

static void run_sendmmsg(const struct opts *o, const struct pool *p, struct run *r)
{
	struct mmsghdr msgs[BB_PRODUCER_BATCH];
	struct iovec iov[BB_PRODUCER_BATCH];
	struct bb_producer prod;
	struct bb_pacer pc;
	char err[256];
	uint64_t i = 0, pos = 0;

	if (bb_producer_open(&prod, o->to, BPFBUS_WIRE_DEFAULT_PORT, err, sizeof(err)))
		lc_die("%s", err);
	bb_pacer_init(&pc, o->rate);
	unsigned int burst = bb_pacer_burst(&pc);
	double t0 = lc_now();

	while (more(o, i, t0)) {
		unsigned int n = (unsigned int)want_now(o, i, burst);

		bb_pacer_wait(&pc, i);
		memset(msgs, 0, sizeof(msgs[0]) * n);
		for (unsigned int k = 0; k < n; k++, pos = (pos + 1) % p->n) {
			iov[k] = (struct iovec){ p->d[pos].buf, p->d[pos].len };
			msgs[k].msg_hdr.msg_iov = &iov[k];
			msgs[k].msg_hdr.msg_iovlen = 1;
		}
		if (bb_producer_send_batch(&prod, msgs, n))
			lc_die("send to %s failed after %" PRIu64 " datagrams: %s", prod.addr_str,
			       prod.sent, strerror(errno));
		i += n;
	}
	r->seconds = lc_now() - t0;
	r->sent = prod.sent;
	r->matching = matching_of(p, r->sent);
	bb_producer_close(&prod);
}

static void parse_mac(const char *s, uint8_t mac[6])
{
	if (sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4],
		   &mac[5]) != 6)
		lc_die("--dst-mac: not a MAC address: '%s'", s);
}

/* The interface's MAC and first IPv4 address. */
static void iface_addrs(const char *ifname, uint8_t mac[6], struct in_addr *ip)
{
	struct ifreq ifr = { 0 };
	struct ifaddrs *ifa, *a;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool found = false;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr))
		lc_die("%s: cannot read the MAC address: %s", ifname, strerror(errno));
	close(fd);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	if (getifaddrs(&ifa))
		lc_die("getifaddrs: %s", strerror(errno));
	for (a = ifa; a && !found; a = a->ifa_next) {
		if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET &&
		    !strcmp(a->ifa_name, ifname)) {
			*ip = ((struct sockaddr_in *)a->ifa_addr)->sin_addr;
			found = true;
		}
	}
	freeifaddrs(ifa);
	if (!found)
		lc_die("%s has no IPv4 address", ifname);
}

static uint16_t ip_checksum(const void *hdr, size_t len)
{
	const uint8_t *b = hdr;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Ethernet + IPv4 + UDP (no checksum, valid over IPv4) around @d. */
static void make_frame(struct loadgen_frame *f, const struct dgram *d, const uint8_t src_mac[6],
		       const uint8_t dst_mac[6], struct in_addr src, const struct sockaddr_in *dst)
{
	struct ether_header eth;
	struct iphdr ip = { 0 };
	struct udphdr udp = { 0 };
	size_t off = 0;

	memcpy(eth.ether_dhost, dst_mac, 6);
	memcpy(eth.ether_shost, src_mac, 6);
	eth.ether_type = htons(ETHERTYPE_IP);
	ip.version = 4;
	ip.ihl = 5;
	ip.tot_len = htons((uint16_t)(sizeof(ip) + sizeof(udp) + d->len));
	ip.frag_off = htons(IP_DF);
	ip.ttl = 64;
	ip.protocol = IPPROTO_UDP;
	ip.saddr = src.s_addr;
	ip.daddr = dst->sin_addr.s_addr;
	ip.check = ip_checksum(&ip, sizeof(ip));
	udp.source = htons(SRC_PORT);
	udp.dest = dst->sin_port;
	udp.len = htons((uint16_t)(sizeof(udp) + d->len));
	memset(f, 0, sizeof(*f));
	memcpy(f->data + off, &eth, sizeof(eth));
	off += sizeof(eth);
	memcpy(f->data + off, &ip, sizeof(ip));
	off += sizeof(ip);
	memcpy(f->data + off, &udp, sizeof(udp));
	off += sizeof(udp);
	memcpy(f->data + off, d->buf, d->len);
	off += d->len;
	f->len = (uint32_t)(off < LOADGEN_MIN_FRAME ? LOADGEN_MIN_FRAME : off);
	f->flags = d->match ? LOADGEN_F_MATCH : 0;
}

static void live_stats(struct loadgen_bpf *skel, struct loadgen_stats *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	struct loadgen_stats *v = xcalloc((size_t)ncpu, sizeof(*v));
	uint32_t zero = 0;

	memset(sum, 0, sizeof(*sum));
	if (bpf_map__lookup_elem(skel->maps.lg_stats, &zero, sizeof(zero), v, sizeof(*v) * ncpu, 0))
		lc_die("reading lg_stats: %s", strerror(errno));
	for (int c = 0; c < ncpu; c++) {
		sum->sent += v[c].sent;
		sum->matching += v[c].matching;
	}
	free(v);
}

static void run_live(const struct opts *o, const struct pool *p, struct run *r)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	uint8_t src_mac[6], dst_mac[6];
	struct in_addr src;
	char err[256];
	unsigned int ifindex;

	if (!o->iface || !o->dst_mac)
		lc_die("--method live needs --iface and --dst-mac");
	ifindex = if_nametoindex(o->iface);
	if (!ifindex)
		lc_die("no interface '%s'", o->iface);
	parse_mac(o->dst_mac, dst_mac);
	iface_addrs(o->iface, src_mac, &src);
	if (bb_parse_hostport(o->to, BPFBUS_WIRE_DEFAULT_PORT, &ss, &sslen, err, sizeof(err)))
		lc_die("%s", err);
	if (ss.ss_family != AF_INET)
		lc_die("--method live sends IPv4 only");

	struct loadgen_bpf *skel = loadgen_bpf__open();

	if (!skel)
		lc_die("cannot open the loadgen BPF object: %s", strerror(errno));
	skel->rodata->n_frames = p->n;
	skel->rodata->gap_ns = o->rate > 0 ? (uint64_t)(1e9 / o->rate) : 0;
	if (loadgen_bpf__load(skel))
		lc_die("cannot load the loadgen BPF program: %s", strerror(errno));

	struct loadgen_frame f;
	uint32_t maxlen = 0;

	for (uint32_t i = 0; i < p->n; i++) {
		make_frame(&f, &p->d[i], src_mac, dst_mac, src, (struct sockaddr_in *)&ss);
		if (f.len > maxlen)
			maxlen = f.len;
		if (bpf_map__update_elem(skel->maps.lg_frames, &i, sizeof(i), &f, sizeof(f), 0))
			lc_die("writing frame %u: %s", i, strerror(errno));
	}
	/* data_in is as long as the longest frame: the program only trims. */
	uint8_t *data = xcalloc(1, maxlen);
	struct xdp_md ctx_in = { .data_end = maxlen, .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, tr, .data_in = data, .data_size_in = maxlen,
		    .ctx_in = &ctx_in, .ctx_size_in = sizeof(ctx_in),
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
	int prog = bpf_program__fd(skel->progs.loadgen_tx);
	uint64_t i = 0, chunk = o->rate > 0 ? (uint64_t)(o->rate * LIVE_CALL_S) : LIVE_FIRST_CALL;
	struct veth_counters v0, v1;

	/* XDP_TX of a live frame cannot fail visibly: a full ring on the peer
	 * only shows in the veth's own counters, so read them around the run. */
	r->have_veth = !veth_counters_read(o->iface, &v0);
	if (!r->have_veth)
		fprintf(stderr,
			"loadgen: %s: no veth counters (%s): frames refused by the peer are not "
			"told apart\n",
			o->iface, strerror(errno));
	double t0 = lc_now();

	/* Paced: the program spaces the frames; flush them in small batches. */
	if (o->rate > 0)
		tr.batch_size = 16;
	while (more(o, i, t0)) {
		double t1 = lc_now(), call = LIVE_CALL_S;

		tr.repeat = (unsigned int)want_now(o, i, chunk ? chunk : 1);
		if (bpf_prog_test_run_opts(prog, &tr))
			lc_die("BPF_PROG_TEST_RUN (live frames) on %s: %s", o->iface,
			       strerror(errno));
		i += tr.repeat;
		/* The next call: as long as LIVE_CALL_S or the time left, at this rate. */
		double now = lc_now();

		if (!o->count && o->duration - (now - t0) < call)
			call = o->duration - (now - t0);
		if (now > t1)
			chunk = (uint64_t)(tr.repeat / (now - t1) * call);
	}
	r->seconds = lc_now() - t0;
	if (r->have_veth) {
		r->have_veth = !veth_counters_read(o->iface, &v1);
		veth_counters_delta(&v0, &v1, &r->veth);
	}

	struct loadgen_stats st;

	live_stats(skel, &st);
	r->sent = st.sent;
	r->matching = st.matching;
	if (st.sent != i)
		fprintf(stderr, "loadgen: %" PRIu64 " frames injected, %" PRIu64 " sent\n", i,
			(uint64_t)st.sent);
	free(data);
	loadgen_bpf__destroy(skel);
}

int main(int argc, char **argv)
{
	struct opts o = { .bus = "bench",
			  .method = "sendmmsg",
			  .match_pct = 10,
			  .duration = 5,
			  .pool = POOL_DEFAULT,
			  .cpu = -1 };
	static const struct option lopts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "bus", required_argument, NULL, 'b' },
		{ "rules", required_argument, NULL, 'r' },
		{ "events", required_argument, NULL, 'e' },
		{ "match-pct", required_argument, NULL, 'm' },
		{ "pool", required_argument, NULL, 'p' },
		{ "method", required_argument, NULL, 'M' },
		{ "iface", required_argument, NULL, 'i' },
		{ "dst-mac", required_argument, NULL, 'd' },
		{ "duration", required_argument, NULL, 'D' },
		{ "count", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'R' },
		{ "cpu", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	lc_set_name("loadgen");
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o.to = optarg;
			break;
		case 'b':
			o.bus = optarg;
			break;
		case 'r':
			o.rules = optarg;
			break;
		case 'e':
			o.events = optarg;
			break;
		case 'm':
			o.match_pct = lc_double("--match-pct", optarg);
			break;
		case 'p':
			o.pool = (unsigned int)lc_u64("--pool", optarg);
			break;
		case 'M':
			o.method = optarg;
			break;
		case 'i':
			o.iface = optarg;
			break;
		case 'd':
			o.dst_mac = optarg;
			break;
		case 'D':
			o.duration = lc_double("--duration", optarg);
			break;
		case 'c':
			o.count = lc_u64("--count", optarg);
			break;
		case 'R':
			o.rate = lc_double("--rate", optarg);
			break;
		case 'C':
			o.cpu = (int)lc_u64("--cpu", optarg);
			break;
		default:
			usage();
		}
	}
	if (optind < argc || !o.to || !o.rules || !o.events)
		usage();
	if (o.match_pct > 100 || !o.pool || o.pool > LOADGEN_MAX_FRAMES)
		lc_die("--match-pct is 0..100 and --pool 1..%d", LOADGEN_MAX_FRAMES);
	bool live = !strcmp(o.method, "live");

	if (!live && strcmp(o.method, "sendmmsg"))
		lc_die("--method is sendmmsg or live, not '%s'", o.method);

	struct pool p = { 0 };
	struct run r = { 0 };
	struct lc_cpustat s0, s1;
	double u0, y0, u1, y1;

	build_pool(&o, &p);
	if (lc_pin_cpu(o.cpu))
		lc_die("cannot pin to CPU %d: %s", o.cpu, strerror(errno));
	lc_rusage(&u0, &y0);
	lc_cpustat_read(&s0);
	if (live)
		run_live(&o, &p, &r);
	else
		run_sendmmsg(&o, &p, &r);
	lc_cpustat_read(&s1);
	lc_rusage(&u1, &y1);

	printf("RESULT method=%s sent=%" PRIu64 " matching=%" PRIu64 " seconds=%.3f rate=%.0f "
	       "avg_len=%" PRIu64 " usr_s=%.3f sys_s=%.3f cpu=%d",
	       o.method, r.sent, r.matching, r.seconds, r.seconds > 0 ? r.sent / r.seconds : 0,
	       p.avg_len, u1 - u0, y1 - y0, o.cpu);
	if (r.have_veth)
		printf(" xdp_xmit=%" PRIu64 " xdp_xmit_err=%" PRIu64, r.veth.xdp_xmit,
		       r.veth.xdp_xmit_err);
	lc_cpustat_print(stdout, &s0, &s1);
	printf("\n");
	free_pool(&p);
	return 0;
}

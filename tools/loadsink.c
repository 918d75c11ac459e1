// SPDX-License-Identifier: BSD-2-Clause
/*
 * loadsink: the receiver of the end-to-end benchmark (tools/bench-e2e), in
 * the router namespace, in one of two modes:
 *
 *   xdp     bpfbus_xdp attached natively to --iface with the rules already in
 *           the pinned tables (`bpfbus rule load`): events no rule wants are
 *           dropped in the driver, matches arrive through AF_XDP or the ring
 *           buffer (userspace/lib/rx.c); VERIFY events are decided here with
 *           the userspace matcher, as the daemon would.
 *   socket  no XDP: a UDP socket, recvmmsg in batches of 64, each datagram's
 *           wire header decoded and its body matched with bb_match_event.
 *
 * It prints "loadsink: ready" on stderr once it receives, runs until SIGINT
 * or SIGTERM, then prints one RESULT line: events handled (XDP: the bus's
 * `received` counter; socket: datagrams read), dropped in the driver, matched
 * events delivered, and its own CPU time from ready to stop.
 */
#define _GNU_SOURCE
#include "datapath.h"
#include "loadcommon.h"
#include "netlink.h"
#include "producer.h"
#include "ruleset.h"
#include "rx.h"
#include "vethstats.h"
#include "wire.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <bpf/bpf.h>

#define BATCH 64
#define DGRAM_MAX 2048 /* frames fit the veth MTU */
#define RCVBUF (4 << 20)

struct opts {
	const char *mode, *iface, *bind, *bus, *rules, *handoff, *gro;
	int cpu;
};

struct sink {
	const struct opts *o;
	struct bb_match_ctx *mc;
	size_t bus_len;
	uint64_t handled, delivered, matched, verify, malformed, other_bus, sock_drops;
	double usr0, sys0, usr1, sys1; /* CPU time at ready and at stop */
	const char *veth; /* the receiving veth: its counters at ready and at stop */
	bool have_veth;
	struct veth_counters veth0, veth_d;
	/* XDP: the program's own run count and run time (BPF_ENABLE_STATS). */
	int prog_fd, stats_fd;
	uint64_t prog_cnt0, prog_ns0, prog_cnt, prog_ns;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr,
		"Usage: loadsink --mode xdp --iface IF --rules FILE [--bus NAME]\n"
		"                [--handoff xsk|ringbuf] [--cpu C]\n"
		"       loadsink --mode socket --bind ADDR[:PORT] --rules FILE [--bus NAME]\n"
		"                [--gro IF] [--cpu C]\n"
		"\n"
		"Receives until SIGINT/SIGTERM and prints one RESULT line. xdp: the rules\n"
		"must be loaded into the pinned tables ($BPFBUS_PIN_DIR) for bus NAME.\n"
		"--gro IF turns GRO on for IF, which makes a veth take frames sent to it\n"
		"with XDP (loadgen --method live) without an XDP program of its own.\n");
	exit(2);
}

/* Userspace's answer for one body: matched by some rule? */
static bool user_match(struct sink *s, const uint8_t *body, size_t len)
{
	const uint32_t *ids;

	return body && bb_match_event(s->mc, (const char *)body, len, &ids, NULL) > 0;
}

static int on_event(const struct bb_rx_event *ev, void *ctx)
{
	struct sink *s = ctx;

	s->delivered++;
	if (ev->verify) {
		s->verify++;
		s->matched += user_match(s, ev->body, ev->body_len);
	} else {
		s->matched += ev->meta->n_rules > 0;
	}
	return 0;
}

static void stats_delta(int fd, uint32_t id, const struct bpfbus_bus_stats *before,
			struct bpfbus_bus_stats *d)
{
	struct bpfbus_bus_stats now;
	const uint64_t *a = (const uint64_t *)before;
	uint64_t *n = (uint64_t *)&now, *out = (uint64_t *)d;

	if (bb_bus_stats_read(fd, id, &now))
		lc_die("reading the bus counters: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(now) / sizeof(uint64_t); i++)
		out[i] = n[i] - a[i];
}

/* The program's cumulative run count and run time, 0 when unknown. */
static void prog_runs(int fd, uint64_t *cnt, uint64_t *ns)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);

	*cnt = *ns = 0;
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len)) {
		*cnt = info.run_cnt;
		*ns = info.run_time_ns;
	}
}

static void ready(struct sink *s)
{
	s->have_veth = s->veth && !veth_counters_read(s->veth, &s->veth0);
	prog_runs(s->prog_fd, &s->prog_cnt0, &s->prog_ns0);
	lc_rusage(&s->usr0, &s->sys0);
	fprintf(stderr, "loadsink: ready\n");
}

/* At stop: what the receiving veth's NAPI took off its ring, and dropped. */
static void veth_done(struct sink *s)
{
	struct veth_counters now;

	if (s->have_veth && !veth_counters_read(s->veth, &now))
		veth_counters_delta(&s->veth0, &now, &s->veth_d);
	else
		s->have_veth = false;
}

static void run_xdp(struct sink *s)
{
	const struct opts *o = s->o;
	struct bb_dp_opts dpo = { .handoff = BPFBUS_HANDOFF_XSK };
	struct bpfbus_bus bus;
	struct bpfbus_bus_stats before, d;
	struct bb_rx_stats rst;
	struct bb_link link;
	struct bb_dp *dp;
	struct bb_rx *rx;
	int err;

	if (!o->iface)
		lc_die("--mode xdp needs --iface");
	if (o->handoff && !strcmp(o->handoff, "ringbuf"))
		dpo.handoff = BPFBUS_HANDOFF_RINGBUF;
	else if (o->handoff && strcmp(o->handoff, "xsk"))
		lc_die("--handoff is xsk or ringbuf");
	if (bb_link_get(o->iface, &link))
		lc_die("no interface '%s'", o->iface);
	if (bb_dp_open(&dp, &dpo) || bb_dp_attach(dp, link.ifindex, false))
		lc_die("cannot attach the datapath to %s", o->iface);
	int stats_fd = bb_dp_map_fd(dp, BPFBUS_MAP_BUS_STATS);

	if (bb_bus_find(bb_dp_map_fd(dp, BPFBUS_MAP_BUSES), o->bus, &bus))
		lc_die("no bus '%s' in %s (bpfbus bus add %s)", o->bus, bb_pin_dir(), o->bus);
	if (!bus.generation)
		fprintf(stderr, "loadsink: bus %s has no rules loaded: all events VERIFY\n",
			o->bus);
	if (dpo.handoff == BPFBUS_HANDOFF_RINGBUF)
		err = bb_rx_open_ringbuf(&rx, bb_dp_map_fd(dp, BPFBUS_MAP_RING));
	else
		err = bb_rx_open_xsk(&rx, link.name, bb_dp_map_fd(dp, BPFBUS_MAP_XSKS),
				     bb_dp_map_fd(dp, BPFBUS_MAP_RING), NULL);
	if (err)
		lc_die("cannot open the receiver on %s: %s", o->iface, strerror(-err));
	if (bb_bus_stats_read(stats_fd, bus.id, &before))
		lc_die("reading the bus counters: %s", strerror(errno));
	/*
	 * The kernel counts each program's runs and run time only while some
	 * BPF_ENABLE_STATS descriptor is open (about two clock reads per run):
	 * this is how the receiver's time per event splits into the program's
	 * own and the rest (veth, NAPI, page pool, hand-off).
	 */
	s->prog_fd = bb_dp_prog_fd(dp);
	s->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (s->stats_fd < 0)
		fprintf(stderr, "loadsink: no program run statistics: %s\n", strerror(errno));
	ready(s);
	while (!stop) {
		err = bb_rx_poll(rx, 200, on_event, s);
		if (err < 0 && err != -EINTR)
			lc_die("receive: %s", strerror(-err));
	}
	/* What is still queued counts as delivered, not lost. */
	while (bb_rx_poll(rx, 0, on_event, s) > 0)
		;
	lc_rusage(&s->usr1, &s->sys1);
	veth_done(s);
	prog_runs(s->prog_fd, &s->prog_cnt, &s->prog_ns);
	s->prog_cnt -= s->prog_cnt0;
	s->prog_ns -= s->prog_ns0;
	if (s->stats_fd >= 0)
		close(s->stats_fd);
	stats_delta(stats_fd, bus.id, &before, &d);
	bb_rx_stats(rx, &rst);
	s->handled = d.received;
	printf("RESULT mode=xdp handoff=%s handled=%" PRIu64 " dropped=%" PRIu64
	       " redirected=%" PRIu64 " passed=%" PRIu64 " kmatched=%" PRIu64 " verify=%" PRIu64
	       " delivered=%" PRIu64 " matched=%" PRIu64 " ring_full=%" PRIu64 " prog_runs=%" PRIu64
	       " prog_ns=%" PRIu64,
	       dpo.handoff == BPFBUS_HANDOFF_RINGBUF ? "ringbuf" : "xsk", (uint64_t)d.received,
	       (uint64_t)d.dropped, (uint64_t)d.redirected, (uint64_t)d.passed, (uint64_t)d.matched,
	       (uint64_t)d.verify, s->delivered, s->matched, rst.rx_ring_full + rst.rx_dropped,
	       s->prog_cnt, s->prog_ns);
	bb_rx_close(rx);
	bb_dp_close(dp);
}

/* Legacy ethtool GRO switch: enough for veth, and no ethtool(8) needed. */
static void enable_gro(const char *ifname)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_SGRO, .data = 1 };
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ev;
	if (fd < 0 || ioctl(fd, SIOCETHTOOL, &ifr))
		lc_die("%s: cannot turn GRO on: %s", ifname, strerror(errno));
	close(fd);
}

static void handle_dgram(struct sink *s, const uint8_t *buf, size_t len)
{
	struct bb_wire_msg m;

	s->handled++;
	if (bb_wire_decode(buf, len, &m, 0) != BPFBUS_WIRE_OK) {
		s->malformed++;
		return;
	}
	if (m.kind != BPFBUS_WIRE_KIND_EVENT || m.name_len != s->bus_len ||
	    memcmp(m.name, s->o->bus, s->bus_len)) {
		s->other_bus++;
		return;
	}
	s->delivered++;
	s->matched += user_match(s, (const uint8_t *)m.body, m.body_len);
}

static void run_socket(struct sink *s)
{
	const struct opts *o = s->o;
	struct sockaddr_storage ss;
	socklen_t sslen;
	char err[256];
	int one = 1, rcvbuf = RCVBUF;
	struct timeval tv = { 0, 200 * 1000 };

	if (!o->bind)
		lc_die("--mode socket needs --bind");
	if (o->gro)
		enable_gro(o->gro);
	if (bb_parse_hostport(o->bind, BPFBUS_WIRE_DEFAULT_PORT, &ss, &sslen, err, sizeof(err)))
		lc_die("%s", err);
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sslen))
		lc_die("bind %s: %s", o->bind, strerror(errno));
	/* FORCE: as root, past net.core.rmem_max; SO_RXQ_OVFL reports drops. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	static uint8_t bufs[BATCH][DGRAM_MAX];
	static char cbufs[BATCH][CMSG_SPACE(sizeof(uint32_t))];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];

	ready(s);
	while (!stop) {
		memset(msgs, 0, sizeof(msgs));
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], DGRAM_MAX };
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_control = cbufs[i];
			msgs[i].msg_hdr.msg_controllen = sizeof(cbufs[i]);
		}
		/* After SIGINT, only what is already queued (never block again). */
		int n = recvmmsg(fd, msgs, BATCH, stop ? MSG_DONTWAIT : MSG_WAITFORONE, NULL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			lc_die("recvmmsg: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++) {
			struct cmsghdr *cm = CMSG_FIRSTHDR(&msgs[i].msg_hdr);

			for (; cm; cm = CMSG_NXTHDR(&msgs[i].msg_hdr, cm)) {
				uint32_t drops;

				if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SO_RXQ_OVFL)
					continue;
				memcpy(&drops, CMSG_DATA(cm), sizeof(drops));
				if (drops > s->sock_drops)
					s->sock_drops = drops;
			}
			handle_dgram(s, bufs[i], msgs[i].msg_len);
		}
	}
	/* Drain what is queued: it was received, not lost. */
	for (;;) {
		int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);

		if (n <= 0)
			break;
		for (int i = 0; i < n; i++)
			handle_dgram(s, bufs[i], msgs[i].msg_len);
	}
	lc_rusage(&s->usr1, &s->sys1);
	veth_done(s);
	/*
	 * The socket's own drop count, exact: SO_RXQ_OVFL only tells the count
	 * as of each datagram read, so drops after the last one went untold.
	 */
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t mlen = sizeof(mi);

	if (!getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &mlen) &&
	    mlen > SK_MEMINFO_DROPS * sizeof(uint32_t))
		s->sock_drops = mi[SK_MEMINFO_DROPS];
	close(fd);
	printf("RESULT mode=socket handled=%" PRIu64 " dropped=0 delivered=%" PRIu64
	       " matched=%" PRIu64 " malformed=%" PRIu64 " other_bus=%" PRIu64
	       " sock_drops=%" PRIu64,
	       s->handled, s->delivered, s->matched, s->malformed, s->other_bus, s->sock_drops);
}

int main(int argc, char **argv)
{
	struct opts o = { .bus = "bench", .cpu = -1 };
	static const struct option lopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "iface", required_argument, NULL, 'i' },
		{ "bind", required_argument, NULL, 'B' },
		{ "bus", required_argument, NULL, 'b' },
		{ "rules", required_argument, NULL, 'r' },
		{ "handoff", required_argument, NULL, 'H' },
		{ "gro", required_argument, NULL, 'g' },
		{ "cpu", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	lc_set_name("loadsink");
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o.mode = optarg;
			break;
		case 'i':
			o.iface = optarg;
			break;
		case 'B':
			o.bind = optarg;
			break;
		case 'b':
			o.bus = optarg;
			break;
		case 'r':
			o.rules = optarg;
			break;
		case 'H':
			o.handoff = optarg;
			break;
		case 'g':
			o.gro = optarg;
			break;
		case 'C':
			o.cpu = (int)lc_u64("--cpu", optarg);
			break;
		default:
			usage();
		}
	}
	if (optind < argc || !o.mode || !o.rules)
		usage();

	struct bb_ruleset *rs = lc_load_rules(o.rules);
	struct sink s = { .o = &o,
			  .mc = bb_match_ctx_new(rs),
			  .bus_len = strlen(o.bus),
			  .prog_fd = -1,
			  .stats_fd = -1 };
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (lc_pin_cpu(o.cpu))
		lc_die("cannot pin to CPU %d: %s", o.cpu, strerror(errno));
	s.veth = o.iface ? o.iface : o.gro;
	if (!strcmp(o.mode, "xdp"))
		run_xdp(&s);
	else if (!strcmp(o.mode, "socket"))
		run_socket(&s);
	else
		lc_die("--mode is xdp or socket, not '%s'", o.mode);
	if (s.have_veth)
		printf(" rx_xdp_packets=%" PRIu64 " rx_drops=%" PRIu64, s.veth_d.xdp_packets,
		       s.veth_d.rx_drops);
	printf(" usr_s=%.3f sys_s=%.3f cpu=%d\n", s.usr1 - s.usr0, s.sys1 - s.sys0, o.cpu);
	bb_match_ctx_free(s.mc);
	bb_ruleset_free(rs);
	return 0;
}

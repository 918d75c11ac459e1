// SPDX-License-Identifier: BSD-2-Clause
/*
 * Intake and delivery. Events come from the XDP datapath (AF_XDP sockets or
 * the ring buffer, through rx.c, with the kernel's match result) and from the
 * slow-path UDP socket (datagrams the XDP program passed, or all of them when
 * no interface is attached). Each is routed to the target queues of the rules
 * it matches -- the kernel's rule ids when it decided, the userspace matcher
 * for VERIFY, truncated and slow-path events -- and stored inside the round's
 * group commit. Nothing is queued in memory: a round takes at most
 * round_budget events straight from the kernel's bounded rings and socket
 * buffers, whose overflows the kernel counts (and we report).
 */
#define _GNU_SOURCE
#include "bpfbusd.h"
#include "datapath.h"
#include "netlink.h"
#include "queue.h"
#include "ruleset.h"
#include "rx.h"
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define UDP_BATCH 64
#define UDP_RCVBUF (4 << 20)

/* One event of a round. */
struct event {
	uint32_t bus_id;
	const struct bbd_routes *kernel_rt; /* the kernel decided with these routes */
	const uint32_t *ids;
	uint32_t n_ids;
	struct bb_wire_msg msg;
	struct sockaddr_storage src; /* the producer (for acks) */
	socklen_t src_len;
};

/* Round state: the group commit is opened by the first delivery. */
struct round {
	struct bbd *d;
	int events;
	bool txn;
	bool doomed;
	uint64_t stored; /* messages put in this round */
};

static int open_txn(struct round *rd)
{
	struct queue_result res;

	if (rd->txn)
		return 0;
	if (queue_txn_begin(rd->d->store, &res)) {
		log_err("cannot begin a store transaction: %s", res.message);
		return -1;
	}
	rd->txn = true;
	return 0;
}

/*
 * What a target refused goes to its dead-letter queue, with EventBridge's
 * message attributes saying why (ERROR_CODE, ERROR_MESSAGE, RULE_ARN,
 * TARGET_ARN). Returns true when it was stored there.
 */
static bool dead_letter(struct round *rd, const struct bbd_route *r, int t,
			const struct queue_send_entry *refused, const struct queue_result *why)
{
	char rule_arn[600], target_arn[300];
	const char *slash = strrchr(r->name, '/');
	size_t bus_len = slash ? (size_t)(slash - r->name) : 0;
	struct queue_send_entry e = *refused;
	struct queue_send_result out;
	struct queue_result res;

	/* arn:aws:events:REGION:ACCOUNT:rule/NAME (rule/BUS/NAME off the default bus),
	 * REGION:ACCOUNT as in the store's queue ARNs (arn:aws:sqs:REGION:ACCOUNT:NAME) */
	queue_arn(rd->d->store, r->queues[t], target_arn, sizeof(target_arn));
	const char *ra = target_arn + strlen("arn:aws:sqs:"), *end = strrchr(target_arn, ':');
	bool dflt = bus_len == strlen(BB_DEFAULT_BUS) && !strncmp(r->name, BB_DEFAULT_BUS, bus_len);

	snprintf(rule_arn, sizeof(rule_arn), "arn:aws:events:%.*s:rule/%s",
		 end > ra ? (int)(end - ra) : 0, ra, dflt && slash ? slash + 1 : r->name);
	const char *code = queue_err_type(why->code);
	struct queue_msg_attr attrs[] = {
		{ "ERROR_CODE", "String", code, strlen(code) },
		{ "ERROR_MESSAGE", "String", why->message, strlen(why->message) },
		{ "RULE_ARN", "String", rule_arn, strlen(rule_arn) },
		{ "TARGET_ARN", "String", target_arn, strlen(target_arn) },
	};

	e.attrs = attrs;
	e.nattrs = 4;
	if (queue_send(rd->d->store, r->dlqs[t], &e, &out, &res) == 0) {
		rd->stored++;
		rd->d->cnt.dead_lettered++;
		return true;
	}
	if (res.code == QE_INTERNAL_ERROR)
		rd->doomed = true;
	log_debug("dead-letter queue %s refused too: %s", r->dlqs[t], res.message);
	return false;
}

/* Returns false when the target refused the message. */
static bool deliver(struct round *rd, const struct bbd_route *r, int t, const struct event *ev)
{
	const char *queue = r->queues[t];
	char group[BPFBUS_WIRE_MAX_GROUP + 1], dedup[BPFBUS_WIRE_MAX_DEDUP + 1];
	const struct bb_wire_msg *m = &ev->msg;
	struct queue_send_entry e = {
		.body = m->body,
		.body_len = m->body_len,
		.delay_seconds = QUEUE_DELAY_UNSET,
	};
	struct queue_send_result out;
	struct queue_result res;

	if (open_txn(rd)) {
		rd->d->cnt.delivery_failed++;
		return false;
	}
	if (m->group_len) {
		snprintf(group, sizeof(group), "%.*s", (int)m->group_len, m->group);
		e.group_id = group;
	}
	if (m->dedup_len) {
		snprintf(dedup, sizeof(dedup), "%.*s", (int)m->dedup_len, m->dedup);
		e.dedup_id = dedup;
	}
	if (queue_send(rd->d->store, queue, &e, &out, &res) == 0) {
		rd->stored++;
		return true;
	}
	if (res.code == QE_INTERNAL_ERROR)
		rd->doomed = true;
	rd->d->cnt.delivery_failed++;
	log_debug("delivery to queue %s failed: %s: %s", queue, queue_err_type(res.code),
		  res.message);
	if (r->dlqs[t] && res.code != QE_INTERNAL_ERROR)
		dead_letter(rd, r, t, &e, &res);
	return false;
}

static bool wants_ack(const struct event *ev)
{
	uint16_t f = BPFBUS_WIRE_F_ACK | BPFBUS_WIRE_F_PRODUCER;

	return (ev->msg.flags & f) == f && ev->src_len;
}

static void ack(struct round *rd, const struct event *ev, enum bpfbus_ack_status status)
{
	if (wants_ack(ev))
		bbd_ack_queue(rd->d, (const struct sockaddr *)&ev->src, ev->src_len,
			      ev->msg.producer_id, ev->msg.seq, status);
}

/* Deliver @ev to every target of every rule of its bus it matches. */
static void route(struct round *rd, const struct event *ev)
{
	struct bbd *d = rd->d;
	const struct bbd_routes *rt = ev->kernel_rt;
	const uint32_t *ids = ev->ids;
	int n = (int)ev->n_ids;

	d->cnt.events++;
	if (wants_ack(ev)) {
		/* the window update commits with the deliveries, in this round */
		bool fifo = ev->msg.flags & BPFBUS_WIRE_F_FIFO;
		int seen =
			open_txn(rd) ? -1 : bbd_ack_seen(d, ev->msg.producer_id, ev->msg.seq, fifo);

		if (seen == 2)
			d->cnt.out_of_order++;
		if (seen < 0 || seen == 2)
			return; /* no ack: the producer retransmits */
		if (seen) {
			d->cnt.duplicates++;
			ack(rd, ev, BPFBUS_ACK_STORED);
			return;
		}
	}
	if (!rt) {
		struct bb_error e;

		rt = bbd_routes_for(d, d->live_gen);
		if (!rt) {
			d->cnt.unmatched++;
			ack(rd, ev, BPFBUS_ACK_STORED);
			return;
		}
		n = bb_match_event(rt->mctx, ev->msg.body, ev->msg.body_len, &ids, &e);
		if (n < 0) {
			d->cnt.malformed++;
			log_debug("bus %u: event is not a JSON object: %s", ev->bus_id, e.msg);
			ack(rd, ev, BPFBUS_ACK_REJECTED);
			return;
		}
		d->cnt.verified++;
	}
	int matched = 0;
	bool failed = false;

	for (int i = 0; i < n; i++) {
		const struct bbd_route *r = ids[i] < rt->c.n_rules ? &rt->r[ids[i]] : NULL;

		if (!r || r->bus_id != ev->bus_id)
			continue;
		matched++;
		for (int t = 0; t < r->n_targets; t++)
			failed |= !deliver(rd, r, t, ev);
	}
	if (!matched)
		d->cnt.unmatched++;
	ack(rd, ev, failed ? BPFBUS_ACK_FAILED : BPFBUS_ACK_STORED);
}

/* ---- the XDP hand-off ------------------------------------------------- */

/* The UDP payload and source of a handed-off frame (Ethernet, VLANs, IPv4 or IPv6). */
static int frame_payload(const uint8_t *f, uint32_t len, const uint8_t **p, uint32_t *plen,
			 struct event *ev)
{
	uint32_t off = 14, l4;
	uint16_t proto;

	if (len < off)
		return -1;
	proto = (uint16_t)(f[12] << 8 | f[13]);
	while ((proto == 0x8100 || proto == 0x88a8) && len >= off + 4) {
		proto = (uint16_t)(f[off + 2] << 8 | f[off + 3]);
		off += 4;
	}
	if (proto == 0x0800 && len >= off + 20 && f[off + 9] == IPPROTO_UDP)
		l4 = off + (uint32_t)(f[off] & 0xf) * 4;
	else if (proto == 0x86dd && len >= off + 40 && f[off + 6] == IPPROTO_UDP)
		l4 = off + 40;
	else
		return -1;
	if (len < l4 + 8)
		return -1;
	uint32_t ulen = (uint32_t)(f[l4 + 4] << 8 | f[l4 + 5]);

	if (ulen < 8 || l4 + ulen > len)
		return -1;
	*p = f + l4 + 8;
	*plen = ulen - 8;
	if (proto == 0x0800) {
		struct sockaddr_in *s4 = (void *)&ev->src;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, f + off + 12, 4);
		memcpy(&s4->sin_port, f + l4, 2);
		ev->src_len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (void *)&ev->src;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, f + off + 8, 16);
		memcpy(&s6->sin6_port, f + l4, 2);
		ev->src_len = sizeof(*s6);
	}
	return 0;
}

static int on_xdp(const struct bb_rx_event *rxe, void *ctx)
{
	struct round *rd = ctx;
	struct event ev = { .bus_id = rxe->meta->bus_id };
	const uint8_t *p;
	uint32_t plen;

	rd->events++;
	rd->d->cnt.xdp_events++;
	if (frame_payload(rxe->frame, rxe->frame_len, &p, &plen, &ev) ||
	    bb_wire_decode(p, plen, &ev.msg, 0) != BPFBUS_WIRE_OK) {
		rd->d->cnt.events++;
		rd->d->cnt.malformed++;
		return 0;
	}
	if (!rxe->verify && !rxe->truncated) {
		ev.kernel_rt = bbd_routes_for(rd->d, rxe->meta->generation);
		ev.ids = rxe->rule_ids;
		ev.n_ids = rxe->n_ids;
	}
	route(rd, &ev);
	return rd->events >= rd->d->round_budget;
}

/* ---- the slow path ------------------------------------------------------ */

static void on_datagram(struct round *rd, const uint8_t *buf, size_t len,
			const struct sockaddr_storage *src, socklen_t src_len)
{
	struct bbd *d = rd->d;
	struct event ev = { .src = *src, .src_len = src_len };
	char name[BPFBUS_WIRE_MAX_NAME + 1];
	struct bpfbus_bus kb;

	rd->events++;
	d->cnt.udp_events++;
	if (bb_wire_decode(buf, len, &ev.msg, BB_WIRE_CHECK_JSON) != BPFBUS_WIRE_OK) {
		d->cnt.events++;
		d->cnt.malformed++;
		return;
	}
	snprintf(name, sizeof(name), "%.*s", (int)ev.msg.name_len, ev.msg.name);
	if (bb_bus_find(d->busfd, name, &kb) || kb.kind != ev.msg.kind ||
	    kb.kind != BPFBUS_BUS_EVENT) {
		d->cnt.events++;
		d->cnt.unknown_bus++;
		if (wants_ack(&ev))
			ack(rd, &ev, BPFBUS_ACK_REJECTED);
		return;
	}
	ev.bus_id = kb.id;
	route(rd, &ev);
}

static void drain_udp(struct round *rd, int fd)
{
	static uint8_t bufs[UDP_BATCH][BPFBUS_WIRE_MAX_PAYLOAD + 1];
	static char cbufs[UDP_BATCH][CMSG_SPACE(sizeof(uint32_t))];
	static struct sockaddr_storage srcs[UDP_BATCH];
	struct mmsghdr mm[UDP_BATCH];
	struct iovec iov[UDP_BATCH];

	if (fd < 0)
		return;
	while (rd->events < rd->d->round_budget) {
		for (int i = 0; i < UDP_BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
			mm[i].msg_hdr = (struct msghdr){ .msg_name = &srcs[i],
							 .msg_namelen = sizeof(srcs[i]),
							 .msg_iov = &iov[i],
							 .msg_iovlen = 1,
							 .msg_control = cbufs[i],
							 .msg_controllen = sizeof(cbufs[i]) };
		}
		int n = recvmmsg(fd, mm, UDP_BATCH, MSG_DONTWAIT, NULL);

		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			struct cmsghdr *c = CMSG_FIRSTHDR(&mm[i].msg_hdr);

			/* SO_RXQ_OVFL: datagrams the socket dropped so far, in total */
			if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
				uint32_t drops;

				memcpy(&drops, CMSG_DATA(c), sizeof(drops));
				rd->d->cnt.udp_dropped = drops;
			}
			if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) {
				rd->events++;
				rd->d->cnt.events++;
				rd->d->cnt.malformed++;
				continue;
			}
			on_datagram(rd, bufs[i], mm[i].msg_len, &srcs[i],
				    mm[i].msg_hdr.msg_namelen);
		}
		if (n < UDP_BATCH)
			return;
	}
}

static int udp_open(struct bbd *d, int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1,
	    rcv = UDP_RCVBUF;
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;

	if (fd < 0)
		return -errno;
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (void *)&ss;

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(d->port);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(d->port);
		sl = sizeof(*s4);
	}
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (bind(fd, (struct sockaddr *)&ss, sl)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* ---- lifecycle ------------------------------------------------------------ */

static int iface_open(struct bbd *d, struct bbd_iface *ifc)
{
	struct bb_dp_opts o = { .pin_dir = d->pin_dir, .port = d->port, .handoff = d->handoff };
	struct bb_link link;
	int fds[BPFBUS_MAX_QUEUES], n, err;

	err = bb_link_get(ifc->name, &link);
	if (err) {
		log_err("no interface '%s': %s", ifc->name, strerror(-err));
		return -1;
	}
	ifc->ifindex = link.ifindex;
	err = bb_dp_open(&ifc->dp, &o);
	if (!err)
		err = bb_dp_attach(ifc->dp, link.ifindex, ifc->generic);
	if (err) {
		log_err("cannot attach to %s: %s", ifc->name, strerror(-err));
		return -1;
	}
	if (d->handoff == BPFBUS_HANDOFF_RINGBUF)
		err = bb_rx_open_ringbuf(&ifc->rx, bb_dp_map_fd(ifc->dp, BPFBUS_MAP_RING));
	else
		err = bb_rx_open_xsk(&ifc->rx, link.name, bb_dp_map_fd(ifc->dp, BPFBUS_MAP_XSKS),
				     bb_dp_map_fd(ifc->dp, BPFBUS_MAP_RING), NULL);
	if (err) {
		log_err("cannot open the %s receiver on %s: %s",
			d->handoff == BPFBUS_HANDOFF_RINGBUF ? "ring-buffer" : "AF_XDP", ifc->name,
			strerror(-err));
		return -1;
	}
	n = bb_rx_fds(ifc->rx, fds, BPFBUS_MAX_QUEUES);
	for (int i = 0; i < n; i++)
		if (bbd_epoll_add(d, fds[i], EPOLLIN, BBD_EP_INTAKE))
			return -1;
	log_info("attached to %s (%s, %s%s)", ifc->name, ifc->generic ? "generic" : "native",
		 d->handoff == BPFBUS_HANDOFF_RINGBUF ? "ring buffer" : "AF_XDP",
		 bb_dp_legacy(ifc->dp) ? ", without the dispatcher" : "");
	return 0;
}

int bbd_intake_open(struct bbd *d)
{
	if (d->handoff == BPFBUS_HANDOFF_XSK && d->n_ifaces > 1) {
		/* the XSKMAP is pinned, one per pin directory, keyed by RX queue */
		log_err("AF_XDP serves one interface per pin directory: use --handoff ringbuf "
			"with several interfaces");
		return -1;
	}
	for (int i = 0; i < d->n_ifaces; i++)
		if (iface_open(d, &d->ifaces[i]))
			return -1;
	d->udp_fd = udp_open(d, AF_INET);
	if (d->udp_fd < 0) {
		log_err("cannot bind the slow-path UDP socket to port %u: %s", d->port,
			strerror(-d->udp_fd));
		return -1;
	}
	d->udp6_fd = udp_open(d, AF_INET6);
	if (d->udp6_fd < 0)
		log_warn("no IPv6 slow-path socket on port %u: %s", d->port, strerror(-d->udp6_fd));
	if (bbd_epoll_add(d, d->udp_fd, EPOLLIN, BBD_EP_INTAKE) ||
	    (d->udp6_fd >= 0 && bbd_epoll_add(d, d->udp6_fd, EPOLLIN, BBD_EP_INTAKE)))
		return -1;
	log_info("slow path on UDP port %u", d->port);
	return 0;
}

int bbd_intake_round(struct bbd *d)
{
	struct round rd = { .d = d };
	struct queue_result res;

	for (int i = 0; i < d->n_ifaces && rd.events < d->round_budget; i++) {
		if (!d->ifaces[i].rx)
			continue;
		int r = bb_rx_poll(d->ifaces[i].rx, 0, on_xdp, &rd);

		if (r < 0 && r != -EINTR)
			log_warn("receive on %s: %s", d->ifaces[i].name, strerror(-r));
	}
	drain_udp(&rd, d->udp_fd);
	drain_udp(&rd, d->udp6_fd);
	if (rd.txn) {
		if (!rd.doomed && bbd_acks_persist(d))
			rd.doomed = true;
		if (rd.doomed || queue_txn_commit(d->store, &res)) {
			if (rd.doomed)
				queue_txn_abort(d->store);
			log_err("group commit failed: %llu messages of this round lost: %s",
				(unsigned long long)rd.stored,
				rd.doomed ? "a store error inside the round" : res.message);
			d->cnt.lost_commit += rd.stored;
			bbd_acks_flush(d, false);
		} else {
			d->cnt.delivered += rd.stored;
			bbd_acks_flush(d, true);
		}
	} else {
		bbd_acks_flush(d, true); /* acks of events that touched no queue */
	}
	if (rd.events)
		d->cnt.rounds++;
	if (rd.stored)
		bbd_control_wake(d, NULL);
	return rd.events;
}

void bbd_intake_close(struct bbd *d)
{
	for (int i = 0; i < d->n_ifaces; i++) {
		struct bbd_iface *ifc = &d->ifaces[i];

		bb_rx_close(ifc->rx);
		ifc->rx = NULL;
		if (ifc->dp) {
			if (bb_dp_detach(ifc->dp))
				log_warn("detaching from %s failed", ifc->name);
			else
				log_info("detached from %s", ifc->name);
			bb_dp_close(ifc->dp);
			ifc->dp = NULL;
		}
	}
	if (d->udp_fd >= 0)
		close(d->udp_fd);
	if (d->udp6_fd >= 0)
		close(d->udp6_fd);
	d->udp_fd = d->udp6_fd = -1;
}

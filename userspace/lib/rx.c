// SPDX-License-Identifier: BSD-2-Clause
/* AF_XDP and ring-buffer receive of the datapath's hand-off. See rx.h. */
#define _GNU_SOURCE
#include "rx.h"
#include "rx_ids.h"
#include "netlink.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/ethtool.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#ifndef SOL_XDP
#define SOL_XDP 283
#endif

#define FRAME_SIZE XSK_UMEM__DEFAULT_FRAME_SIZE
#define BATCH 64

struct xsk_q {
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fq;
	struct xsk_ring_cons cq;
	struct xsk_ring_cons rx;
	void *area;
	size_t area_len;
	uint32_t qid;
};

struct bb_rx {
	enum bpfbus_handoff mode;
	/* AF_XDP */
	struct xsk_q *q;
	uint32_t n_q;
	struct ring_buffer *ids_rb; /* ids records (BPFBUS_META_F_IDS_RECORD) */
	struct rx_ids *ids;
	/* ring buffer */
	struct ring_buffer *rb;
	bb_rx_fn fn;
	void *ctx;
	bool stop;
	int delivered;
	struct bb_rx_stats st;
};

static void fill_event(struct bb_rx_event *ev, const struct bpfbus_meta *m, const uint8_t *frame,
		       uint32_t frame_len)
{
	memset(ev, 0, sizeof(*ev));
	ev->meta = m;
	ev->frame = frame;
	ev->frame_len = frame_len;
	ev->verify = m->flags & BPFBUS_META_F_VERIFY;
	ev->verify_why = ev->verify ? m->rule_ids[0] : 0; /* datapath.h: the reasons' place */
	if ((uint32_t)m->body_off + m->body_len <= frame_len) {
		ev->body = frame + m->body_off;
		ev->body_len = m->body_len;
	}
}

static bool meta_ok(const struct bpfbus_meta *m)
{
	return m->magic == BPFBUS_META_MAGIC && m->version == BPFBUS_META_VERSION;
}

/* The ids record's handle (BPFBUS_META_F_IDS_RECORD, _IDS_ONLY). */
static uint64_t ids_handle(const struct bpfbus_meta *m)
{
	return m->rule_ids[1] | (uint64_t)m->rule_ids[2] << 32;
}

/* ---- AF_XDP ---------------------------------------------------------- */

static void xsk_q_close(struct xsk_q *q)
{
	if (q->xsk)
		xsk_socket__delete(q->xsk);
	if (q->umem)
		xsk_umem__delete(q->umem);
	if (q->area && q->area != MAP_FAILED)
		munmap(q->area, q->area_len);
	memset(q, 0, sizeof(*q));
}

static int xsk_q_open(struct xsk_q *q, const char *ifname, uint32_t qid, uint32_t frames,
		      bool zerocopy)
{
	struct xsk_umem_config ucfg = {
		.fill_size = frames,
		.comp_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
		.frame_size = FRAME_SIZE,
		.frame_headroom = 0,
		.flags = 0,
	};
	struct xsk_socket_config scfg = {
		/* as many RX descriptors as frames: every frame of the UMEM can wait in
		 * the RX ring while the daemon is inside a commit's fsync */
		.rx_size = frames,
		.tx_size = 0,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.xdp_flags = 0,
		.bind_flags = (zerocopy ? XDP_ZEROCOPY : XDP_COPY) | XDP_USE_NEED_WAKEUP,
	};
	__u32 idx;
	int err;

	q->qid = qid;
	q->area_len = (size_t)frames * FRAME_SIZE;
	q->area =
		mmap(NULL, q->area_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q->area == MAP_FAILED)
		return -errno;
	err = xsk_umem__create(&q->umem, q->area, q->area_len, &q->fq, &q->cq, &ucfg);
	if (err)
		return err;
	err = xsk_socket__create(&q->xsk, ifname, qid, q->umem, &q->rx, NULL, &scfg);
	if (err)
		return err;
	/* Every frame goes to the fill ring; frames are recycled as they are read. */
	if (xsk_ring_prod__reserve(&q->fq, frames, &idx) != frames)
		return -ENOMEM;
	for (uint32_t i = 0; i < frames; i++)
		*xsk_ring_prod__fill_addr(&q->fq, idx + i) = (uint64_t)i * FRAME_SIZE;
	xsk_ring_prod__submit(&q->fq, frames);
	return 0;
}

/*
 * RX queues in use: ethtool channels (rx + combined) when the driver reports
 * them (veth does: its real queue count), else the netlink count.
 */
static int rx_queue_count(const char *ifname, uint32_t *n)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr = { 0 };
	struct bb_link link;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	if (fd >= 0 && !ioctl(fd, SIOCETHTOOL, &ifr) && ch.rx_count + ch.combined_count > 0) {
		close(fd);
		*n = ch.rx_count + ch.combined_count;
		return 0;
	}
	if (fd >= 0)
		close(fd);
	err = bb_link_get(ifname, &link);
	if (!err)
		*n = link.rx_queues;
	return err;
}

/* An ids record from the ring buffer: keep its ids for their frame. */
static int on_ids_record(void *ctx, void *data, size_t len)
{
	struct bb_rx *rx = ctx;
	const struct bpfbus_rb_record *r = data;

	if (len < sizeof(*r) || !meta_ok(&r->meta) || !(r->meta.flags & BPFBUS_META_F_IDS_ONLY) ||
	    r->n_ids > BPFBUS_MATCH_MAX_RULES || 4 * (size_t)r->n_ids > len - sizeof(*r)) {
		rx->st.bad_meta++;
		return 0;
	}
	rx_ids_put(rx->ids, ids_handle(&r->meta), (const uint32_t *)(r + 1), r->n_ids);
	return 0;
}

int bb_rx_open_xsk(struct bb_rx **out, const char *ifname, int xsks_fd, int ring_fd,
		   const struct bb_xsk_opts *o)
{
	struct bb_rx *rx = calloc(1, sizeof(*rx));
	uint32_t frames = o && o->frames ? o->frames : BB_XSK_FRAMES_DEFAULT, n = o ? o->queues : 0;
	int err;

	if (!rx)
		return -ENOMEM;
	if (frames < BB_XSK_FRAMES_MIN || frames > BB_XSK_FRAMES_MAX || (frames & (frames - 1))) {
		free(rx);
		return -EINVAL;
	}
	rx->mode = BPFBUS_HANDOFF_XSK;
	if (ring_fd >= 0) {
		rx->ids = rx_ids_new();
		rx->ids_rb = rx->ids ? ring_buffer__new(ring_fd, on_ids_record, rx, NULL) : NULL;
		if (!rx->ids_rb) {
			err = rx->ids ? -errno : -ENOMEM;
			goto fail;
		}
	}
	if (!n) {
		err = rx_queue_count(ifname, &n);
		if (err)
			goto fail;
	}
	if (n > BPFBUS_MAX_QUEUES)
		n = BPFBUS_MAX_QUEUES;
	rx->q = calloc(n, sizeof(*rx->q));
	if (!rx->q) {
		err = -ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < n; i++) {
		rx->n_q = i + 1;
		err = xsk_q_open(&rx->q[i], ifname, i, frames, o && o->zerocopy);
		if (!err)
			err = xsk_socket__update_xskmap(rx->q[i].xsk, xsks_fd);
		if (err) {
			fprintf(stderr, "bpfbus: AF_XDP socket on %s queue %u: %s\n", ifname, i,
				strerror(err < 0 ? -err : err));
			goto fail;
		}
	}
	*out = rx;
	return 0;
fail:
	bb_rx_close(rx);
	return err < 0 ? err : -err;
}

static int xsk_q_drain(struct bb_rx *rx, struct xsk_q *q)
{
	__u32 idx_rx = 0, idx_fq = 0, n, i;

	n = xsk_ring_cons__peek(&q->rx, BATCH, &idx_rx);
	if (!n) {
		if (xsk_ring_prod__needs_wakeup(&q->fq))
			recvfrom(xsk_socket__fd(q->xsk), NULL, 0, MSG_DONTWAIT, NULL, NULL);
		return 0;
	}
	/* after the peek: the kernel wrote each frame's ids record before it
	 * redirected the frame, so every record these frames need is in */
	if (rx->ids_rb)
		ring_buffer__consume(rx->ids_rb);
	for (i = 0; i < n && !rx->stop; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&q->rx, idx_rx + i);
		__u64 addr = xsk_umem__add_offset_to_addr(d->addr);
		__u64 base = addr & ~(__u64)(FRAME_SIZE - 1);
		uint8_t *pkt = xsk_umem__get_data(q->area, addr);
		const struct bpfbus_meta *m = (const void *)(pkt - sizeof(*m));

		if (addr - base >= sizeof(*m) && meta_ok(m)) {
			struct bb_rx_event ev;
			uint32_t listed =
				m->n_rules < BPFBUS_META_RULES ? m->n_rules : BPFBUS_META_RULES;

			fill_event(&ev, m, pkt, d->len);
			ev.rule_ids = m->rule_ids;
			ev.n_ids = listed;
			if (m->flags & BPFBUS_META_F_IDS_RECORD) {
				/* rule_ids[1..2] are the handle: only [0] is an id */
				const uint32_t *ids = NULL;
				uint32_t k = 0;

				if (rx->ids)
					ids = rx_ids_take(rx->ids, ids_handle(m), &k);
				ev.rule_ids = ids ? ids : m->rule_ids;
				ev.n_ids = ids ? k : listed > 1 ? 1 : listed;
			}
			ev.truncated = m->n_rules > ev.n_ids;
			ev.queue = q->qid;
			rx->st.delivered++;
			rx->delivered++;
			if (rx->fn(&ev, rx->ctx))
				rx->stop = true;
		} else {
			rx->st.bad_meta++;
		}
		/* recycle the frame */
		while (xsk_ring_prod__reserve(&q->fq, 1, &idx_fq) != 1)
			;
		*xsk_ring_prod__fill_addr(&q->fq, idx_fq) = base;
		xsk_ring_prod__submit(&q->fq, 1);
	}
	xsk_ring_cons__release(&q->rx, i);
	return (int)i;
}

/* ---- ring buffer ----------------------------------------------------- */

static int on_record(void *ctx, void *data, size_t len)
{
	struct bb_rx *rx = ctx;
	const struct bpfbus_rb_record *r = data;
	struct bb_rx_event ev;

	if (rx->stop)
		return -ECANCELED; /* leave the rest for the next poll */
	if (len < sizeof(*r) || !meta_ok(&r->meta) || r->n_ids > BPFBUS_MATCH_MAX_RULES ||
	    (size_t)r->frame_len + 4 * r->n_ids > len - sizeof(*r)) {
		rx->st.bad_meta++;
		return 0;
	}
	const uint32_t *ids = (const uint32_t *)(r + 1);

	fill_event(&ev, &r->meta, (const uint8_t *)(ids + r->n_ids), r->frame_len);
	ev.rule_ids = ids;
	ev.n_ids = r->n_ids;
	ev.truncated = r->meta.n_rules > ev.n_ids;
	rx->st.delivered++;
	rx->delivered++;
	if (rx->fn(&ev, rx->ctx)) {
		rx->stop = true;
		return -ECANCELED; /* this record is consumed */
	}
	return 0;
}

int bb_rx_open_ringbuf(struct bb_rx **out, int ring_fd)
{
	struct bb_rx *rx = calloc(1, sizeof(*rx));

	if (!rx)
		return -ENOMEM;
	rx->mode = BPFBUS_HANDOFF_RINGBUF;
	rx->rb = ring_buffer__new(ring_fd, on_record, rx, NULL);
	if (!rx->rb) {
		int err = -errno;

		free(rx);
		return err ? err : -EINVAL;
	}
	*out = rx;
	return 0;
}

/* ---- common ---------------------------------------------------------- */

int bb_rx_poll(struct bb_rx *rx, int timeout_ms, bb_rx_fn fn, void *ctx)
{
	int err;

	rx->fn = fn;
	rx->ctx = ctx;
	rx->stop = false;
	rx->delivered = 0;
	if (rx->mode == BPFBUS_HANDOFF_RINGBUF) {
		err = ring_buffer__poll(rx->rb, timeout_ms);
		if (err == -ECANCELED || err >= 0)
			return rx->delivered;
		return err;
	}

	struct pollfd pfd[BPFBUS_MAX_QUEUES];

	/* Anything already in the rings first, without sleeping. */
	for (uint32_t i = 0; i < rx->n_q && !rx->stop; i++)
		xsk_q_drain(rx, &rx->q[i]);
	if (rx->delivered || rx->stop)
		return rx->delivered;
	for (uint32_t i = 0; i < rx->n_q; i++) {
		pfd[i].fd = xsk_socket__fd(rx->q[i].xsk);
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	err = poll(pfd, rx->n_q, timeout_ms);
	if (err < 0)
		return -errno;
	for (uint32_t i = 0; i < rx->n_q && !rx->stop; i++)
		while (!rx->stop && xsk_q_drain(rx, &rx->q[i]) > 0)
			;
	return rx->delivered;
}

int bb_rx_fds(struct bb_rx *rx, int *fds, int max)
{
	int n = 0;

	if (rx->mode == BPFBUS_HANDOFF_RINGBUF) {
		if (max > 0)
			fds[n++] = ring_buffer__epoll_fd(rx->rb);
		return n;
	}
	for (uint32_t i = 0; i < rx->n_q && n < max; i++)
		fds[n++] = xsk_socket__fd(rx->q[i].xsk);
	return n;
}

int bb_rx_stats(struct bb_rx *rx, struct bb_rx_stats *st)
{
	*st = rx->st;
	for (uint32_t i = 0; i < rx->n_q; i++) {
		struct xdp_statistics xs;
		socklen_t len = sizeof(xs);

		if (!rx->q[i].xsk ||
		    getsockopt(xsk_socket__fd(rx->q[i].xsk), SOL_XDP, XDP_STATISTICS, &xs, &len))
			continue;
		st->rx_dropped += xs.rx_dropped;
		st->rx_ring_full += xs.rx_ring_full;
		st->fill_ring_empty += xs.rx_fill_ring_empty_descs;
	}
	return 0;
}

void bb_rx_close(struct bb_rx *rx)
{
	if (!rx)
		return;
	for (uint32_t i = 0; i < rx->n_q; i++)
		xsk_q_close(&rx->q[i]);
	free(rx->q);
	if (rx->rb)
		ring_buffer__free(rx->rb);
	if (rx->ids_rb)
		ring_buffer__free(rx->ids_rb);
	rx_ids_free(rx->ids);
	free(rx);
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * Acknowledged ingest (docs/daemon.md): datagrams with F_ACK and F_PRODUCER
 * are deduplicated by (producer id, sequence number) and answered with an ack
 * datagram once the round that stored them has committed.
 *
 * Each producer has a window of BBD_ACK_WINDOW sequence numbers: a bitmap of
 * those seen from @base on; anything below @base was seen. The producer
 * library keeps at most BBD_ACK_WINDOW / 2 datagrams unacknowledged, so when
 * a sequence number past the window moves it forward (to end half a window
 * beyond that number), every number it leaves behind was acknowledged, hence
 * seen. FIFO datagrams (a group id) are taken only in order: one whose
 * predecessors (from sequence number 1 on) were not all seen is dropped
 * unanswered, and the producer's retransmissions (oldest first) bring them
 * in order. Windows are written into the round's
 * group commit (queue_app_put), so after a crash a retransmission is a
 * duplicate exactly when its first copy was committed. A small cache keeps
 * the windows of recent producers; a failed commit empties it.
 */
#include "bpfbusd.h"
#include "queue.h"
#include "strbuf.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define CACHE_SLOTS 1024 /* power of 2 */
#define WORDS (BBD_ACK_WINDOW / 64)
/* the record: base, contig, last_ms, bits */
#define RECORD_LEN (3 * sizeof(uint64_t) + WORDS * sizeof(uint64_t))
#define RECORD_STAMP_OFF (2 * sizeof(uint64_t))

struct bbd_prod {
	uint64_t id; /* 0: empty slot */
	/* the record (persisted as is): */
	uint64_t base;
	uint64_t contig; /* every number below it was seen (>= base) */
	int64_t last_ms; /* last seen (CLOCK_REALTIME): idle windows expire */
	uint64_t bits[WORDS];
	bool dirty; /* changed in this round */
};

struct bbd_pending_ack {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	uint64_t producer, seq;
	uint8_t status;
};

struct bbd_acks {
	struct bbd_prod cache[CACHE_SLOTS];
	struct bbd_pending_ack *pending;
	int n_pending, cap;
};

int bbd_acks_init(struct bbd *d)
{
	d->acks = xcalloc(1, sizeof(*d->acks));
	d->acks->cap = d->round_budget + 256; /* a UDP batch may end past the budget */
	d->acks->pending = xcalloc((size_t)d->acks->cap, sizeof(*d->acks->pending));
	return 0;
}

void bbd_acks_free(struct bbd *d)
{
	if (!d->acks)
		return;
	free(d->acks->pending);
	free(d->acks);
	d->acks = NULL;
}

static void prod_key(uint64_t id, uint8_t key[13])
{
	uint64_t be = htobe64(id);

	memcpy(key, "prod/", 5);
	memcpy(key + 5, &be, 8);
}

static int store_prod(struct bbd *d, struct bbd_prod *p)
{
	struct queue_result res;
	uint8_t key[13];

	prod_key(p->id, key);
	if (queue_app_put(d->store, key, sizeof(key), &p->base, RECORD_LEN, &res)) {
		log_err("cannot record producer %llx: %s", (unsigned long long)p->id, res.message);
		return -1;
	}
	p->dirty = false;
	return 0;
}

/* The cache slot of @id, loaded from the store when it is not cached. */
static struct bbd_prod *get_prod(struct bbd *d, uint64_t id)
{
	struct bbd_prod *p =
		&d->acks->cache[(id * 0x9e3779b97f4a7c15ULL) >> 54 & (CACHE_SLOTS - 1)];
	struct queue_result res;
	uint8_t key[13];
	size_t len = 0;

	if (p->id == id)
		return p;
	if (p->id && p->dirty && store_prod(d, p))
		return NULL;
	memset(p, 0, sizeof(*p));
	prod_key(id, key);
	int r = queue_app_get(d->store, key, sizeof(key), &p->base, RECORD_LEN, &len, &res);

	if (r < 0) {
		log_err("cannot read producer %llx: %s", (unsigned long long)id, res.message);
		return NULL;
	}
	if (r == 1 && len != RECORD_LEN) {
		log_warn("producer %llx: damaged window record, starting afresh",
			 (unsigned long long)id);
		memset(p, 0, sizeof(*p));
	}
	if (r == 0 || p->contig < p->base) /* a new producer starts at 1 */
		p->contig = p->base ? p->base : 1;
	p->id = id;
	return p;
}

static bool bit(const struct bbd_prod *p, uint64_t seq)
{
	uint64_t i = seq - p->base;

	return i < BBD_ACK_WINDOW && (p->bits[i / 64] >> (i % 64) & 1);
}

static int64_t realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int bbd_ack_seen(struct bbd *d, uint64_t producer, uint64_t seq, bool in_order)
{
	struct bbd_prod *p = get_prod(d, producer);
	int64_t now = realtime_ms();

	if (!p)
		return -1;
	if (now - p->last_ms >= 1000) { /* keeps an active producer from expiring */
		p->last_ms = now;
		p->dirty = true;
	}
	if (seq < p->base || bit(p, seq))
		return 1;
	if (in_order && seq != p->contig)
		return 2;
	if (seq - p->base >= BBD_ACK_WINDOW) {
		/* slide: everything left behind was acknowledged (see above) */
		uint64_t shift = seq - p->base - BBD_ACK_WINDOW / 2;

		if (shift >= BBD_ACK_WINDOW) {
			memset(p->bits, 0, sizeof(p->bits));
		} else {
			for (uint64_t i = 0; i < BBD_ACK_WINDOW; i++) {
				uint64_t from = i + shift;
				bool set = from < BBD_ACK_WINDOW &&
					   (p->bits[from / 64] >> (from % 64) & 1);

				if (set)
					p->bits[i / 64] |= 1ULL << (i % 64);
				else
					p->bits[i / 64] &= ~(1ULL << (i % 64));
			}
		}
		p->base += shift;
		if (p->contig < p->base)
			p->contig = p->base;
	}
	uint64_t i = seq - p->base;

	p->bits[i / 64] |= 1ULL << (i % 64);
	while (bit(p, p->contig))
		p->contig++;
	p->dirty = true;
	return 0;
}

int bbd_acks_persist(struct bbd *d)
{
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (d->acks->cache[i].dirty && store_prod(d, &d->acks->cache[i]))
			return -1;
	return 0;
}

long bbd_acks_expire(struct bbd *d, int64_t idle_ms)
{
	int64_t before = realtime_ms() - idle_ms;
	struct queue_result res;
	long n = queue_app_expire(d->store, "prod/", 5, RECORD_STAMP_OFF, before, &res);

	if (n < 0) {
		log_warn("expiring idle producers: %s", res.message);
		return -1;
	}
	for (int i = 0; i < CACHE_SLOTS; i++) {
		struct bbd_prod *p = &d->acks->cache[i];

		if (p->id && !p->dirty && p->last_ms < before)
			memset(p, 0, sizeof(*p));
	}
	if (n)
		log_info("%ld producers idle for %lld s forgotten", n, (long long)idle_ms / 1000);
	return n;
}

void bbd_ack_queue(struct bbd *d, const struct sockaddr *addr, socklen_t len, uint64_t producer,
		   uint64_t seq, enum bpfbus_ack_status status)
{
	struct bbd_acks *a = d->acks;

	if (a->n_pending == a->cap || len > sizeof(a->pending[0].addr))
		return; /* cannot happen: one per event of a round */
	struct bbd_pending_ack *p = &a->pending[a->n_pending++];

	memcpy(&p->addr, addr, len);
	p->addr_len = len;
	p->producer = producer;
	p->seq = seq;
	p->status = (uint8_t)status;
}

void bbd_acks_flush(struct bbd *d, bool committed)
{
	struct bbd_acks *a = d->acks;

	if (!committed) {
		/* the windows in the cache may hold what the store does not */
		memset(a->cache, 0, sizeof(a->cache));
		a->n_pending = 0;
		return;
	}
	for (int i = 0; i < a->n_pending; i++) {
		struct bbd_pending_ack *p = &a->pending[i];
		struct bpfbus_wire_ack ack = {
			.magic = htonl(BPFBUS_ACK_MAGIC),
			.version = BPFBUS_ACK_VERSION,
			.status = p->status,
			.producer_id = htobe64(p->producer),
			.seq = htobe64(p->seq),
		};
		int fd = p->addr.ss_family == AF_INET6 ? d->udp6_fd : d->udp_fd;

		if (fd >= 0 && sendto(fd, &ack, sizeof(ack), MSG_DONTWAIT,
				      (struct sockaddr *)&p->addr, p->addr_len) == sizeof(ack))
			d->cnt.acks_sent++;
		else
			log_debug("ack to producer %llx: %s", (unsigned long long)p->producer,
				  strerror(errno));
	}
	a->n_pending = 0;
}

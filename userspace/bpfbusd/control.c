// SPDX-License-Identifier: BSD-2-Clause
/*
 * The control socket: a Unix stream socket (mode 0600, peers must have the
 * daemon's uid) carrying length-prefixed JSON frames (ctl.h). Requests of one
 * client are answered in order. A request that has to wait (a long-poll
 * receive) parks its client: the client's further requests wait behind it,
 * everyone else -- and the intake -- goes on. Parked requests are retried
 * after deliveries and on the timer, and answered at their deadline.
 *
 * Queue requests (op "sqs") that arrive together -- from every client whose
 * socket was readable in one turn of the loop -- share one group commit:
 * each is answered only once the commit that holds it returned, so several
 * clients pay for one fsync instead of one each (docs/daemon.md, "Group
 * commit of control requests").
 */
#define _GNU_SOURCE
#include "bpfbusd.h"
#include "ctl.h"
#include "json.h"
#include "queue.h"
#include "strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct bbd_client {
	int fd;
	struct strbuf in, out;
	size_t out_off;
	bool want_out; /* EPOLLOUT registered */
	/* a parked request */
	struct json_doc *parked;
	int64_t park_until_ms;
	bool in_batch; /* has answers held for the batch's commit, or a flush due */
	bool gone; /* hung up: freed once the batch is over */
	struct bbd_client *next;
};

/* An answer held until the group commit of its batch returned. */
struct held {
	struct bbd_client *c;
	struct strbuf resp;
	bool ok; /* a success, which the commit must make true */
	struct held *next;
};

/* The batch of the loop's current turn (one daemon, one loop: file scope). */
static struct {
	bool open; /* a group transaction holds the batch's queue requests */
	struct held *head, **tail;
} batch = { .tail = &batch.head };

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int bbd_control_open(struct bbd *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)];
	int fd;

	if (strlen(d->control_path) >= sizeof(sa.sun_path)) {
		log_err("control socket path too long: %s", d->control_path);
		return -1;
	}
	strcpy(sa.sun_path, d->control_path);
	snprintf(dir, sizeof(dir), "%s", d->control_path);
	char *slash = strrchr(dir, '/');

	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0755) && errno != EEXIST) {
			log_err("cannot create %s: %s", dir, strerror(errno));
			return -1;
		}
	}
	/* a socket left by a daemon that died is replaced; a live one is not */
	int probe = bb_ctl_connect(d->control_path);

	if (probe >= 0) {
		close(probe);
		log_err("another bpfbusd serves %s", d->control_path);
		return -1;
	}
	unlink(d->control_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));

	umask(old);
	if (r || chmod(d->control_path, 0600) || listen(fd, 64)) {
		log_err("cannot listen on %s: %s", d->control_path, strerror(errno));
		close(fd);
		return -1;
	}
	d->listen_fd = fd;
	return bbd_epoll_add(d, fd, EPOLLIN, BBD_EP_LISTEN);
}

static void client_free(struct bbd *d, struct bbd_client *c)
{
	for (struct bbd_client **p = &d->clients; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	json_doc_free(c->parked);
	sb_free(&c->in);
	sb_free(&c->out);
	free(c);
}

void bbd_control_accept(struct bbd *d)
{
	for (;;) {
		int fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		struct ucred cr;
		socklen_t cl = sizeof(cr);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) || cr.uid != geteuid()) {
			log_warn("control: refused a client with uid %d", (int)cr.uid);
			close(fd);
			continue;
		}
		struct bbd_client *c = xcalloc(1, sizeof(*c));

		c->fd = fd;
		c->next = d->clients;
		d->clients = c;
		if (bbd_epoll_add(d, fd, EPOLLIN, (uint64_t)(uintptr_t)c))
			client_free(d, c);
	}
}

/* Write what is buffered; 0, or -1 when the client is gone. */
static int flush_out(struct bbd *d, struct bbd_client *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.buf + c->out_off, c->out.len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return -1;
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out.len) {
		sb_reset(&c->out);
		c->out_off = 0;
	}
	bool want = c->out.len > 0;

	if (want != c->want_out) {
		struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0),
					  .data.u64 = (uint64_t)(uintptr_t)c };

		epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->fd, &ev);
		c->want_out = want;
	}
	return 0;
}

static void queue_frame(struct bbd_client *c, const struct strbuf *resp)
{
	uint8_t hdr[4] = { resp->len >> 24, resp->len >> 16, resp->len >> 8, resp->len };

	sb_add(&c->out, hdr, sizeof(hdr));
	sb_add(&c->out, resp->buf, resp->len);
}

/* Queue requests may share the batch's group commit; other ops run alone. */
static bool groupable(struct json_doc *doc)
{
	const struct json_value *root = json_doc_error(doc) ? NULL : json_doc_root(doc), *op;

	if (!root || root->type != JSON_OBJECT)
		return false;
	op = json_get(root, "op");
	return op && op->type == JSON_STRING && !strcmp(op->u.str.s, "sqs");
}

/*
 * Commit the batch's group and give every held answer to its client: as it
 * is when the commit returned, InternalError for the successes when not.
 * With @release, flush the batch's clients and free those that hung up
 * (never while a client's own input is being served).
 */
static void batch_commit(struct bbd *d, bool release)
{
	struct queue_result res = { .code = QE_OK };
	bool committed = true;

	if (batch.open) {
		batch.open = false;
		d->cnt.control_commits++;
		committed = !queue_txn_commit(d->store, &res);
		if (!committed)
			log_err("control: group commit failed: %s", res.message);
	}
	for (struct held *h = batch.head, *next; h; h = next) {
		next = h->next;
		if (h->ok && !committed) {
			sb_reset(&h->resp);
			sb_adds(&h->resp,
				"{\"ok\":false,\"error\":\"InternalError\",\"status\":500,"
				"\"sender\":false,\"message\":");
			json_write_string(&h->resp, res.message, strlen(res.message));
			sb_addc(&h->resp, '}');
		}
		queue_frame(h->c, &h->resp);
		sb_free(&h->resp);
		free(h);
	}
	batch.head = NULL;
	batch.tail = &batch.head;
	if (!release)
		return;
	for (struct bbd_client *c = d->clients, *next; c; c = next) {
		next = c->next;
		if (!c->in_batch)
			continue;
		c->in_batch = false;
		if (flush_out(d, c) || (c->gone && !c->out.len))
			client_free(d, c);
	}
}

void bbd_control_batch_end(struct bbd *d)
{
	batch_commit(d, true);
}

/* Hold @resp for the batch's commit, or send it now when no group holds it. */
static void answer(struct bbd *d, struct bbd_client *c, struct strbuf *resp)
{
	if (!batch.open) {
		queue_frame(c, resp);
		sb_free(resp);
		return;
	}
	struct held *h = xcalloc(1, sizeof(*h));

	h->c = c;
	h->resp = *resp;
	h->ok = resp->len > 10 && !memcmp(resp->buf, "{\"ok\":true", 10);
	d->cnt.control_grouped++;
	*batch.tail = h;
	batch.tail = &h->next;
	*resp = (struct strbuf)STRBUF_INIT;
}
/*
 * Run one request; parks it when it has to wait. With @final, the parked
 * request's deadline passed and it must be answered now. With @batched (a
 * readable client in the loop's turn), a queue request joins the batch's
 * group commit, and any other request first commits what the batch holds.
 */
static void run_request(struct bbd *d, struct bbd_client *c, struct json_doc *doc, bool final,
			bool batched)
{
	struct strbuf resp = STRBUF_INIT;
	int64_t until = final ? 0 : (c->parked ? c->park_until_ms : -1);
	int r;

	if (batched && groupable(doc) && !batch.open) {
		struct queue_result res;

		batch.open = !queue_txn_begin(d->store, &res);
		if (!batch.open)
			log_warn("control: no group transaction (%s): requests commit alone",
				 res.message);
	} else if (batched && !groupable(doc)) {
		batch_commit(d, false);
	}

	if (json_doc_error(doc) || json_doc_root(doc)->type != JSON_OBJECT) {
		sb_adds(&resp, "{\"ok\":false,\"error\":\"InvalidRequest\",\"message\":");
		const char *msg =
			json_doc_error(doc) ? json_doc_error(doc) : "a request is one JSON object";

		json_write_string(&resp, msg, strlen(msg));
		sb_addc(&resp, '}');
		r = 0;
	} else {
		r = bbd_ops_dispatch(d, json_doc_root(doc), &resp, final ? NULL : &until);
	}
	if (r == 1) {
		/* wait: keep the request (until is absolute, monotonic ms) */
		c->parked = doc;
		c->park_until_ms = until;
		sb_free(&resp);
		return;
	}
	if (c->parked == doc)
		c->parked = NULL;
	json_doc_free(doc);
	answer(d, c, &resp);
}

/* Answer every whole frame in the input buffer, until one parks. */
static void serve_input(struct bbd *d, struct bbd_client *c, bool batched)
{
	size_t off = 0;

	while (!c->parked) {
		long n = bb_ctl_frame((const uint8_t *)c->in.buf + off, c->in.len - off);

		if (n == 0)
			break;
		if (n < 0) {
			log_warn("control: a frame over %u bytes; closing the connection",
				 BB_CTL_MAX_FRAME);
			c->in.len = off = 0;
			shutdown(c->fd, SHUT_RD);
			break;
		}
		struct json_doc *doc = json_parse(c->in.buf + off + 4, (size_t)n, true);

		off += 4 + (size_t)n;
		run_request(d, c, doc, false, batched);
	}
	if (off) {
		memmove(c->in.buf, c->in.buf + off, c->in.len - off);
		c->in.len -= off;
	}
}

void bbd_control_event(struct bbd *d, struct bbd_client *c, uint32_t events)
{
	bool gone = events & (EPOLLERR | EPOLLHUP);

	if (events & EPOLLIN) {
		char buf[65536];

		for (;;) {
			ssize_t n = read(c->fd, buf, sizeof(buf));

			if (n > 0) {
				sb_add(&c->in, buf, (size_t)n);
				if (c->in.len > BB_CTL_MAX_FRAME + 4)
					break; /* serve what is there first */
				continue;
			}
			if (n == 0 || (errno != EAGAIN && errno != EINTR))
				gone = true;
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		serve_input(d, c, true);
	}
	/* flushed (or freed) when the batch's commit returned */
	c->in_batch = true;
	c->gone |= gone;
}

void bbd_control_wake(struct bbd *d, const char *queue)
{
	int64_t now = now_ms();

	(void)queue; /* every parked request is retried: they are few and cheap */
	for (struct bbd_client *c = d->clients, *next; c; c = next) {
		next = c->next;
		if (!c->parked)
			continue;
		run_request(d, c, c->parked, now >= c->park_until_ms, false);
		if (!c->parked)
			serve_input(d, c, false);
		if (flush_out(d, c))
			client_free(d, c);
	}
}

void bbd_control_close(struct bbd *d)
{
	batch_commit(d, false);
	while (d->clients)
		client_free(d, d->clients);
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		unlink(d->control_path);
		d->listen_fd = -1;
	}
}

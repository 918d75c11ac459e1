// SPDX-License-Identifier: BSD-2-Clause
/*
 * `bpfbus send`: encode events as wire v1 datagrams (docs/wire.md) and send
 * them over UDP to a router, from arguments, a file of JSON lines or stdin,
 * repeated up to a count and paced at a rate.
 */
#define _GNU_SOURCE
#include "json.h"
#include "main.h"
#include "producer.h"
#include "producer_ack.h"
#include "strbuf.h"
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

/* Bad input lines reported before giving up the listing. */
#define MAX_REPORTED 20

struct input {
	const char *text;
	size_t len;
	char where[64]; /* "argument 3", "events.jsonl:12", "stdin:4" */
};

struct send_opts {
	const char *to;
	const char *name;
	int kind; /* 0: not given */
	const char *group, *dedup, *attrs;
	uint64_t producer_id, seq;
	bool have_seq;
	double ack_timeout; /* > 0: acknowledged sending, giving up after this long */
	double rate;
	uint64_t count;
	bool have_count;
	struct input *in;
	size_t n_in, cap_in;
	char **files; /* buffers read from files, freed at the end */
	size_t n_files;
};

static int send_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr,
		"Usage: bpfbus send [to HOST[:PORT]] [bus NAME | topic NAME] [kind { event | sns "
		"}]\n"
		"                   [group ID] [dedup ID] [producer ID [seq N]] [attributes JSON]\n"
		"                   { event JSON... | file FILE | - }... [rate N] [count N]\n"
		"                   [ack SECONDS]\n"
		"       bpfbus send help\n"
		"\n"
		"Sends each event as one bpfbus wire v1 UDP datagram (docs/wire.md).\n"
		"HOST:PORT defaults to 127.0.0.1:%u; IPv6 as [ADDR]:PORT. 'bus' sends\n"
		"EventBridge events (default bus \"default\"), 'topic' SNS messages.\n"
		"FILE ('-': stdin) holds one event per line; blank lines are skipped.\n"
		"'count' repeats the events cyclically up to N datagrams; 'rate' paces\n"
		"at N datagrams per second. 'group' marks the message FIFO. 'ack' asks\n"
		"the router to acknowledge each event once stored, retransmits until it\n"
		"does (a random producer id unless given) and fails after SECONDS\n"
		"without an ack.\n",
		BPFBUS_WIRE_DEFAULT_PORT);
	return EXIT_OK;
}

static void add_input(struct send_opts *o, const char *text, size_t len, const char *fmt,
		      const char *src, size_t n)
{
	if (o->n_in == o->cap_in) {
		o->cap_in = o->cap_in ? 2 * o->cap_in : 16;
		o->in = xrealloc(o->in, o->cap_in * sizeof(*o->in));
	}
	struct input *in = &o->in[o->n_in++];

	in->text = text;
	in->len = len;
	snprintf(in->where, sizeof(in->where), fmt, src, n);
}

/* Split a file's text into one input per non-blank line. */
static void add_lines(struct send_opts *o, char *text, size_t len, const char *src)
{
	char *p = text, *end = text + len;

	for (size_t lineno = 1; p < end; lineno++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (n && p[n - 1] == '\r')
			n--;
		size_t blank = 0;

		while (blank < n && strchr(" \t\r", p[blank]))
			blank++;
		if (blank < n)
			add_input(o, p, n, "%s:%zu", src, lineno);
		p += (nl ? (size_t)(nl - p) : n) + 1;
	}
}

static int read_source(struct send_opts *o, const char *path)
{
	size_t len;
	char *text = read_file(path, &len);

	if (!text)
		return -1;
	o->files = xrealloc(o->files, (o->n_files + 1) * sizeof(*o->files));
	o->files[o->n_files++] = text;
	add_lines(o, text, len, strcmp(path, "-") ? path : "stdin");
	return 0;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return !errno && !*end;
}

static bool is_keyword(const char *s)
{
	static const char *const kw[] = { "to",	   "bus",      "topic", "kind",	      "group",
					  "dedup", "producer", "seq",	"attributes", "event",
					  "file",  "-",	       "rate",	"count",      "ack",
					  NULL };

	for (int i = 0; kw[i]; i++)
		if (!strcmp(s, kw[i]))
			return true;
	return false;
}

#define NEXT_ARG()                                                \
	({                                                        \
		if (argc < 2) {                                   \
			p_err("'%s' needs an argument", argv[0]); \
			return -1;                                \
		}                                                 \
		argc--;                                           \
		argv++;                                           \
		argv[0];                                          \
	})

static int parse_args(struct send_opts *o, int argc, char **argv)
{
	bool have_bus = false, have_topic = false;

	for (; argc > 0; argc--, argv++) {
		const char *kw = argv[0];

		if (!strcmp(kw, "to")) {
			o->to = NEXT_ARG();
		} else if (!strcmp(kw, "bus") || !strcmp(kw, "topic")) {
			if (have_bus || have_topic) {
				p_err("give one of 'bus' or 'topic', once");
				return -1;
			}
			*(kw[0] == 'b' ? &have_bus : &have_topic) = true;
			o->name = NEXT_ARG();
		} else if (!strcmp(kw, "kind")) {
			const char *k = NEXT_ARG();

			if (!strcmp(k, "event"))
				o->kind = BPFBUS_WIRE_KIND_EVENT;
			else if (!strcmp(k, "sns"))
				o->kind = BPFBUS_WIRE_KIND_SNS;
			else {
				p_err("kind must be 'event' or 'sns', not '%s'", k);
				return -1;
			}
		} else if (!strcmp(kw, "group")) {
			o->group = NEXT_ARG();
		} else if (!strcmp(kw, "dedup")) {
			o->dedup = NEXT_ARG();
		} else if (!strcmp(kw, "attributes")) {
			o->attrs = NEXT_ARG();
		} else if (!strcmp(kw, "producer")) {
			const char *v = NEXT_ARG();

			if (!parse_u64(v, &o->producer_id) || !o->producer_id) {
				p_err("producer id must be a nonzero 64-bit number, not '%s'", v);
				return -1;
			}
		} else if (!strcmp(kw, "ack")) {
			const char *v = NEXT_ARG();
			char *end;

			o->ack_timeout = strtod(v, &end);
			if (*end || !(o->ack_timeout > 0) || o->ack_timeout > 86400) {
				p_err("ack takes a timeout in seconds (0 < S <= 86400), not '%s'", v);
				return -1;
			}
		} else if (!strcmp(kw, "seq")) {
			const char *v = NEXT_ARG();

			if (!parse_u64(v, &o->seq)) {
				p_err("seq must be a 64-bit number, not '%s'", v);
				return -1;
			}
			o->have_seq = true;
		} else if (!strcmp(kw, "rate")) {
			const char *v = NEXT_ARG();
			char *end;

			o->rate = strtod(v, &end);
			if (*end || end == v || !(o->rate > 0) || o->rate > 1e9) {
				p_err("rate must be a positive number of events per second, "
				      "not '%s'",
				      v);
				return -1;
			}
		} else if (!strcmp(kw, "count")) {
			const char *v = NEXT_ARG();

			if (!parse_u64(v, &o->count) || !o->count) {
				p_err("count must be a positive number, not '%s'", v);
				return -1;
			}
			o->have_count = true;
		} else if (!strcmp(kw, "event")) {
			const char *v = NEXT_ARG();
			size_t n = 1;

			add_input(o, v, strlen(v), "argument %s%zu", "", n);
			/* More events follow as long as arguments are not keywords. */
			while (argc > 1 && !is_keyword(argv[1])) {
				argc--;
				argv++;
				add_input(o, argv[0], strlen(argv[0]), "argument %s%zu", "", ++n);
			}
		} else if (!strcmp(kw, "file")) {
			if (read_source(o, NEXT_ARG()))
				return -1;
		} else if (!strcmp(kw, "-")) {
			if (read_source(o, "-"))
				return -1;
		} else if (!strcmp(kw, "help")) {
			send_help(0, NULL);
			return 1;
		} else {
			p_err("unknown keyword '%s' (see 'bpfbus send help')", kw);
			return -1;
		}
	}

	int implied = have_topic ? BPFBUS_WIRE_KIND_SNS : have_bus ? BPFBUS_WIRE_KIND_EVENT : 0;

	if (o->kind && implied && o->kind != implied) {
		p_err("'%s' contradicts kind %s", have_topic ? "topic" : "bus",
		      o->kind == BPFBUS_WIRE_KIND_SNS ? "sns" : "event");
		return -1;
	}
	if (!o->kind)
		o->kind = implied ? implied : BPFBUS_WIRE_KIND_EVENT;
	if (!o->name) {
		if (o->kind == BPFBUS_WIRE_KIND_SNS) {
			p_err("SNS messages need 'topic NAME'");
			return -1;
		}
		o->name = "default";
	}
	if (o->have_seq && !o->producer_id) {
		p_err("'seq' needs 'producer ID'");
		return -1;
	}
	if (!o->have_seq)
		o->seq = 1;
	if (!o->n_in) {
		p_err("no events: give 'event JSON', 'file FILE' or '-'");
		return -1;
	}
	if (!o->have_count)
		o->count = o->n_in;
	return 0;
}

/* Fill the message fields every datagram shares. */
static void base_msg(const struct send_opts *o, struct bb_wire_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->kind = (uint8_t)o->kind;
	m->name = o->name;
	m->name_len = strlen(o->name);
	if (o->group) {
		m->group = o->group;
		m->group_len = strlen(o->group);
		m->flags |= BPFBUS_WIRE_F_FIFO;
	}
	if (o->dedup) {
		m->dedup = o->dedup;
		m->dedup_len = strlen(o->dedup);
	}
	if (o->attrs) {
		m->attrs = o->attrs;
		m->attrs_len = strlen(o->attrs);
	}
	m->producer_id = o->producer_id;
	m->seq = o->seq;
}

static const char *err_detail(enum bpfbus_wire_err e, const struct bb_wire_msg *m)
{
	static char buf[160];

	switch (e) {
	case BPFBUS_WIRE_ERR_BODY_JSON: {
		struct json_doc *doc = json_parse(m->body, m->body_len, true);
		const char *je = json_doc_error(doc);

		snprintf(buf, sizeof(buf), "not a JSON object%s%s", je ? ": " : "", je ? je : "");
		json_doc_free(doc);
		return buf;
	}
	case BPFBUS_WIRE_ERR_BODY_LEN:
	case BPFBUS_WIRE_ERR_TOO_BIG:
		snprintf(buf, sizeof(buf), "%s (%zu bytes)", bb_wire_strerror(e), m->body_len);
		return buf;
	default:
		return bb_wire_strerror(e);
	}
}

/*
 * Encode every input once. Returns the number of bad inputs (each reported),
 * or -1 when the options shared by all of them are invalid.
 */
static long encode_all(const struct send_opts *o, unsigned char **tpl, size_t *tpl_len)
{
	struct bb_wire_msg m;
	long bad = 0;

	/* Options first, with a body that cannot fail, so errors name the option. */
	base_msg(o, &m);
	m.body = "{}";
	m.body_len = 2;
	long r = bb_wire_encode(&m, NULL, 0);
	enum bpfbus_wire_err e = r < 0 ? (enum bpfbus_wire_err) - r : BPFBUS_WIRE_OK;

	if (e == BPFBUS_WIRE_OK || e == BPFBUS_WIRE_ERR_NOSPACE)
		e = bb_wire_check_json(&m);
	if (e != BPFBUS_WIRE_OK) {
		p_err("%s", bb_wire_strerror(e));
		return -1;
	}

	for (size_t i = 0; i < o->n_in; i++) {
		base_msg(o, &m);
		m.body = o->in[i].text;
		m.body_len = o->in[i].len;
		tpl[i] = NULL;
		e = bb_wire_check_json(&m);
		if (e == BPFBUS_WIRE_OK) {
			size_t len = bb_wire_encoded_len(&m);

			tpl[i] = xmalloc(len > BPFBUS_WIRE_MAX_PAYLOAD ? 1 : len);
			r = bb_wire_encode(&m, tpl[i], len);
			if (r < 0)
				e = (enum bpfbus_wire_err) - r;
			else
				tpl_len[i] = (size_t)r;
		}
		if (e != BPFBUS_WIRE_OK) {
			if (bad < MAX_REPORTED)
				p_err("%s: %s", o->in[i].where, err_detail(e, &m));
			else if (bad == MAX_REPORTED)
				p_err("more bad events not listed");
			bad++;
		}
	}
	return bad;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Send o->count datagrams cycling through the templates. */
static int send_all(const struct send_opts *o, struct bb_producer *p, unsigned char **tpl,
		    const size_t *tpl_len)
{
	static unsigned char hdr[BB_PRODUCER_BATCH][BPFBUS_WIRE_HDR_LEN];
	struct iovec iov[BB_PRODUCER_BATCH][2];
	struct mmsghdr msgs[BB_PRODUCER_BATCH];
	struct bb_pacer pc;
	uint64_t i = 0;

	bb_pacer_init(&pc, o->rate);
	unsigned int burst = bb_pacer_burst(&pc);

	while (i < o->count) {
		unsigned int n = burst;

		if (o->count - i < n)
			n = (unsigned int)(o->count - i);
		bb_pacer_wait(&pc, i);
		uint64_t now = realtime_ns();

		memset(msgs, 0, sizeof(msgs));
		for (unsigned int k = 0; k < n; k++) {
			size_t t = (size_t)((i + k) % o->n_in);

			memcpy(hdr[k], tpl[t], BPFBUS_WIRE_HDR_LEN);
			bb_wire_set_seq(hdr[k], o->producer_id ? o->seq + i + k : 0, now);
			iov[k][0] = (struct iovec){ hdr[k], BPFBUS_WIRE_HDR_LEN };
			iov[k][1] = (struct iovec){ tpl[t] + BPFBUS_WIRE_HDR_LEN,
						    tpl_len[t] - BPFBUS_WIRE_HDR_LEN };
			msgs[k].msg_hdr.msg_iov = iov[k];
			msgs[k].msg_hdr.msg_iovlen = 2;
		}
		if (bb_producer_send_batch(p, msgs, n)) {
			p_err("send to %s: %s (after %llu datagrams)", p->addr_str, strerror(errno),
			      (unsigned long long)p->sent);
			return -1;
		}
		i += n;
	}
	return 0;
}

/* Acknowledged: one datagram at a time through the window, then every ack. */
static int send_acked(const struct send_opts *o, struct bb_producer *p, unsigned char **tpl,
		      const size_t *tpl_len)
{
	struct bb_acked a;
	struct bb_pacer pc;
	int timeout_ms = (int)(o->ack_timeout * 1000), r = 0;

	if (bb_acked_init(&a, p, o->producer_id, o->seq, 256, 200)) {
		p_err("acknowledged sending: %s", strerror(errno));
		return -1;
	}
	bb_pacer_init(&pc, o->rate);
	for (uint64_t i = 0; i < o->count && !r; i++) {
		size_t t = (size_t)(i % o->n_in);

		bb_pacer_wait(&pc, i);
		r = bb_acked_send(&a, tpl[t], tpl_len[t], timeout_ms);
	}
	if (!r)
		r = bb_acked_flush(&a, timeout_ms);
	if (r)
		p_err("send to %s: %s: %llu of %llu events acknowledged", p->addr_str,
		      errno == ETIMEDOUT ? "no acknowledgement" : strerror(errno),
		      (unsigned long long)a.acked, (unsigned long long)o->count);
	fprintf(stderr,
		"bpfbus: producer %llu: %llu acknowledged (%llu rejected, %llu failed), "
		"%llu retransmitted\n",
		(unsigned long long)a.producer_id, (unsigned long long)a.acked,
		(unsigned long long)a.rejected, (unsigned long long)a.failed,
		(unsigned long long)a.retransmits);
	if (!r && (a.rejected || a.failed)) {
		p_err("%llu events were not stored", (unsigned long long)(a.rejected + a.failed));
		r = -1;
	}
	bb_acked_free(&a);
	return r;
}

int do_send(int argc, char **argv)
{
	struct send_opts o = { .to = "127.0.0.1" };
	struct bb_producer p = { .fd = -1 };
	unsigned char **tpl = NULL;
	size_t *tpl_len = NULL;
	int ret = EXIT_INVALID;
	char err[256];

	if (argc > 0 && !strcmp(argv[0], "help"))
		return send_help(argc, argv);
	int r = parse_args(&o, argc, argv);

	if (r) {
		ret = r > 0 ? EXIT_OK : EXIT_INVALID;
		goto out;
	}
	tpl = xcalloc(o.n_in, sizeof(*tpl));
	tpl_len = xcalloc(o.n_in, sizeof(*tpl_len));
	long bad = encode_all(&o, tpl, tpl_len);

	if (bad) {
		if (bad > 0)
			p_err("%ld of %zu events invalid, nothing sent", bad, o.n_in);
		goto out;
	}
	if (bb_producer_open(&p, o.to, BPFBUS_WIRE_DEFAULT_PORT, err, sizeof(err))) {
		p_err("%s", err);
		goto out;
	}

	double t0 = monotonic_s();

	if (o.ack_timeout > 0)
		ret = send_acked(&o, &p, tpl, tpl_len) ? EXIT_FAIL : EXIT_OK;
	else
		ret = send_all(&o, &p, tpl, tpl_len) ? EXIT_FAIL : EXIT_OK;
	double secs = monotonic_s() - t0;

	if (json_output) {
		const char *nl = pretty_output ? "\n" : "", *ind = pretty_output ? "  " : "";
		const char *sp = pretty_output ? " " : "";

		printf("{%s%s\"to\":%s\"%s\",%s%s\"sent\":%s%llu,%s%s\"bytes\":%s%llu,%s"
		       "%s\"seconds\":%s%.6f%s}\n",
		       nl, ind, sp, p.addr_str, nl, ind, sp, (unsigned long long)p.sent, nl, ind,
		       sp, (unsigned long long)p.bytes, nl, ind, sp, secs, nl);
	} else {
		printf("sent %llu datagrams, %llu bytes to %s in %.3f s (%.0f/s)\n",
		       (unsigned long long)p.sent, (unsigned long long)p.bytes, p.addr_str, secs,
		       secs > 0 ? (double)p.sent / secs : 0.0);
	}
out:
	bb_producer_close(&p);
	for (size_t i = 0; tpl && i < o.n_in; i++)
		free(tpl[i]);
	free(tpl);
	free(tpl_len);
	for (size_t i = 0; i < o.n_files; i++)
		free(o.files[i]);
	free(o.files);
	free(o.in);
	return ret;
}

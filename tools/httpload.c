// SPDX-License-Identifier: BSD-2-Clause
/*
 * httpload: requests per second against bpfbusd's HTTP API, one keep-alive
 * connection per thread. With --queue, SQS in the query protocol (as the AWS
 * CLI sends it), three timed phases, each on every thread at once:
 * SendMessage for --seconds, then ReceiveMessage (one message each, long
 * visibility) until the queue is drained or --seconds pass, then
 * DeleteMessage of every handle received. With --put-events BUS, EventBridge
 * PutEvents (AWS JSON 1.1) of --entries entries each for --seconds. With
 * --key and --secret each request is signed with SigV4.
 *
 *   httpload --port P { --queue NAME | --put-events BUS [--entries N] } [--host 127.0.0.1]
 *            [--threads N] [--seconds S] [--body-bytes B] [--key K --secret S --region R]
 *
 * Prints one line:
 *   RESULT threads=N sigv4=0|1 send_rps=.. receive_rps=.. delete_rps=.. sent=.. received=..
 *          deleted=.. errors=..
 *   RESULT mode=putevents threads=N sigv4=0|1 entries=N putevents_rps=.. events_rps=..
 *          requests=.. errors=..
 */
#define _GNU_SOURCE
#include "loadcommon.h"
#include "sigv4.h"
#include "strbuf.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct opts {
	const char *host, *queue, *bus, *key, *secret, *region;
	int port, threads, body_bytes, entries;
	double seconds;
};

/* How a request is sent: the query protocol of SQS, or a JSON protocol. */
struct proto {
	const char *content_type;
	const char *target; /* X-Amz-Target, or NULL */
	const char *service; /* of the SigV4 scope */
};

static const struct proto sqs_query = { "application/x-www-form-urlencoded", NULL, "sqs" };
static const struct proto put_events = { "application/x-amz-json-1.1", "AWSEvents.PutEvents",
					 "events" };

struct worker {
	const struct opts *o;
	pthread_t tid;
	int fd;
	char hostport[64];
	struct strbuf resp;
	char **handles;
	size_t nhandles, cap;
	uint64_t sent, received, deleted, errors;
	double t_send, t_recv, t_del; /* phase durations seen by this thread */
};

static pthread_barrier_t phase;

static int connect_to(const struct opts *o)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o->port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0 || inet_pton(AF_INET, o->host, &sa.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		lc_die("cannot connect to %s:%d: %m", o->host, o->port);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			lc_die("write: %m");
		p += w;
		n -= (size_t)w;
	}
}

/* One request on the worker's connection; the status, the body in w->resp. */
static int request(struct worker *w, const struct proto *p, const char *form)
{
	const struct opts *o = w->o;
	struct strbuf rq = STRBUF_INIT;
	size_t blen = strlen(form), need, head_end;
	char *hdr_end, *cl;
	int status = 0;

	sb_printf(&rq, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n",
		  w->hostport, p->content_type, blen);
	if (p->target)
		sb_printf(&rq, "X-Amz-Target: %s\r\n", p->target);
	if (o->key) {
		char date[17], sig[65];
		time_t now = time(NULL);
		struct tm tm;
		struct sigv4_header h[4];
		size_t nh = 3;

		gmtime_r(&now, &tm);
		strftime(date, sizeof(date), "%Y%m%dT%H%M%SZ", &tm);
		h[0] = (struct sigv4_header){ "Content-Type", p->content_type };
		h[1] = (struct sigv4_header){ "Host", w->hostport };
		h[2] = (struct sigv4_header){ "X-Amz-Date", date };
		if (p->target)
			h[nh++] = (struct sigv4_header){ "X-Amz-Target", p->target };
		const char *signed_headers = p->target ? "content-type;host;x-amz-date;x-amz-target"
						       : "content-type;host;x-amz-date";
		struct sigv4_request sr = { .method = "POST",
					    .path = "/",
					    .query = "",
					    .headers = h,
					    .nheaders = nh,
					    .body = form,
					    .body_len = blen };

		sigv4_sign(&sr, signed_headers, o->secret, date, o->region, p->service, sig);
		sb_printf(&rq,
			  "X-Amz-Date: %s\r\nAuthorization: AWS4-HMAC-SHA256 "
			  "Credential=%s/%.8s/%s/%s/aws4_request, "
			  "SignedHeaders=%s, Signature=%s\r\n",
			  date, o->key, date, o->region, p->service, signed_headers, sig);
	}
	sb_adds(&rq, "\r\n");
	sb_add(&rq, form, blen);
	write_all(w->fd, rq.buf, rq.len);
	sb_free(&rq);

	sb_reset(&w->resp);
	for (;;) {
		char buf[16384];
		ssize_t r;

		sb_addc(&w->resp, '\0');
		w->resp.len--;
		hdr_end = strstr(w->resp.buf, "\r\n\r\n");
		if (hdr_end) {
			head_end = (size_t)(hdr_end - w->resp.buf) + 4;
			cl = strcasestr(w->resp.buf, "\r\nContent-Length:");
			if (!cl || cl > hdr_end)
				lc_die("an answer without Content-Length");
			need = head_end + strtoul(cl + 17, NULL, 10);
			if (w->resp.len >= need)
				break;
		}
		r = read(w->fd, buf, sizeof(buf));
		if (r <= 0)
			lc_die("the server closed the connection");
		sb_add(&w->resp, buf, (size_t)r);
	}
	sscanf(w->resp.buf, "HTTP/1.1 %d", &status);
	if (status != 200)
		w->errors++;
	return status;
}

static void keep_handle(struct worker *w)
{
	const char *p = strstr(w->resp.buf, "<ReceiptHandle>"), *e;

	if (!p)
		return;
	p += 15;
	e = strstr(p, "</ReceiptHandle>");
	if (!e)
		return;
	if (w->nhandles == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 1024;
		w->handles = xrealloc(w->handles, w->cap * sizeof(*w->handles));
	}
	w->handles[w->nhandles++] = xstrndup(p, (size_t)(e - p));
	w->received++;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	struct strbuf form = STRBUF_INIT, body = STRBUF_INIT;
	double t0, end;

	w->fd = connect_to(o);
	snprintf(w->hostport, sizeof(w->hostport), "%s:%d", o->host, o->port);
	for (int i = 0; i < o->body_bytes; i++)
		sb_addc(&body, 'a' + i % 26);

	pthread_barrier_wait(&phase);
	t0 = lc_now();
	end = t0 + o->seconds;
	sb_printf(&form, "Action=SendMessage&Version=2012-11-05&QueueUrl=%s&MessageBody=%s",
		  o->queue, body.buf);
	while (lc_now() < end)
		if (request(w, &sqs_query, form.buf) == 200)
			w->sent++;
	w->t_send = lc_now() - t0;

	pthread_barrier_wait(&phase);
	t0 = lc_now();
	end = t0 + o->seconds;
	sb_reset(&form);
	sb_printf(&form,
		  "Action=ReceiveMessage&Version=2012-11-05&QueueUrl=%s&MaxNumberOfMessages=1&"
		  "VisibilityTimeout=3600&WaitTimeSeconds=0",
		  o->queue);
	while (lc_now() < end) {
		size_t before = w->nhandles;

		if (request(w, &sqs_query, form.buf) != 200)
			continue;
		keep_handle(w);
		if (w->nhandles == before)
			break; /* drained */
	}
	w->t_recv = lc_now() - t0;

	pthread_barrier_wait(&phase);
	t0 = lc_now();
	for (size_t i = 0; i < w->nhandles; i++) {
		sb_reset(&form);
		sb_printf(&form,
			  "Action=DeleteMessage&Version=2012-11-05&QueueUrl=%s&ReceiptHandle=%s",
			  o->queue, w->handles[i]);
		if (request(w, &sqs_query, form.buf) == 200)
			w->deleted++;
		free(w->handles[i]);
	}
	w->t_del = lc_now() - t0;
	free(w->handles);
	sb_free(&form);
	sb_free(&body);
	sb_free(&w->resp);
	close(w->fd);
	return NULL;
}

/* --put-events: PutEvents requests of o->entries entries for --seconds. */
static void *run_put_events(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	struct strbuf req = STRBUF_INIT, detail = STRBUF_INIT;
	double t0, end;

	w->fd = connect_to(o);
	snprintf(w->hostport, sizeof(w->hostport), "%s:%d", o->host, o->port);
	/* a Detail of about --body-bytes: {"pad":"abc..."} */
	sb_adds(&detail, "{\\\"pad\\\":\\\"");
	for (int i = 0; i < o->body_bytes - 11 && i < 65536; i++)
		sb_addc(&detail, 'a' + i % 26);
	sb_adds(&detail, "\\\"}");
	sb_adds(&req, "{\"Entries\":[");
	for (int i = 0; i < o->entries; i++)
		sb_printf(&req,
			  "%s{\"Source\":\"bench\",\"DetailType\":\"Load\",\"EventBusName\":"
			  "\"%s\",\"Detail\":\"%s\"}",
			  i ? "," : "", o->bus, detail.buf);
	sb_adds(&req, "]}");
	pthread_barrier_wait(&phase);
	t0 = lc_now();
	end = t0 + o->seconds;
	while (lc_now() < end) {
		if (request(w, &put_events, req.buf) != 200)
			continue; /* counted by request() */
		if (strstr(w->resp.buf, "\"FailedEntryCount\":0,"))
			w->sent++;
		else
			w->errors++; /* an entry that failed */
	}
	w->t_send = lc_now() - t0;
	sb_free(&req);
	sb_free(&detail);
	sb_free(&w->resp);
	close(w->fd);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: httpload --port P { --queue NAME | --put-events BUS [--entries N] }\n"
		"       [--host 127.0.0.1] [--threads N] [--seconds S] [--body-bytes B]\n"
		"       [--key K --secret S --region R]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "queue", required_argument, NULL, 'q' },
		{ "threads", required_argument, NULL, 't' },
		{ "seconds", required_argument, NULL, 's' },
		{ "body-bytes", required_argument, NULL, 'b' },
		{ "key", required_argument, NULL, 'k' },
		{ "secret", required_argument, NULL, 'S' },
		{ "region", required_argument, NULL, 'r' },
		{ "put-events", required_argument, NULL, 'E' },
		{ "entries", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .host = "127.0.0.1",
			  .region = "us-east-1",
			  .threads = 1,
			  .seconds = 3,
			  .body_bytes = 100,
			  .entries = 1 };
	struct worker *w;
	uint64_t sent = 0, received = 0, deleted = 0, errors = 0;
	double ts = 0, tr = 0, td = 0;
	int c;

	lc_set_name("httpload");
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'h':
			o.host = optarg;
			break;
		case 'p':
			o.port = (int)lc_u64("--port", optarg);
			break;
		case 'q':
			o.queue = optarg;
			break;
		case 't':
			o.threads = (int)lc_u64("--threads", optarg);
			break;
		case 's':
			o.seconds = lc_double("--seconds", optarg);
			break;
		case 'b':
			o.body_bytes = (int)lc_u64("--body-bytes", optarg);
			break;
		case 'k':
			o.key = optarg;
			break;
		case 'S':
			o.secret = optarg;
			break;
		case 'r':
			o.region = optarg;
			break;
		case 'E':
			o.bus = optarg;
			break;
		case 'n':
			o.entries = (int)lc_u64("--entries", optarg);
			break;
		default:
			usage();
		}
	}
	if (!o.port || !o.queue == !o.bus || o.threads < 1 || o.threads > 64 ||
	    !o.key != !o.secret || o.body_bytes < 1 || o.body_bytes > 65536 || o.entries < 1 ||
	    o.entries > 10)
		usage();
	w = xcalloc((size_t)o.threads, sizeof(*w));
	pthread_barrier_init(&phase, NULL, (unsigned)o.threads);
	for (int i = 0; i < o.threads; i++) {
		w[i].o = &o;
		if (pthread_create(&w[i].tid, NULL, o.bus ? run_put_events : run, &w[i]))
			lc_die("pthread_create failed");
	}
	for (int i = 0; i < o.threads; i++) {
		pthread_join(w[i].tid, NULL);
		sent += w[i].sent;
		received += w[i].received;
		deleted += w[i].deleted;
		errors += w[i].errors;
		/* A phase lasts as long as its slowest thread. */
		ts = w[i].t_send > ts ? w[i].t_send : ts;
		tr = w[i].t_recv > tr ? w[i].t_recv : tr;
		td = w[i].t_del > td ? w[i].t_del : td;
	}
	if (o.bus) {
		printf("RESULT mode=putevents threads=%d sigv4=%d entries=%d putevents_rps=%.0f "
		       "events_rps=%.0f requests=%llu errors=%llu\n",
		       o.threads, o.key ? 1 : 0, o.entries, ts > 0 ? sent / ts : 0,
		       ts > 0 ? sent * o.entries / ts : 0, (unsigned long long)sent,
		       (unsigned long long)errors);
		free(w);
		pthread_barrier_destroy(&phase);
		return errors ? 1 : 0;
	}
	printf("RESULT threads=%d sigv4=%d send_rps=%.0f receive_rps=%.0f delete_rps=%.0f "
	       "sent=%llu "
	       "received=%llu deleted=%llu errors=%llu\n",
	       o.threads, o.key ? 1 : 0, ts > 0 ? sent / ts : 0, tr > 0 ? received / tr : 0,
	       td > 0 ? deleted / td : 0, (unsigned long long)sent, (unsigned long long)received,
	       (unsigned long long)deleted, (unsigned long long)errors);
	free(w);
	pthread_barrier_destroy(&phase);
	return errors ? 1 : 0;
}

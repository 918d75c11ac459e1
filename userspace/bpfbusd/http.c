// SPDX-License-Identifier: BSD-2-Clause
/*
 * The AWS-compatible HTTP API in bpfbusd (docs/api.md, docs/daemon.md): the
 * listener of http_api.h on the daemon's queue store. The listener serves
 * requests on its own thread; the daemon's loop holds d->store_lock while it
 * works, and the listener holds the same lock around every store call, so
 * the intake, the control socket and HTTP never touch the store at once.
 *
 * Long polls: a send over HTTP wakes the listener's own waiters and, through
 * an eventfd, the control socket's parked receives; sends over the control
 * socket and deliveries of the intake wake the listener's (bbd_http_wake).
 */
#define _GNU_SOURCE
#include "bpfbusd.h"
#include "eb_api.h"
#include "http_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* --account-id: twelve digits, as AWS account ids are. */
static bool valid_account(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n == 12 && !s[n];
}

/* --region: lowercase letters, digits and '-', as "eu-west-1". */
static bool valid_region(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-");

	return n && n < 32 && !s[n];
}

int bbd_http_option(struct bbd *d, int opt, const char *arg)
{
	switch (opt) {
	case BBD_OPT_HTTP:
		d->http.listen = arg;
		return 0;
	case BBD_OPT_CREDENTIALS:
		d->http.credentials = arg;
		return 0;
	case BBD_OPT_ANONYMOUS:
		d->http.anonymous = true;
		return 0;
	case BBD_OPT_TLS_CERT:
		d->http.tls_cert = arg;
		return 0;
	case BBD_OPT_TLS_KEY:
		d->http.tls_key = arg;
		return 0;
	case BBD_OPT_ACCOUNT_ID:
		if (!valid_account(arg)) {
			fprintf(stderr, "bpfbusd: --account-id is 12 digits, not '%s'\n", arg);
			return -1;
		}
		d->account_id = arg;
		return 0;
	case BBD_OPT_REGION:
		if (!valid_region(arg)) {
			fprintf(stderr,
				"bpfbusd: --region is lowercase letters, digits and '-' (at most "
				"31), not '%s'\n",
				arg);
			return -1;
		}
		d->region = arg;
		return 0;
	case BBD_OPT_HTTP_TIMEOUT: {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || v < 1 || v > 3600) {
			fprintf(stderr, "bpfbusd: --http-timeout is 1 to 3600 seconds, not '%s'\n",
				arg);
			return -1;
		}
		d->http.timeout_s = (unsigned int)v;
		return 0;
	}
	}
	return -1;
}

int bbd_http_check_options(const struct bbd *d)
{
	const struct bbd_http_opts *o = &d->http;
	const char *stray = o->credentials ? "--credentials"
			    : o->anonymous ? "--anonymous"
			    : o->tls_cert  ? "--tls-cert"
			    : o->tls_key   ? "--tls-key"
			    : o->timeout_s ? "--http-timeout"
					   : NULL;

	if (!o->listen && stray) {
		fprintf(stderr, "bpfbusd: %s needs --http ADDR:PORT\n", stray);
		return -1;
	}
	if (o->listen && !o->credentials && !o->anonymous) {
		fprintf(stderr, "bpfbusd: --http needs --credentials FILE (or --anonymous for "
				"local development)\n");
		return -1;
	}
	if (o->credentials && o->anonymous) {
		fprintf(stderr, "bpfbusd: --credentials and --anonymous exclude each other\n");
		return -1;
	}
	return 0;
}

/* "ADDR:PORT" or "[V6ADDR]:PORT" into @addr and @port; -1 when malformed. */
static int split_listen(const char *s, char *addr, size_t cap, int *port)
{
	const char *colon, *start = s;
	size_t n;
	char *end;
	long v;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -1;
		start = s + 1;
		n = (size_t)(close - start);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -1;
		n = (size_t)(colon - s);
	}
	if (!n || n >= cap)
		return -1;
	memcpy(addr, start, n);
	addr[n] = '\0';
	errno = 0;
	v = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || v < 0 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/* On the listener's thread, store lock held: a send over HTTP. */
static void on_http_wake(void *ctx, const char *queue)
{
	struct bbd *d = ctx;
	uint64_t one = 1;

	(void)queue; /* the control socket retries all its parked receives */
	if (write(d->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("http: cannot wake the control socket's long polls: %s", strerror(errno));
}

int bbd_http_start(struct bbd *d)
{
	struct http_api_config cfg = {
		.credentials_file = d->http.credentials,
		.anonymous = d->http.anonymous,
		.tls_cert = d->http.tls_cert,
		.tls_key = d->http.tls_key,
		.timeout_s = d->http.timeout_s,
		.account_id = d->account_id,
		.region = d->region,
		.store = d->store,
		.store_lock = &d->store_lock,
		.on_wake = on_http_wake,
		.metrics = bbd_metrics_render,
		.host_ctx = d,
	};
	char addr[64], err[1200];

	if (!d->http.listen)
		return 0;
	if (split_listen(d->http.listen, addr, sizeof(addr), &cfg.port)) {
		log_err("--http is ADDR:PORT or [IPV6]:PORT, not '%s'", d->http.listen);
		return -1;
	}
	cfg.address = addr;
	d->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->wake_fd < 0) {
		log_err("eventfd: %s", strerror(errno));
		return -1;
	}
	if (bbd_epoll_add(d, d->wake_fd, EPOLLIN, BBD_EP_WAKE))
		return -1;
	d->api = http_api_start(&cfg, err, sizeof(err));
	if (!d->api) {
		log_err("http: %s", err);
		return -1;
	}
	if (bbd_eb_api_register(d)) {
		log_err("http: cannot register the EventBridge API");
		return -1;
	}
	log_info("http: listening on %s%s%s:%d (%s%s)", strchr(addr, ':') ? "[" : "", addr,
		 strchr(addr, ':') ? "]" : "", http_api_port(d->api),
		 d->http.tls_cert ? "https" : "http",
		 d->http.anonymous ? ", ANONYMOUS: requests are not authenticated" : "");
	return 0;
}

int bbd_http_endpoint(const struct bbd *d, char *buf, size_t cap)
{
	char addr[64];
	int port;

	if (!d->api || split_listen(d->http.listen, addr, sizeof(addr), &port))
		return -1;
	snprintf(buf, cap, strchr(addr, ':') ? "%s://[%s]:%d" : "%s://%s:%d",
		 d->http.tls_cert ? "https" : "http", addr, http_api_port(d->api));
	return 0;
}

void bbd_http_stop(struct bbd *d)
{
	if (d->api) {
		http_api_stop(d->api);
		d->api = NULL;
		log_info("http: stopped");
	}
	if (d->wake_fd >= 0) {
		close(d->wake_fd);
		d->wake_fd = -1;
	}
}

void bbd_http_reload(struct bbd *d)
{
	char err[1200];

	if (!d->api || !d->http.credentials)
		return;
	if (http_api_reload_credentials(d->api, d->http.credentials, err, sizeof(err)))
		log_err("reload: %s; keeping the HTTP API's credentials in use", err);
	else
		log_info("reloaded the HTTP API's credentials from %s", d->http.credentials);
}

void bbd_http_wake(struct bbd *d)
{
	if (d->api)
		http_api_notify_all(d->api);
}

void bbd_http_woken(struct bbd *d)
{
	uint64_t n;

	if (read(d->wake_fd, &n, sizeof(n)) == sizeof(n))
		bbd_control_wake(d, NULL);
}

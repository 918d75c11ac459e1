// SPDX-License-Identifier: BSD-2-Clause
/*
 * bpfbusd: the bpfbus daemon (docs/daemon.md). Startup restores the object
 * model and the queue store from the state directory and compiles the rules
 * into the kernel tables before it attaches to any interface or opens the
 * slow-path socket; then one epoll loop serves intake, control clients,
 * signals and the housekeeping timer.
 */
#define _GNU_SOURCE
#include "archive.h"
#include "bpfbusd.h"
#include "ctl.h"
#include "datapath.h"
#include "http_post.h"
#include "pin_lock.h"
#include "queue.h"
#include "rules_dp.h"
#include "rx.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define TICK_MS 100 /* long-poll retries and deadlines */
#define HOUSEKEEPING_TICKS 10 /* sweep and move tasks every second */
#define SHUTDOWN_ROUNDS 1000 /* drain at most this many rounds on SIGTERM */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bpfbusd [OPTIONS]\n"
		"\n"
		"  --state-dir DIR      objects and the queue store (default /var/lib/bpfbus)\n"
		"  --pin-dir DIR        pinned datapath maps (default %s)\n"
		"  --iface IF[:MODE]    attach XDP to IF (repeatable); MODE native or generic\n"
		"  --mode MODE          default attach mode: native (default) or generic\n"
		"  --handoff H          xsk (AF_XDP, default) or ringbuf\n"
		"  --port PORT          UDP port of bpfbus datagrams (default %u)\n"
		"  --control PATH       control socket (default %s)\n"
		"  --log-level L        error, warn, info (default) or debug\n"
		"  --round-budget N     events per group commit, at most (default 8192)\n"
		"  --xsk-frames N       AF_XDP frames (4 KiB) per RX queue, also its RX ring\n"
		"                       size: a power of 2 (default %u)\n"
		"  --http ADDR:PORT     serve the AWS-compatible HTTP API and /metrics\n"
		"                       (\"127.0.0.1:9324\", \"[::1]:9324\"; port 0: any free)\n"
		"  --credentials FILE   SigV4 access keys of the HTTP API (docs/api.md)\n"
		"  --anonymous          no authentication at all: local development only\n"
		"  --tls-cert FILE      PEM certificate: HTTPS (with --tls-key)\n"
		"  --tls-key FILE       PEM private key of --tls-cert\n"
		"  --account-id ID      12-digit account of ARNs and queue URLs\n"
		"                       (default 000000000000)\n"
		"  --region R           region of ARNs and SigV4 scopes (default us-east-1)\n"
		"  --http-timeout S     close idle or stalled HTTP connections after S seconds\n"
		"                       (default 30)\n"
		"  --producer-idle S    forget an acknowledged-ingest producer idle for S\n"
		"                       seconds (default 3600)\n"
		"  --max-inflight N     in-flight messages per queue before receives stop\n"
		"                       (OverLimit; default 120000, as SQS)\n"
		"  --retry-max N        failed target deliveries kept for a retry (default "
		"100000)\n"
		"  --retry-base-ms MS   first retry after MS/2..MS, doubling (default 1000)\n"
		"  --retry-cap-ms MS    longest wait between retries (default 512000)\n"
		"  --sns-retry-unit-ms N  milliseconds per second of an SNS delivery policy's\n"
		"                       delays (default 1000; tests shorten them)\n"
		"  --testing            serve the test.* control requests (docs/daemon.md):\n"
		"                       never in production\n"
		"  --replay-rate N      events per second of each archive replay\n"
		"                       (default 1000)\n"
		"  --discovery-rate N   with XDP: events per second per bus the kernel\n"
		"                       lets through, of those no rule or archive wants,\n"
		"                       for schema discovery (default 100; 0: none)\n"
		"  --http-queue N       http target POSTs waiting for a worker, at most;\n"
		"                       past it a delivery is retried later (default 1024)\n"
		"  --ca-file FILE       PEM CA certificates trusted for https deliveries\n"
		"                       besides the system's\n"
		"  -h, --help\n"
		"\n"
		"Runs in the foreground. SIGTERM/SIGINT: stop, drain, commit, detach, exit.\n"
		"SIGHUP: reload the object model from the state directory and the HTTP\n"
		"API's credentials file.\n",
		bb_pin_dir(), BPFBUS_DEFAULT_PORT, bb_ctl_path(), BBD_XSK_FRAMES_DEFAULT);
}

static int add_iface(struct bbd *d, const char *arg, bool generic_default)
{
	if (d->n_ifaces == BBD_MAX_IFACES) {
		fprintf(stderr, "bpfbusd: at most %d interfaces\n", BBD_MAX_IFACES);
		return -1;
	}
	struct bbd_iface *ifc = &d->ifaces[d->n_ifaces];
	const char *colon = strchr(arg, ':');
	size_t n = colon ? (size_t)(colon - arg) : strlen(arg);

	if (!n || n >= 16) {
		fprintf(stderr, "bpfbusd: bad interface name in '%s'\n", arg);
		return -1;
	}
	snprintf(ifc->name, sizeof(ifc->name), "%.*s", (int)n, arg);
	ifc->generic = generic_default;
	if (colon && !strcmp(colon + 1, "generic"))
		ifc->generic = true;
	else if (colon && !strcmp(colon + 1, "native"))
		ifc->generic = false;
	else if (colon) {
		fprintf(stderr, "bpfbusd: mode is native or generic, not '%s'\n", colon + 1);
		return -1;
	}
	d->n_ifaces++;
	return 0;
}

/* The whole-number options: --NAME N, N in [min, max]. */
static const struct {
	int code;
	const char *name;
	long min, max;
} int_opts[] = {
	{ 'p', "port", 1, 65535 },
	{ 'b', "round-budget", 1, 1 << 20 },
	{ 'I', "producer-idle", 1, 1 << 30 },
	{ 'F', "max-inflight", 1, 1 << 30 },
	{ 'R', "retry-max", 1, 1 << 30 },
	{ 'B', "retry-base-ms", 1, 3600 * 1000 },
	{ 'C', "retry-cap-ms", 1, 86400 * 1000 },
	{ 'U', "sns-retry-unit-ms", 1, 60000 },
	{ 'Y', "replay-rate", 1, 1000000 },
	{ 'X', "xsk-frames", BB_XSK_FRAMES_MIN, BB_XSK_FRAMES_MAX },
	{ 'D', "discovery-rate", 0, 1000000 },
	{ 'Q', "http-queue", 1, 1 << 20 },
};

static int int_option(struct bbd *d, int code, const char *arg)
{
	size_t i = 0;
	char *end;
	long v;

	while (int_opts[i].code != code)
		i++;
	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || end == arg || v < int_opts[i].min || v > int_opts[i].max) {
		fprintf(stderr, "bpfbusd: --%s is a whole number from %ld to %ld, not '%s'\n",
			int_opts[i].name, int_opts[i].min, int_opts[i].max, arg);
		return -1;
	}
	switch (code) {
	case 'p':
		d->port = (uint16_t)v;
		break;
	case 'b':
		d->round_budget = (int)v;
		break;
	case 'I':
		d->producer_idle_s = (int)v;
		break;
	case 'F':
		d->max_inflight = v;
		break;
	case 'R':
		d->retry_max = (size_t)v;
		break;
	case 'B':
		d->backoff.base_ms = v;
		break;
	case 'U':
		d->sns_retry_unit_ms = (int)v;
		break;
	case 'Y':
		d->replay_rate = (unsigned)v;
		break;
	case 'X':
		if (v & (v - 1)) {
			fprintf(stderr, "bpfbusd: --xsk-frames is a power of 2, not '%s'\n", arg);
			return -1;
		}
		d->xsk_frames = (uint32_t)v;
		break;
	case 'D':
		d->discovery_rate = (unsigned)v;
		break;
	case 'Q':
		d->http_queue_max = (size_t)v;
		break;
	default:
		d->backoff.cap_ms = v;
		break;
	}
	return 0;
}

static int parse_args(struct bbd *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "iface", required_argument, NULL, 'i' },
		{ "mode", required_argument, NULL, 'm' },
		{ "handoff", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "control", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "round-budget", required_argument, NULL, 'b' },
		{ "producer-idle", required_argument, NULL, 'I' },
		{ "testing", no_argument, NULL, 'T' },
		{ "max-inflight", required_argument, NULL, 'F' },
		{ "retry-max", required_argument, NULL, 'R' },
		{ "retry-base-ms", required_argument, NULL, 'B' },
		{ "retry-cap-ms", required_argument, NULL, 'C' },
		{ "sns-retry-unit-ms", required_argument, NULL, 'U' },
		{ "replay-rate", required_argument, NULL, 'Y' },
		{ "xsk-frames", required_argument, NULL, 'X' },
		{ "discovery-rate", required_argument, NULL, 'D' },
		{ "http-queue", required_argument, NULL, 'Q' },
		{ "ca-file", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		BBD_HTTP_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *ifaces[BBD_MAX_IFACES + 1];
	int n_if = 0, c, lvl;
	bool generic = false;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			d->state_dir = optarg;
			break;
		case 'P':
			d->pin_dir = optarg;
			break;
		case 'i':
			if (n_if > BBD_MAX_IFACES) {
				fprintf(stderr, "bpfbusd: at most %d interfaces\n", BBD_MAX_IFACES);
				return -1;
			}
			ifaces[n_if++] = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "native") && strcmp(optarg, "generic")) {
				fprintf(stderr, "bpfbusd: mode is native or generic, not '%s'\n",
					optarg);
				return -1;
			}
			generic = !strcmp(optarg, "generic");
			break;
		case 'H':
			if (!strcmp(optarg, "xsk"))
				d->handoff = BPFBUS_HANDOFF_XSK;
			else if (!strcmp(optarg, "ringbuf"))
				d->handoff = BPFBUS_HANDOFF_RINGBUF;
			else {
				fprintf(stderr, "bpfbusd: handoff is xsk or ringbuf, not '%s'\n",
					optarg);
				return -1;
			}
			break;
		case 'p':
		case 'b':
		case 'I':
		case 'F':
		case 'R':
		case 'B':
		case 'C':
		case 'U':
		case 'Y':
		case 'X':
		case 'D':
		case 'Q':
			if (int_option(d, c, optarg))
				return -1;
			break;
		case 'A': {
			char err[512];

			/* read now: a CA file that cannot be used stops the start */
			if (http_post_trust(optarg, err, sizeof(err))) {
				fprintf(stderr, "bpfbusd: --ca-file %s\n", err);
				return -1;
			}
			break;
		}
		case 'c':
			d->control_path = optarg;
			break;
		case 'T':
			d->testing = true;
			break;
		case 'l':
			lvl = bbd_log_parse(optarg);
			if (lvl < 0) {
				fprintf(stderr,
					"bpfbusd: log level is error, warn, info or debug\n");
				return -1;
			}
			bbd_log_level = (enum bbd_log_level)lvl;
			break;
		case BBD_OPT_HTTP ... BBD_OPT_HTTP_LAST:
			if (bbd_http_option(d, c, optarg))
				return -1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bpfbusd: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	for (int i = 0; i < n_if; i++)
		if (add_iface(d, ifaces[i], generic))
			return -1;
	return bbd_http_check_options(d);
}

int bbd_epoll_add(struct bbd *d, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		log_err("epoll_ctl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void dp_log(const char *msg)
{
	log_info("%s", msg);
}

/* SIGHUP: the model file again (an operator may have edited it). */
static void reload(struct bbd *d)
{
	struct bb_model m;
	char err[1200];

	d->reload_requested = false;
	if (bb_model_load(d->state_dir, &m, err, sizeof(err))) {
		log_err("reload: %s; keeping the running configuration", err);
		return;
	}
	bb_model_free(&d->model);
	d->model = m;
	if (bbd_sync_buses(d, err, sizeof(err)) || bbd_routes_reload(d, err, sizeof(err)))
		log_err("reload: %s", err);
	else
		log_info("reloaded the configuration from %s", d->state_dir);
	bbd_http_reload(d);
}

/* Messages became receivable: retry the long polls of the control socket and HTTP. */
static void wake_consumers(struct bbd *d)
{
	bbd_control_wake(d, NULL);
	bbd_http_wake(d);
}

static void housekeeping(struct bbd *d, unsigned seconds)
{
	struct queue_result res;
	long n = queue_store_sweep(d->store, &res);

	if (n < 0)
		log_warn("sweep: %s", res.message);
	else if (n)
		log_debug("sweep: %ld messages past their retention dropped", n);
	n = queue_move_step(d->store, &res);
	if (n < 0)
		log_warn("message move tasks: %s", res.message);
	else if (n)
		wake_consumers(d);
	/* idle producers: at most every minute, at least once per idle period */
	if (seconds % (unsigned)(d->producer_idle_s < 60 ? d->producer_idle_s : 60) == 0)
		bbd_acks_expire(d, (int64_t)d->producer_idle_s * 1000);
	bbd_archives_sweep(d, bbd_clock(d));
	bbd_schemas_save(d);
}

static void on_signals(struct bbd *d)
{
	struct signalfd_siginfo si;

	while (read(d->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			d->reload_requested = true;
		else {
			if (!d->stopping)
				log_info("signal %u: shutting down", si.ssi_signo);
			d->stopping = true;
		}
	}
}

static int setup(struct bbd *d)
{
	char path[4096], err[1200];
	struct queue_result res;
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	d->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->sig_fd < 0 || d->epfd < 0 || d->timer_fd < 0) {
		log_err("cannot create the event loop: %s", strerror(errno));
		return -1;
	}
	if (mkdir(d->state_dir, 0700) && errno != EEXIST) {
		log_err("cannot create %s: %s", d->state_dir, strerror(errno));
		return -1;
	}
	/* 1. everything the state directory holds */
	if (bb_model_load(d->state_dir, &d->model, err, sizeof(err))) {
		log_err("%s", err);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/queues", d->state_dir);
	d->store = queue_store_open(path,
				    &(struct queue_store_opts){ .account = d->account_id,
								.region = d->region,
								.clock = bbd_clock,
								.clock_ctx = d,
								.max_inflight = d->max_inflight },
				    &res);
	if (!d->store) {
		log_err("cannot open the queue store in %s: %s", path, res.message);
		return -1;
	}
	bbd_acks_init(d);
	if (bbd_retries_open(d))
		return -1;
	if (bbd_archives_open(d))
		return -1;
	bbd_schemas_open(d);
	if (sqs_api_init(
		    &d->sqs, d->store,
		    &(struct sqs_api_config){ .account_id = d->account_id, .region = d->region })) {
		log_err("cannot set up the SQS dispatcher");
		return -1;
	}
	/* 2. the kernel tables, before any traffic; no CLI writes them while we run */
	d->pin_lock_fd = bb_pin_claim(d->pin_dir, false);
	if (d->pin_lock_fd == -EBUSY) {
		log_info("waiting for a bpfbus command that writes %s without the daemon",
			 d->pin_dir);
		d->pin_lock_fd = bb_pin_claim(d->pin_dir, true);
	}
	if (d->pin_lock_fd < 0) {
		log_err("cannot claim the pin directory %s: %s", d->pin_dir,
			strerror(-d->pin_lock_fd));
		return -1;
	}
	if (bbd_sync_buses(d, err, sizeof(err)) || bbd_routes_reload(d, err, sizeof(err))) {
		log_err("%s", err);
		return -1;
	}
	log_info("restored %zu buses from %s", d->model.n_buses, d->state_dir);
	/* 3. control, then intake */
	struct itimerspec its = { .it_interval = { 0, TICK_MS * 1000000L },
				  .it_value = { 0, TICK_MS * 1000000L } };

	timerfd_settime(d->timer_fd, 0, &its, NULL);
	if (bbd_epoll_add(d, d->sig_fd, EPOLLIN, BBD_EP_SIG) ||
	    bbd_epoll_add(d, d->timer_fd, EPOLLIN, BBD_EP_TIMER) || bbd_control_open(d) ||
	    bbd_forward_start(d) || bbd_intake_open(d) || bbd_http_start(d) || bbd_sns_open(d) ||
	    bbd_outbox_open(d))
		return -1;
	if (d->testing)
		log_warn("--testing: test.* control requests can move the clock and fail "
			 "deliveries");
	log_info("ready: control %s, state %s, pins %s", d->control_path, d->state_dir, d->pin_dir);
	return 0;
}

static void run(struct bbd *d)
{
	struct epoll_event evs[64];
	unsigned ticks = 0;

	while (!d->stopping) {
		bool intake = false;
		int n = epoll_wait(d->epfd, evs, 64, -1);

		if (n < 0 && errno != EINTR) {
			log_err("epoll_wait: %s", strerror(errno));
			return;
		}
		pthread_mutex_lock(&d->store_lock);
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64, exp;

			if (tag >= BBD_EP_CLIENT_MIN) {
				bbd_control_event(d, (struct bbd_client *)(uintptr_t)tag,
						  evs[i].events);
				continue;
			}
			/* the control batch commits before anything else uses the store */
			bbd_control_batch_end(d);
			if (tag == BBD_EP_SIG)
				on_signals(d);
			else if (tag == BBD_EP_TIMER) {
				if (read(d->timer_fd, &exp, sizeof(exp)) < 0)
					continue;
				bbd_control_wake(d, NULL);
				bbd_retries_round(d);
				bbd_outbox_work(d);
				bbd_replays_run(d, bbd_clock(d));
				bbd_schedules_run(d, bbd_clock(d));
				if (++ticks % HOUSEKEEPING_TICKS == 0)
					housekeeping(d, ticks / HOUSEKEEPING_TICKS);
			} else if (tag == BBD_EP_LISTEN)
				bbd_control_accept(d);
			else if (tag == BBD_EP_INTAKE)
				intake = true;
			else if (tag == BBD_EP_WAKE)
				bbd_http_woken(d);
			else if (tag == BBD_EP_OUTBOX)
				bbd_outbox_work(d);
			else if (tag == BBD_EP_FORWARD)
				bbd_forward_settle(d);
		}
		bbd_control_batch_end(d);
		if (intake) {
			uint64_t delivered = d->cnt.delivered;

			bbd_intake_round(d);
			if (d->cnt.delivered != delivered)
				bbd_http_wake(d);
		}
		if (d->outbox_due)
			bbd_outbox_work(d);
		if (d->wake_pending) {
			d->wake_pending = false;
			wake_consumers(d);
		}
		if (d->reload_requested)
			reload(d);
		pthread_mutex_unlock(&d->store_lock);
	}
}

/* SIGTERM: what the rings and the socket hold is still taken in and committed. */
static void shutdown_daemon(struct bbd *d)
{
	int rounds = 0;

	/* The listener first: nothing else touches the store from here on. */
	bbd_http_stop(d);
	while (rounds < SHUTDOWN_ROUNDS && bbd_intake_round(d) > 0)
		rounds++;
	/* http deliveries under way are answered and settled; the others stay leased */
	bbd_forward_stop(d);
	bbd_forward_settle(d);
	bbd_forward_free(d);
	bbd_intake_close(d);
	bbd_control_close(d);
	bbd_routes_free(d);
	bbd_acks_free(d);
	bbd_retries_close(d);
	bbd_archives_close(d);
	bbd_schedules_free(d);
	bbd_schemas_save(d);
	bbd_schemas_free(d);
	bb_model_free(&d->model);
	bbd_outbox_close(d);
	bbd_sns_close(d);
	bbd_metrics_free(d);
	queue_store_close(d->store);
	if (d->busfd >= 0)
		close(d->busfd);
	if (d->pin_lock_fd >= 0)
		close(d->pin_lock_fd);
	log_info("stopped: %llu events taken in, %llu messages delivered",
		 (unsigned long long)d->cnt.events, (unsigned long long)d->cnt.delivered);
}

int main(int argc, char **argv)
{
	struct bbd d = {
		.state_dir = "/var/lib/bpfbus",
		.handoff = BPFBUS_HANDOFF_XSK,
		.port = BPFBUS_DEFAULT_PORT,
		.round_budget = 8192,
		.xsk_frames = BBD_XSK_FRAMES_DEFAULT,
		.producer_idle_s = 3600,
		.sns_retry_unit_ms = 1000,
		.retry_max = 100000,
		.backoff = { RETRY_BASE_MS_DEFAULT, RETRY_CAP_MS_DEFAULT },
		.replay_rate = REPLAY_DEFAULT_RATE,
		.discovery_rate = BBD_DISCOVERY_RATE,
		.http_queue_max = 1024,
		.busfd = -1,
		.pin_lock_fd = -1,
		.udp_fd = -1,
		.udp6_fd = -1,
		.listen_fd = -1,
		.sig_fd = -1,
		.timer_fd = -1,
		.epfd = -1,
		.store_lock = PTHREAD_MUTEX_INITIALIZER,
		.wake_fd = -1,
	};
	const char *env = getenv("BPFBUS_STATE_DIR");

	if (env && *env)
		d.state_dir = env;
	if (parse_args(&d, argc, argv))
		return 2;
	if (!d.pin_dir)
		d.pin_dir = bb_pin_dir();
	if (!d.control_path)
		d.control_path = bb_ctl_path();
	bb_set_pin_dir(d.pin_dir);
	bb_dp_log = dp_log;
	int rc = setup(&d) ? 1 : 0;

	if (!rc)
		run(&d);
	shutdown_daemon(&d);
	return rc;
}

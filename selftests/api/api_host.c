// SPDX-License-Identifier: BSD-2-Clause
/*
 * Test fixture: hosts the HTTP API (http_api.h) on a queue store in a
 * directory until SIGTERM or SIGINT, as the daemon will. It writes the bound
 * port to --port-file once it listens, and does the store's housekeeping
 * (message move tasks, retention sweeps) every 100 ms under the same lock
 * the listener uses.
 *
 *   api-host --dir DIR --port-file FILE [--address A] [--port N]
 *            [--credentials FILE | --anonymous] [--tls-cert F --tls-key F]
 *            [--account-id ID] [--region R] [--max-body BYTES] [--timeout S]
 *            [--echo-dispatcher]
 */
#include "http_api.h"
#include "queue.h"
#include "strbuf.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * --echo-dispatcher: a second service on the dispatcher hook, standing in
 * for SNS and EventBridge in the tests: X-Amz-Target "BpfbusEcho.<Action>"
 * or Version=2099-01-01, signed for service "echo", one action "Echo" that
 * reports what the listener handed it.
 */
static bool echo_has_action(void *ctx, const char *action)
{
	(void)ctx;
	return !strcmp(action, "Echo");
}

static void echo_resource(void *ctx, const struct http_call *call, char *arn, size_t cap)
{
	(void)ctx;
	(void)call;
	snprintf(arn, cap, "arn:aws:echo:::thing");
}

static void echo_handle(void *ctx, const struct http_call *call, struct http_reply *reply)
{
	(void)ctx;
	if (!echo_has_action(NULL, call->action)) {
		reply->status = 400;
		reply->content_type = "text/xml";
		http_query_error(reply->body, true, "InvalidAction", "No such echo action.",
				 call->request_id);
		return;
	}
	reply->status = 200;
	if (call->json) {
		reply->content_type = "application/x-amz-json-1.1";
		sb_printf(reply->body, "{\"Action\":\"%s\",\"BodyBytes\":%zu}", call->action,
			  call->body_len);
	} else {
		reply->content_type = "text/xml";
		sb_printf(reply->body, "<EchoResponse><Params>%zu</Params></EchoResponse>",
			  call->nparams);
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: api-host --dir DIR --port-file FILE [--address A] [--port N]\n"
			"       [--credentials FILE | --anonymous] [--tls-cert F --tls-key F]\n"
			"       [--account-id ID] [--region R] [--max-body BYTES] [--timeout S]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "port-file", required_argument, NULL, 'f' },
		{ "address", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "credentials", required_argument, NULL, 'c' },
		{ "anonymous", no_argument, NULL, 'A' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "account-id", required_argument, NULL, 'i' },
		{ "region", required_argument, NULL, 'r' },
		{ "max-body", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "echo-dispatcher", no_argument, NULL, 'E' },
		{ NULL, 0, NULL, 0 },
	};
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct http_api_config cfg = { .store_lock = &lock };
	struct queue_store_opts sopts = { 0 };
	const char *dir = NULL, *port_file = NULL;
	bool echo = false;
	struct queue_result res;
	struct http_api *api;
	struct sigaction sa;
	char err[512];
	FILE *f;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'f':
			port_file = optarg;
			break;
		case 'a':
			cfg.address = optarg;
			break;
		case 'p':
			cfg.port = atoi(optarg);
			break;
		case 'c':
			cfg.credentials_file = optarg;
			break;
		case 'A':
			cfg.anonymous = true;
			break;
		case 'C':
			cfg.tls_cert = optarg;
			break;
		case 'K':
			cfg.tls_key = optarg;
			break;
		case 'i':
			cfg.account_id = optarg;
			break;
		case 'r':
			cfg.region = optarg;
			break;
		case 'm':
			cfg.max_body = strtoul(optarg, NULL, 10);
			break;
		case 'E':
			echo = true;
			break;
		case 't':
			cfg.timeout_s = (unsigned int)atoi(optarg);
			break;
		default:
			return usage();
		}
	}
	if (!dir || !port_file)
		return usage();
	sopts.account = cfg.account_id;
	sopts.region = cfg.region;
	cfg.store = queue_store_open(dir, &sopts, &res);
	if (!cfg.store) {
		fprintf(stderr, "api-host: %s: %s\n", dir, res.message);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	api = http_api_start(&cfg, err, sizeof(err));
	if (!api) {
		fprintf(stderr, "api-host: %s\n", err);
		queue_store_close(cfg.store);
		return 1;
	}
	if (echo) {
		struct http_dispatcher d = { .json_target_prefix = "BpfbusEcho.",
					     .query_version = "2099-01-01",
					     .signing_service = "echo",
					     .has_action = echo_has_action,
					     .resource = echo_resource,
					     .handle = echo_handle };

		http_api_register(api, &d);
	}
	f = fopen(port_file, "w");
	if (!f || fprintf(f, "%d\n", http_api_port(api)) < 0 || fclose(f)) {
		fprintf(stderr, "api-host: cannot write %s\n", port_file);
		http_api_stop(api);
		queue_store_close(cfg.store);
		return 1;
	}
	while (!stop) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		pthread_mutex_lock(&lock);
		queue_move_step(cfg.store, &res);
		queue_store_sweep(cfg.store, &res);
		pthread_mutex_unlock(&lock);
	}
	http_api_stop(api);
	queue_store_close(cfg.store);
	return 0;
}

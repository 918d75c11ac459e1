/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A minimal HTTP/1.1 client for deliveries to http:// and https:// endpoints
 * (rule targets, SNS's http/https subscriptions): one POST per connection,
 * bounded by a deadline, the answer's status read and the rest ignored.
 * HTTPS verifies the server's certificate against the system's CAs (those
 * of OpenSSL's default paths, which SSL_CERT_FILE and SSL_CERT_DIR move),
 * plus those of http_post_trust(), and its name against the URL's host.
 * Nothing turns verification off. Blocking: call it from a worker thread,
 * or accept the deadline.
 */
#ifndef BPFBUS_LIB_HTTP_POST_H
#define BPFBUS_LIB_HTTP_POST_H

#include <stdbool.h>
#include <stddef.h>

struct http_post_req {
	const char *url; /* http[s]://HOST[:PORT][/PATH] */
	const char *content_type;
	const char *body;
	size_t len;
	const char *const *headers; /* extra "Name: value" lines, NULL-terminated, or NULL */
	const char *user_agent; /* NULL: "bpfbusd" */
	int timeout_ms; /* the whole exchange; 0: 5000 */
};

/*
 * Trust the CA certificates of the PEM file @ca_file too (NULL: only the
 * system's). Call before any http_post (not thread-safe with them). 0, or -1
 * with @err saying why the file cannot be used (then nothing changes).
 */
int http_post_trust(const char *ca_file, char *err, size_t cap);

/* Whether http_post can use @url (http[s]://HOST[:PORT][/PATH], port 1-65535, no blanks). */
bool http_post_url_ok(const char *url);

/*
 * POST and wait for the status line. Returns the HTTP status (any, 2xx is
 * success for the caller to decide), or -1 with @err saying why no answer
 * came (bad URL, no connection, TLS, timeout, malformed answer).
 */
int http_post(const struct http_post_req *req, char *err, size_t cap);

/* Split "scheme://host[:port][/path]" (host may be "[v6]"); -1 when malformed. */
int http_url_split(const char *url, char *scheme, size_t scheme_cap, char *host, size_t host_cap,
		   char *port, size_t port_cap, const char **path);

#endif

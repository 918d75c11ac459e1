/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A minimal HTTP/1.1 client for deliveries to http:// endpoints (rule
 * targets): one POST per connection, bounded by a deadline, the answer's
 * status read and its body drained and ignored.
 */
#ifndef BPFBUS_LIB_HTTP_POST_H
#define BPFBUS_LIB_HTTP_POST_H

#include <stddef.h>

struct http_post_req {
	const char *url; /* http://HOST[:PORT][/PATH] */
	const char *content_type;
	const char *body;
	size_t len;
	const char *const *headers; /* extra "Name: value" lines, NULL-terminated, or NULL */
	int timeout_ms; /* the whole exchange; 0: 5000 */
};

/*
 * POST and wait for the status line. Returns the HTTP status (any, 2xx is
 * success for the caller to decide), or -1 with @err saying why no answer
 * came (bad URL, no connection, timeout, malformed answer).
 */
int http_post(const struct http_post_req *req, char *err, size_t cap);

#endif

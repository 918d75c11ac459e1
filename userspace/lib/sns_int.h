/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internals of the SNS query API (sns_api.h): request parameters, the XML
 * writer. Not part of the API.
 */
#ifndef BPFBUS_LIB_SNS_INT_H
#define BPFBUS_LIB_SNS_INT_H

#include "queue.h"
#include "sns_api.h"
#include "strbuf.h"
#include "topic_int.h"

/* One request: its parameters and what was allocated while reading them. */
struct sns_req {
	const struct sns_param *p;
	size_t n;
	void **owned; /* freed with the request */
	size_t nowned;
	bool unsigned_get; /* a GET without a signature (sns_api_dispatch_as) */
};

/* The value of parameter @name (exact), NULL when absent. */
const char *sp_get(const struct sns_req *r, const char *name);
/* The same with a printf-built name. */
const char *sp_getf(const struct sns_req *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A map serialised as PREFIX.N.KEY / PREFIX.N.VALUE for N = 1, 2, ...
 * ("Attributes.entry", "key", "value"; "Tags.member", "Key", "Value").
 * Returns the entries (owned by @r) and their count in @n.
 */
struct queue_kv *sp_map(struct sns_req *r, const char *prefix, const char *key, const char *value,
			size_t *n);
/* A list PREFIX.N for N = 1, 2, ... ("TagKeys.member"). */
const char **sp_list(struct sns_req *r, const char *prefix, size_t *n);
/*
 * Message attributes under @prefix ("MessageAttributes" or
 * "PublishBatchRequestEntries.member.3.MessageAttributes"): entry.N.Name,
 * entry.N.Value.DataType, .StringValue or .BinaryValue (base64, decoded).
 * Returns 0, or -1 with @res set (a BinaryValue that is not base64).
 */
int sp_msg_attrs(struct sns_req *r, const char *prefix, struct queue_msg_attr **out, size_t *n,
		 struct topic_result *res);
void sp_free(struct sns_req *r);
/* Hand @p to the request: freed with it. Returns @p. */
void *sp_own(struct sns_req *r, void *p);

/* Append @s with XML's special characters escaped. */
void xml_text(struct strbuf *sb, const char *s);
/* <name>escaped value</name> */
void xml_elem(struct strbuf *sb, const char *name, const char *value);

#endif

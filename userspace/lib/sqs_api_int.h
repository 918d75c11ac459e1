/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internals of the SQS API (sqs_api.h): the per-request context, request
 * field readers that name the field in their errors, and a small writer for
 * the JSON response. Not part of the API.
 */
#ifndef BPFBUS_LIB_SQS_API_INT_H
#define BPFBUS_LIB_SQS_API_INT_H

#include "json.h"
#include "queue.h"
#include "sqs_api.h"
#include "strbuf.h"

#include <stdbool.h>
#include <stddef.h>

/* Longest queue name plus room to notice a longer one. */
#define SQS_NAME_CAP 96

/* One request being served. */
struct sqs_call {
	struct sqs_api *api;
	const struct json_value *req; /* the request object */
	struct strbuf out; /* the response being built */
	struct sqs_api_error *err;
	struct sqs_poll *poll; /* NULL: never wait */
	void **allocs; /* freed when the call ends */
	size_t nallocs;
};

typedef int (*sqs_action_fn)(struct sqs_call *c);

/* ------------------------------------------------------------ errors */

/* Fail with a queue-store error @e; always returns -1. */
int sqs_fail(struct sqs_call *c, enum queue_err e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Fail with what a store call reported. */
int sqs_fail_result(struct sqs_call *c, const struct queue_result *r);
/* Fail with an error outside the store's list (InvalidAddress, ...). */
int sqs_fail_other(struct sqs_call *c, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ------------------------------------------------------------ throughput */

/* The counters a call that passed the FIFO quota check adds to once it ran. */
struct sqs_tput_claim {
	uint64_t key[QUEUE_MAX_BATCH];
	size_t n;
	int64_t sec;
};
/*
 * FifoThroughputLimit: -1 (ThrottlingException) when @action on the
 * request's FIFO queue is past its quota this second; else 0 with @claim
 * saying what to count (sqs_throttle_count) when the call is answered.
 */
int sqs_throttle_check(struct sqs_call *c, const char *action, struct sqs_tput_claim *claim);
void sqs_throttle_count(struct sqs_api *api, const struct sqs_tput_claim *claim);

/* ------------------------------------------------------------ request fields */

/* Memory that lives until the call ends. */
void *sqs_keep(struct sqs_call *c, void *p);
char *sqs_strdup(struct sqs_call *c, const char *s, size_t len);

/*
 * A string member (NUL-free): *out NULL when absent. With @required, absence
 * is MissingParameter. A non-string is InvalidParameterValue naming @name.
 */
int sqs_get_string(struct sqs_call *c, const struct json_value *obj, const char *name,
		   bool required, const char **out);
/* Like sqs_get_string but keeps embedded NULs (message bodies). */
int sqs_get_bytes(struct sqs_call *c, const struct json_value *obj, const char *name,
		  const char **out, size_t *len);
/* An integer (number or decimal string); *present false when absent. */
int sqs_get_int(struct sqs_call *c, const struct json_value *obj, const char *name, int *out,
		bool *present);
/* An array of strings. */
int sqs_get_string_list(struct sqs_call *c, const struct json_value *obj, const char *name,
			const char ***out, size_t *n);
/* An object of string values (attributes, tags). */
int sqs_get_string_map(struct sqs_call *c, const struct json_value *obj, const char *name,
		       struct queue_kv **out, size_t *n);
/* An array of objects; *items NULL and *n 0 when absent. */
int sqs_get_object_list(struct sqs_call *c, const struct json_value *obj, const char *name,
			struct json_value ***items, size_t *n);
/* An object member; NULL when absent. */
int sqs_get_object(struct sqs_call *c, const struct json_value *obj, const char *name,
		   const struct json_value **out);

/* The queue named by the required "QueueUrl" member, into @name (SQS_NAME_CAP). */
int sqs_get_queue(struct sqs_call *c, char *name);

/* Base64 (standard alphabet, padded) of the JSON blob type. */
void sqs_base64_encode(struct strbuf *sb, const void *data, size_t len);
/* Decoded bytes kept for the call, or -1 when @s is not base64. */
long sqs_base64_decode(struct sqs_call *c, const char *s, unsigned char **out);

/* ------------------------------------------------------------ response writer */

/*
 * Members are written in order; a comma goes in front of anything that does
 * not follow an opening bracket. @key NULL inside arrays.
 */
/* The separator and "key": (nothing but the separator when @key is NULL). */
void sj_key(struct strbuf *sb, const char *key);
void sj_open(struct strbuf *sb, const char *key, char bracket);
void sj_close(struct strbuf *sb, char bracket);
void sj_str(struct strbuf *sb, const char *key, const char *s);
void sj_strn(struct strbuf *sb, const char *key, const char *s, size_t len);
void sj_int(struct strbuf *sb, const char *key, long long v);
void sj_bool(struct strbuf *sb, const char *key, bool v);
/* A string-to-string object from a result list. */
void sj_kv_map(struct strbuf *sb, const char *key, const struct queue_kv_list *l);
/* Failed entries of a batch: {"Id","SenderFault","Code","Message"}. */
void sj_batch_failure(struct strbuf *sb, const char *id, const struct queue_result *r);

/* ------------------------------------------------------------ actions */

int sqs_create_queue(struct sqs_call *c);
int sqs_delete_queue(struct sqs_call *c);
int sqs_get_queue_url(struct sqs_call *c);
int sqs_list_queues(struct sqs_call *c);
int sqs_get_queue_attributes(struct sqs_call *c);
int sqs_set_queue_attributes(struct sqs_call *c);
int sqs_purge_queue(struct sqs_call *c);
int sqs_list_dead_letter_source_queues(struct sqs_call *c);
int sqs_tag_queue(struct sqs_call *c);
int sqs_untag_queue(struct sqs_call *c);
int sqs_list_queue_tags(struct sqs_call *c);
int sqs_send_message(struct sqs_call *c);
int sqs_send_message_batch(struct sqs_call *c);
int sqs_receive_message(struct sqs_call *c);
int sqs_delete_message(struct sqs_call *c);
int sqs_delete_message_batch(struct sqs_call *c);
int sqs_change_message_visibility(struct sqs_call *c);
int sqs_change_message_visibility_batch(struct sqs_call *c);
int sqs_start_message_move_task(struct sqs_call *c);
int sqs_cancel_message_move_task(struct sqs_call *c);
int sqs_list_message_move_tasks(struct sqs_call *c);
int sqs_add_permission(struct sqs_call *c);
int sqs_remove_permission(struct sqs_call *c);

/* Remember @queue as one whose long polls should wake. */
void sqs_note_woken(struct sqs_call *c, const char *queue);

#endif

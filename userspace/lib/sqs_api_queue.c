// SPDX-License-Identifier: BSD-2-Clause
/*
 * SQS queue actions (sqs_api.h): CreateQueue, DeleteQueue, GetQueueUrl,
 * ListQueues, Get/SetQueueAttributes, PurgeQueue,
 * ListDeadLetterSourceQueues, TagQueue, UntagQueue, ListQueueTags.
 */
#include "sqs_api_int.h"

#include <stdio.h>
#include <string.h>

static void put_url(struct sqs_call *c, const char *key, const char *name)
{
	char url[512];

	sqs_queue_url(c->api, name, url, sizeof(url));
	sj_str(&c->out, key, url);
}

int sqs_create_queue(struct sqs_call *c)
{
	struct queue_kv *attrs, *tags;
	size_t nattrs, ntags;
	struct queue_result r;
	const char *name;

	if (sqs_get_string(c, c->req, "QueueName", true, &name) ||
	    sqs_get_string_map(c, c->req, "Attributes", &attrs, &nattrs) ||
	    sqs_get_string_map(c, c->req, "tags", &tags, &ntags))
		return -1;
	if (queue_create(c->api->st, name, attrs, nattrs, tags, ntags, &r))
		return sqs_fail_result(c, &r);
	sj_open(&c->out, NULL, '{');
	put_url(c, "QueueUrl", name);
	sj_close(&c->out, '}');
	return 0;
}

int sqs_delete_queue(struct sqs_call *c)
{
	char name[SQS_NAME_CAP];
	struct queue_result r;

	if (sqs_get_queue(c, name))
		return -1;
	if (queue_delete(c->api->st, name, &r))
		return sqs_fail_result(c, &r);
	return 0;
}

int sqs_get_queue_url(struct sqs_call *c)
{
	const char *name, *owner;
	struct queue_result r;

	if (sqs_get_string(c, c->req, "QueueName", true, &name) ||
	    sqs_get_string(c, c->req, "QueueOwnerAWSAccountId", false, &owner))
		return -1;
	if (owner && strcmp(owner, c->api->account_id))
		return sqs_fail(c, QE_QUEUE_DOES_NOT_EXIST, "The specified queue does not exist.");
	if (queue_lookup(c->api->st, name, &r))
		return sqs_fail_result(c, &r);
	sj_open(&c->out, NULL, '{');
	put_url(c, "QueueUrl", name);
	sj_close(&c->out, '}');
	return 0;
}

/*
 * Paging shared by ListQueues and ListDeadLetterSourceQueues. SQS pages only
 * when MaxResults is given; NextToken is the base64 of the last name returned.
 */
struct paging {
	bool paged;
	int max;
	const char *after; /* decoded NextToken or NULL */
};

static int get_paging(struct sqs_call *c, struct paging *pg)
{
	const char *token;
	unsigned char *dec;
	long n;

	memset(pg, 0, sizeof(*pg));
	if (sqs_get_int(c, c->req, "MaxResults", &pg->max, &pg->paged) ||
	    sqs_get_string(c, c->req, "NextToken", false, &token))
		return -1;
	if (pg->paged && (pg->max < 1 || pg->max > 1000))
		return sqs_fail(c, QE_INVALID_PARAMETER_VALUE,
				"Value %d for parameter MaxResults is invalid. Reason: MaxResults "
				"must be an integer between 1 and 1000.",
				pg->max);
	if (token && *token) {
		n = sqs_base64_decode(c, token, &dec);
		if (n <= 0 || memchr(dec, '\0', (size_t)n))
			return sqs_fail(c, QE_INVALID_PARAMETER_VALUE, "Invalid NextToken value.");
		dec[n] = '\0';
		pg->after = (const char *)dec;
	}
	return 0;
}

static void put_url_page(struct sqs_call *c, const char *key, const struct queue_kv_list *names,
			 const struct paging *pg)
{
	size_t shown = 0;
	const char *last = NULL;
	bool more = false;

	sj_open(&c->out, NULL, '{');
	for (size_t i = 0; i < names->n; i++) {
		const char *name = names->v[i].name;

		if (pg->after && strcmp(name, pg->after) <= 0)
			continue;
		if (pg->paged && shown == (size_t)pg->max) {
			more = true;
			break;
		}
		if (!shown)
			sj_open(&c->out, key, '[');
		put_url(c, NULL, name);
		last = name;
		shown++;
	}
	if (shown)
		sj_close(&c->out, ']');
	if (more) {
		sj_key(&c->out, "NextToken");
		sb_addc(&c->out, '"');
		sqs_base64_encode(&c->out, last, strlen(last));
		sb_addc(&c->out, '"');
	}
	sj_close(&c->out, '}');
}

int sqs_list_queues(struct sqs_call *c)
{
	struct queue_kv_list names;
	struct queue_result r;
	struct paging pg;
	const char *prefix;

	if (sqs_get_string(c, c->req, "QueueNamePrefix", false, &prefix) || get_paging(c, &pg))
		return -1;
	if (queue_list(c->api->st, prefix && *prefix ? prefix : NULL,
		       pg.paged || pg.after ? (size_t)1 << 30 : 0, &names, &r))
		return sqs_fail_result(c, &r);
	put_url_page(c, "QueueUrls", &names, &pg);
	queue_kv_list_free(&names);
	return 0;
}

int sqs_list_dead_letter_source_queues(struct sqs_call *c)
{
	char name[SQS_NAME_CAP];
	struct queue_kv_list names;
	struct queue_result r;
	struct paging pg;

	if (sqs_get_queue(c, name) || get_paging(c, &pg))
		return -1;
	if (queue_list_dlq_sources(c->api->st, name, &names, &r))
		return sqs_fail_result(c, &r);
	put_url_page(c, "queueUrls", &names, &pg);
	queue_kv_list_free(&names);
	return 0;
}

/* {"@key": {...}}, or {} when @l is empty (SQS leaves the member out); frees @l. */
static void put_map_result(struct sqs_call *c, const char *key, struct queue_kv_list *l)
{
	sj_open(&c->out, NULL, '{');
	if (l->n)
		sj_kv_map(&c->out, key, l);
	sj_close(&c->out, '}');
	queue_kv_list_free(l);
}

int sqs_get_queue_attributes(struct sqs_call *c)
{
	char name[SQS_NAME_CAP];
	struct queue_kv_list l;
	struct queue_result r;
	const char **names;
	size_t n;

	if (sqs_get_queue(c, name) || sqs_get_string_list(c, c->req, "AttributeNames", &names, &n))
		return -1;
	if (queue_get_attributes(c->api->st, name, names, n, &l, &r))
		return sqs_fail_result(c, &r);
	put_map_result(c, "Attributes", &l);
	return 0;
}

int sqs_set_queue_attributes(struct sqs_call *c)
{
	char name[SQS_NAME_CAP];
	struct queue_result r;
	struct queue_kv *attrs;
	size_t n;

	if (sqs_get_queue(c, name) || sqs_get_string_map(c, c->req, "Attributes", &attrs, &n))
		return -1;
	if (!n)
		return sqs_fail(c, QE_MISSING_PARAMETER,
				"The request must contain the parameter Attributes.");
	if (queue_set_attributes(c->api->st, name, attrs, n, &r))
		return sqs_fail_result(c, &r);
	/* A shorter delay or wait can make messages receivable sooner. */
	sqs_note_woken(c, name);
	return 0;
}

int sqs_purge_queue(struct sqs_call *c)
{
	char name[SQS_NAME_CAP];
	struct queue_result r;

	if (sqs_get_queue(c, name))
		return -1;
	if (queue_purge(c->api->st, name, &r))
		return sqs_fail_result(c, &r);
	return 0;
}

int sqs_tag_queue(struct sqs_call *c)
{
	char name[SQS_NAME_CAP];
	struct queue_result r;
	struct queue_kv *tags;
	size_t n;

	if (sqs_get_queue(c, name) || sqs_get_string_map(c, c->req, "Tags", &tags, &n))
		return -1;
	if (!n)
		return sqs_fail(c, QE_MISSING_PARAMETER,
				"The request must contain the parameter Tags.");
	if (queue_tag(c->api->st, name, tags, n, &r))
		return sqs_fail_result(c, &r);
	return 0;
}

int sqs_untag_queue(struct sqs_call *c)
{
	char name[SQS_NAME_CAP];
	struct queue_result r;
	const char **keys;
	size_t n;

	if (sqs_get_queue(c, name) || sqs_get_string_list(c, c->req, "TagKeys", &keys, &n))
		return -1;
	if (!n)
		return sqs_fail(c, QE_MISSING_PARAMETER,
				"The request must contain the parameter TagKeys.");
	if (queue_untag(c->api->st, name, keys, n, &r))
		return sqs_fail_result(c, &r);
	return 0;
}

int sqs_list_queue_tags(struct sqs_call *c)
{
	char name[SQS_NAME_CAP];
	struct queue_kv_list l;
	struct queue_result r;

	if (sqs_get_queue(c, name))
		return -1;
	if (queue_list_tags(c->api->st, name, &l, &r))
		return sqs_fail_result(c, &r);
	put_map_result(c, "Tags", &l);
	return 0;
}

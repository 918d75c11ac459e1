// SPDX-License-Identifier: BSD-2-Clause
/*
 * SNS datagrams (wire kind 2) taken in: each is a Publish to the topic its
 * name gives, made inside the intake round's group commit, so it is durable
 * in every queue subscription (and the outbox) when the round commits. When
 * the kernel decided (its rules are the topic's subscriptions), exactly the
 * subscriptions it matched get the message, plus those without a policy;
 * otherwise the topic store's own matcher decides.
 */
#include "bpfbusd.h"
#include "json.h"
#include "queue.h"
#include "strbuf.h"
#include "topic.h"
#include "wire.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ATTRS 64

/* A copy of @len bytes as a C string in @sb (reset first). */
static const char *cstr(struct strbuf *sb, const char *s, size_t len)
{
	sb_reset(sb);
	sb_add(sb, s, len);
	sb_addc(sb, '\0');
	return sb->buf;
}

/*
 * The datagram's attributes ({"Name": {"Type": T, "Value": V}}, wire.md) as
 * message attributes; Binary values are base64 and decoded into @bin.
 * Returns how many, or -1 when they are not of that shape.
 */
static int parse_attrs(const struct json_value *root, struct queue_msg_attr *a, struct strbuf *bin)
{
	size_t n = 0;

	if (!root || root->type != JSON_OBJECT || root->u.obj.n > MAX_ATTRS)
		return -1;
	sb_reserve(bin, 8192); /* no reallocation below: pointers into it stay valid */
	for (size_t i = 0; i < root->u.obj.n; i++) {
		const struct json_member *m = &root->u.obj.members[i];
		const struct json_value *t = json_get(m->value, "Type");
		const struct json_value *v = json_get(m->value, "Value");

		if (!t || t->type != JSON_STRING || !v || v->type != JSON_STRING)
			return -1;
		a[n] = (struct queue_msg_attr){
			.name = m->key, .type = t->u.str.s, .value = v->u.str.s, .len = v->u.str.len
		};
		if (!strncmp(t->u.str.s, "Binary", 6)) {
			unsigned char *out = (unsigned char *)bin->buf + bin->len;
			int len;

			if (v->u.str.len % 4 || bin->len + v->u.str.len > 8192)
				return -1;
			len = EVP_DecodeBlock(out, (const unsigned char *)v->u.str.s,
					      (int)v->u.str.len);
			if (len < 0)
				return -1;
			/* EVP_DecodeBlock counts the padding as bytes */
			for (size_t p = v->u.str.len; p && v->u.str.s[p - 1] == '='; p--)
				len--;
			a[n].value = (const char *)out;
			a[n].len = (size_t)len;
			bin->len += (size_t)len;
		}
		n++;
	}
	return (int)n;
}

/* Attribute names are NUL-terminated in the document? Copy them to be sure. */
static void own_names(struct queue_msg_attr *a, int n, const struct json_value *root, char **names)
{
	for (int i = 0; i < n; i++) {
		names[i] = xstrndup(root->u.obj.members[i].key, root->u.obj.members[i].key_len);
		a[i].name = names[i];
	}
}

/*
 * topic_publish inside the round's group commit: what it put into sqs
 * subscriptions' queues waits for that commit to be timed.
 */
static int publish_timed(struct bbd *d, const char *arn, const struct topic_publish_entry *e,
			 struct topic_publish_result *out, struct topic_result *res)
{
	uint64_t before = topic_store_queue_deliveries(d->topics);
	int rc = topic_publish(d->topics, arn, e, out, res);
	uint64_t queued = topic_store_queue_deliveries(d->topics) - before;

	if (!rc && queued)
		prom_pending_add(&d->latency_pending, bbd_topic_latency(d, arn, "sqs"), queued);
	return rc;
}

int bbd_sns_datagram(struct bbd *d, const struct bb_wire_msg *m, uint32_t bus_id,
		     const struct bbd_routes *kernel_rt, const uint32_t *ids, uint32_t n_ids)
{
	struct strbuf name = STRBUF_INIT, body = STRBUF_INIT, group = STRBUF_INIT,
		      dedup = STRBUF_INIT, bin = STRBUF_INIT;
	struct queue_msg_attr attrs[MAX_ATTRS];
	char *names[MAX_ATTRS] = { 0 }, arn[600];
	const char **matched = NULL;
	struct json_doc *doc = NULL;
	struct topic_publish_entry e = { 0 };
	struct topic_publish_result out;
	struct topic_result res;
	int na = 0, rc;

	topic_arn(d->topics, cstr(&name, m->name, m->name_len), arn, sizeof(arn));
	e.message = cstr(&body, m->body, m->body_len);
	if (m->group_len)
		e.group_id = cstr(&group, m->group, m->group_len);
	if (m->dedup_len)
		e.dedup_id = cstr(&dedup, m->dedup, m->dedup_len);
	if (m->attrs_len) {
		doc = json_parse(m->attrs, m->attrs_len, true);
		na = parse_attrs(json_doc_root(doc), attrs, &bin);
		if (na < 0) {
			log_debug("topic %s: datagram attributes are not {\"Name\": {\"Type\", "
				  "\"Value\"}}",
				  name.buf);
			rc = 1;
			goto out;
		}
		own_names(attrs, na, json_doc_root(doc), names);
		e.attrs = attrs;
		e.nattrs = (size_t)na;
	}
	if (kernel_rt) {
		/* rule "TOPIC/SUBSCRIPTION-ID" of this bus -> SUBSCRIPTION-ID */
		matched = xcalloc(n_ids + 1, sizeof(*matched));
		for (uint32_t i = 0; i < n_ids; i++) {
			const struct bbd_route *r =
				ids[i] < kernel_rt->c.n_rules ? &kernel_rt->r[ids[i]] : NULL;
			const char *slash = r ? strrchr(r->name, '/') : NULL;

			if (slash && r->bus_id == bus_id)
				matched[e.n_matched++] = slash + 1;
		}
		e.kernel_decided = true;
		e.matched = matched;
	}
	if (publish_timed(d, arn, &e, &out, &res)) {
		log_debug("topic %s: %s", name.buf, res.message);
		rc = res.code == TE_INTERNAL_ERROR ? -1 : 1;
		goto out;
	}
	bbd_topic_count(d, arn)->published++;
	d->outbox_due = true;
	rc = 0;
out:
	for (int i = 0; i < na; i++)
		free(names[i]);
	free(matched);
	json_doc_free(doc);
	sb_free(&name);
	sb_free(&body);
	sb_free(&group);
	sb_free(&dedup);
	sb_free(&bin);
	return rc;
}

/*
 * A rule target of kind topic (d->deliver_topic): the event, or the target's
 * input, published to @topic (a name or an ARN) in the round's group commit;
 * to a FIFO topic with the group and deduplication ids intake.c chose.
 */
static int deliver_event(struct bbd *d, const char *topic, const char *msg, size_t len,
			 const char *group_id, const char *dedup_id, struct queue_result *res)
{
	struct strbuf body = STRBUF_INIT;
	struct topic_publish_entry e = { 0 };
	struct topic_publish_result out;
	struct topic_result tr;
	char arn[600];
	int rc = 0;

	if (!strncmp(topic, "arn:", 4))
		snprintf(arn, sizeof(arn), "%s", topic);
	else
		topic_arn(d->topics, topic, arn, sizeof(arn));
	e.message = cstr(&body, msg, len);
	e.group_id = group_id;
	e.dedup_id = dedup_id;
	if (publish_timed(d, arn, &e, &out, &tr)) {
		res->code = tr.code == TE_INTERNAL_ERROR ? QE_INTERNAL_ERROR
			    : tr.code == TE_NOT_FOUND	 ? QE_RESOURCE_NOT_FOUND
							 : QE_INVALID_PARAMETER_VALUE;
		snprintf(res->message, sizeof(res->message), "%s", tr.message);
		rc = -1;
	} else {
		bbd_topic_count(d, arn)->published++;
		d->outbox_due = true;
	}
	sb_free(&body);
	return rc;
}

void bbd_sns_serve_topic_targets(struct bbd *d)
{
	d->deliver_topic = deliver_event;
}

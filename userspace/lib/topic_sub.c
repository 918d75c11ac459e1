// SPDX-License-Identifier: BSD-2-Clause
/*
 * Subscriptions: Subscribe, Unsubscribe, ConfirmSubscription, the listings,
 * Get/SetSubscriptionAttributes and the delivery counters.
 */
#include "topic_int.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_TTL_MS (2LL * 24 * 3600 * 1000) /* SNS: confirmation tokens live 2 days */

static bool udp_endpoint_valid(const char *e)
{
	const char *colon = strrchr(e, ':');
	char *end;
	long port;

	if (!colon || colon == e)
		return false;
	port = strtol(colon + 1, &end, 10);
	return *end == '\0' && colon[1] && port > 0 && port < 65536;
}

static bool queue_is_fifo(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && !strcmp(name + n - 5, ".fifo");
}

static int check_endpoint(struct topic_store *ts, const char *protocol, const char *endpoint,
			  bool fifo, struct topic_result *res)
{
	char qname[QUEUE_NAME_MAX + 1];

	if (tprotocol_is_queue(protocol)) {
		if (queue_name_from_arn(ts->qs, endpoint, qname, sizeof(qname)) ||
		    !(qname_valid(qname, false) || qname_valid(qname, true)))
			return terr(res, TE_INVALID_PARAMETER,
				    "Invalid parameter: SQS endpoint ARN");
		if (fifo && !queue_is_fifo(qname))
			return terr(
				res, TE_INVALID_PARAMETER,
				"Invalid parameter: Invalid parameter: Endpoint Reason: FIFO "
				"SNS Topics currently only support FIFO SQS queues as endpoints");
		if (!fifo && queue_is_fifo(qname))
			return terr(res, TE_INVALID_PARAMETER,
				    "Invalid parameter: Invalid parameter: Endpoint Reason: FIFO "
				    "SQS Queues can not be subscribed to standard SNS topics");
		return 0;
	}
	if (tprotocol_is_http(protocol)) {
		size_t plen = strlen(protocol);

		if (strncmp(endpoint, protocol, plen) || strncmp(endpoint + plen, "://", 3) ||
		    !endpoint[plen + 3])
			return terr(
				res, TE_INVALID_PARAMETER,
				"Invalid parameter: Endpoint must match the specified protocol");
		if (fifo)
			return terr(res, TE_INVALID_PARAMETER,
				    "Invalid parameter: Invalid protocol type: %s for FIFO topics",
				    protocol);
		return 0;
	}
	if (!strcmp(protocol, "udp")) {
		if (!udp_endpoint_valid(endpoint))
			return terr(res, TE_INVALID_PARAMETER,
				    "Invalid parameter: Endpoint Reason: a udp endpoint is "
				    "host:port");
		return 0;
	}
	return terr(res, TE_INVALID_PARAMETER,
		    "Invalid parameter: Amazon SNS does not support this protocol string: %s",
		    protocol);
}

/* ------------------------------------------------------------ subscribe */

struct sub_args {
	const char *topic_arn, *protocol, *endpoint, *token;
	const struct queue_kv *attrs;
	size_t nattrs;
	char *arn;
	size_t cap;
	bool pending;
};

/* An existing subscription of the same protocol and endpoint on the topic, by uuid. */
static int find_same(struct topic_store *ts, MDB_txn *txn, const char *topic,
		     const struct sub_args *a, char id[37], struct queue_kv_list *rec,
		     struct topic_result *res)
{
	struct queue_kv_list ids = { 0 };
	int found = 0;

	if (tsub_ids(ts, txn, topic, &ids, res))
		return -1;
	for (size_t i = 0; i < ids.n && !found; i++) {
		queue_kv_list_free(rec);
		if (trec_load(txn, ts->dbi[TDB_SUBS], ids.v[i].name, TOPIC_UUID_LEN, rec, res) <
		    0) {
			found = -1;
			break;
		}
		if (!strcmp(tkv_get(rec, "Protocol") ?: "", a->protocol) &&
		    !strcmp(tkv_get(rec, "Endpoint") ?: "", a->endpoint)) {
			memcpy(id, ids.v[i].name, 37);
			found = 1;
		}
	}
	queue_kv_list_free(&ids);
	return found;
}

static int apply_attrs(struct topic_store *ts, MDB_txn *txn, struct queue_kv_list *rec,
		       const struct sub_args *a, bool fifo, struct topic_result *res)
{
	/* The scope first: the policy is compiled for it. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < a->nattrs; i++) {
			bool scope =
				a->attrs[i].name && !strcmp(a->attrs[i].name, "FilterPolicyScope");

			if (scope == (pass == 0) &&
			    tsub_attr_apply(ts, txn, rec, a->attrs[i].name, a->attrs[i].value, fifo,
					    true, res))
				return -1;
		}
	return 0;
}

static int send_confirmation(struct topic_store *ts, MDB_txn *txn, const char *topic_arn,
			     const char *sub_arn, const struct queue_kv_list *rec,
			     struct topic_result *res)
{
	struct strbuf msg = STRBUF_INIT, body = STRBUF_INIT;
	uint8_t raw[16];
	char id[37];
	int rc;

	qrandom(raw, sizeof(raw));
	quuid_format(raw, id);
	sb_printf(&msg,
		  "You have chosen to subscribe to the topic %s.\nTo confirm the subscription, "
		  "visit the SubscribeURL included in this message.",
		  topic_arn);
	struct tenvelope e = { .type = "SubscriptionConfirmation",
			       .message_id = id,
			       .topic_arn = topic_arn,
			       .message = msg.buf,
			       .time_ms = queue_store_now(ts->qs),
			       .token = tkv_get(rec, "_token") };
	tenvelope_build(ts, &e, &body);
	rc = toutbox_put(ts, txn, sub_arn, tkv_get(rec, "Protocol"), tkv_get(rec, "Endpoint"),
			 e.type, id, topic_arn, body.buf, false, NULL, res);
	sb_free(&msg);
	sb_free(&body);
	return rc;
}

static int do_subscribe(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	struct sub_args *a = arg;
	char name[TOPIC_NAME_MAX + 1], id[37];
	struct queue_kv_list topic = { 0 }, rec = { 0 }, old = { 0 };
	struct strbuf key = STRBUF_INIT;
	int rc = -1, found;
	bool fifo;

	if (ttopic_load(ts, txn, a->topic_arn, "TopicArn", name, sizeof(name), &topic, res))
		goto out;
	fifo = tkv_true(&topic, "FifoTopic");
	if (check_endpoint(ts, a->protocol, a->endpoint, fifo, res))
		goto out;
	tkv_add(&rec, "TopicArn", a->topic_arn);
	tkv_add(&rec, "Protocol", a->protocol);
	tkv_add(&rec, "Endpoint", a->endpoint);
	tkv_add(&rec, "Owner", ts->qs->account);
	if (apply_attrs(ts, txn, &rec, a, fifo, res))
		goto out;
	found = find_same(ts, txn, name, a, id, &old, res);
	if (found < 0)
		goto out;
	if (found) {
		if (!tkv_subset(&rec, &old)) {
			terr(res, TE_INVALID_PARAMETER,
			     "Invalid parameter: Attributes Reason: Subscription already exists "
			     "with different attributes");
			goto out;
		}
		a->pending = tkv_true(&old, "PendingConfirmation");
		tsub_arn(a->topic_arn, id, a->arn, a->cap);
		rc = 0;
		goto out;
	}
	uint8_t raw[16];

	qrandom(raw, sizeof(raw));
	quuid_format(raw, id);
	tsub_arn(a->topic_arn, id, a->arn, a->cap);
	a->pending = tprotocol_is_http(a->protocol);
	tkv_add(&rec, "PendingConfirmation", a->pending ? "true" : "false");
	tkv_add(&rec, "ConfirmationWasAuthenticated", a->pending ? "false" : "true");
	if (a->pending) {
		char tok[129], when[24];
		uint8_t r[64];

		qrandom(r, sizeof(r));
		qhex(r, sizeof(r), tok);
		tkv_add(&rec, "_token", tok);
		snprintf(when, sizeof(when), "%lld", (long long)queue_store_now(ts->qs));
		tkv_add(&rec, "_token_ms", when);
	}
	sb_add(&key, name, strlen(name) + 1);
	sb_add(&key, id, TOPIC_UUID_LEN);
	MDB_val k = { .mv_size = key.len, .mv_data = key.buf }, v = { .mv_size = 0, .mv_data = "" };
	int mrc = mdb_put(txn, ts->dbi[TDB_BYTOPIC], &k, &v, 0);

	if (mrc) {
		terr_mdb(res, mrc);
		goto out;
	}
	if (trec_store(txn, ts->dbi[TDB_SUBS], id, TOPIC_UUID_LEN, &rec, res))
		goto out;
	if (a->pending && send_confirmation(ts, txn, a->topic_arn, a->arn, &rec, res))
		goto out;
	rc = 0;
out:
	sb_free(&key);
	queue_kv_list_free(&topic);
	queue_kv_list_free(&rec);
	queue_kv_list_free(&old);
	return rc;
}

int topic_subscribe(struct topic_store *ts, const char *topic_arn, const char *protocol,
		    const char *endpoint, const struct queue_kv *attrs, size_t nattrs,
		    bool return_arn, char *arn, size_t cap, struct topic_result *res)
{
	struct sub_args a = { .topic_arn = topic_arn,
			      .protocol = protocol,
			      .endpoint = endpoint,
			      .attrs = attrs,
			      .nattrs = nattrs,
			      .arn = arn,
			      .cap = cap };

	tok(res);
	if (!topic_arn)
		return terr(res, TE_INVALID_PARAMETER, "Invalid parameter: TopicArn");
	if (!protocol || !*protocol)
		return terr(res, TE_INVALID_PARAMETER, "Invalid parameter: Protocol");
	if (!endpoint || !*endpoint)
		return terr(res, TE_INVALID_PARAMETER, "Invalid parameter: Endpoint");
	if (ttxn_write(ts, do_subscribe, &a, res))
		return -1;
	if (a.pending && !return_arn)
		snprintf(arn, cap, "pending confirmation");
	return 0;
}

/* ------------------------------------------------------------ unsubscribe, confirm */

static int bump_deleted(struct topic_store *ts, MDB_txn *txn, const char *topic,
			struct topic_result *res)
{
	struct queue_kv_list rec = { 0 };
	char n[24];
	int rc = trec_load(txn, ts->dbi[TDB_TOPICS], topic, strlen(topic), &rec, res);

	if (rc > 0) {
		snprintf(n, sizeof(n), "%lld", atoll(tkv_get(&rec, "_deleted") ?: "0") + 1);
		tkv_set(&rec, "_deleted", n);
		rc = trec_store(txn, ts->dbi[TDB_TOPICS], topic, strlen(topic), &rec, res);
	}
	queue_kv_list_free(&rec);
	return rc < 0 ? -1 : 0;
}

struct unsubscribe_args {
	const char *arn;
	bool authenticated;
};

static int do_unsubscribe(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	const struct unsubscribe_args *a = arg;
	char id[37], topic[TOPIC_NAME_MAX + 1];
	struct queue_kv_list rec = { 0 };
	int rc = -1;

	if (tsub_load(ts, txn, a->arn, id, &rec, res))
		goto out;
	if (!a->authenticated && tkv_true(&rec, "_auth_unsubscribe")) {
		terr(res, TE_AUTHORIZATION_ERROR,
		     "Unsubscribe requires authentication: the subscription was confirmed with "
		     "AuthenticateOnUnsubscribe");
		goto out;
	}
	if (!tname_from_arn(ts, tkv_get(&rec, "TopicArn"), topic, sizeof(topic)) &&
	    !tsub_remove(ts, txn, topic, id, res))
		rc = bump_deleted(ts, txn, topic, res);
out:
	queue_kv_list_free(&rec);
	return rc;
}

int topic_unsubscribe_as(struct topic_store *ts, const char *sub_arn, bool authenticated,
			 struct topic_result *res)
{
	struct unsubscribe_args a = { sub_arn, authenticated };

	return ttxn_write(ts, do_unsubscribe, &a, res);
}

int topic_unsubscribe(struct topic_store *ts, const char *sub_arn, struct topic_result *res)
{
	return topic_unsubscribe_as(ts, sub_arn, true, res);
}

struct confirm_args {
	const char *topic_arn, *token;
	bool authenticated, auth_unsubscribe;
	char *arn;
	size_t cap;
};

static int do_confirm(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	struct confirm_args *a = arg;
	char name[TOPIC_NAME_MAX + 1];
	struct queue_kv_list topic = { 0 }, ids = { 0 }, rec = { 0 };
	int rc = -1;

	if (ttopic_load(ts, txn, a->topic_arn, "TopicArn", name, sizeof(name), &topic, res) ||
	    tsub_ids(ts, txn, name, &ids, res))
		goto out;
	for (size_t i = 0; i < ids.n; i++) {
		queue_kv_list_free(&rec);
		if (trec_load(txn, ts->dbi[TDB_SUBS], ids.v[i].name, TOPIC_UUID_LEN, &rec, res) < 0)
			goto out;
		const char *tok = tkv_get(&rec, "_token");

		if (!tok || strcmp(tok, a->token))
			continue;
		if (queue_store_now(ts->qs) - atoll(tkv_get(&rec, "_token_ms") ?: "0") >
		    TOKEN_TTL_MS)
			break;
		tkv_set(&rec, "PendingConfirmation", "false");
		tkv_set(&rec, "ConfirmationWasAuthenticated", a->authenticated ? "true" : "false");
		if (a->authenticated && a->auth_unsubscribe)
			tkv_set(&rec, "_auth_unsubscribe", "true");
		tsub_arn(a->topic_arn, ids.v[i].name, a->arn, a->cap);
		rc = trec_store(txn, ts->dbi[TDB_SUBS], ids.v[i].name, TOPIC_UUID_LEN, &rec, res);
		goto out;
	}
	terr(res, TE_INVALID_PARAMETER, "Invalid token");
out:
	queue_kv_list_free(&topic);
	queue_kv_list_free(&ids);
	queue_kv_list_free(&rec);
	return rc;
}

int topic_confirm(struct topic_store *ts, const char *topic_arn, const char *token, char *arn,
		  size_t cap, struct topic_result *res)
{
	return topic_confirm_as(ts, topic_arn, token, true, false, arn, cap, res);
}

int topic_confirm_as(struct topic_store *ts, const char *topic_arn, const char *token,
		     bool authenticated, bool auth_unsubscribe, char *arn, size_t cap,
		     struct topic_result *res)
{
	struct confirm_args a = { topic_arn, token, authenticated, auth_unsubscribe, arn, cap };

	tok(res);
	if (!token || !*token)
		return terr(res, TE_INVALID_PARAMETER, "Invalid parameter: Token");
	return ttxn_write(ts, do_confirm, &a, res);
}

/* ------------------------------------------------------------ listings */

void topic_sub_list_free(struct topic_sub_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].arn);
		free(l->v[i].owner);
		free(l->v[i].protocol);
		free(l->v[i].endpoint);
		free(l->v[i].topic_arn);
	}
	free(l->v);
	*l = (struct topic_sub_list){ 0 };
}

static char *dup(const char *s)
{
	return xstrndup(s ? s : "", strlen(s ? s : ""));
}

static int list_one(struct topic_store *ts, MDB_txn *txn, const char *id,
		    struct topic_sub_list *out, struct topic_result *res)
{
	struct queue_kv_list rec = { 0 };
	struct topic_sub_info *s;
	char arn[600];

	if (trec_load(txn, ts->dbi[TDB_SUBS], id, TOPIC_UUID_LEN, &rec, res) < 0)
		return -1;
	out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
	s = &out->v[out->n++];
	tsub_arn(tkv_get(&rec, "TopicArn") ?: "", id, arn, sizeof(arn));
	s->arn = dup(tkv_true(&rec, "PendingConfirmation") ? "PendingConfirmation" : arn);
	s->owner = dup(tkv_get(&rec, "Owner"));
	s->protocol = dup(tkv_get(&rec, "Protocol"));
	s->endpoint = dup(tkv_get(&rec, "Endpoint"));
	s->topic_arn = dup(tkv_get(&rec, "TopicArn"));
	queue_kv_list_free(&rec);
	return 0;
}

struct list_args {
	const char *topic_arn;
	struct topic_sub_list *out;
};

static int do_list(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	struct list_args *a = arg;
	struct queue_kv_list ids = { 0 }, topic = { 0 };
	char name[TOPIC_NAME_MAX + 1];
	int rc = -1;

	if (a->topic_arn) {
		if (ttopic_load(ts, txn, a->topic_arn, "TopicArn", name, sizeof(name), &topic,
				res) ||
		    tsub_ids(ts, txn, name, &ids, res))
			goto out;
	} else {
		int mrc = qdb_keys(txn, ts->dbi[TDB_SUBS], &ids);

		if (mrc) {
			terr_mdb(res, mrc);
			goto out;
		}
	}
	for (size_t i = 0; i < ids.n; i++)
		if (list_one(ts, txn, ids.v[i].name, a->out, res))
			goto out;
	rc = 0;
out:
	queue_kv_list_free(&ids);
	queue_kv_list_free(&topic);
	return rc;
}

int topic_list_subscriptions(struct topic_store *ts, const char *topic_arn,
			     struct topic_sub_list *out, struct topic_result *res)
{
	struct list_args a = { topic_arn, out };

	*out = (struct topic_sub_list){ 0 };
	if (!ttxn_read(ts, do_list, &a, res))
		return 0;
	topic_sub_list_free(out);
	return -1;
}

/* ------------------------------------------------------------ attributes */

struct sattr_args {
	const char *arn, *name, *value;
	struct queue_kv_list *out;
	struct topic_sub_counters *counters;
};

static int do_get(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	static const char *const shown[] = { "Owner",
					     "Protocol",
					     "Endpoint",
					     "ConfirmationWasAuthenticated",
					     "PendingConfirmation",
					     NULL };
	struct sattr_args *a = arg;
	struct queue_kv_list rec = { 0 };
	const char *protocol;
	char id[37], arn[600];

	if (tsub_load(ts, txn, a->arn, id, &rec, res)) {
		queue_kv_list_free(&rec);
		return -1;
	}
	protocol = tkv_get(&rec, "Protocol") ?: "";
	tsub_arn(tkv_get(&rec, "TopicArn"), id, arn, sizeof(arn));
	tkv_add(a->out, "SubscriptionArn", arn);
	tkv_add(a->out, "TopicArn", tkv_get(&rec, "TopicArn"));
	for (int i = 0; shown[i]; i++)
		tkv_add(a->out, shown[i], tkv_get(&rec, shown[i]) ?: "");
	tkv_add(a->out, "RawMessageDelivery", tkv_get(&rec, "RawMessageDelivery") ?: "false");
	if (tkv_get(&rec, "FilterPolicy")) {
		tkv_add(a->out, "FilterPolicy", tkv_get(&rec, "FilterPolicy"));
		tkv_add(a->out, "FilterPolicyScope",
			tkv_get(&rec, "FilterPolicyScope") ?: "MessageAttributes");
	}
	if (tprotocol_is_http(protocol))
		tkv_add(a->out, "EffectiveDeliveryPolicy",
			tkv_get(&rec, "DeliveryPolicy") ?: tdefault_delivery_policy());
	for (size_t i = 0; i < rec.n; i++)
		if (rec.v[i].name[0] != '_' && !tkv_get(a->out, rec.v[i].name))
			tkv_add(a->out, rec.v[i].name, rec.v[i].value);
	queue_kv_list_free(&rec);
	return 0;
}

int topic_get_sub_attributes(struct topic_store *ts, const char *sub_arn, struct queue_kv_list *out,
			     struct topic_result *res)
{
	struct sattr_args a = { .arn = sub_arn, .out = out };

	*out = (struct queue_kv_list){ 0 };
	if (!ttxn_read(ts, do_get, &a, res))
		return 0;
	queue_kv_list_free(out);
	return -1;
}

static bool topic_is_fifo(const char *topic_arn)
{
	size_t n = strlen(topic_arn);

	return n > 5 && !strcmp(topic_arn + n - 5, ".fifo");
}

static int do_set(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	struct sattr_args *a = arg;
	struct queue_kv_list rec = { 0 };
	char id[37];
	int rc = -1;

	if (!tsub_load(ts, txn, a->arn, id, &rec, res) &&
	    !tsub_attr_apply(ts, txn, &rec, a->name, a->value,
			     topic_is_fifo(tkv_get(&rec, "TopicArn")), false, res))
		rc = trec_store(txn, ts->dbi[TDB_SUBS], id, TOPIC_UUID_LEN, &rec, res);
	queue_kv_list_free(&rec);
	return rc;
}

int topic_set_sub_attribute(struct topic_store *ts, const char *sub_arn, const char *name,
			    const char *value, struct topic_result *res)
{
	struct sattr_args a = { .arn = sub_arn, .name = name, .value = value };

	return ttxn_write(ts, do_set, &a, res);
}

/* ------------------------------------------------------------ counters */

int tcount_add(struct topic_store *ts, MDB_txn *txn, const char *sub_id, int which,
	       struct topic_result *res)
{
	MDB_val k = { .mv_size = TOPIC_UUID_LEN, .mv_data = (void *)sub_id }, v;
	struct topic_sub_counters c = { 0 };
	uint64_t *f[] = { &c.delivered, &c.filtered, &c.failed, &c.dead_lettered };
	int rc = mdb_get(txn, ts->dbi[TDB_COUNTS], &k, &v);

	if (!rc && v.mv_size == sizeof(c))
		memcpy(&c, v.mv_data, sizeof(c));
	else if (rc && rc != MDB_NOTFOUND)
		return terr_mdb(res, rc);
	++*f[which];
	v = (MDB_val){ .mv_size = sizeof(c), .mv_data = &c };
	rc = mdb_put(txn, ts->dbi[TDB_COUNTS], &k, &v, 0);
	return rc ? terr_mdb(res, rc) : 0;
}

static int do_counters(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	struct sattr_args *a = arg;
	struct queue_kv_list rec = { 0 };
	char id[37];
	int rc = tsub_load(ts, txn, a->arn, id, &rec, res);

	queue_kv_list_free(&rec);
	if (rc)
		return -1;
	MDB_val k = { .mv_size = TOPIC_UUID_LEN, .mv_data = id }, v;

	*a->counters = (struct topic_sub_counters){ 0 };
	rc = mdb_get(txn, ts->dbi[TDB_COUNTS], &k, &v);
	if (!rc && v.mv_size == sizeof(*a->counters))
		memcpy(a->counters, v.mv_data, sizeof(*a->counters));
	return rc && rc != MDB_NOTFOUND ? terr_mdb(res, rc) : 0;
}

int topic_sub_counters(struct topic_store *ts, const char *sub_arn, struct topic_sub_counters *out,
		       struct topic_result *res)
{
	struct sattr_args a = { .arn = sub_arn, .counters = out };

	return ttxn_read(ts, do_counters, &a, res);
}

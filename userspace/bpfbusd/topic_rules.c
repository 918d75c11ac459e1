// SPDX-License-Identifier: BSD-2-Clause
/*
 * SNS topics in the datapath (docs/topics.md, "SNS datagrams"): each topic
 * of the store is a bus of kind topic in the pinned bus map (and the object
 * model), and its confirmed subscriptions' filter policies (both scopes) are
 * the rules compiled into its tables (rules_dp.h), so the kernel's match
 * result is a set of subscriptions. A topic with a subscription without a
 * policy is flagged so that the kernel never drops its datagrams.
 */
#include "bpfbusd.h"
#include "datapath.h"
#include "queue.h"
#include "rules_dp.h"
#include "strbuf.h"
#include "topic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "arn:aws:sns:REGION:ACCOUNT:NAME" -> NAME */
static const char *arn_name(const char *arn)
{
	const char *c = strrchr(arn, ':');

	return c ? c + 1 : arn;
}

static const char *kv(const struct queue_kv_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return l->v[i].value;
	return NULL;
}

int bbd_topic_buses_sync(struct bbd *d)
{
	struct queue_kv_list topics;
	struct topic_result res;
	bool changed = false;
	char err[1200];
	int sfd;

	if (!d->topics)
		return 0;
	if (topic_list(d->topics, &topics, &res)) {
		log_err("topics: %s", res.message);
		return -1;
	}
	sfd = bb_map_open_pinned(d->pin_dir, BPFBUS_MAP_BUS_STATS);
	for (size_t i = 0; i < topics.n; i++) {
		const char *name = arn_name(topics.v[i].name);
		struct bpfbus_bus kb;
		uint32_t id;
		int r;

		if (!bb_bus_find(d->busfd, name, &kb)) {
			if (kb.kind != BPFBUS_BUS_TOPIC)
				log_warn("topic %s: a bus of another kind has its name: its "
					 "datagrams go to that bus",
					 name);
		} else if ((r = bb_bus_add(d->busfd, sfd, name, BPFBUS_BUS_TOPIC, &id))) {
			log_warn("topic %s: cannot add its bus: %s", name, strerror(-r));
			continue;
		}
		if (!bb_model_bus(&d->model, name)) {
			bb_model_add_bus(&d->model, name, BPFBUS_BUS_TOPIC);
			changed = true;
		}
	}
	if (sfd >= 0)
		close(sfd);
	queue_kv_list_free(&topics);
	if (changed && bb_model_save(d->state_dir, &d->model, err, sizeof(err))) {
		log_err("%s", err);
		return -1;
	}
	return 0;
}

void bbd_topic_bus_remove(struct bbd *d, const char *topic_arn)
{
	const char *name = arn_name(topic_arn);
	struct bb_mbus *b = bb_model_bus(&d->model, name);
	struct bpfbus_bus kb;
	char err[1200];

	if (!b || b->kind != BPFBUS_BUS_TOPIC || b->n_rules)
		return;
	if (!bb_bus_find(d->busfd, name, &kb) && kb.kind == BPFBUS_BUS_TOPIC)
		bb_bus_delete(d->busfd, name);
	bb_model_remove_bus(&d->model, b);
	if (bb_model_save(d->state_dir, &d->model, err, sizeof(err)))
		log_err("%s", err);
}

/* One topic's rules: its confirmed subscriptions' policies, keep_all for one without. */
static void topic_rules(struct bbd *d, const char *arn, struct bb_topic_rules *t)
{
	struct topic_sub_list subs;
	struct topic_result res;
	struct bb_topic_sub *v;

	t->topic = xstrndup(arn_name(arn), strlen(arn_name(arn)));
	if (topic_list_subscriptions(d->topics, arn, &subs, &res)) {
		t->verify_all = true; /* cannot tell: ask about everything */
		return;
	}
	v = xcalloc(subs.n + 1, sizeof(*v));
	for (size_t i = 0; i < subs.n && !t->verify_all; i++) {
		struct queue_kv_list a;
		const char *policy, *scope;

		if (topic_get_sub_attributes(d->topics, subs.v[i].arn, &a, &res))
			continue; /* pending ("PendingConfirmation"): it gets nothing */
		policy = kv(&a, "FilterPolicy");
		scope = kv(&a, "FilterPolicyScope");
		if (!policy || !*policy) {
			t->keep_all = true; /* it wants everything */
		} else {
			v[t->n].id =
				xstrndup(arn_name(subs.v[i].arn), strlen(arn_name(subs.v[i].arn)));
			v[t->n].body_scope = scope && !strcmp(scope, "MessageBody");
			v[t->n++].policy = xstrndup(policy, strlen(policy));
		}
		queue_kv_list_free(&a);
	}
	t->subs = v;
	topic_sub_list_free(&subs);
}

struct bb_topic_rules *bbd_topic_rules(struct bbd *d, size_t *n)
{
	struct queue_kv_list topics;
	struct bb_topic_rules *t;
	struct topic_result res;

	*n = 0;
	if (!d->topics || topic_list(d->topics, &topics, &res))
		return NULL;
	t = xcalloc(topics.n + 1, sizeof(*t));
	for (size_t i = 0; i < topics.n; i++)
		topic_rules(d, topics.v[i].name, &t[(*n)++]);
	queue_kv_list_free(&topics);
	return t;
}

void bbd_topic_rules_free(struct bb_topic_rules *t, size_t n)
{
	for (size_t i = 0; t && i < n; i++) {
		for (size_t j = 0; j < t[i].n; j++) {
			free((char *)t[i].subs[j].id);
			free((char *)t[i].subs[j].policy);
		}
		free((void *)t[i].subs);
		free((char *)t[i].topic);
	}
	free(t);
}

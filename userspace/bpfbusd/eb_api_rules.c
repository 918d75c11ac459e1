// SPDX-License-Identifier: BSD-2-Clause
/* EventBridge rule actions over the object model (eb_api.h). */
#include "eb_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The members DescribeRule and ListRules show of a rule @item of bus @ctx. */
static void rule_json(struct eb_call *c, const void *item, const void *ctx)
{
	const struct bb_rule *r = item;
	const struct bb_mbus *b = ctx;
	char arn[600];

	eb_api_rule_arn(c->d, b->name, r->name, arn, sizeof(arn));
	eb_put_str(c->out, "Name", r->name, true);
	eb_put_str(c->out, "Arn", arn, false);
	if (r->pattern)
		eb_put_str(c->out, "EventPattern", r->pattern, false);
	if (r->schedule)
		eb_put_str(c->out, "ScheduleExpression", r->schedule, false);
	eb_put_str(c->out, "State", r->enabled ? "ENABLED" : "DISABLED", false);
	if (r->description)
		eb_put_str(c->out, "Description", r->description, false);
	eb_put_str(c->out, "EventBusName", b->name, false);
}

int eb_put_rule(struct eb_call *c)
{
	struct bb_mbus *b = eb_req_bus(c, "EventBusName");
	struct bb_rule r = { .enabled = true }, *old;
	const char *state, *role;
	const struct json_value *tags = json_get(c->req, "Tags");
	struct strbuf snap = STRBUF_INIT;
	char arn[600];

	if (!b || eb_str(c, "Name", true, (const char **)&r.name) ||
	    eb_str(c, "EventPattern", false, (const char **)&r.pattern) ||
	    eb_str(c, "ScheduleExpression", false, (const char **)&r.schedule) ||
	    eb_str(c, "Description", false, (const char **)&r.description) ||
	    eb_str(c, "State", false, &state) || eb_str(c, "RoleArn", false, &role))
		return -1;
	if (state && strcmp(state, "ENABLED") && strcmp(state, "DISABLED"))
		return eb_fail(c, "ValidationException",
			       "1 validation error detected: Value '%.64s' at 'state' failed to "
			       "satisfy constraint: Member must satisfy enum value set: [ENABLED, "
			       "DISABLED]",
			       state);
	r.enabled = !state || !strcmp(state, "ENABLED");
	if (bbd_check_rule(b, &r, &c->err))
		return -1;
	/* Tags count on creation only, as EventBridge's PutRule does */
	old = bb_model_rule(b, r.name);
	if (!old && tags && eb_tags_from_request(c, "Tags", &r.tags))
		return -1;
	bb_model_to_json(&c->d->model, &snap);
	bb_model_put_rule(b, &r, true);
	bb_tags_free(&r.tags);
	if (eb_commit(c, &snap))
		return -1;
	b = bb_model_bus(&c->d->model, b->name);
	eb_api_rule_arn(c->d, b->name, r.name, arn, sizeof(arn));
	sb_addc(c->out, '{');
	eb_put_str(c->out, "RuleArn", arn, true);
	sb_addc(c->out, '}');
	log_info("http: rule %s/%s put (%s)", b->name, r.name, r.enabled ? "enabled" : "disabled");
	return 0;
}

int eb_delete_rule(struct eb_call *c)
{
	struct bb_mbus *b = eb_req_bus(c, "EventBusName");
	const struct json_value *force = json_get(c->req, "Force");
	struct strbuf snap = STRBUF_INIT;
	const char *name;
	struct bb_rule *r;

	if (!b || eb_str(c, "Name", true, &name))
		return -1;
	if (force && force->type != JSON_TRUE && force->type != JSON_FALSE)
		return eb_fail(c, "SerializationException", "Force must be a boolean");
	r = bb_model_rule(b, name);
	if (!r) { /* deleting what is not there succeeds */
		sb_adds(c->out, "{}");
		return 0;
	}
	if (r->n_targets)
		return eb_fail(c, "ValidationException",
			       "Rule can't be deleted since it has targets.");
	bb_model_to_json(&c->d->model, &snap);
	bb_model_remove_rule(b, r);
	return eb_commit_empty(c, &snap);
}

int eb_describe_rule(struct eb_call *c)
{
	struct bb_mbus *b;
	struct bb_rule *r = eb_req_rule(c, "Name", &b);

	if (!r)
		return -1;
	sb_addc(c->out, '{');
	rule_json(c, r, b);
	eb_put_str(c->out, "CreatedBy", bbd_account(c->d), false);
	sb_addc(c->out, '}');
	return 0;
}

/* A rule as an item of ListRules. */
static void rule_item(struct eb_call *c, const void *item, const void *ctx)
{
	sb_addc(c->out, '{');
	rule_json(c, item, ctx);
	sb_addc(c->out, '}');
}

int eb_list_rules(struct eb_call *c)
{
	struct bb_mbus *b = eb_req_bus(c, "EventBusName");
	const void **sel;
	const char *prefix;
	size_t n = 0;
	int rc;

	if (!b || eb_str(c, "NamePrefix", false, &prefix))
		return -1;
	sel = xcalloc(b->n_rules + 1, sizeof(*sel));
	for (size_t i = 0; i < b->n_rules; i++)
		if (!prefix || !strncmp(b->rules[i].name, prefix, strlen(prefix)))
			sel[n++] = &b->rules[i];
	rc = eb_list_page(c, "Rules", sel, n, rule_item, b);
	free(sel);
	return rc;
}

static int set_state(struct eb_call *c, bool enabled)
{
	struct bb_mbus *b;
	struct bb_rule *r = eb_req_rule(c, "Name", &b);
	struct strbuf snap = STRBUF_INIT;

	if (!r)
		return -1;
	bb_model_to_json(&c->d->model, &snap);
	r->enabled = enabled;
	return eb_commit_empty(c, &snap);
}

int eb_enable_rule(struct eb_call *c)
{
	return set_state(c, true);
}

int eb_disable_rule(struct eb_call *c)
{
	return set_state(c, false);
}

static void name_item(struct eb_call *c, const void *item, const void *ctx)
{
	(void)ctx;
	json_write_string(c->out, item, strlen(item));
}

int eb_list_rule_names_by_target(struct eb_call *c)
{
	struct bb_mbus *b = eb_req_bus(c, "EventBusName");
	const char *want;
	const void **sel;
	size_t n = 0;
	char arn[BB_TARGET_ADDR_MAX + 128];
	int rc;

	if (!b || eb_str(c, "TargetArn", true, &want))
		return -1;
	sel = xcalloc(b->n_rules + 1, sizeof(*sel));
	for (size_t i = 0; i < b->n_rules; i++) {
		const struct bb_rule *r = &b->rules[i];

		for (int t = 0; t < r->n_targets; t++) {
			bbd_target_arn(c->d, &r->targets[t], arn, sizeof(arn));
			if (!strcmp(arn, want)) {
				sel[n++] = r->name;
				break;
			}
		}
	}
	rc = eb_list_page(c, "RuleNames", sel, n, name_item, NULL);
	free(sel);
	return rc;
}

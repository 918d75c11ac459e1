// SPDX-License-Identifier: BSD-2-Clause
/*
 * SNS subscription filter policies: the EventBridge grammar (pattern.c) in
 * its SNS dialect, plus SNS's own limits and error wording:
 *   - at most 5 keys (attribute names; for MessageBody, top-level keys),
 *   - at most 150 combinations: summed over the $or branches, the product
 *     over each branch's fields of (nesting depth x number of values),
 *   - at most 256 KiB of policy text.
 * The error prefix depends on the API call that carried the policy.
 */
#include "ir.h"
#include "json.h"
#include "ruleset.h"

#include <stdio.h>
#include <string.h>

#define POLICY_MAX_KEYS 5
#define POLICY_MAX_COMBINATIONS 150
#define POLICY_MAX_BYTES (256 * 1024)

static const char *api_prefix(enum bb_policy_api api)
{
	return api == BB_API_SUBSCRIBE
		       ? "Invalid parameter: Attributes Reason: FilterPolicy: "
		       : "Invalid parameter: FilterPolicy: ";
}

static bool policy_error(struct bb_error *err, enum bb_policy_api api,
			 const char *reason)
{
	if (err)
		snprintf(err->msg, sizeof(err->msg), "%s%s", api_prefix(api),
			 reason);
	return false;
}

/* Distinct top-level key names, looking through top-level $or objects. */
static size_t count_keys(const struct json_value *obj, const char **seen,
			 size_t *lens, size_t n, size_t cap)
{
	for (size_t i = 0; i < obj->u.obj.n; i++) {
		const struct json_member *m = &obj->u.obj.members[i];

		if (!strcmp(m->key, "$or") && m->value->type == JSON_ARRAY) {
			for (size_t k = 0; k < m->value->u.arr.n; k++) {
				const struct json_value *o = m->value->u.arr.items[k];

				if (o->type == JSON_OBJECT)
					n = count_keys(o, seen, lens, n, cap);
			}
			continue;
		}
		size_t j = 0;

		while (j < n && !(lens[j] == m->key_len &&
				  !memcmp(seen[j], m->key, m->key_len)))
			j++;
		if (j == n && n < cap) {
			seen[n] = m->key;
			lens[n++] = m->key_len;
		}
	}
	return n;
}

static double combinations(const struct ir_rule *r)
{
	double total = 0;

	for (size_t b = 0; b < r->n_branches; b++) {
		double prod = 1;

		for (size_t f = 0; f < r->branches[b].n_fields; f++) {
			const struct ir_field *fd = &r->branches[b].fields[f];

			prod *= (double)fd->depth * (double)fd->n_m;
		}
		total += prod;
	}
	return total;
}

static bool is_nested(const struct ir_rule *r)
{
	for (size_t b = 0; b < r->n_branches; b++)
		for (size_t f = 0; f < r->branches[b].n_fields; f++)
			if (r->branches[b].fields[f].depth > 1)
				return true;
	return false;
}

bool policy_compile(const char *policy, size_t len, enum bb_scope scope,
		    enum bb_policy_api api, struct ir_rule *out,
		    struct bb_error *err)
{
	char reason[BB_ERR_MAX - 96];

	memset(out, 0, sizeof(*out));
	if (err)
		err->path[0] = '\0';
	if (len > POLICY_MAX_BYTES)
		return policy_error(err, api,
				    "Filter policy is too large (more than "
				    "256 KB)");
	struct json_doc *doc = json_parse_with(
		policy, len, &(struct json_parse_opts){ .source = JSON_SOURCE_REDACTED });
	const struct json_value *root = json_doc_root(doc);

	if (!root) {
		snprintf(reason, sizeof(reason), "failed to parse JSON. %s",
			 json_doc_error(doc));
		json_doc_free(doc);
		return policy_error(err, api, reason);
	}
	enum ir_dialect d = scope == BB_SCOPE_MESSAGE_BODY
				    ? DIALECT_SNS_BODY
				    : DIALECT_SNS_ATTRIBUTES;

	char where[sizeof(err->path)];

	if (!ir_compile(policy, len, d, out, reason, sizeof(reason), where,
			sizeof(where))) {
		json_doc_free(doc);
		if (err)
			snprintf(err->path, sizeof(err->path), "%s", where);
		return policy_error(err, api, reason);
	}
	if (scope == BB_SCOPE_MESSAGE_ATTRIBUTES && is_nested(out)) {
		json_doc_free(doc);
		ir_rule_free(out);
		if (err)
			snprintf(err->msg, sizeof(err->msg),
				 "Invalid parameter: %sFilter policy scope "
				 "MessageAttributes does not support nested "
				 "filter policy",
				 api == BB_API_SUBSCRIBE ? "Attributes Reason: "
							 : "");
		return false;
	}
	const char *seen[POLICY_MAX_KEYS + 1];
	size_t lens[POLICY_MAX_KEYS + 1];
	size_t keys = count_keys(root, seen, lens, 0, POLICY_MAX_KEYS + 1);

	json_doc_free(doc);
	if (keys > POLICY_MAX_KEYS) {
		ir_rule_free(out);
		return policy_error(err, api,
				    "Filter policy can not have more than 5 "
				    "keys");
	}
	if (combinations(out) > POLICY_MAX_COMBINATIONS) {
		ir_rule_free(out);
		return policy_error(err, api, "Filter policy is too complex");
	}
	return true;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * The SQS query protocol's parameters as AWS JSON 1.0 requests (http_int.h).
 * Parameter names are paths ("Attribute.2.Value",
 * "SendMessageBatchRequestEntry.1.MessageAttribute.3.Value.StringValue"):
 * they are first gathered into a tree, then each subtree is written as the
 * JSON member the service model gives it (flattened lists, name/value maps,
 * message attribute maps, lists of batch entries).
 */
#include "http_int.h"
#include "sqs_api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct qnode {
	char *name;
	const char *value; /* leaf value (owned by the parameters) */
	struct qnode *kids;
	size_t nkids;
};

enum shape { LIST, MAP, MSG_ATTRS, ENTRIES };

static const struct rule {
	const char *param; /* the flattened name in the query */
	const char *member; /* the JSON member */
	enum shape shape;
	const char *key, *value; /* MAP: the entry's key and value names */
} rules[] = {
	{ "Attribute", "Attributes", MAP, "Name", "Value" },
	{ "Tag", "Tags", MAP, "Key", "Value" }, /* CreateQueue: "tags" */
	{ "Tags", "Tags", MAP, "Key", "Value" },
	{ "AttributeName", "AttributeNames", LIST, NULL, NULL },
	{ "MessageAttributeName", "MessageAttributeNames", LIST, NULL, NULL },
	{ "MessageSystemAttributeName", "MessageSystemAttributeNames", LIST, NULL, NULL },
	{ "TagKey", "TagKeys", LIST, NULL, NULL },
	{ "AWSAccountId", "AWSAccountIds", LIST, NULL, NULL },
	{ "ActionName", "Actions", LIST, NULL, NULL },
	{ "MessageAttribute", "MessageAttributes", MSG_ATTRS, NULL, NULL },
	{ "MessageSystemAttribute", "MessageSystemAttributes", MSG_ATTRS, NULL, NULL },
	{ "SendMessageBatchRequestEntry", "Entries", ENTRIES, NULL, NULL },
	{ "DeleteMessageBatchRequestEntry", "Entries", ENTRIES, NULL, NULL },
	{ "ChangeMessageVisibilityBatchRequestEntry", "Entries", ENTRIES, NULL, NULL },
};

/* Parameters of the protocol and of signing, not of the action. */
static bool is_envelope(const char *name)
{
	static const char *const skip[] = { "Action",	 "Version",	    "AWSAccessKeyId",
					    "Signature", "SignatureMethod", "SignatureVersion",
					    "Timestamp", "Expires",	    "SecurityToken" };

	if (!strncmp(name, "X-Amz-", 6))
		return true;
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (!strcmp(name, skip[i]))
			return true;
	return false;
}

static struct qnode *child(struct qnode *n, const char *name, size_t len)
{
	for (size_t i = 0; i < n->nkids; i++)
		if (strlen(n->kids[i].name) == len && !memcmp(n->kids[i].name, name, len))
			return &n->kids[i];
	n->kids = xrealloc(n->kids, (n->nkids + 1) * sizeof(*n->kids));
	n->kids[n->nkids] = (struct qnode){ .name = xstrndup(name, len) };
	return &n->kids[n->nkids++];
}

static void tree_free(struct qnode *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		tree_free(&n->kids[i]);
	free(n->kids);
	free(n->name);
}

static int insert(struct qnode *root, const char *path, const char *value, char *err, size_t cap)
{
	struct qnode *n = root;

	for (const char *p = path;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		if (!len) {
			snprintf(err, cap, "The parameter name %.100s is malformed.", path);
			return -1;
		}
		n = child(n, p, len);
		if (!dot)
			break;
		p = dot + 1;
	}
	if (n->value || n->nkids) {
		snprintf(err, cap,
			 "The parameter %.100s is given more than once or clashes with "
			 "another.",
			 path);
		return -1;
	}
	n->value = value;
	return 0;
}

/* Children of a flattened list in index order; -1 when an index is not 1, 2, ... */
static int by_index(struct qnode *n, struct qnode ***out, const char *param, char *err, size_t cap)
{
	*out = xcalloc(n->nkids, sizeof(**out));
	for (size_t i = 0; i < n->nkids; i++) {
		char *end;
		long idx = strtol(n->kids[i].name, &end, 10);

		if (*end || idx < 1 || (size_t)idx > n->nkids || (*out)[idx - 1] ||
		    n->kids[i].name[0] == '0') {
			snprintf(err, cap,
				 "Value %.40s for parameter %s is invalid. Reason: list indexes "
				 "must "
				 "be 1, 2, ... without gaps.",
				 n->kids[i].name, param);
			free(*out);
			return -1;
		}
		(*out)[idx - 1] = &n->kids[i];
	}
	return 0;
}

static const char *leaf(const struct qnode *n, const char *name)
{
	for (size_t i = 0; i < n->nkids; i++)
		if (!strcmp(n->kids[i].name, name))
			return n->kids[i].value;
	return NULL;
}

static const struct qnode *sub(const struct qnode *n, const char *name)
{
	for (size_t i = 0; i < n->nkids; i++)
		if (!strcmp(n->kids[i].name, name))
			return &n->kids[i];
	return NULL;
}

static int write_object(const char *action, struct qnode *n, struct strbuf *sb, char *err,
			size_t cap);

static int write_shape(const char *action, const struct rule *r, struct qnode *n, struct strbuf *sb,
		       char *err, size_t cap)
{
	struct qnode **items;
	int rc = 0;

	if (n->value) {
		snprintf(err, cap, "The parameter %s needs an index (%s.1, %s.2, ...).", r->param,
			 r->param, r->param);
		return -1;
	}
	if (by_index(n, &items, r->param, err, cap))
		return -1;
	for (size_t i = 0; i < n->nkids && !rc; i++) {
		struct qnode *it = items[i];
		const struct qnode *v;

		switch (r->shape) {
		case LIST:
			sj_str(sb, NULL, it->value ? it->value : "");
			break;
		case MAP:
			sj_str(sb, leaf(it, r->key) ? leaf(it, r->key) : "",
			       leaf(it, r->value) ? leaf(it, r->value) : "");
			break;
		case MSG_ATTRS:
			v = sub(it, "Value");
			sj_open(sb, leaf(it, "Name") ? leaf(it, "Name") : "", '{');
			for (size_t j = 0; v && j < v->nkids; j++)
				if (v->kids[j].value)
					sj_str(sb, v->kids[j].name, v->kids[j].value);
			sj_close(sb, '}');
			break;
		case ENTRIES:
			sj_key(sb, NULL);
			rc = write_object(action, it, sb, err, cap);
			break;
		}
	}
	free(items);
	return rc;
}

static int write_object(const char *action, struct qnode *n, struct strbuf *sb, char *err,
			size_t cap)
{
	sb_addc(sb, '{');
	for (size_t i = 0; i < n->nkids; i++) {
		struct qnode *k = &n->kids[i];
		const struct rule *r = NULL;
		const char *member;

		if (k->value && !k->nkids) {
			sj_str(sb, k->name, k->value);
			continue;
		}
		for (size_t j = 0; j < sizeof(rules) / sizeof(rules[0]) && !r; j++)
			if (!strcmp(rules[j].param, k->name))
				r = &rules[j];
		if (!r) {
			snprintf(err, cap, "The parameter %.100s is not recognized.", k->name);
			return -1;
		}
		/* CreateQueue's tag map is "tags" in the JSON shapes, TagQueue's "Tags". */
		member = r->shape == MAP && !strcmp(r->param, "Tag") &&
					 !strcmp(action, "CreateQueue")
				 ? "tags"
				 : r->member;
		sj_open(sb, member, r->shape == LIST || r->shape == ENTRIES ? '[' : '{');
		if (write_shape(action, r, k, sb, err, cap))
			return -1;
		sj_close(sb, r->shape == LIST || r->shape == ENTRIES ? ']' : '}');
	}
	sb_addc(sb, '}');
	return 0;
}

int sqs_query_to_json(const char *action, const struct http_param *p, size_t n, struct strbuf *json,
		      char *err, size_t cap)
{
	struct qnode root = { 0 };
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++)
		if (!is_envelope(p[i].name))
			rc = insert(&root, p[i].name, p[i].value, err, cap);
	if (!rc)
		rc = write_object(action, &root, json, err, cap);
	tree_free(&root);
	return rc;
}

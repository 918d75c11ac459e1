// SPDX-License-Identifier: BSD-2-Clause
/*
 * What Publish accepts: the message, Subject, MessageStructure, message
 * attributes and the FIFO parameters, with SNS's errors; and the forms a
 * message takes on its way out (per-protocol message, attributes as JSON).
 */
#include "topic_int.h"
#include "json.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "String", "String.Array", "Number" or "Binary", custom suffixes allowed but on String.Array. */
static const char *attr_base(const char *t)
{
	static const char *const bases[] = { "String", "Number", "Binary" };

	if (!strcmp(t, "String.Array"))
		return "String.Array";
	for (int i = 0; i < 3; i++) {
		size_t l = strlen(bases[i]);

		if (!strncmp(t, bases[i], l) && (t[l] == '\0' || (t[l] == '.' && t[l + 1])))
			return bases[i];
	}
	return NULL;
}

/* A String.Array value: a JSON array of strings, numbers, booleans and nulls. */
static bool string_array_valid(const char *s, size_t len)
{
	struct json_doc *d = json_parse(s, len, true);
	const struct json_value *v = json_doc_root(d);
	bool ok = !json_doc_error(d) && v && v->type == JSON_ARRAY;

	for (size_t i = 0; ok && i < v->u.arr.n; i++)
		ok = v->u.arr.items[i]->type != JSON_ARRAY &&
		     v->u.arr.items[i]->type != JSON_OBJECT;
	json_doc_free(d);
	return ok;
}

static int attrs_validate(const struct queue_msg_attr *a, size_t n, size_t *size,
			  struct topic_result *res)
{
	*size = 0;
	for (size_t i = 0; i < n; i++) {
		const char *name = a[i].name ? a[i].name : "", *base;

		if (!qattr_name_valid(name))
			return terr(res, TE_INVALID_PARAMETER_VALUE,
				    "Message attribute name '%s' is invalid. Names can contain "
				    "alphanumeric characters, hyphens, underscores and periods, "
				    "must not start or end with a period, contain consecutive "
				    "periods or start with AWS. or Amazon., and be 1 to 256 in "
				    "length.",
				    name);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(a[j].name, name))
				return terr(res, TE_INVALID_PARAMETER_VALUE,
					    "Message attribute name '%s' already exists.", name);
		base = a[i].type ? attr_base(a[i].type) : NULL;
		if (!base)
			return terr(
				res, TE_INVALID_PARAMETER_VALUE,
				"The message attribute '%s' has an invalid message attribute "
				"type, the set of supported type prefixes is Binary, Number, and "
				"String.",
				name);
		if (!a[i].value || a[i].len == 0)
			return terr(res, TE_INVALID_PARAMETER_VALUE,
				    "The message attribute '%s' must contain non-empty message "
				    "attribute value for message attribute type '%s'.",
				    name, base);
		if (base[0] == 'N' && !qnumber_valid(a[i].value, a[i].len))
			return terr(res, TE_INVALID_PARAMETER_VALUE,
				    "Could not cast message attribute '%s' value to number.", name);
		if (base[0] == 'S' && !qtext_valid(a[i].value, a[i].len, NULL))
			return terr(res, TE_INVALID_PARAMETER_VALUE,
				    "The message attribute '%s' has a value with characters SNS "
				    "does not accept.",
				    name);
		if (!strcmp(base, "String.Array") && !string_array_valid(a[i].value, a[i].len))
			return terr(
				res, TE_INVALID_PARAMETER_VALUE,
				"The message attribute '%s' with type 'String.Array' must "
				"contain a JSON array of strings, numbers, true, false or null.",
				name);
		*size += strlen(name) + strlen(a[i].type) + a[i].len;
	}
	return 0;
}

static bool subject_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > TOPIC_MAX_SUBJECT)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return !(s[0] == ' ');
}

static int structure_validate(const char *msg, struct topic_result *res)
{
	struct json_doc *d = json_parse(msg, strlen(msg), true);
	const struct json_value *v = json_doc_root(d), *def;
	int rc = 0;

	if (json_doc_error(d) || !v || v->type != JSON_OBJECT)
		rc = terr(res, TE_INVALID_PARAMETER,
			  "Invalid parameter: Message Structure - JSON message body failed to "
			  "parse");
	else if (!(def = json_get(v, "default")) || def->type != JSON_STRING)
		rc = terr(res, TE_INVALID_PARAMETER,
			  "Invalid parameter: Message Structure - No default entry in JSON message "
			  "body");
	json_doc_free(d);
	return rc;
}

int tmsg_validate(const struct topic_publish_entry *e, bool fifo, bool cbd,
		  struct topic_result *res)
{
	size_t size, len = e->message ? strlen(e->message) : 0;

	if (!len)
		return terr(res, TE_INVALID_PARAMETER, "Invalid parameter: Empty message");
	if (!qtext_valid(e->message, len, NULL))
		return terr(res, TE_INVALID_PARAMETER,
			    "Invalid parameter: Message Reason: Message contains characters SNS "
			    "does not accept");
	if (e->subject && !subject_valid(e->subject))
		return terr(res, TE_INVALID_PARAMETER, "Invalid parameter: Subject");
	if (e->message_structure && strcmp(e->message_structure, "json"))
		return terr(res, TE_INVALID_PARAMETER, "Invalid parameter: MessageStructure");
	if (e->message_structure && structure_validate(e->message, res))
		return -1;
	if (attrs_validate(e->attrs, e->nattrs, &size, res))
		return -1;
	if (len + size > TOPIC_MAX_MESSAGE)
		return terr(res, TE_INVALID_PARAMETER, "Invalid parameter: Message too long");
	if (fifo) {
		if (!e->group_id)
			return terr(res, TE_INVALID_PARAMETER,
				    "Invalid parameter: The MessageGroupId parameter is required "
				    "for FIFO topics");
		if (!e->dedup_id && !cbd)
			return terr(res, TE_INVALID_PARAMETER,
				    "Invalid parameter: The topic should either have "
				    "ContentBasedDeduplication enabled or MessageDeduplicationId "
				    "provided explicitly");
	} else if (e->dedup_id) {
		return terr(
			res, TE_INVALID_PARAMETER,
			"Invalid parameter: MessageDeduplicationId Reason: The request includes "
			"MessageDeduplicationId parameter that is not valid for this topic type");
	}
	if (e->group_id && !qtoken_valid(e->group_id))
		return terr(res, TE_INVALID_PARAMETER,
			    "Invalid parameter: MessageGroupId Reason: MessageGroupId can only "
			    "include alphanumeric and punctuation characters. 1 to 128 in length.");
	if (e->dedup_id && !qtoken_valid(e->dedup_id))
		return terr(res, TE_INVALID_PARAMETER,
			    "Invalid parameter: MessageDeduplicationId Reason: "
			    "MessageDeduplicationId can only include alphanumeric and punctuation "
			    "characters. 1 to 128 in length.");
	return 0;
}

int tmsg_for_protocol(const struct topic_publish_entry *e, const char *protocol, struct strbuf *out)
{
	struct json_doc *d;
	const struct json_value *root, *v;

	sb_reset(out);
	if (!e->message_structure) {
		sb_adds(out, e->message);
		return 0;
	}
	/* Validated: a JSON object with a string "default". */
	d = json_parse(e->message, strlen(e->message), true);
	root = json_doc_root(d);
	v = json_get(root, tprotocol_is_queue(protocol) ? "sqs" : protocol);
	if (!v || v->type != JSON_STRING)
		v = json_get(root, "default");
	sb_add(out, v->u.str.s, v->u.str.len);
	json_doc_free(d);
	return 0;
}

void tmsg_attrs_json(const struct queue_msg_attr *a, size_t n, struct strbuf *sb)
{
	sb_addc(sb, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_addc(sb, ',');
		json_write_string(sb, a[i].name, strlen(a[i].name));
		sb_adds(sb, ":{\"Type\":");
		json_write_string(sb, a[i].type, strlen(a[i].type));
		sb_adds(sb, ",\"Value\":");
		if (!strncmp(a[i].type, "Binary", 6)) {
			char *b64 = xmalloc(4 * ((a[i].len + 2) / 3) + 1);

			EVP_EncodeBlock((unsigned char *)b64, a[i].value, (int)a[i].len);
			json_write_string(sb, b64, strlen(b64));
			free(b64);
		} else {
			json_write_string(sb, a[i].value, a[i].len);
		}
		sb_addc(sb, '}');
	}
	sb_addc(sb, '}');
}

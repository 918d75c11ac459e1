// SPDX-License-Identifier: BSD-2-Clause
/*
 * SQS answers in the query protocol (http_int.h): the AWS JSON 1.0 answer of
 * the dispatcher written as the XML document botocore parses, with SQS's
 * flattened lists and maps (<QueueUrl> repeated, <Attribute><Name/><Value/>,
 * <MessageAttribute><Name/><Value>...</Value>, <...BatchResultEntry>).
 */
#include "http_int.h"
#include "json.h"
#include "strbuf.h"

#include <stdio.h>
#include <string.h>

#define SQS_XMLNS "http://queue.amazonaws.com/doc/2012-11-05/"

void http_xml_escape(struct strbuf *sb, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '&':
			sb_adds(sb, "&amp;");
			break;
		case '<':
			sb_adds(sb, "&lt;");
			break;
		case '>':
			sb_adds(sb, "&gt;");
			break;
		case '"':
			sb_adds(sb, "&quot;");
			break;
		case '\'':
			sb_adds(sb, "&apos;");
			break;
		case '\r':
			/* XML parsers turn a raw CR into LF: keep it as a reference. */
			sb_adds(sb, "&#xD;");
			break;
		default:
			sb_addc(sb, s[i]);
		}
	}
}

static void open_tag(struct strbuf *sb, const char *name, size_t len)
{
	sb_addc(sb, '<');
	sb_add(sb, name, len);
	sb_addc(sb, '>');
}

static void close_tag(struct strbuf *sb, const char *name, size_t len)
{
	sb_adds(sb, "</");
	sb_add(sb, name, len);
	sb_addc(sb, '>');
}

static void scalar(struct strbuf *sb, const struct json_value *v)
{
	switch (v->type) {
	case JSON_STRING:
		http_xml_escape(sb, v->u.str.s, v->u.str.len);
		break;
	case JSON_NUMBER:
		sb_add(sb, v->u.num.raw, v->u.num.raw_len);
		break;
	case JSON_TRUE:
		sb_adds(sb, "true");
		break;
	case JSON_FALSE:
		sb_adds(sb, "false");
		break;
	default:
		break;
	}
}

static void element(struct strbuf *sb, const char *name, const struct json_value *v);

static void members(struct strbuf *sb, const struct json_value *obj, const char *action);

/* <Wrap><K>key</K><V>value</V></Wrap> for each member of a map. */
static void map(struct strbuf *sb, const struct json_value *m, const char *wrap, const char *k,
		const char *v)
{
	for (size_t i = 0; m->type == JSON_OBJECT && i < m->u.obj.n; i++) {
		const struct json_member *e = &m->u.obj.members[i];

		open_tag(sb, wrap, strlen(wrap));
		open_tag(sb, k, strlen(k));
		http_xml_escape(sb, e->key, e->key_len);
		close_tag(sb, k, strlen(k));
		element(sb, v, e->value);
		close_tag(sb, wrap, strlen(wrap));
	}
}

/* @name around each item of @arr (a flattened list). */
static void list(struct strbuf *sb, const struct json_value *arr, const char *name,
		 const char *action)
{
	for (size_t i = 0; arr->type == JSON_ARRAY && i < arr->u.arr.n; i++) {
		const struct json_value *it = arr->u.arr.items[i];

		if (it->type == JSON_OBJECT) {
			open_tag(sb, name, strlen(name));
			members(sb, it, action);
			close_tag(sb, name, strlen(name));
		} else {
			element(sb, name, it);
		}
	}
}

static void element(struct strbuf *sb, const char *name, const struct json_value *v)
{
	open_tag(sb, name, strlen(name));
	if (v->type == JSON_OBJECT)
		members(sb, v, "");
	else
		scalar(sb, v);
	close_tag(sb, name, strlen(name));
}

static void members(struct strbuf *sb, const struct json_value *obj, const char *action)
{
	for (size_t i = 0; i < obj->u.obj.n; i++) {
		const struct json_member *m = &obj->u.obj.members[i];
		const struct json_value *v = m->value;
		char entry[96];

		if (!strcmp(m->key, "QueueUrls") || !strcmp(m->key, "queueUrls")) {
			list(sb, v, "QueueUrl", action);
		} else if (!strcmp(m->key, "Attributes")) {
			map(sb, v, "Attribute", "Name", "Value");
		} else if (!strcmp(m->key, "Tags")) {
			map(sb, v, "Tag", "Key", "Value");
		} else if (!strcmp(m->key, "MessageAttributes")) {
			map(sb, v, "MessageAttribute", "Name", "Value");
		} else if (!strcmp(m->key, "Messages")) {
			list(sb, v, "Message", action);
		} else if (!strcmp(m->key, "Successful")) {
			snprintf(entry, sizeof(entry), "%sResultEntry", action);
			list(sb, v, entry, action);
		} else if (!strcmp(m->key, "Failed")) {
			list(sb, v, "BatchResultErrorEntry", action);
		} else if (!strcmp(m->key, "Results")) {
			list(sb, v, "ListMessageMoveTasksResultEntry", action);
		} else if (v->type == JSON_ARRAY) {
			list(sb, v, m->key, action);
		} else {
			element(sb, m->key, v);
		}
	}
}

static bool has_output(const char *action)
{
	static const char *const none[] = {
		"AddPermission", "ChangeMessageVisibility", "DeleteMessage",	  "DeleteQueue",
		"PurgeQueue",	 "RemovePermission",	    "SetQueueAttributes", "TagQueue",
		"UntagQueue",
	};

	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		if (!strcmp(action, none[i]))
			return false;
	return true;
}

void sqs_json_to_xml(const char *action, const char *json, size_t len, const char *request_id,
		     struct strbuf *xml)
{
	struct json_doc *doc = json_parse(json, len, true);
	const struct json_value *root = json_doc_error(doc) ? NULL : json_doc_root(doc);

	sb_printf(xml, "<?xml version=\"1.0\"?><%sResponse xmlns=\"" SQS_XMLNS "\">", action);
	/* botocore looks for the result element of every action that has output, even empty. */
	if (root && root->type == JSON_OBJECT && (root->u.obj.n || has_output(action))) {
		sb_printf(xml, "<%sResult>", action);
		members(xml, root, action);
		sb_printf(xml, "</%sResult>", action);
	}
	sb_printf(xml,
		  "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>",
		  request_id, action);
	json_doc_free(doc);
}

void http_query_error(struct strbuf *sb, bool sender, const char *code, const char *message,
		      const char *request_id)
{
	sb_adds(sb, "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"" SQS_XMLNS "\"><Error><Type>");
	sb_adds(sb, sender ? "Sender" : "Receiver");
	sb_adds(sb, "</Type><Code>");
	http_xml_escape(sb, code, strlen(code));
	sb_adds(sb, "</Code><Message>");
	http_xml_escape(sb, message, strlen(message));
	sb_adds(sb, "</Message><Detail/></Error><RequestId>");
	sb_adds(sb, request_id);
	sb_adds(sb, "</RequestId></ErrorResponse>");
}

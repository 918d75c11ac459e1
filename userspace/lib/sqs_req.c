// SPDX-License-Identifier: BSD-2-Clause
/*
 * Reading SQS JSON requests (sqs_api_int.h): typed member access whose
 * errors name the member, queue URLs, base64 blobs; and the small writer the
 * actions build their responses with.
 */
#include "sqs_api_int.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static int bad_type(struct sqs_call *c, const char *name, const char *want)
{
	return sqs_fail(c, QE_INVALID_PARAMETER_VALUE,
			"Value for parameter %s is invalid. Reason: it must be %s.", name, want);
}

static int missing(struct sqs_call *c, const char *name)
{
	return sqs_fail(c, QE_MISSING_PARAMETER, "The request must contain the parameter %s.",
			name);
}

int sqs_get_bytes(struct sqs_call *c, const struct json_value *obj, const char *name,
		  const char **out, size_t *len)
{
	const struct json_value *v = json_get(obj, name);

	*out = NULL;
	*len = 0;
	if (!v || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_STRING)
		return bad_type(c, name, "a string");
	*out = v->u.str.s;
	*len = v->u.str.len;
	return 0;
}

int sqs_get_string(struct sqs_call *c, const struct json_value *obj, const char *name,
		   bool required, const char **out)
{
	size_t len;

	if (sqs_get_bytes(c, obj, name, out, &len))
		return -1;
	if (!*out)
		return required ? missing(c, name) : 0;
	if (memchr(*out, '\0', len))
		return sqs_fail(c, QE_INVALID_PARAMETER_VALUE,
				"Value for parameter %s is invalid. Reason: it contains a NUL "
				"character.",
				name);
	return 0;
}

static bool parse_int(const char *s, int *out)
{
	char *end;
	long v;

	if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < INT_MIN || v > INT_MAX)
		return false;
	*out = (int)v;
	return true;
}

int sqs_get_int(struct sqs_call *c, const struct json_value *obj, const char *name, int *out,
		bool *present)
{
	const struct json_value *v = json_get(obj, name);
	const char *text;

	*present = false;
	if (!v || v->type == JSON_NULL)
		return 0;
	if (v->type == JSON_NUMBER && v->u.num.is_int)
		text = v->u.num.raw;
	else if (v->type == JSON_STRING && !memchr(v->u.str.s, '\0', v->u.str.len))
		text = v->u.str.s;
	else
		return bad_type(c, name, "an integer");
	if (!parse_int(text, out))
		return sqs_fail(c, QE_INVALID_PARAMETER_VALUE,
				"Value %.64s for parameter %s is invalid. Reason: it must be an "
				"integer.",
				text, name);
	*present = true;
	return 0;
}

int sqs_get_string_list(struct sqs_call *c, const struct json_value *obj, const char *name,
			const char ***out, size_t *n)
{
	const struct json_value *v = json_get(obj, name);

	*out = NULL;
	*n = 0;
	if (!v || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_ARRAY)
		return bad_type(c, name, "a list of strings");
	*out = sqs_keep(c, xcalloc(v->u.arr.n, sizeof(**out)));
	for (size_t i = 0; i < v->u.arr.n; i++) {
		const struct json_value *it = v->u.arr.items[i];

		if (it->type != JSON_STRING || memchr(it->u.str.s, '\0', it->u.str.len))
			return bad_type(c, name, "a list of strings");
		(*out)[i] = it->u.str.s;
	}
	*n = v->u.arr.n;
	return 0;
}

int sqs_get_string_map(struct sqs_call *c, const struct json_value *obj, const char *name,
		       struct queue_kv **out, size_t *n)
{
	const struct json_value *v = json_get(obj, name);

	*out = NULL;
	*n = 0;
	if (!v || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_OBJECT)
		return bad_type(c, name, "a map of strings");
	*out = sqs_keep(c, xcalloc(v->u.obj.n, sizeof(**out)));
	for (size_t i = 0; i < v->u.obj.n; i++) {
		const struct json_member *m = &v->u.obj.members[i];

		if (m->value->type != JSON_STRING || memchr(m->key, '\0', m->key_len) ||
		    memchr(m->value->u.str.s, '\0', m->value->u.str.len))
			return bad_type(c, name, "a map of strings");
		(*out)[i].name = m->key;
		(*out)[i].value = m->value->u.str.s;
	}
	*n = v->u.obj.n;
	return 0;
}

int sqs_get_object(struct sqs_call *c, const struct json_value *obj, const char *name,
		   const struct json_value **out)
{
	const struct json_value *v = json_get(obj, name);

	*out = NULL;
	if (!v || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_OBJECT)
		return bad_type(c, name, "an object");
	*out = v;
	return 0;
}

int sqs_get_object_list(struct sqs_call *c, const struct json_value *obj, const char *name,
			struct json_value ***items, size_t *n)
{
	const struct json_value *v = json_get(obj, name);

	*items = NULL;
	*n = 0;
	if (!v || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_ARRAY)
		return bad_type(c, name, "a list of objects");
	for (size_t i = 0; i < v->u.arr.n; i++)
		if (v->u.arr.items[i]->type != JSON_OBJECT)
			return bad_type(c, name, "a list of objects");
	*items = v->u.arr.items;
	*n = v->u.arr.n;
	return 0;
}

/*
 * "scheme://host[:port]/account/name", "/account/name" or a bare "name".
 * The host is not checked (clients reach us under many names); the account
 * must be ours.
 */
int sqs_get_queue(struct sqs_call *c, char *name)
{
	const char *url, *p, *slash;

	if (sqs_get_string(c, c->req, "QueueUrl", true, &url))
		return -1;
	p = url;
	if ((slash = strstr(url, "://"))) {
		p = strchr(slash + 3, '/');
		if (!p)
			goto bad;
	}
	if (*p == '/')
		p++;
	slash = strchr(p, '/');
	if (slash) {
		size_t alen = (size_t)(slash - p);

		if (strchr(slash + 1, '/'))
			goto bad;
		if (alen != strlen(c->api->account_id) || memcmp(p, c->api->account_id, alen))
			return sqs_fail(c, QE_QUEUE_DOES_NOT_EXIST,
					"The specified queue does not exist.");
		p = slash + 1;
	}
	if (!*p)
		goto bad;
	if (strlen(p) >= SQS_NAME_CAP)
		return sqs_fail(c, QE_QUEUE_DOES_NOT_EXIST, "The specified queue does not exist.");
	strcpy(name, p);
	return 0;
bad:
	return sqs_fail_other(c, 404, "InvalidAddress",
			      "The address %.200s is not valid for this endpoint.", url);
}

/* ------------------------------------------------------------ base64 */

void sqs_base64_encode(struct strbuf *sb, const void *data, size_t len)
{
	size_t n = 4 * ((len + 2) / 3);

	sb_reserve(sb, n);
	EVP_EncodeBlock((unsigned char *)sb->buf + sb->len, data, (int)len);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

static bool is_b64(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '+' || ch == '/';
}

long sqs_base64_decode(struct sqs_call *c, const char *s, unsigned char **out)
{
	size_t len = strlen(s), pad = 0;
	int n;

	if (len % 4 || len > INT_MAX)
		return -1;
	if (len && s[len - 1] == '=')
		pad = len >= 2 && s[len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < len - pad; i++)
		if (!is_b64((unsigned char)s[i]))
			return -1;
	*out = sqs_keep(c, xmalloc(len / 4 * 3 + 1));
	n = EVP_DecodeBlock(*out, (const unsigned char *)s, (int)len);
	if (n < 0)
		return -1;
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	return n - (long)pad;
}

/* ------------------------------------------------------------ response writer */

static void sep(struct strbuf *sb)
{
	if (sb->len && sb->buf[sb->len - 1] != '{' && sb->buf[sb->len - 1] != '[')
		sb_addc(sb, ',');
}

void sj_key(struct strbuf *sb, const char *k)
{
	sep(sb);
	if (k) {
		json_write_string(sb, k, strlen(k));
		sb_addc(sb, ':');
	}
}

void sj_open(struct strbuf *sb, const char *k, char bracket)
{
	sj_key(sb, k);
	sb_addc(sb, bracket);
}

void sj_close(struct strbuf *sb, char bracket)
{
	sb_addc(sb, bracket);
}

void sj_strn(struct strbuf *sb, const char *k, const char *s, size_t len)
{
	sj_key(sb, k);
	json_write_string(sb, s, len);
}

void sj_str(struct strbuf *sb, const char *k, const char *s)
{
	sj_strn(sb, k, s, strlen(s));
}

void sj_int(struct strbuf *sb, const char *k, long long v)
{
	sj_key(sb, k);
	sb_printf(sb, "%lld", v);
}

void sj_bool(struct strbuf *sb, const char *k, bool v)
{
	sj_key(sb, k);
	sb_adds(sb, v ? "true" : "false");
}

void sj_kv_map(struct strbuf *sb, const char *k, const struct queue_kv_list *l)
{
	sj_open(sb, k, '{');
	for (size_t i = 0; i < l->n; i++)
		sj_str(sb, l->v[i].name, l->v[i].value);
	sj_close(sb, '}');
}

void sj_batch_failure(struct strbuf *sb, const char *id, const struct queue_result *r)
{
	sj_open(sb, NULL, '{');
	sj_str(sb, "Id", id ? id : "");
	sj_bool(sb, "SenderFault", queue_err_is_sender(r->code));
	sj_str(sb, "Code", queue_err_code(r->code));
	sj_str(sb, "Message", r->message);
	sj_close(sb, '}');
}

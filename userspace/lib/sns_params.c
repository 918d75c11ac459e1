// SPDX-License-Identifier: BSD-2-Clause
/*
 * Reading SNS query-protocol parameters (flattened maps, lists, message
 * attributes) and writing XML text.
 */
#include "http_api.h"
#include "sns_int.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *sp_own(struct sns_req *r, void *p)
{
	r->owned = xrealloc(r->owned, (r->nowned + 1) * sizeof(*r->owned));
	r->owned[r->nowned++] = p;
	return p;
}

void sp_free(struct sns_req *r)
{
	for (size_t i = 0; i < r->nowned; i++)
		free(r->owned[i]);
	free(r->owned);
	r->owned = NULL;
	r->nowned = 0;
}

const char *sp_get(const struct sns_req *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->p[i].name && !strcmp(r->p[i].name, name))
			return r->p[i].value ? r->p[i].value : "";
	return NULL;
}

const char *sp_getf(const struct sns_req *r, const char *fmt, ...)
{
	char name[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	return sp_get(r, name);
}

struct queue_kv *sp_map(struct sns_req *r, const char *prefix, const char *key, const char *value,
			size_t *n)
{
	struct queue_kv *v = NULL;

	*n = 0;
	for (size_t i = 1;; i++) {
		const char *k = sp_getf(r, "%s.%zu.%s", prefix, i, key);
		const char *val = sp_getf(r, "%s.%zu.%s", prefix, i, value);

		if (!k && !val)
			break;
		v = xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = (struct queue_kv){ k, val ? val : "" };
	}
	return v ? sp_own(r, v) : NULL;
}

const char **sp_list(struct sns_req *r, const char *prefix, size_t *n)
{
	const char **v = NULL;
	const char *s;

	*n = 0;
	for (size_t i = 1; (s = sp_getf(r, "%s.%zu", prefix, i)); i++) {
		v = xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = s;
	}
	return v ? sp_own(r, v) : NULL;
}

/* Decode base64 @s; NULL when it is not base64. */
static uint8_t *base64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s), pad = 0;
	uint8_t *out;
	int got;

	if (n % 4)
		return NULL;
	while (pad < 2 && n > pad && s[n - 1 - pad] == '=')
		pad++;
	out = xmalloc(n / 4 * 3 + 1);
	got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (got < 0) {
		free(out);
		return NULL;
	}
	*len = (size_t)got - pad; /* EVP_DecodeBlock counts the padding as bytes */
	return out;
}

int sp_msg_attrs(struct sns_req *r, const char *prefix, struct queue_msg_attr **out, size_t *n,
		 struct topic_result *res)
{
	struct queue_msg_attr *v = NULL;

	*n = 0;
	*out = NULL;
	for (size_t i = 1;; i++) {
		const char *name = sp_getf(r, "%s.entry.%zu.Name", prefix, i);
		const char *type = sp_getf(r, "%s.entry.%zu.Value.DataType", prefix, i);
		const char *str = sp_getf(r, "%s.entry.%zu.Value.StringValue", prefix, i);
		const char *bin = sp_getf(r, "%s.entry.%zu.Value.BinaryValue", prefix, i);
		struct queue_msg_attr a = { name ? name : "", type ? type : "", NULL, 0 };

		if (!name && !type && !str && !bin)
			break;
		if (type && !strncmp(type, "Binary", 6) && bin) {
			uint8_t *d = base64_decode(bin, &a.len);

			if (!d) {
				free(v);
				return terr(
					res, TE_INVALID_PARAMETER_VALUE,
					"The message attribute '%s' has an invalid binary value: "
					"it is not base64.",
					a.name);
			}
			a.value = sp_own(r, d);
		} else if (str) {
			a.value = str;
			a.len = strlen(str);
		}
		v = xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = a;
	}
	*out = v ? sp_own(r, v) : NULL;
	return 0;
}

/* SNS and SQS escape XML text the same way: one escaper (http_api.h). */
void xml_text(struct strbuf *sb, const char *s)
{
	http_xml_escape(sb, s, strlen(s));
}

void xml_elem(struct strbuf *sb, const char *name, const char *value)
{
	sb_printf(sb, "<%s>", name);
	xml_text(sb, value ? value : "");
	sb_printf(sb, "</%s>", name);
}

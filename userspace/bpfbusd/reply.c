// SPDX-License-Identifier: BSD-2-Clause
/* Control-socket answers and request arguments (reply.h). */
#include "reply.h"
#include "json.h"
#include "strbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int bbd_fail(struct strbuf *out, const char *code, const char *fmt, ...)
{
	char msg[1600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sb_reset(out);
	sb_printf(out, "{\"ok\":false,\"error\":\"%s\",\"message\":", code);
	json_write_string(out, msg, strlen(msg));
	sb_addc(out, '}');
	return 0;
}

void bbd_ok_open(struct strbuf *out)
{
	sb_adds(out, "{\"ok\":true,\"result\":");
}

int bbd_ok_empty(struct strbuf *out)
{
	sb_adds(out, "{\"ok\":true,\"result\":{}}");
	return 0;
}

void bbd_add_str(struct strbuf *out, const char *key, const char *val, bool comma)
{
	if (comma)
		sb_addc(out, ',');
	json_write_string(out, key, strlen(key));
	sb_addc(out, ':');
	json_write_string(out, val, strlen(val));
}

int bbd_arg_str(const struct json_value *req, const char *key, const char **val, struct strbuf *out)
{
	const struct json_value *v = json_get(req, key);

	*val = NULL;
	if (!v)
		return 0;
	if (v->type != JSON_STRING || memchr(v->u.str.s, 0, v->u.str.len))
		return bbd_fail(out, E_VALIDATION, "\"%s\" must be a string", key), -1;
	*val = v->u.str.s;
	return 0;
}

int bbd_need_str(const struct json_value *req, const char *key, const char **val,
		 struct strbuf *out)
{
	if (bbd_arg_str(req, key, val, out))
		return -1;
	if (!*val)
		return bbd_fail(out, E_VALIDATION, "missing \"%s\"", key), -1;
	return 0;
}

int bbd_arg_int(const struct json_value *req, const char *key, long long min, long long max,
		long long *val, struct strbuf *out)
{
	const struct json_value *v = json_get(req, key);

	if (!v)
		return 0;
	if (v->type != JSON_NUMBER || v->u.num.d != floor(v->u.num.d) || v->u.num.d < (double)min ||
	    v->u.num.d > (double)max)
		return bbd_fail(out, E_VALIDATION,
				"\"%s\" must be a whole number from %lld to %lld", key, min, max),
		       -1;
	*val = (long long)v->u.num.d;
	return 0;
}

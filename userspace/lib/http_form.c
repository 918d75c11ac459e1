// SPDX-License-Identifier: BSD-2-Clause
/* application/x-www-form-urlencoded decoding for the query protocols (http_int.h). */
#include "http_int.h"
#include "strbuf.h"
#include "urlenc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One decoded component; NULL when an escape is malformed or decodes a NUL. */
static char *decode(const char *s, size_t len)
{
	size_t n;
	char *out = pct_decode(s, len, true, &n);

	if (out && memchr(out, '\0', n)) {
		free(out);
		return NULL;
	}
	return out;
}

void http_params_free(struct http_param *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
}

int http_form_parse(const char *s, size_t len, struct http_param **out, size_t *n, char *err,
		    size_t cap)
{
	const char *end = s + len;

	*out = NULL;
	*n = 0;
	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(s, '=', (size_t)(stop - s));
		struct http_param p;

		if (stop == s) {
			s = stop + 1;
			continue;
		}
		if (*n == HTTP_MAX_PARAMS) {
			snprintf(err, cap, "The request has more than %d parameters.",
				 HTTP_MAX_PARAMS);
			goto fail;
		}
		p.name = decode(s, (size_t)((eq ? eq : stop) - s));
		p.value = eq ? decode(eq + 1, (size_t)(stop - eq - 1)) : xstrndup("", 0);
		if (!p.name || !p.value) {
			snprintf(
				err, cap,
				"The query string or form is malformed near '%.*s': a '%%' must be "
				"followed by two hex digits (and not encode a NUL).",
				(int)((stop - s) > 64 ? 64 : (stop - s)), s);
			free(p.name);
			free(p.value);
			goto fail;
		}
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = p;
		s = stop + 1;
	}
	return 0;
fail:
	http_params_free(*out, *n);
	*out = NULL;
	*n = 0;
	return -1;
}

const char *http_param_get(const struct http_param *p, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(p[i].name, name))
			return p[i].value;
	return NULL;
}

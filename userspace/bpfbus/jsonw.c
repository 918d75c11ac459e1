// SPDX-License-Identifier: BSD-2-Clause
/* A small streaming JSON writer for CLI output. See jsonw.h. */
#include "jsonw.h"
#include "json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void jw_init(struct jw *w, bool pretty)
{
	memset(w, 0, sizeof(*w));
	w->pretty = pretty;
	w->first[0] = true;
}

static void indent(struct jw *w)
{
	if (!w->pretty)
		return;
	sb_addc(&w->sb, '\n');
	for (int i = 0; i < w->depth; i++)
		sb_adds(&w->sb, "  ");
}

static void member(struct jw *w, const char *key)
{
	if (!w->first[w->depth])
		sb_addc(&w->sb, ',');
	w->first[w->depth] = false;
	if (w->depth)
		indent(w);
	if (key) {
		json_write_string(&w->sb, key, strlen(key));
		sb_adds(&w->sb, w->pretty ? ": " : ":");
	}
}

void jw_open(struct jw *w, const char *key, char bracket)
{
	member(w, key);
	sb_addc(&w->sb, bracket);
	if (w->depth < JW_MAX_DEPTH - 1)
		w->depth++;
	w->first[w->depth] = true;
}

void jw_close(struct jw *w, char bracket)
{
	bool empty = w->first[w->depth];

	if (w->depth)
		w->depth--;
	if (!empty)
		indent(w);
	sb_addc(&w->sb, bracket);
}

void jw_u64(struct jw *w, const char *key, uint64_t v)
{
	member(w, key);
	sb_printf(&w->sb, "%" PRIu64, v);
}

void jw_strn(struct jw *w, const char *key, const char *s, size_t len)
{
	member(w, key);
	json_write_string(&w->sb, s, len);
}

void jw_str(struct jw *w, const char *key, const char *s)
{
	jw_strn(w, key, s, strlen(s));
}

void jw_bool(struct jw *w, const char *key, bool v)
{
	member(w, key);
	sb_adds(&w->sb, v ? "true" : "false");
}

void jw_raw(struct jw *w, const char *key, const char *s, size_t len)
{
	member(w, key);
	sb_add(&w->sb, s, len);
}

void jw_flush(struct jw *w)
{
	if (w->sb.len)
		printf("%.*s\n", (int)w->sb.len, w->sb.buf);
	fflush(stdout);
	sb_reset(&w->sb);
	w->depth = 0;
	w->first[0] = true;
}

void jw_free(struct jw *w)
{
	sb_free(&w->sb);
}

// SPDX-License-Identifier: BSD-2-Clause
/* Tags of rules and buses in the object model. See model.h. */
#include "json.h"
#include "model.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct bb_tag *find(const struct bb_tags *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].key, key))
			return &t->v[i];
	return NULL;
}

const char *bb_tags_get(const struct bb_tags *t, const char *key)
{
	const struct bb_tag *g = find(t, key);

	return g ? g->value : NULL;
}

void bb_tags_set(struct bb_tags *t, const char *key, const char *value)
{
	struct bb_tag *g = find(t, key);

	if (!g) {
		t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
		g = &t->v[t->n++];
		g->key = xstrndup(key, strlen(key));
	} else {
		free(g->value);
	}
	g->value = xstrndup(value, strlen(value));
}

bool bb_tags_remove(struct bb_tags *t, const char *key)
{
	struct bb_tag *g = find(t, key);

	if (!g)
		return false;
	free(g->key);
	free(g->value);
	memmove(g, g + 1, (size_t)(t->v + t->n - g - 1) * sizeof(*g));
	t->n--;
	return true;
}

void bb_tags_copy(struct bb_tags *dst, const struct bb_tags *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->n; i++)
		bb_tags_set(dst, src->v[i].key, src->v[i].value);
}

void bb_tags_free(struct bb_tags *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].key);
		free(t->v[i].value);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}

void bb_tags_to_json(const struct bb_tags *t, struct strbuf *sb)
{
	if (!t->n)
		return;
	sb_adds(sb, ",\"tags\":{");
	for (size_t i = 0; i < t->n; i++) {
		if (i)
			sb_addc(sb, ',');
		json_write_string(sb, t->v[i].key, strlen(t->v[i].key));
		sb_addc(sb, ':');
		json_write_string(sb, t->v[i].value, strlen(t->v[i].value));
	}
	sb_addc(sb, '}');
}

int bb_tags_from_json(const struct json_value *o, struct bb_tags *t, char *err, size_t err_len)
{
	memset(t, 0, sizeof(*t));
	if (!o)
		return 0;
	if (o->type != JSON_OBJECT || o->u.obj.n > BB_MAX_TAGS) {
		snprintf(err, err_len, "\"tags\" must be an object of at most %d strings",
			 BB_MAX_TAGS);
		return -1;
	}
	for (size_t i = 0; i < o->u.obj.n; i++) {
		const struct json_member *m = &o->u.obj.members[i];

		if (m->value->type != JSON_STRING || strlen(m->key) != m->key_len ||
		    memchr(m->value->u.str.s, 0, m->value->u.str.len)) {
			snprintf(err, err_len, "tag '%s' must have a string value", m->key);
			bb_tags_free(t);
			return -1;
		}
		bb_tags_set(t, m->key, m->value->u.str.s);
	}
	return 0;
}

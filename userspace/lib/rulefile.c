// SPDX-License-Identifier: BSD-2-Clause
#include "rulefile.h"
#include "json.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rulefile_parse(const char *text, size_t len, struct rulefile *out,
		   char *err, size_t err_len)
{
	struct json_doc *doc = json_parse(text, len, true);
	const struct json_value *root = json_doc_root(doc);

	memset(out, 0, sizeof(*out));
	if (!root || root->type != JSON_OBJECT) {
		snprintf(err, err_len,
			 "a rule file is one JSON object {\"name\": pattern}: %s",
			 root ? "not an object" : json_doc_error(doc));
		json_doc_free(doc);
		return -1;
	}
	out->rules = xcalloc(root->u.obj.n, sizeof(*out->rules));
	for (size_t i = 0; i < root->u.obj.n; i++) {
		const struct json_member *m = &root->u.obj.members[i];
		struct rulefile_entry *e = &out->rules[out->n++];
		struct strbuf sb = STRBUF_INIT;

		e->name = xstrndup(m->key, m->key_len);
		if (m->value->type == JSON_STRING)
			sb_add(&sb, m->value->u.str.s, m->value->u.str.len);
		else
			json_write(&sb, m->value);
		sb_reserve(&sb, 0);
		e->pattern = sb.buf;
		e->pattern_len = sb.len;
	}
	json_doc_free(doc);
	return 0;
}

void rulefile_free(struct rulefile *rf)
{
	for (size_t i = 0; i < rf->n; i++) {
		free(rf->rules[i].name);
		free(rf->rules[i].pattern);
	}
	free(rf->rules);
	memset(rf, 0, sizeof(*rf));
}

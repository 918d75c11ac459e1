// SPDX-License-Identifier: BSD-2-Clause
/* The object model and its file. See model.h. */
#include "model.h"
#include "bpfbus/datapath.h"
#include "json.h"
#include "rulefile.h"
#include "ruleset.h"
#include "strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void bb_model_path(const char *state_dir, char *buf, size_t len)
{
	snprintf(buf, len, "%s/objects.json", state_dir);
}

static void rule_free(struct bb_rule *r)
{
	free(r->name);
	free(r->pattern);
	free(r->schedule);
	free(r->description);
	bb_tags_free(&r->tags);
	for (int i = 0; i < r->n_targets; i++)
		bb_target_free(&r->targets[i]);
	memset(r, 0, sizeof(*r));
}

static void bus_free(struct bb_mbus *b)
{
	for (size_t i = 0; i < b->n_rules; i++)
		rule_free(&b->rules[i]);
	free(b->rules);
	free(b->name);
	free(b->description);
	bb_tags_free(&b->tags);
	memset(b, 0, sizeof(*b));
}

void bb_model_free(struct bb_model *m)
{
	for (size_t i = 0; i < m->n_buses; i++)
		bus_free(&m->buses[i]);
	free(m->buses);
	memset(m, 0, sizeof(*m));
}

struct bb_mbus *bb_model_bus(const struct bb_model *m, const char *name)
{
	for (size_t i = 0; i < m->n_buses; i++)
		if (!strcmp(m->buses[i].name, name))
			return &m->buses[i];
	return NULL;
}

struct bb_mbus *bb_model_add_bus(struct bb_model *m, const char *name, int kind)
{
	if (bb_model_bus(m, name))
		return NULL;
	m->buses = xrealloc(m->buses, (m->n_buses + 1) * sizeof(*m->buses));
	struct bb_mbus *b = &m->buses[m->n_buses++];

	memset(b, 0, sizeof(*b));
	b->name = xstrndup(name, strlen(name));
	b->kind = kind;
	return b;
}

void bb_model_remove_bus(struct bb_model *m, struct bb_mbus *b)
{
	size_t i = (size_t)(b - m->buses);

	bus_free(b);
	memmove(&m->buses[i], &m->buses[i + 1], (m->n_buses - i - 1) * sizeof(*b));
	m->n_buses--;
}

struct bb_rule *bb_model_rule(const struct bb_mbus *b, const char *name)
{
	for (size_t i = 0; i < b->n_rules; i++)
		if (!strcmp(b->rules[i].name, name))
			return &b->rules[i];
	return NULL;
}

void bb_model_remove_rule(struct bb_mbus *b, struct bb_rule *r)
{
	size_t i = (size_t)(r - b->rules);

	rule_free(r);
	memmove(&b->rules[i], &b->rules[i + 1], (b->n_rules - i - 1) * sizeof(*r));
	b->n_rules--;
}

static char *dup_s(const char *s)
{
	return s ? xstrndup(s, strlen(s)) : NULL;
}

static void copy_targets(struct bb_rule *dst, const struct bb_rule *src)
{
	dst->n_targets = src->n_targets;
	for (int i = 0; i < src->n_targets; i++)
		bb_target_copy(&dst->targets[i], &src->targets[i]);
}

struct bb_rule *bb_model_put_rule(struct bb_mbus *b, const struct bb_rule *r, bool keep_targets)
{
	struct bb_rule *old = bb_model_rule(b, r->name), nr = { 0 };

	nr.name = dup_s(r->name);
	nr.pattern = dup_s(r->pattern);
	nr.schedule = dup_s(r->schedule);
	nr.description = dup_s(r->description);
	nr.enabled = r->enabled;
	if (old && keep_targets && !r->n_targets)
		copy_targets(&nr, old);
	else
		copy_targets(&nr, r);
	bb_tags_copy(&nr.tags, old && !r->tags.n ? &old->tags : &r->tags);
	if (old) {
		rule_free(old);
		*old = nr;
		return old;
	}
	b->rules = xrealloc(b->rules, (b->n_rules + 1) * sizeof(*b->rules));
	b->rules[b->n_rules] = nr;
	return &b->rules[b->n_rules++];
}

int bb_model_check_name(const char *what, const char *name, char *err, size_t err_len)
{
	size_t n = strlen(name);

	if (n < 1 || n > BB_RULE_NAME_MAX) {
		snprintf(err, err_len, "%s name '%s' must be 1 to %d characters long", what, name,
			 BB_RULE_NAME_MAX);
		return -1;
	}
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") !=
	    n) {
		snprintf(err, err_len,
			 "%s name '%s' may contain only letters, digits, '.', '-', '_'", what,
			 name);
		return -1;
	}
	return 0;
}

int bb_model_check_pattern(const char *pattern, size_t len, char *err, size_t err_len)
{
	struct bb_ruleset *rs = bb_ruleset_new();
	struct bb_error e;
	int r = bb_ruleset_add_pattern(rs, "check", pattern, len, &e);

	bb_ruleset_free(rs);
	if (r < 0) {
		snprintf(err, err_len, "%s", e.msg);
		return -1;
	}
	return 0;
}

int bb_model_set_rulefile(struct bb_mbus *b, const char *text, size_t len, char *err,
			  size_t err_len)
{
	struct rulefile rf;
	char msg[BB_ERR_MAX + 76]; /* a pattern error and its rule name */

	if (rulefile_parse(text, len, &rf, msg, sizeof(msg)) < 0) {
		snprintf(err, err_len, "%s", msg);
		return -1;
	}
	for (size_t i = 0; i < rf.n; i++) {
		if (bb_model_check_name("rule", rf.rules[i].name, msg, sizeof(msg)) ||
		    bb_model_check_pattern(rf.rules[i].pattern, rf.rules[i].pattern_len, msg,
					   sizeof(msg))) {
			snprintf(err, err_len, "rule %s: %s", rf.rules[i].name, msg);
			rulefile_free(&rf);
			return -1;
		}
	}
	/* new rules first (keeping targets of same-named ones), then the swap */
	struct bb_mbus nb = {
		.name = b->name,
		.kind = b->kind,
		.description = b->description,
		.tags = b->tags,
		.discovery_stopped = b->discovery_stopped,
	};

	for (size_t i = 0; i < rf.n; i++) {
		struct bb_rule r = { .name = rf.rules[i].name,
				     .pattern = rf.rules[i].pattern,
				     .enabled = true };
		struct bb_rule *old = bb_model_rule(b, r.name);
		struct bb_rule *nr = bb_model_put_rule(&nb, &r, false);

		if (old) {
			copy_targets(nr, old);
			bb_tags_copy(&nr->tags, &old->tags);
		}
	}
	rulefile_free(&rf);
	/* name, description and tags are now nb's */
	b->name = b->description = NULL;
	memset(&b->tags, 0, sizeof(b->tags));
	bus_free(b);
	*b = nb;
	return 0;
}

/* ---- the file --------------------------------------------------------- */

/* ,"key":"value" when @val is set. */
static void opt_str_out(struct strbuf *sb, const char *key, const char *val)
{
	if (!val)
		return;
	sb_printf(sb, ",\"%s\":", key);
	json_write_string(sb, val, strlen(val));
}

void bb_model_to_json(const struct bb_model *m, struct strbuf *sb)
{
	sb_adds(sb, "{\"version\":1,\"buses\":[");
	for (size_t i = 0; i < m->n_buses; i++) {
		const struct bb_mbus *b = &m->buses[i];

		sb_adds(sb, i ? ",\n{\"name\":" : "\n{\"name\":");
		json_write_string(sb, b->name, strlen(b->name));
		sb_printf(sb, ",\"kind\":\"%s\"", b->kind == BPFBUS_BUS_TOPIC ? "topic" : "event");
		opt_str_out(sb, "description", b->description);
		bb_tags_to_json(&b->tags, sb);
		if (b->discovery_stopped)
			sb_adds(sb, ",\"discovery\":false");
		sb_adds(sb, ",\"rules\":[");
		for (size_t j = 0; j < b->n_rules; j++) {
			const struct bb_rule *r = &b->rules[j];

			sb_adds(sb, j ? ",\n {\"name\":" : "\n {\"name\":");
			json_write_string(sb, r->name, strlen(r->name));
			opt_str_out(sb, "pattern", r->pattern);
			opt_str_out(sb, "schedule", r->schedule);
			opt_str_out(sb, "description", r->description);
			bb_tags_to_json(&r->tags, sb);
			sb_printf(sb, ",\"state\":\"%s\",\"targets\":[",
				  r->enabled ? "ENABLED" : "DISABLED");
			for (int t = 0; t < r->n_targets; t++) {
				if (t)
					sb_addc(sb, ',');
				bb_target_to_json(&r->targets[t], sb);
			}
			sb_adds(sb, "]}");
		}
		sb_adds(sb, "]}");
	}
	sb_adds(sb, "\n]}\n");
}

int bb_model_save(const char *state_dir, const struct bb_model *m, char *err, size_t err_len)
{
	char path[4096], tmp[4200];
	struct strbuf sb = STRBUF_INIT;
	int r = -1;

	if (mkdir(state_dir, 0700) && errno != EEXIST) {
		snprintf(err, err_len, "cannot create %s: %s", state_dir, strerror(errno));
		return -1;
	}
	bb_model_path(state_dir, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	bb_model_to_json(m, &sb);

	FILE *f = fopen(tmp, "wb");

	if (!f || fwrite(sb.buf, 1, sb.len, f) != sb.len || fflush(f) || fsync(fileno(f))) {
		snprintf(err, err_len, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, path)) {
		snprintf(err, err_len, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	r = 0;
out:
	if (f)
		fclose(f);
	sb_free(&sb);
	return r;
}

/* A string member of @obj, or NULL (with @err naming it) when absent or not a string. */
static const char *str_member(const struct json_value *obj, const char *key, const char *where,
			      char *err, size_t err_len)
{
	const struct json_value *v = obj && obj->type == JSON_OBJECT ? json_get(obj, key) : NULL;

	if (!v || v->type != JSON_STRING || memchr(v->u.str.s, 0, v->u.str.len)) {
		snprintf(err, err_len, "%s: \"%s\" must be a string", where, key);
		return NULL;
	}
	return v->u.str.s;
}

/* An optional string member (pointer into the document); -1 with @err when no string. */
static int opt_member(const struct json_value *obj, const char *key, const char *where, char **out,
		      char *err, size_t err_len)
{
	*out = NULL;
	if (!json_get(obj, key))
		return 0;
	*out = (char *)str_member(obj, key, where, err, err_len);
	return *out ? 0 : -1;
}

static int load_rule(struct bb_mbus *b, const struct json_value *jr, char *err, size_t err_len)
{
	char where[400];
	struct bb_rule r = { 0 };
	const char *state;

	snprintf(where, sizeof(where), "bus %s, rule %zu", b->name, b->n_rules);
	r.name = (char *)str_member(jr, "name", where, err, err_len);
	state = str_member(jr, "state", where, err, err_len);
	if (!r.name || !state || opt_member(jr, "pattern", where, &r.pattern, err, err_len) ||
	    opt_member(jr, "schedule", where, &r.schedule, err, err_len) ||
	    opt_member(jr, "description", where, &r.description, err, err_len))
		return -1;
	if (!r.pattern && !r.schedule) {
		snprintf(err, err_len, "%s: a rule has a \"pattern\" or a \"schedule\"", where);
		return -1;
	}
	r.enabled = !strcmp(state, "ENABLED");
	const struct json_value *jt = json_get(jr, "targets");

	if (!jt || jt->type != JSON_ARRAY || jt->u.arr.n > BB_MAX_TARGETS) {
		snprintf(err, err_len, "%s: \"targets\" must be an array of at most %d", where,
			 BB_MAX_TARGETS);
		return -1;
	}
	char msg[300];
	int rc = 0;

	for (size_t i = 0; i < jt->u.arr.n && !rc; i++) {
		if (bb_target_from_json(jt->u.arr.items[i], &r.targets[i], msg, sizeof(msg))) {
			snprintf(err, err_len, "%s: %s", where, msg);
			rc = -1;
		} else {
			r.n_targets++;
		}
	}
	if (!rc && bb_tags_from_json(json_get(jr, "tags"), &r.tags, msg, sizeof(msg))) {
		snprintf(err, err_len, "%s: %s", where, msg);
		rc = -1;
	}
	if (!rc)
		bb_model_put_rule(b, &r, false);
	for (int i = 0; i < r.n_targets; i++)
		bb_target_free(&r.targets[i]);
	bb_tags_free(&r.tags);
	return rc;
}

static int load_doc(struct bb_model *m, const struct json_value *root, char *err, size_t err_len)
{
	const struct json_value *jb = root ? json_get(root, "buses") : NULL;

	if (!jb || jb->type != JSON_ARRAY) {
		snprintf(err, err_len, "no \"buses\" array");
		return -1;
	}
	for (size_t i = 0; i < jb->u.arr.n; i++) {
		const struct json_value *o = jb->u.arr.items[i];
		const char *name = str_member(o, "name", "bus", err, err_len);
		const char *kind = str_member(o, "kind", "bus", err, err_len);
		const struct json_value *rules = name ? json_get(o, "rules") : NULL;

		if (!name || !kind)
			return -1;
		struct bb_mbus *b = bb_model_add_bus(
			m, name, strcmp(kind, "topic") ? BPFBUS_BUS_EVENT : BPFBUS_BUS_TOPIC);

		if (!b) {
			snprintf(err, err_len, "bus %s appears twice", name);
			return -1;
		}
		char msg[300], *desc;

		if (opt_member(o, "description", name, &desc, err, err_len))
			return -1;
		b->description = dup_s(desc);
		const struct json_value *disc = json_get(o, "discovery");

		if (disc && disc->type != JSON_TRUE && disc->type != JSON_FALSE) {
			snprintf(err, err_len, "bus %s: \"discovery\" must be true or false", name);
			return -1;
		}
		b->discovery_stopped = disc && disc->type == JSON_FALSE;
		if (bb_tags_from_json(json_get(o, "tags"), &b->tags, msg, sizeof(msg))) {
			snprintf(err, err_len, "bus %s: %s", name, msg);
			return -1;
		}
		if (!rules || rules->type != JSON_ARRAY) {
			snprintf(err, err_len, "bus %s: \"rules\" must be an array", name);
			return -1;
		}
		for (size_t j = 0; j < rules->u.arr.n; j++)
			if (load_rule(b, rules->u.arr.items[j], err, err_len) < 0)
				return -1;
	}
	return 0;
}

int bb_model_from_json(const char *text, size_t len, struct bb_model *m, char *err, size_t err_len)
{
	struct json_doc *doc = json_parse(text, len, true);
	int r;

	memset(m, 0, sizeof(*m));
	if (json_doc_error(doc)) {
		snprintf(err, err_len, "%s", json_doc_error(doc));
		r = -1;
	} else {
		r = load_doc(m, json_doc_root(doc), err, err_len);
	}
	if (r < 0)
		bb_model_free(m);
	json_doc_free(doc);
	return r;
}

int bb_model_load(const char *state_dir, struct bb_model *m, char *err, size_t err_len)
{
	char path[4096], msg[512];
	size_t len;

	memset(m, 0, sizeof(*m));
	bb_model_path(state_dir, path, sizeof(path));
	char *text = read_whole_file(path, &len);

	if (!text) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, err_len, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	int r = bb_model_from_json(text, len, m, msg, sizeof(msg));

	if (r < 0)
		snprintf(err, err_len, "%s is damaged: %s", path, msg);
	free(text);
	return r;
}

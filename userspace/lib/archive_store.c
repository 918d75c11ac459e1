// SPDX-License-Identifier: BSD-2-Clause
/* Archives: definition, opening with recovery, storing events, retention (archive.h). */
#include "archive_int.h"
#include "json.h"
#include "ruleset.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define META_FILE "archive.meta"

bool archive_name_ok(const char *n, size_t max)
{
	size_t len = strlen(n);

	if (len < 1 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') ||
		      (n[i] >= '0' && n[i] <= '9') || strchr(".-_", n[i])))
			return false;
	return true;
}

/* The API model's complaint about a name, worded as AWS words it. */
int archive_bad_name(const char *value, const char *field, size_t max, struct eb_error *err)
{
	eb_error_set(err, "ValidationException",
		     "1 validation error detected: Value '%s' at '%s' failed to satisfy "
		     "constraint: Member must satisfy regular expression pattern: "
		     "[\\.\\-_A-Za-z0-9]+ and have length between 1 and %zu",
		     value, field, max);
	return -1;
}

static struct bb_ruleset *compile_pattern(const char *pattern, struct eb_error *err)
{
	struct bb_ruleset *rs = bb_ruleset_new();
	struct bb_error e;

	if (bb_ruleset_add_pattern(rs, "archive", pattern, strlen(pattern), &e) < 0) {
		eb_error_set(err, "InvalidEventPatternException", "%s", e.msg);
		bb_ruleset_free(rs);
		return NULL;
	}
	bb_ruleset_compile(rs);
	return rs;
}

/* archive.meta: the definition, written whole (temporary file, sync, rename). */
static int write_meta(const char *dir, const char *name, const char *bus_arn, const char *pattern,
		      const char *description, unsigned retention_days, int64_t created_ms,
		      struct eb_error *err)
{
	struct strbuf meta = STRBUF_INIT;
	int ret;

	sb_adds(&meta, "{\"name\":");
	json_write_string(&meta, name, strlen(name));
	sb_adds(&meta, ",\"bus_arn\":");
	json_write_string(&meta, bus_arn, strlen(bus_arn));
	sb_adds(&meta, ",\"pattern\":");
	if (pattern)
		json_write_string(&meta, pattern, strlen(pattern));
	else
		sb_adds(&meta, "null");
	if (description) {
		sb_adds(&meta, ",\"description\":");
		json_write_string(&meta, description, strlen(description));
	}
	sb_printf(&meta, ",\"retention_days\":%u,\"created_ms\":%lld}\n", retention_days,
		  (long long)created_ms);
	ret = archive_write_file(dir, META_FILE, meta.buf, meta.len, err);
	sb_free(&meta);
	return ret;
}

int archive_create(const char *dir, const char *name, const char *bus_arn, const char *pattern,
		   unsigned retention_days, int64_t now_ms, struct eb_error *err)
{
	char path[4096];

	if (!archive_name_ok(name, ARCHIVE_NAME_MAX))
		return archive_bad_name(name, "archiveName", ARCHIVE_NAME_MAX, err);
	if (pattern) {
		struct bb_ruleset *rs = compile_pattern(pattern, err);

		if (!rs)
			return -1;
		bb_ruleset_free(rs);
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		eb_error_set(err, "InternalException", "cannot create %s: %s", dir,
			     strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/" META_FILE, dir);
	if (!access(path, F_OK)) {
		eb_error_set(err, "ResourceAlreadyExistsException", "Archive %s already exists.",
			     name);
		return -1;
	}
	return write_meta(dir, name, bus_arn, pattern, NULL, retention_days, now_ms, err);
}

int archive_check_description(const char *description, struct eb_error *err)
{
	if (strlen(description) <= ARCHIVE_DESCRIPTION_MAX)
		return 0;
	eb_error_set(err, "ValidationException",
		     "1 validation error detected: Value at 'description' failed to satisfy "
		     "constraint: Member must have length less than or equal to %d",
		     ARCHIVE_DESCRIPTION_MAX);
	return -1;
}

int archive_update(struct archive *a, const struct archive_update *u, struct eb_error *err)
{
	const char *pattern = u->pattern ? (*u->pattern ? u->pattern : NULL) : a->pattern;
	const char *desc = u->description ? u->description : a->description;
	unsigned days = u->retention_days >= 0 ? (unsigned)u->retention_days : a->retention_days;
	struct bb_ruleset *rs = NULL;

	if (u->description && archive_check_description(u->description, err))
		return -1;
	if (pattern && !(rs = compile_pattern(pattern, err)))
		return -1;
	if (write_meta(a->dir, a->name, a->bus_arn, pattern, desc, days, a->created_ms, err)) {
		bb_ruleset_free(rs);
		return -1;
	}
	/* the new definition is on disk: take it in memory */
	char *np = pattern ? xstrndup(pattern, strlen(pattern)) : NULL;
	char *nd = desc ? xstrndup(desc, strlen(desc)) : NULL;

	free(a->pattern);
	free(a->description);
	a->pattern = np;
	a->description = nd;
	a->retention_days = days;
	bb_match_ctx_free(a->match);
	bb_ruleset_free(a->rules);
	a->rules = rs;
	a->match = rs ? bb_match_ctx_new(rs) : NULL;
	return 0;
}

int archive_destroy(struct archive *a, struct eb_error *err)
{
	DIR *d = opendir(a->dir);
	struct dirent *e;
	int ret = 0;

	if (!d) {
		eb_error_set(err, "InternalException", "cannot list %s: %s", a->dir,
			     strerror(errno));
		return -1;
	}
	/* the definition first: a crash part way leaves no half archive to reopen */
	char path[4096];

	snprintf(path, sizeof(path), "%s/" META_FILE, a->dir);
	if (unlink(path) && errno != ENOENT)
		ret = -1;
	while (!ret && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", a->dir, e->d_name);
		if (unlink(path) && errno != ENOENT)
			ret = -1;
	}
	closedir(d);
	if (ret || rmdir(a->dir)) {
		eb_error_set(err, "InternalException", "cannot delete archive %s (%s): %s", a->name,
			     path, strerror(errno));
		return -1;
	}
	archive_close(a);
	return 0;
}

static char *meta_string(const struct json_value *root, const char *key)
{
	const struct json_value *v = json_get(root, key);

	return v && v->type == JSON_STRING ? xstrndup(v->u.str.s, v->u.str.len) : NULL;
}

static int load_meta(struct archive *a, struct eb_error *err)
{
	char path[4096];
	size_t len;

	snprintf(path, sizeof(path), "%s/" META_FILE, a->dir);
	char *text = read_whole_file(path, &len);

	if (!text) {
		eb_error_set(err, "ResourceNotFoundException", "Archive in %s does not exist: %s",
			     a->dir, strerror(errno));
		return -1;
	}
	struct json_doc *d = json_parse(text, len, true);
	const struct json_value *root = json_doc_root(d);
	const struct json_value *days = json_get(root, "retention_days");
	const struct json_value *created = json_get(root, "created_ms");

	a->name = meta_string(root, "name");
	a->bus_arn = meta_string(root, "bus_arn");
	a->pattern = meta_string(root, "pattern");
	a->description = meta_string(root, "description");
	int ret = 0;

	if (!a->name || !a->bus_arn || !days || days->type != JSON_NUMBER || !created ||
	    created->type != JSON_NUMBER) {
		eb_error_set(err, "InternalException", "%s is damaged", path);
		ret = -1;
	} else {
		a->retention_days = (unsigned)days->u.num.d;
		a->created_ms = (int64_t)created->u.num.d;
	}
	json_doc_free(d);
	free(text);
	return ret;
}

static int cmp_seq(const void *x, const void *y)
{
	const struct archive_segment *a = x, *b = y;

	return a->first_seq < b->first_seq ? -1 : a->first_seq > b->first_seq;
}

static int find_segments(struct archive *a, struct eb_error *err)
{
	DIR *d = opendir(a->dir);
	struct dirent *e;

	if (!d) {
		eb_error_set(err, "InternalException", "cannot list %s: %s", a->dir,
			     strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		unsigned long long seq;
		char tail[8];

		if (sscanf(e->d_name, "seg-%16llu.%4s", &seq, tail) != 2 || strcmp(tail, "log"))
			continue;
		a->segs = xrealloc(a->segs, (a->n_segs + 1) * sizeof(*a->segs));
		a->segs[a->n_segs++] = (struct archive_segment){ .first_seq = seq };
	}
	closedir(d);
	if (a->n_segs > 1)
		qsort(a->segs, a->n_segs, sizeof(*a->segs), cmp_seq);
	return 0;
}

struct archive *archive_open(const char *dir, const struct archive_opts *opts, struct eb_error *err)
{
	struct archive *a = xcalloc(1, sizeof(*a));

	a->dir = xstrndup(dir, strlen(dir));
	a->fd = -1;
	if (opts)
		a->opts = *opts;
	if (!a->opts.segment_bytes)
		a->opts.segment_bytes = ARCHIVE_DEFAULT_SEGMENT_BYTES;
	if (a->opts.segment_span_ms <= 0)
		a->opts.segment_span_ms = ARCHIVE_DEFAULT_SEGMENT_SPAN_MS;
	if (load_meta(a, err) || find_segments(a, err))
		goto bad;
	if (a->pattern) {
		a->rules = compile_pattern(a->pattern, err);
		if (!a->rules)
			goto bad;
		a->match = bb_match_ctx_new(a->rules);
	}
	for (size_t i = 0; i < a->n_segs; i++)
		if (archive_seg_recover(a, &a->segs[i], i + 1 == a->n_segs, err))
			goto bad;
	return a;
bad:
	archive_close(a);
	return NULL;
}

void archive_close(struct archive *a)
{
	if (!a)
		return;
	if (a->fd >= 0)
		close(a->fd);
	for (size_t i = 0; i < a->n_segs; i++)
		archive_seg_free(&a->segs[i]);
	free(a->segs);
	bb_match_ctx_free(a->match);
	bb_ruleset_free(a->rules);
	free(a->dir);
	free(a->name);
	free(a->bus_arn);
	free(a->pattern);
	free(a->description);
	free(a);
}

/* Store @event when it is for this archive; @event_ms -1: the envelope's "time". */
static int offer(struct archive *a, const char *event, size_t len, int64_t ingest_ms,
		 bool ingest_time_fallback, struct eb_error *err)
{
	struct json_doc *d = json_parse(event, len, true);
	const struct json_value *root = json_doc_root(d), *t = json_get(root, "time");
	int64_t event_ms = ingest_ms;
	int ret = 0;

	if (!root || root->type != JSON_OBJECT) {
		eb_error_set(err, "InvalidInput", "not an event: it is not a JSON object");
		ret = -1;
	} else if ((!ingest_time_fallback || t) &&
		   (!t || t->type != JSON_STRING ||
		    eb_time_parse(t->u.str.s, t->u.str.len, &event_ms))) {
		eb_error_set(err, "InvalidInput",
			     "not an event envelope: it needs a \"time\" in RFC 3339");
		ret = -1;
	} else if (len > ARCHIVE_MAX_EVENT) {
		eb_error_set(err, "InvalidInput", "event of %zu bytes is over the %u-byte limit",
			     len, ARCHIVE_MAX_EVENT);
		ret = -1;
	} else if (json_get(root, "replay-name")) {
		ret = 0; /* replayed events are never archived again */
	} else if (a->match) {
		const uint32_t *ids;

		ret = bb_match_event(a->match, event, len, &ids, NULL) > 0;
	} else {
		ret = 1;
	}
	json_doc_free(d);
	if (ret == 1 && archive_seg_append(a, event, len, event_ms, ingest_ms, err))
		ret = -1;
	return ret;
}

int archive_offer(struct archive *a, const char *event, size_t len, int64_t ingest_ms,
		  struct eb_error *err)
{
	return offer(a, event, len, ingest_ms, false, err);
}

int archive_offer_any(struct archive *a, const char *event, size_t len, int64_t ingest_ms,
		      struct eb_error *err)
{
	return offer(a, event, len, ingest_ms, true, err);
}

int archive_sync(struct archive *a, struct eb_error *err)
{
	if (a->fd >= 0 && fdatasync(a->fd)) {
		eb_error_set(err, "InternalException", "cannot sync archive %s: %s", a->name,
			     strerror(errno));
		return -1;
	}
	return 0;
}

long archive_apply_retention(struct archive *a, int64_t now_ms, struct eb_error *err)
{
	const int64_t keep_ms = (int64_t)a->retention_days * 86400 * 1000;
	const struct archive_segment *open = a->n_segs ? &a->segs[a->n_segs - 1] : NULL;
	long dropped = 0;
	size_t kept = 0;

	/* every event of the open segment expired: sealed, it goes like the others */
	if (a->retention_days && open && open->n && a->fd >= 0 &&
	    now_ms - open->max_ingest_ms > keep_ms && archive_seg_seal(a, err))
		return -1;

	for (size_t i = 0; i < a->n_segs; i++) {
		struct archive_segment *s = &a->segs[i];
		bool open_segment = i + 1 == a->n_segs;

		if (!a->retention_days || open_segment || !s->n ||
		    now_ms - s->max_ingest_ms <= keep_ms) {
			a->segs[kept++] = *s;
			continue;
		}
		char log[4096], idx[4096];

		archive_seg_path(a, s->first_seq, "log", log, sizeof(log));
		archive_seg_path(a, s->first_seq, "idx", idx, sizeof(idx));
		/* The index goes first: a log without one is rebuilt, never lost. */
		if ((unlink(idx) && errno != ENOENT) || unlink(log)) {
			eb_error_set(err, "InternalException", "cannot delete %s: %s", log,
				     strerror(errno));
			for (; i < a->n_segs; i++)
				a->segs[kept++] = a->segs[i];
			a->n_segs = kept;
			return -1;
		}
		dropped += (long)s->n;
		archive_seg_free(s);
	}
	a->n_segs = kept;
	if (dropped && archive_sync_dir(a->dir, err))
		return -1;
	return dropped;
}

void archive_describe(const struct archive *a, struct archive_info *out)
{
	*out = (struct archive_info){
		.name = a->name,
		.bus_arn = a->bus_arn,
		.pattern = a->pattern,
		.description = a->description,
		.retention_days = a->retention_days,
		.created_ms = a->created_ms,
		.segments = a->n_segs,
	};
	for (size_t i = 0; i < a->n_segs; i++) {
		out->event_count += a->segs[i].n;
		out->size_bytes += a->segs[i].size;
	}
}

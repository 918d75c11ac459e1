// SPDX-License-Identifier: BSD-2-Clause
/*
 * Archives in the daemon (docs/archives.md). Each archive is a directory
 * archives/NAME of the state directory (userspace/lib/archive.h). Every event
 * a round takes in is offered to the archives of its bus -- whether a rule
 * matched it or not -- and written at once; bbd_round_commit syncs the
 * archives written in the round before the store commits and before any ack
 * goes out, so an acknowledged event is archived. Replayed events carry
 * "replay-name" and are never archived again.
 */
#include "archives_int.h"
#include "datapath.h"
#include "eb_event.h"
#include "json.h"
#include "reply.h"
#include "strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ARCHIVES_DIR "archives"
#define RETENTION_EVERY_MS (60 * 1000)

void bbd_resource_arn(const struct bbd *d, const char *kind, const char *name,
		      char out[BBD_ARN_MAX])
{
	snprintf(out, BBD_ARN_MAX, "arn:aws:events:%s:%s:%s/%s", bbd_region(d), bbd_account(d),
		 kind, name);
}

void bbd_bus_arn(const struct bbd *d, const char *bus, char out[BBD_ARN_MAX])
{
	eb_bus_arn(out, BBD_ARN_MAX, bbd_region(d), bbd_account(d), bus);
}

static void archive_dir(const struct bbd *d, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/" ARCHIVES_DIR "/%s", d->state_dir, name);
}

struct bbd_arc *bbd_arc_find(const struct bbd *d, const char *name)
{
	for (size_t i = 0; d->archives && i < d->archives->n; i++)
		if (!strcmp(d->archives->arcs[i]->name, name))
			return d->archives->arcs[i];
	return NULL;
}

/* Keep @arc in the sorted list. */
static void arc_insert(struct bbd_archives *as, struct bbd_arc *arc)
{
	size_t i = 0;

	while (i < as->n && strcmp(as->arcs[i]->name, arc->name) < 0)
		i++;
	as->arcs = xrealloc(as->arcs, (as->n + 1) * sizeof(*as->arcs));
	memmove(&as->arcs[i + 1], &as->arcs[i], (as->n - i) * sizeof(*as->arcs));
	as->arcs[i] = arc;
	as->n++;
}

static void arc_free(struct bbd_arc *arc)
{
	archive_close(arc->a);
	free(arc->name);
	free(arc->bus);
	free(arc);
}

/* Open archive @name (its directory exists); NULL (logged) when it cannot be. */
static struct bbd_arc *arc_open(struct bbd *d, const char *name)
{
	char dir[4096];
	struct eb_error err;
	struct archive_info ai;
	struct archive *a;

	archive_dir(d, name, dir, sizeof(dir));
	a = archive_open(dir, NULL, &err);
	if (!a) {
		log_err("archive %s: %s", name, err.message);
		return NULL;
	}
	archive_describe(a, &ai);
	const char *bus = eb_bus_name_of(ai.bus_arn);

	if (!bus) {
		log_err("archive %s: its source %s is not an event bus ARN", name, ai.bus_arn);
		archive_close(a);
		return NULL;
	}
	struct bbd_arc *arc = xcalloc(1, sizeof(*arc));

	arc->name = xstrndup(name, strlen(name));
	arc->bus = xstrndup(bus, strlen(bus));
	arc->a = a;
	arc_insert(d->archives, arc);
	return arc;
}

int bbd_archives_open(struct bbd *d)
{
	char dir[4096];
	struct dirent *e;
	DIR *dh;

	d->archives = xcalloc(1, sizeof(*d->archives));
	snprintf(dir, sizeof(dir), "%s/" ARCHIVES_DIR, d->state_dir);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		log_err("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	dh = opendir(dir);
	if (!dh) {
		log_err("cannot list %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(dh))) {
		struct bbd_arc *arc;

		if (e->d_name[0] == '.' || !archive_name_ok(e->d_name, ARCHIVE_NAME_MAX))
			continue;
		arc = arc_open(d, e->d_name);
		if (!arc) {
			closedir(dh);
			return -1;
		}
		bbd_replays_load(d, arc);
	}
	closedir(dh);
	if (d->archives->n)
		log_info("%zu archives, %zu replays restored", d->archives->n, d->archives->n_reps);
	return 0;
}

void bbd_archives_close(struct bbd *d)
{
	if (!d->archives)
		return;
	bbd_replays_close(d, NULL);
	for (size_t i = 0; i < d->archives->n; i++)
		arc_free(d->archives->arcs[i]);
	free(d->archives->arcs);
	free(d->archives->reps);
	free(d->archives);
	d->archives = NULL;
}

int bbd_archives_offer(struct bbd *d, const char *bus, size_t bus_len, const char *body, size_t len,
		       int64_t now_ms)
{
	int ret = 0;

	for (size_t i = 0; d->archives && i < d->archives->n; i++) {
		struct bbd_arc *arc = d->archives->arcs[i];
		struct eb_error err;

		if (strlen(arc->bus) != bus_len || memcmp(arc->bus, bus, bus_len))
			continue;
		int r = archive_offer_any(arc->a, body, len, now_ms, &err);

		if (r > 0)
			arc->dirty = true;
		else if (r < 0 && strcmp(err.code, "InvalidInput")) {
			log_err("archive %s: %s", arc->name, err.message);
			ret = -1;
		}
	}
	return ret;
}

struct bb_archive_entry *bbd_archive_entries(const struct bbd *d, size_t *n)
{
	size_t k = d->archives ? d->archives->n : 0;
	struct bb_archive_entry *v = xcalloc(k ? k : 1, sizeof(*v));

	for (size_t i = 0; i < k; i++) {
		const struct bbd_arc *arc = d->archives->arcs[i];
		struct archive_info ai;

		archive_describe(arc->a, &ai);
		v[i] = (struct bb_archive_entry){ arc->bus, arc->name, ai.pattern };
	}
	*n = k;
	return v;
}

/*
 * An archive was created, changed its pattern or was deleted: the kernel
 * tables again, switched atomically as after a rule change. When that fails
 * the previous tables stay live (the kernel may drop what the archive now
 * wants): logged, the archive change itself stands.
 */
static void archives_to_kernel(struct bbd *d)
{
	char err[1200];

	if (bbd_routes_reload(d, err, sizeof(err)))
		log_err("archives into the kernel tables: %s", err);
}

int bbd_archives_sync(struct bbd *d)
{
	int ret = 0;

	for (size_t i = 0; d->archives && i < d->archives->n; i++) {
		struct bbd_arc *arc = d->archives->arcs[i];
		struct eb_error err;

		if (!arc->dirty)
			continue;
		if (archive_sync(arc->a, &err)) {
			log_err("archive %s: %s", arc->name, err.message);
			ret = -1;
		}
		arc->dirty = false;
	}
	return ret;
}

void bbd_archives_sweep(struct bbd *d, int64_t now_ms)
{
	static int64_t last_ms;

	if (now_ms - last_ms < RETENTION_EVERY_MS)
		return;
	last_ms = now_ms;
	for (size_t i = 0; d->archives && i < d->archives->n; i++) {
		struct bbd_arc *arc = d->archives->arcs[i];
		struct eb_error err;
		long n = archive_apply_retention(arc->a, now_ms, &err);

		if (n < 0)
			log_warn("archive %s retention: %s", arc->name, err.message);
		else if (n)
			log_info("archive %s: %ld events past their retention deleted", arc->name,
				 n);
	}
}

/* ---- control ops ----------------------------------------------------------- */

static void write_archive(const struct bbd *d, struct strbuf *out, const struct bbd_arc *arc)
{
	struct archive_info ai;
	char arn[BBD_ARN_MAX];

	archive_describe(arc->a, &ai);
	bbd_resource_arn(d, "archive", arc->name, arn);
	sb_addc(out, '{');
	bbd_add_str(out, "name", arc->name, false);
	bbd_add_str(out, "arn", arn, true);
	bbd_add_str(out, "bus", arc->bus, true);
	bbd_add_str(out, "source_arn", ai.bus_arn, true);
	if (ai.pattern)
		bbd_add_str(out, "pattern", ai.pattern, true);
	if (ai.description)
		bbd_add_str(out, "description", ai.description, true);
	bbd_add_str(out, "state", "ENABLED", true);
	sb_printf(out,
		  ",\"retention_days\":%u,\"created_ms\":%lld,\"event_count\":%llu,"
		  "\"size_bytes\":%llu,\"segments\":%zu}",
		  ai.retention_days, (long long)ai.created_ms, (unsigned long long)ai.event_count,
		  (unsigned long long)ai.size_bytes, ai.segments);
}

static int answer_archive(const struct bbd *d, struct strbuf *out, const struct bbd_arc *arc)
{
	bbd_ok_open(out);
	write_archive(d, out, arc);
	sb_addc(out, '}');
	return 0;
}

/* The archive named by "name"; NULL with the answer written. */
static struct bbd_arc *req_archive(struct bbd *d, const struct json_value *req, const char *key,
				   struct strbuf *out)
{
	const char *name;
	struct bbd_arc *arc;

	if (bbd_need_str(req, key, &name, out))
		return NULL;
	arc = bbd_arc_find(d, name);
	if (!arc)
		bbd_fail(out, E_NOT_FOUND, "Archive %s does not exist.", name);
	return arc;
}

static int fail_eb(struct strbuf *out, const struct eb_error *err)
{
	return bbd_fail(out, err->code, "%s", err->message);
}

int bbd_archive_create(struct bbd *d, const struct bbd_archive_spec *spec, struct bbd_arc **out,
		       struct eb_error *err)
{
	const char *bus = spec->bus ? spec->bus : BB_DEFAULT_BUS;
	const char *pattern = spec->pattern && *spec->pattern ? spec->pattern : NULL;
	char dir[4096], arn[BBD_ARN_MAX];

	if (eb_bus_name_of(bus))
		bus = eb_bus_name_of(bus); /* an ARN */
	if (!archive_name_ok(spec->name, ARCHIVE_NAME_MAX))
		return archive_bad_name(spec->name, "archiveName", ARCHIVE_NAME_MAX, err);
	if (spec->description && archive_check_description(spec->description, err))
		return -1;
	if (!bb_model_bus(&d->model, bus)) {
		eb_error_set(err, E_NOT_FOUND, "Event bus %s does not exist.", bus);
		return -1;
	}
	if (bbd_arc_find(d, spec->name)) {
		eb_error_set(err, E_EXISTS, "Archive %s already exists.", spec->name);
		return -1;
	}
	archive_dir(d, spec->name, dir, sizeof(dir));
	bbd_bus_arn(d, bus, arn);
	if (archive_create(dir, spec->name, arn, pattern, spec->retention_days, bbd_clock(d), err))
		return -1;
	*out = arc_open(d, spec->name);
	if (!*out) {
		eb_error_set(err, E_INTERNAL, "archive %s was created but cannot be opened",
			     spec->name);
		return -1;
	}
	/* the description was checked above: only a failed write can refuse it now */
	if (spec->description &&
	    archive_update((*out)->a,
			   &(struct archive_update){ .description = spec->description,
						     .retention_days = -1 },
			   err))
		return -1;
	log_info("archive %s created on bus %s", spec->name, bus);
	archives_to_kernel(d);
	return 0;
}

int bbd_archive_delete(struct bbd *d, struct bbd_arc *arc, struct eb_error *err)
{
	struct bbd_archives *as = d->archives;

	/* its replays go with it (their state files are in its directory) */
	bbd_replays_close(d, arc);
	if (archive_destroy(arc->a, err)) {
		bbd_replays_load(d, arc);
		return -1;
	}
	arc->a = NULL;
	for (size_t i = 0; i < as->n; i++)
		if (as->arcs[i] == arc) {
			memmove(&as->arcs[i], &as->arcs[i + 1], (as->n - i - 1) * sizeof(arc));
			as->n--;
			break;
		}
	log_info("archive %s deleted", arc->name);
	arc_free(arc);
	archives_to_kernel(d);
	return 0;
}

int bbd_archive_update(struct bbd *d, struct bbd_arc *arc, const struct archive_update *u,
		       struct eb_error *err)
{
	if (archive_update(arc->a, u, err))
		return -1;
	log_info("archive %s updated", arc->name);
	if (u->pattern)
		archives_to_kernel(d);
	return 0;
}

static int archive_create_op(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	struct bbd_archive_spec spec;
	long long days = 0;
	struct eb_error err;
	struct bbd_arc *arc;

	if (bbd_need_str(req, "name", &spec.name, out) || bbd_arg_str(req, "bus", &spec.bus, out) ||
	    bbd_arg_str(req, "pattern", &spec.pattern, out) ||
	    bbd_arg_str(req, "description", &spec.description, out) ||
	    bbd_arg_int(req, "retention_days", 0, 2147483647, &days, out))
		return 0;
	spec.retention_days = (unsigned)days;
	if (bbd_archive_create(d, &spec, &arc, &err))
		return fail_eb(out, &err);
	return answer_archive(d, out, arc);
}

static int archive_update_op(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	struct bbd_arc *arc = req_archive(d, req, "name", out);
	struct archive_update u = { .retention_days = -1 };
	long long days = -1;
	struct eb_error err;

	if (!arc || bbd_arg_str(req, "pattern", &u.pattern, out) ||
	    bbd_arg_str(req, "description", &u.description, out) ||
	    bbd_arg_int(req, "retention_days", 0, 2147483647, &days, out))
		return 0;
	u.retention_days = (long)days;
	if (bbd_archive_update(d, arc, &u, &err))
		return fail_eb(out, &err);
	return answer_archive(d, out, arc);
}

static int archive_delete_op(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	struct bbd_arc *arc = req_archive(d, req, "name", out);
	struct eb_error err;

	if (!arc)
		return 0;
	if (bbd_archive_delete(d, arc, &err))
		return fail_eb(out, &err);
	return bbd_ok_empty(out);
}

static int archive_list_op(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	const char *bus, *prefix;
	bool first = true;

	if (bbd_arg_str(req, "bus", &bus, out) || bbd_arg_str(req, "prefix", &prefix, out))
		return 0;
	if (bus && eb_bus_name_of(bus))
		bus = eb_bus_name_of(bus);
	bbd_ok_open(out);
	sb_addc(out, '[');
	for (size_t i = 0; i < d->archives->n; i++) {
		const struct bbd_arc *arc = d->archives->arcs[i];

		if ((bus && strcmp(bus, arc->bus)) ||
		    (prefix && strncmp(prefix, arc->name, strlen(prefix))))
			continue;
		if (!first)
			sb_addc(out, ',');
		first = false;
		write_archive(d, out, arc);
	}
	sb_adds(out, "]}");
	return 0;
}

static int archive_describe_op(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	struct bbd_arc *arc = req_archive(d, req, "name", out);

	if (!arc)
		return 0;
	return answer_archive(d, out, arc);
}

int bbd_archive_ops(struct bbd *d, const char *op, const struct json_value *req, struct strbuf *out)
{
	if (!strcmp(op, "archive.create"))
		return archive_create_op(d, req, out);
	if (!strcmp(op, "archive.update"))
		return archive_update_op(d, req, out);
	if (!strcmp(op, "archive.delete"))
		return archive_delete_op(d, req, out);
	if (!strcmp(op, "archive.list"))
		return archive_list_op(d, req, out);
	if (!strcmp(op, "archive.describe"))
		return archive_describe_op(d, req, out);
	return bbd_replay_ops(d, op, req, out);
}

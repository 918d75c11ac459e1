/* SPDX-License-Identifier: BSD-2-Clause */
/* What archives.c and replays.c share: the daemon's archives and replays. */
#ifndef BPFBUSD_ARCHIVES_INT_H
#define BPFBUSD_ARCHIVES_INT_H

#include "archive.h"
#include "bpfbusd.h"

#define BBD_ARN_MAX 600
#define BB_MAX_RULE_ARNS 100 /* Destination.FilterArns of a replay */

struct bbd_arc {
	char *name;
	char *bus; /* the source bus's name */
	struct archive *a;
	bool dirty; /* written since the last sync */
};

struct bbd_rep {
	struct replay *r;
	struct bbd_arc *arc;
	int64_t wake_ms; /* next step; -1: final state, never again */
};

struct bbd_archives {
	struct bbd_arc **arcs; /* sorted by name */
	size_t n;
	struct bbd_rep **reps; /* sorted by name */
	size_t n_reps;
};

/* CreateArchive / archive.create. */
struct bbd_archive_spec {
	const char *name;
	const char *bus; /* name or ARN; NULL: default */
	const char *pattern; /* NULL or "": every event */
	const char *description; /* or NULL */
	unsigned retention_days; /* 0: forever */
};
int bbd_archive_create(struct bbd *d, const struct bbd_archive_spec *spec, struct bbd_arc **out,
		       struct eb_error *err);
/* UpdateArchive: a new pattern recompiles the kernel tables. */
int bbd_archive_update(struct bbd *d, struct bbd_arc *arc, const struct archive_update *u,
		       struct eb_error *err);
/* DeleteArchive: the archive and its replays. */
int bbd_archive_delete(struct bbd *d, struct bbd_arc *arc, struct eb_error *err);

/* StartReplay / replay.start. */
struct bbd_replay_spec {
	const char *name;
	const char *description; /* or NULL */
	const char *archive; /* name or ARN */
	int64_t start_ms, end_ms;
	const char *destination; /* bus name or ARN; NULL: the archive's bus */
	const char *const *rules; /* names on the destination bus, or rule ARNs */
	size_t n_rules;
};
int bbd_replay_start(struct bbd *d, const struct bbd_replay_spec *spec, struct bbd_rep **out,
		     struct eb_error *err);
/* CancelReplay. */
int bbd_replay_cancel(struct bbd *d, struct bbd_rep *rep, struct eb_error *err);

struct bbd_arc *bbd_arc_find(const struct bbd *d, const char *name);
struct bbd_rep *bbd_rep_find(const struct bbd *d, const char *name);
/* Load the replays of @arc after a restart (replays.c). */
void bbd_replays_load(struct bbd *d, struct bbd_arc *arc);
/* Control ops replay.*: 0 when @op is one (answered), -1 when not. */
int bbd_replay_ops(struct bbd *d, const char *op, const struct json_value *req, struct strbuf *out);
/* Close (not delete) the replays of @arc, or of every archive when NULL. */
void bbd_replays_close(struct bbd *d, const struct bbd_arc *arc);

/* ARNs in the daemon's account and region. */
void bbd_bus_arn(const struct bbd *d, const char *bus, char out[BBD_ARN_MAX]);
void bbd_resource_arn(const struct bbd *d, const char *kind, const char *name,
		      char out[BBD_ARN_MAX]);

#endif

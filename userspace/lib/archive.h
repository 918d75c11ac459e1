/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * EventBridge archives and replays (docs/archives.md).
 *
 * An archive is a directory: archive.meta (its definition, JSON) and
 * append-only segment files seg-<first sequence number>.log of checksummed
 * records, each sealed segment with a time index seg-<n>.idx. Events are
 * offered to the archive as the bus routes them; those its event pattern
 * matches (every event when it has none) are stored, replayed events never.
 *
 * Durability: archive_offer writes the record; it is durable once
 * archive_sync returns 0 (fdatasync of the open segment), or at once with
 * opts.sync_each. Sealing a segment syncs it, its index and the directory.
 * Opening an archive recovers from a crash: a torn record at the tail of the
 * open segment (short, or failing its checksum) and everything after it are
 * cut off; every record before it, which includes every synced record, is
 * kept.
 *
 * Retention deletes whole segments whose newest event was archived more than
 * retention_days ago (0 keeps everything); the open segment is kept.
 *
 * Replays read an event-time range [start, end) of the archive in the order
 * the events were archived, at a bounded rate, and hand each event (with
 * "replay-name" added to its envelope) to a callback with the rules it is
 * meant for. Their state is persisted in replay-<name>.json beside the
 * segments after every step, so a restarted daemon resumes a STARTING or
 * RUNNING replay where its last step ended (events of an interrupted step
 * may be delivered again: at least once) and turns CANCELLING into
 * CANCELLED. Not thread-safe: one thread drives an archive and its replays.
 */
#ifndef BPFBUS_ARCHIVE_H
#define BPFBUS_ARCHIVE_H

#include "eb_common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARCHIVE_NAME_MAX 48
#define REPLAY_NAME_MAX 64
#define ARCHIVE_DEFAULT_SEGMENT_BYTES (64u << 20)
#define REPLAY_DEFAULT_RATE 1000 /* events per second */

struct archive_opts {
	bool sync_each; /* fdatasync after every stored event */
	size_t segment_bytes; /* seal a segment past this size; 0 = default */
};

struct archive;

/*
 * Create archive @name in directory @dir (created; must not hold an
 * archive yet) for the bus @bus_arn. @pattern (NULL: every event) is an
 * EventBridge event pattern; @retention_days 0 keeps events forever.
 */
int archive_create(const char *dir, const char *name, const char *bus_arn, const char *pattern,
		   unsigned retention_days, int64_t now_ms, struct eb_error *err);

/* Open an archive and recover it (see above). NULL with @err set on failure. */
struct archive *archive_open(const char *dir, const struct archive_opts *opts,
			     struct eb_error *err);
void archive_close(struct archive *a);

/*
 * Offer one bus event (its envelope, JSON). Returns 1 when stored, 0 when not
 * for this archive (the pattern does not match, or it is a replayed event),
 * -1 with @err set when it is not an event envelope or the write failed.
 */
int archive_offer(struct archive *a, const char *event, size_t len, int64_t ingest_ms,
		  struct eb_error *err);

/* Make every stored event durable. */
int archive_sync(struct archive *a, struct eb_error *err);

/* Delete expired segments; returns how many events went with them, or -1. */
long archive_apply_retention(struct archive *a, int64_t now_ms, struct eb_error *err);

struct archive_info {
	const char *name;
	const char *bus_arn;
	const char *pattern; /* NULL when none */
	unsigned retention_days;
	int64_t created_ms;
	uint64_t event_count;
	uint64_t size_bytes;
	size_t segments;
};
void archive_describe(const struct archive *a, struct archive_info *out);

/* ------------------------------------------------------------ replays */

enum replay_state {
	REPLAY_STARTING,
	REPLAY_RUNNING,
	REPLAY_COMPLETED,
	REPLAY_CANCELLING,
	REPLAY_CANCELLED,
	REPLAY_FAILED,
};
const char *replay_state_name(enum replay_state s); /* "STARTING", ... */

struct replay_spec {
	const char *name;
	const char *destination_bus_arn; /* must be the archive's bus */
	int64_t start_ms, end_ms; /* event times, [start, end) */
	const char *const *rule_arns; /* Destination.FilterArns; none = every rule */
	size_t n_rules;
	unsigned rate_per_s; /* events per second; 0 = REPLAY_DEFAULT_RATE */
};

struct replay;

/* StartReplay. NULL with @err set (ValidationException,
 * ResourceAlreadyExistsException) when refused. */
struct replay *replay_start(struct archive *a, const struct replay_spec *spec, int64_t now_ms,
			    struct eb_error *err);

/* Load replay @name of @a after a restart (see above). */
struct replay *replay_load(struct archive *a, const char *name, int64_t now_ms,
			   struct eb_error *err);

/* The names of the archive's replays (caller frees each and the array). */
int replay_list(const struct archive *a, char ***names, size_t *n);

/* Receives one replayed event; nonzero fails the replay. */
typedef int (*replay_deliver_fn)(void *ctx, const char *event, size_t len,
				 const char *const *rule_arns, size_t n_rules);

/*
 * Run the replay at @now_ms: deliver as many events as its rate allows now,
 * persist its progress, and set *@wake_ms to when to call again (-1 once it
 * reached a final state). Returns the number of events delivered, or -1 with
 * @err set when the replay failed (state FAILED).
 */
long replay_step(struct replay *r, int64_t now_ms, replay_deliver_fn deliver, void *ctx,
		 int64_t *wake_ms, struct eb_error *err);

/* CancelReplay: STARTING or RUNNING become CANCELLING, then CANCELLED at the
 * next step; other states give IllegalStatusException. */
int replay_cancel(struct replay *r, struct eb_error *err);

struct replay_info {
	const char *name;
	enum replay_state state;
	const char *reason; /* FAILED: why; else NULL */
	int64_t start_ms, end_ms;
	int64_t replay_start_ms;
	int64_t replay_end_ms; /* when it reached a final state, 0 before */
	int64_t last_replayed_ms; /* EventLastReplayedTime: event time, 0 before any */
	uint64_t delivered;
};
void replay_describe(const struct replay *r, struct replay_info *out);
void replay_close(struct replay *r);

#endif

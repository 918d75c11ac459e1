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
 * retention_days ago (0 keeps everything). A segment spans at most
 * segment_span_ms of archiving time, so events leave within that much of
 * their expiry; an open segment whose events have all expired is sealed and
 * deleted too.
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
#define ARCHIVE_DESCRIPTION_MAX 512
#define REPLAY_NAME_MAX 64
#define ARCHIVE_DEFAULT_SEGMENT_BYTES (64u << 20)
#define ARCHIVE_DEFAULT_SEGMENT_SPAN_MS (3600 * 1000) /* retention is exact to this */
#define REPLAY_DEFAULT_RATE 1000 /* events per second */

struct archive_opts {
	bool sync_each; /* fdatasync after every stored event */
	size_t segment_bytes; /* seal a segment past this size; 0 = default */
	/* seal a segment before an event archived this long after its first; 0 = default */
	int64_t segment_span_ms;
};

struct archive;

/* Files written whole (the daemon's other small state files too): to a
 * temporary name, synced, renamed, the directory synced. 0, or -1 with @err. */
int archive_write_file(const char *dir, const char *name, const void *data, size_t len,
		       struct eb_error *err);
int archive_sync_dir(const char *dir, struct eb_error *err);

/* Archive and replay names: [.-_A-Za-z0-9]{1,max}. */
bool archive_name_ok(const char *name, size_t max);
/* The ValidationException for a name outside [.-_A-Za-z0-9]{1,max} (@field: "archiveName"). */
int archive_bad_name(const char *value, const char *field, size_t max, struct eb_error *err);

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

/*
 * As archive_offer, for events that need not be EventBridge envelopes (bus
 * datagrams): an event without "time" is archived with @ingest_ms as its
 * event time. It must still be a JSON object.
 */
int archive_offer_any(struct archive *a, const char *event, size_t len, int64_t ingest_ms,
		      struct eb_error *err);

/* UpdateArchive: what is set changes, the rest stays. */
struct archive_update {
	const char *description; /* NULL: unchanged */
	const char *pattern; /* NULL: unchanged; "": no pattern (every event) */
	long retention_days; /* -1: unchanged */
};
/* Rewrites archive.meta; refused (nothing changed) for a pattern that does not
 * compile (InvalidEventPatternException) or a description over 512 bytes. */
int archive_update(struct archive *a, const struct archive_update *u, struct eb_error *err);

/* A description EventBridge accepts (at most 512 bytes); -1 with @err when not. */
int archive_check_description(const char *description, struct eb_error *err);

/* DeleteArchive: its files, its replays' state and its directory; closes @a
 * on success (replays of @a must be closed first). */
int archive_destroy(struct archive *a, struct eb_error *err);

/* Make every stored event durable. */
int archive_sync(struct archive *a, struct eb_error *err);

/* Delete expired segments; returns how many events went with them, or -1. */
long archive_apply_retention(struct archive *a, int64_t now_ms, struct eb_error *err);

struct archive_info {
	const char *name;
	const char *bus_arn;
	const char *pattern; /* NULL when none */
	const char *description; /* NULL when none */
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
	const char *description; /* Description (at most 512 bytes), or NULL */
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
	const char *description; /* or NULL */
	enum replay_state state;
	const char *reason; /* FAILED: why; else NULL */
	int64_t start_ms, end_ms;
	int64_t replay_start_ms;
	int64_t replay_end_ms; /* when it reached a final state, 0 before */
	int64_t last_replayed_ms; /* EventLastReplayedTime: event time, 0 before any */
	uint64_t delivered;
	const char *destination_bus_arn;
	const char *const *rule_arns; /* Destination.FilterArns */
	size_t n_rules;
};
void replay_describe(const struct replay *r, struct replay_info *out);

/*
 * Exactly-once replays: a caller that commits the replayed events somewhere
 * (the daemon's queue store) records the progress of each step with them, in
 * the same commit. When that commit fails, or after a restart when the
 * state file is ahead of the recorded progress, replay_rewind puts the
 * replay back there: the events after it are delivered again, the ones
 * before it never. Rewinding a COMPLETED or FAILED replay makes it RUNNING
 * again; CANCELLING and CANCELLED stay.
 */
struct replay_progress {
	uint64_t cursor; /* next sequence number */
	uint64_t delivered;
	int64_t last_replayed_ms;
};
void replay_get_progress(const struct replay *r, struct replay_progress *out);
int replay_rewind(struct replay *r, const struct replay_progress *p, struct eb_error *err);
/* The archive @r replays. */
struct archive *replay_archive(const struct replay *r);
void replay_close(struct replay *r);

#endif

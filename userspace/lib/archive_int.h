/* SPDX-License-Identifier: BSD-2-Clause */
/* Internals shared by archive_segment.c, archive_store.c and archive_replay.c. */
#ifndef BPFBUS_ARCHIVE_INT_H
#define BPFBUS_ARCHIVE_INT_H

#include "archive.h"
#include "strbuf.h"

#include <stdint.h>

/*
 * A record: this header, then len bytes of event JSON. crc is zlib's CRC-32
 * of the header's len, event_ms and ingest_ms fields and the payload.
 * Little-endian, as the machines bpfbus runs on.
 */
#define ARCHIVE_REC_MAGIC 0x52414242u /* "BBAR" */
#define ARCHIVE_IDX_MAGIC 0x58494242u /* "BBIX" */
#define ARCHIVE_MAX_EVENT (1u << 20) /* longer than any envelope EventBridge accepts */

struct archive_rec_hdr {
	uint32_t magic;
	uint32_t len;
	int64_t event_ms;
	int64_t ingest_ms;
	uint32_t crc;
	uint32_t pad;
};
_Static_assert(sizeof(struct archive_rec_hdr) == 32, "record header is 32 bytes");

/* The time index: one entry per record. */
struct archive_idx_entry {
	int64_t event_ms;
	int64_t ingest_ms;
	uint64_t offset;
	uint32_t len;
	uint32_t pad;
};
_Static_assert(sizeof(struct archive_idx_entry) == 32, "index entry is 32 bytes");

struct archive_segment {
	uint64_t first_seq;
	struct archive_idx_entry *idx;
	size_t n, cap;
	uint64_t size; /* bytes of whole records */
	int64_t min_event_ms, max_event_ms, max_ingest_ms;
};

struct archive {
	char *dir;
	char *name, *bus_arn, *pattern, *description;
	unsigned retention_days;
	int64_t created_ms;
	struct archive_opts opts;
	struct bb_ruleset *rules; /* the pattern, or NULL */
	struct bb_match_ctx *match;
	struct archive_segment *segs; /* in sequence order; the last one is open */
	size_t n_segs;
	int fd; /* the open segment */
};

/* Segment files. */
void archive_seg_path(const struct archive *a, uint64_t first_seq, const char *ext, char *out,
		      size_t n);
int archive_seg_recover(struct archive *a, struct archive_segment *s, bool open_segment,
			struct eb_error *err);
int archive_seg_append(struct archive *a, const char *event, size_t len, int64_t event_ms,
		       int64_t ingest_ms, struct eb_error *err);
int archive_seg_seal(struct archive *a, struct eb_error *err);
int archive_seg_read(const struct archive *a, const struct archive_segment *s, size_t i,
		     struct strbuf *out, struct eb_error *err);
void archive_seg_free(struct archive_segment *s);


#endif

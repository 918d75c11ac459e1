// SPDX-License-Identifier: BSD-2-Clause
/*
 * Archive segment files: append, seal, read and crash recovery (archive.h
 * says what is durable when).
 */
#include "archive_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

struct idx_file_hdr {
	uint32_t magic;
	uint32_t count;
	uint32_t crc; /* of the entries */
	uint32_t pad;
};

static int io_error(struct eb_error *err, const char *what, const char *path)
{
	eb_error_set(err, "InternalException", "%s %s: %s", what, path, strerror(errno));
	return -1;
}

void archive_seg_path(const struct archive *a, uint64_t first_seq, const char *ext, char *out,
		      size_t n)
{
	snprintf(out, n, "%s/seg-%016llu.%s", a->dir, (unsigned long long)first_seq, ext);
}

static uint32_t rec_crc(const struct archive_rec_hdr *h, const char *payload)
{
	uLong c = crc32(0L, Z_NULL, 0);

	c = crc32(c, (const Bytef *)&h->len, sizeof(h->len));
	c = crc32(c, (const Bytef *)&h->event_ms, sizeof(h->event_ms));
	c = crc32(c, (const Bytef *)&h->ingest_ms, sizeof(h->ingest_ms));
	c = crc32(c, (const Bytef *)payload, h->len);
	return (uint32_t)c;
}

static int write_all(int fd, const void *p, size_t n, off_t off)
{
	const char *c = p;

	while (n) {
		ssize_t w = pwrite(fd, c, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t n, off_t off)
{
	char *c = p;

	while (n) {
		ssize_t r = pread(fd, c, n, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

int archive_sync_dir(const char *dir, struct eb_error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	if (fd < 0 || fsync(fd)) {
		io_error(err, "cannot sync directory", dir);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int archive_write_file(const char *dir, const char *name, const void *data, size_t len,
		       struct eb_error *err)
{
	char tmp[4096], path[4096];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return io_error(err, "cannot create", tmp);
	if (write_all(fd, data, len, 0) || fsync(fd)) {
		io_error(err, "cannot write", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path))
		return io_error(err, "cannot rename", tmp);
	return archive_sync_dir(dir, err);
}

static void note_entry(struct archive_segment *s, const struct archive_idx_entry *e)
{
	if (s->n == s->cap)
		s->idx = xrealloc(s->idx, (s->cap = s->cap ? 2 * s->cap : 256) * sizeof(*s->idx));
	s->idx[s->n++] = *e;
	if (s->n == 1 || e->event_ms < s->min_event_ms)
		s->min_event_ms = e->event_ms;
	if (s->n == 1 || e->event_ms > s->max_event_ms)
		s->max_event_ms = e->event_ms;
	if (s->n == 1 || e->ingest_ms > s->max_ingest_ms)
		s->max_ingest_ms = e->ingest_ms;
	s->size = e->offset + sizeof(struct archive_rec_hdr) + e->len;
}

/* A sealed segment's index, if present and consistent with its log. */
static int load_index(const struct archive *a, struct archive_segment *s, off_t log_size)
{
	char path[4096];
	struct idx_file_hdr h;
	struct stat st;
	int fd, ret = -1;

	archive_seg_path(a, s->first_seq, "idx", path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || read_all(fd, &h, sizeof(h), 0) || h.magic != ARCHIVE_IDX_MAGIC ||
	    (uint64_t)st.st_size != sizeof(h) + (uint64_t)h.count * sizeof(*s->idx))
		goto out;
	struct archive_idx_entry *e = xmalloc((h.count + 1) * sizeof(*e));

	if (read_all(fd, e, h.count * sizeof(*e), sizeof(h)) ||
	    crc32(0L, (const Bytef *)e, h.count * sizeof(*e)) != h.crc) {
		free(e);
		goto out;
	}
	for (uint32_t i = 0; i < h.count; i++)
		note_entry(s, &e[i]);
	free(e);
	if ((off_t)s->size == log_size) {
		ret = 0;
	} else { /* stale: scan the log instead */
		free(s->idx);
		s->idx = NULL;
		s->n = s->cap = 0;
		s->size = 0;
	}
out:
	close(fd);
	return ret;
}

static int write_index(const struct archive *a, const struct archive_segment *s,
		       struct eb_error *err)
{
	struct idx_file_hdr h = { ARCHIVE_IDX_MAGIC, (uint32_t)s->n, 0, 0 };
	size_t body = s->n * sizeof(*s->idx);
	char *buf = xmalloc(sizeof(h) + body + 1), name[64];
	int ret;

	h.crc = (uint32_t)crc32(0L, (const Bytef *)s->idx, (uInt)body);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), s->idx, body);
	snprintf(name, sizeof(name), "seg-%016llu.idx", (unsigned long long)s->first_seq);
	ret = archive_write_file(a->dir, name, buf, sizeof(h) + body, err);
	free(buf);
	return ret;
}

/*
 * Rebuild a segment's index from its log, cutting off a torn tail: the first
 * record that is short, has a bad header or fails its checksum ends the log.
 */
static int scan_log(int fd, const char *path, struct archive_segment *s, off_t size,
		    struct eb_error *err)
{
	char *payload = xmalloc(ARCHIVE_MAX_EVENT);
	off_t off = 0;

	for (;;) {
		struct archive_rec_hdr h;

		if (size - off < (off_t)sizeof(h) || read_all(fd, &h, sizeof(h), off) ||
		    h.magic != ARCHIVE_REC_MAGIC || h.len > ARCHIVE_MAX_EVENT ||
		    size - off - (off_t)sizeof(h) < (off_t)h.len ||
		    read_all(fd, payload, h.len, off + (off_t)sizeof(h)) ||
		    rec_crc(&h, payload) != h.crc)
			break;
		note_entry(s, &(struct archive_idx_entry){ h.event_ms, h.ingest_ms, (uint64_t)off,
							   h.len, 0 });
		off += (off_t)sizeof(h) + h.len;
	}
	free(payload);
	if (off < size && (ftruncate(fd, off) || fsync(fd)))
		return io_error(err, "cannot cut the torn tail of", path);
	return 0;
}

int archive_seg_recover(struct archive *a, struct archive_segment *s, bool open_segment,
			struct eb_error *err)
{
	char path[4096];
	struct stat st;
	int fd;

	archive_seg_path(a, s->first_seq, "log", path, sizeof(path));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return io_error(err, "cannot open", path);
	}
	if (!open_segment && !load_index(a, s, st.st_size)) {
		close(fd);
		return 0;
	}
	if (scan_log(fd, path, s, st.st_size, err) || (!open_segment && write_index(a, s, err))) {
		close(fd);
		return -1;
	}
	if (open_segment)
		a->fd = fd;
	else
		close(fd);
	return 0;
}

static int open_new_segment(struct archive *a, uint64_t first_seq, struct eb_error *err)
{
	char path[4096];

	archive_seg_path(a, first_seq, "log", path, sizeof(path));
	a->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (a->fd < 0)
		return io_error(err, "cannot create", path);
	if (archive_sync_dir(a->dir, err))
		return -1;
	a->segs = xrealloc(a->segs, (a->n_segs + 1) * sizeof(*a->segs));
	a->segs[a->n_segs++] = (struct archive_segment){ .first_seq = first_seq };
	return 0;
}

int archive_seg_seal(struct archive *a, struct eb_error *err)
{
	struct archive_segment *s = &a->segs[a->n_segs - 1];
	char path[4096];

	archive_seg_path(a, s->first_seq, "log", path, sizeof(path));
	if (fdatasync(a->fd))
		return io_error(err, "cannot sync", path);
	if (write_index(a, s, err))
		return -1;
	close(a->fd);
	a->fd = -1;
	return open_new_segment(a, s->first_seq + s->n, err);
}

int archive_seg_append(struct archive *a, const char *event, size_t len, int64_t event_ms,
		       int64_t ingest_ms, struct eb_error *err)
{
	struct archive_segment *s;
	char path[4096];

	if (a->fd < 0 && open_new_segment(a, 0, err))
		return -1;
	s = &a->segs[a->n_segs - 1];
	/* a segment spans a bounded time, so that retention can delete it whole */
	if (s->n && ingest_ms - s->idx[0].ingest_ms >= a->opts.segment_span_ms) {
		if (archive_seg_seal(a, err))
			return -1;
		s = &a->segs[a->n_segs - 1];
	}
	struct archive_rec_hdr h = { ARCHIVE_REC_MAGIC, (uint32_t)len, event_ms, ingest_ms, 0, 0 };
	char *buf = xmalloc(sizeof(h) + len);

	h.crc = rec_crc(&h, event);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), event, len);
	int bad = write_all(a->fd, buf, sizeof(h) + len, (off_t)s->size) ||
		  (a->opts.sync_each && fdatasync(a->fd));

	free(buf);
	archive_seg_path(a, s->first_seq, "log", path, sizeof(path));
	if (bad) {
		io_error(err, "cannot append to", path);
		if (ftruncate(a->fd, (off_t)s->size)) /* leave no partial record behind */
			return -1;
		return -1;
	}
	note_entry(s,
		   &(struct archive_idx_entry){ event_ms, ingest_ms, s->size, (uint32_t)len, 0 });
	if (s->size >= a->opts.segment_bytes)
		return archive_seg_seal(a, err);
	return 0;
}

int archive_seg_read(const struct archive *a, const struct archive_segment *s, size_t i,
		     struct strbuf *out, struct eb_error *err)
{
	const struct archive_idx_entry *e = &s->idx[i];
	struct archive_rec_hdr h;
	char path[4096];
	int fd;

	archive_seg_path(a, s->first_seq, "log", path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return io_error(err, "cannot open", path);
	sb_reset(out);
	sb_reserve(out, e->len + 1);
	int bad = read_all(fd, &h, sizeof(h), (off_t)e->offset) || h.magic != ARCHIVE_REC_MAGIC ||
		  h.len != e->len ||
		  read_all(fd, out->buf, e->len, (off_t)(e->offset + sizeof(h))) ||
		  rec_crc(&h, out->buf) != h.crc;

	close(fd);
	if (bad) {
		eb_error_set(err, "InternalException",
			     "record %zu of %s is damaged (checksum or header mismatch)", i, path);
		return -1;
	}
	out->len = e->len;
	out->buf[out->len] = '\0';
	return 0;
}

void archive_seg_free(struct archive_segment *s)
{
	free(s->idx);
	s->idx = NULL;
}

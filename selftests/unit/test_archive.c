// SPDX-License-Identifier: BSD-2-Clause
/*
 * Archives and replays (userspace/lib/archive.h) on real files in a
 * temporary directory: round trip with exact counts across many segments,
 * the archive pattern, event-time boundaries, rule lists, torn tails, a
 * kill -9 while archiving, retention, rate bounds, cancel and restart.
 */
#include "archive.h"
#include "eb_event.h"
#include "json.h"
#include "../harness.h"
#include "flatdir.h"

#include <dirent.h>
#include <sys/stat.h>

#define T0_S 1700000000LL /* 2023-11-14T22:13:20Z */
#define BUS "arn:aws:events:eu-west-1:123456789012:event-bus/default"
#define LATER_MS ((T0_S + 100000) * 1000)

/* Event @i: source "src.<i % 2>", time T0 + i seconds, padded to exactly @size bytes. */
static void make_event(struct strbuf *sb, int i, size_t size)
{
	char id[40], detail[64];
	char src[16];

	snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", i);
	snprintf(src, sizeof(src), "src.%d", i % 2);
	snprintf(detail, sizeof(detail), "{\"i\":%d,\"p\":\"\"}", i);
	sb_reset(sb);
	eb_envelope_write(sb, &(struct eb_envelope){ .id = id,
						     .detail_type = "T",
						     .source = src,
						     .account = "123456789012",
						     .time_s = T0_S + i,
						     .region = "eu-west-1",
						     .detail = detail,
						     .detail_len = strlen(detail) });
	if (size > sb->len) { /* pad inside the detail's "p" string */
		size_t pad = size - sb->len;
		char *at = strstr(sb->buf, "\"p\":\"") + 5;
		size_t tail = sb->len - (size_t)(at - sb->buf);
		char *rest = xstrndup(at, tail);

		sb->len = (size_t)(at - sb->buf);
		for (size_t k = 0; k < pad; k++)
			sb_addc(sb, 'x');
		sb_add(sb, rest, tail);
		free(rest);
	}
}

struct sink {
	int n;
	int ids[4096];
	struct strbuf last;
	size_t n_rules;
	const char *rule0;
	int fail_at; /* -1: never */
};

static int collect(void *ctx, const char *event, size_t len, const char *const *rules, size_t n)
{
	struct sink *s = ctx;
	struct json_doc *d = json_parse(event, len, true);
	const struct json_value *root = json_doc_root(d);

	if (s->n == s->fail_at) {
		json_doc_free(d);
		return -1;
	}
	s->ids[s->n++] = root ? (int)json_get(json_get(root, "detail"), "i")->u.num.d : -1;
	sb_reset(&s->last);
	sb_add(&s->last, event, len);
	s->n_rules = n;
	s->rule0 = n ? rules[0] : NULL;
	json_doc_free(d);
	return 0;
}

FIXTURE(arc)
{
	char dir[64];
	struct archive *a;
	struct eb_error err;
	struct sink sink;
};

FIXTURE_SETUP(arc)
{
	char tmpl[sizeof(self->dir) - 2]; /* room for "/a" */

	ASSERT_NE_NULL(flatdir_make(tmpl, sizeof(tmpl), "archive"));
	snprintf(self->dir, sizeof(self->dir), "%s/a", tmpl);
	self->sink.fail_at = -1;
}

FIXTURE_TEARDOWN(arc)
{
	char parent[64];

	archive_close(self->a);
	sb_free(&self->sink.last);
	flatdir_remove(self->dir);
	snprintf(parent, sizeof(parent), "%.*s", (int)(strrchr(self->dir, '/') - self->dir),
		 self->dir);
	rmdir(parent);
}

static struct archive *open_arc(const char *dir, size_t seg_bytes, struct eb_error *err)
{
	struct archive_opts o = { .segment_bytes = seg_bytes };

	return archive_open(dir, &o, err);
}

static void offer_n(struct archive *a, int from, int to, size_t size, int64_t ingest_ms)
{
	struct strbuf ev = STRBUF_INIT;
	struct eb_error err;

	for (int i = from; i < to; i++) {
		make_event(&ev, i, size);
		EXPECT_EQ(1, archive_offer(a, ev.buf, ev.len, ingest_ms, &err));
	}
	sb_free(&ev);
}

/* Run a replay to its end (one step per simulated second); returns the final state. */
static enum replay_state drain(struct replay *r, struct sink *s, int64_t now_ms)
{
	struct eb_error err;
	int64_t wake = now_ms;
	struct replay_info ri;

	for (int guard = 0; wake >= 0 && guard < 100000; guard++) {
		now_ms = wake > now_ms ? wake : now_ms + 1000;
		if (replay_step(r, now_ms, collect, s, &wake, &err) < 0)
			break;
	}
	replay_describe(r, &ri);
	return ri.state;
}

static struct replay *start(struct archive *a, const char *name, int64_t from_s, int64_t to_s,
			    unsigned rate, struct eb_error *err)
{
	return replay_start(a,
			    &(struct replay_spec){ .name = name,
						   .destination_bus_arn = BUS,
						   .start_ms = from_s * 1000,
						   .end_ms = to_s * 1000,
						   .rate_per_s = rate },
			    LATER_MS, err);
}

TEST_F(arc, round_trip_exact_counts_over_many_segments)
{
	struct archive_info ai;
	struct strbuf want = STRBUF_INIT;

	ASSERT_EQ(0, archive_create(self->dir, "orders", BUS, NULL, 0, T0_S * 1000, &self->err));
	self->a = open_arc(self->dir, 4096, &self->err);
	ASSERT_NE_NULL(self->a);
	offer_n(self->a, 0, 1000, 0, T0_S * 1000);
	ASSERT_EQ(0, archive_sync(self->a, &self->err));
	archive_close(self->a);
	self->a = open_arc(self->dir, 4096, &self->err);
	ASSERT_NE_NULL(self->a);
	archive_describe(self->a, &ai);
	EXPECT_EQ(1000, ai.event_count);
	EXPECT_GT(ai.segments, 10);
	EXPECT_STREQ("orders", ai.name);
	EXPECT_STREQ(BUS, ai.bus_arn);
	EXPECT_NULL(ai.pattern);

	struct replay *r = start(self->a, "all", 0, T0_S + 5000, 0, &self->err);

	ASSERT_NE_NULL(r);
	EXPECT_EQ(REPLAY_COMPLETED, drain(r, &self->sink, LATER_MS));
	ASSERT_EQ(1000, self->sink.n);
	for (int i = 0; i < 1000; i++)
		ASSERT_EQ(i, self->sink.ids[i]); /* in archive order */
	make_event(&want, 999, 0);
	want.len--;
	sb_adds(&want, ",\"replay-name\":\"all\"}");
	EXPECT_STREQ(want.buf, self->sink.last.buf);
	struct replay_info ri;

	replay_describe(r, &ri);
	EXPECT_EQ(1000, ri.delivered);
	EXPECT_EQ((T0_S + 999) * 1000, ri.last_replayed_ms);
	EXPECT_GT(ri.replay_end_ms, 0);
	replay_close(r);
	sb_free(&want);
}

TEST_F(arc, pattern_and_replayed_events_are_not_archived)
{
	struct archive_info ai;

	ASSERT_EQ(0, archive_create(self->dir, "odd", BUS, "{\"source\":[\"src.1\"]}", 0,
				    T0_S * 1000, &self->err));
	self->a = open_arc(self->dir, 0, &self->err);
	ASSERT_NE_NULL(self->a);
	struct strbuf ev = STRBUF_INIT;
	int stored = 0;

	for (int i = 0; i < 20; i++) {
		make_event(&ev, i, 0);
		stored += archive_offer(self->a, ev.buf, ev.len, T0_S * 1000, &self->err);
	}
	EXPECT_EQ(10, stored);
	struct replay *r = start(self->a, "again", 0, T0_S + 100, 0, &self->err);

	ASSERT_NE_NULL(r);
	EXPECT_EQ(REPLAY_COMPLETED, drain(r, &self->sink, LATER_MS));
	EXPECT_EQ(10, self->sink.n);
	EXPECT_EQ(1, self->sink.ids[0]);
	/* The replayed event back on the bus is never archived again. */
	EXPECT_EQ(0, archive_offer(self->a, self->sink.last.buf, self->sink.last.len, T0_S * 1000,
				   &self->err));
	archive_describe(self->a, &ai);
	EXPECT_EQ(10, ai.event_count);
	EXPECT_EQ(-1, archive_offer(self->a, "{\"no\":1}", 8, 0, &self->err));
	EXPECT_STREQ("not an event envelope: it needs a \"time\" in RFC 3339", self->err.message);
	replay_close(r);
	sb_free(&ev);
}

TEST_F(arc, time_range_start_inclusive_end_exclusive_and_rules)
{
	const char *rules[] = { "arn:aws:events:eu-west-1:123456789012:rule/r1" };
	struct replay_info ri;

	ASSERT_EQ(0, archive_create(self->dir, "t", BUS, NULL, 0, 0, &self->err));
	self->a = open_arc(self->dir, 1024, &self->err);
	ASSERT_NE_NULL(self->a);
	offer_n(self->a, 0, 10, 0, T0_S * 1000);
	struct replay *r = replay_start(self->a,
					&(struct replay_spec){ .name = "mid",
							       .destination_bus_arn = BUS,
							       .start_ms = (T0_S + 3) * 1000,
							       .end_ms = (T0_S + 7) * 1000,
							       .rule_arns = rules,
							       .n_rules = 1 },
					LATER_MS, &self->err);

	ASSERT_NE_NULL(r);
	EXPECT_EQ(REPLAY_COMPLETED, drain(r, &self->sink, LATER_MS));
	ASSERT_EQ(4, self->sink.n);
	for (int k = 0; k < 4; k++)
		EXPECT_EQ(3 + k, self->sink.ids[k]);
	EXPECT_EQ(1, self->sink.n_rules);
	EXPECT_STREQ(rules[0], self->sink.rule0);
	replay_describe(r, &ri);
	EXPECT_EQ((T0_S + 6) * 1000, ri.last_replayed_ms);
	replay_close(r);
	/* One millisecond past an event's time excludes it at the start. */
	r = replay_start(self->a,
			 &(struct replay_spec){ .name = "edge",
						.destination_bus_arn = BUS,
						.start_ms = (T0_S + 3) * 1000 + 1,
						.end_ms = (T0_S + 7) * 1000 + 1 },
			 LATER_MS, &self->err);
	ASSERT_NE_NULL(r);
	self->sink.n = 0;
	EXPECT_EQ(REPLAY_COMPLETED, drain(r, &self->sink, LATER_MS));
	ASSERT_EQ(4, self->sink.n);
	EXPECT_EQ(4, self->sink.ids[0]);
	EXPECT_EQ(7, self->sink.ids[3]);
	replay_close(r);
}

static off_t file_size(const char *dir, const char *name)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) ? -1 : st.st_size;
}

FIXTURE_VARIANT(arc)
{
	int unused;
};
FIXTURE_VARIANT_ADD(arc, plain){ 0 };

static void append_raw(const char *dir, const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seg-0000000000000000.log", dir);
	f = fopen(path, "ab");
	fwrite(p, 1, n, f);
	fclose(f);
}

TEST_F(arc, torn_tail_is_cut_and_synced_records_stay)
{
	struct archive_info ai;
	const char *log = "seg-0000000000000000.log";

	ASSERT_EQ(0, archive_create(self->dir, "torn", BUS, NULL, 0, 0, &self->err));
	self->a = open_arc(self->dir, 0, &self->err);
	ASSERT_NE_NULL(self->a);
	offer_n(self->a, 0, 100, 268, T0_S * 1000);
	ASSERT_EQ(0, archive_sync(self->a, &self->err));
	archive_close(self->a);
	self->a = NULL;
	off_t good = file_size(self->dir, log);

	EXPECT_EQ(100 * (32 + 268), good);
	/* A header promising 500 bytes, then only 10: a write cut by a crash. */
	uint32_t hdr[8] = { 0x52414242u, 500 };

	append_raw(self->dir, hdr, sizeof(hdr));
	append_raw(self->dir, "0123456789", 10);
	self->a = open_arc(self->dir, 0, &self->err);
	ASSERT_NE_NULL(self->a);
	archive_describe(self->a, &ai);
	EXPECT_EQ(100, ai.event_count);
	EXPECT_EQ(good, file_size(self->dir, log));
	offer_n(self->a, 100, 101, 268, T0_S * 1000);
	archive_close(self->a);

	/* A whole record whose payload was corrupted before it reached the disk. */
	struct strbuf ev = STRBUF_INIT;

	make_event(&ev, 101, 268);
	uint32_t h2[8] = { 0x52414242u, 268, 0, 0, 0, 0, 0xdeadbeef, 0 };

	append_raw(self->dir, h2, sizeof(h2));
	append_raw(self->dir, ev.buf, ev.len);
	self->a = open_arc(self->dir, 0, &self->err);
	ASSERT_NE_NULL(self->a);
	archive_describe(self->a, &ai);
	EXPECT_EQ(101, ai.event_count);
	EXPECT_EQ(101 * (32 + 268), file_size(self->dir, log));
	struct replay *r = start(self->a, "after-crash", 0, T0_S + 1000, 0, &self->err);

	ASSERT_NE_NULL(r);
	EXPECT_EQ(REPLAY_COMPLETED, drain(r, &self->sink, LATER_MS));
	EXPECT_EQ(101, self->sink.n);
	EXPECT_EQ(100, self->sink.ids[100]);
	replay_close(r);
	sb_free(&ev);
}

TEST_F_TIMEOUT(arc, kill_9_while_archiving_loses_no_synced_event, 60)
{
	int fds[2];
	struct archive_info ai;

	ASSERT_EQ(0, archive_create(self->dir, "crash", BUS, NULL, 0, 0, &self->err));
	ASSERT_EQ(0, pipe(fds));
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) { /* the daemon: store, sync, acknowledge, forever */
		struct archive_opts o = { .sync_each = true, .segment_bytes = 8192 };
		struct archive *a = archive_open(self->dir, &o, &self->err);
		struct strbuf ev = STRBUF_INIT;

		for (int i = 0; a; i++) {
			make_event(&ev, i, 0);
			if (archive_offer(a, ev.buf, ev.len, T0_S * 1000, &self->err) != 1 ||
			    write(fds[1], &i, sizeof(i)) != sizeof(i))
				_exit(1);
		}
		_exit(1);
	}
	close(fds[1]);
	int acked = -1, i;

	while (acked < 300 && read(fds[0], &i, sizeof(i)) == sizeof(i))
		acked = i;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	while (read(fds[0], &i, sizeof(i)) == sizeof(i))
		acked = i;
	close(fds[0]);
	self->a = open_arc(self->dir, 8192, &self->err);
	ASSERT_NE_NULL(self->a);
	archive_describe(self->a, &ai);
	EXPECT_GE(ai.event_count, (uint64_t)acked + 1);
	EXPECT_LE(ai.event_count, (uint64_t)acked + 2); /* at most the one being written */
	struct replay *r = start(self->a, "check", 0, T0_S + 100000, 0, &self->err);

	ASSERT_NE_NULL(r);
	EXPECT_EQ(REPLAY_COMPLETED, drain(r, &self->sink, LATER_MS));
	EXPECT_EQ((int)ai.event_count, self->sink.n);
	for (int k = 0; k < self->sink.n; k++)
		ASSERT_EQ(k, self->sink.ids[k]);
	replay_close(r);
}

TEST_F(arc, retention_deletes_whole_expired_segments)
{
	struct archive_info ai;
	const int64_t now = LATER_MS, day = 86400000;

	ASSERT_EQ(0, archive_create(self->dir, "short", BUS, NULL, 1, 0, &self->err));
	/* 300-byte records, sealed at 1500 bytes: five records per segment. */
	self->a = open_arc(self->dir, 1500, &self->err);
	ASSERT_NE_NULL(self->a);
	offer_n(self->a, 0, 50, 268, now - 3 * day);
	offer_n(self->a, 50, 55, 268, now - day); /* exactly one day old: kept */
	offer_n(self->a, 55, 57, 268, now - 1000);
	archive_describe(self->a, &ai);
	EXPECT_EQ(57, ai.event_count);
	EXPECT_EQ(12, ai.segments);
	EXPECT_EQ(50, archive_apply_retention(self->a, now, &self->err));
	archive_describe(self->a, &ai);
	EXPECT_EQ(7, ai.event_count);
	EXPECT_EQ(2, ai.segments);
	EXPECT_EQ(-1, file_size(self->dir, "seg-0000000000000000.log"));
	EXPECT_EQ(-1, file_size(self->dir, "seg-0000000000000000.idx"));
	EXPECT_EQ(0, archive_apply_retention(self->a, now, &self->err));
	archive_close(self->a);
	self->a = open_arc(self->dir, 1500, &self->err);
	ASSERT_NE_NULL(self->a);
	archive_describe(self->a, &ai);
	EXPECT_EQ(7, ai.event_count);
	struct replay *r = start(self->a, "rest", 0, T0_S + 1000, 0, &self->err);

	ASSERT_NE_NULL(r);
	EXPECT_EQ(REPLAY_COMPLETED, drain(r, &self->sink, LATER_MS));
	ASSERT_EQ(7, self->sink.n);
	EXPECT_EQ(50, self->sink.ids[0]);
	replay_close(r);
}

/* Segments span at most an hour of archiving: small archives expire by age too. */
TEST_F(arc, retention_of_a_small_archive_goes_by_the_segment_span)
{
	struct archive_opts o = { .segment_bytes = 1 << 20, .segment_span_ms = 3600000 };
	const int64_t now = LATER_MS, day = 86400000;
	struct archive_info ai;

	ASSERT_EQ(0, archive_create(self->dir, "small", BUS, NULL, 1, 0, &self->err));
	self->a = archive_open(self->dir, &o, &self->err);
	ASSERT_NE_NULL(self->a);
	offer_n(self->a, 10, 20, 200, now - 3 * day);
	offer_n(self->a, 20, 25, 200, now - 2 * 3600000); /* past the span: a new segment */
	archive_describe(self->a, &ai);
	EXPECT_EQ(15, ai.event_count);
	EXPECT_EQ(2, ai.segments);
	uint64_t all_bytes = ai.size_bytes; /* 15 records of one size */

	EXPECT_EQ(10, archive_apply_retention(self->a, now, &self->err));
	archive_describe(self->a, &ai);
	EXPECT_EQ(5, ai.event_count);
	EXPECT_EQ(all_bytes / 3, ai.size_bytes);
	/* the open segment's events expired too: sealed and deleted */
	EXPECT_EQ(5, archive_apply_retention(self->a, now + 2 * day, &self->err));
	archive_describe(self->a, &ai);
	EXPECT_EQ(0, ai.event_count);
	EXPECT_EQ(0, (long long)ai.size_bytes);
	offer_n(self->a, 25, 26, 200, now + 2 * day);
	archive_describe(self->a, &ai);
	EXPECT_EQ(1, ai.event_count);
	archive_close(self->a);
	self->a = archive_open(self->dir, &o, &self->err);
	ASSERT_NE_NULL(self->a);
	archive_describe(self->a, &ai);
	EXPECT_EQ(1, ai.event_count);
}

TEST_F(arc, retention_zero_keeps_forever)
{
	ASSERT_EQ(0, archive_create(self->dir, "keep", BUS, NULL, 0, 0, &self->err));
	self->a = open_arc(self->dir, 1000, &self->err);
	ASSERT_NE_NULL(self->a);
	offer_n(self->a, 0, 20, 168, 0);
	EXPECT_EQ(0, archive_apply_retention(self->a, LATER_MS * 1000, &self->err));
}

TEST_F(arc, replay_rate_is_bounded)
{
	struct eb_error err;
	int64_t wake;

	ASSERT_EQ(0, archive_create(self->dir, "rate", BUS, NULL, 0, 0, &self->err));
	self->a = open_arc(self->dir, 0, &self->err);
	ASSERT_NE_NULL(self->a);
	offer_n(self->a, 0, 200, 0, T0_S * 1000);
	struct replay *r = start(self->a, "slow", 0, T0_S + 1000, 100, &self->err);

	ASSERT_NE_NULL(r);
	/* Nothing may go at the very start; then 100 per second, 10 per 100 ms. */
	EXPECT_EQ(0, replay_step(r, LATER_MS, collect, &self->sink, &wake, &err));
	EXPECT_EQ(LATER_MS + 11, wake);
	for (int k = 1; k <= 10; k++)
		EXPECT_EQ(10,
			  replay_step(r, LATER_MS + 100 * k, collect, &self->sink, &wake, &err));
	EXPECT_EQ(100, self->sink.n);
	/* A long pause earns at most one second's worth. */
	EXPECT_EQ(100, replay_step(r, LATER_MS + 60000, collect, &self->sink, &wake, &err));
	EXPECT_EQ(200, self->sink.n);
	EXPECT_EQ(-1, wake);
	replay_close(r);
}

TEST_F(arc, cancel_mid_replay)
{
	struct replay_info ri;
	int64_t wake;

	ASSERT_EQ(0, archive_create(self->dir, "c", BUS, NULL, 0, 0, &self->err));
	self->a = open_arc(self->dir, 0, &self->err);
	ASSERT_NE_NULL(self->a);
	offer_n(self->a, 0, 100, 0, T0_S * 1000);
	struct replay *r = start(self->a, "stop-me", 0, T0_S + 1000, 10, &self->err);

	ASSERT_NE_NULL(r);
	replay_describe(r, &ri);
	EXPECT_EQ(REPLAY_STARTING, ri.state);
	EXPECT_EQ(5, replay_step(r, LATER_MS + 500, collect, &self->sink, &wake, &self->err));
	replay_describe(r, &ri);
	EXPECT_EQ(REPLAY_RUNNING, ri.state);
	EXPECT_EQ(0, replay_cancel(r, &self->err));
	replay_describe(r, &ri);
	EXPECT_EQ(REPLAY_CANCELLING, ri.state);
	EXPECT_EQ(0, replay_step(r, LATER_MS + 5000, collect, &self->sink, &wake, &self->err));
	EXPECT_EQ(-1, wake);
	replay_describe(r, &ri);
	EXPECT_EQ(REPLAY_CANCELLED, ri.state);
	EXPECT_STREQ("CANCELLED", replay_state_name(ri.state));
	EXPECT_EQ(5, ri.delivered);
	EXPECT_EQ((T0_S + 4) * 1000, ri.last_replayed_ms);
	EXPECT_EQ(LATER_MS + 5000, ri.replay_end_ms);
	EXPECT_EQ(0, replay_step(r, LATER_MS + 9000, collect, &self->sink, &wake, &self->err));
	EXPECT_EQ(5, self->sink.n);
	EXPECT_EQ(-1, replay_cancel(r, &self->err));
	EXPECT_STREQ("IllegalStatusException", self->err.code);
	EXPECT_STREQ("Replay stop-me is CANCELLED and cannot be cancelled.", self->err.message);
	replay_close(r);
}

TEST_F(arc, restart_resumes_running_and_finishes_cancelling)
{
	struct replay_info ri;
	int64_t wake;
	char **names;
	size_t n;

	ASSERT_EQ(0, archive_create(self->dir, "r", BUS, NULL, 0, 0, &self->err));
	self->a = open_arc(self->dir, 2048, &self->err);
	ASSERT_NE_NULL(self->a);
	offer_n(self->a, 0, 50, 0, T0_S * 1000);
	struct replay *r = start(self->a, "resume", 0, T0_S + 1000, 10, &self->err);
	struct replay *c = start(self->a, "cancelled", 0, T0_S + 1000, 10, &self->err);

	ASSERT_NE_NULL(r);
	ASSERT_NE_NULL(c);
	/* 1.2 s at 10/s, but at most one second's worth at once: 10. */
	EXPECT_EQ(10, replay_step(r, LATER_MS + 1200, collect, &self->sink, &wake, &self->err));
	EXPECT_EQ(0, replay_cancel(c, &self->err));
	/* The daemon stops; the archive and the replays are reopened. */
	replay_close(r);
	replay_close(c);
	archive_close(self->a);
	self->a = open_arc(self->dir, 2048, &self->err);
	ASSERT_NE_NULL(self->a);
	ASSERT_EQ(0, replay_list(self->a, &names, &n));
	EXPECT_EQ(2, n);
	for (size_t k = 0; k < n; k++)
		free(names[k]);
	free(names);
	c = replay_load(self->a, "cancelled", LATER_MS + 2000, &self->err);
	ASSERT_NE_NULL(c);
	replay_describe(c, &ri);
	EXPECT_EQ(REPLAY_CANCELLED, ri.state);
	EXPECT_EQ(0, ri.delivered);
	replay_close(c);
	r = replay_load(self->a, "resume", LATER_MS + 2000, &self->err);
	ASSERT_NE_NULL(r);
	replay_describe(r, &ri);
	EXPECT_EQ(REPLAY_RUNNING, ri.state);
	EXPECT_EQ(10, ri.delivered);
	EXPECT_EQ(REPLAY_COMPLETED, drain(r, &self->sink, LATER_MS + 2000));
	ASSERT_EQ(50, self->sink.n);
	for (int k = 0; k < 50; k++)
		ASSERT_EQ(k, self->sink.ids[k]); /* nothing twice, nothing lost */
	replay_close(r);
	r = replay_load(self->a, "resume", LATER_MS + 9000000, &self->err);
	ASSERT_NE_NULL(r);
	replay_describe(r, &ri);
	EXPECT_EQ(REPLAY_COMPLETED, ri.state);
	EXPECT_EQ(50, ri.delivered);
	replay_close(r);
	EXPECT_NULL(replay_load(self->a, "nope", 0, &self->err));
	EXPECT_STREQ("ResourceNotFoundException", self->err.code);
}

TEST_F(arc, rewind_to_committed_progress_replays_the_rest_once)
{
	struct replay_progress committed, ahead;
	struct replay_info ri;
	int64_t wake;

	ASSERT_EQ(0, archive_create(self->dir, "w", BUS, NULL, 0, 0, &self->err));
	self->a = open_arc(self->dir, 2048, &self->err);
	ASSERT_NE_NULL(self->a);
	offer_n(self->a, 0, 30, 0, T0_S * 1000);
	struct replay *r = start(self->a, "rw", 0, T0_S + 1000, 10, &self->err);

	ASSERT_NE_NULL(r);
	EXPECT_EQ(10, replay_step(r, LATER_MS + 1000, collect, &self->sink, &wake, &self->err));
	replay_get_progress(r, &committed);
	EXPECT_EQ(10, committed.delivered);
	EXPECT_EQ((T0_S + 9) * 1000, committed.last_replayed_ms);
	/* a step whose deliveries were not committed: back to @committed */
	EXPECT_EQ(10, replay_step(r, LATER_MS + 2000, collect, &self->sink, &wake, &self->err));
	replay_get_progress(r, &ahead);
	EXPECT_EQ(20, ahead.delivered);
	EXPECT_EQ(0, replay_rewind(r, &committed, &self->err));
	/* rewinding forward does nothing */
	EXPECT_EQ(0, replay_rewind(r, &ahead, &self->err));
	replay_close(r);
	/* persisted: a restart resumes from the rewound cursor */
	r = replay_load(self->a, "rw", LATER_MS + 3000, &self->err);
	ASSERT_NE_NULL(r);
	self->sink.n = 0;
	EXPECT_EQ(REPLAY_COMPLETED, drain(r, &self->sink, LATER_MS + 3000));
	ASSERT_EQ(20, self->sink.n);
	for (int k = 0; k < 20; k++)
		ASSERT_EQ(10 + k, self->sink.ids[k]);
	/* a COMPLETED replay rewound runs again from there */
	EXPECT_EQ(0, replay_rewind(r, &committed, &self->err));
	replay_describe(r, &ri);
	EXPECT_EQ(REPLAY_RUNNING, ri.state);
	EXPECT_EQ(0, ri.replay_end_ms);
	EXPECT_EQ(10, ri.delivered);
	EXPECT_EQ(replay_archive(r), self->a);
	replay_close(r);
}

TEST_F(arc, update_changes_what_is_set_and_survives_reopening)
{
	struct archive_info ai;
	char big[ARCHIVE_DESCRIPTION_MAX + 2];

	ASSERT_EQ(0, archive_create(self->dir, "u", BUS, NULL, 3, 0, &self->err));
	self->a = open_arc(self->dir, 0, &self->err);
	ASSERT_NE_NULL(self->a);
	offer_n(self->a, 0, 2, 0, T0_S * 1000);
	EXPECT_EQ(0, archive_update(self->a,
				    &(struct archive_update){ .description = "d",
							      .pattern = "{\"source\":[\"src.1\"]}",
							      .retention_days = -1 },
				    &self->err));
	archive_describe(self->a, &ai);
	EXPECT_STREQ("d", ai.description);
	EXPECT_EQ(3, ai.retention_days);
	struct strbuf ev = STRBUF_INIT; /* event 2 is src.0: no longer archived */

	make_event(&ev, 2, 0);
	EXPECT_EQ(0, archive_offer(self->a, ev.buf, ev.len, 0, &self->err));
	sb_free(&ev);
	/* refused: nothing changes */
	EXPECT_EQ(-1, archive_update(self->a,
				     &(struct archive_update){ .pattern = "{\"source\":\"x\"}",
							       .retention_days = 9 },
				     &self->err));
	EXPECT_STREQ("InvalidEventPatternException", self->err.code);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	EXPECT_EQ(-1, archive_update(
			      self->a,
			      &(struct archive_update){ .description = big, .retention_days = 9 },
			      &self->err));
	EXPECT_STREQ("ValidationException", self->err.code);
	archive_close(self->a);
	self->a = open_arc(self->dir, 0, &self->err);
	ASSERT_NE_NULL(self->a);
	archive_describe(self->a, &ai);
	EXPECT_STREQ("d", ai.description);
	EXPECT_STREQ("{\"source\":[\"src.1\"]}", ai.pattern);
	EXPECT_EQ(3, ai.retention_days);
	/* "" removes the pattern; a retention is set */
	EXPECT_EQ(0, archive_update(self->a,
				    &(struct archive_update){ .pattern = "", .retention_days = 0 },
				    &self->err));
	archive_describe(self->a, &ai);
	EXPECT_NULL(ai.pattern);
	EXPECT_EQ(0, ai.retention_days);
	EXPECT_EQ(2, ai.event_count);
}

TEST_F(arc, destroy_removes_everything)
{
	ASSERT_EQ(0, archive_create(self->dir, "x", BUS, NULL, 0, 0, &self->err));
	self->a = open_arc(self->dir, 1024, &self->err);
	ASSERT_NE_NULL(self->a);
	offer_n(self->a, 0, 20, 0, T0_S * 1000);
	replay_close(start(self->a, "r", 0, T0_S + 1000, 10, &self->err));
	ASSERT_EQ(0, archive_destroy(self->a, &self->err));
	self->a = NULL;
	EXPECT_EQ(-1, access(self->dir, F_OK));
	EXPECT_NULL(open_arc(self->dir, 0, &self->err));
	EXPECT_STREQ("ResourceNotFoundException", self->err.code);
	mkdir(self->dir, 0700); /* for the teardown */
}

TEST_F(arc, offer_any_takes_events_without_a_time)
{
	struct replay_info ri;

	ASSERT_EQ(0, archive_create(self->dir, "t", BUS, NULL, 0, 0, &self->err));
	self->a = open_arc(self->dir, 0, &self->err);
	ASSERT_NE_NULL(self->a);
	const char *bare = "{\"detail\":{\"i\":7}}";

	EXPECT_EQ(1, archive_offer_any(self->a, bare, strlen(bare), T0_S * 1000 + 5, &self->err));
	EXPECT_EQ(-1, archive_offer_any(self->a, "[1]", 3, 0, &self->err));
	EXPECT_EQ(-1, archive_offer_any(self->a, "{\"time\":\"soon\"}", 15, 0, &self->err));
	EXPECT_STREQ("not an event envelope: it needs a \"time\" in RFC 3339", self->err.message);
	/* its event time is the ingest time: [T0+5ms, T0+6ms) replays it */
	struct replay *r = replay_start(self->a,
					&(struct replay_spec){ .name = "t",
							       .destination_bus_arn = BUS,
							       .start_ms = T0_S * 1000 + 5,
							       .end_ms = T0_S * 1000 + 6 },
					LATER_MS, &self->err);

	ASSERT_NE_NULL(r);
	EXPECT_EQ(REPLAY_COMPLETED, drain(r, &self->sink, LATER_MS));
	replay_describe(r, &ri);
	EXPECT_EQ(1, ri.delivered);
	EXPECT_EQ(1, self->sink.n);
	EXPECT_EQ(7, self->sink.ids[0]);
	replay_close(r);
}

TEST_F(arc, failed_delivery_fails_the_replay)
{
	struct replay_info ri;
	int64_t wake;

	ASSERT_EQ(0, archive_create(self->dir, "f", BUS, NULL, 0, 0, &self->err));
	self->a = open_arc(self->dir, 0, &self->err);
	ASSERT_NE_NULL(self->a);
	offer_n(self->a, 0, 10, 0, T0_S * 1000);
	struct replay *r = start(self->a, "fails", 0, T0_S + 1000, 0, &self->err);

	ASSERT_NE_NULL(r);
	self->sink.fail_at = 3;
	EXPECT_EQ(-1, replay_step(r, LATER_MS + 1000, collect, &self->sink, &wake, &self->err));
	replay_describe(r, &ri);
	EXPECT_EQ(REPLAY_FAILED, ri.state);
	EXPECT_EQ(3, ri.delivered);
	EXPECT_STREQ("delivering event 3 failed", ri.reason);
	replay_close(r);
}

TEST_F(arc, refused_requests)
{
	ASSERT_EQ(0, archive_create(self->dir, "v", BUS, NULL, 0, 0, &self->err));
	EXPECT_EQ(-1, archive_create(self->dir, "v", BUS, NULL, 0, 0, &self->err));
	EXPECT_STREQ("ResourceAlreadyExistsException", self->err.code);
	EXPECT_STREQ("Archive v already exists.", self->err.message);
	EXPECT_EQ(-1, archive_create(self->dir, "bad name", BUS, NULL, 0, 0, &self->err));
	EXPECT_STREQ("ValidationException", self->err.code);
	EXPECT_EQ(-1, archive_create(self->dir, "p", BUS, "{\"source\":\"x\"}", 0, 0, &self->err));
	EXPECT_STREQ("InvalidEventPatternException", self->err.code);
	EXPECT_TRUE(!strncmp(self->err.message, "Event pattern is not valid. Reason:", 35));
	self->a = open_arc(self->dir, 0, &self->err);
	ASSERT_NE_NULL(self->a);
	EXPECT_NULL(replay_start(self->a,
				 &(struct replay_spec){ .name = "x",
							.destination_bus_arn =
								"arn:aws:events:eu-west-1:"
								"123456789012:event-bus/other",
							.start_ms = 0,
							.end_ms = 1000 },
				 LATER_MS, &self->err));
	EXPECT_STREQ("Parameter Destination.Arn is not valid. Reason: Cross event bus replay is "
		     "not permitted.",
		     self->err.message);
	EXPECT_NULL(start(self->a, "x", 10, 10, 0, &self->err));
	EXPECT_STREQ("Parameter EventStartTime is not valid. Reason: EventStartTime must be "
		     "before EventEndTime.",
		     self->err.message);
	EXPECT_NULL(start(self->a, "x", 0, LATER_MS / 1000 + 1, 0, &self->err));
	EXPECT_STREQ("Parameter EventEndTime is not valid. Reason: EventEndTime must be before "
		     "the current time.",
		     self->err.message);
	EXPECT_NULL(start(self->a, "a/b", 0, 10, 0, &self->err));
	EXPECT_STREQ("ValidationException", self->err.code);
	struct replay *r = start(self->a, "once", 0, 10, 0, &self->err);

	ASSERT_NE_NULL(r);
	EXPECT_NULL(start(self->a, "once", 0, 10, 0, &self->err));
	EXPECT_STREQ("Replay once already exists.", self->err.message);
	replay_close(r);
	archive_close(self->a);
	self->a = NULL;
	EXPECT_NULL(archive_open("/nonexistent/archive", NULL, &self->err));
	EXPECT_STREQ("ResourceNotFoundException", self->err.code);
}

TEST_HARNESS_MAIN

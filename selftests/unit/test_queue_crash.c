// SPDX-License-Identifier: BSD-2-Clause
/*
 * Queue store crash safety: a child process sends to a FIFO queue in group
 * commits and deletes from it, reporting each commit on a pipe; it is killed
 * with SIGKILL at random moments, 20 times. After each kill a copy of the
 * store must hold every acknowledged message, no acknowledged deletion, and
 * the messages in FIFO order. The next child retransmits from the last
 * acknowledged message: deduplication keeps the queue free of duplicates.
 */
#include "../harness.h"
#include "queue_test.h"

#include <signal.h>

#define MAXN 2000000
#define GROUP 50

static int64_t far_clock(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* A day later: everything in flight is visible again. */
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 86400000;
}

static __attribute__((noreturn)) void child(const char *dir, long next, int fd)
{
	struct queue_result res;
	struct queue_store *st = queue_store_open(dir, NULL, &res);
	char body[32], line[64];

	if (!st)
		_exit(2);
	for (int round = 0;; round++) {
		struct queue_send_entry e = { .body = body, .delay_seconds = -1, .group_id = "g" };
		struct queue_send_result out;
		struct queue_receive_req req = { .max_messages = 10, .visibility_timeout = 30 };
		struct queue_received r;

		if (queue_txn_begin(st, &res))
			_exit(3);
		for (int i = 0; i < GROUP; i++, next++) {
			snprintf(body, sizeof(body), "%010ld", next);
			e.body_len = strlen(body);
			e.dedup_id = body;
			if (queue_send(st, "crash.fifo", &e, &out, &res))
				_exit(4);
		}
		if (queue_txn_commit(st, &res))
			_exit(5);
		/* Acknowledged only now. */
		snprintf(line, sizeof(line), "A %ld\n", next - 1);
		if (write(fd, line, strlen(line)) < 0)
			_exit(6);
		if (round % 3)
			continue;
		if (queue_receive(st, "crash.fifo", &req, &r, &res))
			_exit(7);
		/* R: about to delete (may vanish unreported), D: deleted for sure. */
		for (size_t i = 0; i < r.n; i++) {
			snprintf(line, sizeof(line), "R %s\n", r.msgs[i].body);
			if (write(fd, line, strlen(line)) < 0)
				_exit(6);
		}
		for (size_t i = 0; i < r.n; i++) {
			if (queue_delete_message(st, "crash.fifo", r.msgs[i].receipt_handle, &res))
				_exit(8);
			snprintf(line, sizeof(line), "D %s\n", r.msgs[i].body);
			if (write(fd, line, strlen(line)) < 0)
				_exit(6);
		}
		queue_received_free(&r);
	}
}

enum { DELETED = 1, MAYBE_DELETED = 2, PRESENT = 4 };

/*
 * Drain a copy of the store (marking PRESENT in @st8) and check: FIFO order
 * without duplicates, no deleted message back, every acknowledged message
 * there unless it was (maybe) deleted.
 */
static void verify(FIXTURE_DATA(q) *self, long acked, unsigned char *st8)
{
	struct queue_store_opts o = { .clock = far_clock };
	char copy[80], cmd[300];
	struct queue_store *st;
	struct queue_result res;
	long last = -1, lost = 0;

	snprintf(copy, sizeof(copy), "%s-copy", self->dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s && cp -r %s %s", copy, self->dir, copy);
	ASSERT_EQ(0, system(cmd));
	st = queue_store_open(copy, &o, &res);
	ASSERT_NE_NULL(st);
	for (long n = 0; n < MAXN; n++)
		st8[n] &= ~PRESENT;
	/* One transaction, aborted at the end: the copy is thrown away anyway. */
	ASSERT_EQ(0, queue_txn_begin(st, &res));
	for (;;) {
		struct queue_receive_req req = { .max_messages = 10, .visibility_timeout = 30 };
		struct queue_received r;

		ASSERT_EQ(0, queue_receive(st, "crash.fifo", &req, &r, &res));
		for (size_t i = 0; i < r.n; i++) {
			long n = strtol(r.msgs[i].body, NULL, 10);

			ASSERT_TRUE(n >= 0 && n < MAXN);
			EXPECT_GT(n, last);
			EXPECT_FALSE(st8[n] & DELETED);
			st8[n] |= PRESENT;
			last = n;
			ASSERT_EQ(0, queue_delete_message(st, "crash.fifo",
							  r.msgs[i].receipt_handle, &res));
		}
		if (!r.n) {
			queue_received_free(&r);
			break;
		}
		queue_received_free(&r);
	}
	queue_txn_abort(st);
	queue_store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", copy);
	ASSERT_EQ(0, system(cmd));
	for (long n = 0; n <= acked; n++)
		lost += !st8[n];
	EXPECT_EQ(0, lost);
}

TEST_F_TIMEOUT(q, kill_9_twenty_times, 120)
{
	static const struct queue_kv fifo[] = { { "FifoQueue", "true" } };
	unsigned char *st8 = calloc(MAXN, 1);
	long acked = -1;
	unsigned int seed = 42;

	ASSERT_NE_NULL(st8);
	qt_create(self, "crash.fifo", fifo, 1);
	queue_store_close(self->st);
	self->st = NULL;
	for (int cycle = 0; cycle < 20; cycle++) {
		int p[2];
		pid_t pid;
		FILE *f;
		char line[64];

		ASSERT_EQ(0, pipe(p));
		pid = fork();
		ASSERT_GE(pid, 0);
		if (pid == 0) {
			close(p[0]);
			child(self->dir, acked + 1, p[1]);
		}
		close(p[1]);
		usleep(2000 + rand_r(&seed) % 40000);
		kill(pid, SIGKILL);
		ASSERT_EQ(pid, waitpid(pid, NULL, 0));
		f = fdopen(p[0], "r");
		ASSERT_NE_NULL(f);
		while (fgets(line, sizeof(line), f)) {
			long n = strtol(line + 2, NULL, 10);

			ASSERT_TRUE(n >= 0 && n < MAXN);
			if (line[0] == 'A' && n > acked)
				acked = n;
			st8[n] |= line[0] == 'D' ? DELETED : line[0] == 'R' ? MAYBE_DELETED : 0;
		}
		fclose(f);
		verify(self, acked, st8);
	}
	TH_LOG("%ld messages acknowledged over 20 kills", acked + 1);
	EXPECT_GT(acked, 20 * GROUP);
	free(st8);
}

TEST_HARNESS_MAIN

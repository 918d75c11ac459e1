/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bpfbus selftest harness: kselftest-style tests, fixtures and variants, each
 * test run in its own forked process with a timeout, reporting TAP 13.
 *
 *	TEST(name) { ASSERT_EQ(1, f()); }
 *	FIXTURE(fx) { int fd; };
 *	FIXTURE_VARIANT(fx) { int port; };
 *	FIXTURE_VARIANT_ADD(fx, v4) { .port = 1 };
 *	FIXTURE_SETUP(fx) { self->fd = open_thing(variant->port); }
 *	FIXTURE_TEARDOWN(fx) { close(self->fd); }
 *	TEST_F(fx, works) { EXPECT_GE(self->fd, 0); }
 *	TEST_HARNESS_MAIN
 *
 * ASSERT_* ends the test (teardown still runs), EXPECT_* records the failure
 * and continues. Both work from helper functions too. SKIP(fmt, ...) ends the
 * test as skipped. Output of a test (stdout, stderr, TH_LOG) is shown as TAP
 * diagnostics. Per-test timeouts: TEST_TIMEOUT / TEST_F_TIMEOUT (seconds);
 * default 30 s, or $TH_TIMEOUT. Run as: ./test [-l] [glob...]
 * See docs/development.md.
 */
#ifndef BPFBUS_HARNESS_H
#define BPFBUS_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * True when a BPF load failed because this process may not use BPF: only
 * when not root. As root the verifier's rejections also come back as
 * EACCES or EPERM, and those are failures, never a reason to skip.
 */
static inline int th_bpf_not_permitted(int err)
{
	return (err == -EPERM || err == -EACCES) && geteuid() != 0;
}

#define TH_DEFAULT_TIMEOUT 30

enum th_state { TH_RUNNING, TH_PASS, TH_FAIL, TH_SKIP };

/* Shared between a test's process and the runner. */
struct th_result {
	enum th_state state;
	int failed; /* an EXPECT or ASSERT failed */
	char reason[256];
};

struct th_meta {
	struct th_result *res;
	sigjmp_buf env;
};

struct th_variant {
	const char *name;
	const void *data;
	struct th_variant *next;
};

struct th_fixture {
	const char *name;
	struct th_variant *variants, **vtail;
};

struct th_test {
	const char *name;
	struct th_fixture *fixture; /* NULL for TEST() */
	void (*fn)(struct th_meta *m, const void *variant);
	unsigned int timeout;
	struct th_test *next;
};

/* Weak, so helpers in other objects of the same test program can use the macros. */
__attribute__((weak)) struct th_test *th_tests, **th_tests_tail = &th_tests;
__attribute__((weak)) struct th_meta *th_cur;

static inline void th_add_test(struct th_test *t)
{
	*th_tests_tail = t;
	th_tests_tail = &t->next;
}

static inline void th_add_variant(struct th_fixture *f, struct th_variant *v)
{
	if (!f->vtail)
		f->vtail = &f->variants;
	*f->vtail = v;
	f->vtail = &v->next;
}

#define TH_UNUSED __attribute__((unused))
#define TH_CTOR __attribute__((constructor))

/* ------------------------------------------------------------------ tests */

#define TEST(name) TEST_TIMEOUT(name, 0)
#define TEST_TIMEOUT(name, secs)                                                           \
	static void th_body_##name(struct th_meta *_metadata);                             \
	static void th_run_##name(struct th_meta *m, const void *v TH_UNUSED)              \
	{                                                                                  \
		if (!sigsetjmp(m->env, 0))                                                 \
			th_body_##name(m);                                                 \
	}                                                                                  \
	static struct th_test th_test_##name = { #name, NULL, th_run_##name, secs, NULL }; \
	static TH_CTOR void th_reg_##name(void)                                            \
	{                                                                                  \
		th_add_test(&th_test_##name);                                              \
	}                                                                                  \
	static void th_body_##name(struct th_meta *_metadata TH_UNUSED)

/* --------------------------------------------------------------- fixtures */

#define FIXTURE_DATA(fx) struct th_data_##fx
#define FIXTURE_VARIANT(fx) struct th_vdata_##fx

#define FIXTURE(fx)                                                     \
	FIXTURE_VARIANT(fx);                                            \
	static struct th_fixture th_fixture_##fx = { #fx, NULL, NULL }; \
	FIXTURE_DATA(fx)

#define FIXTURE_VARIANT_ADD(fx, vname)                                                           \
	static const FIXTURE_VARIANT(fx) th_v_##fx##_##vname;                                    \
	static struct th_variant th_var_##fx##_##vname = { #vname, &th_v_##fx##_##vname, NULL }; \
	static TH_CTOR void th_regv_##fx##_##vname(void)                                         \
	{                                                                                        \
		th_add_variant(&th_fixture_##fx, &th_var_##fx##_##vname);                        \
	}                                                                                        \
	static const FIXTURE_VARIANT(fx) th_v_##fx##_##vname =

#define TH_FIXTURE_ARGS(fx)                                                    \
	struct th_meta *_metadata TH_UNUSED, FIXTURE_DATA(fx) *self TH_UNUSED, \
		const FIXTURE_VARIANT(fx) *variant TH_UNUSED

#define FIXTURE_SETUP(fx) static void th_setup_##fx(TH_FIXTURE_ARGS(fx))
#define FIXTURE_TEARDOWN(fx) static void th_teardown_##fx(TH_FIXTURE_ARGS(fx))

#define TEST_F(fx, name) TEST_F_TIMEOUT(fx, name, 0)
#define TEST_F_TIMEOUT(fx, name, secs)                                                      \
	static void th_body_##fx##_##name(TH_FIXTURE_ARGS(fx));                             \
	static void th_run_##fx##_##name(struct th_meta *m, const void *v)                  \
	{                                                                                   \
		static FIXTURE_DATA(fx) self; /* static: survives the longjmp */            \
		if (!sigsetjmp(m->env, 0)) {                                                \
			th_setup_##fx(m, &self, v);                                         \
			if (m->res->state == TH_RUNNING && !m->res->failed)                 \
				th_body_##fx##_##name(m, &self, v);                         \
		}                                                                           \
		if (!sigsetjmp(m->env, 0))                                                  \
			th_teardown_##fx(m, &self, v);                                      \
	}                                                                                   \
	static struct th_test th_test_##fx##_##name = { #name, &th_fixture_##fx,            \
							th_run_##fx##_##name, secs, NULL }; \
	static TH_CTOR void th_reg_##fx##_##name(void)                                      \
	{                                                                                   \
		th_add_test(&th_test_##fx##_##name);                                        \
	}                                                                                   \
	static void th_body_##fx##_##name(TH_FIXTURE_ARGS(fx))

/* ------------------------------------------------------------- reporting */

#define TH_LOG(fmt, ...) fprintf(stderr, "%s:%d: " fmt "\n", __FILE__, __LINE__, ##__VA_ARGS__)

static inline __attribute__((noreturn)) void th_stop(void)
{
	fflush(stdout);
	fflush(stderr);
	siglongjmp(th_cur->env, 1);
}

#define SKIP(fmt, ...)                                                                          \
	do {                                                                                    \
		snprintf(th_cur->res->reason, sizeof(th_cur->res->reason), fmt, ##__VA_ARGS__); \
		th_cur->res->state = TH_SKIP;                                                   \
		th_stop();                                                                      \
	} while (0)

/* Integer class of an expression: 1 signed, 0 unsigned (pointers included). */
#define th_signed(x)                                                                     \
	_Generic((x), signed char : 1, short : 1, int : 1, long : 1, long long : 1, char \
		 : CHAR_MIN < 0, default : 0)

/* Mathematical order of two integers of any signedness: -1, 0, 1. */
static inline int th_order(uintmax_t a, int a_signed, uintmax_t b, int b_signed)
{
	int a_neg = a_signed && (intmax_t)a < 0, b_neg = b_signed && (intmax_t)b < 0;

	if (a_neg != b_neg)
		return a_neg ? -1 : 1;
	if (a_neg) /* both negative */
		return (intmax_t)a < (intmax_t)b ? -1 : (intmax_t)a > (intmax_t)b;
	return a < b ? -1 : a > b;
}

static inline void th_fmt(char *buf, size_t n, uintmax_t v, int is_signed)
{
	if (is_signed && (intmax_t)v < 0)
		snprintf(buf, n, "%jd", (intmax_t)v);
	else if (v > 9)
		snprintf(buf, n, "%ju (0x%jx)", v, v);
	else
		snprintf(buf, n, "%ju", v);
}

static inline void th_failed(int fatal)
{
	th_cur->res->failed = 1;
	if (fatal)
		th_stop();
}

static inline void th_cmp_fail(const char *file, int line, const char *a_str, const char *op,
			       const char *b_str, uintmax_t a, int as, uintmax_t b, int bs,
			       int fatal)
{
	char av[48], bv[48];

	th_fmt(av, sizeof(av), a, as);
	th_fmt(bv, sizeof(bv), b, bs);
	fprintf(stderr, "%s:%d: Expected %s (%s) %s %s (%s)\n", file, line, a_str, av, op, b_str,
		bv);
	th_failed(fatal);
}

#define th_bits(x) (th_signed(x) ? (uintmax_t)(intmax_t)(x) : (uintmax_t)(x))

#define TH_CMP(expected, op, seen, fatal)                                                 \
	do {                                                                              \
		__typeof__(expected) _th_e = (expected);                                  \
		__typeof__(seen) _th_s = (seen);                                          \
		uintmax_t _th_eb = th_bits(_th_e), _th_sb = th_bits(_th_s);               \
		if (!(th_order(_th_eb, th_signed(_th_e), _th_sb, th_signed(_th_s)) op 0)) \
			th_cmp_fail(__FILE__, __LINE__, #expected, #op, #seen, _th_eb,    \
				    th_signed(_th_e), _th_sb, th_signed(_th_s), fatal);   \
	} while (0)

#define TH_BOOL(cond, want, fatal)                                                           \
	do {                                                                                 \
		if ((_Bool)(cond) != (_Bool)(want)) {                                        \
			fprintf(stderr, "%s:%d: Expected %s to be %s\n", __FILE__, __LINE__, \
				#cond, (want) ? "true" : "false");                           \
			th_failed(fatal);                                                    \
		}                                                                            \
	} while (0)

#define TH_STR(expected, want_eq, seen, fatal)                                                    \
	do {                                                                                      \
		const char *_th_e = (expected), *_th_s = (seen);                                  \
		int _th_eq = _th_e && _th_s ? !strcmp(_th_e, _th_s) : _th_e == _th_s;             \
		if (_th_eq != (want_eq)) {                                                        \
			fprintf(stderr, "%s:%d: Expected %s (\"%s\") %s %s (\"%s\")\n", __FILE__, \
				__LINE__, #expected, _th_e ? _th_e : "(null)",                    \
				(want_eq) ? "==" : "!=", #seen, _th_s ? _th_s : "(null)");        \
			th_failed(fatal);                                                         \
		}                                                                                 \
	} while (0)

#define ASSERT_EQ(e, s) TH_CMP(e, ==, s, 1)
#define ASSERT_NE(e, s) TH_CMP(e, !=, s, 1)
#define ASSERT_LT(e, s) TH_CMP(e, <, s, 1)
#define ASSERT_LE(e, s) TH_CMP(e, <=, s, 1)
#define ASSERT_GT(e, s) TH_CMP(e, >, s, 1)
#define ASSERT_GE(e, s) TH_CMP(e, >=, s, 1)
#define ASSERT_TRUE(c) TH_BOOL(c, 1, 1)
#define ASSERT_FALSE(c) TH_BOOL(c, 0, 1)
#define ASSERT_NULL(p) TH_CMP(NULL, ==, p, 1)
#define ASSERT_NE_NULL(p) TH_CMP(NULL, !=, p, 1)
#define ASSERT_STREQ(e, s) TH_STR(e, 1, s, 1)
#define ASSERT_STRNE(e, s) TH_STR(e, 0, s, 1)

#define EXPECT_EQ(e, s) TH_CMP(e, ==, s, 0)
#define EXPECT_NE(e, s) TH_CMP(e, !=, s, 0)
#define EXPECT_LT(e, s) TH_CMP(e, <, s, 0)
#define EXPECT_LE(e, s) TH_CMP(e, <=, s, 0)
#define EXPECT_GT(e, s) TH_CMP(e, >, s, 0)
#define EXPECT_GE(e, s) TH_CMP(e, >=, s, 0)
#define EXPECT_TRUE(c) TH_BOOL(c, 1, 0)
#define EXPECT_FALSE(c) TH_BOOL(c, 0, 0)
#define EXPECT_NULL(p) TH_CMP(NULL, ==, p, 0)
#define EXPECT_NE_NULL(p) TH_CMP(NULL, !=, p, 0)
#define EXPECT_STREQ(e, s) TH_STR(e, 1, s, 0)
#define EXPECT_STRNE(e, s) TH_STR(e, 0, s, 0)

/* ----------------------------------------------------------------- runner */

struct th_case {
	struct th_test *test;
	struct th_variant *variant;
	char name[256];
};

static inline double th_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Copies a test's output to stdout as "# " lines: 1 data, 0 EOF, -1 nothing yet. */
static inline int th_relay(int fd, char *line, size_t *len, size_t cap)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? -1 : 0;
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n' && *len < cap - 1) {
			line[(*len)++] = buf[i];
			continue;
		}
		printf("# %.*s\n", (int)*len, line);
		*len = 0;
		if (buf[i] != '\n')
			line[(*len)++] = buf[i];
	}
	return n > 0;
}

/* Runs one case in a child; fills *res, returns a failure reason or NULL. */
static inline const char *th_run_case(struct th_case *c, struct th_result *res, unsigned timeout,
				      char *why, size_t why_len)
{
	char line[1024];
	size_t len = 0;
	int pfd[2], status = 0, open_fd = 1;
	double deadline = th_now() + timeout;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	fflush(stdout);
	if (pipe(pfd) || (pid = fork()) < 0)
		return "cannot fork";
	if (pid == 0) {
		struct th_meta m = { .res = res };

		close(pfd[0]);
		dup2(pfd[1], STDOUT_FILENO);
		dup2(pfd[1], STDERR_FILENO);
		close(pfd[1]);
		setvbuf(stdout, NULL, _IOLBF, 0);
		th_cur = &m;
		c->test->fn(&m, c->variant ? c->variant->data : NULL);
		if (res->failed)
			res->state = TH_FAIL;
		else if (res->state == TH_RUNNING)
			res->state = TH_PASS;
		fflush(NULL);
		exit(0); /* exit, not _exit: leak checkers run here */
	}
	close(pfd[1]);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		double left = deadline - th_now();

		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(why, why_len, "timed out after %u s", timeout);
			break;
		}
		if (!open_fd) {
			usleep(10000);
			continue;
		}
		if (poll(&p, 1, left > 0.1 ? 100 : (int)(left * 1000) + 1) > 0)
			open_fd = th_relay(pfd[0], line, &len, sizeof(line)) != 0;
	}
	while (open_fd && th_relay(pfd[0], line, &len, sizeof(line)) > 0)
		;
	if (len)
		printf("# %.*s\n", (int)len, line);
	close(pfd[0]);
	if (why[0])
		return why;
	if (WIFSIGNALED(status)) {
		snprintf(why, why_len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
		return why;
	}
	if (WEXITSTATUS(status)) {
		snprintf(why, why_len, "exited with status %d", WEXITSTATUS(status));
		return why;
	}
	if (res->state == TH_RUNNING)
		return "ended without a result";
	return NULL;
}

static inline int th_selected(const char *name, int argc, char **argv)
{
	if (argc < 1)
		return 1;
	for (int i = 0; i < argc; i++)
		if (!fnmatch(argv[i], name, 0))
			return 1;
	return 0;
}

static inline int th_main(int argc, char **argv)
{
	struct th_result *res;
	struct th_case *cases = NULL;
	int n = 0, pass = 0, fail = 0, skip = 0, list = 0;
	const char *env = getenv("TH_TIMEOUT");
	unsigned def_timeout = env && atoi(env) > 0 ? (unsigned)atoi(env) : TH_DEFAULT_TIMEOUT;

	if (argc > 1 && !strcmp(argv[1], "-l")) {
		list = 1;
		argc--, argv++;
	}
	if (argc > 1 && (!strcmp(argv[1], "-h") || argv[1][0] == '-')) {
		fprintf(stderr, "usage: %s [-l] [glob...]\n", argv[0]);
		return 2;
	}
	for (struct th_test *t = th_tests; t; t = t->next) {
		struct th_variant *v = t->fixture ? t->fixture->variants : NULL;

		do {
			struct th_case c = { t, v, "" };

			if (t->fixture)
				snprintf(c.name, sizeof(c.name), "%s.%s%s%s", t->fixture->name,
					 v ? v->name : "", v ? "." : "", t->name);
			else
				snprintf(c.name, sizeof(c.name), "%s", t->name);
			if (th_selected(c.name, argc - 1, argv + 1)) {
				cases = realloc(cases, (n + 1) * sizeof(*cases));
				if (!cases)
					return 2;
				cases[n++] = c;
			}
			v = v ? v->next : NULL;
		} while (v);
	}
	if (list) {
		for (int i = 0; i < n; i++)
			printf("%s\n", cases[i].name);
		free(cases);
		return 0;
	}

	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..%d\n", n);
	for (int i = 0; i < n; i++) {
		struct th_case *c = &cases[i];
		unsigned timeout = c->test->timeout ? c->test->timeout : def_timeout;
		char why[300] = "";
		const char *err;

		printf("# RUN %s\n", c->name);
		err = th_run_case(c, res, timeout, why, sizeof(why));
		if (err) {
			printf("# %s: %s\nnot ok %d %s\n", c->name, err, i + 1, c->name);
			fail++;
		} else if (res->state == TH_SKIP) {
			printf("ok %d %s # SKIP %s\n", i + 1, c->name, res->reason);
			skip++;
		} else if (res->state == TH_FAIL) {
			printf("not ok %d %s\n", i + 1, c->name);
			fail++;
		} else {
			printf("ok %d %s\n", i + 1, c->name);
			pass++;
		}
	}
	printf("%d passed, %d failed, %d skipped\n", pass, fail, skip);
	munmap(res, sizeof(*res));
	free(cases);
	return fail ? 1 : 0;
}

#define TEST_HARNESS_MAIN                   \
	int main(int argc, char **argv)     \
	{                                   \
		return th_main(argc, argv); \
	}

#endif /* BPFBUS_HARNESS_H */

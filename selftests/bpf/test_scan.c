// SPDX-License-Identifier: BSD-2-Clause
/*
 * The kernel JSON scanner (bpf/json_scan.h) against the userspace one
 * (userspace/lib/event_scan.c): for every event of a corpus, both must
 * report the same leaves on used paths (path, type, value, arrays), or the
 * kernel must say it cannot decide (VERIFY) or that the event is malformed
 * exactly when userspace rejects it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfbus/scan.h"
#include "event_scan.h"
#include "json.h"
#include "ktables.h"
#include "ruleset_int.h"
#include "strbuf.h"
#include "scan_test.skel.h"
#include "../harness.h"

struct user_leaf {
	uint32_t path;
	enum vtype type;
	char *text; /* string value or number spelling-independent text */
	double num;
	uint32_t n_arrays;
	uint32_t arr_id[BPFBUS_SCAN_LEAF_ARRAYS], arr_idx[BPFBUS_SCAN_LEAF_ARRAYS];
};

struct user_scan {
	const struct bb_ruleset *rs;
	struct event_scan *es;
	struct user_leaf leaves[256];
	size_t n;
};

static void collect(void *arg, const struct path_info *pi, const struct scan_value *v,
		    uint32_t leaf)
{
	struct user_scan *u = arg;
	const struct scan_leaf *sl = &u->es->leaves[leaf];

	if (u->n >= 256)
		return;
	struct user_leaf *l = &u->leaves[u->n++];

	memset(l, 0, sizeof(*l));
	l->path = (uint32_t)(pi - u->rs->paths);
	l->type = v->type;
	l->num = v->num;
	if (v->type == VT_STRING)
		l->text = xstrndup(v->s, v->len);
	l->n_arrays = sl->depth;
	for (uint32_t k = 0; k < sl->depth && k < BPFBUS_SCAN_LEAF_ARRAYS; k++) {
		l->arr_id[k] = u->es->arrs[sl->arr_off + k].id;
		l->arr_idx[k] = u->es->arrs[sl->arr_off + k].index;
	}
}

/* Corpus: patterns (rules) and events, from the project and ../shared. */
struct corpus {
	char **patterns, **events;
	size_t n_patterns, n_events;
};

static void add(char ***v, size_t *n, const char *s, size_t len)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = xstrndup(s, len);
}

/* JSON lines with "pattern"/"event" string members (conformance files). */
static void load_cases(struct corpus *c, const char *path)
{
	size_t len;
	char *text = read_whole_file(path, &len);

	for (char *p = text; text && p < text + len;) {
		char *nl = memchr(p, '\n', (size_t)(text + len - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
		struct json_doc *d = json_parse(p, n, true);
		const struct json_value *pat = json_get(json_doc_root(d), "pattern");
		const struct json_value *ev = json_get(json_doc_root(d), "event");

		if (pat && pat->type == JSON_STRING)
			add(&c->patterns, &c->n_patterns, pat->u.str.s, pat->u.str.len);
		if (ev && ev->type == JSON_STRING)
			add(&c->events, &c->n_events, ev->u.str.s, ev->u.str.len);
		json_doc_free(d);
		p += n + 1;
	}
	free(text);
}

static void load_lines(struct corpus *c, const char *path, size_t max)
{
	size_t len, k = 0;
	char *text = read_whole_file(path, &len);

	for (char *p = text; text && p < text + len && k < max; k++) {
		char *nl = memchr(p, '\n', (size_t)(text + len - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(text + len - p);

		add(&c->events, &c->n_events, p, n);
		p += n + 1;
	}
	free(text);
}

static const char *const extra_patterns[] = {
	"{\"a\": [1], \"b\": {\"c\": [\"x\"]}, \"arr\": {\"x\": [1], \"y\": [2]}}",
	"{\"s\": [\"v\"], \"n\": [null], \"t\": [true], \"f\": [false]}",
	"{\"deep\": {\"l1\": {\"l2\": {\"l3\": [1]}}}}",
	"{\"properties\": {\"STREET\": [\"x\"], \"MAPBLKLOT\": [{\"prefix\": \"0\"}]},"
	" \"geometry\": {\"firstCoordinates\": {\"x\": [{\"numeric\": [\">\", 0]}]},"
	" \"coordinates\": {\"x\": [1], \"y\": [1]}}}",
};

static const char *const extra_events[] = {
	"{\"a\": 1, \"b\": {\"c\": \"x\", \"d\": [1, {\"e\": 2}]}, \"z\": \"skip\"}",
	"{\"s\": \"with \\\"escapes\\\" \\u00e9\", \"n\": null, \"t\": true, \"f\": false}",
	"{\"arr\": [{\"x\": 1, \"y\": 2}, {\"x\": 3, \"y\": [4, [5, 6]]}], \"a\": [1, 2, 3]}",
	"{\"deep\": {\"l1\": {\"l2\": {\"l3\": 1, \"skip\": {\"q\": [[[{}]]]}}}}}",
	"{\"a\": -1.5e+3 , \"b\" : { \"c\" : \"x\" } }",
	"{\"unused\": {\"a\": \"}]\\\\\"\", \"b\": [1, {\"c\": \"[\"}]}, \"a\": 2}",
	"{\"a\": 1, \"b\": ",           /* truncated */
	"[1, 2, 3, 4, 5, 6, 7, 8, 9]", /* not an object */
	"{\"a\": tru, \"b\": 1}",      /* bad literal */
	"{\"a\": 1 \"b\": 2}",         /* missing comma */
	"{\"k\\u0061\": 1, \"a\": 2}",  /* escaped key: VERIFY */
	"{\"a\": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}", /* deeper than tracked */
};

/*
 * Generated events for the skipping paths: random nesting under keys no
 * pattern uses (skipped whole) and under used ones (scanned), with strings
 * full of brackets, quotes and backslashes, so every word-at-a-time case
 * (a quote opening or closing inside a word, brackets inside strings, a
 * container closing inside a word, escapes) is met. Deterministic (seeded).
 */
static uint64_t gen_state = 0x9E3779B97F4A7C15ULL;

static uint32_t gen_rand(uint32_t n)
{
	gen_state ^= gen_state << 13;
	gen_state ^= gen_state >> 7;
	gen_state ^= gen_state << 17;
	return (uint32_t)(gen_state % n);
}

static void gen_string(struct strbuf *b)
{
	static const char *const pieces[] = { "{", "}", "[",  "]",   "\\\"",	"\\\\", ",", ":",
					      " ", "x", "yz", "\\n", "\\u005d", "ab",	"0" };
	uint32_t n = gen_rand(12);

	sb_addc(b, '"');
	for (uint32_t i = 0; i < n; i++)
		sb_adds(b, pieces[gen_rand(sizeof(pieces) / sizeof(*pieces))]);
	sb_addc(b, '"');
}

static void gen_value(struct strbuf *b, int depth)
{
	uint32_t kind = depth > 10 ? gen_rand(4) : gen_rand(7);

	if (kind == 0) {
		gen_string(b);
	} else if (kind == 1) {
		sb_printf(b, "%d.%u", (int)gen_rand(2000) - 1000, gen_rand(1000));
	} else if (kind == 2) {
		sb_adds(b, (const char *const[]){ "true", "false", "null" }[gen_rand(3)]);
	} else if (kind == 3) {
		sb_adds(b, gen_rand(2) ? "[]" : "{}");
	} else if (kind <= 4) {
		uint32_t n = 1 + gen_rand(5);

		sb_addc(b, '[');
		for (uint32_t i = 0; i < n; i++) {
			if (i)
				sb_adds(b, gen_rand(2) ? "," : " , ");
			gen_value(b, depth + 1);
		}
		sb_addc(b, ']');
	} else {
		static const char *const keys[] = { "x", "y", "c", "a", "k\\\"q", "[", "e" };
		uint32_t n = 1 + gen_rand(4);

		sb_addc(b, '{');
		for (uint32_t i = 0; i < n; i++) {
			if (i)
				sb_addc(b, ',');
			sb_printf(b, "\"%s\":%s", keys[gen_rand(sizeof(keys) / sizeof(*keys))],
				  gen_rand(2) ? " " : "");
			gen_value(b, depth + 1);
		}
		sb_addc(b, '}');
	}
}

static void add_generated_events(struct corpus *c, size_t count)
{
	struct strbuf b = { 0 };

	for (size_t i = 0; i < count; i++) {
		sb_reset(&b);
		sb_adds(&b, "{\"unused\": ");
		gen_value(&b, 1);
		sb_adds(&b, ", \"a\": ");
		gen_value(&b, 1);
		sb_adds(&b, ", \"b\": {\"skip\": ");
		gen_value(&b, 2);
		sb_adds(&b, ", \"c\": ");
		gen_value(&b, 2);
		sb_adds(&b, "}, \"z\": ");
		gen_value(&b, 1);
		sb_addc(&b, '}');
		/* an XDP test run takes at most a page less head- and
		 * tailroom (about 3.5 KiB) of linear frame */
		if (b.len < 3000)
			add(&c->events, &c->n_events, b.buf, b.len);
	}
	sb_free(&b);
}

FIXTURE(scan)
{
	struct scan_test_bpf *skel;
	struct bb_ruleset *rs;
	struct corpus c;
};

FIXTURE_SETUP(scan)
{
	const char *src = getenv("SRCTREE") ? getenv("SRCTREE") : ".";
	const char *shared = getenv("SHARED");
	char path[4096];

	memset(&self->c, 0, sizeof(self->c));
	if (geteuid() != 0)
		SKIP("BPF needs root or CAP_BPF (euid %u)", geteuid());
	self->skel = scan_test_bpf__open_and_load();
	/* as root, a load failure is a verifier rejection: a real failure */
	ASSERT_NE(NULL, self->skel);
	snprintf(path, sizeof(path), "%s/examples/events.jsonl", src);
	load_lines(&self->c, path, 1000);
	if (shared && *shared) {
		snprintf(path, sizeof(path), "%s/conformance/eventbridge-patterns.jsonl", shared);
		load_cases(&self->c, path);
		snprintf(path, sizeof(path), "%s/conformance/eventbridge-patterns-extra.jsonl",
			 shared);
		load_cases(&self->c, path);
	}
	snprintf(path, sizeof(path), "%s/selftests/cases", src);
	for (const char *const *f = (const char *const[]){"eventbridge-arrays.jsonl",
							  "eventbridge-exact.jsonl",
							  "eventbridge-values.jsonl", NULL};
	     *f; f++) {
		char p2[4200];

		snprintf(p2, sizeof(p2), "%s/%s", path, *f);
		load_cases(&self->c, p2);
	}
	if (getenv("BUILD")) {
		/* citylots-shaped events, as the benchmark uses them */
		snprintf(path, sizeof(path), "%s/bench-data/shared-default/citylots.jsonl",
			 getenv("BUILD"));
		load_lines(&self->c, path, 300);
	}
	for (size_t i = 0; i < sizeof(extra_patterns) / sizeof(*extra_patterns); i++)
		add(&self->c.patterns, &self->c.n_patterns, extra_patterns[i],
		    strlen(extra_patterns[i]));
	for (size_t i = 0; i < sizeof(extra_events) / sizeof(*extra_events); i++)
		add(&self->c.events, &self->c.n_events, extra_events[i], strlen(extra_events[i]));
	add_generated_events(&self->c, 4000);

	/* one ruleset with every valid pattern: its paths are the path table */
	self->rs = bb_ruleset_new();
	for (size_t i = 0; i < self->c.n_patterns; i++)
		bb_ruleset_add_pattern(self->rs, "p", self->c.patterns[i],
				       strlen(self->c.patterns[i]), NULL);
	bb_ruleset_compile(self->rs);
	struct bpfbus_pbucket *tab = calloc(BPFBUS_PATH_BUCKETS, sizeof(*tab));

	ASSERT_NE(NULL, tab);
	for (size_t i = 0; i < self->rs->n_paths; i++) {
		const struct path_info *pi = &self->rs->paths[i];
		struct bpfbus_path v = {.id = (uint32_t)i, .leaf = pi->leaf, .inner = pi->inner};

		ASSERT_EQ(0, ktables_place_path(tab, pi->hash, v));
	}
	for (uint32_t b = 0; b < BPFBUS_PATH_BUCKETS; b++)
		ASSERT_EQ(0, bpf_map__update_elem(self->skel->maps.paths, &b, sizeof(b), &tab[b],
						  sizeof(tab[b]), BPF_ANY));
	free(tab);
}

FIXTURE_TEARDOWN(scan)
{
	for (size_t i = 0; i < self->c.n_patterns; i++)
		free(self->c.patterns[i]);
	for (size_t i = 0; i < self->c.n_events; i++)
		free(self->c.events[i]);
	free(self->c.patterns);
	free(self->c.events);
	bb_ruleset_free(self->rs);
	scan_test_bpf__destroy(self->skel);
}

/* Run the kernel scanner on one event; NULL when the frame cannot run. */
static struct scan_state *kernel_scan(struct scan_test_bpf *skel, const char *ev, size_t len,
				      struct scan_state *out)
{
	char frame[BPFBUS_SCAN_MAX_BODY + 64];
	size_t n = len;
	__u32 zero = 0;

	/* XDP test frames need at least an Ethernet header's worth of bytes:
	 * pad short events with leading blanks, which JSON ignores */
	memset(frame, ' ', sizeof(frame));
	if (n < 14) {
		memcpy(frame + 14 - n, ev, n);
		n = 14;
	} else {
		memcpy(frame, ev, n);
	}
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)n,
		    .repeat = 1);
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.scan_frame), &opts) ||
	    opts.retval != XDP_PASS)
		return NULL;
	if (bpf_map__lookup_elem(skel->maps.state, &zero, sizeof(zero), out, sizeof(*out), 0))
		return NULL;
	return out;
}

static bool leaf_equal(const struct scan_state *k, const struct bpfbus_leaf *kl,
		       const struct user_leaf *ul, const char *ev)
{
	static const enum vtype types[] = {[BPFBUS_LEAF_STRING] = VT_STRING,
					   [BPFBUS_LEAF_NUMBER] = VT_NUMBER,
					   [BPFBUS_LEAF_NULL] = VT_NULL,
					   [BPFBUS_LEAF_TRUE] = VT_TRUE,
					   [BPFBUS_LEAF_FALSE] = VT_FALSE};

	(void)k;
	if (kl->path != ul->path || kl->type > BPFBUS_LEAF_FALSE || types[kl->type] != ul->type)
		return false;
	if (kl->n_arrays != ul->n_arrays)
		return false;
	for (uint32_t a = 0; a < kl->n_arrays; a++)
		if (kl->arr_id[a] != ul->arr_id[a] || kl->arr_idx[a] != ul->arr_idx[a])
			return false;
	if (ul->type == VT_STRING && !kl->escaped)
		return kl->len == strlen(ul->text) && !memcmp(ev + kl->off, ul->text, kl->len);
	if (ul->type == VT_NUMBER) {
		char num[64];

		snprintf(num, sizeof(num), "%.*s", (int)kl->len, ev + kl->off);
		return strtod(num, NULL) == ul->num;
	}
	return true;
}

TEST_F(scan, kernel_leaves_equal_userspace)
{
	struct event_scan es;
	struct scan_state *ks = malloc(sizeof(*ks));
	size_t compared = 0, verify = 0, errors = 0;

	ASSERT_NE(NULL, ks);
	ASSERT_GT(self->c.n_events, 50);
	event_scan_init(&es);
	for (size_t i = 0; i < self->c.n_events; i++) {
		const char *ev = self->c.events[i];
		size_t len = strlen(ev);
		struct user_scan *u = calloc(1, sizeof(*u));

		u->rs = self->rs;
		u->es = &es;
		bool user_ok = event_scan_run(&es, self->rs, ev, len, collect, u);
		/* the frame starts with padding for short events */
		size_t pad = len < 14 ? 14 - len : 0;

		if (len >= BPFBUS_SCAN_MAX_BODY) {
			for (size_t k = 0; k < u->n; k++)
				free(u->leaves[k].text);
			free(u);
			continue;
		}
		struct scan_state *k = kernel_scan(self->skel, ev, len, ks);

		if (!k)
			TH_LOG("event %zu: test run failed", i);
		ASSERT_NE(NULL, k);
		if (k->res.verify) {
			verify++;
		} else if (k->res.error) {
			errors++;
			if (user_ok)
				TH_LOG("event %zu: kernel error %u, userspace accepts: %s", i,
				       k->res.error, ev);
			EXPECT_FALSE(user_ok);
		} else {
			if (!user_ok)
				TH_LOG("event %zu: userspace rejects (%s), kernel accepts: %s", i,
				       es.error, ev);
			EXPECT_TRUE(user_ok);
			if (user_ok) {
				compared++;
				if (u->n != k->res.n_leaves)
					TH_LOG("event %zu: %s", i, ev);
				EXPECT_EQ(u->n, k->res.n_leaves);
				for (size_t l = 0; l < u->n && l < k->res.n_leaves; l++) {
					struct bpfbus_leaf kl = k->res.leaves[l];

					kl.off -= (__u16)pad;
					bool same = leaf_equal(k, &kl, &u->leaves[l], ev);

					if (!same)
						TH_LOG("event %zu leaf %zu (path %u): %s", i, l,
						       u->leaves[l].path, ev);
					EXPECT_TRUE(same);
				}
			}
		}
		for (size_t l = 0; l < u->n; l++)
			free(u->leaves[l].text);
		free(u);
	}
	TH_LOG("%zu events: %zu compared leaf by leaf, %zu VERIFY, %zu malformed", self->c.n_events,
	       compared, verify, errors);
	EXPECT_GE(compared, self->c.n_events * 8 / 10);
	event_scan_free(&es);
	free(ks);
}

TEST_HARNESS_MAIN

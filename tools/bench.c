// SPDX-License-Identifier: BSD-2-Clause
/*
 * bench: measure the userspace matcher on the shared benchmark workloads.
 *
 * Method (../shared/bench/README.md, "How a matcher reports results"): load
 * every event into memory first, time rule loading (add + compile), run
 * untimed warm-up passes, then timed passes in which only the loop that
 * hands each event to the matcher and counts matches per rule is timed.
 * Every pass's per-rule counts are checked against --expected; a run whose
 * counts differ reports no speed. One RESULT line goes to stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bpfbus/datapath.h"
#include "kdatapath.h"
#include "kengine.h"
#include "loadcommon.h"
#include "rulefile.h"
#include "ruleset.h"
#include "strbuf.h"

#define IMPL_DEFAULT "bpfbus-user"

/* Exit codes: distinct so bench-run can tell a wrong answer from a setup error. */
enum {
	EXIT_OK = 0,
	EXIT_COUNTS = 1,   /* counts differ from --expected */
	EXIT_USAGE = 2,    /* bad arguments, unreadable or malformed input */
	EXIT_REJECTED = 3, /* the matcher cannot express a rule (n/a) */
};

struct opts {
	const char *engine;
	const char *rules_path;
	const char *events_path;
	const char *counts_path;
	const char *expected_path;
	const char *exclude;
	const char *family;
	const char *impl;
	int passes;
	int warmup;
	int cpu;
	bool load_only;
	char *family_alloc; /* family derived from the file name, if any */
};

struct buf {
	char *data;
	size_t len;
};

struct rule {
	const char *name; /* owned by the rulefile */
	const char *pat;
	size_t pat_len;
};

struct rules {
	struct rulefile file;
	struct rule *v;
	size_t n;
	size_t excluded;
};

struct events {
	const char **text; /* points into the events file buffer */
	size_t *len;
	size_t n;
	size_t bytes;
};

/* Open-addressing map from a string to an index: 100,000 rule names. */
struct name_map {
	const char **keys;
	size_t *vals;
	size_t mask;
};

static _Noreturn void die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* ---- files ---------------------------------------------------------- */

static struct buf read_file(const char *path)
{
	struct buf b = { 0 };
	size_t cap = 1 << 20;
	FILE *f = fopen(path, "rb");

	if (!f)
		die(EXIT_USAGE, "%s: %s", path, strerror(errno));
	b.data = xmalloc(cap + 1);
	for (;;) {
		size_t got = fread(b.data + b.len, 1, cap - b.len, f);

		b.len += got;
		if (b.len < cap)
			break;
		cap *= 2;
		b.data = realloc(b.data, cap + 1);
		if (!b.data)
			die(EXIT_USAGE, "%s: out of memory", path);
	}
	if (ferror(f))
		die(EXIT_USAGE, "%s: read error", path);
	fclose(f);
	b.data[b.len] = '\0'; /* lets the parsers stop at a NUL-free sentinel */
	return b;
}

/* One event per line, without the newline; blank lines are not events. */
static void split_events(struct buf *b, struct events *ev)
{
	size_t cap = 1024;
	char *p = b->data, *end = b->data + b->len;

	ev->text = xmalloc(cap * sizeof(*ev->text));
	ev->len = xmalloc(cap * sizeof(*ev->len));
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl ? nl : end;
		size_t len = (size_t)(eol - p);

		if (len && p[len - 1] == '\r')
			len--;
		if (len) {
			if (ev->n == cap) {
				cap *= 2;
				ev->text = realloc(ev->text, cap * sizeof(*ev->text));
				ev->len = realloc(ev->len, cap * sizeof(*ev->len));
				if (!ev->text || !ev->len)
					die(EXIT_USAGE, "out of memory for events");
			}
			ev->text[ev->n] = p;
			ev->len[ev->n] = len;
			ev->n++;
			ev->bytes += len;
		}
		p = eol + 1;
	}
}

/* ---- name map ------------------------------------------------------- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void map_free(struct name_map *m)
{
	free(m->keys);
	free(m->vals);
}

static void map_init(struct name_map *m, size_t n)
{
	size_t size = 16;

	while (size < 2 * n)
		size *= 2;
	m->keys = xcalloc(size, sizeof(*m->keys));
	m->vals = xcalloc(size, sizeof(*m->vals));
	m->mask = size - 1;
}

/* Returns false if @key is already present (its index left unchanged). */
static bool map_put(struct name_map *m, const char *key, size_t val)
{
	size_t i = hash_str(key) & m->mask;

	while (m->keys[i]) {
		if (!strcmp(m->keys[i], key))
			return false;
		i = (i + 1) & m->mask;
	}
	m->keys[i] = key;
	m->vals[i] = val;
	return true;
}

static bool map_get(const struct name_map *m, const char *key, size_t *val)
{
	size_t i = hash_str(key) & m->mask;

	while (m->keys[i]) {
		if (!strcmp(m->keys[i], key)) {
			*val = m->vals[i];
			return true;
		}
		i = (i + 1) & m->mask;
	}
	return false;
}

/* ---- rules ------------------------------------------------------- */

/* Rule files are parsed by the library (rulefile.c), as `bpfbus pattern
 * match` parses them; names starting with --exclude are dropped here. */
static void parse_rules(const struct buf *b, const char *path,
			const char *exclude, struct rules *r)
{
	size_t excl_len = exclude ? strlen(exclude) : 0;
	char msg[512];

	if (rulefile_parse(b->data, b->len, &r->file, msg, sizeof(msg)) < 0)
		die(EXIT_USAGE, "%s: %s", path, msg);
	r->v = xcalloc(r->file.n, sizeof(*r->v));
	for (size_t i = 0; i < r->file.n; i++) {
		const struct rulefile_entry *e = &r->file.rules[i];

		if (excl_len && !strncmp(e->name, exclude, excl_len)) {
			r->excluded++;
			continue;
		}
		r->v[r->n++] = (struct rule){.name = e->name,
					     .pat = e->pattern,
					     .pat_len = e->pattern_len};
	}
}

/* ---- expected counts ------------------------------------------------ */

struct expected {
	struct buf file; /* names point into it */
	char **names;
	uint64_t *counts;
	size_t n;
	struct name_map map;
};

/* Format: '#' comment lines, then "name<TAB>count" per rule. */
static void load_expected(const char *path, struct expected *e)
{
	size_t cap = 64, lineno = 0;
	char *line, *save = NULL;

	e->file = read_file(path);
	e->names = xmalloc(cap * sizeof(*e->names));
	e->counts = xmalloc(cap * sizeof(*e->counts));
	for (line = strtok_r(e->file.data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *tab, *endp;

		lineno++;
		if (line[0] == '#' || line[0] == '\0' || line[0] == '\r')
			continue;
		tab = strchr(line, '\t');
		if (!tab)
			die(EXIT_USAGE, "%s:%zu: expected name<TAB>count", path, lineno);
		*tab = '\0';
		errno = 0;
		if (e->n == cap) {
			cap *= 2;
			e->names = realloc(e->names, cap * sizeof(*e->names));
			e->counts = realloc(e->counts, cap * sizeof(*e->counts));
			if (!e->names || !e->counts)
				die(EXIT_USAGE, "out of memory for expected counts");
		}
		e->counts[e->n] = strtoull(tab + 1, &endp, 10);
		if (errno || endp == tab + 1 || (*endp && *endp != '\r'))
			die(EXIT_USAGE, "%s:%zu: bad count", path, lineno);
		e->names[e->n++] = line;
	}
	map_init(&e->map, e->n);
	for (size_t i = 0; i < e->n; i++)
		if (!map_put(&e->map, e->names[i], i))
			die(EXIT_USAGE, "%s: rule %s listed twice", path, e->names[i]);
}

/*
 * Compare one pass's counts (by rule index) with the expected ones; print
 * every differing rule (at most a screenful) and return how many differ.
 */
static size_t diff_counts(const struct rules *r, const uint64_t *got,
			  const struct expected *e, int pass)
{
	size_t bad = 0;

	for (size_t i = 0; i < r->n; i++) {
		size_t k;

		if (!map_get(&e->map, r->v[i].name, &k)) {
			if (bad++ < 20)
				fprintf(stderr, "bench: pass %d: %s: no expected count\n",
					pass, r->v[i].name);
			continue;
		}
		if (got[i] != e->counts[k] && bad++ < 20)
			fprintf(stderr, "bench: pass %d: %s: got %" PRIu64
				", expected %" PRIu64 "\n",
				pass, r->v[i].name, got[i], e->counts[k]);
	}
	if (bad > 20)
		fprintf(stderr, "bench: pass %d: ... %zu rules differ in all\n",
			pass, bad);
	return bad;
}

static void write_counts(const char *path, const struct opts *o,
			 const struct rules *r, const uint64_t *counts,
			 size_t n_events)
{
	FILE *f = fopen(path, "w");

	if (!f)
		die(EXIT_USAGE, "%s: %s", path, strerror(errno));
	fprintf(f, "# rule\tmatches\t(events=%s n=%zu; rules=%s; exclude=%s; impl=%s)\n",
		o->events_path, n_events, o->rules_path,
		o->exclude ? o->exclude : "-", o->impl);
	for (size_t i = 0; i < r->n; i++)
		fprintf(f, "%s\t%" PRIu64 "\n", r->v[i].name, counts[i]);
	if (fclose(f))
		die(EXIT_USAGE, "%s: write error", path);
}

/* ---- matcher -------------------------------------------------------- */

struct loaded {
	struct bb_ruleset *rs;
	size_t *rule_of_id; /* matcher id -> index in struct rules */
	size_t n_ids;
	double add_s;
};

/*
 * Adds every rule and compiles, timed together: that is the "add time" the
 * peers report. A rule the matcher rejects stops the run with an n/a result
 * rather than being dropped silently (returns false).
 */
static bool load_rules(const struct opts *o, const struct rules *r,
		       struct loaded *l)
{
	struct bb_error err;
	int *ids = xmalloc(r->n * sizeof(*ids));
	double t0;

	err.msg[0] = '\0';
	t0 = lc_now();
	l->rs = bb_ruleset_new();
	if (!l->rs)
		die(EXIT_USAGE, "bb_ruleset_new failed");
	for (size_t i = 0; i < r->n; i++) {
		ids[i] = bb_ruleset_add_pattern(l->rs, r->v[i].name, r->v[i].pat,
						r->v[i].pat_len, &err);
		if (ids[i] < 0) {
			fprintf(stderr, "bench: rule %s: %s\n", r->v[i].name, err.msg);
			printf("RESULT impl=%s family=%s rules=%zu exclude=%s check=n/a reason=rule-rejected:%s\n",
			       o->impl, o->family, r->n, o->exclude ? o->exclude : "-",
			       r->v[i].name);
			free(ids);
			return false;
		}
	}
	if (bb_ruleset_compile(l->rs) < 0) {
		fprintf(stderr, "bench: bb_ruleset_compile failed\n");
		printf("RESULT impl=%s family=%s rules=%zu exclude=%s check=n/a reason=compile-failed\n",
		       o->impl, o->family, r->n, o->exclude ? o->exclude : "-");
		free(ids);
		return false;
	}
	l->add_s = lc_now() - t0;

	for (size_t i = 0; i < r->n; i++)
		if ((size_t)ids[i] + 1 > l->n_ids)
			l->n_ids = (size_t)ids[i] + 1;
	l->rule_of_id = xmalloc(l->n_ids * sizeof(*l->rule_of_id));
	for (size_t i = 0; i < l->n_ids; i++)
		l->rule_of_id[i] = SIZE_MAX;
	for (size_t i = 0; i < r->n; i++)
		l->rule_of_id[ids[i]] = i;
	free(ids);
	return true;
}

struct pass {
	double secs;
	uint64_t flagged; /* kernel engine: events userspace had to decide */
	uint64_t why[32];  /* kernel engine: flagged events by VERIFY reason bit */
	uint64_t passed;  /* kernel engine: events the kernel passed on */
	uint64_t matches;
	uint64_t errors;     /* events the matcher refused (not a JSON object) */
	uint64_t bad_ids;    /* ids outside what add_pattern returned */
	size_t first_error;  /* index of the first refused event */
};

/*
 * One pass over all events. Only this loop is timed; the per-id counting is
 * inside it on purpose (the peers' drivers count there too).
 */
static void run_pass(struct bb_match_ctx *ctx, const struct events *ev,
		     uint64_t *by_id, size_t n_ids, struct pass *ps)
{
	uint64_t errors = 0, bad = 0;
	size_t first_error = SIZE_MAX;
	double t0, t1;

	memset(by_id, 0, n_ids * sizeof(*by_id));
	t0 = lc_now();
	for (size_t i = 0; i < ev->n; i++) {
		const uint32_t *ids;
		int n = bb_match_event(ctx, ev->text[i], ev->len[i], &ids, NULL);

		if (n < 0) {
			if (!errors++)
				first_error = i;
			continue;
		}
		for (int k = 0; k < n; k++) {
			if (ids[k] < n_ids)
				by_id[ids[k]]++;
			else
				bad++;
		}
	}
	t1 = lc_now();
	ps->secs = t1 - t0;
	ps->errors = errors;
	ps->bad_ids = bad;
	ps->first_error = first_error;
}

/*
 * The kernel engine: each event runs through the XDP program's scanner and
 * matcher under BPF_PROG_TEST_RUN. Its time is what the kernel measured for
 * the run plus, for the events it flagged VERIFY or passed on, the time the
 * userspace matcher took to decide them, so flagging cannot look faster;
 * the syscall around each test run is not part of the XDP path and is not
 * counted.
 */
/* The kernel engines: the matcher alone (kernel), or the whole XDP program (datapath). */
struct engine {
	struct kengine *k; /* the scanner and matcher (kmatch_test.bpf.c) */
	struct kdp *dp; /* bpfbus_xdp on wire datagrams to one bus (kdatapath.h) */
};

static int engine_match(const struct engine *e, const char *text, size_t len, struct kresult *kr)
{
	if (e->k)
		return kengine_match(e->k, text, len, kr);
	return kdp_send(e->dp, NULL, 0, text, len, kr);
}

static void run_pass_kernel(const struct engine *k, struct bb_match_ctx *ctx,
			    const struct events *ev, uint64_t *by_id, size_t n_ids, struct pass *ps)
{
	uint64_t kernel_ns = 0, errors = 0, bad = 0, flagged = 0, passed = 0;
	double user_s = 0;
	size_t first_error = SIZE_MAX;
	struct kresult kr;

	memset(by_id, 0, n_ids * sizeof(*by_id));
	for (size_t i = 0; i < ev->n; i++) {
		const uint32_t *ids = kr.ids;
		int n;

		if (engine_match(k, ev->text[i], ev->len[i], &kr) < 0)
			die(EXIT_USAGE, "kernel test run failed on event %zu", i + 1);
		kernel_ns += kr.ns;
		if (kr.verdict == KV_MATCH || kr.verdict == KV_DROP) {
			n = (int)kr.n_ids;
		} else {
			double t0 = lc_now();

			flagged += kr.verdict == KV_VERIFY;
			for (int b = 0; b < 32; b++)
				ps->why[b] += (kr.verify >> b) & 1;
			passed += kr.verdict == KV_PASS;
			n = bb_match_event(ctx, ev->text[i], ev->len[i], &ids, NULL);
			user_s += lc_now() - t0;
		}
		if (n < 0) {
			if (!errors++)
				first_error = i;
			continue;
		}
		for (int j = 0; j < n; j++) {
			if (ids[j] < n_ids)
				by_id[ids[j]]++;
			else
				bad++;
		}
	}
	ps->secs = (double)kernel_ns * 1e-9 + user_s;
	ps->errors = errors;
	ps->bad_ids = bad;
	ps->first_error = first_error;
	ps->flagged = flagged;
	ps->passed = passed;
}

/* Re-index the per-id counts by rule (outside the timed loop). */
static uint64_t counts_by_rule(const struct loaded *l, const uint64_t *by_id,
			       size_t n_rules, uint64_t *out)
{
	uint64_t total = 0;

	memset(out, 0, n_rules * sizeof(*out));
	for (size_t id = 0; id < l->n_ids; id++) {
		if (l->rule_of_id[id] == SIZE_MAX)
			continue;
		out[l->rule_of_id[id]] = by_id[id];
		total += by_id[id];
	}
	return total;
}

static void report_errors(struct bb_match_ctx *ctx, const struct events *ev,
			  const struct pass *ps, int pass)
{
	struct bb_error err;
	const uint32_t *ids;

	if (ps->errors) {
		err.msg[0] = '\0';
		bb_match_event(ctx, ev->text[ps->first_error],
			       ev->len[ps->first_error], &ids, &err);
		fprintf(stderr, "bench: pass %d: %" PRIu64 " events refused; first is line %zu: %s\n",
			pass, ps->errors, ps->first_error + 1, err.msg);
	}
	if (ps->bad_ids)
		fprintf(stderr, "bench: pass %d: %" PRIu64 " match ids out of range\n",
			pass, ps->bad_ids);
}

/* ---- driver --------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("usage: bench --engine user|kernel|datapath --rules FILE --events FILE\n"
	      "             [--passes N] [--warmup N] [--counts OUT] [--expected FILE]\n"
	      "             [--exclude PREFIX] [--family NAME]\n"
	      "             [--impl NAME] [--cpu N|-1] [--load-only]\n"
	      "Prints one line: RESULT impl= family= rules= exclude= add_s= matches= check=\n"
	      "eps=<per timed pass> ns_per_event=<median> mem_bytes= maxrss_kb=\n"
	      "Exit: 0 ok, 1 counts differ from --expected, 2 usage or input error,\n"
	      "3 a rule the matcher cannot express (check=n/a).\n", f);
}

static int parse_int(const char *opt, const char *s, int min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > 1000000)
		die(EXIT_USAGE, "%s: bad number '%s'", opt, s);
	return (int)v;
}

/* Family name from the rule file: .../rules/EXACT.json -> EXACT. */
static char *family_from_path(const char *path)
{
	const char *base = strrchr(path, '/');
	char *fam, *dot;

	fam = strdup(base ? base + 1 : path);
	if (!fam)
		die(EXIT_USAGE, "out of memory");
	dot = strrchr(fam, '.');
	if (dot && !strcmp(dot, ".json"))
		*dot = '\0';
	return fam;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_PASSES = 256, O_WARMUP, O_COUNTS, O_EXPECTED, O_EXCLUDE,
	       O_FAMILY, O_IMPL, O_CPU, O_LOAD_ONLY };
	static const struct option longopts[] = {
		{ "engine", required_argument, NULL, 'e' },
		{ "rules", required_argument, NULL, 'r' },
		{ "events", required_argument, NULL, 'E' },
		{ "passes", required_argument, NULL, O_PASSES },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "counts", required_argument, NULL, O_COUNTS },
		{ "expected", required_argument, NULL, O_EXPECTED },
		{ "exclude", required_argument, NULL, O_EXCLUDE },
		{ "family", required_argument, NULL, O_FAMILY },
		{ "impl", required_argument, NULL, O_IMPL },
		{ "cpu", required_argument, NULL, O_CPU },
		{ "load-only", no_argument, NULL, O_LOAD_ONLY },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	*o = (struct opts){ .engine = "user", .impl = IMPL_DEFAULT,
			    .passes = 3, .warmup = 2, .cpu = 0 };
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'e': o->engine = optarg; break;
		case 'r': o->rules_path = optarg; break;
		case 'E': o->events_path = optarg; break;
		case O_PASSES: o->passes = parse_int("--passes", optarg, 1); break;
		case O_WARMUP: o->warmup = parse_int("--warmup", optarg, 0); break;
		case O_COUNTS: o->counts_path = optarg; break;
		case O_EXPECTED: o->expected_path = optarg; break;
		case O_EXCLUDE: o->exclude = *optarg ? optarg : NULL; break;
		case O_FAMILY: o->family = optarg; break;
		case O_IMPL: o->impl = optarg; break;
		case O_CPU: o->cpu = parse_int("--cpu", optarg, -1); break;
		case O_LOAD_ONLY: o->load_only = true; break;
		case 'h': usage(stdout); exit(EXIT_OK);
		default: usage(stderr); exit(EXIT_USAGE);
		}
	}
	if (optind < argc)
		die(EXIT_USAGE, "unexpected argument '%s' (see --help)", argv[optind]);
	if (strcmp(o->engine, "user") && strcmp(o->engine, "kernel") && strcmp(o->engine, "datapath"))
		die(EXIT_USAGE, "--engine must be 'user', 'kernel' or 'datapath', not '%s'",
		    o->engine);
	if (!strcmp(o->engine, "kernel") && !strcmp(o->impl, IMPL_DEFAULT))
		o->impl = "bpfbus-kernel";
	if (!strcmp(o->engine, "datapath") && !strcmp(o->impl, IMPL_DEFAULT))
		o->impl = "bpfbus-datapath";
	if (!o->rules_path)
		die(EXIT_USAGE, "--rules FILE is required (see --help)");
	if (!o->events_path && !o->load_only)
		die(EXIT_USAGE, "--events FILE is required unless --load-only (see --help)");
	if (!o->family)
		o->family = o->family_alloc = family_from_path(o->rules_path);
}

static long maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss; /* kilobytes on Linux */
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_load_only(const struct opts *o, const struct rules *r,
			    const struct loaded *l)
{
	printf("RESULT impl=%s family=%s rules=%zu exclude=%s add_s=%.6f mode=load-only mem_bytes=%zu maxrss_kb=%ld\n",
	       o->impl, o->family, r->n, o->exclude ? o->exclude : "-", l->add_s,
	       bb_ruleset_memory(l->rs), maxrss_kb());
}

/*
 * Runs warm-up and timed passes. Returns the number of passes whose counts
 * failed the check; fills eps[] for the timed passes and the first pass's
 * per-rule counts (what --counts writes; every pass that passed agrees).
 */
static int run_passes(const struct opts *o, const struct rules *r,
		      const struct loaded *l, const struct events *ev,
		      const struct expected *exp, double *eps,
		      uint64_t *counts, uint64_t *total, const struct engine *k,
		      struct pass *last)
{
	struct bb_match_ctx *ctx = bb_match_ctx_new(l->rs);
	uint64_t *by_id = xcalloc(l->n_ids, sizeof(*by_id));
	uint64_t *cur = xcalloc(r->n, sizeof(*cur));
	int failed = 0;

	if (!ctx)
		die(EXIT_USAGE, "bb_match_ctx_new failed");
	for (int p = 0; p < o->warmup + o->passes; p++) {
		bool timed = p >= o->warmup;
		struct pass ps;
		uint64_t sum;
		bool bad = false;

		memset(&ps, 0, sizeof(ps));
		if (k)
			run_pass_kernel(k, ctx, ev, by_id, l->n_ids, &ps);
		else
			run_pass(ctx, ev, by_id, l->n_ids, &ps);
		*last = ps;
		sum = counts_by_rule(l, by_id, r->n, cur);
		report_errors(ctx, ev, &ps, p + 1);
		if (ps.bad_ids)
			bad = true;
		if (exp && diff_counts(r, cur, exp, p + 1))
			bad = true;
		/* Without --expected, at least insist that passes agree. */
		if (!exp && p > 0 && memcmp(cur, counts, r->n * sizeof(*cur))) {
			fprintf(stderr, "bench: pass %d: counts differ from pass 1\n", p + 1);
			bad = true;
		}
		if (p == 0)
			memcpy(counts, cur, r->n * sizeof(*cur));
		failed += bad;
		if (timed)
			eps[p - o->warmup] = (double)ev->n / ps.secs;
		*total = sum;
	}
	bb_match_ctx_free(ctx);
	free(by_id);
	free(cur);
	return failed;
}

/* Everything main allocates, so one place frees it (LeakSanitizer in make check). */
struct bench {
	struct opts o;
	struct buf rules_file, events_file;
	struct rules r;
	struct events ev;
	struct expected exp;
	struct loaded l;
	uint64_t *counts;
	double *eps;
	struct engine k; /* --engine kernel or datapath */
	double kload_s;	   /* writing the kernel tables */
	struct pass last;  /* the last pass, for the flagged fractions */
};

static void bench_free(struct bench *b)
{
	rulefile_free(&b->r.file);
	free(b->r.v);
	free(b->rules_file.data);
	free(b->events_file.data);
	free(b->ev.text);
	free(b->ev.len);
	free(b->exp.file.data);
	free(b->exp.names);
	free(b->exp.counts);
	map_free(&b->exp.map);
	kengine_close(b->k.k);
	kdp_close(b->k.dp);
	if (b->l.rs)
		bb_ruleset_free(b->l.rs);
	free(b->l.rule_of_id);
	free(b->counts);
	free(b->eps);
	free(b->o.family_alloc);
}

static void read_rules(struct bench *b)
{
	struct name_map seen;

	b->rules_file = read_file(b->o.rules_path);
	parse_rules(&b->rules_file, b->o.rules_path, b->o.exclude, &b->r);
	if (!b->r.n)
		die(EXIT_USAGE, "%s: no rules left to load", b->o.rules_path);
	map_init(&seen, b->r.n);
	for (size_t i = 0; i < b->r.n; i++)
		if (!map_put(&seen, b->r.v[i].name, i))
			die(EXIT_USAGE, "%s: rule name %s is not unique",
			    b->o.rules_path, b->r.v[i].name);
	map_free(&seen);
}

static void print_result(const struct bench *b, uint64_t total, int failed)
{
	const struct opts *o = &b->o;
	double *sorted;

	printf("RESULT impl=%s family=%s rules=%zu exclude=%s add_s=%.6f matches=%" PRIu64 " check=%s",
	       o->impl, o->family, b->r.n, o->exclude ? o->exclude : "-",
	       b->l.add_s, total,
	       failed ? "counts-FAILED" : o->expected_path ? "counts-ok" : "unchecked");
	if (failed) {
		/* A wrong answer has no speed. */
		printf(" mem_bytes=%zu maxrss_kb=%ld\n", bb_ruleset_memory(b->l.rs), maxrss_kb());
		return;
	}
	sorted = xcalloc((size_t)o->passes, sizeof(*sorted));
	printf(" eps=");
	for (int i = 0; i < o->passes; i++) {
		printf("%s%.0f", i ? "," : "", b->eps[i]);
		sorted[i] = b->eps[i];
	}
	printf(" ns_per_event=%.1f mem_bytes=%zu maxrss_kb=%ld",
	       1e9 / median(sorted, o->passes), bb_ruleset_memory(b->l.rs), maxrss_kb());
	if (b->k.k || b->k.dp) {
		printf(" engine=%s kload_s=%.3f verify_frac=%.4f pass_frac=%.4f verify_why=",
		       b->o.engine, b->kload_s, (double)b->last.flagged / (double)b->ev.n,
		       (double)b->last.passed / (double)b->ev.n);
		/* per reason (kengine's names), so a test can tell which limit fired */
		const char *sep = "";

		for (int bit = 0; bit < 32; bit++) {
			char name[64];

			if (!b->last.why[bit])
				continue;
			kverify_reasons(1u << bit, name, sizeof(name));
			printf("%s%s:%" PRIu64, sep, name, b->last.why[bit]);
			sep = ",";
		}
		if (!*sep)
			printf("-");
		if (b->k.k) /* the rule set's map entries */
			printf(" ktable_bytes=%zu", kengine_table_bytes(b->k.k));
	}
	printf("\n");
	free(sorted);
}

static int run(struct bench *b)
{
	uint64_t total = 0;
	int failed;

	/* pinned so passes do not migrate; failure only costs stability */
	if (lc_pin_cpu(b->o.cpu))
		fprintf(stderr, "bench: warning: cannot pin to CPU %d: %s\n", b->o.cpu,
			strerror(errno));
	read_rules(b);
	if (b->o.load_only) {
		/* No events loaded: maxrss then reflects the rules alone. */
		if (!load_rules(&b->o, &b->r, &b->l))
			return EXIT_REJECTED;
		print_load_only(&b->o, &b->r, &b->l);
		return EXIT_OK;
	}

	/* Events first, so reading the file never lands inside a timing. */
	b->events_file = read_file(b->o.events_path);
	split_events(&b->events_file, &b->ev);
	if (!b->ev.n)
		die(EXIT_USAGE, "%s: no events", b->o.events_path);
	if (b->o.expected_path)
		load_expected(b->o.expected_path, &b->exp);

	if (!load_rules(&b->o, &b->r, &b->l))
		return EXIT_REJECTED;
	if (!strcmp(b->o.engine, "kernel")) {
		char msg[256];
		double t0 = lc_now();

		b->k.k = kengine_open(msg, sizeof(msg));
		if (!b->k.k || kengine_load(b->k.k, b->l.rs, msg, sizeof(msg)) < 0)
			die(EXIT_USAGE, "kernel engine: %s", msg);
		b->kload_s = lc_now() - t0;
	} else if (!strcmp(b->o.engine, "datapath")) {
		char msg[256];
		double t0 = lc_now();

		b->k.dp = kdp_open(BPFBUS_BUS_EVENT, "bench", 1, msg, sizeof(msg));
		if (!b->k.dp || kdp_load(b->k.dp, b->l.rs, msg, sizeof(msg)) < 0)
			die(EXIT_USAGE, "datapath engine: %s", msg);
		b->kload_s = lc_now() - t0;
	}
	b->counts = xcalloc(b->r.n, sizeof(*b->counts));
	b->eps = xcalloc((size_t)b->o.passes, sizeof(*b->eps));
	failed = run_passes(&b->o, &b->r, &b->l, &b->ev,
			    b->o.expected_path ? &b->exp : NULL, b->eps,
			    b->counts, &total, b->k.k || b->k.dp ? &b->k : NULL, &b->last);
	if (b->o.counts_path)
		write_counts(b->o.counts_path, &b->o, &b->r, b->counts, b->ev.n);
	print_result(b, total, failed);
	return failed ? EXIT_COUNTS : EXIT_OK;
}

int main(int argc, char **argv)
{
	struct bench b = { 0 };
	int rc;

	parse_args(argc, argv, &b.o);
	rc = run(&b);
	bench_free(&b);
	return rc;
}

// SPDX-License-Identifier: BSD-2-Clause
/* Helpers of tools/loadgen and tools/loadsink; see loadcommon.h. */
#define _GNU_SOURCE
#include "loadcommon.h"
#include "rulefile.h"
#include "ruleset.h"
#include "strbuf.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static const char *prog = "load";

void lc_set_name(const char *name)
{
	prog = name;
}

void lc_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

double lc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int lc_pin_cpu(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

double lc_double(const char *opt, const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v < 0)
		lc_die("%s: not a non-negative number: '%s'", opt, s);
	return v;
}

uint64_t lc_u64(const char *opt, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-')
		lc_die("%s: not a number: '%s'", opt, s);
	return v;
}

struct bb_ruleset *lc_load_rules(const char *path)
{
	struct bb_ruleset *rs = bb_ruleset_new();
	struct rulefile rf;
	char msg[512];
	size_t len;
	char *text = read_whole_file(path, &len);

	if (!text)
		lc_die("%s: %s", path, strerror(errno));
	if (rulefile_parse(text, len, &rf, msg, sizeof(msg)) < 0)
		lc_die("%s: %s", path, msg);
	for (size_t i = 0; i < rf.n; i++) {
		struct bb_error e;

		if (bb_ruleset_add_pattern(rs, rf.rules[i].name, rf.rules[i].pattern,
					   rf.rules[i].pattern_len, &e) < 0)
			lc_die("%s: rule %s: %s", path, rf.rules[i].name, e.msg);
	}
	rulefile_free(&rf);
	free(text);
	bb_ruleset_compile(rs);
	return rs;
}

void lc_rusage(double *usr, double *sys)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*usr = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6;
	*sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

void lc_cpustat_read(struct lc_cpustat *s)
{
	FILE *f = fopen("/proc/stat", "r");
	char line[512];

	memset(s, 0, sizeof(*s));
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v[10] = { 0 };
		int id;

		/* "cpuN user nice system idle iowait irq softirq steal ..."; not "cpu " */
		if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9')
			continue;
		if (sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu %llu", &id, &v[0],
			   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 8 ||
		    id < 0 || id >= LC_MAX_CPUS)
			continue;
		s->cpu[id].usr = v[0] + v[1];
		s->cpu[id].sys = v[2];
		s->cpu[id].idle = v[3] + v[4];
		s->cpu[id].irq = v[5];
		s->cpu[id].softirq = v[6];
		s->cpu[id].steal = v[7];
		s->cpu[id].total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
		if (id + 1 > s->n)
			s->n = id + 1;
	}
	fclose(f);
}

void lc_cpustat_print(FILE *f, const struct lc_cpustat *a, const struct lc_cpustat *b)
{
	for (int i = 0; i < b->n && i < a->n; i++) {
		double t = (double)(b->cpu[i].total - a->cpu[i].total);
		double usr = (double)(b->cpu[i].usr - a->cpu[i].usr);
		double sys = (double)(b->cpu[i].sys - a->cpu[i].sys);
		double si = (double)(b->cpu[i].irq - a->cpu[i].irq + b->cpu[i].softirq -
				     a->cpu[i].softirq);

		double steal = (double)(b->cpu[i].steal - a->cpu[i].steal);

		if (t <= 0)
			t = 1;
		fprintf(f,
			" cpu%d_busy=%.1f cpu%d_usr=%.1f cpu%d_sys=%.1f cpu%d_si=%.1f "
			"cpu%d_steal=%.1f",
			i, 100 * (usr + sys + si) / t, i, 100 * usr / t, i, 100 * sys / t, i,
			100 * si / t, i, 100 * steal / t);
	}
}

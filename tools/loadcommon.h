/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Helpers shared by tools/loadgen and tools/loadsink (the end-to-end
 * benchmark, tools/bench-e2e): errors, clocks, CPU pinning, the process's
 * own CPU time and whole-machine CPU time per CPU from /proc/stat.
 */
#ifndef BPFBUS_TOOLS_LOADCOMMON_H
#define BPFBUS_TOOLS_LOADCOMMON_H

#include <stdint.h>
#include <stdio.h>

struct bb_ruleset;

_Noreturn void lc_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Set the program name lc_die prefixes. */
void lc_set_name(const char *name);

double lc_now(void); /* CLOCK_MONOTONIC seconds */
int lc_pin_cpu(int cpu); /* no-op for cpu < 0; -1 with errno if it cannot */

/* Parse a number with strtod/strtoull or die naming the option. */
double lc_double(const char *opt, const char *s);
uint64_t lc_u64(const char *opt, const char *s);

/* A rule file (rulefile.h format), compiled; dies with the reason on error. */
struct bb_ruleset *lc_load_rules(const char *path);

/* This process's user and system CPU seconds (getrusage RUSAGE_SELF). */
void lc_rusage(double *usr, double *sys);

/* Whole-machine CPU time per CPU (/proc/stat, in clock ticks). */
#define LC_MAX_CPUS 64
struct lc_cpustat {
	int n;
	struct {
		uint64_t usr, sys, irq, softirq, idle, steal, total;
	} cpu[LC_MAX_CPUS];
};
void lc_cpustat_read(struct lc_cpustat *s);
/*
 * Print " cpuN_busy=P cpuN_usr=P cpuN_sys=P cpuN_si=P cpuN_steal=P" for every
 * CPU: the share of the interval's time (percent) each CPU spent busy (user +
 * nice + system + irq + softirq), in user, in system, in irq + softirq, and
 * stolen by the hypervisor (the virtual CPU wanted to run and did not).
 */
void lc_cpustat_print(FILE *f, const struct lc_cpustat *a, const struct lc_cpustat *b);

#endif

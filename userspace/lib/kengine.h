/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The kernel matching engine driven from userspace: the real scanner and
 * matcher (bpf/kmatch_test.bpf.c) run by BPF_PROG_TEST_RUN on one event at a
 * time. Used by `bpfbus pattern test --engine kernel|both` and the benchmark.
 */
#ifndef BPFBUS_KENGINE_H
#define BPFBUS_KENGINE_H

#include "bpfbus/tables.h"
#include "ruleset.h"

#include <stddef.h>
#include <stdint.h>

enum kverdict {
	KV_DROP,   /* no rule matches: the datapath drops it */
	KV_MATCH,  /* rules match: ids reported */
	KV_VERIFY, /* the kernel cannot decide: userspace must */
	KV_PASS,   /* not an event the kernel handles (malformed): slow path */
};

const char *kverdict_name(enum kverdict v);
/* Names of the VERIFY reason bits, comma-separated, into @buf. */
void kverify_reasons(uint32_t bits, char *buf, size_t len);

struct kengine;

/* Load the BPF program; NULL with @err (e.g. no BPF privilege). */
struct kengine *kengine_open(char *err, size_t err_len);
void kengine_close(struct kengine *k);

/* Compile @rs into the idle table slot and make it live. */
int kengine_load(struct kengine *k, const struct bb_ruleset *rs, char *err, size_t err_len);

/* Bytes of map entries the live rule set fills (ktables_bytes). */
size_t kengine_table_bytes(const struct kengine *k);

struct kresult {
	enum kverdict verdict;
	uint32_t verify; /* reason bits when KV_VERIFY */
	size_t n_ids;
	uint32_t ids[KM_MAX_OUT];
	uint32_t ns; /* kernel run time of this event */
};

/* Run one event (JSON text) through the kernel; 0 or -errno. */
int kengine_match(struct kengine *k, const char *ev, size_t len, struct kresult *r);

#endif

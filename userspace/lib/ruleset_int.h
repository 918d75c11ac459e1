/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internal layout of a compiled ruleset, shared by ruleset.c (which builds
 * it) and matcher.c (which reads it per event).
 *
 * Matching is counting, not looping over rules: every (path, value) test is
 * a hash lookup that yields the conditions it satisfies; a branch whose
 * positive conditions have all been satisfied becomes a candidate and is
 * checked once at the end (exists:false, array consistency).
 */
#ifndef BPFBUS_RULESET_INT_H
#define BPFBUS_RULESET_INT_H

#include "ir.h"
#include "numeric.h"
#include "ruleset.h"

#include <stdbool.h>
#include <stdint.h>

/* Kinds of lookup key: the byte after the path id in a table key. */
enum key_kind {
	K_STR = 's',
	K_NUM = 'n',
	K_NULL = 'z',
	K_TRUE = 't',
	K_FALSE = 'f',
	K_EIC = 'i',
	K_PFX = 'p',
	K_SFX = 'x',
	K_PFX_EIC = 'P',
	K_SFX_EIC = 'X',
	K_CIDR4 = '4',
	K_CIDR6 = '6',
	/* anything-but exclusions: postings are anything-but ids */
	K_AB_STR = 'S',
	K_AB_NUM = 'N',
	K_AB_PFX = 'a',
	K_AB_SFX = 'b',
	K_AB_EIC = 'c',
};

/* Open-addressing hash table from byte keys to posting lists. */
struct vtable_slot {
	uint64_t hash;
	uint32_t key_off, key_len;
	uint32_t post; /* index of the posting list */
};

struct vtable {
	struct vtable_slot *slots;
	size_t cap, used; /* cap is a power of two */
	uint8_t *keys;
	size_t keys_len, keys_cap;
	/* posting lists: while building, vectors; after compile, flattened:
	 * flat[post_off[p]] .. flat[post_off[p + 1]] */
	uint32_t **build_lists;
	uint32_t *build_len, *build_cap;
	size_t n_lists;
	uint32_t *flat, *post_off;
};

/* Sorted distinct lengths used by prefix/suffix keys on one path. */
struct lenset {
	uint32_t *v;
	size_t n;
};

struct wc_entry {
	const char *pat;
	size_t len;
	uint32_t id; /* cond id, or anything-but id for exclusions */
};

struct path_info {
	char *path;
	size_t len;
	uint64_t hash;
	bool leaf;  /* some condition reads this path */
	bool inner; /* some used path continues below it */
	/* which lookups the path needs */
	bool want_str, want_num, want_lit, want_eic;
	struct lenset pfx, sfx, pfx_eic, sfx_eic, ab_pfx, ab_sfx;
	bool ab_eic;
	uint64_t cidr4[1];  /* bit n: a /n prefix exists */
	uint64_t cidr6[3];
	bool has_cidr;
	struct interval *ivs; /* numeric, while building */
	size_t n_ivs;
	struct itree *itree;
	uint32_t *exists;     /* cond ids */
	size_t n_exists;
	struct wc_entry *wc;  /* wildcard conditions */
	size_t n_wc;
	struct wc_entry *ab_wc; /* anything-but wildcard exclusions */
	size_t n_ab_wc;
	uint32_t *ab;	      /* anything-but ids on this path */
	size_t n_ab;
};

struct cond {
	uint32_t branch;
	uint32_t path;
	bool absent_ok; /* the field also accepts a missing path */
};

struct branch {
	uint32_t rule;
	uint32_t first_cond, n_cond;
	uint32_t need; /* conditions that must be satisfied by a value */
};

struct rule {
	char *name;
	struct ir_rule ir;
	bool attributes; /* SNS MessageAttributes scope */
};

struct bb_ruleset {
	struct rule *rules;
	size_t n_rules, cap_rules;
	/* path table: open addressing over path strings */
	struct path_info *paths;
	size_t n_paths, cap_paths;
	uint32_t *path_slots; /* index+1 into paths, 0 = empty */
	size_t path_slot_cap;
	struct cond *conds;
	size_t n_conds, cap_conds;
	struct branch *branches;
	size_t n_branches, cap_branches;
	uint32_t *ab_cond; /* anything-but id -> cond id */
	size_t n_ab, cap_ab;
	uint32_t *free_branches; /* branches with need == 0 */
	size_t n_free;
	struct vtable vt;
	bool compiled;
	size_t mem;
};

uint64_t bb_hash(uint64_t seed, const void *data, size_t len);
uint64_t path_hash(const char *p, size_t len);
const struct path_info *ruleset_find_path(const struct bb_ruleset *rs,
					  const char *p, size_t len,
					  uint64_t hash);
/* Posting list for a key; NULL when absent. */
const uint32_t *vtable_get(const struct vtable *vt, uint32_t path, char kind,
			   const void *data, size_t len, uint32_t *n);

#endif

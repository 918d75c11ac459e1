/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Lowering a compiled ruleset to the kernel's tables (include/bpfbus/
 * tables.h) and writing them into BPF maps, one slot at a time.
 */
#ifndef BPFBUS_KTABLES_H
#define BPFBUS_KTABLES_H

#include "bpfbus/scan.h"
#include "bpfbus/tables.h"
#include "ruleset.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ktables {
	uint8_t slot;
	struct bpfbus_ktable hdr;
	/* path table for the scanner: hash -> bpfbus_path */
	uint64_t *path_hash;
	struct bpfbus_path *path;
	struct bpfbus_kpath *kpath;
	size_t n_paths;
	struct bpfbus_vkey *vkeys;
	struct bpfbus_posting *vposts;
	size_t n_values;
	uint32_t *postings;
	size_t n_postings, cap_postings;
	struct bpfbus_kcond *conds; /* condition classes (ktables_conds.c) */
	struct bpfbus_kbranch *branches;
	struct bpfbus_inode *inodes; /* numeric interval trees */
	size_t n_inodes, cap_inodes;
	struct bpfbus_ival *ivals;
	size_t n_ivals, cap_ivals;
	struct bpfbus_wild *wild; /* wildcard patterns */
	size_t n_wild;
	struct bpfbus_c6key *c6keys; /* IPv6 blocks and their posting lists */
	struct bpfbus_posting *c6posts;
	size_t n_c6;
	struct bpfbus_pbucket *pbuckets; /* the slot's path table */
	/* numeric boxes (ktables_grid.c) */
	struct bpfbus_kgrid *grids;
	size_t n_grids;
	__u64 *gbounds;
	size_t n_gbounds;
	struct bpfbus_posting *gcells;
	size_t n_gcells;
	struct bpfbus_box *boxes;
	size_t n_boxes;
	/* the value keys' homes (ktables_vtab.c): km_vtab's buckets, and the
	 * keys left to km_values */
	struct bpfbus_vbucket *vtab;
	uint32_t *vhash;
	size_t n_vhash;
	uint8_t *v_collided; /* by value key: its digest stands for several values */
	__u64 *vfilter; /* the paths' value filters, word 0 clear */
	size_t n_vfilter;
	uint8_t *in_grid; /* by condition: its range is in a grid's boxes */
	uint32_t *path_grid; /* by path: bpfbus_kpath.grid */
};

/* File descriptors of the maps the tables go into. */
struct ktable_fds {
	int paths; /* ARRAY: slot * PATH_BUCKETS + bucket -> struct bpfbus_pbucket */
	int kpaths; /* ARRAY: slot * MAX_PATHS + id -> struct bpfbus_kpath */
	int values; /* HASH: struct bpfbus_vhkey -> struct bpfbus_vent */
	int postings; /* ARRAY: slot * MAX_POSTINGS + i -> u32 */
	int conds; /* ARRAY: slot * MAX_CONDS + id -> struct bpfbus_kcond */
	int branches; /* ARRAY: slot * MAX_BRANCHES + id -> struct bpfbus_kbranch */
	int header; /* ARRAY: slot -> struct bpfbus_ktable */
	int inodes; /* ARRAY: slot * MAX_INODES + i -> struct bpfbus_inode */
	int ivals; /* ARRAY: slot * MAX_IVALS + i -> struct bpfbus_ival */
	int wild; /* ARRAY: slot * MAX_WILD + i -> struct bpfbus_wild */
	int cidr6; /* LPM_TRIE: struct bpfbus_c6key -> struct bpfbus_posting */
	int grids; /* ARRAY: slot * MAX_GRIDS + id -> struct bpfbus_kgrid */
	int gbounds; /* ARRAY: slot * MAX_GBOUNDS + i -> u64 */
	int gcells; /* ARRAY: slot * MAX_GCELLS + i -> struct bpfbus_posting */
	int boxes; /* ARRAY: slot * MAX_BOXES + i -> struct bpfbus_box */
	int vtab; /* ARRAY: slot * VTAB_BUCKETS + bucket -> struct bpfbus_vbucket */
	int vfilter; /* ARRAY: slot * VFILTER_WORDS + i -> u64 */
};

/* The table maps of a loaded BPF object that includes bpf/kmatch_maps.h. */
struct bpf_object;
void ktables_fds_from_object(struct bpf_object *obj, struct ktable_fds *fds);

/* Build the tables of a compiled ruleset for @slot; @rule_bus gives each
 * rule's bus id (NULL: all bus 0). -1 with @err if the ruleset exceeds the
 * kernel's table sizes. */
int ktables_build(const struct bb_ruleset *rs, uint8_t slot, uint32_t gen, const uint32_t *rule_bus,
		  struct ktables *kt, char *err, size_t err_len);
void ktables_free(struct ktables *kt);

/* For the builder's parts: append @n ids to the postings, giving the first's
 * index; and the condition classes, branches' lists and anchors
 * (ktables_conds.c), once every other table is built. */
uint32_t ktables_add_postings(struct ktables *kt, const uint32_t *ids, size_t n);
void ktables_build_classes(struct ktables *kt, const struct bb_ruleset *rs);

/* The grids of numeric boxes (ktables_grid.c), before the paths are built:
 * fills grids, gbounds, gcells, boxes, in_grid and path_grid. */
void ktables_build_grids(struct ktables *kt, const struct bb_ruleset *rs);

/* The value table (ktables_vtab.c), once the posting lists are final: fills
 * vtab, vhash, v_collided and the value filters, and flags paths with keys
 * left to km_values. */
void ktables_build_vtab(struct ktables *kt);

/* What a value entry holds for value key @v's posting list: the list, or
 * its one id (*@flags BPFBUS_V_SINGLE), or the rule and bus of a one-field
 * branch (BPFBUS_V_SINGLE | BPFBUS_V_RULE). */
struct bpfbus_posting ktables_posting(const struct ktables *kt, uint32_t v, uint16_t *flags);

/* The value kinds whose posting lists hold anything-but ids, not conditions. */
bool ktables_exclusion_kind(uint8_t kind);

/* The order key of a pattern number; -1 if it needs more than 15 digits. */
int ktables_number_key(double d, __u64 *key);

/* A path-table entry beside the ruleset's own paths. */
struct ktables_member {
	uint64_t hash;
	struct bpfbus_path path;
};

/*
 * Attribute-scope paths (include/bpfbus/attrs.h, ktables_attrs.c): sets the
 * role bits in @paths (the ruleset's path-table entries, by path id) and
 * returns the Type and Value member entries to place, *@n of them (free()).
 */
struct ktables_member *ktables_attr_paths(const struct bb_ruleset *rs, struct bpfbus_path *paths,
					  size_t *n);

/* Put a path into a path table of BPFBUS_PATH_BUCKETS buckets; -1 if it
 * cannot be placed. */
int ktables_place_path(struct bpfbus_pbucket *tab, uint64_t hash, struct bpfbus_path path);

/* Remove what a slot's previous tables left in the hash maps and the trie
 * (the array maps are overwritten by the next load). */
void ktables_clear_slot(const struct ktable_fds *fds, uint32_t slot);

/* Bytes of map entries the tables fill in their slot (the value table and
 * the path table whole; hash-map entries as key and value). */
size_t ktables_bytes(const struct ktables *kt);

/* Write the tables into the maps; 0 or -errno. */
int ktables_load(const struct ktables *kt, const struct ktable_fds *fds);

#endif

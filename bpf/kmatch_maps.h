/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The maps the kernel matcher (kmatch.h) and scanner read: the rule tables
 * written by userspace (ktables.c) and per-CPU working state. Included once
 * by each program that matches.
 */
#ifndef BPFBUS_KMATCH_MAPS_H
#define BPFBUS_KMATCH_MAPS_H

#include "bpfbus/scan.h"
#include "bpfbus/tables.h"

/* The datapath pins its rule tables so they outlive a reload (KM_PIN);
 * test programs keep private ones. */
#ifndef KM_PIN
#define KM_PIN
#endif

/* Rule tables, two slots (see tables.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBUS_SLOTS * BPFBUS_PATH_BUCKETS);
	__type(key, __u32);
	__type(value, struct bpfbus_pbucket);
	KM_PIN
} km_pathtab SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BPFBUS_MAX_VALUES);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* sized for the worst case */
	__type(key, struct bpfbus_vhkey);
	__type(value, struct bpfbus_vent);
	KM_PIN
} km_values SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBUS_SLOTS *BPFBUS_VTAB_BUCKETS);
	__type(key, __u32);
	__type(value, struct bpfbus_vbucket);
	KM_PIN
} km_vtab SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBUS_SLOTS *BPFBUS_VFILTER_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	KM_PIN
} km_vfilter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBUS_SLOTS * BPFBUS_MAX_POSTINGS);
	__type(key, __u32);
	__type(value, __u32);
	KM_PIN
} km_postings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBUS_SLOTS * BPFBUS_MAX_PATHS);
	__type(key, __u32);
	__type(value, struct bpfbus_kpath);
	KM_PIN
} km_kpaths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBUS_SLOTS * BPFBUS_MAX_CONDS);
	__type(key, __u32);
	__type(value, struct bpfbus_kcond);
	KM_PIN
} km_conds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBUS_SLOTS * BPFBUS_MAX_BRANCHES);
	__type(key, __u32);
	__type(value, struct bpfbus_kbranch);
	KM_PIN
} km_branches SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBUS_SLOTS);
	__type(key, __u32);
	__type(value, struct bpfbus_ktable);
	KM_PIN
} km_header SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBUS_SLOTS * BPFBUS_MAX_INODES);
	__type(key, __u32);
	__type(value, struct bpfbus_inode);
	KM_PIN
} km_inodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBUS_SLOTS * BPFBUS_MAX_IVALS);
	__type(key, __u32);
	__type(value, struct bpfbus_ival);
	KM_PIN
} km_ivals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBUS_SLOTS * BPFBUS_MAX_WILD);
	__type(key, __u32);
	__type(value, struct bpfbus_wild);
	KM_PIN
} km_wild SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, BPFBUS_MAX_CIDR6);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* LPM tries require it */
	__type(key, struct bpfbus_c6key);
	__type(value, struct bpfbus_posting);
	KM_PIN
} km_cidr6 SEC(".maps");

/* Numeric boxes: grids, their cell boundaries, cells, box entries. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBUS_SLOTS *BPFBUS_MAX_GRIDS);
	__type(key, __u32);
	__type(value, struct bpfbus_kgrid);
	KM_PIN
} km_grids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBUS_SLOTS *BPFBUS_MAX_GBOUNDS);
	__type(key, __u32);
	__type(value, __u64);
	KM_PIN
} km_gbounds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBUS_SLOTS *BPFBUS_MAX_GCELLS);
	__type(key, __u32);
	__type(value, struct bpfbus_posting);
	KM_PIN
} km_gcells SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBUS_SLOTS *BPFBUS_MAX_BOXES);
	__type(key, __u32);
	__type(value, struct bpfbus_box);
	KM_PIN
} km_boxes SEC(".maps");

/*
 * The scanner's and matcher's state for the event in hand. Per-CPU in the
 * datapath; a test program may define KM_STATE_MAP_TYPE as a plain array to
 * read it back from userspace.
 */
#ifndef KM_STATE_MAP_TYPE
#define KM_STATE_MAP_TYPE BPF_MAP_TYPE_PERCPU_ARRAY
#endif

struct {
	__uint(type, KM_STATE_MAP_TYPE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scan_state);
} km_scan SEC(".maps");

struct {
	__uint(type, KM_STATE_MAP_TYPE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct km_state);
} km_match SEC(".maps");

/* Per-CPU working state, reset per event by epochs, not by clearing. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BPFBUS_SLOTS * BPFBUS_MAX_CONDS);
	__type(key, __u32);
	__type(value, struct km_mark);
} km_cond_mark SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BPFBUS_SLOTS * BPFBUS_MAX_BRANCHES);
	__type(key, __u32);
	__type(value, struct km_count);
} km_branch_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BPFBUS_SLOTS * BPFBUS_MAX_PATHS);
	__type(key, __u32);
	__type(value, __u32);
} km_path_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BPFBUS_SLOTS * BPFBUS_MAX_AB);
	__type(key, __u32);
	__type(value, __u32);
} km_ab_excl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BPFBUS_MAX_RULES);
	__type(key, __u32);
	__type(value, __u32);
} km_rule_seen SEC(".maps");

#endif /* BPFBUS_KMATCH_MAPS_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The compiled rule tables as the kernel reads them from BPF maps. Written
 * by userspace/lib/ktables.c from a compiled ruleset, read by bpf/match.h.
 *
 * Tables live in two slots: the live one, and the one being built beside it;
 * a bus's table generation says which slot is live (gen & 1), so switching a
 * whole rule set is one map update. Every per-slot index below is
 * slot * BPFBUS_MAX_<THING> + id.
 */
#ifndef BPFBUS_TABLES_H
#define BPFBUS_TABLES_H

#ifndef __VMLINUX_H__ /* BPF side gets the types from vmlinux.h */
#include <linux/types.h>
#endif

#include "bpfbus/numkey.h"

#define BPFBUS_SLOTS 2
#define BPFBUS_MAX_PATHS 16384
#define BPFBUS_MAX_CONDS 262144
#define BPFBUS_MAX_BRANCHES 262144
#define BPFBUS_MAX_RULES 131072
#define BPFBUS_MAX_AB 65536
#define BPFBUS_MAX_POSTINGS 1048576
#define BPFBUS_MAX_VALUES 1048576 /* value keys over both slots */
#define BPFBUS_MAX_IVALS 262144	  /* numeric intervals, each listed twice */
#define BPFBUS_MAX_INODES 262144
#define BPFBUS_NO_NODE 0xffffffffu
#define BPFBUS_MAX_WILD 65536 /* wildcard patterns */
#define BPFBUS_WILD_MAX 128   /* bytes of one wildcard pattern in the kernel */
#define BPFBUS_MAX_CIDR6 65536 /* IPv6 block entries over both slots */
/* Numeric boxes (struct bpfbus_kgrid), each per slot */
#define BPFBUS_MAX_GRIDS 64
#define BPFBUS_MAX_GBOUNDS 8192 /* cell boundaries, both axes of every grid */
#define BPFBUS_MAX_GCELLS 65536 /* cells of every grid */
#define BPFBUS_MAX_BOXES 131072 /* box entries: a box once per cell it touches */
#define BPFBUS_GRID_AXES 256 /* at most this many cells along one axis */

/* Longest value a key holds; longer pattern values make the path VERIFY. */
#define BPFBUS_VAL_MAX 64
/* Prefix/suffix lengths are kept as a bitmap of lengths 0..63. */
#define BPFBUS_AFFIX_MAX 63

/* Kinds of value key (the same letters as the userspace matcher's). */
enum bpfbus_kkind {
	BPFBUS_K_STR = 's',
	BPFBUS_K_NUM = 'n', /* value: the number's order key (8 bytes) */
	BPFBUS_K_NULL = 'z',
	BPFBUS_K_TRUE = 't',
	BPFBUS_K_FALSE = 'f',
	BPFBUS_K_EIC = 'i',
	BPFBUS_K_PFX = 'p',
	BPFBUS_K_SFX = 'x',
	BPFBUS_K_PFX_EIC = 'P',
	BPFBUS_K_SFX_EIC = 'X',
	BPFBUS_K_AB_STR = 'S',
	BPFBUS_K_AB_NUM = 'N',
	BPFBUS_K_AB_PFX = 'a',
	BPFBUS_K_AB_SFX = 'b',
	BPFBUS_K_AB_EIC = 'c',
};

/* A value as the matcher compares it: (slot, path, kind, value bytes, zero
 * padded). */
struct bpfbus_vkey {
	__u32 path;
	__u8 slot;
	__u8 kind;
	__u8 len;
	__u8 pad;
	__u8 val[BPFBUS_VAL_MAX];
};

/*
 * Key of the value hash map: a 64-bit digest stands in for the value's
 * bytes, which the entry (struct bpfbus_vent) holds and the kernel compares.
 * Hashing the whole 72-byte bpfbus_vkey on every lookup cost more than the
 * rest of the lookup. Two table values of one (path, kind, len) with the
 * same digest share an entry marked BPFBUS_V_COLLIDED, and an event value
 * with that digest is VERIFY: exact whatever the digest does.
 */
struct bpfbus_vhkey {
	__u32 path;
	__u8 slot;
	__u8 kind;
	__u8 len;
	__u8 pad;
	__u64 digest; /* bpfbus_val_digest(val) */
};

#define BPFBUS_V_COLLIDED 1

/* A posting list: ids at postings[slot * MAX_POSTINGS + first ...]. */
struct bpfbus_posting {
	__u32 first;
	__u32 count;
};

/*
 * The value table (km_vtab): the value keys as an array of 64-byte buckets,
 * BPFBUS_VTAB_BUCKETS a slot, each key in one of two buckets chosen by its
 * hash (cuckoo hashing, placed by ktables_vtab.c at most half full). A
 * bucket holds the key, the posting list (or its one id) and the value's
 * bytes, so a hit costs one cache line where the hash map cost a bucket
 * head, an element and its value. Values longer than BPFBUS_VTAB_VAL bytes,
 * and keys the table has no room for, stay in km_values; their path is
 * flagged BPFBUS_P_VHASH, and only such paths look there.
 */
#define BPFBUS_VTAB_BUCKETS 262144 /* per slot */
#define BPFBUS_VTAB_VAL 40

struct bpfbus_vbucket {
	__u64 digest; /* bpfbus_val_digest of the value */
	__u32 path1; /* path id + 1; 0: an empty bucket */
	__u8 kind, len;
	__u16 flags; /* BPFBUS_V_* */
	struct bpfbus_posting post; /* with BPFBUS_V_SINGLE, post.first is the one id */
	__u8 val[BPFBUS_VTAB_VAL]; /* the value's bytes, zero padded */
};

/* The key's bucket: its first choice, or (@second) its other one. */
static inline __u32 bpfbus_vtab_bucket(__u32 path, __u32 kind, __u32 len, __u64 digest, int second)
{
	__u64 h = (digest ^ ((__u64)path << 16 | kind << 8 | len)) * 0xD6E8FEB86659FD93ULL;

	h ^= h >> 31;
	return (__u32)(second ? h >> 32 : h) & (BPFBUS_VTAB_BUCKETS - 1);
}

/* A posting list of one id: the id is in post.first (bpfbus_vent,
 * bpfbus_vbucket), so a hit needs no read of km_postings (most values name
 * one condition class). */
#define BPFBUS_V_SINGLE 2
/* With BPFBUS_V_SINGLE: the one class is the whole of its branch
 * (BPFBUS_KC_ALONE), and post is its rule (first) and bus (count): a hit
 * reports the rule, with no mark. */
#define BPFBUS_V_RULE 4

/* Value of the value hash map. */
struct bpfbus_vent {
	struct bpfbus_posting post;
	__u32 flags; /* BPFBUS_V_* */
	__u32 pad;
	__u8 val[BPFBUS_VAL_MAX]; /* the value's bytes, zero padded */
};

/* Digest of a zero-padded value of @len bytes (one definition for both
 * sides): only the words the value occupies, most values being short (the
 * key carries len, so the padding adds nothing). */
#define BPFBUS_VAL_DIGEST_SEED 0x9E3779B97F4A7C15ULL

/* One word of the digest: the kernel also digests a value word by word as
 * it reads it from the event (kmatch.h km_key_visit). */
static inline __u64 bpfbus_val_digest_word(__u64 h, __u64 w)
{
	h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
	return h ^ (h >> 29);
}

static inline __u64 bpfbus_val_digest(const __u8 *val, __u32 len)
{
	__u64 h = BPFBUS_VAL_DIGEST_SEED, w;

	for (__u32 i = 0; i < BPFBUS_VAL_MAX && i < len; i += 8) {
		__builtin_memcpy(&w, val + i, sizeof(w));
		h = bpfbus_val_digest_word(h, w);
	}
	return h;
}

/*
 * A path's value filter: one bit per value key of the path, a Bloom filter
 * with one hash. A value whose bit is clear is in none of the path's keys,
 * so the kernel skips the value lookup (a bucket read and a compare: most of
 * a leaf's cost when most lookups miss). A set bit proves nothing; the
 * lookup decides. A path's filter has 2^vf_log2 bits, about 16 per key (at
 * least 512, at most 2^BPFBUS_VFILTER_MAX_LOG2), in km_vfilter's words
 * [slot * BPFBUS_VFILTER_WORDS + vf_first ..]; a path without keys gets
 * the slot's word 0, which stays clear.
 */
#define BPFBUS_VFILTER_WORDS 262144 /* per slot */
#define BPFBUS_VFILTER_MIN_LOG2 9
#define BPFBUS_VFILTER_MAX_LOG2 20

static inline __u32 bpfbus_vfilter_bit(__u32 kind, __u32 len, __u64 digest, __u32 log2)
{
	return (__u32)(((digest ^ ((__u64)kind << 8 | len)) * 0x9E3779B97F4A7C15ULL) >>
		       (64 - (log2 & 31)));
}

/* What a path needs looked up, and when the kernel must ask userspace. */
enum bpfbus_kpath_flags {
	BPFBUS_P_STR = 1 << 0, /* exact string keys */
	BPFBUS_P_NUM = 1 << 1, /* exact number keys */
	BPFBUS_P_LIT = 1 << 2, /* null/true/false keys */
	BPFBUS_P_EIC = 1 << 3, /* equals-ignore-case keys */
	BPFBUS_P_AB_EIC = 1 << 4, /* anything-but equals-ignore-case */
	BPFBUS_P_AB_STR = 1 << 5, /* anything-but string values */
	BPFBUS_P_AB_NUM = 1 << 6, /* anything-but numbers */
	BPFBUS_P_ANY_FOLD = 1 << 7, /* some folded lookup: non-ASCII values VERIFY */
	/* the kernel cannot decide these exactly: leaves of that type VERIFY */
	BPFBUS_P_VERIFY_STR = 1 << 8, /* wildcard, cidr, a long value */
	BPFBUS_P_VERIFY_NUM = 1 << 9, /* numeric ranges, unusual numbers */
	BPFBUS_P_VERIFY_LONG = 1 << 10, /* strings longer than VAL_MAX */
	BPFBUS_P_CIDR6 = 1 << 11, /* IPv6 blocks in km_cidr6 */
	BPFBUS_P_VHASH = 1 << 12, /* some value keys are in km_values, not km_vtab */
};

struct bpfbus_kpath {
	__u64 pfx, sfx, pfx_eic, sfx_eic, ab_pfx, ab_sfx; /* bit L: length L */
	__u32 flags;		/* enum bpfbus_kpath_flags */
	__u32 max_len;		/* longest exact/eic string key (else 0) */
	struct bpfbus_posting exists; /* exists:true conditions */
	struct bpfbus_posting ab;     /* anything-but ids */
	__u32 num_root;		/* interval tree of numeric ranges, or NO_NODE */
	__u32 cidr4_root;	/* interval tree of IPv4 blocks, or NO_NODE */
	struct bpfbus_posting wild;    /* wildcard patterns (bpfbus_wild) */
	struct bpfbus_posting ab_wild; /* anything-but wildcard exclusions */
	__u32 grid; /* the box grid this path is an axis of (| BPFBUS_GRID_Y), or NO_NODE */
	__u32 box_root; /* interval tree of that grid's ranges on this path, or NO_NODE */
	__u32 vf_first, vf_log2; /* the value filter's words and size */
};

/* A wildcard pattern as written (escapes kept), and what a match marks. */
struct bpfbus_wild {
	__u32 id; /* cond id, or anything-but id for an exclusion */
	__u16 len;
	__u16 pad;
	__u8 pat[BPFBUS_WILD_MAX];
};

/*
 * Numeric ranges: a centered interval tree over number order keys
 * (numkey.h), flattened. A node's intervals all contain its center; they
 * are listed twice, by lower bound ascending (ivals[lo_first ..]) and by
 * upper bound descending (ivals[hi_first ..]), so a query scans only hits.
 */
struct bpfbus_inode {
	__u64 center;
	__u32 lo_first, hi_first, count;
	__u32 left, right; /* node index or NO_NODE */
	__u32 pad;
};

struct bpfbus_ival {
	__u64 lo, hi; /* order keys; 0 and ~0 stand for -inf and +inf */
	__u32 cond;
	__u32 open;   /* bit 0: lower bound open, bit 1: upper bound open */
};

/*
 * Numeric boxes (docs/kernel.md, "Numeric boxes"). A branch that tests a
 * numeric range on path A and one on path B (a geofence) is a box. The boxes
 * of one pair of paths form a grid: each axis is cut into cells at sorted
 * order keys (km_gbounds), and each cell lists, whole and in a row, the boxes
 * that touch it (km_gcells -> km_boxes). An event with one value on each
 * axis looks up one cell and tests its few boxes, instead of marking every
 * range holding its x and every range holding its y. A cell's index along an
 * axis is the number of its boundaries <= the value, so a box [lo, hi] lies
 * in cells cell(lo) .. cell(hi) on that axis whatever its bounds' openness;
 * the kernel tests each box exactly.
 */
#define BPFBUS_GRID_Y 0x80000000u /* in bpfbus_kpath.grid: the path is the y axis */

struct bpfbus_kgrid {
	__u32 bound_first[2]; /* each axis's boundaries: km_gbounds[slot * MAX + first ..] */
	__u32 n_bounds[2]; /* an axis has n_bounds + 1 cells */
	__u32 cell_first; /* cell (cx, cy): km_gcells[cell_first + cx * (n_bounds[1] + 1) + cy] */
	__u32 pad;
};

struct bpfbus_box {
	__u64 lo[2], hi[2]; /* order keys on x and y; 0 and ~0 stand for -inf and +inf */
	__u32 cond[2]; /* the classes a hit marks: the x range's, the y range's */
	__u32 open; /* bit 0/1: x lower/upper bound open; bit 2/3: y's; BPFBUS_BOX_WHOLE */
	__u32 pad;
};

/* The box is its branch's only fields: a hit reports the branch's rule,
 * cond[0], when the event's bus is cond[1], with no marks and no check. */
#define BPFBUS_BOX_WHOLE 0x10

/*
 * IPv6 blocks: an LPM trie keyed by (slot, path) and the block's aligned
 * prefix. An entry's posting list holds the conditions of its own block and
 * of every shorter block containing it, so the one longest-prefix lookup an
 * address gets finds all the blocks it is in.
 */
struct bpfbus_c6key {
	__u32 prefixlen; /* 32 + the block's prefix length */
	__u32 path_slot; /* path | slot << 16: always inside the prefix */
	__u8 addr[16];	 /* network order */
};

/*
 * A condition class: the conditions of any rules that exactly the same table
 * entries mark share one class and one mark (userspace/lib/ktables_conds.c).
 * Posting lists, intervals and wildcards name classes. A branch whose
 * positive classes are all its own is counted: each class marked adds one,
 * and reaching @need makes it a candidate. Any other branch is listed under
 * one of its positive classes, its anchor, and a marked anchor makes its
 * branches candidates, whatever else is marked.
 */
struct bpfbus_kcond {
	__u32 path;
	__u32 branch; /* the counted branch this class belongs to, or NO_NODE */
	__u32 need;   /* that branch's positive classes */
	__u32 flags; /* BPFBUS_KC_* */
	__u32 rule, bus; /* with BPFBUS_KC_ALONE: the branch's rule and bus */
	/* the branches whose anchor this is: @count pairs of postings, each a
	 * branch id and its partner, another of its positive classes (the
	 * anchor itself when it has no other): a branch whose partner is not
	 * marked cannot match, and the kernel tests that before the branch */
	struct bpfbus_posting anchored;
};

/* The class is its counted branch's one field: marking it matches the
 * branch's rule, with no count and no check of the branch. */
#define BPFBUS_KC_ALONE 1

/* In a branch's list of classes: the field also accepts a missing path
 * (exists:false), so the class is not required to be marked. */
#define BPFBUS_COND_ABSENT_OK 0x80000000u

/* A branch's classes are postings[first_cond .. first_cond + n_cond), each
 * possibly with BPFBUS_COND_ABSENT_OK. */
struct bpfbus_kbranch {
	__u32 rule; /* reported rule id */
	__u32 first_cond;
	__u32 n_cond;
	__u32 bus; /* the bus (or topic) the rule belongs to */
};

/* Name and bus of a rule id, for `bpfbus rule show` without a daemon. */
#define BPFBUS_RULE_NAME_MAX 120
struct bpfbus_rule_name {
	__u32 bus;
	__u32 gen; /* table generation that holds the rule */
	char name[BPFBUS_RULE_NAME_MAX];
};

/* Per-slot header. */
struct bpfbus_ktable {
	__u32 gen;
	__u32 n_rules;
	__u32 n_conds;
	__u32 n_branches;
	struct bpfbus_posting free_branches; /* branches with need == 0 */
	__u32 n_paths;
	__u32 n_ab;
	struct bpfbus_posting ab_cond; /* anything-but id -> cond id */
	/* free branches of MessageAttributes-scope policies: they must not
	 * match a message without attributes (bpf/match.h) */
	__u32 n_attr_free;
};

#define KM_MAX_CANDS 2048
/* Array consistency (kmatch.h km_tuple): satisfactions by leaves inside
 * arrays recorded per event; for a branch of up to KM_TUPLE_MAX positive
 * classes, the leaves of each class gathered (at most KM_TUPLE_LEAVES each)
 * and at most KM_TUPLE_COMBOS choices of one leaf per class tried. */
#define KM_MAX_SATS 256
#define KM_TUPLE_MAX 4
#define KM_TUPLE_LEAVES 16
#define KM_TUPLE_COMBOS 4096
#define KM_MAX_OUT 1024 /* = BPFBUS_MATCH_MAX_RULES (datapath.h) */

/* Why the matcher asked userspace (beyond the scanner's reasons). */
enum km_verify {
	KM_VERIFY_VALUE = 1 << 8,   /* a value the tables cannot compare */
	KM_VERIFY_ARRAYS = 1 << 9,  /* array consistency needs a search */
	KM_VERIFY_CANDS = 1 << 10,  /* more candidates than tracked */
	KM_VERIFY_OUT = 1 << 11,    /* more matched rules than reported */
};

struct km_mark {
	__u32 epoch;
	__u32 objarr; /* KM_SAT_* of the leaves that satisfied it */
};

#define KM_SAT_OBJARR 1 /* by a leaf inside an object inside an array */
#define KM_SAT_TOP 2	/* by a leaf in no array at all */

/* A class satisfied by a leaf inside an array. */
struct km_sat {
	__u32 cls;
	__u32 leaf;
};

struct km_count {
	__u32 epoch;
	__u32 count;
};

/* A number on a grid axis, kept until every leaf is scanned (kmatch_grid.h).
 * Up to KM_GRID_NOTES of them, none inside an array, are paired x with y;
 * otherwise every one is stabbed into its axis's range tree as before. */
#define KM_GRID_NOTES 8
struct km_note {
	__u64 key; /* the number's order key */
	__u32 grid; /* bpfbus_kpath.grid */
	__u32 leaf; /* the leaf's index */
	__u32 box_root; /* bpfbus_kpath.box_root */
	__u32 pad;
};

/* Classes marked in the event, as bits of class % KM_MARKED_BITS: a clear
 * bit proves a class unmarked without reading its mark (kmatch.h). */
#define KM_MARKED_BITS 2048

/* In km_state.cands: a marked anchor class, or a rule matched by one class
 * (BPFBUS_KC_ALONE), else a counted branch. */
#define KM_CAND_ANCHOR 0x80000000u
#define KM_CAND_RULE 0x40000000u

/* The kernel matcher's per-CPU working state (bpf/kmatch.h). */
struct km_state {
	__u32 epoch;
	__u32 leaf_stamp;
	__u32 slot;
	__u32 bus; /* the event's bus: only its rules are reported */
	__u32 verify;
	__u32 n_cands;
	__u32 n_out;
	__u32 cands[KM_MAX_CANDS]; /* counted branches, marked anchor classes */
	__u64 marked[KM_MARKED_BITS / 64];
	__u32 cur_leaf, cur_arrays; /* the leaf being matched, its arrays */
	__u32 n_sats, tup_k;
	struct km_sat sats[KM_MAX_SATS];
	__u32 tup_cls[KM_TUPLE_MAX], tup_n[KM_TUPLE_MAX];
	__u32 tup_leaf[KM_TUPLE_MAX][KM_TUPLE_LEAVES];
	__u32 out[KM_MAX_OUT];
	struct bpfbus_vkey key;
	__u8 fold[BPFBUS_VAL_MAX];
	/* number parsing lives here, not on the stack: the verifier does not
	 * track map contents, so its bpf_loop over the digits converges */
	struct bpfbus_numkey_state num;
	/* wildcard matching (see kmatch.h), kept here for the same reason */
	__u32 wc_pi, wc_si, wc_star_p, wc_star_s, wc_result;
	/* IPv4 parsing */
	__u32 ip_addr, ip_part, ip_digits, ip_parts, ip_bad;
	/* IPv6 parsing, as inet_pton(AF_INET6) reads (kmatch.h km_cidr6) */
	__u16 ip6_grp[8];
	__u32 ip6_n, ip6_colon, ip6_val, ip6_xd, ip6_dec, ip6_decbad, ip6_lead;
	__u32 ip6_v4, ip6_oct, ip6_sawd, ip6_cur, ip6_v4addr, ip6_bad, ip6_len;
	/* a string value with its escapes decoded */
	__u32 str_len, esc, uval, ucnt, ubad;
	__u32 uhigh; /* a \\u high surrogate waiting for its low half, or 0 */
	__u8 str[BPFBUS_VAL_MAX];
	struct bpfbus_wild wild; /* the pattern being tried */
	/* numbers on grid axes, matched against the boxes after the leaves */
	__u32 n_notes, grid_fallback;
	struct km_note notes[KM_GRID_NOTES];
};

_Static_assert(sizeof(struct km_mark) == 8, "km_mark is ABI");
_Static_assert(sizeof(struct bpfbus_vkey) == 8 + BPFBUS_VAL_MAX, "bpfbus_vkey is ABI");
_Static_assert(sizeof(struct bpfbus_vhkey) == 16, "bpfbus_vhkey is ABI");
_Static_assert(sizeof(struct bpfbus_vent) == 16 + BPFBUS_VAL_MAX, "bpfbus_vent is ABI");
_Static_assert(sizeof(struct bpfbus_vbucket) == 64, "bpfbus_vbucket is one cache line");
_Static_assert(sizeof(struct bpfbus_posting) == 8, "bpfbus_posting is ABI");
_Static_assert(sizeof(struct bpfbus_kpath) == 112, "bpfbus_kpath is ABI");
_Static_assert(sizeof(struct bpfbus_kgrid) == 24, "bpfbus_kgrid is ABI");
_Static_assert(sizeof(struct bpfbus_box) == 48, "bpfbus_box is ABI");
_Static_assert(BPFBUS_VFILTER_MAX_LOG2 < 32 && BPFBUS_VFILTER_MIN_LOG2 >= 6,
	       "bpfbus_vfilter_bit: a filter of at least one word");
_Static_assert(sizeof(struct bpfbus_wild) == 136, "bpfbus_wild is ABI");
_Static_assert(sizeof(struct bpfbus_inode) == 32, "bpfbus_inode is ABI");
_Static_assert(sizeof(struct bpfbus_ival) == 24, "bpfbus_ival is ABI");
_Static_assert(sizeof(struct bpfbus_c6key) == 24, "bpfbus_c6key is ABI");
_Static_assert(sizeof(struct bpfbus_kcond) == 32, "bpfbus_kcond is ABI");
_Static_assert(sizeof(struct bpfbus_rule_name) == 128, "bpfbus_rule_name is ABI");
_Static_assert(sizeof(struct bpfbus_kbranch) == 16, "bpfbus_kbranch is ABI");
_Static_assert(sizeof(struct bpfbus_ktable) == 44, "bpfbus_ktable is ABI");

#endif /* BPFBUS_TABLES_H */

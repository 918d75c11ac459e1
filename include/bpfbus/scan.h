/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The kernel JSON scanner's interface, shared by bpf/ and userspace/: the
 * path table it reads (which paths some rule uses) and the leaves it reports.
 * Paths are identified by the 64-bit FNV-1a hash of the flattened path
 * ("detail.state"), the same hash the userspace matcher uses.
 */
#ifndef BPFBUS_SCAN_H
#define BPFBUS_SCAN_H

#ifndef __VMLINUX_H__ /* BPF side gets the types from vmlinux.h */
#include <linux/types.h>
#endif

#define BPFBUS_FNV_OFFSET 0xcbf29ce484222325ULL
#define BPFBUS_FNV_PRIME 0x100000001b3ULL

/* Bytes of event body the kernel scans; larger bodies go to userspace. */
#define BPFBUS_SCAN_MAX_BODY 4096
/* Object/array nesting the scanner tracks; deeper events are VERIFY. */
#define BPFBUS_SCAN_MAX_DEPTH 16
/* Leaves on used paths reported per event; more is VERIFY. */
#define BPFBUS_SCAN_MAX_LEAVES 64
/* Enclosing arrays a leaf records for array consistency. */
#define BPFBUS_SCAN_LEAF_ARRAYS 4

/*
 * The path table: an array map holding, per table slot, BPFBUS_PATH_BUCKETS
 * buckets. A path sits in one of two buckets picked by its hash (cuckoo
 * hashing; userspace places the paths, ktables.c), so the scanner finds a
 * key's path, or learns that no rule uses it, with two array reads instead
 * of a hash-map lookup hashing a key. At most a quarter full.
 */
#define BPFBUS_PATH_BUCKETS 65536

static inline __u32 bpfbus_path_bucket(__u64 hash, int second)
{
	return (__u32)(second ? hash >> 32 : hash) & (BPFBUS_PATH_BUCKETS - 1);
}

/* What a path table bucket says of a path. */
struct bpfbus_path {
	__u32 id;    /* path id in the compiled ruleset */
	__u8 leaf;   /* some condition reads values at this path */
	__u8 inner;  /* some used path continues below it */
	__u8 used;   /* the bucket holds a path */
	__u8 pad;
};

struct bpfbus_pbucket {
	__u64 hash; /* the path's FNV-1a hash */
	struct bpfbus_path path;
};

enum bpfbus_leaf_type {
	BPFBUS_LEAF_STRING = 1,
	BPFBUS_LEAF_NUMBER = 2,
	BPFBUS_LEAF_NULL = 3,
	BPFBUS_LEAF_TRUE = 4,
	BPFBUS_LEAF_FALSE = 5,
};

struct bpfbus_leaf {
	__u32 path;   /* path id */
	__u16 off;    /* value text in the body: strings without the quotes */
	__u16 len;
	__u8 type;    /* enum bpfbus_leaf_type */
	__u8 n_arrays; /* enclosing arrays recorded (innermost last) */
	__u8 escaped;  /* string has backslash escapes (raw text differs) */
	__u8 in_obj_array; /* inside an object that is an array element */
	__u16 arr_id[BPFBUS_SCAN_LEAF_ARRAYS];  /* array instance in the event */
	__u16 arr_idx[BPFBUS_SCAN_LEAF_ARRAYS]; /* element index within it */
};

/* Why the kernel could not scan an event exactly: it asks userspace. */
enum bpfbus_scan_verify {
	BPFBUS_VERIFY_DEPTH = 1 << 0,	 /* nesting deeper than tracked */
	BPFBUS_VERIFY_LEAVES = 1 << 1,	 /* more used leaves than tracked */
	BPFBUS_VERIFY_KEY_ESCAPE = 1 << 2, /* a key with backslash escapes */
	BPFBUS_VERIFY_ARRAYS = 1 << 3,	 /* a leaf in more arrays than recorded */
	BPFBUS_VERIFY_SIZE = 1 << 4,	 /* body larger than the scan window */
	BPFBUS_VERIFY_BUS = 1 << 5,	 /* the bus asks for all (BPFBUS_BUS_F_VERIFY_ALL) */
	BPFBUS_VERIFY_NO_TABLES = 1 << 6, /* no rule tables loaded for the bus yet */
	BPFBUS_VERIFY_INTERNAL = 1 << 7, /* the matcher's per-CPU state was unavailable */
};

enum bpfbus_scan_error {
	BPFBUS_SCAN_OK = 0,
	BPFBUS_SCAN_NOT_OBJECT = 1, /* the body is not a JSON object */
	BPFBUS_SCAN_SYNTAX = 2,	    /* malformed JSON where the scanner read */
	BPFBUS_SCAN_TRUNCATED = 3,  /* the body ends inside a value */
};

/* The scanner's output for one event. */
struct bpfbus_scan_result {
	__u32 error;  /* enum bpfbus_scan_error */
	__u32 verify; /* enum bpfbus_scan_verify bits */
	__u32 n_leaves;
	__u32 pad;
	struct bpfbus_leaf leaves[BPFBUS_SCAN_MAX_LEAVES];
};

/* The scanner's working state: one per CPU in the datapath. */
struct scan_frame {
	__u64 hash;   /* hash of this container's path */
	__u32 path;   /* path id (arrays: the path of their elements) */
	__u8 array;   /* 1: array, 0: object */
	__u8 root;    /* the top-level object: keys get no '.' */
	__u8 leaf;    /* path flags, for array elements */
	__u8 inner;
	__u16 arr_id;
	__u16 arr_idx;
	__u32 pad;
};

struct scan_state {
	__u8 buf[BPFBUS_SCAN_MAX_BODY];
	__u32 len;
	__u32 st;
	__u32 depth; /* frames in use */
	__u32 skip;  /* nesting inside a skipped value */
	__u32 tok;   /* start of the current token */
	__u32 pos;   /* next byte to read */
	__u16 next_arr;
	__u8 tok_escaped;
	__u8 lit; /* enum bpfbus_leaf_type of the literal being read */
	__u64 key_hash;
	/* the value about to be read: its path */
	__u64 val_hash;
	__u32 val_path;
	__u8 val_leaf, val_inner;
	__u16 slot; /* table slot whose path map the scan reads */
	struct scan_frame stack[BPFBUS_SCAN_MAX_DEPTH];
	struct bpfbus_scan_result res;
};

_Static_assert(sizeof(struct scan_frame) == 24, "scan_frame is ABI");
_Static_assert(__builtin_offsetof(struct scan_state, res) % 8 == 0, "scan_state is ABI");
_Static_assert(sizeof(struct bpfbus_path) == 8, "bpfbus_path is ABI");
_Static_assert(sizeof(struct bpfbus_pbucket) == 16, "bpfbus_pbucket is ABI");
_Static_assert(sizeof(struct bpfbus_leaf) == 28, "bpfbus_leaf is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_leaf, arr_id) == 12, "bpfbus_leaf is ABI");
_Static_assert(sizeof(struct bpfbus_scan_result) == 16 + 28 * BPFBUS_SCAN_MAX_LEAVES,
	       "bpfbus_scan_result is ABI");
_Static_assert((BPFBUS_SCAN_MAX_BODY & (BPFBUS_SCAN_MAX_BODY - 1)) == 0, "masked index");
_Static_assert((BPFBUS_SCAN_MAX_DEPTH & (BPFBUS_SCAN_MAX_DEPTH - 1)) == 0, "masked index");
_Static_assert((BPFBUS_SCAN_MAX_LEAVES & (BPFBUS_SCAN_MAX_LEAVES - 1)) == 0, "masked index");

#endif /* BPFBUS_SCAN_H */

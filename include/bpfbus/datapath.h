/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The XDP datapath's ABI, shared by bpf/ and userspace/: one definition.
 *
 *  - struct bpfbus_meta: the 32 bytes the XDP program places in front of a
 *    frame it hands to userspace (XDP metadata area, AF_XDP), and the head of
 *    every ring-buffer record;
 *  - struct bpfbus_rb_record: the ring-buffer hand-off (meta, all matched rule
 *    ids, the frame);
 *  - struct bpfbus_bus: value of the bus map, keyed by the wire name hash;
 *  - struct bpfbus_bus_stats / bpfbus_rule_stats: per-CPU counters;
 *  - struct bpfbus_match_result: what bpfbus_match() (bpf/match.h) returns;
 *  - map names and the pin directory.
 *
 * Everything here is in host byte order (the kernel and the daemon share a
 * machine); the wire format (wire.h) is the only network-byte-order ABI.
 * Described in docs/kernel.md ("The datapath").
 */
#ifndef BPFBUS_DATAPATH_H
#define BPFBUS_DATAPATH_H

#ifndef __VMLINUX_H__ /* BPF side gets the types from vmlinux.h */
#include <linux/types.h>
#endif

#include "bpfbus/wire.h"

/* Pin directory of the datapath maps (every component takes another). */
#define BPFBUS_PIN_DIR "/sys/fs/bpf/bpfbus"

/*
 * Map names, which are also the names of the pinned files under the pin
 * directory (LIBBPF_PIN_BY_NAME). At most 15 characters (BPF_OBJ_NAME_LEN).
 */
#define BPFBUS_MAP_BUSES "bb_buses" /* hash: name hash -> bpfbus_bus */
#define BPFBUS_MAP_BUS_STATS "bb_bus_stats" /* percpu array: bus id -> stats */
#define BPFBUS_MAP_RULE_STATS "bb_rule_stats" /* percpu array: rule id -> stats */
#define BPFBUS_MAP_XSKS "bb_xsks" /* xskmap: rx queue -> AF_XDP socket */
#define BPFBUS_MAP_RING "bb_ring" /* ringbuf: bpfbus_rb_record */
#define BPFBUS_MAP_SAMPLE "bb_sample" /* array: bus id -> bpfbus_sample */
/* The XDP program's name (bpftool prog show, libxdp). */
#define BPFBUS_PROG_NAME "bpfbus_xdp"

/* Table sizes. */
#define BPFBUS_MAX_BUSES 1024 /* bus ids 1..1023; id 0 counts what has no bus */
#define BPFBUS_MAX_RULES 131072 /* rule ids 0..131071 (per-rule counters) */
#define BPFBUS_MAX_QUEUES 64 /* RX queues with an AF_XDP socket */
#define BPFBUS_RING_SIZE (8U << 20) /* ring-buffer bytes (default) */
/* Largest frame the ring-buffer hand-off carries; larger ones are passed. */
#define BPFBUS_RB_MAX_FRAME 16384
/* Rule ids the matcher reports (more matched rules make the event VERIFY);
 * the ring-buffer hand-off carries them all, the metadata the first three. */
#define BPFBUS_MATCH_MAX_RULES 1024
/* Rule ids carried in the 32-byte metadata. */
#define BPFBUS_META_RULES 3

/* Hand-off mode, chosen when the XDP program is loaded (.rodata). */
enum bpfbus_handoff {
	BPFBUS_HANDOFF_XSK = 0, /* XDP_REDIRECT to the AF_XDP socket of the RX queue */
	BPFBUS_HANDOFF_RINGBUF = 1, /* bpf_ringbuf_output a record, then XDP_DROP */
};

/* bus id 0: datagrams not attributed to a bus (malformed, unknown bus). */
#define BPFBUS_BUS_NONE 0

/* ---------------------------------------------------------------------------
 * Metadata in front of every handed-off frame (32 bytes).
 *
 * AF_XDP: at (frame - 32) in the UMEM, written with bpf_xdp_adjust_meta(-32).
 * Ring buffer: the first member of struct bpfbus_rb_record.
 */
#define BPFBUS_META_MAGIC 0xBB5A
#define BPFBUS_META_VERSION 1

/* meta flags */
#define BPFBUS_META_F_VERIFY 0x01 /* the kernel could not decide: match in userspace */
#define BPFBUS_META_F_TRUNCATED 0x02 /* more rules matched than meta.rule_ids lists */
#define BPFBUS_META_F_IPV6 0x04 /* the datagram came over IPv6 */
/* AF_XDP with more rules than rule_ids lists: every id is in an ids record
 * in the ring buffer, whose handle is rule_ids[1] | (u64)rule_ids[2] << 32
 * (rule_ids[0] is still the first id). */
#define BPFBUS_META_F_IDS_RECORD 0x08
/* A ring-buffer record that is such an ids record: no frame, meta.rule_ids[1..2]
 * its handle, n_ids ids. */
#define BPFBUS_META_F_IDS_ONLY 0x10
/* No rule matched; handed off only because an archive of the bus wants the
 * event (its archive entries are the ids listed, none for a pattern-less
 * archive). Counted in bus stats `archived`, not `matched`. */
#define BPFBUS_META_F_ARCHIVE 0x20
/* Nothing wanted the event: a sample for schema discovery only (no ids, never
 * delivered to a target nor archived). Counted in bus stats `sampled`. */
#define BPFBUS_META_F_SAMPLE 0x40

struct bpfbus_meta {
	__u16 magic; /*  0 BPFBUS_META_MAGIC */
	__u8 version; /*  2 BPFBUS_META_VERSION */
	__u8 flags; /*  3 BPFBUS_META_F_* */
	__u32 generation; /*  4 table generation the kernel matched with */
	__u32 bus_id; /*  8 bpfbus_bus.id */
	__u16 n_rules; /* 12 rules the kernel matched (may exceed what is listed) */
	__u16 body_off; /* 14 body offset from the start of the frame (Ethernet header) */
	__u32 body_len; /* 16 body length */
	__u32 rule_ids[BPFBUS_META_RULES]; /* 20 the first min(n_rules, 3) matched rules;
					    * with F_VERIFY, rule_ids[0] holds why the
					    * kernel asked (enum bpfbus_scan_verify and
					    * enum km_verify bits, BPFBUS_VERIFY_ATTR_*) */
};

_Static_assert(sizeof(struct bpfbus_meta) == 32, "bpfbus_meta is ABI: 32 bytes of XDP metadata");
_Static_assert(__builtin_offsetof(struct bpfbus_meta, generation) == 4, "bpfbus_meta is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_meta, bus_id) == 8, "bpfbus_meta is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_meta, n_rules) == 12, "bpfbus_meta is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_meta, body_off) == 14, "bpfbus_meta is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_meta, body_len) == 16, "bpfbus_meta is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_meta, rule_ids) == 20, "bpfbus_meta is ABI");
/* body_off fits: Ethernet + VLAN + IPv6 + UDP + the largest body offset. */
_Static_assert(14 + 4 + 40 + 8 + BPFBUS_WIRE_MAX_BODY_OFF < 65536, "body_off is 16 bits");

/*
 * Ring-buffer record: the same meta, every matched rule id (n_ids of them,
 * which is meta.n_rules), then the frame from its Ethernet header. The
 * record is sizeof(struct bpfbus_rb_record) + 4 * n_ids + frame_len bytes.
 */
struct bpfbus_rb_record {
	struct bpfbus_meta meta; /*  0 */
	__u32 frame_len; /* 32 bytes of frame after the ids */
	__u32 n_ids; /* 36 rule ids that follow: every matched rule */
	/* 40: n_ids __u32 rule ids, then frame_len bytes of frame */
};

_Static_assert(sizeof(struct bpfbus_rb_record) == 40, "bpfbus_rb_record is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_rb_record, frame_len) == 32, "rb record ABI");
_Static_assert((BPFBUS_RB_MAX_FRAME & (BPFBUS_RB_MAX_FRAME - 1)) == 0, "masked length");

/* ---------------------------------------------------------------------------
 * Buses and topics: BPF_MAP_TYPE_HASH, key __u32 = wire name_hash (FNV-1a of
 * the name). The hash is only the key: the kernel compares the name bytes.
 * The control plane refuses two names with one hash (a bus and a topic
 * included), so a datagram whose kind differs from its bus's is unknown.
 */
enum bpfbus_bus_kind {
	BPFBUS_BUS_EVENT = BPFBUS_WIRE_KIND_EVENT, /* EventBridge bus */
	BPFBUS_BUS_TOPIC = BPFBUS_WIRE_KIND_SNS, /* SNS topic */
};

/*
 * Every datagram of the bus is handed off as VERIFY: its rules include some
 * the kernel cannot compile (a policy that no longer compiles). Set by the
 * rule compiler.
 */
#define BPFBUS_BUS_F_VERIFY_ALL 0x01
/*
 * Nothing of the bus is dropped: a datagram no rule matches is handed off
 * with no rules (an SNS topic with a subscription without a filter policy,
 * which wants every message; the daemon adds it to what the kernel matched).
 */
#define BPFBUS_BUS_F_KEEP_ALL 0x02
/*
 * Archives of the bus are entries in its tables: rule ids at or above
 * bpfbus_bus.archive_base are archive entries (target-less, one per enabled
 * archive with a pattern), below it rules. An event matching only archive
 * entries is handed off flagged BPFBUS_META_F_ARCHIVE instead of dropped.
 */
#define BPFBUS_BUS_F_ARCHIVES 0x04
/* A pattern-less archive keeps every event of the bus: nothing is dropped;
 * an event no rule matches is handed off flagged BPFBUS_META_F_ARCHIVE. */
#define BPFBUS_BUS_F_ARCHIVE_ALL 0x08
/* Schema discovery: a bounded sample of the events the bus would drop is
 * handed off flagged BPFBUS_META_F_SAMPLE (rate in bb_sample, bpf/sample.h). */
#define BPFBUS_BUS_F_DISCOVERY 0x10

struct bpfbus_bus {
	__u32 id; /*  0 1..BPFBUS_MAX_BUSES-1: index of the counters, tables */
	__u32 generation; /*  4 live table generation (0: no table loaded) */
	__u8 kind; /*  8 enum bpfbus_bus_kind (= the datagram's wire kind) */
	__u8 flags; /*  9 BPFBUS_BUS_F_* */
	__u16 name_len; /* 10 1..256 */
	__u32 archive_base; /* 12 with BPFBUS_BUS_F_ARCHIVES: first archive entry id */
	__u8 name[BPFBUS_WIRE_MAX_NAME]; /* 16 zero-padded; 8-aligned for word compares */
};

_Static_assert(sizeof(struct bpfbus_bus) == 272, "bpfbus_bus is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_bus, name) == 16, "bpfbus_bus is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_bus, name_len) == 10, "bpfbus_bus is ABI");

/*
 * Schema discovery's sampling, per bus (array indexed by bus id): at most
 * rate_per_s of the events the bus would drop are handed off per second,
 * with bursts of at most one second's worth (bpf/sample.h). Userspace
 * writes rate_per_s (and 0 into tat_ns); the program owns tat_ns.
 */
struct bpfbus_sample {
	__u64 tat_ns; /* the bucket's "theoretical arrival time" (GCRA), bpf_ktime_get_ns */
	__u32 rate_per_s; /* 0: no sampling */
	__u32 pad;
};

_Static_assert(sizeof(struct bpfbus_sample) == 16, "bpfbus_sample is ABI");

/* ---------------------------------------------------------------------------
 * Counters: BPF_MAP_TYPE_PERCPU_ARRAY, summed over CPUs by readers.
 *
 * Per bus, indexed by bus id (0: datagrams to the port with no bus: malformed
 * before the name was checked, unknown bus, fragments, extension headers).
 * Every datagram to the router's port counts once in received and once in
 * exactly one of dropped, redirected or passed (and, when malformed, once in
 * malformed[reason]).
 */
enum bpfbus_pass_reason {
	BPFBUS_PASS_MALFORMED = 0, /* a wire error (see malformed[]) or a body scan error */
	BPFBUS_PASS_UNKNOWN_BUS = 1, /* no bus with that name hash and name (or kind) */
	BPFBUS_PASS_FRAGMENT = 2, /* IPv4 fragment or IPv6 fragment header */
	BPFBUS_PASS_EXT_HDR = 3, /* IPv6 extension headers before UDP */
	BPFBUS_PASS_NO_SOCKET = 4, /* no AF_XDP socket bound to the RX queue */
	BPFBUS_PASS_HANDOFF_FAIL = 5, /* ring buffer full, frame too big, metadata refused */
	BPFBUS_PASS_MAX,
};

struct bpfbus_bus_stats {
	__u64 received; /* datagrams to the router's port */
	__u64 bytes; /* their UDP payload bytes */
	__u64 dropped; /* no rule matched: XDP_DROP */
	__u64 redirected; /* handed to userspace (AF_XDP or ring buffer) */
	__u64 matched; /* of those, decided by the kernel: some rule matched (or a topic's
			* subscription without a policy: BPFBUS_BUS_F_KEEP_ALL) */
	__u64 verify; /* of those, flagged VERIFY */
	__u64 passed; /* XDP_PASS to the daemon's UDP socket (slow path) */
	__u64 pass_reason[BPFBUS_PASS_MAX]; /* why passed */
	__u64 malformed[BPFBUS_WIRE_ERR_MAX]; /* by enum bpfbus_wire_err */
	/* redirected too (redirected = matched + verify + archived + sampled + ack_unmatched): */
	__u64 archived; /* no rule matched, kept for an archive (BPFBUS_META_F_ARCHIVE) */
	__u64 sampled; /* wanted by nothing, a schema discovery sample (BPFBUS_META_F_SAMPLE) */
	__u64 ack_unmatched; /* no rule matched, handed off for the producer's ack (F_ACK) */
};

_Static_assert(sizeof(struct bpfbus_bus_stats) == 8 * (10 + BPFBUS_PASS_MAX + BPFBUS_WIRE_ERR_MAX),
	       "bpfbus_bus_stats is ABI");
_Static_assert(BPFBUS_PASS_MAX == 6, "append new pass reasons before BPFBUS_PASS_MAX");

/* Per rule, indexed by rule id: events the kernel matched to it (not VERIFY). */
struct bpfbus_rule_stats {
	__u64 matches;
	__u64 bytes; /* event body bytes */
};

_Static_assert(sizeof(struct bpfbus_rule_stats) == 16, "bpfbus_rule_stats is ABI");

/* ---------------------------------------------------------------------------
 * The matcher's interface (bpf/match.h):
 *
 *	int bpfbus_match(struct xdp_md *ctx, struct scan_state *s,
 *			 const struct bpfbus_bus *bus,
 *			 struct bpfbus_match_result *out);
 *
 * Called with s->buf/s->len holding the body (len < BPFBUS_SCAN_MAX_BODY) and
 * out->generation = bus->generation; returns out->verdict.
 */
enum bpfbus_verdict {
	BPFBUS_VERDICT_DROP = 0, /* no rule matches: XDP_DROP */
	BPFBUS_VERDICT_MATCH = 1, /* rule_ids[0..n_rules) match, decided exactly */
	BPFBUS_VERDICT_VERIFY = 2, /* the kernel cannot decide: userspace matches */
	BPFBUS_VERDICT_MALFORMED = 3, /* the body is not a valid JSON object: XDP_PASS */
	BPFBUS_VERDICT_MALFORMED_ATTRS = 4, /* SNS attributes are not JSON: XDP_PASS */
};

struct bpfbus_match_result {
	__u32 verdict; /* enum bpfbus_verdict */
	__u32 generation; /* table generation matched with */
	__u32 n_rules; /* rules matched (MATCH), at most BPFBUS_MATCH_MAX_RULES */
	__u32 verify; /* VERIFY: why (enum bpfbus_scan_verify bits, or matcher's) */
	/* the first min(n_rules, 3) matched rules; all n_rules are in the
	 * matcher's per-CPU state (struct km_state.out, tables.h) */
	__u32 rule_ids[BPFBUS_META_RULES];
};

_Static_assert(sizeof(struct bpfbus_match_result) == 16 + 4 * BPFBUS_META_RULES,
	       "bpfbus_match_result is ABI");
_Static_assert((BPFBUS_MATCH_MAX_RULES & (BPFBUS_MATCH_MAX_RULES - 1)) == 0, "masked index");

#endif /* BPFBUS_DATAPATH_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bpfbus wire format v1: one event per UDP datagram (IPv4 or IPv6), sent to
 * the router's port (default BPFBUS_WIRE_DEFAULT_PORT). Shared by bpf/ and
 * userspace/: one definition. Specified in docs/wire.md.
 *
 * UDP payload:
 *
 *	offset 0         struct bpfbus_wire_hdr (hdr_len bytes, 48 in v1)
 *	hdr_len          name      name_len  bytes (1..256)  bus or topic name
 *	 + name_len      group     group_len bytes (0..128)  FIFO message-group id
 *	 + group_len     dedup     dedup_len bytes (0..128)  deduplication id
 *	 + dedup_len     attrs     attrs_len bytes (0..8192) SNS MessageAttributes JSON
 *	 + attrs_len     body      body_len  bytes (1..)     the JSON event / SNS message
 *
 * No padding between sections; hdr_len + the five lengths equals the UDP
 * payload length exactly. Every multi-byte field is in network byte order.
 * Each section offset is the previous one plus one length with a small
 * bound, so an XDP program finds the body with four bounded additions.
 */
#ifndef BPFBUS_WIRE_H
#define BPFBUS_WIRE_H

#ifndef __VMLINUX_H__ /* BPF side gets the types from vmlinux.h */
#include <linux/types.h>
#endif

/* Default UDP port of bpfbus datagrams (every component takes another). */
#define BPFBUS_DEFAULT_PORT 4790
#define BPFBUS_WIRE_DEFAULT_PORT BPFBUS_DEFAULT_PORT

/* "BBUS", the first four bytes of every bpfbus datagram. */
#define BPFBUS_WIRE_MAGIC 0x42425553U
#define BPFBUS_WIRE_VERSION 1

/* kind: what the datagram carries. */
enum bpfbus_wire_kind {
	BPFBUS_WIRE_KIND_EVENT = 1, /* EventBridge PutEvents entry to bus <name> */
	BPFBUS_WIRE_KIND_SNS = 2, /* SNS Publish to topic <name> */
};

/*
 * flags. The low byte holds critical flags: a receiver that does not know a
 * set critical flag rejects the datagram (BPFBUS_WIRE_ERR_FLAGS). The high
 * byte holds advisory flags, which receivers that do not know them ignore.
 */
#define BPFBUS_WIRE_F_FIFO 0x0001U /* FIFO bus/topic: group id required */
#define BPFBUS_WIRE_F_ACK 0x0002U /* producer asks for an acknowledgement */
#define BPFBUS_WIRE_F_PRODUCER 0x0004U /* producer_id and seq are set */
#define BPFBUS_WIRE_F_TIME 0x0100U /* time_ns is set (advisory) */
#define BPFBUS_WIRE_F_CRITICAL 0x00ffU
#define BPFBUS_WIRE_F_KNOWN \
	(BPFBUS_WIRE_F_FIFO | BPFBUS_WIRE_F_ACK | BPFBUS_WIRE_F_PRODUCER | BPFBUS_WIRE_F_TIME)

/* Limits. */
#define BPFBUS_WIRE_HDR_LEN 48 /* sizeof(struct bpfbus_wire_hdr), v1 */
#define BPFBUS_WIRE_HDR_MAX 128 /* hdr_len may grow within v1, up to this */
#define BPFBUS_WIRE_MAX_NAME 256 /* EventBridge bus and SNS topic names */
#define BPFBUS_WIRE_MAX_GROUP 128 /* SNS/SQS MessageGroupId */
#define BPFBUS_WIRE_MAX_DEDUP 128 /* SNS/SQS MessageDeduplicationId */
#define BPFBUS_WIRE_MAX_ATTRS 8192 /* MessageAttributes JSON text */
#define BPFBUS_WIRE_MAX_PAYLOAD 65507 /* largest UDP payload over IPv4 */
/* Largest body: a v1 header and a one-byte name, nothing else. */
#define BPFBUS_WIRE_MAX_BODY (BPFBUS_WIRE_MAX_PAYLOAD - BPFBUS_WIRE_HDR_LEN - 1)
/* Largest offset of the body: every section before it at its maximum. */
#define BPFBUS_WIRE_MAX_BODY_OFF                                              \
	(BPFBUS_WIRE_HDR_MAX + BPFBUS_WIRE_MAX_NAME + BPFBUS_WIRE_MAX_GROUP + \
	 BPFBUS_WIRE_MAX_DEDUP + BPFBUS_WIRE_MAX_ATTRS)

/* name_hash: 32-bit FNV-1a of the name bytes. */
#define BPFBUS_WIRE_FNV_OFFSET 0x811c9dc5U
#define BPFBUS_WIRE_FNV_PRIME 0x01000193U

struct bpfbus_wire_hdr {
	__be32 magic; /*  0 BPFBUS_WIRE_MAGIC */
	__u8 version; /*  4 BPFBUS_WIRE_VERSION */
	__u8 kind; /*  5 enum bpfbus_wire_kind */
	__be16 flags; /*  6 BPFBUS_WIRE_F_* */
	__be16 hdr_len; /*  8 48..128, a multiple of 8; name starts here */
	__be16 name_len; /* 10 1..256 */
	__u8 group_len; /* 12 0..128 */
	__u8 dedup_len; /* 13 0..128 */
	__be16 attrs_len; /* 14 0..8192; 0 unless kind is SNS */
	__be32 body_len; /* 16 1..BPFBUS_WIRE_MAX_BODY */
	__be32 name_hash; /* 20 FNV-1a 32 of the name */
	__be64 producer_id; /* 24 with F_PRODUCER, else 0 */
	__be64 seq; /* 32 with F_PRODUCER: per-producer sequence number */
	__be64 time_ns; /* 40 with F_TIME: producer's CLOCK_REALTIME, ns */
};

_Static_assert(sizeof(struct bpfbus_wire_hdr) == BPFBUS_WIRE_HDR_LEN, "wire v1 header is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_wire_hdr, magic) == 0, "wire v1 is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_wire_hdr, version) == 4, "wire v1 is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_wire_hdr, kind) == 5, "wire v1 is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_wire_hdr, flags) == 6, "wire v1 is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_wire_hdr, hdr_len) == 8, "wire v1 is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_wire_hdr, name_len) == 10, "wire v1 is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_wire_hdr, group_len) == 12, "wire v1 is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_wire_hdr, dedup_len) == 13, "wire v1 is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_wire_hdr, attrs_len) == 14, "wire v1 is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_wire_hdr, body_len) == 16, "wire v1 is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_wire_hdr, name_hash) == 20, "wire v1 is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_wire_hdr, producer_id) == 24, "wire v1 is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_wire_hdr, seq) == 32, "wire v1 is ABI");
_Static_assert(__builtin_offsetof(struct bpfbus_wire_hdr, time_ns) == 40, "wire v1 is ABI");
_Static_assert(BPFBUS_WIRE_MAX_BODY == 65458, "wire v1 limits are ABI");
_Static_assert(BPFBUS_WIRE_MAX_BODY_OFF == 8832, "wire v1 limits are ABI");
_Static_assert(BPFBUS_WIRE_MAX_GROUP <= 255 && BPFBUS_WIRE_MAX_DEDUP <= 255, "u8 lengths");
_Static_assert((BPFBUS_WIRE_F_KNOWN & ~0xffffU) == 0, "flags are 16 bits");

/*
 * Why a datagram to the bpfbus port is malformed, in the order a decoder
 * checks. The kernel and the daemon count malformed datagrams per reason with
 * these indexes; names and messages: bb_wire_err_name()/bb_wire_strerror().
 * Append only, before BPFBUS_WIRE_ERR_MAX.
 */
enum bpfbus_wire_err {
	BPFBUS_WIRE_OK = 0,
	BPFBUS_WIRE_ERR_SHORT = 1, /* fewer than 5 bytes: no magic and version */
	BPFBUS_WIRE_ERR_MAGIC = 2, /* first four bytes are not "BBUS" */
	BPFBUS_WIRE_ERR_VERSION = 3, /* version other than 1 */
	BPFBUS_WIRE_ERR_TRUNC_HDR = 4, /* shorter than the header (48 or hdr_len) */
	BPFBUS_WIRE_ERR_HDR_LEN = 5, /* hdr_len < 48, > 128 or not a multiple of 8 */
	BPFBUS_WIRE_ERR_KIND = 6, /* unknown kind */
	BPFBUS_WIRE_ERR_FLAGS = 7, /* unknown critical flag */
	BPFBUS_WIRE_ERR_NAME_EMPTY = 8, /* name_len 0 */
	BPFBUS_WIRE_ERR_NAME_LEN = 9, /* name_len > 256 */
	BPFBUS_WIRE_ERR_GROUP_LEN = 10, /* group_len > 128 */
	BPFBUS_WIRE_ERR_DEDUP_LEN = 11, /* dedup_len > 128 */
	BPFBUS_WIRE_ERR_ATTRS_LEN = 12, /* attrs_len > 8192 */
	BPFBUS_WIRE_ERR_BODY_LEN = 13, /* body_len > BPFBUS_WIRE_MAX_BODY */
	BPFBUS_WIRE_ERR_BODY_EMPTY = 14, /* body_len 0 */
	BPFBUS_WIRE_ERR_PAST_END = 15, /* the sections end past the datagram */
	BPFBUS_WIRE_ERR_TRAILING = 16, /* bytes after the body */
	BPFBUS_WIRE_ERR_NAME_HASH = 17, /* name_hash is not FNV-1a of the name */
	BPFBUS_WIRE_ERR_NAME_CHARS = 18, /* name byte outside '!'..'~' */
	BPFBUS_WIRE_ERR_GROUP_CHARS = 19, /* group id byte outside '!'..'~' */
	BPFBUS_WIRE_ERR_DEDUP_CHARS = 20, /* dedup id byte outside '!'..'~' */
	BPFBUS_WIRE_ERR_FIFO_GROUP = 21, /* F_FIFO without a group id */
	BPFBUS_WIRE_ERR_ATTRS_KIND = 22, /* attributes on a kind other than SNS */
	BPFBUS_WIRE_ERR_TOO_BIG = 23, /* datagram or message over 65507 bytes */
	BPFBUS_WIRE_ERR_BODY_JSON = 24, /* body is not a JSON object (event kind) */
	BPFBUS_WIRE_ERR_ATTRS_JSON = 25, /* attributes are not SNS MessageAttributes JSON */
	BPFBUS_WIRE_ERR_NOSPACE = 26, /* encoder only: output buffer too small */
	BPFBUS_WIRE_ERR_MAX,
};

_Static_assert(BPFBUS_WIRE_ERR_MAX == 27, "append new reasons before BPFBUS_WIRE_ERR_MAX");

/*
 * The acknowledgement (docs/wire.md, "Acknowledged ingest"): the router's
 * answer to a datagram with F_ACK and F_PRODUCER, sent from the router port
 * to the datagram's source address and port once the event is durably in
 * every target of every rule it matched (or matched none), or when it can
 * never be (status other than STORED: retransmitting would not help).
 */
#define BPFBUS_ACK_MAGIC 0x4242414bU /* "BBAK" */
#define BPFBUS_ACK_VERSION 1

enum bpfbus_ack_status {
	BPFBUS_ACK_STORED = 0, /* durably in every target or its retry store (or no rule matched) */
	BPFBUS_ACK_REJECTED = 1, /* malformed, unknown bus: never delivered */
	BPFBUS_ACK_FAILED = 2, /* a target refused it (no such queue, ...): not retried */
};

struct bpfbus_wire_ack {
	__be32 magic; /*  0 BPFBUS_ACK_MAGIC */
	__u8 version; /*  4 BPFBUS_ACK_VERSION */
	__u8 status; /*  5 enum bpfbus_ack_status */
	__be16 reserved; /*  6 0 */
	__be64 producer_id; /*  8 as in the datagram */
	__be64 seq; /* 16 as in the datagram */
};

_Static_assert(sizeof(struct bpfbus_wire_ack) == 24, "the ack datagram is ABI");

#endif /* BPFBUS_WIRE_H */

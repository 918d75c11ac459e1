/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Encoding and decoding of bpfbus wire v1 datagrams (include/bpfbus/wire.h,
 * docs/wire.md). Decoding validates everything the format promises and says
 * why a datagram is malformed (enum bpfbus_wire_err), so receivers can count
 * malformed datagrams by reason.
 */
#ifndef BPFBUS_LIB_WIRE_H
#define BPFBUS_LIB_WIRE_H

#include "bpfbus/wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One message. Decoded, the pointers point into the datagram (not
 * NUL-terminated). To encode, fill kind, name and body at least; name_hash and
 * hdr_len are computed (left 0 they are; decode fills them from the datagram).
 */
struct bb_wire_msg {
	uint8_t version; /* decode: from the header; encode: ignored (1) */
	uint8_t kind; /* enum bpfbus_wire_kind */
	uint16_t flags; /* BPFBUS_WIRE_F_*; encode adds F_PRODUCER/F_TIME itself */
	uint16_t hdr_len; /* decode: from the header; encode: ignored (48) */
	uint32_t name_hash;
	uint64_t producer_id; /* encode: nonzero sets F_PRODUCER */
	uint64_t seq;
	uint64_t time_ns; /* encode: nonzero sets F_TIME */
	const char *name, *group, *dedup, *attrs, *body;
	size_t name_len, group_len, dedup_len, attrs_len, body_len;
};

/* decode options */
#define BB_WIRE_CHECK_JSON 0x1U /* body an object (event kind), attrs SNS-shaped */

/* 32-bit FNV-1a of @len bytes: the header's name_hash. */
uint32_t bb_wire_name_hash(const void *name, size_t len);

/* Bytes bb_wire_encode needs for @m (no validation). */
size_t bb_wire_encoded_len(const struct bb_wire_msg *m);

/*
 * Encode @m into @buf (@cap bytes). Returns the datagram length, or minus an
 * enum bpfbus_wire_err: the same reasons decode gives (name too long, FIFO
 * without group, ...), BPFBUS_WIRE_ERR_TOO_BIG past 65507 bytes and
 * BPFBUS_WIRE_ERR_NOSPACE when @cap is too small. JSON is not checked here:
 * use bb_wire_check_json.
 */
long bb_wire_encode(const struct bb_wire_msg *m, void *buf, size_t cap);

/*
 * Decode and validate the @len bytes of a UDP payload into @m. Returns
 * BPFBUS_WIRE_OK or the first reason found, in enum order. With
 * BB_WIRE_CHECK_JSON in @opts, also the JSON checks of bb_wire_check_json.
 * On error, @m holds whatever header fields could be read.
 */
enum bpfbus_wire_err bb_wire_decode(const void *buf, size_t len, struct bb_wire_msg *m,
				    unsigned int opts);

/*
 * The JSON checks: an event body must be a JSON object; attributes, when
 * present, a JSON object of {"Name": {"DataType": "...", ...}} (SNS's
 * MessageAttributes shape). SNS message bodies may be any text.
 */
enum bpfbus_wire_err bb_wire_check_json(const struct bb_wire_msg *m);

/* Stable short name of a reason ("bad_magic"), for counters and JSON output. */
const char *bb_wire_err_name(enum bpfbus_wire_err err);
/* One-line human-readable explanation of a reason. */
const char *bb_wire_strerror(enum bpfbus_wire_err err);

/* Patch seq (and time_ns, when nonzero, setting F_TIME) of an encoded datagram. */
void bb_wire_set_seq(void *datagram, uint64_t seq, uint64_t time_ns);

#endif

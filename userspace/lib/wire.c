// SPDX-License-Identifier: BSD-2-Clause
/* bpfbus wire v1: encode, decode and validate datagrams (docs/wire.md). */
#include "wire.h"
#include "json.h"

#include <endian.h>
#include <string.h>

static const struct {
	const char *name, *msg;
} reasons[BPFBUS_WIRE_ERR_MAX] = {
	[BPFBUS_WIRE_OK] = { "ok", "valid datagram" },
	[BPFBUS_WIRE_ERR_SHORT] = { "short", "datagram shorter than magic and version (5 bytes)" },
	[BPFBUS_WIRE_ERR_MAGIC] = { "bad_magic", "bad magic (not a bpfbus datagram)" },
	[BPFBUS_WIRE_ERR_VERSION] = { "bad_version", "unsupported wire version" },
	[BPFBUS_WIRE_ERR_TRUNC_HDR] = { "truncated_header", "datagram shorter than its header" },
	[BPFBUS_WIRE_ERR_HDR_LEN] = { "bad_header_len",
				      "header length not 48..128 and a multiple of 8" },
	[BPFBUS_WIRE_ERR_KIND] = { "bad_kind", "unknown kind" },
	[BPFBUS_WIRE_ERR_FLAGS] = { "unknown_flags", "unknown critical flag set" },
	[BPFBUS_WIRE_ERR_NAME_EMPTY] = { "name_empty", "empty bus or topic name" },
	[BPFBUS_WIRE_ERR_NAME_LEN] = { "name_too_long", "bus or topic name longer than 256 bytes" },
	[BPFBUS_WIRE_ERR_GROUP_LEN] = { "group_too_long",
					"message group id longer than 128 bytes" },
	[BPFBUS_WIRE_ERR_DEDUP_LEN] = { "dedup_too_long",
					"deduplication id longer than 128 bytes" },
	[BPFBUS_WIRE_ERR_ATTRS_LEN] = { "attributes_too_long",
					"message attributes longer than 8192 bytes" },
	[BPFBUS_WIRE_ERR_BODY_LEN] = { "body_too_long", "body longer than 65458 bytes" },
	[BPFBUS_WIRE_ERR_BODY_EMPTY] = { "body_empty", "empty body" },
	[BPFBUS_WIRE_ERR_PAST_END] = { "past_end",
				       "section lengths run past the end of the datagram" },
	[BPFBUS_WIRE_ERR_TRAILING] = { "trailing_bytes", "bytes after the body" },
	[BPFBUS_WIRE_ERR_NAME_HASH] = { "bad_name_hash", "name hash is not FNV-1a of the name" },
	[BPFBUS_WIRE_ERR_NAME_CHARS] = { "bad_name", "name byte outside printable ASCII" },
	[BPFBUS_WIRE_ERR_GROUP_CHARS] = { "bad_group",
					  "message group id byte outside printable ASCII" },
	[BPFBUS_WIRE_ERR_DEDUP_CHARS] = { "bad_dedup",
					  "deduplication id byte outside printable ASCII" },
	[BPFBUS_WIRE_ERR_FIFO_GROUP] = { "fifo_without_group",
					 "FIFO flag without a message group id" },
	[BPFBUS_WIRE_ERR_ATTRS_KIND] = { "attributes_not_sns",
					 "message attributes on a kind other than SNS" },
	[BPFBUS_WIRE_ERR_TOO_BIG] = { "too_big", "datagram larger than 65507 bytes" },
	[BPFBUS_WIRE_ERR_BODY_JSON] = { "body_not_object", "event body is not a JSON object" },
	[BPFBUS_WIRE_ERR_ATTRS_JSON] = { "bad_attributes",
					 "message attributes are not a JSON object of "
					 "{\"Type\": string, \"Value\": string}" },
	[BPFBUS_WIRE_ERR_NOSPACE] = { "no_space", "output buffer too small" },
};

const char *bb_wire_err_name(enum bpfbus_wire_err err)
{
	if ((unsigned int)err >= BPFBUS_WIRE_ERR_MAX)
		return "unknown";
	return reasons[err].name;
}

const char *bb_wire_strerror(enum bpfbus_wire_err err)
{
	if ((unsigned int)err >= BPFBUS_WIRE_ERR_MAX)
		return "unknown reason";
	return reasons[err].msg;
}

uint32_t bb_wire_name_hash(const void *name, size_t len)
{
	const unsigned char *p = name;
	uint32_t h = BPFBUS_WIRE_FNV_OFFSET;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= BPFBUS_WIRE_FNV_PRIME;
	}
	return h;
}

/* Names and ids are printable ASCII without spaces, as AWS requires of both. */
static bool printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < '!' || (unsigned char)s[i] > '~')
			return false;
	return true;
}

size_t bb_wire_encoded_len(const struct bb_wire_msg *m)
{
	return BPFBUS_WIRE_HDR_LEN + m->name_len + m->group_len + m->dedup_len + m->attrs_len +
	       m->body_len;
}

/*
 * The checks on the fields of a message that both directions share, in enum
 * order (the header-level ones are decode's).
 */
static enum bpfbus_wire_err check_fields(const struct bb_wire_msg *m, uint16_t flags)
{
	if (m->kind != BPFBUS_WIRE_KIND_EVENT && m->kind != BPFBUS_WIRE_KIND_SNS)
		return BPFBUS_WIRE_ERR_KIND;
	if (flags & BPFBUS_WIRE_F_CRITICAL & ~BPFBUS_WIRE_F_KNOWN)
		return BPFBUS_WIRE_ERR_FLAGS;
	if (!m->name_len)
		return BPFBUS_WIRE_ERR_NAME_EMPTY;
	if (m->name_len > BPFBUS_WIRE_MAX_NAME)
		return BPFBUS_WIRE_ERR_NAME_LEN;
	if (m->group_len > BPFBUS_WIRE_MAX_GROUP)
		return BPFBUS_WIRE_ERR_GROUP_LEN;
	if (m->dedup_len > BPFBUS_WIRE_MAX_DEDUP)
		return BPFBUS_WIRE_ERR_DEDUP_LEN;
	if (m->attrs_len > BPFBUS_WIRE_MAX_ATTRS)
		return BPFBUS_WIRE_ERR_ATTRS_LEN;
	if (m->body_len > BPFBUS_WIRE_MAX_BODY)
		return BPFBUS_WIRE_ERR_BODY_LEN;
	if (!m->body_len)
		return BPFBUS_WIRE_ERR_BODY_EMPTY;
	return BPFBUS_WIRE_OK;
}

/* Checks on section contents, once all sections are known to be in bounds. */
static enum bpfbus_wire_err check_contents(const struct bb_wire_msg *m, uint16_t flags)
{
	if (!printable(m->name, m->name_len))
		return BPFBUS_WIRE_ERR_NAME_CHARS;
	if (!printable(m->group, m->group_len))
		return BPFBUS_WIRE_ERR_GROUP_CHARS;
	if (!printable(m->dedup, m->dedup_len))
		return BPFBUS_WIRE_ERR_DEDUP_CHARS;
	if ((flags & BPFBUS_WIRE_F_FIFO) && !m->group_len)
		return BPFBUS_WIRE_ERR_FIFO_GROUP;
	if (m->attrs_len && m->kind != BPFBUS_WIRE_KIND_SNS)
		return BPFBUS_WIRE_ERR_ATTRS_KIND;
	return BPFBUS_WIRE_OK;
}

static uint16_t encode_flags(const struct bb_wire_msg *m)
{
	uint16_t flags = m->flags;

	if (m->producer_id)
		flags |= BPFBUS_WIRE_F_PRODUCER;
	if (m->time_ns)
		flags |= BPFBUS_WIRE_F_TIME;
	return flags;
}

static void put_section(unsigned char **p, const char *s, size_t len)
{
	if (len)
		memcpy(*p, s, len);
	*p += len;
}

long bb_wire_encode(const struct bb_wire_msg *m, void *buf, size_t cap)
{
	uint16_t flags = encode_flags(m);
	enum bpfbus_wire_err err = check_fields(m, flags);

	if (!err)
		err = check_contents(m, flags);
	if (err)
		return -(long)err;
	size_t len = bb_wire_encoded_len(m);

	if (len > BPFBUS_WIRE_MAX_PAYLOAD)
		return -(long)BPFBUS_WIRE_ERR_TOO_BIG;
	if (len > cap)
		return -(long)BPFBUS_WIRE_ERR_NOSPACE;

	struct bpfbus_wire_hdr h = {
		.magic = htobe32(BPFBUS_WIRE_MAGIC),
		.version = BPFBUS_WIRE_VERSION,
		.kind = m->kind,
		.flags = htobe16(flags),
		.hdr_len = htobe16(BPFBUS_WIRE_HDR_LEN),
		.name_len = htobe16((uint16_t)m->name_len),
		.group_len = (uint8_t)m->group_len,
		.dedup_len = (uint8_t)m->dedup_len,
		.attrs_len = htobe16((uint16_t)m->attrs_len),
		.body_len = htobe32((uint32_t)m->body_len),
		.name_hash = htobe32(bb_wire_name_hash(m->name, m->name_len)),
		.producer_id = htobe64(m->producer_id),
		.seq = htobe64(m->seq),
		.time_ns = htobe64(m->time_ns),
	};
	unsigned char *p = buf;

	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	put_section(&p, m->name, m->name_len);
	put_section(&p, m->group, m->group_len);
	put_section(&p, m->dedup, m->dedup_len);
	put_section(&p, m->attrs, m->attrs_len);
	put_section(&p, m->body, m->body_len);
	return (long)len;
}

void bb_wire_set_seq(void *datagram, uint64_t seq, uint64_t time_ns)
{
	unsigned char *p = datagram;
	uint64_t v = htobe64(seq);

	memcpy(p + __builtin_offsetof(struct bpfbus_wire_hdr, seq), &v, sizeof(v));
	if (time_ns) {
		uint16_t flags;

		memcpy(&flags, p + __builtin_offsetof(struct bpfbus_wire_hdr, flags), 2);
		flags = htobe16(be16toh(flags) | BPFBUS_WIRE_F_TIME);
		memcpy(p + __builtin_offsetof(struct bpfbus_wire_hdr, flags), &flags, 2);
		v = htobe64(time_ns);
		memcpy(p + __builtin_offsetof(struct bpfbus_wire_hdr, time_ns), &v, sizeof(v));
	}
}

static bool attrs_ok(const char *s, size_t len)
{
	struct json_doc *doc = json_parse(s, len, true);
	const struct json_value *root = json_doc_root(doc);
	bool ok = !json_doc_error(doc) && root && root->type == JSON_OBJECT;

	for (size_t i = 0; ok && i < root->u.obj.n; i++) {
		const struct json_value *a = root->u.obj.members[i].value;
		const struct json_value *type = json_get(a, "Type");
		const struct json_value *val = json_get(a, "Value");

		ok = a->type == JSON_OBJECT && type && type->type == JSON_STRING && val &&
		     val->type == JSON_STRING;
	}
	json_doc_free(doc);
	return ok;
}

enum bpfbus_wire_err bb_wire_check_json(const struct bb_wire_msg *m)
{
	if (m->kind == BPFBUS_WIRE_KIND_EVENT && !json_is_object(m->body, m->body_len))
		return BPFBUS_WIRE_ERR_BODY_JSON;
	if (m->attrs_len && !attrs_ok(m->attrs, m->attrs_len))
		return BPFBUS_WIRE_ERR_ATTRS_JSON;
	return BPFBUS_WIRE_OK;
}

enum bpfbus_wire_err bb_wire_decode(const void *buf, size_t len, struct bb_wire_msg *m,
				    unsigned int opts)
{
	const unsigned char *p = buf;
	struct bpfbus_wire_hdr h;
	enum bpfbus_wire_err err;

	memset(m, 0, sizeof(*m));
	if (len > BPFBUS_WIRE_MAX_PAYLOAD)
		return BPFBUS_WIRE_ERR_TOO_BIG;
	if (len < 5)
		return BPFBUS_WIRE_ERR_SHORT;
	memset(&h, 0, sizeof(h));
	memcpy(&h, p, len < sizeof(h) ? len : sizeof(h));
	if (be32toh(h.magic) != BPFBUS_WIRE_MAGIC)
		return BPFBUS_WIRE_ERR_MAGIC;
	m->version = h.version;
	if (h.version != BPFBUS_WIRE_VERSION)
		return BPFBUS_WIRE_ERR_VERSION;
	if (len < sizeof(h))
		return BPFBUS_WIRE_ERR_TRUNC_HDR;

	m->kind = h.kind;
	m->flags = be16toh(h.flags);
	m->hdr_len = be16toh(h.hdr_len);
	m->name_len = be16toh(h.name_len);
	m->group_len = h.group_len;
	m->dedup_len = h.dedup_len;
	m->attrs_len = be16toh(h.attrs_len);
	m->body_len = be32toh(h.body_len);
	m->name_hash = be32toh(h.name_hash);
	m->producer_id = be64toh(h.producer_id);
	m->seq = be64toh(h.seq);
	m->time_ns = be64toh(h.time_ns);

	if (m->hdr_len < BPFBUS_WIRE_HDR_LEN || m->hdr_len > BPFBUS_WIRE_HDR_MAX || m->hdr_len % 8)
		return BPFBUS_WIRE_ERR_HDR_LEN;
	if (len < m->hdr_len)
		return BPFBUS_WIRE_ERR_TRUNC_HDR;
	err = check_fields(m, m->flags);
	if (err)
		return err;

	/* Every length is bounded now, so the sum cannot overflow. */
	size_t off = m->hdr_len;
	size_t end = off + m->name_len + m->group_len + m->dedup_len + m->attrs_len + m->body_len;

	if (end > len)
		return BPFBUS_WIRE_ERR_PAST_END;
	if (end < len)
		return BPFBUS_WIRE_ERR_TRAILING;
	m->name = (const char *)p + off;
	off += m->name_len;
	m->group = (const char *)p + off;
	off += m->group_len;
	m->dedup = (const char *)p + off;
	off += m->dedup_len;
	m->attrs = (const char *)p + off;
	off += m->attrs_len;
	m->body = (const char *)p + off;

	if (bb_wire_name_hash(m->name, m->name_len) != m->name_hash)
		return BPFBUS_WIRE_ERR_NAME_HASH;
	err = check_contents(m, m->flags);
	if (err)
		return err;
	if (opts & BB_WIRE_CHECK_JSON)
		return bb_wire_check_json(m);
	return BPFBUS_WIRE_OK;
}

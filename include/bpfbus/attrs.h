/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SNS message attributes in the kernel tables, shared by bpf/ and userspace/.
 *
 * A topic's ruleset holds MessageBody-scope and MessageAttributes-scope
 * policies side by side. Attribute-scope paths live in their own namespace:
 * the path of attribute "store" is the byte BPFBUS_ATTR_NS followed by
 * "store", so it never meets the body's "store" (a raw control byte cannot
 * start an unescaped JSON key, and the kernel hands keys with escapes to
 * userspace). The kernel scans the attributes section
 * ({"store": {"Type": "String", "Value": "x"}, ...}) with the body scanner,
 * starting from the namespace's hash, and finds in the path table, for each
 * attribute some policy reads:
 *
 *   NS "store"        id | BPFBUS_APATH_NAME   (a value right here is not
 *                                               SNS-shaped: VERIFY)
 *   NS "store.Type"   id | BPFBUS_APATH_TYPE
 *   NS "store.Value"  id | BPFBUS_APATH_VALUE
 *
 * where id is the ruleset's path id of NS "store". bpf/kattrs.h pairs each
 * Type with its Value and reports one leaf on id, typed by Type; the role
 * bits never reach the matcher. A path that plays two roles (an attribute
 * named "a.Type" next to an attribute "a") is marked with every role: the
 * kernel hands events that reach it to userspace.
 */
#ifndef BPFBUS_ATTRS_H
#define BPFBUS_ATTRS_H

/* The first byte of every attribute-scope path. */
#define BPFBUS_ATTR_NS 0x01

/* Role bits of a path table id (ids themselves are < BPFBUS_MAX_PATHS). */
#define BPFBUS_APATH_NAME (1u << 29)
#define BPFBUS_APATH_TYPE (1u << 30)
#define BPFBUS_APATH_VALUE (1u << 31)
#define BPFBUS_APATH_ROLES (BPFBUS_APATH_NAME | BPFBUS_APATH_TYPE | BPFBUS_APATH_VALUE)
#define BPFBUS_APATH_ID(x) ((x) & ~BPFBUS_APATH_ROLES)

/* Why the kernel handed an SNS datagram's attributes to userspace (VERIFY
 * bits beside enum bpfbus_scan_verify and enum km_verify). */
#define BPFBUS_VERIFY_ATTR_SHAPE (1u << 12) /* not one {"Type": string, "Value": string} */
#define BPFBUS_VERIFY_ATTR_TYPE (1u << 13) /* String.Array, or a Type with escapes */
#define BPFBUS_VERIFY_ATTR_NUMBER (1u << 14) /* a Number Value with whitespace or escapes */
/* no attributes, and an attribute-scope policy of exists:false conditions */
#define BPFBUS_VERIFY_ATTR_NONE (1u << 15)

/* Attributes the kernel reads: bytes of the section it copies beside the
 * body (their sum must stay under BPFBUS_SCAN_MAX_BODY; more is VERIFY). */
#define BPFBUS_SCAN_MAX_ATTRS 2048

#endif /* BPFBUS_ATTRS_H */

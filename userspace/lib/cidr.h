/* SPDX-License-Identifier: BSD-2-Clause */
/* IP address and CIDR parsing with EventBridge's error texts. */
#ifndef BPFBUS_CIDR_H
#define BPFBUS_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Parse a textual IPv4 (dotted quad) or IPv6 address. IPv4 addresses are
 * returned in addr[0..3]. Returns false if @s is not an address.
 */
bool ip_parse(const char *s, size_t len, uint8_t addr[16], bool *v6);

/*
 * ip_parse for an address in a pattern: as event-ruler's CIDR class, IPv6
 * text may hold only hex digits and colons, so "::ffff:1.2.3.4" is no
 * address there (a plain string, or a "Nonstandard IP address" in a cidr).
 */
bool ip_parse_pattern(const char *s, size_t len, uint8_t addr[16], bool *v6);

/*
 * Parse "addr/bits" into the address range it covers. As in EventBridge, the
 * range starts at the address as written (host bits are not cleared) and
 * ends with all host bits set. On error writes EventBridge's reason.
 */
bool cidr_parse(const char *s, size_t len, uint8_t lo[16], uint8_t hi[16],
		bool *v6, char *reason, size_t reason_len);

/* Zero the bits of @addr past @bits. */
void cidr_mask(uint8_t addr[16], uint8_t bits);

/*
 * Split the range [lo, hi] of @alen-byte addresses into aligned prefixes,
 * calling @fn(arg, prefix, bits) for each (at most 2 * 8 * alen of them).
 */
void range_to_prefixes(const uint8_t lo[16], const uint8_t hi[16], size_t alen,
		       void (*fn)(void *arg, const uint8_t *prefix,
				  uint8_t bits),
		       void *arg);

#endif

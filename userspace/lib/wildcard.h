/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * EventBridge wildcard patterns: '*' matches any run of characters, "\*" is
 * a literal star and "\\" a literal backslash.
 */
#ifndef BPFBUS_WILDCARD_H
#define BPFBUS_WILDCARD_H

#include <stdbool.h>
#include <stddef.h>

/* Validate a pattern; on error writes EventBridge's reason. */
bool wildcard_validate(const char *p, size_t len, char *reason,
		       size_t reason_len);

/* True when @s matches the (validated) pattern @p. */
bool wildcard_match(const char *p, size_t plen, const char *s, size_t slen);

/*
 * The largest number of pattern positions a matcher can be in at once for
 * some input: EventBridge refuses patterns where this grows too large.
 */
size_t wildcard_complexity(const char *p, size_t len);

/* True when the pattern has no unescaped '*' (it is an exact match). */
bool wildcard_is_literal(const char *p, size_t len);

#endif

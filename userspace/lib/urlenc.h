/* SPDX-License-Identifier: BSD-2-Clause */
/* Percent-encoding of URLs and forms, shared by the HTTP listener and SigV4. */
#ifndef BPFBUS_LIB_URLENC_H
#define BPFBUS_LIB_URLENC_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Decode @len bytes of @s ("%41" is 'A'; '+' is a space when @plus_is_space,
 * as in forms). Returns a NUL-terminated copy (which may hold NULs: see
 * *out_len), or NULL when a '%' is not followed by two hex digits.
 */
char *pct_decode(const char *s, size_t len, bool plus_is_space, size_t *out_len);

#endif

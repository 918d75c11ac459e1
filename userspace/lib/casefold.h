/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Case folding for equals-ignore-case: ASCII, Latin-1, Latin Extended-A,
 * Greek and Cyrillic upper-case letters map to lower case; everything else,
 * including invalid UTF-8, passes through byte for byte.
 */
#ifndef BPFBUS_CASEFOLD_H
#define BPFBUS_CASEFOLD_H

#include <stddef.h>

/* Fold @len bytes of @in into @out (room for @len bytes); returns out length. */
size_t casefold(const char *in, size_t len, char *out);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/* Keyword arguments, bpftool style: any unambiguous prefix of a keyword. */
#ifndef BPFBUS_CLI_ARGS_H
#define BPFBUS_CLI_ARGS_H

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* @arg is a non-empty prefix of @word ("gen" of "generic"). */
static inline bool is_prefix(const char *arg, const char *word)
{
	size_t n = strlen(arg);

	return n && !strncmp(arg, word, n);
}

/* Parse an unsigned decimal number in [min, max]; false when it is not one. */
static inline bool parse_num(const char *s, unsigned long long min, unsigned long long max,
			     unsigned long long *out)
{
	char *end;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return !errno && !*end && *out >= min && *out <= max;
}

#endif

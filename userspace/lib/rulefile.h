/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Rule files: one JSON object {"name": pattern, ...}, the format of the
 * benchmark workloads and of `bpfbus pattern match`. Patterns keep their
 * number spellings (they are re-serialised from the parsed document).
 */
#ifndef BPFBUS_RULEFILE_H
#define BPFBUS_RULEFILE_H

#include <stddef.h>

struct rulefile_entry {
	char *name;
	char *pattern; /* JSON text */
	size_t pattern_len;
};

struct rulefile {
	struct rulefile_entry *rules;
	size_t n;
};

/* Parse @len bytes. Returns 0, or -1 with a message in @err. */
int rulefile_parse(const char *text, size_t len, struct rulefile *out,
		   char *err, size_t err_len);
void rulefile_free(struct rulefile *rf);

#endif

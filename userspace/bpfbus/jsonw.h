/* SPDX-License-Identifier: BSD-2-Clause */
/* A small streaming JSON writer for CLI output (-j compact, -p pretty). */
#ifndef BPFBUS_CLI_JSONW_H
#define BPFBUS_CLI_JSONW_H

#include "strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JW_MAX_DEPTH 16

struct jw {
	struct strbuf sb;
	bool pretty;
	int depth;
	bool first[JW_MAX_DEPTH];
};

void jw_init(struct jw *w, bool pretty);
/* key may be NULL inside arrays and at the top level. */
void jw_open(struct jw *w, const char *key, char bracket); /* '{' or '[' */
void jw_close(struct jw *w, char bracket); /* '}' or ']' */
void jw_u64(struct jw *w, const char *key, uint64_t v);
void jw_str(struct jw *w, const char *key, const char *s);
void jw_strn(struct jw *w, const char *key, const char *s, size_t len);
void jw_bool(struct jw *w, const char *key, bool v);
/* Raw JSON text as a value (must be valid JSON). */
void jw_raw(struct jw *w, const char *key, const char *s, size_t len);
/* Print to stdout with a newline and reset. */
void jw_flush(struct jw *w);
void jw_free(struct jw *w);

#endif

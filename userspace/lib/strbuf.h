/* SPDX-License-Identifier: BSD-2-Clause */
/* Growable byte buffer, always NUL-terminated. Allocation failure aborts. */
#ifndef BPFBUS_STRBUF_H
#define BPFBUS_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
};

#define STRBUF_INIT {NULL, 0, 0}

void sb_reserve(struct strbuf *sb, size_t extra);
void sb_add(struct strbuf *sb, const void *data, size_t len);
void sb_addc(struct strbuf *sb, char c);
void sb_adds(struct strbuf *sb, const char *s);
void sb_printf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sb_reset(struct strbuf *sb);
void sb_free(struct strbuf *sb);

/* A whole file ("-": stdin) as a NUL-terminated buffer; NULL with errno set. */
char *read_whole_file(const char *path, size_t *len);

/* malloc/calloc/realloc that abort on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrndup(const char *s, size_t n);

#endif

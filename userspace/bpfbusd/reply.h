/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Writing control-socket answers ({"ok": true, "result": ...} or
 * {"ok": false, "error": CODE, "message": ...}) and reading request
 * arguments, for every file that serves control ops (docs/daemon.md).
 */
#ifndef BPFBUSD_REPLY_H
#define BPFBUSD_REPLY_H

#include <stdbool.h>

struct json_value;
struct strbuf;

/* Error codes: EventBridge's where it has one. Clients exit 2 for the invalid ones. */
#define E_VALIDATION "ValidationException"
#define E_PATTERN "InvalidEventPatternException"
#define E_NOT_FOUND "ResourceNotFoundException"
#define E_EXISTS "ResourceAlreadyExistsException"
#define E_INTERNAL "InternalException"

/* Replace @out with a failure; returns 0 (the request was answered). */
int bbd_fail(struct strbuf *out, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* {"ok":true,"result": -- the caller writes the result and the closing brace */
void bbd_ok_open(struct strbuf *out);
/* {"ok":true,"result":{}}; returns 0 */
int bbd_ok_empty(struct strbuf *out);
/* "key":"value" (escaped), after a comma when @comma */
void bbd_add_str(struct strbuf *out, const char *key, const char *val, bool comma);
/* A string argument (NULL when absent); -1 (with the answer written) when not a string. */
int bbd_arg_str(const struct json_value *req, const char *key, const char **val,
		struct strbuf *out);
/* As bbd_arg_str, and -1 (answered) when absent. */
int bbd_need_str(const struct json_value *req, const char *key, const char **val,
		 struct strbuf *out);
/*
 * A whole-number argument in [min, max]; *@val keeps its value when absent.
 * -1 (answered with ValidationException) when not such a number.
 */
int bbd_arg_int(const struct json_value *req, const char *key, long long min, long long max,
		long long *val, struct strbuf *out);

#endif

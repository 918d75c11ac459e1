/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A small JSON document parser for control-plane documents (patterns,
 * policies, batch lines, attributes). Events are not parsed with it: the
 * matcher scans them in one pass (event_scan.c).
 *
 * Strings are unescaped to UTF-8 (may contain NUL, so lengths are kept);
 * numbers keep their source spelling next to their double value; duplicate
 * object keys keep the first key's position and the last value, which is how
 * EventBridge treats a pattern that repeats a key. Syntax errors are worded
 * like Jackson's (the parser behind EventBridge and SNS), because their
 * messages are part of the AWS errors we reproduce.
 */
#ifndef BPFBUS_JSON_H
#define BPFBUS_JSON_H

#include <stdbool.h>
#include <stddef.h>

enum json_type {
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_value;

struct json_member {
	const char *key;
	size_t key_len;
	struct json_value *value;
};

struct json_value {
	enum json_type type;
	union {
		struct {
			const char *s;
			size_t len;
		} str;
		struct {
			double d;
			const char *raw; /* source spelling, NUL-terminated */
			size_t raw_len;
			bool is_int; /* no '.', 'e' or 'E' in the spelling */
		} num;
		struct {
			struct json_value **items;
			size_t n;
		} arr;
		struct {
			struct json_member *members;
			size_t n;
		} obj;
	} u;
};

struct json_doc;

/*
 * Parse @len bytes. Returns a document (even on error: check json_doc_error).
 * Content after the first complete value is ignored unless @strict_trailing,
 * matching the streaming parsers AWS uses for patterns.
 */
struct json_doc *json_parse(const char *text, size_t len, bool strict_trailing);
struct json_parse_opts {
	bool strict_trailing; /* content after the value is an error */
	bool all_keys;	      /* see json_parse_all_keys */
	/* Jackson's description of the text, for the errors that locate an
	 * unclosed or wrongly closed container ("[Source: %s; line: L,
	 * column: C]"): (String)"..." as EventBridge shows it, or
	 * JSON_SOURCE_REDACTED as SNS does; NULL leaves the location out */
	const char *source;
};

/* What Jackson 2.16+ prints for the source by default (SNS's parser). */
#define JSON_SOURCE_REDACTED "REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled)"

struct json_doc *json_parse_with(const char *text, size_t len, const struct json_parse_opts *o);

/*
 * json_parse (trailing content ignored), except that an object keeps every
 * member in document order, a repeated key included: EventBridge's pattern
 * compiler reads the pattern as a stream and acts on each occurrence (a
 * repeated "$or" applies both, a repeated nested object adds both sets of
 * fields, an invalid first value is reported). json_get finds the first.
 */
struct json_doc *json_parse_all_keys(const char *text, size_t len);
void json_doc_free(struct json_doc *doc);
/* NULL when the parse succeeded; otherwise a Jackson-style message. */
const char *json_doc_error(const struct json_doc *doc);
struct json_value *json_doc_root(const struct json_doc *doc);

/* Object member lookup by key (NUL-free key); NULL when absent. */
struct json_value *json_get(const struct json_value *obj, const char *key);
/* Is @text (strictly, nothing after it) one JSON object? The parser's grammar,
 * checked without building the document (about 3x faster than json_parse). */
bool json_is_object(const char *text, size_t len);

/* Append the JSON serialisation of @v (compact, numbers as spelled). */
struct strbuf;
void json_write(struct strbuf *sb, const struct json_value *v);
/* Append @s as a quoted JSON string with escapes. */
void json_write_string(struct strbuf *sb, const char *s, size_t len);

/* Decode one JSON string body (\u escapes included) (between the quotes) into out
 * (at least len bytes). Returns the decoded length or -1 on a bad escape. */
long json_unescape(const char *in, size_t len, char *out);

#endif

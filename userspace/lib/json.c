// SPDX-License-Identifier: BSD-2-Clause
/*
 * Recursive-descent JSON parser into an arena-allocated tree. See json.h for
 * why the error texts imitate Jackson.
 */
#include "json.h"
#include "bpfbus/hexdigit.h"
#include "strbuf.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 1000
#define ARENA_CHUNK 16384

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	char data[];
};

struct json_doc {
	struct arena_chunk *chunks;
	struct json_value *root;
	char *error;
};

struct parser {
	struct json_doc *doc;
	const char *p, *end, *start;
	int depth;
	/* check the grammar only (json_valid): the same code path decides
	 * what is accepted, but no value is built or allocated */
	bool check_only;
	bool all_keys; /* keep duplicate keys as members of their own */
	const char *source; /* Jackson's description of the text, for locations */
};


static void *arena_alloc(struct json_doc *doc, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct arena_chunk *c = doc->chunks;

	if (!c || c->cap - c->used < n) {
		size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;

		c = xmalloc(sizeof(*c) + cap);
		c->cap = cap;
		c->used = 0;
		c->next = doc->chunks;
		doc->chunks = c;
	}
	void *r = c->data + c->used;

	c->used += n;
	return r;
}

static bool fail(struct parser *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool fail(struct parser *ps, const char *fmt, ...)
{
	if (ps->doc->error)
		return false;
	va_list ap;
	char buf[4096];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ps->doc->error = xstrndup(buf, strlen(buf));
	return false;
}

/* Jackson names a character as ('x' (code 120)). */
static void describe_char(const char *p, const char *end, char *out, size_t n)
{
	unsigned char c = (unsigned char)*p;

	if (c < 32)
		snprintf(out, n, "(CTRL-CHAR, code %u)", c);
	else if (c < 128)
		snprintf(out, n, "'%c' (code %u)", c, c);
	else {
		/* decode one UTF-8 sequence for the code point */
		uint32_t cp = c;
		int extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
		cp &= extra == 3 ? 0x07 : extra == 2 ? 0x0f : 0x1f;
		for (int i = 1; i <= extra && p + i < end; i++)
			cp = (cp << 6) | ((unsigned char)p[i] & 0x3f);
		snprintf(out, n, "'%.*s' (code %u / 0x%x)", extra + 1, p, cp,
			 cp);
	}
}

static bool unexpected(struct parser *ps, const char *expecting)
{
	char d[64];

	if (ps->p >= ps->end)
		return fail(ps, "Unexpected end-of-input: %s", expecting);
	describe_char(ps->p, ps->end, d, sizeof(d));
	return fail(ps, "Unexpected character (%s): %s", d, expecting);
}

/*
 * Jackson's location of byte @at: " (<what> [Source: ...; line: L, column:
 * C])", the column counted in UTF-16 units from 1, a line ending at \n, \r
 * or \r\n; nothing when the caller gave no source description.
 */
static void location(const struct parser *ps, const char *what, const char *at, char *out, size_t n)
{
	unsigned line = 1, col = 1;

	out[0] = '\0';
	if (!ps->source)
		return;
	for (const char *q = ps->start; q < at; q++) {
		unsigned char c = (unsigned char)*q;

		if (c == '\n' || (c == '\r' && !(q + 1 < at && q[1] == '\n'))) {
			line++;
			col = 1;
		} else if (c != '\r' && (c & 0xc0) != 0x80) {
			col += c >= 0xf0 ? 2 : 1; /* a surrogate pair is two units */
		}
	}
	snprintf(out, n, " (%s [Source: %s; line: %u, column: %u])", what, ps->source, line, col);
}

/* End of input inside a container opened at @open ('[' or '{'). */
static bool eof_in(struct parser *ps, const char *open)
{
	char loc[3600]; /* a quoted source of 500 UTF-16 units, escaped */

	location(ps, "start marker at", open, loc, sizeof(loc));
	return fail(ps, "Unexpected end-of-input: expected close marker for %s%s",
		    *open == '[' ? "Array" : "Object", loc);
}

/* A ']' or '}' that closes the wrong container (opened at @open). */
static bool mismatched_close(struct parser *ps, const char *open)
{
	char loc[3600], what[32];

	snprintf(what, sizeof(what), "for %s starting at", *open == '[' ? "Array" : "Object");
	location(ps, what, open, loc, sizeof(loc));
	return fail(ps, "Unexpected close marker '%c': expected '%c'%s", *ps->p,
		    *open == '[' ? ']' : '}', loc);
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end) {
		char c = *ps->p;

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		ps->p++;
	}
}

static bool is_token_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;
}

static bool bad_token(struct parser *ps)
{
	const char *s = ps->p, *e = s;

	while (e < ps->end && is_token_char((unsigned char)*e) && e - s < 256)
		e++;
	if (e == s)
		return unexpected(ps, "expected a valid value (JSON String, "
				      "Number, Array, Object or token 'null', "
				      "'true' or 'false')");
	return fail(ps,
		    "Unrecognized token '%.*s': was expecting (JSON String, "
		    "Number, Array, Object or token 'null', 'true' or 'false')",
		    (int)(e - s), s);
}

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static int read_hex4(const char *p, const char *end)
{
	if (end - p < 4)
		return -1;
	int v = 0;

	for (int i = 0; i < 4; i++) {
		int h = bb_hex_digit((unsigned char)p[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/*
 * Decode escapes. Surrogate pairs become one code point; a lone surrogate is
 * kept as its 3-byte encoding (as Java strings would carry it), so equal
 * escapes still compare equal.
 */
long json_unescape(const char *in, size_t len, char *out)
{
	const char *p = in, *end = in + len;
	char *o = out;

	while (p < end) {
		if (*p != '\\') {
			*o++ = *p++;
			continue;
		}
		if (++p >= end)
			return -1;
		char c = *p++;

		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			int v = read_hex4(p, end);

			if (v < 0)
				return -1;
			p += 4;
			uint32_t cp = (uint32_t)v;

			if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 &&
			    p[0] == '\\' && p[1] == 'u') {
				int lo = read_hex4(p + 2, end);

				if (lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					     ((uint32_t)lo - 0xdc00);
					p += 6;
				}
			}
			o += put_utf8(o, cp);
			break;
		}
		default:
			return -1;
		}
	}
	return o - out;
}

static struct json_value *new_value(struct parser *ps, enum json_type t)
{
	struct json_value *v = arena_alloc(ps->doc, sizeof(*v));

	memset(v, 0, sizeof(*v));
	v->type = t;
	return v;
}

/* Parse a string at ps->p (which is at the opening quote). */
static bool parse_string(struct parser *ps, const char **out, size_t *out_len)
{
	const char *s = ++ps->p;
	bool has_escape = false;

	while (ps->p < ps->end) {
		unsigned char c = (unsigned char)*ps->p;

		if (c == '"')
			break;
		if (c == '\\') {
			has_escape = true;
			if (ps->p + 1 >= ps->end)
				break;
			char e = ps->p[1];

			if (!strchr("\"\\/bfnrtu", e)) {
				char d[64];

				describe_char(ps->p + 1, ps->end, d, sizeof(d));
				return fail(ps, "Unrecognized character escape %s",
					    d);
			}
			if (e == 'u' && read_hex4(ps->p + 2, ps->end) < 0)
				return fail(ps, "Unexpected character in "
						"character escape sequence: "
						"expected a hex-digit");
			ps->p += 2;
			continue;
		}
		if (c < 32) {
			return fail(ps,
				    "Illegal unquoted character ((CTRL-CHAR, "
				    "code %u)): has to be escaped using "
				    "backslash to be included in string value",
				    c);
		}
		ps->p++;
	}
	if (ps->p >= ps->end)
		return fail(ps, "Unexpected end-of-input: was expecting closing "
				"quote for a string value");
	size_t raw = (size_t)(ps->p - s);

	if (ps->check_only) {
		*out = NULL;
		*out_len = 0;
		if (has_escape) { /* the escapes must decode, as below */
			char *tmp = xmalloc(raw + 1);
			long n = json_unescape(s, raw, tmp);

			free(tmp);
			if (n < 0)
				return fail(ps, "Invalid escape in string value");
		}
		ps->p++; /* closing quote */
		return true;
	}
	char *buf = arena_alloc(ps->doc, raw + 1);

	if (has_escape) {
		long n = json_unescape(s, raw, buf);

		if (n < 0)
			return fail(ps, "Invalid escape in string value");
		buf[n] = '\0';
		*out_len = (size_t)n;
	} else {
		memcpy(buf, s, raw);
		buf[raw] = '\0';
		*out_len = raw;
	}
	*out = buf;
	ps->p++; /* closing quote */
	return true;
}

static bool parse_number(struct parser *ps, struct json_value **out)
{
	const char *s = ps->p;
	const char *p = s;
	bool is_int = true;

	if (p < ps->end && *p == '-')
		p++;
	if (p >= ps->end || *p < '0' || *p > '9') {
		ps->p = p;
		if (p < ps->end && s != p)
			return unexpected(ps, "expected digit (0-9) to follow "
					      "minus sign, for valid numeric "
					      "value");
		return bad_token(ps);
	}
	if (*p == '0' && p + 1 < ps->end && p[1] >= '0' && p[1] <= '9')
		return fail(ps, "Invalid numeric value: Leading zeroes not "
				"allowed");
	while (p < ps->end && *p >= '0' && *p <= '9')
		p++;
	if (p < ps->end && *p == '.') {
		is_int = false;
		p++;
		if (p >= ps->end || *p < '0' || *p > '9') {
			ps->p = p;
			return unexpected(ps, "Decimal point not followed by a "
					      "digit");
		}
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		is_int = false;
		p++;
		if (p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= ps->end || *p < '0' || *p > '9') {
			ps->p = p;
			return unexpected(ps, "Exponent indicator not followed "
					      "by a digit");
		}
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (ps->check_only) {
		ps->p = p;
		*out = NULL;
		return true;
	}
	struct json_value *v = new_value(ps, JSON_NUMBER);
	size_t n = (size_t)(p - s);
	char *raw = arena_alloc(ps->doc, n + 1);

	memcpy(raw, s, n);
	raw[n] = '\0';
	v->u.num.raw = raw;
	v->u.num.raw_len = n;
	v->u.num.d = strtod(raw, NULL);
	v->u.num.is_int = is_int;
	ps->p = p;
	*out = v;
	return true;
}

static bool parse_value(struct parser *ps, struct json_value **out);

static bool depth_enter(struct parser *ps)
{
	if (++ps->depth > JSON_MAX_DEPTH)
		return fail(ps,
			    "Document nesting depth (%d) exceeds the maximum "
			    "allowed (%d, from "
			    "`StreamReadConstraints.getMaxNestingDepth()`)",
			    ps->depth, JSON_MAX_DEPTH);
	return true;
}

/*
 * Where an entry is due inside a container opened at @open, Jackson reports
 * the end of input as the container's, or, after a comma, as "within/between"
 * its entries; right after '[' a '}' closes the wrong container. False (the
 * error set) when one of these applies.
 */
static bool entry_due(struct parser *ps, const char *open, bool after_comma)
{
	skip_ws(ps);
	if (ps->p >= ps->end) {
		if (after_comma)
			return fail(ps, "Unexpected end-of-input within/between %s entries",
				    *open == '[' ? "Array" : "Object");
		return eof_in(ps, open);
	}
	if (!after_comma && *open == '[' && *ps->p == '}')
		return mismatched_close(ps, open);
	if (!after_comma && *open == '{' && *ps->p == ']')
		return mismatched_close(ps, open);
	return true;
}

/* After an entry: 1 for a comma, 0 for the container's close, -1 on error. */
static int after_entry(struct parser *ps, const char *open)
{
	char close = *open == '[' ? ']' : '}';

	skip_ws(ps);
	if (ps->p >= ps->end) {
		eof_in(ps, open);
		return -1;
	}
	if (*ps->p == ',') {
		ps->p++;
		return 1;
	}
	if (*ps->p == close) {
		ps->p++;
		return 0;
	}
	if (*ps->p == ']' || *ps->p == '}')
		mismatched_close(ps, open);
	else
		unexpected(ps, *open == '[' ? "was expecting comma to separate Array entries"
					    : "was expecting comma to separate Object entries");
	return -1;
}

static bool parse_array(struct parser *ps, struct json_value **out)
{
	if (!depth_enter(ps))
		return false;
	const char *open = ps->p++;
	size_t n = 0, cap = 4;
	struct json_value **items = ps->check_only ? NULL : xmalloc(cap * sizeof(*items));
	bool ok = false;

	if (!entry_due(ps, open, false))
		goto done;
	if (*ps->p == ']') {
		ps->p++;
		ok = true;
		goto done;
	}
	/* n stays 0 when only checking: "first" tells entries after a comma */
	for (bool first = true;; first = false) {
		struct json_value *item;

		if (!first && !entry_due(ps, open, true))
			goto done;
		if (!parse_value(ps, &item))
			goto done;
		if (!ps->check_only) {
			if (n == cap)
				items = xrealloc(items, (cap *= 2) * sizeof(*items));
			items[n++] = item;
		}
		int next = after_entry(ps, open);

		if (next < 0)
			goto done;
		if (next == 0) {
			ok = true;
			break;
		}
	}
done:
	if (ok && ps->check_only) {
		*out = NULL;
	} else if (ok) {
		struct json_value *v = new_value(ps, JSON_ARRAY);

		v->u.arr.items = arena_alloc(ps->doc, n * sizeof(*items) + 1);
		memcpy(v->u.arr.items, items, n * sizeof(*items));
		v->u.arr.n = n;
		*out = v;
	}
	free(items);
	ps->depth--;
	return ok;
}

/*
 * Duplicate-key detection: a linear scan for small objects, a hash index
 * once an object grows (a rule file is one object with 100,000 keys).
 */
#define INDEX_FROM 16

struct member_index {
	uint32_t *slots; /* member index + 1, 0 = empty */
	size_t cap;
};

static uint64_t key_hash(const char *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 0x100000001b3ull;
	return h;
}

static void index_insert(struct member_index *idx,
			 const struct json_member *m, size_t i)
{
	size_t mask = idx->cap - 1;
	size_t j = key_hash(m[i].key, m[i].key_len) & mask;

	while (idx->slots[j])
		j = (j + 1) & mask;
	idx->slots[j] = (uint32_t)i + 1;
}

/* Called after member n-1 was appended. */
static void index_member(struct member_index *idx, const struct json_member *m,
			 size_t n)
{
	if (n < INDEX_FROM)
		return;
	if (n * 2 > idx->cap) {
		free(idx->slots);
		idx->cap = idx->cap ? idx->cap * 4 : 64;
		idx->slots = xcalloc(idx->cap, sizeof(uint32_t));
		for (size_t i = 0; i < n; i++)
			index_insert(idx, m, i);
		return;
	}
	index_insert(idx, m, n - 1);
}

static size_t find_member(const struct member_index *idx,
			  const struct json_member *m, size_t n,
			  const char *key, size_t len)
{
	if (!idx->cap) {
		for (size_t i = 0; i < n; i++)
			if (m[i].key_len == len && !memcmp(m[i].key, key, len))
				return i;
		return n;
	}
	size_t mask = idx->cap - 1;

	for (size_t j = key_hash(key, len) & mask; idx->slots[j];
	     j = (j + 1) & mask) {
		const struct json_member *c = &m[idx->slots[j] - 1];

		if (c->key_len == len && !memcmp(c->key, key, len))
			return idx->slots[j] - 1;
	}
	return n;
}

static bool parse_object(struct parser *ps, struct json_value **out)
{
	if (!depth_enter(ps))
		return false;
	const char *open = ps->p++;
	size_t n = 0, cap = 4;
	struct json_member *m = ps->check_only ? NULL : xmalloc(cap * sizeof(*m));
	struct member_index idx = {0};
	bool ok = false;

	if (!entry_due(ps, open, false))
		goto done;
	if (*ps->p == '}') {
		ps->p++;
		ok = true;
		goto done;
	}
	for (bool first = true;; first = false) {
		const char *key;
		size_t key_len;
		struct json_value *val;

		if (!first && !entry_due(ps, open, true))
			goto done;
		if (*ps->p != '"') {
			unexpected(ps, "was expecting double-quote to start "
				       "field name");
			goto done;
		}
		if (!parse_string(ps, &key, &key_len))
			goto done;
		/* the end of input anywhere up to the value is "within/between" */
		if (!entry_due(ps, open, true))
			goto done;
		if (*ps->p != ':') {
			unexpected(ps, "was expecting a colon to separate field "
				       "name and value");
			goto done;
		}
		ps->p++;
		if (!entry_due(ps, open, true) || !parse_value(ps, &val))
			goto done;
		size_t i = ps->check_only || ps->all_keys ? n : find_member(&idx, m, n, key, key_len);

		if (ps->check_only) {
			/* duplicate keys are accepted (last wins): nothing to keep */
		} else if (i < n) {
			m[i].value = val; /* duplicate key: last value wins */
		} else {
			if (n == cap)
				m = xrealloc(m, (cap *= 2) * sizeof(*m));
			m[n++] = (struct json_member){key, key_len, val};
			index_member(&idx, m, n);
		}
		int next = after_entry(ps, open);

		if (next < 0)
			goto done;
		if (next == 0) {
			ok = true;
			break;
		}
	}
done:
	if (ok && ps->check_only) {
		*out = NULL;
	} else if (ok) {
		struct json_value *v = new_value(ps, JSON_OBJECT);

		v->u.obj.members = arena_alloc(ps->doc, n * sizeof(*m) + 1);
		memcpy(v->u.obj.members, m, n * sizeof(*m));
		v->u.obj.n = n;
		*out = v;
	}
	free(m);
	free(idx.slots);
	ps->depth--;
	return ok;
}

static bool match_word(struct parser *ps, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n))
		return false;
	if (ps->p + n < ps->end && is_token_char((unsigned char)ps->p[n]))
		return false;
	ps->p += n;
	return true;
}

static bool parse_value(struct parser *ps, struct json_value **out)
{
	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "No content to map due to end-of-input");
	char c = *ps->p;

	switch (c) {
	case '{':
		return parse_object(ps, out);
	case '[':
		return parse_array(ps, out);
	case '"': {
		if (ps->check_only) {
			const char *str;
			size_t len;

			*out = NULL;
			return parse_string(ps, &str, &len);
		}
		struct json_value *v = new_value(ps, JSON_STRING);

		if (!parse_string(ps, &v->u.str.s, &v->u.str.len))
			return false;
		*out = v;
		return true;
	}
	case '-':
	case '0' ... '9':
		return parse_number(ps, out);
	case ']':
	case '}':
		/* Jackson's nextToken() answers a closer where a value is due */
		return unexpected(ps, "expected a value");
	case ',':
	case ':':
		return unexpected(ps, "expected a valid value (JSON String, "
				      "Number, Array, Object or token 'null', "
				      "'true' or 'false')");
	case '\'':
		return unexpected(ps, "expected a valid value (JSON String, "
				      "Number, Array, Object or token 'null', "
				      "'true' or 'false')");
	default:
		break;
	}
	enum json_type lit = match_word(ps, "null")    ? JSON_NULL
			     : match_word(ps, "true")  ? JSON_TRUE
			     : match_word(ps, "false") ? JSON_FALSE
						       : JSON_OBJECT;

	if (lit != JSON_OBJECT) {
		*out = ps->check_only ? NULL : new_value(ps, lit);
		return true;
	}
	return bad_token(ps);
}

struct json_doc *json_parse_with(const char *text, size_t len, const struct json_parse_opts *o)
{
	struct json_doc *doc = xcalloc(1, sizeof(*doc));
	struct parser ps = { .doc = doc,
			     .p = text,
			     .end = text + len,
			     .start = text,
			     .all_keys = o->all_keys,
			     .source = o->source };
	bool strict_trailing = o->strict_trailing;

	if (parse_value(&ps, &doc->root) && strict_trailing) {
		skip_ws(&ps);
		if (ps.p < ps.end)
			unexpected(&ps, "expected end of input");
	}
	if (doc->error)
		doc->root = NULL;
	return doc;
}

struct json_doc *json_parse(const char *text, size_t len, bool strict_trailing)
{
	return json_parse_with(text, len,
			       &(struct json_parse_opts){ .strict_trailing = strict_trailing });
}

struct json_doc *json_parse_all_keys(const char *text, size_t len)
{
	return json_parse_with(text, len, &(struct json_parse_opts){ .all_keys = true });
}

void json_doc_free(struct json_doc *doc)
{
	if (!doc)
		return;
	struct arena_chunk *c = doc->chunks;

	while (c) {
		struct arena_chunk *n = c->next;

		free(c);
		c = n;
	}
	free(doc->error);
	free(doc);
}

const char *json_doc_error(const struct json_doc *doc)
{
	return doc->error;
}

struct json_value *json_doc_root(const struct json_doc *doc)
{
	return doc->root;
}

struct json_value *json_get(const struct json_value *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	size_t n = strlen(key);

	for (size_t i = 0; i < obj->u.obj.n; i++) {
		const struct json_member *m = &obj->u.obj.members[i];

		if (m->key_len == n && !memcmp(m->key, key, n))
			return m->value;
	}
	return NULL;
}

void json_write_string(struct strbuf *sb, const char *s, size_t len)
{
	sb_addc(sb, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"': sb_add(sb, "\\\"", 2); break;
		case '\\': sb_add(sb, "\\\\", 2); break;
		case '\n': sb_add(sb, "\\n", 2); break;
		case '\r': sb_add(sb, "\\r", 2); break;
		case '\t': sb_add(sb, "\\t", 2); break;
		case '\b': sb_add(sb, "\\b", 2); break;
		case '\f': sb_add(sb, "\\f", 2); break;
		default:
			if (c < 0x20)
				sb_printf(sb, "\\u%04x", c);
			else
				sb_addc(sb, (char)c);
		}
	}
	sb_addc(sb, '"');
}

void json_write(struct strbuf *sb, const struct json_value *v)
{
	switch (v->type) {
	case JSON_NULL: sb_adds(sb, "null"); break;
	case JSON_TRUE: sb_adds(sb, "true"); break;
	case JSON_FALSE: sb_adds(sb, "false"); break;
	case JSON_NUMBER: sb_add(sb, v->u.num.raw, v->u.num.raw_len); break;
	case JSON_STRING: json_write_string(sb, v->u.str.s, v->u.str.len); break;
	case JSON_ARRAY:
		sb_addc(sb, '[');
		for (size_t i = 0; i < v->u.arr.n; i++) {
			if (i)
				sb_addc(sb, ',');
			json_write(sb, v->u.arr.items[i]);
		}
		sb_addc(sb, ']');
		break;
	case JSON_OBJECT:
		sb_addc(sb, '{');
		for (size_t i = 0; i < v->u.obj.n; i++) {
			const struct json_member *m = &v->u.obj.members[i];

			if (i)
				sb_addc(sb, ',');
			json_write_string(sb, m->key, m->key_len);
			sb_addc(sb, ':');
			json_write(sb, m->value);
		}
		sb_addc(sb, '}');
		break;
	}
}

bool json_is_object(const char *text, size_t len)
{
	/* the parser's own grammar, without building the document: a doc only
	 * holds the error message if there is one */
	struct json_doc doc = {0};
	struct parser ps = {.doc = &doc, .p = text, .end = text + len, .start = text,
			    .check_only = true};
	struct json_value *root;
	bool ok = parse_value(&ps, &root);

	if (ok) {
		skip_ws(&ps);
		ok = ps.p >= ps.end;
	}
	free(doc.error);
	if (!ok)
		return false;
	while (len && (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r'))
		text++, len--;
	return len && *text == '{';
}

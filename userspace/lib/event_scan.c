// SPDX-License-Identifier: BSD-2-Clause
#include "bpfbus/scan.h" /* the path hash, one definition for both engines */
#include "event_scan.h"
#include "json.h"
#include "ruleset_int.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_MAX_NESTING 1000

struct cursor {
	struct event_scan *s;
	const struct bb_ruleset *rs;
	const char *start, *p, *end;
	scan_leaf_fn fn;
	void *arg;
	size_t plen; /* current path length in s->path */
	size_t root; /* length of the namespace prefix: top-level keys get no '.' */
};

void event_scan_init(struct event_scan *s)
{
	memset(s, 0, sizeof(*s));
}

void event_scan_free(struct event_scan *s)
{
	free(s->path);
	free(s->stack);
	free(s->arrs);
	free(s->leaves);
	free(s->str);
	free(s->key);
}

static bool bad(struct cursor *c, const char *what)
{
	if (!c->s->error[0])
		snprintf(c->s->error, sizeof(c->s->error),
			 "event is not valid JSON: %s at offset %zu", what,
			 (size_t)(c->p - c->start));
	return false;
}

static inline void ws(struct cursor *c)
{
	while (c->p < c->end &&
	       (*c->p == ' ' || *c->p == '\n' || *c->p == '\t' || *c->p == '\r'))
		c->p++;
}

static void grow(void **buf, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return;
	size_t n = *cap ? *cap * 2 : 64;

	while (n < need)
		n *= 2;
	*buf = xrealloc(*buf, n * elem);
	*cap = n;
}

/* Find the closing quote of a string starting after its opening quote. */
static const char *string_end(const char *p, const char *end, bool *escaped)
{
	*escaped = false;
	for (;;) {
		const char *q = memchr(p, '"', (size_t)(end - p));

		if (!q)
			return NULL;
		/* count the backslashes right before the quote */
		const char *b = q;

		while (b > p && b[-1] == '\\')
			b--;
		if (b != q)
			*escaped = true;
		if (((q - b) & 1) == 0)
			return q;
		p = q + 1;
	}
}

/* Read a string at c->p (opening quote); unescape into *buf if needed. */
static bool read_string(struct cursor *c, char **buf, size_t *cap,
			const char **out, size_t *len)
{
	bool esc;
	const char *start = c->p + 1;
	const char *q = string_end(start, c->end, &esc);

	if (!q)
		return bad(c, "unterminated string");
	size_t n = (size_t)(q - start);

	if (!esc && !memchr(start, '\\', n)) {
		*out = start;
		*len = n;
	} else {
		grow((void **)buf, cap, n + 1, 1);
		long m = json_unescape(start, n, *buf);

		if (m < 0)
			return bad(c, "bad escape in string");
		*out = *buf;
		*len = (size_t)m;
	}
	c->p = q + 1;
	return true;
}

static bool skip_value(struct cursor *c)
{
	if (c->p >= c->end)
		return bad(c, "value expected");
	char ch = *c->p;

	if (ch == '"') {
		bool esc;
		const char *q = string_end(c->p + 1, c->end, &esc);

		if (!q)
			return bad(c, "unterminated string");
		c->p = q + 1;
		return true;
	}
	if (ch == '{' || ch == '[') {
		int depth = 0;

		while (c->p < c->end) {
			ch = *c->p;
			if (ch == '"') {
				bool esc;
				const char *q = string_end(c->p + 1, c->end, &esc);

				if (!q)
					return bad(c, "unterminated string");
				c->p = q + 1;
				continue;
			}
			c->p++;
			if (ch == '{' || ch == '[')
				depth++;
			else if ((ch == '}' || ch == ']') && --depth == 0)
				return true;
		}
		return bad(c, "unterminated object or array");
	}
	const char *s = c->p;

	while (c->p < c->end && !strchr(",}] \t\r\n", *c->p))
		c->p++;
	if (c->p == s)
		return bad(c, "value expected");
	return true;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* Length of a JSON number at @p (RFC 8259 grammar), 0 if there is none. */
static size_t number_len(const char *p, const char *end)
{
	const char *q = p;

	if (q < end && *q == '-')
		q++;
	if (q >= end || !is_digit(*q))
		return 0;
	if (*q == '0')
		q++;
	else
		while (q < end && is_digit(*q))
			q++;
	if (q < end && *q == '.') {
		if (++q >= end || !is_digit(*q))
			return 0;
		while (q < end && is_digit(*q))
			q++;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < end && (*q == '+' || *q == '-'))
			q++;
		if (q >= end || !is_digit(*q))
			return 0;
		while (q < end && is_digit(*q))
			q++;
	}
	return (size_t)(q - p);
}

static void emit(struct cursor *c, const struct path_info *pi,
		 const struct scan_value *v)
{
	struct event_scan *s = c->s;

	grow((void **)&s->leaves, &s->leaves_cap, s->n_leaves + 1,
	     sizeof(*s->leaves));
	grow((void **)&s->arrs, &s->arrs_cap, s->n_arrs + s->depth + 1,
	     sizeof(*s->arrs));
	uint32_t leaf = (uint32_t)s->n_leaves++;

	s->leaves[leaf] = (struct scan_leaf){(uint32_t)s->n_arrs,
					     (uint32_t)s->depth};
	if (s->depth) {
		memcpy(s->arrs + s->n_arrs, s->stack,
		       s->depth * sizeof(*s->stack));
		s->n_arrs += s->depth;
	}
	c->fn(c->arg, pi, v, leaf);
}

static bool read_leaf(struct cursor *c, const struct path_info *pi)
{
	struct scan_value v = {0};
	char ch = *c->p;

	if (ch == '"') {
		v.type = VT_STRING;
		if (!read_string(c, &c->s->str, &c->s->str_cap, &v.s, &v.len))
			return false;
	} else if (ch == '-' || (ch >= '0' && ch <= '9')) {
		size_t n = number_len(c->p, c->end);
		char buf[64];

		/* the number must end at a delimiter: "01" or "1x" are not JSON */
		if (!n || (c->p + n < c->end && !strchr(",}] \t\r\n", c->p[n])))
			return bad(c, "bad number");
		char *tmp = n < sizeof(buf) ? buf : xmalloc(n + 1);

		memcpy(tmp, c->p, n);
		tmp[n] = '\0';
		v.type = VT_NUMBER;
		v.num = strtod(tmp, NULL);
		if (tmp != buf)
			free(tmp);
		c->p += n;
	} else if (c->end - c->p >= 4 && !memcmp(c->p, "null", 4)) {
		v.type = VT_NULL;
		c->p += 4;
	} else if (c->end - c->p >= 4 && !memcmp(c->p, "true", 4)) {
		v.type = VT_TRUE;
		c->p += 4;
	} else if (c->end - c->p >= 5 && !memcmp(c->p, "false", 5)) {
		v.type = VT_FALSE;
		c->p += 5;
	} else {
		return bad(c, "unexpected character");
	}
	emit(c, pi, &v);
	return true;
}

static bool scan_object(struct cursor *c, uint64_t hash);

static bool scan_at(struct cursor *c, const struct path_info *pi,
		    uint64_t hash);

static bool scan_array(struct cursor *c, const struct path_info *pi,
		       uint64_t hash)
{
	struct event_scan *s = c->s;

	if (++s->nesting > SCAN_MAX_NESTING)
		return bad(c, "nesting too deep");
	grow((void **)&s->stack, &s->stack_cap, s->depth + 1, sizeof(*s->stack));
	size_t slot = s->depth++;

	s->stack[slot] = (struct scan_arr){s->next_arr++, 0};
	c->p++;
	ws(c);
	if (c->p < c->end && *c->p == ']') {
		c->p++;
		goto done;
	}
	for (uint32_t i = 0;; i++) {
		s->stack[slot].index = i;
		ws(c);
		if (!scan_at(c, pi, hash))
			return false;
		ws(c);
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		if (c->p < c->end && *c->p == ']') {
			c->p++;
			break;
		}
		return bad(c, "',' or ']' expected");
	}
done:
	s->depth--;
	s->nesting--;
	return true;
}

/* A value at a used path. */
static bool scan_at(struct cursor *c, const struct path_info *pi,
		    uint64_t hash)
{
	if (c->p >= c->end)
		return bad(c, "value expected");
	char ch = *c->p;

	if (ch == '{')
		return pi->inner ? scan_object(c, hash) : skip_value(c);
	if (ch == '[')
		return scan_array(c, pi, hash);
	return pi->leaf ? read_leaf(c, pi) : skip_value(c);
}

static bool scan_object(struct cursor *c, uint64_t hash)
{
	struct event_scan *s = c->s;
	size_t base = c->plen;

	if (++s->nesting > SCAN_MAX_NESTING)
		return bad(c, "nesting too deep");
	c->p++;
	ws(c);
	if (c->p < c->end && *c->p == '}') {
		c->p++;
		s->nesting--;
		return true;
	}
	for (;;) {
		const char *key;
		size_t klen;

		ws(c);
		if (c->p >= c->end || *c->p != '"')
			return bad(c, "key expected");
		if (!read_string(c, &s->key, &s->key_cap, &key, &klen))
			return false;
		/* path = base '.' key, hashed by continuing the base's FNV */
		uint64_t h = hash;
		size_t plen = base;

		grow((void **)&s->path, &s->path_cap, base + klen + 2, 1);
		if (base > c->root) {
			s->path[plen++] = '.';
			h = (h ^ '.') * BPFBUS_FNV_PRIME;
		}
		for (size_t i = 0; i < klen; i++) {
			s->path[plen++] = key[i];
			h = (h ^ (unsigned char)key[i]) * BPFBUS_FNV_PRIME;
		}
		ws(c);
		if (c->p >= c->end || *c->p != ':')
			return bad(c, "':' expected");
		c->p++;
		ws(c);
		const struct path_info *pi =
			ruleset_find_path(c->rs, s->path, plen, h);
		bool ok;

		if (!pi) {
			ok = skip_value(c);
		} else {
			c->plen = plen;
			ok = scan_at(c, pi, h);
			c->plen = base;
		}
		if (!ok)
			return false;
		ws(c);
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		if (c->p < c->end && *c->p == '}') {
			c->p++;
			break;
		}
		return bad(c, "',' or '}' expected");
	}
	s->nesting--;
	return true;
}

bool event_scan_run(struct event_scan *s, const struct bb_ruleset *rs,
		    const char *ev, size_t len, scan_leaf_fn fn, void *arg)
{
	return event_scan_run_ns(s, rs, ev, len, 0, fn, arg);
}

bool event_scan_run_ns(struct event_scan *s, const struct bb_ruleset *rs, const char *ev,
		       size_t len, char ns, scan_leaf_fn fn, void *arg)
{
	struct cursor c = {.s = s, .rs = rs, .start = ev, .p = ev, .end = ev + len,
			   .fn = fn, .arg = arg};
	uint64_t root = BPFBUS_FNV_OFFSET;

	if (ns) {
		grow((void **)&s->path, &s->path_cap, 1, 1);
		s->path[0] = ns;
		c.plen = c.root = 1;
		root = (root ^ (unsigned char)ns) * BPFBUS_FNV_PRIME;
	}

	s->depth = s->n_arrs = s->n_leaves = 0;
	s->next_arr = 0;
	s->nesting = 0;
	s->error[0] = '\0';
	ws(&c);
	if (c.p >= c.end || *c.p != '{') {
		snprintf(s->error, sizeof(s->error),
			 "event is not a JSON object");
		return false;
	}
	return scan_object(&c, root);
}

// SPDX-License-Identifier: BSD-2-Clause
#define _GNU_SOURCE
/* Query-protocol XML answers as JSON (xml_json.h): parse into a tree, then write it. */
#include "xml_json.h"
#include "json.h"
#include "strbuf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32

struct xnode {
	char *name;
	struct strbuf text;
	struct xnode **kids;
	size_t n;
};

struct xparser {
	const char *s;
	size_t len, pos;
	char *err;
	size_t cap;
	bool failed;
};

static void xfree(struct xnode *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n; i++)
		xfree(x->kids[i]);
	free(x->kids);
	free(x->name);
	sb_free(&x->text);
	free(x);
}

static int fail(struct xparser *p, const char *what)
{
	if (!p->failed)
		snprintf(p->err, p->cap, "malformed XML at byte %zu: %s", p->pos, what);
	p->failed = true;
	return -1;
}

static bool at(const struct xparser *p, const char *lit)
{
	size_t n = strlen(lit);

	return p->len - p->pos >= n && !memcmp(p->s + p->pos, lit, n);
}

static void skip_space(struct xparser *p)
{
	while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]))
		p->pos++;
}

/* Skip up to and past @end ("?>", "-->"). */
static int skip_past(struct xparser *p, const char *end)
{
	const char *e = memmem(p->s + p->pos, p->len - p->pos, end, strlen(end));

	if (!e)
		return fail(p, "unterminated declaration or comment");
	p->pos = (size_t)(e - p->s) + strlen(end);
	return 0;
}

static size_t name_len(const struct xparser *p)
{
	size_t n = 0;

	while (p->pos + n < p->len && !strchr(" \t\r\n/>=", p->s[p->pos + n]))
		n++;
	return n;
}

/* One UTF-8 encoded code point. */
static void put_utf8(struct strbuf *sb, unsigned long c)
{
	if (c < 0x80) {
		sb_addc(sb, (char)c);
	} else if (c < 0x800) {
		sb_addc(sb, (char)(0xc0 | c >> 6));
		sb_addc(sb, (char)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		sb_addc(sb, (char)(0xe0 | c >> 12));
		sb_addc(sb, (char)(0x80 | ((c >> 6) & 0x3f)));
		sb_addc(sb, (char)(0x80 | (c & 0x3f)));
	} else {
		sb_addc(sb, (char)(0xf0 | c >> 18));
		sb_addc(sb, (char)(0x80 | ((c >> 12) & 0x3f)));
		sb_addc(sb, (char)(0x80 | ((c >> 6) & 0x3f)));
		sb_addc(sb, (char)(0x80 | (c & 0x3f)));
	}
}

static int entity(struct xparser *p, struct strbuf *sb)
{
	static const struct {
		const char *name;
		char c;
	} named[] = { { "&lt;", '<' },
		      { "&gt;", '>' },
		      { "&amp;", '&' },
		      { "&quot;", '"' },
		      { "&apos;", '\'' } };
	const char *semi = memchr(p->s + p->pos, ';', p->len - p->pos < 12 ? p->len - p->pos : 12);

	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (at(p, named[i].name)) {
			sb_addc(sb, named[i].c);
			p->pos += strlen(named[i].name);
			return 0;
		}
	if (semi && at(p, "&#")) {
		bool hex = p->s[p->pos + 2] == 'x';
		char num[12], *end;
		size_t n = (size_t)(semi - (p->s + p->pos + 2 + hex));
		unsigned long c;

		if (n && n < sizeof(num)) {
			memcpy(num, p->s + p->pos + 2 + hex, n);
			num[n] = '\0';
			c = strtoul(num, &end, hex ? 16 : 10);
			if (!*end && c && c <= 0x10ffff && (c < 0xd800 || c > 0xdfff)) {
				put_utf8(sb, c);
				p->pos = (size_t)(semi - p->s) + 1;
				return 0;
			}
		}
	}
	return fail(p, "unknown entity");
}

static struct xnode *element(struct xparser *p, int depth);

/* Text and child elements up to </name>. */
static int content(struct xparser *p, struct xnode *x, int depth)
{
	size_t nl = strlen(x->name);

	while (p->pos < p->len) {
		char c = p->s[p->pos];

		if (c == '&') {
			if (entity(p, &x->text))
				return -1;
		} else if (at(p, "<!--")) {
			if (skip_past(p, "-->"))
				return -1;
		} else if (at(p, "</")) {
			p->pos += 2;
			if (p->len - p->pos < nl + 1 || memcmp(p->s + p->pos, x->name, nl) ||
			    p->s[p->pos + nl] != '>')
				return fail(p, "end tag does not match its start tag");
			p->pos += nl + 1;
			return 0;
		} else if (c == '<') {
			struct xnode *kid = element(p, depth + 1);

			if (!kid)
				return -1;
			x->kids = xrealloc(x->kids, (x->n + 1) * sizeof(*x->kids));
			x->kids[x->n++] = kid;
		} else {
			sb_addc(&x->text, c);
			p->pos++;
		}
	}
	return fail(p, "unterminated element");
}

/* <name attr="v"...> content </name>, or <name/>. */
static struct xnode *element(struct xparser *p, int depth)
{
	struct xnode *x;
	size_t n;

	if (depth > MAX_DEPTH)
		return fail(p, "nested too deeply"), NULL;
	if (!at(p, "<"))
		return fail(p, "expected an element"), NULL;
	p->pos++;
	n = name_len(p);
	if (!n)
		return fail(p, "element without a name"), NULL;
	x = xcalloc(1, sizeof(*x));
	x->name = xstrndup(p->s + p->pos, n);
	p->pos += n;
	for (;;) {
		skip_space(p);
		if (at(p, "/>")) {
			p->pos += 2;
			return x;
		}
		if (at(p, ">")) {
			p->pos++;
			break;
		}
		/* an attribute: name="value" (ignored) */
		n = name_len(p);
		p->pos += n;
		if (!n || !at(p, "=") || p->pos + 1 >= p->len ||
		    (p->s[p->pos + 1] != '"' && p->s[p->pos + 1] != '\'')) {
			fail(p, "malformed attribute");
			xfree(x);
			return NULL;
		}
		const char *q = memchr(p->s + p->pos + 2, p->s[p->pos + 1], p->len - p->pos - 2);

		if (!q) {
			fail(p, "unterminated attribute value");
			xfree(x);
			return NULL;
		}
		p->pos = (size_t)(q - p->s) + 1;
	}
	if (content(p, x, depth)) {
		xfree(x);
		return NULL;
	}
	return x;
}

static bool all_named(const struct xnode *x, const char *name)
{
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->kids[i]->name, name))
			return false;
	return x->n > 0;
}

static const struct xnode *kid(const struct xnode *x, const char *name)
{
	for (size_t i = 0; i < x->n; i++)
		if (!strcmp(x->kids[i]->name, name))
			return x->kids[i];
	return NULL;
}

static void write_text(struct strbuf *out, const struct xnode *x)
{
	json_write_string(out, x->text.buf ? x->text.buf : "", x->text.len);
}

static bool named_in(const char *const *names, const char *name)
{
	for (; names && *names; names++)
		if (!strcmp(*names, name))
			return true;
	return false;
}

static void write_value(struct strbuf *out, const struct xnode *x, const struct xml_json_shapes *sh)
{
	if (!x->n && sh && named_in(sh->lists, x->name) && !x->text.len) {
		sb_adds(out, "[]");
	} else if (!x->n && sh && named_in(sh->maps, x->name) && !x->text.len) {
		sb_adds(out, "{}");
	} else if (!x->n) {
		write_text(out, x);
	} else if (all_named(x, "member")) {
		sb_addc(out, '[');
		for (size_t i = 0; i < x->n; i++) {
			if (i)
				sb_addc(out, ',');
			write_value(out, x->kids[i], sh);
		}
		sb_addc(out, ']');
	} else if (all_named(x, "entry")) {
		sb_addc(out, '{');
		for (size_t i = 0; i < x->n; i++) {
			const struct xnode *k = kid(x->kids[i], "key"),
					   *v = kid(x->kids[i], "value");

			if (i)
				sb_addc(out, ',');
			if (k)
				write_text(out, k);
			else
				sb_adds(out, "\"\"");
			sb_addc(out, ':');
			if (v)
				write_text(out, v);
			else
				sb_adds(out, "\"\"");
		}
		sb_addc(out, '}');
	} else {
		sb_addc(out, '{');
		for (size_t i = 0; i < x->n; i++) {
			if (i)
				sb_addc(out, ',');
			json_write_string(out, x->kids[i]->name, strlen(x->kids[i]->name));
			sb_addc(out, ':');
			write_value(out, x->kids[i], sh);
		}
		sb_addc(out, '}');
	}
}

int xml_to_json(const char *xml, size_t len, const struct xml_json_shapes *shapes,
		struct strbuf *out, char *err, size_t cap)
{
	struct xparser p = { .s = xml, .len = len, .err = err, .cap = cap };
	struct xnode *root;

	skip_space(&p);
	if (at(&p, "<?") && skip_past(&p, "?>"))
		return -1;
	skip_space(&p);
	root = element(&p, 0);
	if (!root)
		return -1;
	skip_space(&p);
	if (p.pos != p.len) {
		xfree(root);
		return fail(&p, "text after the root element");
	}
	sb_addc(out, '{');
	json_write_string(out, root->name, strlen(root->name));
	sb_addc(out, ':');
	write_value(out, root, shapes);
	sb_addc(out, '}');
	xfree(root);
	return 0;
}

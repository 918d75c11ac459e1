// SPDX-License-Identifier: BSD-2-Clause
/*
 * The SigV4 credentials file and what each key may do (sigv4.h):
 *
 *   # comment
 *   ACCESS_KEY_ID SECRET [actions=PATTERN,...] [resources=PATTERN,...]
 *                        [session-token=TOKEN]
 *
 * Patterns are fnmatch globs: "sqs:*", "sqs:Get*", "arn:aws:sqs:*:*:orders*".
 */
#include "sigv4.h"
#include "strbuf.h"

#include <errno.h>
#include <fnmatch.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sigv4_creds_free(struct sigv4_creds *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct sigv4_cred *k = &c->v[i];

		free(k->access_key_id);
		if (k->secret) {
			OPENSSL_cleanse(k->secret, strlen(k->secret));
			free(k->secret);
		}
		for (size_t j = 0; j < k->nactions; j++)
			free(k->actions[j]);
		free(k->actions);
		for (size_t j = 0; j < k->nresources; j++)
			free(k->resources[j]);
		free(k->resources);
		if (k->session_token) {
			OPENSSL_cleanse(k->session_token, strlen(k->session_token));
			free(k->session_token);
		}
	}
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

/* "a,b,c" into a list; false when an item is empty. */
static bool split_list(const char *s, char ***out, size_t *n)
{
	while (*s) {
		size_t l = strcspn(s, ",");

		if (!l)
			return false;
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = xstrndup(s, l);
		s += l;
		if (*s == ',' && !*++s)
			return false;
	}
	return *n > 0;
}

static bool key_id_valid(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	return n >= 1 && n <= 128;
}

static int parse_line(char *line, struct sigv4_cred *k, const char *origin, int lineno, char *err,
		      size_t cap)
{
	char *save = NULL, *tok;
	int field = 0;

	for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save), field++) {
		if (field == 0) {
			if (!key_id_valid(tok))
				goto bad_key;
			k->access_key_id = xstrndup(tok, strlen(tok));
		} else if (field == 1) {
			k->secret = xstrndup(tok, strlen(tok));
		} else if (!strncmp(tok, "actions=", 8)) {
			if (k->nactions || !split_list(tok + 8, &k->actions, &k->nactions))
				goto bad_list;
		} else if (!strncmp(tok, "resources=", 10)) {
			if (k->nresources || !split_list(tok + 10, &k->resources, &k->nresources))
				goto bad_list;
		} else if (!strncmp(tok, "session-token=", 14)) {
			if (k->session_token || !tok[14]) {
				snprintf(err, cap,
					 "%s:%d: session-token= must be given once, not empty",
					 origin, lineno);
				return -1;
			}
			k->session_token = xstrndup(tok + 14, strlen(tok + 14));
		} else {
			snprintf(
				err, cap,
				"%s:%d: unknown field '%.40s' (expected actions=..., resources=... "
				"or session-token=...)",
				origin, lineno, tok);
			return -1;
		}
	}
	if (field < 2) {
		snprintf(err, cap, "%s:%d: a line needs an access key id and a secret", origin,
			 lineno);
		return -1;
	}
	return 0;
bad_key:
	snprintf(err, cap, "%s:%d: access key id must be 1-128 of A-Za-z0-9_-", origin, lineno);
	return -1;
bad_list:
	snprintf(err, cap, "%s:%d: '%.40s' must be one non-empty comma-separated list", origin,
		 lineno, tok);
	return -1;
}

int sigv4_creds_parse(const char *text, size_t len, const char *origin, struct sigv4_creds *out,
		      char *err, size_t cap)
{
	char *copy = xstrndup(text, len), *line = copy;
	int lineno = 0, rc = 0;

	memset(out, 0, sizeof(*out));
	if (memchr(text, '\0', len)) {
		snprintf(err, cap, "%s: contains a NUL byte", origin);
		rc = -1;
	}
	while (line && !rc) {
		char *next = strchr(line, '\n');
		char *p = line;

		if (next)
			*next++ = '\0';
		lineno++;
		line[strcspn(line, "\r")] = '\0';
		p += strspn(p, " \t");
		if (*p && *p != '#') {
			struct sigv4_cred k = { 0 };

			rc = parse_line(p, &k, origin, lineno, err, cap);
			for (size_t i = 0; !rc && i < out->n; i++)
				if (!strcmp(out->v[i].access_key_id, k.access_key_id)) {
					snprintf(err, cap, "%s:%d: access key id %s is repeated",
						 origin, lineno, k.access_key_id);
					rc = -1;
				}
			out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
			out->v[out->n++] = k;
		}
		line = next;
	}
	OPENSSL_cleanse(copy, len);
	free(copy);
	if (!rc && !out->n) {
		snprintf(err, cap, "%s: no credentials in the file", origin);
		rc = -1;
	}
	if (rc)
		sigv4_creds_free(out);
	return rc;
}

int sigv4_creds_load(const char *path, struct sigv4_creds *out, char *err, size_t cap)
{
	size_t len;
	char *text = read_whole_file(path, &len);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!text) {
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = sigv4_creds_parse(text, len, path, out, err, cap);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

static bool any_match(char *const *patterns, size_t n, const char *s)
{
	if (!n)
		return true;
	for (size_t i = 0; s && i < n; i++)
		if (!fnmatch(patterns[i], s, 0))
			return true;
	return false;
}

int sigv4_authorize(const struct sigv4_cred *cred, const char *action, const char *resource,
		    const char *account, struct sigv4_result *res)
{
	/* An action on no particular resource needs a key without resource limits. */
	if (any_match(cred->actions, cred->nactions, action) &&
	    (resource ? any_match(cred->resources, cred->nresources, resource) : !cred->nresources))
		return 0;
	res->code = SIGV4_ACCESS_DENIED;
	snprintf(res->message, sizeof(res->message),
		 "User: arn:aws:iam::%s:user/%s is not authorized to perform: %s on resource: %s",
		 account, cred->access_key_id, action, resource ? resource : "*");
	return -1;
}

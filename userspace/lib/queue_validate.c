// SPDX-License-Identifier: BSD-2-Clause
/*
 * Validation of what clients send: message text, message attributes, batch
 * entry ids, FIFO tokens; SQS's limits and error wording.
 */
#include "queue_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Decode one UTF-8 sequence; returns its length or 0 when malformed. */
static size_t utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c = p[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0)
		len = 2, c &= 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		len = 3, c &= 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		len = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF */
bool qtext_valid(const char *s, size_t len, uint32_t *bad)
{
	const uint8_t *p = (const uint8_t *)s;

	for (size_t i = 0; i < len;) {
		uint32_t c = 0;
		size_t n = utf8_next(p + i, len - i, &c);

		if (!n || !(c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
			    (c >= 0xe000 && c <= 0xfffd) || c >= 0x10000)) {
			if (bad)
				*bad = n ? c : p[i];
			return false;
		}
		i += n;
	}
	return true;
}

bool qtoken_valid(const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (len < 1 || len > 128)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !ispunct((unsigned char)s[i]))
			return false;
	return true;
}

int qbad_token(struct queue_result *res, const char *param, const char *value)
{
	return qerr(res, QE_INVALID_PARAMETER_VALUE,
		    "Value %s for parameter %s is invalid. Reason: %s can only include "
		    "alphanumeric and punctuation characters. 1 to 128 in length.",
		    value, param, param);
}

int qcheck_visibility(int v, struct queue_result *res)
{
	if (v >= 0 && v <= QUEUE_MAX_VISIBILITY)
		return 0;
	return qerr(res, QE_INVALID_PARAMETER_VALUE,
		    "Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between "
		    "0 and 43200, if provided.",
		    v);
}

bool qattr_name_valid(const char *n)
{
	size_t len = strlen(n);

	if (len < 1 || len > 256 || n[0] == '.' || n[len - 1] == '.' ||
	    !strncasecmp(n, "AWS.", 4) || !strncasecmp(n, "Amazon.", 7) || strstr(n, ".."))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)n[i]) && n[i] != '_' && n[i] != '-' && n[i] != '.')
			return false;
	return true;
}

/* "String", "Number" or "Binary", optionally ".custom"; returns the base type. */
static const char *base_type(const char *t)
{
	static const char *const bases[] = { "String", "Number", "Binary" };

	for (int i = 0; i < 3; i++) {
		size_t l = strlen(bases[i]);

		if (!strncmp(t, bases[i], l) && (t[l] == '\0' || (t[l] == '.' && t[l + 1])))
			return bases[i];
	}
	return NULL;
}

/* Digits from @*i on; counts the significant ones (after leading zeros). */
static void scan_digits(const char *s, size_t len, size_t *i, size_t *sig, bool *any)
{
	for (; *i < len && isdigit((unsigned char)s[*i]); (*i)++) {
		*any = true;
		if (*sig || s[*i] != '0')
			(*sig)++;
	}
}

/*
 * SQS numbers: up to 38 significant digits, from -10^128 to 10^126 (we check
 * the syntax and the digit count; the exponent only for its length).
 */
bool qnumber_valid(const char *s, size_t len)
{
	size_t i = 0, sig = 0, e0;
	bool any = false, exp_any = false;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	scan_digits(s, len, &i, &sig, &any);
	if (i < len && s[i] == '.') {
		i++;
		scan_digits(s, len, &i, &sig, &any);
	}
	if (!any)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t unused = 0;

		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		e0 = i;
		scan_digits(s, len, &i, &unused, &exp_any);
		if (!exp_any || i - e0 > 3)
			return false;
	}
	return i == len && sig <= 38;
}

int qattrs_validate(const struct queue_msg_attr *a, size_t n, size_t *size,
		    struct queue_result *res)
{
	*size = 0;
	if (n > QUEUE_MAX_ATTRS)
		return qerr(res, QE_INVALID_PARAMETER_VALUE,
			    "Number of message attributes [%zu] exceeds the allowed maximum [%d].",
			    n, QUEUE_MAX_ATTRS);
	for (size_t i = 0; i < n; i++) {
		const char *name = a[i].name ? a[i].name : "", *base;

		if (!qattr_name_valid(name))
			return qerr(
				res, QE_INVALID_PARAMETER_VALUE,
				"Message (user) attribute name '%s' is invalid. Names can "
				"contain alphanumeric characters, hyphens, underscores and "
				"periods, must not start or end with a period, contain "
				"consecutive periods or start with AWS. or Amazon., and be 1 to "
				"256 in length.",
				name);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(a[j].name, name))
				return qerr(res, QE_INVALID_PARAMETER_VALUE,
					    "Message (user) attribute name '%s' already exists.",
					    name);
		if (!a[i].type || !*a[i].type)
			return qerr(res, QE_INVALID_PARAMETER_VALUE,
				    "The message attribute '%s' must contain non-empty message "
				    "attribute type.",
				    name);
		base = base_type(a[i].type);
		if (!base || strlen(a[i].type) > 256 ||
		    !qtext_valid(a[i].type, strlen(a[i].type), NULL))
			return qerr(
				res, QE_INVALID_PARAMETER_VALUE,
				"The type of message (user) attribute '%s' is invalid. You must "
				"use only the following supported type prefixes: Binary, Number, "
				"String.",
				name);
		if (!a[i].value || a[i].len == 0)
			return qerr(
				res, QE_INVALID_PARAMETER_VALUE,
				"The message attribute '%s' with type '%s' must use field '%s'.",
				name, base, base[0] == 'B' ? "Binary" : "String");
		if (base[0] == 'N' && !qnumber_valid(a[i].value, a[i].len))
			return qerr(res, QE_INVALID_PARAMETER_VALUE,
				    "Can't cast the value of message (user) attribute '%s' to a "
				    "number.",
				    name);
		if (base[0] != 'B' && !qtext_valid(a[i].value, a[i].len, NULL))
			return qerr(res, QE_INVALID_MESSAGE_CONTENTS,
				    "Invalid binary character was found in the value of message "
				    "(user) attribute '%s'.",
				    name);
		*size += strlen(name) + strlen(a[i].type) + a[i].len;
	}
	return 0;
}

static bool batch_id_valid(const char *id)
{
	size_t len = id ? strlen(id) : 0;

	if (len < 1 || len > 80)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '-' && id[i] != '_')
			return false;
	return true;
}

int qbatch_check(const void *entries, size_t n, size_t size, size_t id_off, const char *what,
		 struct queue_result *res)
{
	const char *ids[QUEUE_MAX_BATCH];

	if (n == 0)
		return qerr(res, QE_EMPTY_BATCH_REQUEST,
			    "There should be at least one %s in the request.", what);
	if (n > QUEUE_MAX_BATCH)
		return qerr(res, QE_TOO_MANY_ENTRIES_IN_BATCH_REQUEST,
			    "Maximum number of entries per request are %d. You have sent %zu.",
			    QUEUE_MAX_BATCH, n);
	for (size_t i = 0; i < n; i++) {
		memcpy(&ids[i], (const char *)entries + i * size + id_off, sizeof(ids[i]));
		if (!batch_id_valid(ids[i]))
			return qerr(res, QE_INVALID_BATCH_ENTRY_ID,
				    "A batch entry id can only contain alphanumeric characters, "
				    "hyphens and underscores. It can be at most 80 letters long.");
		for (size_t j = 0; j < i; j++)
			if (!strcmp(ids[i], ids[j]))
				return qerr(res, QE_BATCH_ENTRY_IDS_NOT_DISTINCT, "Id %s repeated.",
					    ids[i]);
	}
	return 0;
}

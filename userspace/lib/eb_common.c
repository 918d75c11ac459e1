// SPDX-License-Identifier: BSD-2-Clause
/* Errors, UUIDs and timestamps shared by the EventBridge libraries. */
#include "eb_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

void eb_error_set(struct eb_error *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	snprintf(err->code, sizeof(err->code), "%s", code);
	err->detail[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

void eb_uuid4(char out[37])
{
	uint8_t b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

		if (n < 0)
			abort(); /* only fails before the pool is ready or on EFAULT */
		got += (size_t)n;
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

void eb_time_format(int64_t epoch_s, char out[EB_TIME_LEN])
{
	time_t t = (time_t)epoch_s;
	struct tm tm;

	/* Four-digit years only, as RFC 3339 spells them. */
	if (epoch_s < 0)
		t = 0;
	else if (epoch_s > 253402300799)
		t = 253402300799;
	gmtime_r(&t, &tm);
	strftime(out, EB_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Howard Hinnant's days-from-civil, valid for every Gregorian date. */
int64_t eb_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int eb_time_parse(const char *s, size_t len, int64_t *epoch_ms)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec, ms = 0;
	size_t i = 19;

	if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
	    digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > mdays[mo - 1] || h > 23 || mi > 59 ||
	    sec > 59)
		return -1;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (mo == 2 && d == 29 && !leap)
		return -1;
	if (s[i] == '.') {
		int scale = 100;

		if (++i >= len || s[i] < '0' || s[i] > '9')
			return -1;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			ms += (s[i] - '0') * scale;
			scale /= 10;
			i++;
		}
	}
	int64_t off_s = 0;

	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		int oh, om;

		if (digits(s + i + 1, 2, &oh) || digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		off_s = (s[i] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
		i += 6;
	} else {
		return -1;
	}
	if (i != len)
		return -1;
	int64_t days = eb_days_from_civil(y, (unsigned)mo, (unsigned)d);

	*epoch_ms = ((days * 86400 + h * 3600 + mi * 60 + sec) - off_s) * 1000 + ms;
	return 0;
}

void eb_rule_arn(char *buf, size_t cap, const char *region, const char *account, const char *bus,
		 const char *rule)
{
	if (!strcmp(bus, EB_DEFAULT_BUS))
		snprintf(buf, cap, "arn:aws:events:%s:%s:rule/%s", region, account, rule);
	else
		snprintf(buf, cap, "arn:aws:events:%s:%s:rule/%s/%s", region, account, bus, rule);
}

void eb_bus_arn(char *buf, size_t cap, const char *region, const char *account, const char *bus)
{
	snprintf(buf, cap, "arn:aws:events:%s:%s:event-bus/%s", region, account, bus);
}

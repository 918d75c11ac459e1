// SPDX-License-Identifier: BSD-2-Clause
/* EventBridge schedule expressions: parsing and next firing time (eb_schedule.h). */
#include "eb_schedule.h"
#include "eb_event.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const month_names[] = { "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
					   "JUL", "AUG", "SEP", "OCT", "NOV", "DEC" };
static const char *const day_names[] = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT" };

struct field {
	const char *name;
	int min, max;
	const char *const *names; /* names[0] spells min */
};

static const struct field f_minute = { "minutes", 0, 59, NULL };
static const struct field f_hour = { "hours", 0, 23, NULL };
static const struct field f_day = { "day-of-month", 1, 31, NULL };
static const struct field f_month = { "month", 1, 12, month_names };
static const struct field f_weekday = { "day-of-week", 1, 7, day_names };
static const struct field f_year = { "year", EB_CRON_YEAR_MIN, EB_CRON_YEAR_MAX, NULL };

/* Values as bits (value - min) of a 256-bit set. */
struct bits {
	uint64_t w[4];
};

static void bit_set(struct bits *b, int i)
{
	b->w[i / 64] |= 1ull << (i % 64);
}

static int invalid(struct eb_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int invalid(struct eb_error *err, const char *fmt, ...)
{
	va_list ap;

	eb_error_set(err, "ValidationException", "Parameter ScheduleExpression is not valid.");
	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A number or (month, weekday) a name, spelled by exactly @len bytes of @s. */
static int value_of(const char *s, size_t len, const struct field *f, int *out)
{
	if (f->names && len == 3)
		for (int i = 0; i <= f->max - f->min; i++)
			if (!strncasecmp(s, f->names[i], 3)) {
				*out = f->min + i;
				return 0;
			}
	if (len < 1 || len > 4)
		return -1;
	int v = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < f->min || v > f->max)
		return -1;
	*out = v;
	return 0;
}

/* One list item: *, a, a-b (wrapping past max), each with an optional /step. */
static int parse_item(const char *s, size_t len, const struct field *f, struct bits *b,
		      struct eb_error *err)
{
	const char *slash = memchr(s, '/', len);
	size_t head = slash ? (size_t)(slash - s) : len;
	int lo = f->min, hi = f->max, step = 1;

	if (slash) {
		const struct field steps = { f->name, 1, f->max - f->min + 1, NULL };

		if (value_of(slash + 1, len - head - 1, &steps, &step))
			return invalid(err, "bad step '%.*s' in %s", (int)(len - head - 1),
				       slash + 1, f->name);
	}
	const char *dash = memchr(s, '-', head);

	if (head == 1 && *s == '*') {
		/* every value */
	} else if (dash) {
		if (value_of(s, (size_t)(dash - s), f, &lo) ||
		    value_of(dash + 1, head - (size_t)(dash - s) - 1, f, &hi))
			return invalid(err, "bad range '%.*s' in %s", (int)head, s, f->name);
	} else {
		if (value_of(s, head, f, &lo))
			return invalid(err, "bad value '%.*s' in %s", (int)head, s, f->name);
		if (!slash)
			hi = lo;
	}
	int span = f->max - f->min + 1;
	int count = (hi - lo + span) % span + 1; /* a range may wrap: 20-2 */

	for (int k = 0; k < count; k += step)
		bit_set(b, (lo - f->min + k) % span);
	return 0;
}

static int parse_list(const char *s, const struct field *f, struct bits *b, struct eb_error *err)
{
	memset(b, 0, sizeof(*b));
	for (;;) {
		size_t len = strcspn(s, ",");

		if (!len)
			return invalid(err, "empty item in %s", f->name);
		if (parse_item(s, len, f, b, err))
			return -1;
		if (!s[len])
			return 0;
		s += len + 1;
	}
}

static int parse_day_of_month(const char *s, struct eb_schedule *out, struct eb_error *err)
{
	size_t len = strlen(s);
	struct bits b;
	int n;

	if (!strcmp(s, "?")) {
		out->any_day = true;
	} else if (!strcmp(s, "L")) {
		out->last_day = true;
	} else if (!strcmp(s, "LW")) {
		out->last_workday = true;
	} else if (len >= 2 && s[len - 1] == 'W') {
		if (value_of(s, len - 1, &f_day, &n))
			return invalid(err, "bad day '%.*s' before W", (int)len - 1, s);
		out->near_workday = n;
	} else {
		if (parse_list(s, &f_day, &b, err))
			return -1;
		out->days = (uint32_t)(b.w[0] << 1);
	}
	return 0;
}

static int parse_day_of_week(const char *s, struct eb_schedule *out, struct eb_error *err)
{
	size_t len = strlen(s);
	const char *hash = strchr(s, '#');
	struct bits b;
	int n;

	if (!strcmp(s, "?")) {
		out->any_weekday = true;
	} else if (!strcmp(s, "L")) {
		out->weekdays = 1u << 7; /* the last day of the week: Saturday */
	} else if (len >= 2 && s[len - 1] == 'L') {
		if (value_of(s, len - 1, &f_weekday, &n))
			return invalid(err, "bad day of week '%.*s' before L", (int)len - 1, s);
		out->last_weekday = n;
	} else if (hash) {
		if (value_of(s, (size_t)(hash - s), &f_weekday, &n) || hash[1] < '1' ||
		    hash[1] > '5' || hash[2])
			return invalid(err, "bad day-of-week '%s': # takes one day and 1-5", s);
		out->nth_weekday = n;
		out->nth = hash[1] - '0';
	} else {
		if (parse_list(s, &f_weekday, &b, err))
			return -1;
		out->weekdays = (uint8_t)(b.w[0] << 1);
	}
	return 0;
}

static int parse_rate(const char *s, struct eb_schedule *out, struct eb_error *err)
{
	static const struct {
		const char *unit;
		int64_t seconds;
	} units[] = { { "minute", 60 }, { "hour", 3600 }, { "day", 86400 } };
	char unit[16];
	int64_t value = 0;
	const char *p = s;

	if (*p < '1' || *p > '9')
		return invalid(err, "rate value must be a positive integer");
	while (*p >= '0' && *p <= '9' && value < 100000000)
		value = value * 10 + (*p++ - '0');
	if (*p++ != ' ' || strlen(p) >= sizeof(unit))
		return invalid(err, "rate takes a value and a unit separated by one space");
	strcpy(unit, p);
	size_t n = strlen(unit);
	bool plural = n && unit[n - 1] == 's';

	if (plural)
		unit[n - 1] = '\0';
	for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++) {
		if (strcmp(unit, units[i].unit))
			continue;
		if (plural != (value > 1))
			return invalid(err, "the unit is singular for 1 and plural above 1");
		out->kind = EB_SCHEDULE_RATE;
		out->rate_s = value * units[i].seconds;
		return 0;
	}
	return invalid(err, "rate unit must be minute(s), hour(s) or day(s)");
}

static int parse_cron(char *s, struct eb_schedule *out, struct eb_error *err)
{
	char *fields[7], *save = NULL;
	int n = 0;
	struct bits b;

	for (char *t = strtok_r(s, " ", &save); t; t = strtok_r(NULL, " ", &save))
		if (n < 7)
			fields[n++] = t;
	if (n != 6)
		return invalid(err, "cron takes six fields");
	out->kind = EB_SCHEDULE_CRON;
	if (parse_list(fields[0], &f_minute, &b, err))
		return -1;
	out->minutes = b.w[0];
	if (parse_list(fields[1], &f_hour, &b, err))
		return -1;
	out->hours = (uint32_t)b.w[0];
	if (parse_day_of_month(fields[2], out, err) || parse_list(fields[3], &f_month, &b, err))
		return -1;
	out->months = (uint16_t)(b.w[0] << 1);
	if (parse_day_of_week(fields[4], out, err) || parse_list(fields[5], &f_year, &b, err))
		return -1;
	memcpy(out->years, b.w, sizeof(out->years));
	if (out->any_day == out->any_weekday)
		return invalid(err, "exactly one of day-of-month and day-of-week must be ?");
	return 0;
}

int eb_schedule_parse(const char *expr, struct eb_schedule *out, struct eb_error *err)
{
	size_t len = strlen(expr);
	int ret;

	memset(out, 0, sizeof(*out));
	if (len < 7 || expr[len - 1] != ')' || len > 256)
		return invalid(err, "expected rate(...) or cron(...)");
	char *inner = xstrndup(expr + 5, len - 6);

	if (!strncmp(expr, "rate(", 5))
		ret = parse_rate(inner, out, err);
	else if (!strncmp(expr, "cron(", 5))
		ret = parse_cron(inner, out, err);
	else
		ret = invalid(err, "expected rate(...) or cron(...)");
	free(inner);
	return ret;
}

/* ------------------------------------------------------------ next firing */

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* 1 = Sunday ... 7 = Saturday. */
static int weekday(int y, int m, int d)
{
	return (int)((eb_days_from_civil(y, (unsigned)m, (unsigned)d) + 4) % 7) + 1;
}

/* The weekday (Mon-Fri) nearest day @n of the month, never leaving the month. */
static int nearest_workday(int y, int m, int n, int dim)
{
	int w = weekday(y, m, n);

	if (w == 7) /* Saturday: the Friday before, or Monday when n is the 1st */
		return n == 1 ? 3 : n - 1;
	if (w == 1) /* Sunday: the Monday after, or Friday when n is the last day */
		return n == dim ? n - 2 : n + 1;
	return n;
}

static bool day_matches(const struct eb_schedule *s, int y, int m, int d)
{
	int dim = month_days(y, m);

	if (s->any_weekday) {
		if (s->last_day)
			return d == dim;
		if (s->last_workday)
			return d == nearest_workday(y, m, dim, dim);
		if (s->near_workday)
			return s->near_workday <= dim &&
			       d == nearest_workday(y, m, s->near_workday, dim);
		return s->days >> d & 1;
	}
	int w = weekday(y, m, d);

	if (s->last_weekday)
		return w == s->last_weekday && d + 7 > dim;
	if (s->nth)
		return w == s->nth_weekday && (d - 1) / 7 + 1 == s->nth;
	return s->weekdays >> w & 1;
}

static bool year_matches(const struct eb_schedule *s, int y)
{
	int i = y - EB_CRON_YEAR_MIN;

	return i >= 0 && y <= EB_CRON_YEAR_MAX && (s->years[i / 8] >> (i % 8) & 1);
}

/* The first allowed minute of the day at or after @from_min (minute of day), or -1. */
static int first_minute(const struct eb_schedule *s, int from_min)
{
	for (int t = from_min; t < 24 * 60; t++)
		if ((s->hours >> (t / 60) & 1) && (s->minutes >> (t % 60) & 1))
			return t;
	return -1;
}

static int64_t next_cron(const struct eb_schedule *s, int64_t after_s)
{
	int64_t start = (after_s < 0 ? 0 : after_s / 60 + 1) * 60; /* the next whole minute */
	int64_t day = start / 86400;
	int from_min = (int)(start % 86400 / 60);
	time_t t = (time_t)start;
	struct tm tm;

	gmtime_r(&t, &tm);
	int y = tm.tm_year + 1900, m = tm.tm_mon + 1, d = tm.tm_mday;

	while (y <= EB_CRON_YEAR_MAX) {
		if (!year_matches(s, y) || !(s->months >> m & 1)) { /* skip the month */
			if (++m > 12) {
				m = 1;
				y++;
			}
			d = 1;
			from_min = 0;
			day = eb_days_from_civil(y, (unsigned)m, 1);
			continue;
		}
		if (day_matches(s, y, m, d)) {
			int t_min = first_minute(s, from_min);

			if (t_min >= 0)
				return day * 86400 + t_min * 60;
		}
		from_min = 0;
		day++;
		if (++d > month_days(y, m)) {
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
		}
	}
	return -1;
}

int64_t eb_schedule_next(const struct eb_schedule *s, int64_t anchor_s, int64_t after_s)
{
	if (s->kind == EB_SCHEDULE_CRON)
		return next_cron(s, after_s);
	if (after_s < anchor_s)
		return anchor_s + s->rate_s;
	int64_t k = (after_s - anchor_s) / s->rate_s + 1;

	return anchor_s + k * s->rate_s;
}

void eb_scheduled_event(struct strbuf *out, const char *rule_arn, const char *account,
			const char *region, int64_t fire_s)
{
	char id[37];
	const char *resources[] = { rule_arn };

	eb_uuid4(id);
	eb_envelope_write(out, &(struct eb_envelope){
				       .id = id,
				       .detail_type = "Scheduled Event",
				       .source = "aws.events",
				       .account = account,
				       .time_s = fire_s,
				       .region = region,
				       .resources = resources,
				       .n_resources = 1,
			       });
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * EventBridge schedule expressions (docs/eventbridge.md, "Schedules"):
 *
 *   rate(value unit)   value a positive integer, unit minute|hour|day, plural
 *                      exactly when value > 1; fires every value units from
 *                      the rule's creation (the anchor).
 *   cron(min hour day-of-month month day-of-week year)
 *                      six fields, UTC, one-minute resolution; lists (,),
 *                      ranges (-, wrapping: 20-2), steps (/), *, ? (in exactly
 *                      one of day-of-month and day-of-week), L, W, LW (day of
 *                      month), L, nL, n#k (day of week, 1 = SUN), names
 *                      JAN-DEC and SUN-SAT, years 1970-2199.
 *
 * Any invalid expression gets EventBridge's ValidationException "Parameter
 * ScheduleExpression is not valid."; eb_error.detail says what is wrong.
 */
#ifndef BPFBUS_EB_SCHEDULE_H
#define BPFBUS_EB_SCHEDULE_H

#include "eb_common.h"
#include "strbuf.h"

#include <stdbool.h>
#include <stdint.h>

#define EB_CRON_YEAR_MIN 1970
#define EB_CRON_YEAR_MAX 2199

enum eb_schedule_kind { EB_SCHEDULE_RATE, EB_SCHEDULE_CRON };

struct eb_schedule {
	enum eb_schedule_kind kind;
	int64_t rate_s; /* rate: the period */
	/* cron: bit n set = value n allowed */
	uint64_t minutes;
	uint32_t hours;
	uint32_t days; /* day-of-month 1-31 */
	uint16_t months; /* 1-12 */
	uint8_t weekdays; /* 1-7, 1 = Sunday */
	uint8_t years[(EB_CRON_YEAR_MAX - EB_CRON_YEAR_MIN) / 8 + 1];
	bool any_day; /* day-of-month is ? */
	bool any_weekday; /* day-of-week is ? */
	bool last_day; /* day-of-month L */
	bool last_workday; /* day-of-month LW */
	int near_workday; /* day-of-month nW: the weekday nearest day n, 0 = none */
	int last_weekday; /* day-of-week nL: the last weekday n of the month, 0 = none */
	int nth_weekday; /* day-of-week n#k: weekday n ... */
	int nth; /* ... the k-th (1-5) of the month, 0 = none */
};

/* Parse @expr. Returns 0, or -1 with @err set. */
int eb_schedule_parse(const char *expr, struct eb_schedule *out, struct eb_error *err);

/*
 * The first firing strictly after @after_s (seconds since the epoch, UTC).
 * Cron firings are at second 0 of their minute. Rate firings are at
 * @anchor_s + k * period for k >= 1 (@anchor_s: when the rule was created).
 * Returns -1 when a cron expression never fires again (its years are past).
 * A scheduler computes the next firing from the current time whenever it
 * starts, so firings missed while it was down are not made up.
 */
int64_t eb_schedule_next(const struct eb_schedule *s, int64_t anchor_s, int64_t after_s);

/* The event a scheduled rule fires: source aws.events, detail-type
 * "Scheduled Event", resources [rule ARN], detail {}. */
void eb_scheduled_event(struct strbuf *out, const char *rule_arn, const char *account,
			const char *region, int64_t fire_s);

#endif

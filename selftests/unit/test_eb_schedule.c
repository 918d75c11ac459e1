// SPDX-License-Identifier: BSD-2-Clause
/*
 * Schedule expressions (userspace/lib/eb_schedule.h): a table of cron and
 * rate expressions with their next firing times, worked out by hand from the
 * calendar (month ends, leap years, L, W, #, wrapping ranges, years), the
 * invalid expressions EventBridge refuses, and the Scheduled Event envelope.
 */
#include "eb_schedule.h"
#include "json.h"
#include "../harness.h"

static int64_t at(const char *rfc3339)
{
	int64_t ms;

	if (eb_time_parse(rfc3339, strlen(rfc3339), &ms))
		abort();
	return ms / 1000;
}

FIXTURE(next)
{
	struct eb_schedule s;
};

FIXTURE_VARIANT(next)
{
	const char *expr;
	const char *after;
	const char *want; /* NULL: never fires again */
};

/* Calendar anchors used below: 2024-01-01 Mon, 2024-03-01 Fri, 2024-06-01 Sat,
 * 2024-08-31 Sat, 2024-09-01 Sun, 2019-01-31 Thu, 2022-12-30 Fri. */
FIXTURE_VARIANT_ADD(next, daily_before){ "cron(0 10 * * ? *)", "2024-01-01T09:59:59Z",
					 "2024-01-01T10:00:00Z" };
FIXTURE_VARIANT_ADD(next, daily_strictly_after){ "cron(0 10 * * ? *)", "2024-01-01T10:00:00Z",
						 "2024-01-02T10:00:00Z" };
FIXTURE_VARIANT_ADD(next, year_end){ "cron(15 12 * * ? *)", "2023-12-31T12:15:00Z",
				     "2024-01-01T12:15:00Z" };
FIXTURE_VARIANT_ADD(next, weekdays_skip_weekend){ "cron(0 18 ? * MON-FRI *)",
						  "2024-03-01T18:00:00Z", "2024-03-04T18:00:00Z" };
FIXTURE_VARIANT_ADD(next, first_of_month){ "cron(0 8 1 * ? *)", "2024-01-31T23:00:00Z",
					   "2024-02-01T08:00:00Z" };
FIXTURE_VARIANT_ADD(next, every_15_minutes){ "cron(0/15 * * * ? *)", "2024-01-01T00:14:30Z",
					     "2024-01-01T00:15:00Z" };
FIXTURE_VARIANT_ADD(next, every_10_weekdays){ "cron(0/10 * ? * MON-FRI *)", "2024-03-02T00:00:00Z",
					      "2024-03-04T00:00:00Z" };
FIXTURE_VARIANT_ADD(next, office_hours_end){ "cron(0/5 8-17 ? * MON-FRI *)", "2024-03-04T17:55:00Z",
					     "2024-03-05T08:00:00Z" };
FIXTURE_VARIANT_ADD(next, wrapping_hours_early){ "cron(0/30 20-2 ? * MON-FRI *)",
						 "2024-03-04T02:00:00Z", "2024-03-04T02:30:00Z" };
FIXTURE_VARIANT_ADD(next, wrapping_hours_gap){ "cron(0/30 20-2 ? * MON-FRI *)",
					       "2024-03-04T02:30:00Z", "2024-03-04T20:00:00Z" };
FIXTURE_VARIANT_ADD(next, last_friday_2019){ "cron(15 10 ? * 6L 2019-2022)", "2019-01-01T00:00:00Z",
					     "2019-01-25T10:15:00Z" };
FIXTURE_VARIANT_ADD(next, last_friday_ends){ "cron(15 10 ? * 6L 2019-2022)", "2022-12-30T10:15:00Z",
					     NULL };
FIXTURE_VARIANT_ADD(next, last_day_leap_february){ "cron(0 0 L * ? *)", "2024-02-01T00:00:00Z",
						   "2024-02-29T00:00:00Z" };
FIXTURE_VARIANT_ADD(next, last_day_common_february){ "cron(0 0 L * ? *)", "2023-02-01T00:00:00Z",
						     "2023-02-28T00:00:00Z" };
FIXTURE_VARIANT_ADD(next, last_day_after_30){ "cron(0 0 L * ? *)", "2024-04-30T00:00:00Z",
					      "2024-05-31T00:00:00Z" };
FIXTURE_VARIANT_ADD(next, feb_29_next_leap){ "cron(0 0 29 2 ? *)", "2024-03-01T00:00:00Z",
					     "2028-02-29T00:00:00Z" };
FIXTURE_VARIANT_ADD(next, feb_29_skips_2100){ "cron(0 0 29 FEB ? *)", "2096-03-01T00:00:00Z",
					      "2104-02-29T00:00:00Z" };
FIXTURE_VARIANT_ADD(next, day_31_skips_april){ "cron(0 0 31 * ? *)", "2024-04-01T00:00:00Z",
					       "2024-05-31T00:00:00Z" };
FIXTURE_VARIANT_ADD(next, w_saturday_to_friday){ "cron(0 9 15W * ? *)", "2024-06-01T00:00:00Z",
						 "2024-06-14T09:00:00Z" };
FIXTURE_VARIANT_ADD(next, w_sunday_to_monday){ "cron(0 9 15W * ? *)", "2024-09-01T00:00:00Z",
					       "2024-09-16T09:00:00Z" };
FIXTURE_VARIANT_ADD(next, w_first_stays_in_month){ "cron(0 9 1W * ? *)", "2024-05-01T09:00:00Z",
						   "2024-06-03T09:00:00Z" };
FIXTURE_VARIANT_ADD(next, lw_sunday_end){ "cron(0 9 LW * ? *)", "2024-06-01T00:00:00Z",
					  "2024-06-28T09:00:00Z" };
FIXTURE_VARIANT_ADD(next, lw_saturday_end){ "cron(0 9 LW * ? *)", "2024-08-01T00:00:00Z",
					    "2024-08-30T09:00:00Z" };
FIXTURE_VARIANT_ADD(next, second_tuesday){ "cron(0 12 ? * 3#2 *)", "2024-03-01T00:00:00Z",
					   "2024-03-12T12:00:00Z" };
FIXTURE_VARIANT_ADD(next, fifth_monday_january){ "cron(0 12 ? * MON#5 *)", "2024-01-01T12:00:00Z",
						 "2024-01-29T12:00:00Z" };
FIXTURE_VARIANT_ADD(next, fifth_monday_skips_months){ "cron(0 12 ? * MON#5 *)",
						      "2024-01-29T12:00:00Z",
						      "2024-04-29T12:00:00Z" };
FIXTURE_VARIANT_ADD(next, l_weekday_is_saturday){ "cron(0 0 ? * L *)", "2024-03-01T00:00:00Z",
						  "2024-03-02T00:00:00Z" };
FIXTURE_VARIANT_ADD(next, minute_list){ "cron(5,35 14 * * ? *)", "2024-01-01T14:05:00Z",
					"2024-01-01T14:35:00Z" };
FIXTURE_VARIANT_ADD(next, month_names_any_case){ "cron(0 0 1 JAN,jul ? 2025)",
						 "2024-06-01T00:00:00Z", "2025-01-01T00:00:00Z" };
FIXTURE_VARIANT_ADD(next, month_names_second){ "cron(0 0 1 JAN,jul ? 2025)", "2025-01-01T00:00:00Z",
					       "2025-07-01T00:00:00Z" };
FIXTURE_VARIANT_ADD(next, single_year_over){ "cron(0 0 1 JAN,jul ? 2025)", "2025-07-01T00:00:00Z",
					     NULL };
FIXTURE_VARIANT_ADD(next, last_possible_minute){ "cron(59 23 31 DEC ? 2199)",
						 "2199-01-01T00:00:00Z", "2199-12-31T23:59:00Z" };
FIXTURE_VARIANT_ADD(next, nothing_after_2199){ "cron(59 23 31 DEC ? 2199)", "2199-12-31T23:59:00Z",
					       NULL };
FIXTURE_VARIANT_ADD(next, wrapping_weekdays){ "cron(0 0 ? * FRI-MON *)", "2024-03-05T00:00:00Z",
					      "2024-03-08T00:00:00Z" };
FIXTURE_VARIANT_ADD(next, star_step){ "cron(*/20 * * * ? *)", "2024-01-01T00:40:00Z",
				      "2024-01-01T01:00:00Z" };
FIXTURE_VARIANT_ADD(next, range_step){ "cron(10-50/20 * * * ? *)", "2024-01-01T00:31:00Z",
				       "2024-01-01T00:50:00Z" };
FIXTURE_VARIANT_ADD(next, day_list_and_range){ "cron(0 6 1,10-11,29 * ? *)", "2024-02-11T06:00:00Z",
					       "2024-02-29T06:00:00Z" };

FIXTURE_SETUP(next)
{
	struct eb_error err;

	ASSERT_EQ(0, eb_schedule_parse(variant->expr, &self->s, &err));
	ASSERT_EQ(EB_SCHEDULE_CRON, self->s.kind);
}

FIXTURE_TEARDOWN(next)
{
}

TEST_F(next, firing_time)
{
	int64_t got = eb_schedule_next(&self->s, 0, at(variant->after));

	if (!variant->want) {
		EXPECT_EQ(-1, got);
		return;
	}
	char when[EB_TIME_LEN];

	eb_time_format(got, when);
	EXPECT_STREQ(variant->want, when);
}

TEST(rate_from_anchor)
{
	struct eb_schedule s;
	struct eb_error err;
	const int64_t a = at("2024-01-01T10:00:07Z");

	ASSERT_EQ(0, eb_schedule_parse("rate(5 minutes)", &s, &err));
	EXPECT_EQ(EB_SCHEDULE_RATE, s.kind);
	EXPECT_EQ(300, s.rate_s);
	EXPECT_EQ(a + 300, eb_schedule_next(&s, a, a - 1000)); /* before creation */
	EXPECT_EQ(a + 300, eb_schedule_next(&s, a, a));
	EXPECT_EQ(a + 300, eb_schedule_next(&s, a, a + 299));
	EXPECT_EQ(a + 600, eb_schedule_next(&s, a, a + 300));
	EXPECT_EQ(a + 3000, eb_schedule_next(&s, a, a + 2999));
	ASSERT_EQ(0, eb_schedule_parse("rate(1 minute)", &s, &err));
	EXPECT_EQ(60, s.rate_s);
	ASSERT_EQ(0, eb_schedule_parse("rate(1 hour)", &s, &err));
	EXPECT_EQ(3600, s.rate_s);
	ASSERT_EQ(0, eb_schedule_parse("rate(2 hours)", &s, &err));
	EXPECT_EQ(7200, s.rate_s);
	ASSERT_EQ(0, eb_schedule_parse("rate(1 day)", &s, &err));
	EXPECT_EQ(86400, s.rate_s);
	ASSERT_EQ(0, eb_schedule_parse("rate(365 days)", &s, &err));
	EXPECT_EQ(365 * 86400, s.rate_s);
}

FIXTURE(invalid)
{
	struct eb_error err;
};

FIXTURE_VARIANT(invalid)
{
	const char *expr;
	const char *detail;
};

FIXTURE_VARIANT_ADD(invalid, empty){ "", "expected rate(...) or cron(...)" };
FIXTURE_VARIANT_ADD(invalid, words){ "every 5 minutes", "expected rate(...) or cron(...)" };
FIXTURE_VARIANT_ADD(invalid, upper_case){ "CRON(0 0 * * ? *)", "expected rate(...) or cron(...)" };
FIXTURE_VARIANT_ADD(invalid, unclosed){ "rate(1 minute", "expected rate(...) or cron(...)" };
FIXTURE_VARIANT_ADD(invalid, rate_zero){ "rate(0 minutes)",
					 "rate value must be a positive integer" };
FIXTURE_VARIANT_ADD(invalid, rate_negative){ "rate(-1 minute)",
					     "rate value must be a positive integer" };
FIXTURE_VARIANT_ADD(invalid, rate_leading_zero){ "rate(05 minutes)",
						 "rate value must be a positive integer" };
FIXTURE_VARIANT_ADD(invalid,
		    rate_fraction){ "rate(1.5 hours)",
				    "rate takes a value and a unit separated by one space" };
FIXTURE_VARIANT_ADD(invalid, rate_two_spaces){ "rate(1  minute)",
					       "rate unit must be minute(s), hour(s) or day(s)" };
FIXTURE_VARIANT_ADD(invalid,
		    rate_no_space){ "rate(1minute)",
				    "rate takes a value and a unit separated by one space" };
FIXTURE_VARIANT_ADD(invalid, rate_one_plural){ "rate(1 hours)",
					       "the unit is singular for 1 and plural above 1" };
FIXTURE_VARIANT_ADD(invalid, rate_many_singular){ "rate(5 hour)",
						  "the unit is singular for 1 and plural above 1" };
FIXTURE_VARIANT_ADD(invalid, rate_weeks){ "rate(1 week)",
					  "rate unit must be minute(s), hour(s) or day(s)" };
FIXTURE_VARIANT_ADD(invalid, rate_seconds){ "rate(30 seconds)",
					    "rate unit must be minute(s), hour(s) or day(s)" };
FIXTURE_VARIANT_ADD(invalid, five_fields){ "cron(0 10 * * ?)", "cron takes six fields" };
FIXTURE_VARIANT_ADD(invalid, seven_fields){ "cron(0 10 * * ? * *)", "cron takes six fields" };
FIXTURE_VARIANT_ADD(invalid, no_question_mark){ "cron(0 10 * * * *)",
						"exactly one of day-of-month and day-of-week "
						"must be ?" };
FIXTURE_VARIANT_ADD(invalid, day_and_weekday){ "cron(0 0 * * MON *)",
					       "exactly one of day-of-month and day-of-week must "
					       "be ?" };
FIXTURE_VARIANT_ADD(invalid, two_question_marks){ "cron(0 10 ? * ? *)",
						  "exactly one of day-of-month and day-of-week "
						  "must be ?" };
FIXTURE_VARIANT_ADD(invalid, minute_60){ "cron(60 10 * * ? *)", "bad value '60' in minutes" };
FIXTURE_VARIANT_ADD(invalid, hour_24){ "cron(0 24 * * ? *)", "bad value '24' in hours" };
FIXTURE_VARIANT_ADD(invalid, day_32){ "cron(0 0 32 * ? *)", "bad value '32' in day-of-month" };
FIXTURE_VARIANT_ADD(invalid, day_0){ "cron(0 0 0 * ? *)", "bad value '0' in day-of-month" };
FIXTURE_VARIANT_ADD(invalid, month_13){ "cron(0 0 * 13 ? *)", "bad value '13' in month" };
FIXTURE_VARIANT_ADD(invalid, month_name){ "cron(0 0 * FOO ? *)", "bad value 'FOO' in month" };
FIXTURE_VARIANT_ADD(invalid, weekday_8){ "cron(0 0 ? * 8 *)", "bad value '8' in day-of-week" };
FIXTURE_VARIANT_ADD(invalid, weekday_0){ "cron(0 0 ? * 0 *)", "bad value '0' in day-of-week" };
FIXTURE_VARIANT_ADD(invalid, year_1969){ "cron(0 0 * * ? 1969)", "bad value '1969' in year" };
FIXTURE_VARIANT_ADD(invalid, year_2200){ "cron(0 0 * * ? 2200)", "bad value '2200' in year" };
FIXTURE_VARIANT_ADD(invalid, two_hashes){ "cron(0 0 ? * 3#1,6#3 *)",
					  "bad day-of-week '3#1,6#3': # takes one day and 1-5" };
FIXTURE_VARIANT_ADD(invalid, sixth_week){ "cron(0 0 ? * 3#6 *)",
					  "bad day-of-week '3#6': # takes one day and 1-5" };
FIXTURE_VARIANT_ADD(invalid, zeroth_week){ "cron(0 0 ? * MON#0 *)",
					   "bad day-of-week 'MON#0': # takes one day and 1-5" };
FIXTURE_VARIANT_ADD(invalid, w_day_32){ "cron(0 0 32W * ? *)", "bad day '32' before W" };
FIXTURE_VARIANT_ADD(invalid, l_weekday_9){ "cron(0 0 ? * 9L *)", "bad day of week '9' before L" };
FIXTURE_VARIANT_ADD(invalid, l_minus){ "cron(0 0 L-2 * ? *)", "bad range 'L-2' in day-of-month" };
FIXTURE_VARIANT_ADD(invalid, w_in_weekday){ "cron(0 0 ? * 2W *)", "bad value '2W' in day-of-week" };
FIXTURE_VARIANT_ADD(invalid, step_zero){ "cron(0/0 * * * ? *)", "bad step '0' in minutes" };
FIXTURE_VARIANT_ADD(invalid, letters){ "cron(a * * * ? *)", "bad value 'a' in minutes" };
FIXTURE_VARIANT_ADD(invalid, empty_item){ "cron(0 0 1,,2 * ? *)", "empty item in day-of-month" };
FIXTURE_VARIANT_ADD(invalid, question_in_minutes){ "cron(? 0 * * ? *)",
						   "bad value '?' in minutes" };
FIXTURE_VARIANT_ADD(invalid, half_range){ "cron(5- * * * ? *)", "bad range '5-' in minutes" };

FIXTURE_SETUP(invalid)
{
}

FIXTURE_TEARDOWN(invalid)
{
}

TEST_F(invalid, rejected)
{
	struct eb_schedule s;

	EXPECT_EQ(-1, eb_schedule_parse(variant->expr, &s, &self->err));
	EXPECT_STREQ("ValidationException", self->err.code);
	EXPECT_STREQ("Parameter ScheduleExpression is not valid.", self->err.message);
	EXPECT_STREQ(variant->detail, self->err.detail);
}

TEST(scheduled_event_envelope)
{
	struct strbuf sb = STRBUF_INIT;
	const char *arn = "arn:aws:events:eu-west-1:123456789012:rule/nightly";

	eb_scheduled_event(&sb, arn, "123456789012", "eu-west-1", at("2024-02-29T00:00:00Z"));
	struct json_doc *d = json_parse(sb.buf, sb.len, true);
	const struct json_value *ev = json_doc_root(d);

	ASSERT_NE_NULL(ev);
	const char *id = json_get(ev, "id")->u.str.s;
	char want[512];

	EXPECT_EQ(36, strlen(id));
	snprintf(want, sizeof(want),
		 "{\"version\":\"0\",\"id\":\"%s\",\"detail-type\":\"Scheduled Event\","
		 "\"source\":\"aws.events\",\"account\":\"123456789012\","
		 "\"time\":\"2024-02-29T00:00:00Z\",\"region\":\"eu-west-1\","
		 "\"resources\":[\"%s\"],\"detail\":{}}",
		 id, arn);
	EXPECT_STREQ(want, sb.buf);
	json_doc_free(d);
	sb_free(&sb);
}

TEST(every_minute_for_a_leap_year)
{
	struct eb_schedule s;
	struct eb_error err;
	int64_t t = at("2024-01-01T00:00:00Z") - 1, end = at("2025-01-01T00:00:00Z");
	long n = 0;

	/* Every firing of cron(* * * * ? *) through 2024 is the next minute. */
	ASSERT_EQ(0, eb_schedule_parse("cron(* * * * ? *)", &s, &err));
	while ((t = eb_schedule_next(&s, 0, t)) < end) {
		ASSERT_EQ(0, t % 60);
		n++;
	}
	EXPECT_EQ(366L * 24 * 60, n);
}

TEST_HARNESS_MAIN

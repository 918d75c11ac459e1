/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Pieces shared by the EventBridge libraries (eb_event, eb_transform,
 * eb_schedule, archive): the error they report, event ids and EventBridge's
 * time format.
 */
#ifndef BPFBUS_EB_COMMON_H
#define BPFBUS_EB_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * An EventBridge error: @code is the AWS error type ("ValidationException",
 * "InvalidArgument", ...), @message the text as EventBridge words it.
 */
struct eb_error {
	char code[64];
	char message[1024];
	char detail[256]; /* our explanation where AWS's message says only "not valid", else "" */
};

void eb_error_set(struct eb_error *err, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A random (version 4) UUID, lower-case with dashes. */
void eb_uuid4(char out[37]);

/* EventBridge's event time: RFC 3339 in UTC to the second, "2015-11-11T21:29:54Z". */
#define EB_TIME_LEN 21
void eb_time_format(int64_t epoch_s, char out[EB_TIME_LEN]);

/*
 * Parse an RFC 3339 / ISO 8601 timestamp ("2015-11-11T21:29:54Z", with an
 * optional fraction and a "Z" or "+hh:mm" offset) into milliseconds since the
 * epoch. Returns 0, or -1 when @s is not such a timestamp.
 */
int eb_time_parse(const char *s, size_t len, int64_t *epoch_ms);

/*
 * EventBridge's ARNs: arn:aws:events:REGION:ACCOUNT:rule/NAME for a rule of
 * the default bus, rule/BUS/NAME for a rule of another, event-bus/NAME for a
 * bus. Truncated to @cap like snprintf.
 */
#define EB_DEFAULT_BUS "default"
void eb_rule_arn(char *buf, size_t cap, const char *region, const char *account, const char *bus,
		 const char *rule);
void eb_bus_arn(char *buf, size_t cap, const char *region, const char *account, const char *bus);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
int64_t eb_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif

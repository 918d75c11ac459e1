// SPDX-License-Identifier: BSD-2-Clause
/* Levelled log lines on stderr: "bpfbusd: <level>: <message>". */
#include "bpfbusd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum bbd_log_level bbd_log_level = LOG_INFO_;

static const char *const names[] = { "error", "warn", "info", "debug" };

int bbd_log_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

void bbd_log(enum bbd_log_level lvl, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	if (lvl > bbd_log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* one write per line, so lines from libraries do not interleave mid-line */
	fprintf(stderr, "bpfbusd: %s: %s\n", names[lvl], buf);
}

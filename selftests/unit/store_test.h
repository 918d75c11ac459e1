/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the store test fixtures share: a start time, a clock the test moves
 * by hand, and removing the flat store directory.
 */
#ifndef BPFBUS_SELFTESTS_STORE_TEST_H
#define BPFBUS_SELFTESTS_STORE_TEST_H

#include "flatdir.h"

#include <stdint.h>
#include <sys/stat.h>

#define T0 1700000000000LL /* the fixture's start time, ms */

static __attribute__((unused)) int64_t qt_clock(void *ctx)
{
	return *(int64_t *)ctx;
}

/* The store directory is flat (data.mdb, lock.mdb). */
static __attribute__((unused)) void qt_rmrf(const char *dir)
{
	flatdir_remove(dir);
}

#endif

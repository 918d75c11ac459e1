/* SPDX-License-Identifier: BSD-2-Clause */
/* A test's flat temporary directory: made under /tmp, removed with its files
 * (no subdirectories). */
#ifndef BPFBUS_SELFTESTS_FLATDIR_H
#define BPFBUS_SELFTESTS_FLATDIR_H

#include <dirent.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * Make /tmp/bpfbus-@name-<unique> in @buf (mkdtemp: the template ends in six
 * 'X' that it replaces); @buf on success, NULL with errno on failure.
 */
static __attribute__((unused)) char *flatdir_make(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "/tmp/bpfbus-%s-", name);

	if (n < 0 || (size_t)n + 7 > len)
		return NULL;
	memset(buf + n, 'X', 6);
	buf[n + 6] = '\0';
	return mkdtemp(buf);
}

static __attribute__((unused)) void flatdir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];

	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/* Removing a test's flat temporary directory (files only, no subdirectories). */
#ifndef BPFBUS_SELFTESTS_FLATDIR_H
#define BPFBUS_SELFTESTS_FLATDIR_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

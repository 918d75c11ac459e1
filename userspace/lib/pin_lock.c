// SPDX-License-Identifier: BSD-2-Clause
/* The pin directory's owner (pin_lock.h). */
#include "pin_lock.h"
#include "datapath.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

static int lock_dir(const char *pin_dir, int op)
{
	int fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (flock(fd, op)) {
		int err = errno;

		if (err == EINTR)
			continue;
		close(fd);
		return err == EWOULDBLOCK ? -EBUSY : -err;
	}
	return fd;
}

int bb_pin_claim(const char *pin_dir, bool wait)
{
	int err = bb_bpffs_prepare(pin_dir);

	return err < 0 ? err : lock_dir(pin_dir, wait ? LOCK_SH : LOCK_SH | LOCK_NB);
}

int bb_pin_lock_local(const char *pin_dir)
{
	return lock_dir(pin_dir, LOCK_EX | LOCK_NB);
}

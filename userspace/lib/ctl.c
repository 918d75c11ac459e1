// SPDX-License-Identifier: BSD-2-Clause
/* Control protocol framing. See ctl.h. */
#include "ctl.h"
#include "strbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

const char *bb_ctl_path(void)
{
	const char *p = getenv("BPFBUS_CONTROL");

	return p && *p ? p : BB_CTL_PATH;
}

int bb_ctl_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int bb_ctl_write(int fd, const void *buf, size_t len)
{
	uint8_t hdr[4] = { len >> 24, len >> 16, len >> 8, len };
	int err;

	if (len > BB_CTL_MAX_FRAME)
		return -EMSGSIZE;
	err = write_all(fd, hdr, sizeof(hdr));
	return err ? err : write_all(fd, buf, len);
}

long bb_ctl_frame(const uint8_t *buf, size_t len)
{
	if (len < 4)
		return 0;
	uint32_t n =
		(uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];

	if (n > BB_CTL_MAX_FRAME)
		return -EPROTO;
	return len - 4 >= n ? (long)n : 0;
}

int bb_ctl_read(int fd, struct strbuf *out)
{
	uint8_t hdr[4];
	int err = read_all(fd, hdr, sizeof(hdr));

	sb_reset(out);
	if (err)
		return err;
	uint32_t n =
		(uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];

	if (n > BB_CTL_MAX_FRAME)
		return -EPROTO;
	sb_reserve(out, n);
	err = read_all(fd, out->buf, n);
	if (err)
		return err;
	out->len = n;
	out->buf[n] = 0;
	return 0;
}

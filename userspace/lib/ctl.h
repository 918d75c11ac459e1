/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control protocol between bpfbusd and its clients (docs/daemon.md):
 * a Unix stream socket carrying frames, each a 4-byte big-endian length and
 * that many bytes of one JSON document. A client sends a request
 * {"op": "...", ...} and reads one response {"ok": true, "result": ...} or
 * {"ok": false, "error": "Code", "message": "..."} per request, in order.
 */
#ifndef BPFBUS_LIB_CTL_H
#define BPFBUS_LIB_CTL_H

#include <stddef.h>
#include <stdint.h>

#define BB_CTL_PATH "/run/bpfbus/control.sock"
/* Largest frame either side accepts (a batch of ten 1 MiB messages, escaped). */
#define BB_CTL_MAX_FRAME (32U << 20)

struct strbuf;

/* $BPFBUS_CONTROL, else BB_CTL_PATH. */
const char *bb_ctl_path(void);
/* Connect to @path; fd or -errno. */
int bb_ctl_connect(const char *path);
/* Write one frame (blocking). 0 or -errno. */
int bb_ctl_write(int fd, const void *buf, size_t len);
/* Read one frame (blocking) into @out (reset first). 0, -errno, or -EPROTO when too long. */
int bb_ctl_read(int fd, struct strbuf *out);
/*
 * Frame boundary in a receive buffer: the payload length when @len bytes
 * hold a whole frame, 0 when more bytes are needed, -EPROTO when too long.
 */
long bb_ctl_frame(const uint8_t *buf, size_t len);

#endif

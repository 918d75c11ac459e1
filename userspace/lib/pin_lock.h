/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Who writes the pinned tables. bpfbusd compiles its whole model into them
 * (rules, archives as target-less entries, topics' filter policies, the
 * buses' flags); the CLI compiling one rule file beside it would drop the
 * rest from the kernel. So bpfbusd holds a shared flock(2) on the pin
 * directory for its whole life, and the CLI's daemonless writes take it
 * exclusively without waiting: refused while any bpfbusd runs on those
 * pins (even one whose control socket the CLI does not find), and a daemon
 * starting meanwhile waits until the CLI's edit is done. The kernel drops
 * the lock when its holder exits, however it exits.
 */
#ifndef BPFBUS_LIB_PIN_LOCK_H
#define BPFBUS_LIB_PIN_LOCK_H

#include <stdbool.h>

/*
 * bpfbusd: its claim on @pin_dir (created when missing); the fd to keep
 * open, or -errno. Without @wait, -EBUSY while a daemonless write holds it.
 */
int bb_pin_claim(const char *pin_dir, bool wait);

/*
 * The CLI, before writing the pinned maps itself: the fd to close once
 * done, -ENOENT when @pin_dir does not exist (nothing pinned, nobody owns
 * it), -EBUSY while a bpfbusd holds it, or another -errno.
 */
int bb_pin_lock_local(const char *pin_dir);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Rule-id lists that reach an AF_XDP receiver through the ring buffer, ahead
 * of their frames (BPFBUS_META_F_IDS_RECORD): kept by handle until the frame
 * comes. A frame whose record is gone (evicted, or never written because the
 * ring was full) falls back to the userspace matcher, so this table may
 * forget; it must only never hand out another frame's ids.
 */
#ifndef BPFBUS_LIB_RX_IDS_H
#define BPFBUS_LIB_RX_IDS_H

#include <stdint.h>

struct rx_ids;

struct rx_ids *rx_ids_new(void);
void rx_ids_free(struct rx_ids *t);

/* Keep a copy of @n ids under @handle; 0, or -ENOMEM. */
int rx_ids_put(struct rx_ids *t, uint64_t handle, const uint32_t *ids, uint32_t n);

/* The ids kept under @handle (removed from the table), or NULL. The array
 * stays valid until the next rx_ids_put. */
const uint32_t *rx_ids_take(struct rx_ids *t, uint64_t handle, uint32_t *n);

#endif

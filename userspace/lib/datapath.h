/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The XDP datapath from userspace: loading bpf/bpfbus.bpf.c with its maps
 * pinned, attaching it to interfaces with libxdp, and the pinned maps (buses,
 * counters) read and written without any daemon. The ABI is
 * include/bpfbus/datapath.h; docs/kernel.md, "The datapath".
 */
#ifndef BPFBUS_LIB_DATAPATH_H
#define BPFBUS_LIB_DATAPATH_H

#include "bpfbus/datapath.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The pin directory: the last bb_set_pin_dir(), else $BPFBUS_PIN_DIR, else
 * BPFBUS_PIN_DIR (/sys/fs/bpf/bpfbus).
 */
const char *bb_pin_dir(void);
void bb_set_pin_dir(const char *dir);

/*
 * Make @pin_dir usable: mount bpffs on /sys/fs/bpf when nothing is mounted
 * there (libxdp needs it too), then create @pin_dir, which must be on a bpffs.
 * Returns 0 or -errno (with a message on stderr).
 */
int bb_bpffs_prepare(const char *pin_dir);

/* Messages of this library go here; default: "bpfbus: ...\n" on stderr. */
extern void (*bb_dp_log)(const char *msg);

struct bb_dp_opts {
	const char *pin_dir; /* NULL: bb_pin_dir() */
	uint16_t port; /* 0: BPFBUS_DEFAULT_PORT */
	enum bpfbus_handoff handoff;
	uint32_t ring_size; /* 0: BPFBUS_RING_SIZE (a power of 2, >= page size) */
};

struct bb_dp;

/* Open the object (not loaded): pin directory prepared, .rodata set. */
int bb_dp_open(struct bb_dp **dp, const struct bb_dp_opts *opts);
/* Load it without attaching (tests, creating the pinned maps). */
int bb_dp_load(struct bb_dp *dp);
/*
 * Load and attach to @ifindex with libxdp, native mode (generic with
 * @generic). Where the multi-program dispatcher is refused, the program is
 * attached alone and one line says so. Returns 0 or -errno.
 */
int bb_dp_attach(struct bb_dp *dp, int ifindex, bool generic);
/* Detach what bb_dp_attach attached (also done by bb_dp_close). */
int bb_dp_detach(struct bb_dp *dp);
/* Leave the program attached when bb_dp_close runs (bpfbus link attach). */
void bb_dp_keep_attached(struct bb_dp *dp);
/* True when the last attach fell back to a single program (no dispatcher). */
bool bb_dp_legacy(const struct bb_dp *dp);
/* fd of a map of the loaded object (BPFBUS_MAP_*), or -ENOENT. */
int bb_dp_map_fd(struct bb_dp *dp, const char *name);
int bb_dp_prog_fd(struct bb_dp *dp);
void bb_dp_close(struct bb_dp *dp);

/* XDP state of an interface, whoever attached it. */
#define BB_XDP_MAX_PROGS 10
struct bb_xdp_info {
	int n_progs; /* 0: nothing attached */
	bool dispatcher; /* libxdp's multi-program dispatcher */
	bool ours; /* bpfbus_xdp is among the programs */
	const char *mode; /* "native", "generic", "offload" */
	uint32_t ids[BB_XDP_MAX_PROGS];
	char names[BB_XDP_MAX_PROGS][16];
};
int bb_xdp_query(int ifindex, struct bb_xdp_info *info);
/* Detach bpfbus_xdp from @ifindex (only it). -ENOENT when it is not attached. */
int bb_xdp_detach_ifindex(int ifindex);

/* Pinned maps. Returns an fd or -errno. */
int bb_map_open_pinned(const char *pin_dir, const char *name);
/* Open a pinned map, creating every pinned map (by loading once) if missing. */
int bb_map_open_create(const char *pin_dir, const char *name);

/* Buses (fd: BPFBUS_MAP_BUSES). */
int bb_bus_name_ok(const char *name); /* 0 or enum bpfbus_wire_err */
/*
 * Add a bus (or topic) with the lowest free id; its counters (@stats_fd,
 * BPFBUS_MAP_BUS_STATS, or -1) are zeroed. -EEXIST: the name exists;
 * -ENOTUNIQ: another name has the same hash; -EINVAL: not a valid name.
 */
int bb_bus_add(int fd, int stats_fd, const char *name, enum bpfbus_bus_kind kind, uint32_t *id);
int bb_bus_delete(int fd, const char *name);
int bb_bus_find(int fd, const char *name, struct bpfbus_bus *bus); /* 0, -ENOENT */
int bb_bus_by_id(int fd, uint32_t id, struct bpfbus_bus *bus); /* 0, -ENOENT */
/* All buses sorted by id; *buses is malloc'ed (free it). Returns the count or -errno. */
int bb_bus_list(int fd, struct bpfbus_bus **buses);
const char *bb_bus_kind_name(int kind); /* "event", "topic" */

/* Counters summed over CPUs (fd: BPFBUS_MAP_BUS_STATS / _RULE_STATS). */
int bb_bus_stats_read(int fd, uint32_t id, struct bpfbus_bus_stats *sum);
int bb_rule_stats_read(int fd, uint32_t id, struct bpfbus_rule_stats *sum);
const char *bb_pass_reason_name(int reason); /* "malformed", "unknown_bus", ... */

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The XDP datapath (bpf/bpfbus.bpf.c) driven from userspace: real wire
 * datagrams, in real Ethernet/IPv4/UDP frames, through BPF_PROG_TEST_RUN,
 * with the program's own private maps (nothing pinned). One bus or topic,
 * whose rule tables are reloaded per ruleset. `bpfbus filter-policy test
 * --engine kernel|both` runs SNS publishes through it; the selftests use it
 * for table-driven topic cases.
 */
#ifndef BPFBUS_KDATAPATH_H
#define BPFBUS_KDATAPATH_H

#include "kengine.h"
#include "ruleset.h"

#include <stddef.h>
#include <stdint.h>

struct kdp;

/* Load the datapath for one bus (@kind BPFBUS_BUS_EVENT) or topic
 * (BPFBUS_BUS_TOPIC) named @name with id @id; NULL with @err. */
struct kdp *kdp_open(uint8_t kind, const char *name, uint32_t id, char *err, size_t err_len);
void kdp_close(struct kdp *k);

/* Compile @rs into the idle table slot, every rule the bus's, and switch
 * the bus to the new generation. */
int kdp_load(struct kdp *k, const struct bb_ruleset *rs, char *err, size_t err_len);

/*
 * Send one datagram (SNS: @attrs, possibly empty, and the Message @body;
 * event: @body) through the program. The verdict is the program's: DROP
 * (XDP_DROP, no record), MATCH or VERIFY (a ring-buffer record, with the
 * matched ids or the VERIFY reasons), PASS (XDP_PASS: slow path). 0 or
 * -errno (-E2BIG: the frame is larger than a test run takes).
 */
int kdp_send(struct kdp *k, const char *attrs, size_t attrs_len, const char *body, size_t body_len,
	     struct kresult *r);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Rules in the datapath without a daemon: each bus's rule file is kept in
 * the state directory (rules/<bus>.json, the rule-file format of
 * rulefile.h), and a reload compiles every bus's rules into the idle table
 * slot of the pinned maps, then switches each bus to the new generation with
 * one map update (an event in flight sees exactly one version).
 */
#ifndef BPFBUS_RULES_DP_H
#define BPFBUS_RULES_DP_H

#include <stddef.h>
#include <stdint.h>

/* $BPFBUS_STATE_DIR, else /var/lib/bpfbus. */
const char *bb_state_dir(void);

/*
 * Validate @text as @bus's rule file and store it (NULL or "" removes the
 * bus's rules). Returns 0 or -1 with @err naming the rule and the reason.
 */
int bb_rules_store(const char *state_dir, const char *bus, const char *text, size_t len,
		   char *err, size_t err_len);

struct bb_reload {
	uint32_t gen;	/* generation now live */
	size_t n_rules; /* over all buses */
	size_t n_buses;
};

/* Compile every bus's stored rules into the pinned tables and switch. */
int bb_rules_reload(const char *pin_dir, const char *state_dir, struct bb_reload *out,
		    char *err, size_t err_len);

#endif

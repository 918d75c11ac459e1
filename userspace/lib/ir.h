/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The intermediate representation both pattern languages compile to.
 *
 * A rule is an OR of branches ($or expands into branches); a branch is an AND
 * of fields; a field is a flattened path ("detail.state") with an OR of value
 * matchers. The ruleset (ruleset.c) turns these into lookup tables; the
 * kernel tables will be built from the same IR.
 */
#ifndef BPFBUS_IR_H
#define BPFBUS_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Type of a JSON leaf value, as the matcher distinguishes them. */
enum vtype {
	VT_STRING = 1,
	VT_NUMBER,
	VT_NULL,
	VT_TRUE,
	VT_FALSE,
};

enum mop {
	MOP_EXACT = 1,	  /* typed value; numbers compare as doubles */
	MOP_PREFIX,	  /* strings only */
	MOP_SUFFIX,
	MOP_EIC,	  /* equals-ignore-case */
	MOP_PREFIX_EIC,
	MOP_SUFFIX_EIC,
	MOP_WILDCARD,
	MOP_NUMERIC,	  /* numbers only, an interval */
	MOP_CIDR,	  /* strings holding an IP address */
	MOP_EXISTS,	  /* any leaf */
	MOP_ABSENT,	  /* exists:false: no leaf at the path */
	MOP_ANYTHING_BUT, /* some leaf not excluded by any of the sub-matchers */
};

struct ir_matcher {
	enum mop op;
	enum vtype vtype; /* MOP_EXACT */
	char *s;	  /* string operand, unescaped (folded for *_EIC) */
	size_t len;
	double num;	  /* MOP_EXACT numbers */
	/* MOP_NUMERIC: the interval */
	double lo, hi;
	bool lo_open, hi_open;
	/* MOP_CIDR: the address range [addr, addr_hi] */
	uint8_t addr[16], addr_hi[16];
	bool v6;
	/* MOP_ANYTHING_BUT: excluded values (EXACT/PREFIX/SUFFIX/EIC/WILDCARD) */
	struct ir_matcher *excl;
	size_t n_excl;
};

struct ir_field {
	char *path; /* keys joined with '.', as EventBridge flattens them */
	size_t path_len;
	unsigned depth; /* nesting level of the key in the pattern (1 = top) */
	struct ir_matcher *m;
	size_t n_m;
};

struct ir_branch {
	struct ir_field *fields;
	size_t n_fields;
};

struct ir_rule {
	struct ir_branch *branches;
	size_t n_branches;
};

void ir_rule_free(struct ir_rule *r);
void ir_matcher_free(struct ir_matcher *m);

/* Dialect of the pattern grammar. */
enum ir_dialect {
	DIALECT_EVENTBRIDGE,
	DIALECT_SNS_ATTRIBUTES,
	DIALECT_SNS_BODY,
};

/*
 * Compile pattern/policy text into @out. On error returns false and writes
 * the bare reason (no service prefix) into @reason and the flattened path of
 * the offending field into @where ("" for the whole document).
 */
bool ir_compile(const char *text, size_t len, enum ir_dialect dialect,
		struct ir_rule *out, char *reason, size_t reason_len,
		char *where, size_t where_len);

#endif

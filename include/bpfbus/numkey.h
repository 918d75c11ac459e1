/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Order keys for JSON numbers, computed the same way by the kernel (from an
 * event's number text) and by userspace (from a pattern's number). The BPF
 * side has no floating point, so numbers are compared as decimals.
 *
 * A number with at most 15 significant digits is written 0.d1..d15 x 10^E
 * (d1 != 0, padded with zeros to 15 digits) and keyed as
 *     sign bit | (E + 1024) << 50 | d1..d15
 * with negative numbers' magnitude bits inverted, so keys order like values
 * and equal values share one key (5, 5.0, 5e0, 0.5e1 all agree). Decimals of
 * up to 15 significant digits are distinct doubles, so equal keys means
 * equal doubles; anything longer is refused (-1) and the kernel asks
 * userspace to decide.
 */
#ifndef BPFBUS_NUMKEY_H
#define BPFBUS_NUMKEY_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define BPFBUS_NUM_DIGITS 15
#define BPFBUS_NUM_MAX_TEXT 40
#define BPFBUS_NUMKEY_ZERO 0x8000000000000000ULL

/* Parse state, fed one character at a time (the BPF side feeds it from a
 * bpf_loop callback: a plain loop here would explode the verifier). */
struct bpfbus_numkey_state {
	__u64 m;
	__s32 e, exp, exp_sign, exp_digits;
	__u32 nd, digits;
	__u32 neg, point, in_exp, bad;
	__u8 prev;
	__u8 pad[7];
};

static __always_inline void bpfbus_numkey_init(struct bpfbus_numkey_state *st)
{
	__builtin_memset(st, 0, sizeof(*st));
	st->exp_sign = 1;
}

/* Feed character @c at position @i; returns 1 once the text is refused. */
static __always_inline int bpfbus_numkey_step(struct bpfbus_numkey_state *st, __u8 c, __u32 i)
{
	__u8 prev = st->prev;

	st->prev = c;
	if (st->bad)
		return 1;
	if (st->in_exp) {
		if ((c == '-' || c == '+') && st->exp_digits == 0 && prev != '-' && prev != '+') {
			st->exp_sign = c == '-' ? -1 : 1;
			return 0;
		}
		if (c < '0' || c > '9' || st->exp_digits >= 4)
			goto bad;
		st->exp = st->exp * 10 + (c - '0');
		st->exp_digits++;
		return 0;
	}
	if (c == '-' && i == 0) {
		st->neg = 1;
		return 0;
	}
	if (c == '.') {
		if (st->point || st->digits == 0)
			goto bad;
		st->point = 1;
		return 0;
	}
	if (c == 'e' || c == 'E') {
		if (st->digits == 0)
			goto bad;
		st->in_exp = 1;
		return 0;
	}
	if (c < '0' || c > '9')
		goto bad;
	st->digits++;
	if (st->m == 0 && c == '0') {
		if (st->point)
			st->e--; /* 0.00x: each zero after the point lowers E */
		return 0;
	}
	if (st->nd == BPFBUS_NUM_DIGITS) {
		if (c != '0')
			goto bad; /* more than 15 significant digits */
		if (!st->point)
			st->e++;
		return 0;
	}
	st->m = st->m * 10 + (c - '0');
	st->nd++;
	if (!st->point)
		st->e++;
	return 0;
bad:
	st->bad = 1;
	return 1;
}

/* The key once every character was fed; -1 when the text was refused. */
static __always_inline int bpfbus_numkey_finish(struct bpfbus_numkey_state *st, __u64 *key)
{
	if (st->bad || st->digits == 0 || (st->in_exp && st->exp_digits == 0))
		return -1;
	if (st->m == 0) {
		*key = BPFBUS_NUMKEY_ZERO;
		return 0;
	}
	__u64 m = st->m;

	for (__u32 k = 0; k < BPFBUS_NUM_DIGITS; k++)
		if (k >= st->nd)
			m *= 10;
	__s32 e = st->e + st->exp_sign * st->exp;

	if (e < -1000 || e > 1000)
		return -1;
	__u64 mag = ((__u64)(e + 1024) << 50) | m;

	*key = st->neg ? BPFBUS_NUMKEY_ZERO - 1 - mag : BPFBUS_NUMKEY_ZERO | mag;
	return 0;
}

#ifndef __VMLINUX_H__
/* Userspace: the key of a whole number text. */
static inline int bpfbus_numkey(const char *text, __u32 len, __u64 *key)
{
	struct bpfbus_numkey_state st;

	if (len == 0 || len > BPFBUS_NUM_MAX_TEXT)
		return -1;
	bpfbus_numkey_init(&st);
	for (__u32 i = 0; i < len; i++)
		if (bpfbus_numkey_step(&st, (__u8)text[i], i))
			return -1;
	return bpfbus_numkey_finish(&st, key);
}
#endif

#endif /* BPFBUS_NUMKEY_H */

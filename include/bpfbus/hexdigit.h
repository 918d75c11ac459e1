/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The value of a hexadecimal digit, for the kernel matcher (bpf/kmatch.h:
 * \uXXXX escapes) and userspace (JSON's \uXXXX, URL %XX): one definition.
 */
#ifndef BPFBUS_HEXDIGIT_H
#define BPFBUS_HEXDIGIT_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* 0-15, or -1 when @c is no hex digit. */
static __always_inline int bb_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif

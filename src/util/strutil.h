/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Small character helpers shared by every parser. */
#pragma once

/* The value of a hexadecimal digit (either case), or -1. */
static inline int hex_digit_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* UTF-8 as jansson checks it, for the places that clean or write text. */
#pragma once

#include <stddef.h>

/*
 * The length of the valid UTF-8 sequence at s (n >= 1 bytes left), or 0:
 * no overlong form, no surrogate, nothing above U+10FFFF, no cut sequence.
 * An ASCII byte, NUL included, is a sequence of 1.  O(1).
 */
size_t utf8_seq_len(const unsigned char *s, size_t n);

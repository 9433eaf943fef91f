/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * strv: a NULL-terminated vector of strings the vector owns (systemd's
 * name).  NULL is a valid empty vector for every function here except
 * strv_split(), which always returns a vector.
 *
 * strv_push() and strv_extend() count the vector on every call, so a loop
 * of them is quadratic: fine for the handful of items a config key or a
 * command holds; something that grows with a client's input builds its
 * vector in one pass instead (as strv_split() does).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Frees each string and the vector; returns NULL. */
char **strv_free(char **v);
static inline void strv_freep(char ***v)
{
	strv_free(*v);
}
#define _cleanup_strv_free_ __attribute__((cleanup(strv_freep)))

size_t strv_length(char *const *v);
bool strv_contains(char *const *v, const char *s);
/* Appends s, taking ownership of it. */
void strv_push(char ***v, char *s);
/* Appends a copy of s. */
void strv_extend(char ***v, const char *s);
/* A copy of every string; NULL for NULL. */
char **strv_copy(char *const *v);
/* The items of s separated by any run of the characters in seps, empty ones
 * dropped (PVE::Tools::split_list with seps ",; \t\r\n").  s NULL: empty. */
char **strv_split(const char *s, const char *seps);

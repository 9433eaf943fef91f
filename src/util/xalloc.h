/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Allocation that never returns NULL.
 *
 * ctvm aborts on out-of-memory instead of threading ENOMEM through every
 * caller (crun's OOM(), libvirt's g_new): sizes a client controls are bounded
 * before allocation, so running out means the host is in trouble anyway.
 * See docs/dev/ERRORS.md.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* xnew(struct foo, 1): zeroed array of n elements. */
#define xnew(type, n) ((type *)xcalloc((n), sizeof(type)))

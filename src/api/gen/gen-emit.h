/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Build-time generators of the method table's data (never linked into
 * ctvmd or ctvm): C initialisers of parameter rows and whole method rows,
 * and the parameter row of a config key (property.h).
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "api-method.h"
#include "property.h"

/* The API parameter row of a config key: type, format, bounds, enumeration,
 * default, description and secrecy; optional when the key is or when
 * all_optional.  -EINVAL (with a message on stderr) for what a row cannot
 * say (a pattern). */
int gen_param_from_conf(const struct conf_prop *p, const char *name, bool all_optional,
                        struct api_param *ret);

/* s as a C string literal ("NULL" for NULL). */
void gen_emit_string(FILE *f, const char *s);
/* One designated initialiser {...} of p (no trailing comma). */
void gen_emit_param(FILE *f, const struct api_param *p);
/* One designated initialiser {...} of m, its handler left out. */
void gen_emit_method(FILE *f, const struct api_method *m);

/* Writes the text fn produces into path, only when fn succeeds (returns 0)
 * and the text differs from the file's, so a rebuild does not recompile what
 * did not change.  0, or 1 on any failure. */
int gen_write_file(const char *path, int (*fn)(FILE *f, void *arg), void *arg);

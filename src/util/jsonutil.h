/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Small jansson helpers shared by every layer. */
#pragma once

#include <jansson.h>

/* jansson >= 2.11 provides json_decrefp() for exactly this. */
#define _cleanup_json_ __attribute__((cleanup(json_decrefp)))

struct strbuf;

/* Nesting json_write() follows: jansson's parser depth, so whatever jansson
 * read can be written back. */
#define JSON_WRITE_DEPTH 2048

/*
 * Appends v to sb as compact JSON text, byte for byte what json_dumpb(v,
 * JSON_COMPACT) writes (keys in insertion order, \uXXXX for control
 * characters, reals as "%.17g" in the C locale with ".0" added or the
 * exponent trimmed), any type at the top.  One pass, no allocation but
 * sb's growth: jansson's encoder hashes every container it enters (loop
 * detection); ctvm's values are trees, and the depth bound stands in.
 * -EINVAL for invalid UTF-8, a non-finite real or nesting past
 * JSON_WRITE_DEPTH; -EMSGSIZE once the text passes max bytes (0: no bound).
 * On error sb holds part of the text: the caller cuts it back.
 */
int json_write(struct strbuf *sb, const json_t *v, size_t max);

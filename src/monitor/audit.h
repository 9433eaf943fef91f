/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * audit: an append-only log of every change and every login, one JSON object
 * per line, chained by hashes so that editing or removing a line shows:
 *
 *   {"time":..,"user":..,"token":..,"addr":..,"method":..,"path":..,
 *    "params":{..},"status":..,"result":..,"prev":"<sha256 of previous line>"}
 *
 * Parameters marked secret in the method table are written as "***".  The
 * first line's prev is 64 zeros.
 */
#pragma once

#include <jansson.h>

struct audit_log;
struct error;

struct audit_log *audit_log_open(const char *path, struct error **err);
struct audit_log *audit_log_close(struct audit_log *a);

/* Appends entry (an object; "prev" is added) with one write(). Thread-safe. */
int audit_log_append(struct audit_log *a, json_t *entry);

/* Checks the chain of a whole file: 0 if intact, else -EBADMSG with the
 * 1-based number of the first bad line in *ret_line. */
int audit_log_verify(const char *path, unsigned long *ret_line, struct error **err);

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * audit: an append-only log of every change and every login, one JSON object
 * per line, chained by hashes so that editing or removing a line shows:
 *
 *   {"time":..,"addr":..,"method":..,"path":..,"params":{..},"status":..,
 *    "user":..,"token":..,"result":..,"upid":..,"prev":"<sha256 of previous line>"}
 *
 * in this order; "token" and "upid" only when there is one.  Parameters the caller names
 * as secret are written as "***" (the API names those its method table marks
 * secret).  The first line's prev is 64 zeros.
 */
#pragma once

#include <time.h>

#include <jansson.h>

struct audit_log;
struct error;

struct audit_log *audit_log_open(const char *path, struct error **err);
struct audit_log *audit_log_close(struct audit_log *a);

/* One request, as plain data.  Strings may be NULL (written as null, and
 * token and upid then left out). */
struct audit_record {
	time_t time;
	const char *user;          /* who; for a login the name it tried */
	const char *token;         /* the full token id when one was used */
	const char *addr;          /* the peer's address */
	const char *method;        /* "POST", "PUT", "DELETE" */
	const char *path;          /* "/access/users" */
	const json_t *params;      /* an object, NULL for none; not changed */
	const char *const *secret; /* keys of params whose values are never written */
	int status;                /* the HTTP status answered */
	const char *result;        /* "OK" or the error message */
	const char *upid;          /* the task started */
};

/* Appends the line of rec (audit_log_append).  Thread-safe; a NULL log
 * records nothing. */
int audit_log_record(struct audit_log *a, const struct audit_record *rec);

/* Appends entry (an object; "prev" is added) with one write(). Thread-safe. */
int audit_log_append(struct audit_log *a, json_t *entry);

/* Checks the chain of a whole file: 0 if intact, else -EBADMSG with the
 * 1-based number of the first bad line in *ret_line. */
int audit_log_verify(const char *path, unsigned long *ret_line, struct error **err);

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The one error convention (docs/dev/ERRORS.md).
 *
 * A function that can fail returns int (0 or more on success, a negative errno
 * on failure) or a pointer (NULL on failure) and takes `struct error **err`
 * last.  On failure it sets *err (if err is not NULL) to a new error; on
 * success it leaves *err untouched.  Outputs named ret_* are only written on
 * success.
 *
 * The error carries the HTTP status the API answers with, so a message raised
 * deep in a layer reaches the client unchanged: Proxmox clients read it from
 * the HTTP reason phrase.  Messages are one line, lowercase where Proxmox's are,
 * without a trailing newline or period.
 */
#pragma once

#include <jansson.h>

struct error {
	int code;        /* negative errno */
	int http_status; /* 400, 401, 403, 500, 501, ... */
	char *msg;       /* one line */
	json_t *params;  /* 400 only: {"param": "reason", ...}, or NULL */
};

/* Sets *err (when err != NULL and *err is NULL) and returns code, so a caller
 * can write `return error_set(err, -EINVAL, 400, "bad %s", x);`. */
int error_set(struct error **err, int code, int http_status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A parameter error: 400 "Parameter verification failed." with
 * errors = {param: reason}.  Repeated calls on the same *err add params. */
int error_param(struct error **err, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the message: "context: old message". */
void error_prefix(struct error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Hands e (which may be NULL) to the caller's err: stored in *err when err
 * is not NULL and *err is not set yet, else freed (the first error wins, as
 * with error_set()).  e is consumed either way. */
void error_propagate(struct error **err, struct error *e);

struct error *error_free(struct error *e);
static inline void error_freep(struct error **e)
{
	error_free(*e);
}
#define _cleanup_error_ _cleanup_(error_freep)

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * http-multipart: an incremental multipart/form-data parser (RFC 7578 over
 * RFC 2046).  Pure: bytes in, callbacks out, no I/O, so the server streams
 * uploads of any size through it in bounded memory and the unit tests and
 * the fuzzer drive it on buffers split anywhere.
 *
 * Memory is bounded by the boundary length plus the part header limit
 * (HTTP_MULTIPART_MAX_HEADER), whatever the body size.  Part data is handed
 * to the caller in pieces as soon as it cannot belong to a delimiter.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Largest header block of one part; larger is -EBADMSG. */
#define HTTP_MULTIPART_MAX_HEADER 8192
/* Longest boundary (RFC 2046: 70). */
#define HTTP_MULTIPART_MAX_BOUNDARY 70

struct http_multipart_callbacks {
	/* A part starts.  name is the form field name (never NULL), filename
	 * the Content-Disposition filename or NULL for a plain field.  Both
	 * are only valid during the call.  Return < 0 to stop the parser. */
	int (*part_begin)(void *userdata, const char *name, const char *filename);
	/* Some of the current part's data (len > 0). */
	int (*part_data)(void *userdata, const char *data, size_t len);
	/* The current part ended (its delimiter was seen). */
	int (*part_end)(void *userdata);
};

struct http_multipart;

/* The boundary parameter of a multipart/form-data Content-Type, or NULL
 * when ct is not multipart/form-data or the boundary is missing or invalid. */
char *http_multipart_boundary(const char *content_type);

struct http_multipart *
http_multipart_new(const char *boundary, const struct http_multipart_callbacks *cb, void *userdata);
struct http_multipart *http_multipart_free(struct http_multipart *mp);

/* Feeds the next len bytes of the body.  Returns 1 once the closing
 * delimiter was seen (later input, the epilogue, is ignored), 0 when more
 * input is needed, -EBADMSG on a malformed body, or a callback's negative
 * value.  After an error the parser stays failed. */
int http_multipart_feed(struct http_multipart *mp, const char *data, size_t len);

/* True once the closing delimiter was seen. */
bool http_multipart_done(const struct http_multipart *mp);

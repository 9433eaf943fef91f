/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * http-parse: the pure part of the HTTP layer.  No sockets, no threads: bytes
 * in, a struct http_request out.  The server runs exactly these functions on
 * what it reads, and the fuzzer and unit tests drive them on buffers.
 *
 * A request goes through three steps:
 *
 *   1. http_head_length() finds the end of the head (the first empty line);
 *   2. http_parse_head() checks the request line and headers and decides how
 *      the body is framed (none, Content-Length, chunked);
 *   3. after the body is read (http_chunked_feed() for chunked bodies),
 *      http_request_decode() decodes the path and the parameters.
 *
 * http_request_parse() chains the three over one complete buffer.
 *
 * Errors come in two kinds.  A head that cannot be parsed at all (bad request
 * line, header syntax, framing we cannot follow) makes http_parse_head() fail
 * with an error carrying the status (400, 414, 431, 501) that the server sends
 * as a plain answer before closing.  Everything else (body too large, bad
 * parameters, content on GET) lands in req->parse_error, and the request still
 * reaches the handler.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct strbuf;

/* Longest request line (method, target, version). */
#define HTTP_MAX_REQUEST_LINE 8192
/* Most header lines in one request. */
#define HTTP_MAX_HEADERS 100
/* Longest reason phrase we send. */
#define HTTP_MAX_REASON 512

enum http_body_kind {
	HTTP_BODY_NONE,
	HTTP_BODY_LENGTH,
	HTTP_BODY_CHUNKED,
};

/* What http_parse_head() learnt about the request, besides the public fields. */
struct http_head_info {
	enum http_body_kind body_kind;
	size_t content_length; /* HTTP_BODY_LENGTH only */
	bool keep_alive;       /* the client allows another request after this one */
	bool expect_continue;  /* "Expect: 100-continue" on HTTP/1.1 */
	bool http10;
};

/* Copies lim, replacing every zero by its default. */
void http_limits_fill(const struct http_limits *lim, struct http_limits *ret);

/* Leading empty lines (CRLF or LF) that may precede a request line; returns
 * how many bytes of buf they take. */
size_t http_skip_empty_lines(const char *buf, size_t len);

/* Length of the head (request line, headers and the empty line ending them)
 * at the start of buf, or 0 when buf does not hold a whole head yet. */
size_t http_head_length(const char *buf, size_t len);

/* Parses a head of exactly len bytes (as measured by http_head_length).
 * On success *ret_req is a new request (free with http_request_free), with
 * parse_error possibly set (e.g. 413 for a Content-Length above the limit: the
 * body must then not be read).  On failure *err carries the status to answer
 * with, and the connection must be closed. */
int http_parse_head(const char *buf, size_t len, const struct http_limits *lim,
                    struct http_request **ret_req, struct http_head_info *ret_info,
                    struct error **err);

/* Incremental decoder of a chunked body. Zero-initialise before use. */
struct http_chunked {
	int state;
	uint64_t remaining;   /* bytes left in the current chunk */
	size_t line_len;      /* bytes of the current size or trailer line */
	size_t trailer_bytes; /* all trailer lines together */
	unsigned digits;
};

/* Feeds len bytes; decoded data is appended to out.  *ret_consumed says how
 * many input bytes were used (all of them unless the body ended).  Returns 1
 * when the body is complete, 0 when more input is needed, -EBADMSG on a
 * malformed body, -EFBIG when the decoded body would exceed max_body. */
int http_chunked_feed(struct http_chunked *c, const char *in, size_t len, struct strbuf *out,
                      size_t max_body, size_t *ret_consumed);

/* Decodes path and parameters of a request whose body was read (body may be
 * NULL when body_len is 0).  Never fails: problems set req->parse_error.
 * req->params is always an object afterwards. */
void http_request_decode(struct http_request *req, const char *body, size_t body_len,
                         const struct http_limits *lim);

/* Parses one complete request (head and body) from the start of buf.
 * Returns 0 with *ret_req set and *ret_consumed the bytes used, -EAGAIN when
 * buf holds only part of a request, or another negative errno with *err set
 * (status to answer with) for an unparseable request. */
int http_request_parse(const char *buf, size_t len, const struct http_limits *lim,
                       struct http_request **ret_req, size_t *ret_consumed, struct error **err);

struct http_request *http_request_free(struct http_request *req);

/* The standard reason phrase of a status, "Unknown" for unknown ones. */
const char *http_status_text(int status);

/* The reason phrase to send: the first line of reason, control characters
 * turned into spaces, trailing space trimmed, at most HTTP_MAX_REASON bytes
 * (cut on a UTF-8 character boundary).  Falls back to http_status_text()
 * when reason is NULL or ends up empty.  Returns a new string. */
char *http_reason_sanitize(const char *reason, int status);

/* Strict UTF-8 check (no overlongs, no surrogates, at most U+10FFFF). */
bool http_utf8_valid(const char *s, size_t len);

/* Frees the fields of resp the http layer owns and zeroes it. */
void http_response_release(struct http_response *resp);

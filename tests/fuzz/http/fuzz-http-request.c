/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Raw bytes as they come from a client: parses request after request
 * (pipelining) with the server's own functions, then touches what a handler
 * would (headers, cookies, params).
 */
#include "common.h"

#include "error.h"
#include "http-parse.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* small limits so the fuzzer reaches them */
	const struct http_limits lim = {
	    .max_header_bytes = 2048,
	    .max_body_bytes = 4096,
	    .max_params = 64,
	    .max_json_depth = 8,
	};
	const char *buf = (const char *)data;
	size_t off = 0;
	for (int n = 0; n < 8 && off < size; n++) {
		struct http_request *req = NULL;
		struct error *err = NULL;
		size_t used = 0;
		int r = http_request_parse(buf + off, size - off, &lim, &req, &used, &err);
		if (r < 0) {
			if (r != -EAGAIN &&
			    (!err || err->http_status < 400 || err->http_status > 599))
				abort();
			error_free(err);
			break;
		}
		if (used == 0 || used > size - off || !req->params || !req->path || !req->method)
			abort();
		if (req->parse_error && !req->parse_error->msg)
			abort();
		http_request_header(req, "Content-Type");
		http_request_cookie(req, "PVEAuthCookie");
		http_request_cookie(req, "PVEAuthCookie");
		char *s = json_dumps(req->params, JSON_COMPACT);
		if (!s)
			abort(); /* every decoded value must be valid JSON */
		free(s);
		if (req->parse_error) {
			char *reason = http_reason_sanitize(req->parse_error->msg, 400);
			if (strpbrk(reason, "\r\n"))
				abort();
			free(reason);
		}
		bool stop = req->parse_error && req->parse_error->http_status == 413;
		http_request_free(req);
		off += used;
		if (stop)
			break; /* the server closes here */
	}

	/* the reason phrase of arbitrary text stays one printable line */
	char *text = strndup(buf, size);
	if (text) {
		char *reason = http_reason_sanitize(text, 500);
		for (const char *c = reason; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				abort();
		if (strlen(reason) > HTTP_MAX_REASON)
			abort();
		free(reason);
		free(text);
	}
	return 0;
}

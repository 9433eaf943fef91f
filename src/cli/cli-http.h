/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* A one-shot HTTP/1.1 request over the daemon's unix socket. */
#pragma once

#include <stddef.h>

struct error;

struct cli_response {
	int status;
	char *reason;
	char *body;
	size_t body_len;
};

/* A connected stream socket to the daemon's unix socket, or < 0 and err. */
int cli_http_connect(const char *socket_path, struct error **err);

int cli_http_request(const char *socket_path, const char *method, const char *target,
                     const char *content_type, const char *body, size_t body_len,
                     struct cli_response *ret, struct error **err);
void cli_response_clear(struct cli_response *r);

/* Parses a whole HTTP/1.1 answer (status line, headers, body to the end). */
int cli_http_parse(const char *buf, size_t len, struct cli_response *ret, struct error **err);

/* Responses larger than this are refused: the CLI never needs more. */
#define CLI_MAX_RESPONSE (64u << 20)

/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <sys/socket.h>
#include <sys/un.h>

#include "cli-http.h"
#include "error.h"
#include "fileio.h"
#include "strbuf.h"
#include "xalloc.h"

int cli_http_connect(const char *socket_path, struct error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return error_set(err, -ENAMETOOLONG, 500, "socket path '%s' is too long",
		                 socket_path);
	strcpy(sa.sun_path, socket_path);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		return error_set(err, -e, 500, "cannot connect to ctvmd at '%s': %s (%s)",
		                 socket_path, strerror(e),
		                 e == EACCES || e == EPERM ? "only root may use the local socket"
		                                           : "is ctvmd running?");
	}
	return TAKE_FD(fd);
}

int cli_http_request(const char *socket_path, const char *method, const char *target,
                     const char *content_type, const char *body, size_t body_len,
                     struct cli_response *ret, struct error **err)
{
	_cleanup_close_ int fd = cli_http_connect(socket_path, err);
	if (fd < 0)
		return fd;

	struct strbuf req = STRBUF_INIT;
	strbuf_addf(&req, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n", method,
	            target);
	if (body) {
		strbuf_addf(&req, "Content-Type: %s\r\nContent-Length: %zu\r\n", content_type,
		            body_len);
	}
	strbuf_addstr(&req, "\r\n");
	if (body)
		strbuf_add(&req, body, body_len);
	int r = write_full(fd, req.buf, req.len);
	strbuf_release(&req);
	if (r < 0)
		return error_set(err, r, 500, "cannot send request: %s", strerror(-r));

	struct strbuf resp = STRBUF_INIT;
	char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			strbuf_release(&resp);
			return error_set(err, -errno, 500, "cannot read answer: %s",
			                 strerror(errno));
		}
		if (n == 0)
			break;
		strbuf_add(&resp, buf, (size_t)n);
		if (resp.len > CLI_MAX_RESPONSE) {
			strbuf_release(&resp);
			return error_set(err, -EFBIG, 500, "answer too large");
		}
	}

	r = cli_http_parse(resp.buf, resp.len, ret, err);
	strbuf_release(&resp);
	return r;
}

int cli_http_parse(const char *buf, size_t len, struct cli_response *ret, struct error **err)
{
	/* "HTTP/1.1 200 OK\r\n" headers "\r\n\r\n" body (Content-Length, connection closes) */
	const char *head_end = buf ? memmem(buf, len, "\r\n\r\n", 4) : NULL;
	int status = 0, off = 0;
	if (!head_end || sscanf(buf, "HTTP/1.%*d %d %n", &status, &off) < 1)
		return error_set(err, -EPROTO, 500, "malformed answer from ctvmd");
	size_t reason_len = strcspn(buf + off, "\r\n");
	ret->status = status;
	ret->reason = xstrndup(buf + off, reason_len);
	size_t body_off = (size_t)(head_end + 4 - buf);
	ret->body_len = len - body_off;
	ret->body = xstrndup(buf + body_off, ret->body_len);
	return 0;
}

void cli_response_clear(struct cli_response *r)
{
	free(r->reason);
	free(r->body);
	*r = (struct cli_response){0};
}

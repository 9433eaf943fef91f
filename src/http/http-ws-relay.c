/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The relay of an upgraded connection, on the connection's own thread (the
 * server already has one per connection; see docs/dev/HTTP.md "WebSocket").
 */
#include "common.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http-termframe.h"
#include "http-websocket.h"
#include "http-ws-relay.h"
#include "log.h"

/* Bytes read from the console per frame sent to the client. */
#define RELAY_CHUNK 16384

struct relay {
	const struct ws_relay_io *io;
	int fd;
	bool sock;              /* else a pty's master (the node shell): read/write, non-blocking */
	struct termframe *term; /* NULL: bytes pass as they are */
	bool answered;          /* term: "OK" was sent; the console's output may follow */
	bool closing;           /* a close frame was sent: the relay ends */
};

/* Writes all of buf to the console's socket, waiting for room (the
 * console's back pressure) but not past a server stop. */
static int console_write(struct relay *r, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = r->sock ? send(r->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT)
		                    : write(r->fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p[2] = {{.fd = r->fd, .events = POLLOUT},
			                      {.fd = r->io->stop_fd, .events = POLLIN}};
			if (poll(p, 2, -1) < 0 && errno != EINTR)
				return -errno;
			if (p[1].revents)
				return -ECANCELED;
			continue;
		}
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_frame(struct relay *r, int op, const uint8_t *data, size_t len)
{
	uint8_t hdr[WS_MAX_HEADER];
	size_t hl = ws_frame_header(hdr, op, true, len, NULL);
	int e = r->io->send_all(r->io->conn, hdr, hl);
	if (e == 0 && len)
		e = r->io->send_all(r->io->conn, data, len);
	return e;
}

static int send_close(struct relay *r, unsigned code)
{
	uint8_t f[2 + WS_MAX_CONTROL];
	size_t n = ws_close_frame(f, code, NULL);
	r->closing = true;
	return r->io->send_all(r->io->conn, f, n);
}

static int on_data(void *ud, int op, const uint8_t *data, size_t len, bool fin)
{
	struct relay *r = ud;
	(void)op, (void)fin;
	if (!len)
		return 0;
	if (r->term)
		return termframe_feed(r->term, (const char *)data, len);
	return console_write(r, data, len);
}

/* Terminal framing: the first line was checked by the privileged side
 * already (the vncticket in the URL, with the login), so it is answered.
 * The console's output waits for that answer (ws_relay_run): clients such
 * as Proxmox's xterm.js close a terminal whose first message is not "OK". */
static int term_auth(void *ud, const char *line)
{
	struct relay *r = ud;
	(void)line;
	r->answered = true;
	return send_frame(r, WS_OP_BINARY, (const uint8_t *)"OK", 2);
}

static int term_data(void *ud, const char *data, size_t len)
{
	return console_write(ud, (const uint8_t *)data, len);
}

static int term_resize(void *ud, unsigned cols, unsigned rows)
{
	struct relay *r = ud;
	struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
	/* a pty takes the size; a serial port's socket does not (ENOTTY) */
	if (ioctl(r->fd, TIOCSWINSZ, &ws) < 0)
		log_debug("console: no resize (%m)");
	return 0;
}

static int term_ping(void *ud)
{
	(void)ud;
	return 0;
}

static const struct termframe_callbacks term_cbs = {term_auth, term_data, term_resize, term_ping};

static int on_control(void *ud, int op, const uint8_t *data, size_t len)
{
	return op == WS_OP_PING ? send_frame(ud, WS_OP_PONG, data, len) : 0;
}

static int on_close(void *ud, unsigned code, const char *reason)
{
	(void)reason;
	return send_close(ud, code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : code);
}

static const struct ws_decoder_callbacks relay_cbs = {on_data, on_control, on_close};

/* Feeds client bytes; false when the relay ends. */
static bool feed(struct relay *r, struct ws_decoder *d, const void *buf, size_t n)
{
	int e = ws_decoder_feed(d, buf, n);
	if (e == 0)
		return true;
	if (e < 0 && !r->closing && (e == -EBADMSG || e == -EMSGSIZE)) {
		/* (a terminal framing error fails a callback: 1011) */
		log_debug("websocket: closing with %u", ws_decoder_close_code(d));
		send_close(r, ws_decoder_close_code(d));
	}
	return false;
}

void ws_relay_run(const struct ws_relay_io *io, int fd, bool terminal, const void *initial,
                  size_t initial_len)
{
	struct relay r = {.io = io, .fd = fd};
	struct ws_decoder *d = ws_decoder_new(&relay_cbs, &r, true, 0);
	uint8_t *buf = malloc(RELAY_CHUNK);
	if (terminal)
		r.term = termframe_new(&term_cbs, &r);
	if (!d || !buf || (terminal && !r.term))
		goto out;
	struct stat st;
	r.sock = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
	if (!r.sock) {
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
			goto out;
	}
	if (initial_len && !feed(&r, d, initial, initial_len))
		goto out;
	for (;;) {
		if (io->pending(io->conn) == 0) {
			bool output = !r.term || r.answered;
			struct pollfd p[3] = {{.fd = io->client_fd, .events = POLLIN},
			                      {.fd = fd, .events = output ? POLLIN : 0},
			                      {.fd = io->stop_fd, .events = POLLIN}};
			if (poll(p, 3, -1) < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			if (p[2].revents) {
				send_close(&r, WS_CLOSE_GOING_AWAY);
				break;
			}
			if (p[1].revents) {
				ssize_t n = r.sock ? recv(fd, buf, RELAY_CHUNK, MSG_DONTWAIT)
				                   : read(fd, buf, RELAY_CHUNK);
				if (n < 0 && (errno == EINTR || errno == EAGAIN))
					continue;
				if (n <= 0) {
					/* the console ended (a pty's master reads
					 * EIO once its last slave is closed) */
					send_close(&r, WS_CLOSE_NORMAL);
					break;
				}
				if (send_frame(&r, WS_OP_BINARY, buf, (size_t)n) < 0)
					break;
				continue;
			}
			if (!p[0].revents)
				continue;
		}
		ssize_t n = io->recv(io->conn, buf, RELAY_CHUNK);
		if (n <= 0 || !feed(&r, d, buf, (size_t)n))
			break;
	}
out:
	termframe_free(r.term);
	ws_decoder_free(d);
	free(buf);
	close(fd);
}

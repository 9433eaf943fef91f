/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `qm terminal VMID [--iface serialN] [--escape CHAR]`: the caller's
 * terminal on a VM's serial port, as Proxmox's qm terminal.  It goes the
 * way the xterm.js page does (docs/consoles.md): POST termproxy for a
 * one-time ticket, GET vncwebsocket as a WebSocket upgrade on the local
 * socket, then Proxmox's terminal framing ("user:ticket\n", "OK", input as
 * "0:LEN:DATA", the size as "1:COLS:ROWS:").  The frame encoder and
 * decoder are the server's (http-websocket.c, pure, no I/O); frames from
 * here are masked as RFC 6455 asks of a client.
 *
 * The terminal is raw while the session runs and restored on every way
 * out: the escape key (a close frame, then exit 0), the server's close,
 * an error, or SIGTERM/SIGHUP/SIGINT/SIGQUIT, which arrive on a signalfd
 * with SIGWINCH so that the loop handles them all in one place.
 */
#include "common.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "cli-cmds.h"
#include "cli-http.h"
#include "cli.h"
#include "error.h"
#include "fileio.h"
#include "http-websocket.h"
#include "jsonutil.h"
#include "paths.h"
#include "strbuf.h"
#include "xalloc.h"

/* The upgrade answer's head; ctvmd's is a few hundred bytes. */
#define TERM_MAX_HEAD 8192
/* One server message; output comes in small pieces, this only bounds it. */
#define TERM_MAX_MESSAGE (1u << 20)
/* Input read at once, so one frame stays small. */
#define TERM_READ 4096

static bool vmid_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 9 || s[0] == '0')
		return false;
	return strspn(s, "0123456789") == n;
}

/* Proxmox's --escape: "^X" (Ctrl-X, X in @..z), a number (decimal or
 * 0xHEX) below 256, or 0 for none.  -1 when invalid. */
static int parse_escape(const char *s)
{
	if (s[0] == '^' && s[1] >= 0x40 && s[1] <= 0x7a && !s[2])
		return s[1] & 0x1f;
	char *end;
	errno = 0;
	long v = strtol(s, &end, str_startswith(s, "0x") ? 16 : 10);
	if (!*s || *end || errno || v < 0 || v > 255)
		return -1;
	return (int)v;
}

struct term {
	int fd;      /* the WebSocket */
	bool authed; /* the server's "OK" was seen */
	size_t ok_seen;
	bool closed; /* the server's close frame arrived */
	int error;
};

static int send_frame(int fd, int opcode, const void *data, size_t len)
{
	uint8_t mask[4];
	if (getrandom(mask, sizeof(mask), 0) != sizeof(mask))
		return -EIO;
	uint8_t hdr[WS_MAX_HEADER];
	size_t hl = ws_frame_header(hdr, opcode, true, len, mask);
	_cleanup_free_ uint8_t *buf = xmalloc(hl + len + 1);
	memcpy(buf, hdr, hl);
	if (len)
		memcpy(buf + hl, data, len);
	ws_mask(buf + hl, len, mask, 0);
	return write_full(fd, buf, hl + len);
}

static int send_close(int fd)
{
	uint8_t code[2] = {WS_CLOSE_NORMAL >> 8, WS_CLOSE_NORMAL & 0xff};
	return send_frame(fd, WS_OP_CLOSE, code, sizeof(code));
}

static int send_size(int fd)
{
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || !ws.ws_col || !ws.ws_row)
		return 0;
	char msg[32];
	int n = snprintf(msg, sizeof(msg), "1:%u:%u:", ws.ws_col, ws.ws_row);
	return send_frame(fd, WS_OP_BINARY, msg, (size_t)n);
}

static int send_input(int fd, const char *data, size_t len)
{
	if (!len)
		return 0;
	char head[32];
	int n = snprintf(head, sizeof(head), "0:%zu:", len);
	_cleanup_free_ char *msg = xmalloc((size_t)n + len);
	memcpy(msg, head, (size_t)n);
	memcpy(msg + n, data, len);
	return send_frame(fd, WS_OP_BINARY, msg, (size_t)n + len);
}

static int on_data(void *userdata, int opcode, const uint8_t *data, size_t len, bool fin)
{
	struct term *t = userdata;
	(void)opcode, (void)fin;
	/* the first two bytes are the server's "OK" to the ticket */
	while (!t->authed && len) {
		if (data[0] != "OK"[t->ok_seen])
			return -EPROTO;
		data++, len--;
		t->authed = ++t->ok_seen == 2;
	}
	return len ? write_full(STDOUT_FILENO, data, len) : 0;
}

static int on_control(void *userdata, int opcode, const uint8_t *data, size_t len)
{
	struct term *t = userdata;
	return opcode == WS_OP_PING ? send_frame(t->fd, WS_OP_PONG, data, len) : 0;
}

static int on_close(void *userdata, unsigned code, const char *reason)
{
	struct term *t = userdata;
	(void)code, (void)reason;
	t->closed = true;
	return 0;
}

static const struct ws_decoder_callbacks term_cb = {
    .data = on_data,
    .control = on_control,
    .close = on_close,
};

/* The opening handshake on fd; bytes read past the head go to d. */
static int ws_open(int fd, const char *target, struct ws_decoder *d, const char *prog)
{
	char key[25], accept[29];
	if (ws_client_key(key) < 0 || ws_accept_key(key, accept) < 0) {
		fprintf(stderr, "%s terminal: no randomness for the WebSocket key\n", prog);
		return CLI_ERROR;
	}
	_cleanup_(strbuf_releasep) struct strbuf req = STRBUF_INIT;
	strbuf_addf(&req,
	            "GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
	            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
	            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n",
	            target, key);
	if (write_full(fd, req.buf, req.len) < 0) {
		fprintf(stderr, "%s terminal: cannot send request: %s\n", prog, strerror(errno));
		return CLI_ERROR;
	}
	char head[TERM_MAX_HEAD + 1];
	size_t len = 0;
	const char *end = NULL;
	while (!end) {
		if (len == TERM_MAX_HEAD) {
			fprintf(stderr, "%s terminal: answer head too large\n", prog);
			return CLI_ERROR;
		}
		ssize_t n = read(fd, head + len, TERM_MAX_HEAD - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "%s terminal: connection closed during the handshake\n",
			        prog);
			return CLI_ERROR;
		}
		len += (size_t)n;
		end = memmem(head, len, "\r\n\r\n", 4);
	}
	head[len] = '\0';
	size_t head_len = (size_t)(end + 4 - head);
	int status = 0;
	if (sscanf(head, "HTTP/1.%*d %d", &status) != 1 || status != 101) {
		/* the status line says why (403 for a bad ticket, 500 ...) */
		fprintf(stderr, "%.*s\n", (int)strcspn(head, "\r\n"), head);
		return status == 401 || status == 403 ? CLI_DENIED : CLI_ERROR;
	}
	_cleanup_free_ char *want = xasprintf("\r\nSec-WebSocket-Accept: %s\r\n", accept);
	head[head_len - 2] = '\0';
	if (!strcasestr(head, want)) {
		fprintf(stderr, "%s terminal: bad Sec-WebSocket-Accept in the answer\n", prog);
		return CLI_ERROR;
	}
	if (len > head_len && ws_decoder_feed(d, head + head_len, len - head_len) < 0) {
		fprintf(stderr, "%s terminal: malformed answer from ctvmd\n", prog);
		return CLI_ERROR;
	}
	return 0;
}

static struct termios saved_tio;
static bool tio_saved;

static void tty_restore(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
	tio_saved = false;
}

static void tty_raw(void)
{
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return;
	struct termios raw = saved_tio;
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0)
		tio_saved = true;
}

/* The session after the handshake: 0 when it ended cleanly. */
static int relay(struct term *t, struct ws_decoder *d, int sfd, int escape)
{
	bool in_open = true;
	int r = send_size(t->fd);
	while (r >= 0 && !t->closed) {
		struct pollfd p[3] = {
		    {.fd = t->fd, .events = POLLIN},
		    {.fd = sfd, .events = POLLIN},
		    {.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN},
		};
		if (poll(p, 3, -1) < 0) {
			r = errno == EINTR ? 0 : -errno;
			continue;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo != SIGWINCH)
					return -EINTR;
				r = send_size(t->fd);
			}
		}
		if (p[2].revents & (POLLIN | POLLHUP)) {
			char buf[TERM_READ];
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				/* no more input: keep showing output until the server ends */
				in_open = n < 0 && errno == EINTR;
			} else {
				char *e = escape > 0 ? memchr(buf, escape, (size_t)n) : NULL;
				r = send_input(t->fd, buf, e ? (size_t)(e - buf) : (size_t)n);
				if (r >= 0 && e) {
					send_close(t->fd);
					return 0;
				}
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			uint8_t buf[16384];
			ssize_t n = read(t->fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return t->authed ? 0 : -ECONNRESET;
			r = ws_decoder_feed(d, buf, (size_t)n);
		}
	}
	if (r >= 0 && t->closed)
		send_close(t->fd); /* answer the server's close, as RFC 6455 asks */
	return r < 0 ? r : 0;
}

int cli_qm_terminal(struct cli *c, const char *prog, int argc, char **argv)
{
	const char *iface = "serial0", *esc = "^O";
	bool ok = argc >= 2 && vmid_ok(argv[1]);
	for (int i = 2; ok && i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] == '-')
			a++;
		const char *v = strchr(a, '=');
		size_t kl = v ? (size_t)(v - a) : strlen(a);
		if (!v && i + 1 < argc)
			v = argv[++i];
		else if (v)
			v++;
		if (!v)
			ok = false;
		else if (kl == 6 && str_startswith(a, "-iface"))
			iface = v;
		else if (kl == 7 && str_startswith(a, "-escape"))
			esc = v;
		else
			ok = false;
	}
	int escape = ok ? parse_escape(esc) : -1;
	bool iface_ok = strlen(iface) == 7 && str_startswith(iface, "serial") && iface[6] >= '0' &&
	                iface[6] <= '3';
	if (!ok || escape < 0 || !iface_ok) {
		fprintf(stderr,
		        "USAGE: %s terminal <vmid> [--iface <serial0|serial1|serial2|serial3>] "
		        "[--escape <string>]\n",
		        prog);
		return CLI_USAGE;
	}
	if (c->host) {
		fprintf(stderr, "%s terminal: only on the VM's host: not through --host yet\n",
		        prog);
		return CLI_USAGE;
	}
	const char *vmid = argv[1];
	const char *node;
	int r = cli_node(c, &node);
	if (r)
		return r;
	_cleanup_free_ char *path = xasprintf("/nodes/%s/qemu/%s/termproxy", node, vmid);
	_cleanup_json_ json_t *params = json_pack("{s:s}", "serial", iface);
	_cleanup_json_ json_t *tp = NULL;
	r = cli_call(c, "POST", path, params, &tp);
	if (r)
		return r;
	const char *user = json_string_value(json_object_get(tp, "user"));
	const char *ticket = json_string_value(json_object_get(tp, "ticket"));
	json_int_t port = json_integer_value(json_object_get(tp, "port"));
	if (!user || !ticket) {
		fprintf(stderr, "%s terminal: termproxy gave no ticket\n", prog);
		return CLI_ERROR;
	}

	_cleanup_(strbuf_releasep) struct strbuf target = STRBUF_INIT;
	strbuf_addstr(&target, "/api2/json");
	_cleanup_free_ char *ws_path = xasprintf("/nodes/%s/qemu/%s/vncwebsocket", node, vmid);
	cli_url_encode(&target, ws_path, "/:@!");
	strbuf_addf(&target, "?port=%lld&vncticket=", (long long)port);
	cli_url_encode(&target, ticket, NULL);

	struct ctvm_paths *paths = ctvm_paths_new(c->root);
	_cleanup_error_ struct error *err = NULL;
	_cleanup_close_ int fd = cli_http_connect(paths->socket, &err);
	ctvm_paths_free(paths);
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", prog, err->msg);
		return fd == -EACCES || fd == -EPERM ? CLI_DENIED : CLI_ERROR;
	}
	struct term t = {.fd = fd};
	struct ws_decoder *d = ws_decoder_new(&term_cb, &t, false, TERM_MAX_MESSAGE);
	r = ws_open(fd, target.buf, d, prog);
	_cleanup_free_ char *auth = xasprintf("%s:%s\n", user, ticket);
	if (!r && send_frame(fd, WS_OP_BINARY, auth, strlen(auth)) < 0)
		r = CLI_ERROR;
	if (r) {
		ws_decoder_free(d);
		return r;
	}

	/* the signals that end the session come through the loop, which
	 * restores the terminal before leaving */
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGWINCH);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGQUIT);
	sigprocmask(SIG_BLOCK, &mask, &old);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		ws_decoder_free(d);
		fprintf(stderr, "%s terminal: signalfd: %s\n", prog, strerror(errno));
		return CLI_ERROR;
	}
	if (escape > 0 && isatty(STDERR_FILENO))
		fprintf(stderr,
		        "starting serial terminal on interface %s (press Ctrl+%c to exit)\n", iface,
		        escape < 32 ? escape + '@' : '?');
	/* a peer gone mid-write is an error to handle here, with the
	 * terminal still to restore, not a death by SIGPIPE */
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
	sigaction(SIGPIPE, &ign, &old_pipe);
	tty_raw();
	r = relay(&t, d, sfd, escape);
	tty_restore();
	sigaction(SIGPIPE, &old_pipe, NULL);
	close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	ws_decoder_free(d);
	if (r == -EINTR)
		return CLI_ERROR;
	if (r < 0) {
		fprintf(stderr, "%s terminal: %s\n", prog,
		        r == -EPROTO ? "the server refused the ticket" : strerror(-r));
		return CLI_ERROR;
	}
	return CLI_OK;
}

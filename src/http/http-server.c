/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The HTTP/1.1 server: listeners, connection threads, TLS, responses and the
 * access log.  Parsing lives in http-parse.c; this file only moves bytes.
 *
 * Threads: one acceptor per listener; each connection gets its own detached
 * thread with a small stack and blocking I/O.  Every wait is a poll() bounded
 * by the connection's deadline, and reads also watch the server's stop pipe,
 * so neither a slow client nor shutdown can leave a thread stuck.  The server
 * counts its connection threads under srv->lock; http_server_free() waits for
 * the count to reach zero.  See docs/dev/HTTP.md.
 */
#define LOG_CATEGORY "http"
#include "common.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include "error.h"
#include "http-conn-budget.h"
#include "http-ws-relay.h"
#include "http-multipart.h"
#include "http-parse.h"
#include "http-server-int.h"
#include "http.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t http_now_ms(void)
{
	return now_ms();
}

/* The deadline of the next wait, s seconds from start. */
static void conn_deadline_from(struct http_conn *c, int64_t start, unsigned s)
{
	if (c->reject && s > REJECT_TIMEOUT_S)
		s = REJECT_TIMEOUT_S; /* a flood must not hold the few rejecters long */
	c->deadline_ms = start + (int64_t)s * 1000;
}

static void conn_set_deadline(struct http_conn *c)
{
	conn_deadline_from(c, now_ms(), c->srv->lim.timeout_s);
}

/* Waits until fd is ready for events, the deadline passes (-ETIMEDOUT) or,
 * when watch_stop, the server stops (-ECANCELED). */
static int wait_io(struct http_conn *c, short events, bool watch_stop)
{
	for (;;) {
		int64_t left = c->deadline_ms - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p[2] = {
		    {.fd = c->fd, .events = events},
		    {.fd = c->srv->stop_pipe[0], .events = POLLIN},
		};
		int r = poll(p, watch_stop ? 2 : 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (watch_stop && p[1].revents)
			return -ECANCELED;
		if (p[0].revents)
			return 0; /* readable, writable, or an error recv/send will report */
	}
}

/* --- GnuTLS transport over the connection's deadline --- */

/* What a loop reads ahead for GnuTLS: a full record and then some. */
#define TLS_IN_SIZE (READ_CHUNK + 1024)

static ssize_t tls_take(struct http_conn *c, void *buf, size_t len)
{
	size_t n = c->tin_len - c->tin_pos;
	if (n > len)
		n = len;
	memcpy(buf, c->tin + c->tin_pos, n);
	c->tin_pos += n;
	return (ssize_t)n;
}

static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct http_conn *c = ptr;
	if (c->tin_pos < c->tin_len)
		return tls_take(c, buf, len);
	for (;;) {
		if (c->nonblock) {
			if (!c->tin)
				c->tin = xmalloc(TLS_IN_SIZE);
			ssize_t n = recv(c->fd, c->tin, TLS_IN_SIZE, MSG_DONTWAIT);
			if (n <= 0) {
				c->io_err = n == 0 || errno == EAGAIN ? 0 : errno;
				gnutls_transport_set_errno(c->tls, n == 0 ? 0 : errno);
				return n;
			}
			c->tin_pos = 0;
			c->tin_len = (size_t)n;
			return tls_take(c, buf, len);
		}
		int r = wait_io(c, POLLIN, c->watch_stop);
		if (r < 0) {
			c->io_err = -r;
			gnutls_transport_set_errno(c->tls, -r);
			return -1;
		}
		ssize_t n = recv(c->fd, buf, len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			c->io_err = errno;
			gnutls_transport_set_errno(c->tls, errno);
		}
		return n;
	}
}

static ssize_t tls_push(gnutls_transport_ptr_t ptr, const void *buf, size_t len)
{
	struct http_conn *c = ptr;
	for (;;) {
		if (c->nonblock) {
			ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0) {
				c->io_err = errno == EAGAIN ? 0 : errno;
				gnutls_transport_set_errno(c->tls, errno);
			}
			return n;
		}
		int r = wait_io(c, POLLOUT, false);
		if (r < 0) {
			c->io_err = -r;
			gnutls_transport_set_errno(c->tls, -r);
			return -1;
		}
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			c->io_err = errno;
			gnutls_transport_set_errno(c->tls, errno);
		}
		return n;
	}
}

/* Only used by GnuTLS with handshake timeouts, which we disable; kept so it
 * never falls back to treating our pointer as an fd. */
static int tls_pull_timeout(gnutls_transport_ptr_t ptr, unsigned ms)
{
	struct http_conn *c = ptr;
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	int r = poll(&p, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
	return r < 0 ? -1 : r;
}

int http_conn_tls_init(struct http_conn *c)
{
	int r = gnutls_init(&c->tls, GNUTLS_SERVER);
	if (r < 0) {
		c->tls = NULL;
		return -ENOMEM;
	}
	gnutls_priority_set(c->tls, c->srv->prio);
	gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->l->creds);
	gnutls_certificate_server_set_request(c->tls, GNUTLS_CERT_IGNORE);
	gnutls_transport_set_ptr(c->tls, c);
	gnutls_transport_set_push_function(c->tls, tls_push);
	gnutls_transport_set_pull_function(c->tls, tls_pull);
	gnutls_transport_set_pull_timeout_function(c->tls, tls_pull_timeout);
	gnutls_handshake_set_timeout(c->tls, 0);
	return 0;
}

static int conn_tls_start(struct http_conn *c)
{
	int r = http_conn_tls_init(c);
	if (r < 0)
		return r;
	/* from the accept: a handshake left half open holds a slot briefly */
	conn_deadline_from(c, c->accepted_ms, c->srv->lim.handshake_timeout_s);
	do {
		r = gnutls_handshake(c->tls);
	} while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0) {
		log_debug("TLS handshake with '%s' failed: %s", c->peer, gnutls_strerror(r));
		return -EPROTO;
	}
	return 0;
}

/* --- connection I/O --- */

/* Returns bytes read, 0 at end of stream, or a negative errno. */
static ssize_t conn_recv(struct http_conn *c, void *buf, size_t len)
{
	if (c->tls) {
		for (;;) {
			ssize_t r = gnutls_record_recv(c->tls, buf, len);
			if (r >= 0)
				return r;
			if (r == GNUTLS_E_AGAIN && c->nonblock)
				return c->io_err ? -c->io_err : -EAGAIN;
			if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
				continue;
			if (r == GNUTLS_E_PREMATURE_TERMINATION)
				return 0;
			return c->io_err ? -c->io_err : -EPROTO;
		}
	}
	for (;;) {
		int r = c->nonblock ? 0 : wait_io(c, POLLIN, c->watch_stop);
		if (r < 0)
			return r;
		ssize_t n = recv(c->fd, buf, len, c->nonblock ? MSG_DONTWAIT : 0);
		if (n < 0 && errno == EAGAIN && c->nonblock)
			return -EAGAIN;
		if (n >= 0)
			return n;
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
}

static int conn_send_all(struct http_conn *c, const char *buf, size_t len)
{
	conn_set_deadline(c);
	while (len > 0) {
		ssize_t n;
		if (c->tls) {
			n = gnutls_record_send(c->tls, buf, len);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				continue;
			if (n < 0)
				return c->io_err ? -c->io_err : -EPROTO;
		} else {
			int r = wait_io(c, POLLOUT, false);
			if (r < 0)
				return r;
			n = send(c->fd, buf, len, MSG_NOSIGNAL);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n < 0)
				return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads more into rbuf.  Returns bytes added, 0 at end of stream, or < 0
 * (-EAGAIN: nothing there yet, when c->nonblock). */
ssize_t http_conn_fill(struct http_conn *c, size_t max)
{
	if (c->rpos > 0) {
		memmove(c->rbuf.buf, c->rbuf.buf + c->rpos, c->rbuf.len - c->rpos);
		c->rbuf.len -= c->rpos;
		c->rpos = 0;
	}
	if (max > READ_CHUNK)
		max = READ_CHUNK;
	strbuf_grow(&c->rbuf, max);
	ssize_t n = conn_recv(c, c->rbuf.buf + c->rbuf.len, max);
	if (n > 0) {
		c->rbuf.len += (size_t)n;
		c->rbuf.buf[c->rbuf.len] = '\0';
	}
	return n;
}

size_t http_conn_avail(const struct http_conn *c)
{
	return c->rbuf.len - c->rpos;
}

/* Drains what the client still sends, so closing does not reset the
 * connection under the answer we just wrote. */
static void conn_linger(struct http_conn *c)
{
	if (c->tls)
		gnutls_bye(c->tls, GNUTLS_SHUT_WR);
	shutdown(c->fd, SHUT_WR);
	c->deadline_ms = now_ms() + LINGER_MS;
	char buf[4096];
	for (size_t total = 0; total < 16 * 1024 * 1024;) {
		if (wait_io(c, POLLIN, true) < 0)
			break;
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		total += (size_t)n;
	}
}

/* --- responses --- */

static const char *const day_names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static void http_date(char *buf, size_t size, time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d GMT", day_names[tm.tm_wday % 7],
	         tm.tm_mday, month_names[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	         tm.tm_sec);
}

/* An extra header must be one "Name: value" line of printable text. */
static bool header_line_ok(const char *h)
{
	const char *colon = strchr(h, ':');
	if (!colon || colon == h)
		return false;
	for (const char *c = h; c < colon; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return false;
	for (const char *c = colon; *c; c++)
		if (((unsigned char)*c < 0x20 && *c != '\t') || (unsigned char)*c == 0x7f)
			return false;
	return true;
}

void http_conn_format_response(struct strbuf *sb, const struct http_response *resp, bool keep_alive,
                               bool head_only)
{
	int status = resp->status >= 100 && resp->status <= 999 ? resp->status : 500;
	_cleanup_free_ char *reason = http_reason_sanitize(resp->reason, status);
	char date[64];
	http_date(date, sizeof(date), time(NULL));
	if (status == 101) /* a WebSocket upgrade: no body, the stream changes hands */
		strbuf_addf(sb,
		            "HTTP/1.1 101 %s\r\n"
		            "Upgrade: websocket\r\n"
		            "Connection: Upgrade\r\n"
		            "Date: %s\r\n"
		            "Server: pve-api-daemon/3.0\r\n",
		            reason, date);
	else
		strbuf_addf(sb,
		            "HTTP/1.1 %d %s\r\n"
		            "Cache-Control: max-age=0\r\n"
		            "Connection: %s\r\n"
		            "Date: %s\r\n"
		            "Pragma: no-cache\r\n"
		            "Server: pve-api-daemon/3.0\r\n"
		            "Content-Length: %zu\r\n",
		            status, reason, keep_alive ? "Keep-Alive" : "close", date,
		            resp->body ? resp->body_len : 0);
	if (status != 101 && resp->content_type && !strpbrk(resp->content_type, "\r\n"))
		strbuf_addf(sb, "Content-Type: %s\r\n", resp->content_type);
	if (status != 101)
		strbuf_addf(sb, "Expires: %s\r\n", date);
	for (size_t i = 0; i < resp->n_headers && i < ARRAY_SIZE(resp->headers); i++) {
		if (resp->headers[i] && header_line_ok(resp->headers[i]))
			strbuf_addf(sb, "%s\r\n", resp->headers[i]);
	}
	strbuf_addstr(sb, "\r\n");
	/* One write for head and body: two would meet Nagle and delayed ACKs. */
	if (!head_only && status != 101 && resp->body && resp->body_len)
		strbuf_add(sb, resp->body, resp->body_len);
}

static int conn_send_response(struct http_conn *c, const struct http_response *resp,
                              bool keep_alive, bool head_only)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	http_conn_format_response(&sb, resp, keep_alive, head_only);
	return conn_send_all(c, sb.buf, sb.len);
}

/* A plain answer from this layer (the handler never saw the request). */
void http_conn_send_plain(struct http_conn *c, int status)
{
	struct http_response resp = {.status = status, .content_type = "text/plain;charset=UTF-8"};
	resp.body = xasprintf("%d %s\n", status, http_status_text(status));
	resp.body_len = strlen(resp.body);
	if (conn_send_response(c, &resp, false, false) == 0)
		conn_linger(c);
	http_response_release(&resp);
}

/* --- access log --- */

static void append_clean(struct strbuf *sb, const char *s, size_t max)
{
	if (!s || !*s) {
		strbuf_addch(sb, '-');
		return;
	}
	for (size_t i = 0; s[i] && i < max; i++) {
		unsigned char ch = (unsigned char)s[i];
		strbuf_addch(sb, ch <= 0x20 || ch >= 0x7f || ch == '"' ? '_' : (char)ch);
	}
}

void http_conn_access_line(struct strbuf *sb, const struct http_conn *c,
                           const struct http_request *req, const struct http_response *resp)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	append_clean(sb, c->peer, 64);
	strbuf_addstr(sb, " - ");
	append_clean(sb, resp->log_user, 128);
	strbuf_addf(sb, " [%02d/%s/%04d:%02d:%02d:%02d +0000] \"", tm.tm_mday,
	            month_names[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	            tm.tm_sec);
	append_clean(sb, req->method, 32);
	strbuf_addch(sb, ' ');
	/* raw_url never holds the query string, which may carry secrets */
	append_clean(sb, req->raw_url, 2048);
	strbuf_addf(sb, " HTTP/1.1\" %d %zu\n", resp->status, resp->body ? resp->body_len : 0);
}

void http_server_log_write(struct http_server *srv, const struct strbuf *lines)
{
	if (!lines->len)
		return;
	pthread_mutex_lock(&srv->log_lock);
	if (srv->log_fd >= 0) {
		ssize_t n _unused_ = write(srv->log_fd, lines->buf, lines->len);
	}
	pthread_mutex_unlock(&srv->log_lock);
}

void http_conn_access_log(struct http_server *srv, const struct http_conn *c,
                          const struct http_request *req, const struct http_response *resp)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	http_conn_access_line(&sb, c, req, resp);
	http_server_log_write(srv, &sb);
}

static int open_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
	return fd < 0 ? -errno : fd;
}

int http_server_reopen_logs(struct http_server *srv, struct error **err)
{
	if (!srv->access_log_path)
		return 0;
	int fd = open_log(srv->access_log_path);
	if (fd < 0)
		return error_set(err, fd, 500, "unable to open access log '%s' - %s",
		                 srv->access_log_path, strerror(-fd));
	pthread_mutex_lock(&srv->log_lock);
	int old = srv->log_fd;
	srv->log_fd = fd;
	pthread_mutex_unlock(&srv->log_lock);
	if (old >= 0)
		close(old);
	return 0;
}

/* --- serving a connection --- */

enum {
	HEAD_OK,
	HEAD_CLOSE, /* end of stream, timeout or shutdown: close quietly */
	HEAD_ERROR, /* answer with the status and close */
};

/* Reads until rbuf holds a whole head; returns its length in *ret_len. */
static int conn_read_head(struct http_conn *c, size_t *ret_len, int *ret_status)
{
	const struct http_limits *lim = &c->srv->lim;
	size_t limit = HTTP_MAX_REQUEST_LINE + lim->max_header_bytes + 4;
	/* Idle until the request's first byte: an unauthenticated connection
	 * waits briefly, an authenticated one as long as keep-alive allows.
	 * Then the whole head must arrive within timeout_s. */
	bool started = false;
	conn_deadline_from(c, now_ms(), c->authenticated ? lim->timeout_s : lim->idle_timeout_s);
	for (;;) {
		c->rpos += http_skip_empty_lines(c->rbuf.buf + c->rpos, http_conn_avail(c));
		if (!started && http_conn_avail(c) > 0) {
			started = true;
			conn_set_deadline(c);
		}
		size_t hl = http_head_length(c->rbuf.buf + c->rpos, http_conn_avail(c));
		if (hl) {
			*ret_len = hl;
			return HEAD_OK;
		}
		if (http_conn_avail(c) > limit) {
			const char *start = c->rbuf.buf + c->rpos;
			*ret_status = memchr(start, '\n', HTTP_MAX_REQUEST_LINE + 2) ? 431 : 414;
			return HEAD_ERROR;
		}
		ssize_t n = http_conn_fill(c, READ_CHUNK);
		if (n == 0 || n == -ECANCELED || (n < 0 && http_conn_avail(c) == 0))
			return HEAD_CLOSE;
		if (n < 0) {
			*ret_status = n == -ETIMEDOUT ? 408 : 400;
			return n == -ETIMEDOUT ? HEAD_ERROR : HEAD_CLOSE;
		}
	}
}

/* Reads the body into body.  Returns 0, -EFBIG (too large; the rest is left
 * unread), -EBADMSG (malformed chunking) or another error (connection lost). */
static int conn_read_body(struct http_conn *c, const struct http_head_info *info,
                          struct strbuf *body)
{
	const struct http_limits *lim = &c->srv->lim;
	conn_set_deadline(c);
	if (info->body_kind == HTTP_BODY_LENGTH) {
		size_t need = info->content_length; /* <= max_body_bytes, checked by the parser */
		size_t have = http_conn_avail(c) < need ? http_conn_avail(c) : need;
		strbuf_grow(body, need);
		strbuf_add(body, c->rbuf.buf + c->rpos, have);
		c->rpos += have;
		while (body->len < need) {
			ssize_t n = conn_recv(c, body->buf + body->len, need - body->len);
			if (n <= 0)
				return n < 0 ? (int)n : -ECONNRESET;
			body->len += (size_t)n;
			body->buf[body->len] = '\0';
		}
		return 0;
	}
	if (info->body_kind != HTTP_BODY_CHUNKED)
		return 0;
	struct http_chunked ch = {0};
	for (;;) {
		size_t used = 0;
		int r = http_chunked_feed(&ch, c->rbuf.buf + c->rpos, http_conn_avail(c), body,
		                          lim->max_body_bytes, &used);
		c->rpos += used;
		if (r == 1)
			return 0;
		if (r < 0)
			return r;
		ssize_t n = http_conn_fill(c, READ_CHUNK);
		if (n <= 0)
			return n < 0 ? (int)n : -ECONNRESET;
	}
}

/* Sleeps ms in this thread only; false when the server stops meanwhile or
 * the connection is shed (its fd shut down: POLLHUP). */
static bool conn_delay(struct http_conn *c, unsigned ms)
{
	int64_t end = now_ms() + (ms > 600000 ? 600000 : ms);
	for (;;) {
		int64_t left = end - now_ms();
		if (left <= 0)
			return true;
		struct pollfd p[2] = {
		    {.fd = c->srv->stop_pipe[0], .events = POLLIN},
		    {.fd = c->fd, .events = 0}, /* POLLHUP and POLLERR only */
		};
		int r = poll(p, 2, (int)left);
		if (r > 0)
			return false;
		if (r < 0 && errno != EINTR)
			return true;
	}
}

/* --- the connection budget --- */

static struct conn_budget *conn_budget_of(struct http_conn *c)
{
	return c->l->unix_path ? &c->srv->local : &c->srv->tcp;
}

/* After the handler or the stream hook: when req carried valid credentials,
 * the connection leaves the unauthenticated budget for good. */
static void conn_note_auth(struct http_conn *c, const struct http_request *req)
{
	if (c->authenticated || !http_request_authenticated(req))
		return;
	pthread_mutex_lock(&c->srv->lock);
	conn_budget_authenticate(conn_budget_of(c), &c->budget);
	pthread_mutex_unlock(&c->srv->lock);
	c->authenticated = true;
}

/* A handler is about to run: not to be shed meanwhile.  False when the
 * connection was shed already (the request is dropped). */
bool http_conn_begin_work(struct http_conn *c)
{
	pthread_mutex_lock(&c->srv->lock);
	bool ok = !c->evicted;
	if (ok)
		conn_budget_set_busy(&c->budget, true, 0);
	pthread_mutex_unlock(&c->srv->lock);
	return ok;
}

/* The handler returned: idle again (and sheddable, unless authenticated),
 * counted from now.  Returns whether the server is stopping. */
bool http_conn_end_work(struct http_conn *c, const struct http_request *req)
{
	conn_note_auth(c, req);
	pthread_mutex_lock(&c->srv->lock);
	conn_budget_set_busy(&c->budget, false, now_ms());
	bool stopping = c->srv->stopping;
	pthread_mutex_unlock(&c->srv->lock);
	return stopping;
}

/* --- streamed uploads --- */

/* All plain fields of a streamed form together. */
#define STREAM_MAX_FIELDS_BYTES (64 * 1024)

struct upload_sink {
	int fd;
	char *path;
	unsigned long long size, max_size;
	json_t *fields;
	size_t n_fields, max_fields, field_bytes;
	bool in_file, file_seen;
	char *field_name; /* current plain field */
	struct strbuf value;
	int werr; /* errno of a failed write */
};

static int sink_part_begin(void *ud, const char *name, const char *filename)
{
	struct upload_sink *s = ud;
	if (!http_utf8_valid(name, strlen(name)) ||
	    (filename && !http_utf8_valid(filename, strlen(filename))))
		return -EILSEQ;
	if (++s->n_fields > s->max_fields)
		return -E2BIG;
	s->field_bytes += strlen(name) + (filename ? strlen(filename) : 0);
	if (s->field_bytes > STREAM_MAX_FIELDS_BYTES)
		return -E2BIG;
	if (filename) {
		if (s->file_seen)
			return -EBADMSG; /* one file per upload */
		s->file_seen = s->in_file = true;
		json_object_set_new(s->fields, name, json_string(filename));
		return 0;
	}
	free(s->field_name);
	s->field_name = xstrdup(name);
	strbuf_reset(&s->value);
	return 0;
}

static int sink_part_data(void *ud, const char *data, size_t len)
{
	struct upload_sink *s = ud;
	if (!s->in_file) {
		s->field_bytes += len;
		if (s->field_bytes > STREAM_MAX_FIELDS_BYTES)
			return -E2BIG;
		strbuf_add(&s->value, data, len);
		return 0;
	}
	if (len > s->max_size - s->size)
		return -EFBIG;
	s->size += len;
	while (len > 0) {
		ssize_t n = write(s->fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->werr = n < 0 ? errno : EIO;
			return -EIO;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int sink_part_end(void *ud)
{
	struct upload_sink *s = ud;
	if (s->in_file) {
		s->in_file = false;
		return 0;
	}
	if (memchr(s->value.buf ? s->value.buf : "", '\0', s->value.len) ||
	    !http_utf8_valid(s->value.buf ? s->value.buf : "", s->value.len))
		return -EILSEQ;
	json_object_set_new(s->fields, s->field_name,
	                    json_stringn(s->value.buf ? s->value.buf : "", s->value.len));
	return 0;
}

static const struct http_multipart_callbacks sink_callbacks = {
    .part_begin = sink_part_begin,
    .part_data = sink_part_data,
    .part_end = sink_part_end,
};

/* Reads the body of a claimed request through the multipart parser.
 * Returns 0 when the whole body was read and parsed, or a negative errno:
 * -ECONNRESET/-ETIMEDOUT/... (connection lost), -EBADMSG, -EILSEQ, -E2BIG,
 * -EFBIG, -EIO (write failed, s->werr). */
static int conn_stream_read(struct http_conn *c, const struct http_head_info *info,
                            struct http_multipart *mp)
{
	uint64_t remaining = info->content_length;
	struct http_chunked ch = {0};
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	int done = 0;
	for (;;) {
		size_t avail = http_conn_avail(c);
		if (info->body_kind == HTTP_BODY_LENGTH) {
			size_t n = avail < remaining ? avail : (size_t)remaining;
			int r = http_multipart_feed(mp, c->rbuf.buf + c->rpos, n);
			c->rpos += n;
			remaining -= n;
			if (r < 0)
				return r;
			if (remaining == 0)
				return r == 1 ? 0 : -EBADMSG;
		} else {
			size_t used = 0;
			strbuf_reset(&out);
			done = http_chunked_feed(&ch, c->rbuf.buf + c->rpos, avail, &out,
			                         SIZE_MAX / 2, &used);
			c->rpos += used;
			if (done < 0)
				return -EBADMSG;
			int r = out.len ? http_multipart_feed(mp, out.buf, out.len) : 0;
			if (r < 0)
				return r;
			if (done == 1)
				return http_multipart_done(mp) ? 0 : -EBADMSG;
		}
		conn_set_deadline(c); /* the deadline bounds idleness, not the upload */
		ssize_t n = http_conn_fill(c, READ_CHUNK);
		if (n <= 0)
			return n < 0 ? (int)n : -ECONNRESET;
	}
}

/* Streams a claimed request's body into spec.  Returns 0 (the request is
 * ready for the handler, maybe with parse_error and *ret_unread), or < 0
 * when the connection is lost (no answer possible). */
static int conn_stream_body(struct http_conn *c, struct http_request *req,
                            const struct http_head_info *info, struct http_stream_spec *spec,
                            bool *ret_unread)
{
	_cleanup_free_ char *boundary =
	    http_multipart_boundary(http_request_header(req, "Content-Type"));
	if (!boundary) {
		*ret_unread = true;
		error_set(&req->parse_error, -EINVAL, 400, "expected a multipart/form-data body");
		return 0;
	}
	if (info->body_kind == HTTP_BODY_LENGTH && info->content_length > spec->max_size &&
	    info->content_length - spec->max_size > 16ULL * 1024 * 1024) {
		*ret_unread = true;
		error_set(&req->parse_error, -EFBIG, 413, "upload too large (%llu bytes free)",
		          spec->max_size);
		return 0;
	}
	struct upload_sink s = {.fd = -1, .max_size = spec->max_size, .value = STRBUF_INIT};
	if (spec->fd >= 0) {
		/* opened (and locked) by the hook's owner, who also removes it */
		s.fd = spec->fd;
		spec->fd = -1;
	} else {
		s.path = xasprintf("%s/.upload-XXXXXX.tmp", spec->dir);
		s.fd = mkostemps(s.path, 4, O_CLOEXEC);
		if (s.fd < 0) {
			int e = errno;
			*ret_unread = true;
			error_set(&req->parse_error, -e, 500,
			          "unable to create temporary file in '%s' - %s", spec->dir,
			          strerror(e));
			free(s.path);
			return 0;
		}
		/* a live upload is locked: the sweep at start removes only the
		 * unlocked ones a killed daemon left (storage_tmp_name) */
		(void)flock(s.fd, LOCK_EX);
	}
	s.fields = json_object();
	s.max_fields = c->srv->lim.max_params;
	int r = 0;
	if (info->expect_continue && http_conn_avail(c) == 0) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		r = conn_send_all(c, cont, sizeof(cont) - 1);
	}
	if (r == 0) {
		struct http_multipart *mp = http_multipart_new(boundary, &sink_callbacks, &s);
		r = mp ? conn_stream_read(c, info, mp) : -EBADMSG;
		http_multipart_free(mp);
	}
	if (close(s.fd) < 0 && r == 0) {
		s.werr = errno;
		r = -EIO;
	}
	int ret = 0;
	switch (r) {
	case 0:
		break;
	case -EBADMSG:
		error_set(&req->parse_error, r, 400, "malformed multipart/form-data body");
		break;
	case -EILSEQ:
		error_set(&req->parse_error, r, 400, "invalid UTF-8 in form field");
		break;
	case -E2BIG:
		error_set(&req->parse_error, r, 400, "too many or too large form fields");
		break;
	case -EFBIG:
		error_set(&req->parse_error, r, 413, "upload too large (%llu bytes free)",
		          spec->max_size);
		break;
	case -EIO:
		error_set(&req->parse_error, r, 500, "unable to write upload - %s",
		          strerror(s.werr));
		break;
	default:
		ret = r; /* connection lost */
		break;
	}
	if (r < 0) {
		*ret_unread = true;
		if (s.path)
			unlink(s.path);
		free(s.path);
	} else if (!s.file_seen) {
		if (s.path)
			unlink(s.path);
		free(s.path);
	} else {
		req->upload_path = s.path;
		req->uploaded = true;
		req->upload_size = s.size;
		/* the query wins, as for ordinary bodies */
		json_object_update(s.fields, req->params);
		json_decref(req->params);
		req->params = json_incref(s.fields);
		req->body_len = (size_t)(s.size < SIZE_MAX ? s.size : SIZE_MAX);
	}
	json_decref(s.fields);
	free(s.field_name);
	strbuf_release(&s.value);
	return ret;
}

/* Asks the stream hook about a POST with a body.  Returns 1 when it claimed
 * the request (spec filled in), 0 otherwise; a refusal lands in parse_error. */
static int conn_stream_claim(struct http_conn *c, struct http_request *req,
                             const struct http_head_info *info, struct http_stream_spec *spec)
{
	struct http_server *srv = c->srv;
	if (!srv->stream || info->body_kind == HTTP_BODY_NONE || !streq(req->method, "POST"))
		return 0;
	/* the only parse_error a head may carry: a Content-Length above the
	 * in-memory limit, which does not apply to a streamed body */
	struct error *big = TAKE_PTR(req->parse_error);
	http_request_decode(req, NULL, 0, &srv->lim); /* path and query */
	if (req->parse_error) {
		error_free(big);
		return 0;
	}
	http_conn_fill_request(c, req);
	spec->fd = -1;
	int r = srv->stream(req, spec, srv->userdata, &req->parse_error);
	if (r <= 0) {
		if (r == 0)
			req->parse_error = big;
		else
			error_free(big);
		free(spec->dir);
		spec->dir = NULL;
		if (spec->fd >= 0)
			close(spec->fd);
		spec->fd = -1;
		return 0;
	}
	error_free(big);
	req->stream_cookie = spec->cookie;
	return 1;
}

/* --- WebSocket relay (http-ws-relay.c) --- */

static ssize_t relay_recv(void *conn, void *buf, size_t len)
{
	struct http_conn *c = conn;
	conn_set_deadline(c); /* a TLS record that began must end in time */
	return conn_recv(c, buf, len);
}

static int relay_send_all(void *conn, const void *buf, size_t len)
{
	return conn_send_all(conn, buf, len);
}

bool http_conn_has_input(const struct http_conn *c)
{
	return http_conn_avail(c) > 0 || c->tin_pos < c->tin_len ||
	       (c->tls && gnutls_record_check_pending(c->tls) > 0);
}

static size_t relay_pending(void *conn)
{
	struct http_conn *c = conn;
	size_t n = c->tls ? gnutls_record_check_pending(c->tls) : 0;
	return n + (c->tin_len - c->tin_pos);
}

/* Relays the upgraded connection on this thread until either side ends
 * (docs/dev/HTTP.md "WebSocket"); takes fd. */
static void conn_relay(struct http_conn *c, int fd, bool terminal)
{
	const struct ws_relay_io io = {
	    .conn = c,
	    .client_fd = c->fd,
	    .stop_fd = c->srv->stop_pipe[0],
	    .recv = relay_recv,
	    .send_all = relay_send_all,
	    .pending = relay_pending,
	};
	c->watch_stop = true;
	size_t n = http_conn_avail(c);
	ws_relay_run(&io, fd, terminal, c->rbuf.buf + c->rpos, n);
	c->rpos += n;
}

void http_conn_fill_request(struct http_conn *c, struct http_request *req)
{
	req->tls = c->tls != NULL;
	req->local_socket = !c->l->tls && c->l->unix_path;
	req->has_peer_cred = c->has_cred;
	req->peer_uid = c->uid;
	req->peer_pid = c->pid;
	snprintf(req->peer_addr, sizeof(req->peer_addr), "%s", c->peer);
}

/* The handler has answered req (conn_end_work() is done): a failed login's
 * delay, the access log, the answer, a WebSocket relay, draining an unread
 * body.  Takes resp's contents; returns whether the connection may carry
 * another request. */
bool http_conn_answer(struct http_conn *c, struct http_request *req, struct http_response *resp,
                      bool keep_alive, bool body_unread)
{
	struct http_server *srv = c->srv;
	if (resp->status == 0)
		resp->status = 500;
	if (body_unread)
		keep_alive = false;
	if (resp->delay_ms && !conn_delay(c, resp->delay_ms)) {
		/* the server is stopping or the connection was shed: drop the answer */
		http_conn_access_log(srv, c, req, resp);
		http_response_release(resp);
		return false;
	}
	pthread_mutex_lock(&srv->lock);
	if (srv->stopping)
		keep_alive = false;
	pthread_mutex_unlock(&srv->lock);
	/* logged before sending, so the line exists once the client has its answer */
	http_conn_access_log(srv, c, req, resp);
	bool upgrade =
	    resp->upgrade && resp->status == 101 && resp->upgrade_fd >= 0 && !body_unread;
	if (resp->status == 101 && !upgrade) {
		resp->status = 500; /* a 101 without a stream to relay is a bug */
		keep_alive = false;
	}
	int r = conn_send_response(c, resp, keep_alive, streq(req->method, "HEAD"));
	if (r == 0 && upgrade) {
		conn_relay(c, TAKE_FD(resp->upgrade_fd), resp->upgrade_terminal);
		keep_alive = false;
	}
	if (r == 0 && body_unread)
		conn_linger(c);
	http_response_release(resp);
	return r == 0 && keep_alive;
}

/* Serves one request; returns true when the connection may carry another. */
bool http_conn_serve_one(struct http_conn *c)
{
	struct http_server *srv = c->srv;
	size_t hl = 0;
	int status = 400;
	c->watch_stop = true;
	int r = conn_read_head(c, &hl, &status);
	if (r == HEAD_CLOSE)
		return false;
	if (r == HEAD_ERROR) {
		http_conn_send_plain(c, status);
		return false;
	}

	struct http_request *req = NULL;
	struct http_head_info info = {0};
	_cleanup_error_ struct error *err = NULL;
	if (http_parse_head(c->rbuf.buf + c->rpos, hl, &srv->lim, &req, &info, &err) < 0) {
		log_debug("bad request from '%s': %s", c->peer, err->msg);
		http_conn_send_plain(c, err->http_status);
		return false;
	}
	c->rpos += hl;
	bool keep_alive = info.keep_alive;
	bool body_unread = false;
	_cleanup_strbuf_ struct strbuf body = STRBUF_INIT;
	struct http_stream_spec spec = {.fd = -1};
	bool streamed = conn_stream_claim(c, req, &info, &spec) == 1;
	conn_note_auth(c, req); /* an authenticated upload is not shed midway */
	if (streamed) {
		r = conn_stream_body(c, req, &info, &spec, &body_unread);
		free(spec.dir);
		if (spec.fd >= 0)
			close(spec.fd);
		if (r < 0)
			goto out_close;
	} else if (req->parse_error) {
		body_unread = info.body_kind != HTTP_BODY_NONE;
	} else {
		if (info.expect_continue && http_conn_avail(c) == 0) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
			if (conn_send_all(c, cont, sizeof(cont) - 1) < 0)
				goto out_close;
		}
		r = conn_read_body(c, &info, &body);
		if (r == -EFBIG) {
			error_set(&req->parse_error, -EFBIG, 413, "request entity too large");
			body_unread = true;
		} else if (r == -EBADMSG) {
			http_conn_send_plain(c, 400);
			goto out_close;
		} else if (r < 0) {
			goto out_close;
		}
	}
	if (!streamed)
		http_request_decode(req, body.buf, body.len, &srv->lim);
	strbuf_release(&body);
	http_conn_fill_request(c, req);

	struct http_response resp = {0};
	if (!http_conn_begin_work(c)) {
		if (req->upload_path)
			unlink(req->upload_path);
		goto out_close;
	}
	streamed = false;      /* the handler sees it: nothing to abort */
	c->watch_stop = false; /* an in-flight request is finished even on shutdown */
	srv->handler(req, &resp, srv->userdata);
	if (req->upload_path)
		unlink(req->upload_path); /* unless the handler took it */
	if (http_conn_end_work(c, req))
		keep_alive = false;
	bool keep = http_conn_answer(c, req, &resp, keep_alive, body_unread);
	http_request_free(req);
	return keep;
out_close:
	if (streamed && srv->stream_abort)
		srv->stream_abort(req->stream_cookie, srv->userdata);
	http_request_free(req);
	return false;
}

static void conn_free(struct http_conn *c)
{
	if (c->tls)
		gnutls_deinit(c->tls);
	if (c->fd >= 0)
		close(c->fd);
	strbuf_release(&c->rbuf);
	strbuf_release(&c->wbuf);
	free(c->tin);
	http_response_release(&c->resp);
	http_request_free(c->req);
	free(c);
}

/* Last thing a connection thread does: after the unlock, srv may be gone. */
void http_conn_finish(struct http_conn *c)
{
	struct http_server *srv = c->srv;
	pthread_mutex_lock(&srv->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->reject && c->l->unix_path) {
		srv->n_local_rejecters--;
	} else if (c->reject) {
		srv->n_rejecters--;
	} else {
		srv->n_conns--;
		if (c->evicted)
			srv->n_dying--;
		conn_budget_release(conn_budget_of(c), &c->budget);
	}
	conn_free(c);
	if (srv->n_conns == 0 && srv->n_rejecters == 0 && srv->n_local_rejecters == 0)
		pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->lock);
}

void http_conn_bye(struct http_conn *c)
{
	if (c->tls && !c->io_err) {
		c->nonblock = false;
		c->deadline_ms = now_ms() + 1000;
		gnutls_bye(c->tls, GNUTLS_SHUT_WR);
	}
}

int http_conn_thread_start(void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t t;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, CONN_STACK_SIZE);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int r = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return r;
}

static void *conn_main(void *arg)
{
	struct http_conn *c = arg;
	c->watch_stop = true;
	if (c->l->tls && conn_tls_start(c) < 0)
		goto out;
	if (c->reject) {
		http_conn_send_plain(c, 503);
		goto out;
	}
	while (http_conn_serve_one(c))
		;
	http_conn_bye(c);
out:
	http_conn_finish(c);
	return NULL;
}

static void conn_start(struct http_listener *l, int fd, const struct sockaddr_storage *sa)
{
	struct http_server *srv = l->srv;
	struct http_conn *c = xnew(struct http_conn, 1);
	c->srv = srv;
	c->l = l;
	c->fd = fd;
	c->rbuf = (struct strbuf)STRBUF_INIT;
	c->budget.owner = c;
	c->accepted_ms = now_ms();
	char key[HTTP_ADDR_KEY_MAX];
	http_addr_key((const struct sockaddr *)sa, key);
	if (sa->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, c->peer,
		          sizeof(c->peer));
	} else if (sa->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, c->peer,
		          sizeof(c->peer));
	} else {
		struct ucred uc;
		socklen_t ul = sizeof(uc);
		snprintf(c->peer, sizeof(c->peer), "unix");
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0) {
			c->has_cred = true;
			c->uid = uc.uid;
			c->pid = uc.pid;
		}
	}
	if (sa->ss_family != AF_UNIX) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}

	pthread_mutex_lock(&srv->lock);
	if (srv->stopping)
		goto drop;
	/* The unix socket (0600, root only) has a budget of its own, so no TCP
	 * flood reaches it, and no per-address limit. */
	struct conn_budget_entry *victim = NULL;
	if (conn_budget_admit(conn_budget_of(c), &c->budget, key, c->accepted_ms,
	                      srv->n_dying < MAX_DYING, &victim) < 0) {
		unsigned *n = l->unix_path ? &srv->n_local_rejecters : &srv->n_rejecters;
		if (*n >= (l->unix_path ? MAX_LOCAL_REJECTERS : MAX_REJECTERS))
			goto drop;
		c->reject = true;
		(*n)++;
	} else {
		srv->n_conns++;
		if (victim) {
			/* Shed it: its thread sees end of stream (or POLLHUP while a
			 * failed login's answer waits) and leaves.  The fd stays
			 * open until then, closed by that thread under this lock. */
			struct http_conn *v = victim->owner;
			v->evicted = true;
			srv->n_dying++;
			shutdown(v->fd, SHUT_RDWR);
			log_debug(
			    "shed idle unauthenticated connection from '%s' for one from '%s'",
			    v->peer, c->peer);
		}
	}
	c->next = srv->conns;
	if (c->next)
		c->next->prev = c;
	srv->conns = c;

	if (srv->loops && !c->reject && !l->unix_path) {
		struct http_loop *loop = srv->loops[srv->next_loop++ % srv->loop_ops.n_loops];
		pthread_mutex_unlock(&srv->lock);
		http_loop_adopt(loop, c);
		return;
	}
	int r = http_conn_thread_start(conn_main, c);
	pthread_mutex_unlock(&srv->lock);
	if (r != 0) {
		log_debug("unable to start connection thread - %s", strerror(r));
		http_conn_finish(c);
	}
	return;
drop:
	pthread_mutex_unlock(&srv->lock);
	conn_free(c);
}

static void *acceptor_main(void *arg)
{
	struct http_listener *l = arg;
	struct http_server *srv = l->srv;
	for (;;) {
		struct pollfd p[2] = {
		    {.fd = l->fd, .events = POLLIN},
		    {.fd = srv->stop_pipe[0], .events = POLLIN},
		};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		struct sockaddr_storage sa;
		socklen_t sl = sizeof(sa);
		int fd = accept4(l->fd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				poll(NULL, 0, 100); /* let connections finish */
			continue;
		}
		conn_start(l, fd, &sa);
	}
	return NULL;
}

/* --- listeners --- */

static struct http_listener *listener_free(struct http_listener *l)
{
	if (!l)
		return NULL;
	if (l->fd >= 0)
		close(l->fd);
	if (l->unix_path)
		unlink(l->unix_path);
	free(l->unix_path);
	if (l->creds)
		gnutls_certificate_free_credentials(l->creds);
	free(l);
	return NULL;
}

static int listener_start(struct http_server *srv, struct http_listener *l, struct error **err)
{
	if (srv->n_listeners >= MAX_LISTENERS) {
		listener_free(l);
		return error_set(err, -ENOSPC, 500, "too many listeners");
	}
	if (srv->start_later && !srv->started) {
		srv->listeners[srv->n_listeners++] = l; /* http_server_start() starts it */
		return 0;
	}
	int r = pthread_create(&l->thread, NULL, acceptor_main, l);
	if (r != 0) {
		listener_free(l);
		return error_set(err, -r, 500, "unable to start listener thread - %s", strerror(r));
	}
	l->running = true;
	srv->listeners[srv->n_listeners++] = l;
	return 0;
}

static int loops_start(struct http_server *srv, struct error **err)
{
	unsigned n = srv->loop_ops.n_loops;
	if (n == 0)
		return 0;
	struct http_loop **loops = xnew(struct http_loop *, n);
	for (unsigned i = 0; i < n; i++) {
		loops[i] = http_loop_new(srv, i, err);
		if (!loops[i]) {
			while (i-- > 0)
				http_loop_free(loops[i]);
			free(loops);
			return -EIO;
		}
	}
	srv->loops = loops;
	return 0;
}

int http_server_start(struct http_server *srv, struct error **err)
{
	srv->started = true;
	if (!srv->loops && loops_start(srv, err) < 0)
		return -EIO;
	for (size_t i = 0; i < srv->n_listeners; i++) {
		struct http_listener *l = srv->listeners[i];
		if (l->running)
			continue;
		int r = pthread_create(&l->thread, NULL, acceptor_main, l);
		if (r != 0)
			return error_set(err, -r, 500, "unable to start listener thread - %s",
			                 strerror(r));
		l->running = true;
	}
	return 0;
}

int http_listen_tcp(const char *host, unsigned port, unsigned *ret_port, struct error **err)
{
	if (port > 65535)
		return error_set(err, -EINVAL, 500, "invalid port %u", port);
	char h[INET6_ADDRSTRLEN + 2];
	if (!host || !*host)
		host = "::";
	size_t hlen = strlen(host);
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']' && hlen - 2 < sizeof(h))
		snprintf(h, sizeof(h), "%.*s", (int)(hlen - 2), host + 1);
	else if (streq(host, "localhost"))
		snprintf(h, sizeof(h), "127.0.0.1");
	else if (hlen < sizeof(h))
		snprintf(h, sizeof(h), "%s", host);
	else
		return error_set(err, -EINVAL, 500, "invalid listen address '%s'", host);

	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
	                         .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	char ps[16];
	snprintf(ps, sizeof(ps), "%u", port);
	int r = getaddrinfo(h, ps, &hints, &ai);
	if (r != 0)
		return error_set(err, -EINVAL, 500, "invalid listen address '%s' - %s", host,
		                 gai_strerror(r));
	_cleanup_close_ int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = error_set(err, -errno, 500, "unable to create socket - %s", strerror(errno));
		goto out;
	}
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		r = error_set(err, -errno, 500, "unable to listen on '%s' port %u - %s", host, port,
		              strerror(errno));
		goto out;
	}
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(sa);
	if (getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		r = error_set(err, -errno, 500, "unable to get socket address - %s",
		              strerror(errno));
		goto out;
	}
	if (ret_port)
		*ret_port =
		    ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port
		                                  : ((struct sockaddr_in6 *)&sa)->sin6_port);
	r = TAKE_FD(fd);
out:
	freeaddrinfo(ai);
	return r;
}

int http_server_listen_tls_fd(struct http_server *srv, int fd, const char *cert_path,
                              const char *key_path, struct error **err)
{
	struct http_listener *l = xnew(struct http_listener, 1);
	l->srv = srv;
	l->tls = true;
	l->fd = fd;
	int r = gnutls_certificate_allocate_credentials(&l->creds);
	if (r < 0) {
		l->creds = NULL;
		listener_free(l);
		return error_set(err, -ENOMEM, 500, "unable to allocate TLS credentials");
	}
	r = gnutls_certificate_set_x509_key_file(l->creds, cert_path, key_path,
	                                         GNUTLS_X509_FMT_PEM);
	if (r < 0) {
		listener_free(l);
		return error_set(err, -EINVAL, 500,
		                 "unable to load certificate '%s' and key '%s' - %s", cert_path,
		                 key_path, gnutls_strerror(r));
	}
	return listener_start(srv, l, err);
}

int http_server_listen_tls(struct http_server *srv, const char *host, unsigned port,
                           const char *cert_path, const char *key_path, unsigned *ret_port,
                           struct error **err)
{
	unsigned bound = 0;
	int fd = http_listen_tcp(host, port, &bound, err);
	if (fd < 0)
		return fd;
	int r = http_server_listen_tls_fd(srv, fd, cert_path, key_path, err);
	if (r < 0)
		return r;
	if (ret_port)
		*ret_port = bound;
	return 0;
}

int http_server_listen_unix(struct http_server *srv, const char *path, struct error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return error_set(err, -ENAMETOOLONG, 500, "socket path '%s' too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);

	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return error_set(err, -EEXIST, 500, "'%s' exists and is not a socket",
			                 path);
		/* refuse to steal the socket of a live server */
		_cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return error_set(err, -EADDRINUSE, 500, "socket '%s' is in use", path);
		unlink(path);
	}

	struct http_listener *l = xnew(struct http_listener, 1);
	l->srv = srv;
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int r;
	if (l->fd < 0) {
		r = error_set(err, -errno, 500, "unable to create socket - %s", strerror(errno));
		goto fail;
	}
	/* Nobody can connect before listen(), so chmod between bind and listen
	 * leaves no window with wider permissions. */
	if (bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = error_set(err, -errno, 500, "unable to bind '%s' - %s", path, strerror(errno));
		goto fail;
	}
	l->unix_path = xstrdup(path);
	if (chmod(path, 0600) < 0 || listen(l->fd, 128) < 0) {
		r = error_set(err, -errno, 500, "unable to listen on '%s' - %s", path,
		              strerror(errno));
		goto fail;
	}
	return listener_start(srv, l, err);
fail:
	listener_free(l);
	return r;
}

/* --- the server --- */

struct http_server *http_server_new(const struct http_server_config *cfg, struct error **err)
{
	if (!cfg || !cfg->handler) {
		error_set(err, -EINVAL, 500, "http server needs a handler");
		return NULL;
	}
	struct http_server *srv = xnew(struct http_server, 1);
	http_limits_fill(&cfg->limits, &srv->lim);
	srv->handler = cfg->handler;
	srv->stream = cfg->stream;
	srv->stream_abort = cfg->stream_abort;
	srv->userdata = cfg->userdata;
	srv->start_later = cfg->start_later;
	srv->loop_ops = cfg->loops;
	if (srv->loop_ops.n_loops > HTTP_MAX_LOOPS || !srv->loop_ops.init ||
	    !srv->loop_ops.submit || !srv->loop_ops.ready)
		srv->loop_ops.n_loops = 0;
	srv->log_fd = !cfg->access_log_path && cfg->access_log_fd > 2 ? cfg->access_log_fd : -1;
	srv->stop_pipe[0] = srv->stop_pipe[1] = -1;
	conn_budget_init(&srv->tcp, &(struct conn_budget_limits){
	                                .max_total = srv->lim.max_connections,
	                                .max_unauth = srv->lim.max_unauth,
	                                .max_per_key = srv->lim.max_per_addr,
	                            });
	conn_budget_init(&srv->local, &(struct conn_budget_limits){
	                                  .max_total = srv->lim.max_local,
	                                  .max_unauth = srv->lim.max_local,
	                              });
	pthread_mutex_init(&srv->lock, NULL);
	pthread_mutex_init(&srv->log_lock, NULL);
	pthread_cond_init(&srv->idle, NULL);
	if (pipe2(srv->stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		error_set(err, -errno, 500, "unable to create pipe - %s", strerror(errno));
		return http_server_free(srv);
	}
	int r =
	    gnutls_priority_init(&srv->prio, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", NULL);
	if (r < 0) {
		srv->prio = NULL;
		error_set(err, -EINVAL, 500, "unable to set TLS priorities - %s",
		          gnutls_strerror(r));
		return http_server_free(srv);
	}
	if (cfg->access_log_path) {
		srv->access_log_path = xstrdup(cfg->access_log_path);
		srv->log_fd = open_log(srv->access_log_path);
		if (srv->log_fd < 0) {
			error_set(err, srv->log_fd, 500, "unable to open access log '%s' - %s",
			          srv->access_log_path, strerror(-srv->log_fd));
			return http_server_free(srv);
		}
	}
	if (!srv->start_later && loops_start(srv, err) < 0)
		return http_server_free(srv);
	return srv;
}

struct http_server *http_server_free(struct http_server *srv)
{
	if (!srv)
		return NULL;
	pthread_mutex_lock(&srv->lock);
	srv->stopping = true;
	pthread_mutex_unlock(&srv->lock);
	if (srv->stop_pipe[1] >= 0) {
		ssize_t n _unused_ = write(srv->stop_pipe[1], "x", 1);
	}
	for (size_t i = 0; i < srv->n_listeners; i++)
		if (srv->listeners[i]->running)
			pthread_join(srv->listeners[i]->thread, NULL);
	/* Idle connections see the stop pipe and leave; running requests finish
	 * their answer (bounded by the write deadline). */
	pthread_mutex_lock(&srv->lock);
	while (srv->n_conns > 0 || srv->n_rejecters > 0 || srv->n_local_rejecters > 0)
		pthread_cond_wait(&srv->idle, &srv->lock);
	pthread_mutex_unlock(&srv->lock);
	/* the loops' connections are gone with the others */
	for (unsigned i = 0; srv->loops && i < srv->loop_ops.n_loops; i++)
		http_loop_free(srv->loops[i]);
	free(srv->loops);

	for (size_t i = 0; i < srv->n_listeners; i++)
		listener_free(srv->listeners[i]);
	if (srv->prio)
		gnutls_priority_deinit(srv->prio);
	if (srv->log_fd >= 0)
		close(srv->log_fd);
	for (int i = 0; i < 2; i++)
		if (srv->stop_pipe[i] >= 0)
			close(srv->stop_pipe[i]);
	pthread_cond_destroy(&srv->idle);
	pthread_mutex_destroy(&srv->log_lock);
	pthread_mutex_destroy(&srv->lock);
	free(srv->access_log_path);
	conn_budget_release_all(&srv->tcp);
	conn_budget_release_all(&srv->local);
	free(srv);
	return NULL;
}

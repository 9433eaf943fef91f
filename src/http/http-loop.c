/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Event loops: a few threads serve many keep-alive TCP connections, so that
 * a request costs its loop a share of one wake-up rather than a thread's
 * own sleep and wake (docs/dev/HTTP.md "Event loops").
 *
 * A loop owns the connections it adopted; only its thread touches them.  A
 * connection is in one of four short states: the TLS handshake, reading a
 * head, awaiting its answer from the backend, writing the answer.  Its
 * epoll registration is one-shot and re-armed for the direction the state
 * waits on, so a connection whose answer is awaited raises nothing and
 * every event in a batch belongs to a connection that is still there.
 *
 * Whatever may block leaves the loop for a thread of its own running the
 * blocking code of http-server.c: a request with a body, Expect or Upgrade,
 * a head the parser refuses or that outgrows its limit, an answer to delay
 * (a failed login) or to relay (101).  After that request a keep-alive
 * connection comes back through http_loop_adopt().
 *
 * Deadlines are checked on a walk over the loop's connections every
 * LOOP_TICK_MS: the handshake's, the idle and head timeouts, the write's.
 * An awaited answer has none here: the backend answers or fails every
 * request it took (the front answers 503 once the privileged process is
 * gone).
 */
#define LOG_CATEGORY "http"
#include "common.h"

#include <assert.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "error.h"
#include "http-server-int.h"
#include "log.h"
#include "xalloc.h"

#define LOOP_EVENTS  64
#define LOOP_TICK_MS 250

/* epoll's data: a pointer (at least 4-aligned) and what it points to */
enum { TAG_CONN, TAG_WATCH, TAG_WAKE, TAG_STOP, TAG_MASK = 3 };

struct http_loop {
	struct http_server *srv;
	int ep, wake_fd;
	pthread_t thread;
	bool running;
	void *lctx;
	struct http_conn *conns; /* every connection in the loop (lprev/lnext) */
	/* answered by the backend, finished after the current event */
	struct http_conn *done, **done_tail;
	bool stopping, stop_seen;
	struct strbuf log; /* the access log lines of a batch */
	int64_t next_tick;
	pthread_mutex_t lock; /* guards adopted and quit */
	struct http_conn *adopted;
	bool quit;
};

enum handoff_mode {
	HANDOFF_SERVE,  /* serve the request whose head is in rbuf */
	HANDOFF_ANSWER, /* send c->resp to c->req (a delay or an upgrade) */
	HANDOFF_PLAIN,  /* answer the status and close */
};

struct handoff {
	struct http_conn *c;
	enum handoff_mode mode;
	int status;
};

static uint64_t tagged(const void *p, unsigned tag)
{
	assert(((uintptr_t)p & TAG_MASK) == 0);
	return (uint64_t)(uintptr_t)p | tag;
}

static void list_add(struct http_loop *loop, struct http_conn *c)
{
	c->lprev = NULL;
	c->lnext = loop->conns;
	if (c->lnext)
		c->lnext->lprev = c;
	loop->conns = c;
}

static void list_remove(struct http_loop *loop, struct http_conn *c)
{
	if (c->lprev)
		c->lprev->lnext = c->lnext;
	else
		loop->conns = c->lnext;
	if (c->lnext)
		c->lnext->lprev = c->lprev;
	c->lprev = c->lnext = NULL;
}

static void arm(struct http_loop *loop, struct http_conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events | EPOLLONESHOT, .data.u64 = tagged(c, TAG_CONN)};
	if (epoll_ctl(loop->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		log_error("epoll_ctl - %m"); /* cannot happen on a registered fd */
}

static void set_blocking(struct http_conn *c, bool blocking)
{
	int fl = fcntl(c->fd, F_GETFL);
	if (fl >= 0)
		fcntl(c->fd, F_SETFL, blocking ? fl & ~O_NONBLOCK : fl | O_NONBLOCK);
	c->nonblock = !blocking;
}

static void loop_close(struct http_loop *loop, struct http_conn *c)
{
	list_remove(loop, c);
	epoll_ctl(loop->ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->tls && !c->io_err && c->state != CONN_HANDSHAKE)
		gnutls_bye(c->tls, GNUTLS_SHUT_WR); /* one try: it may not fit */
	http_conn_finish(c);
}

static void *handoff_main(void *arg)
{
	struct handoff *h = arg;
	struct http_conn *c = h->c;
	bool keep = false;
	switch (h->mode) {
	case HANDOFF_SERVE:
		keep = http_conn_serve_one(c);
		break;
	case HANDOFF_ANSWER: {
		struct http_request *req = TAKE_PTR(c->req);
		struct http_response resp = c->resp;
		c->resp = (struct http_response){0};
		c->watch_stop = false; /* an answered request is finished on shutdown */
		keep = http_conn_answer(c, req, &resp, c->keep_alive, false);
		http_request_free(req);
		break;
	}
	case HANDOFF_PLAIN:
		http_conn_send_plain(c, h->status);
		break;
	}
	free(h);
	if (keep) {
		http_loop_adopt(c->loop, c);
		return NULL;
	}
	http_conn_bye(c);
	http_conn_finish(c);
	return NULL;
}

/* Moves c out of the loop into a thread of its own (docs/dev/HTTP.md). */
static void handoff(struct http_loop *loop, struct http_conn *c, enum handoff_mode mode, int status)
{
	list_remove(loop, c);
	epoll_ctl(loop->ep, EPOLL_CTL_DEL, c->fd, NULL);
	set_blocking(c, true);
	c->state = CONN_THREAD;
	struct handoff *h = xnew(struct handoff, 1);
	*h = (struct handoff){.c = c, .mode = mode, .status = status};
	int r = http_conn_thread_start(handoff_main, h);
	if (r != 0) {
		log_debug("unable to start connection thread - %s", strerror(r));
		free(h);
		http_conn_finish(c);
	}
}

static void enter_read(struct http_loop *loop, struct http_conn *c)
{
	const struct http_limits *lim = &loop->srv->lim;
	c->state = CONN_READ;
	c->head_started = false;
	unsigned s = c->authenticated ? lim->timeout_s : lim->idle_timeout_s;
	c->deadline_ms = http_now_ms() + (int64_t)s * 1000;
}

static void complete(struct http_loop *loop, struct http_conn *c);

/* A whole head of hl bytes is in rbuf: answered here, or handed off. */
static void dispatch(struct http_loop *loop, struct http_conn *c, size_t hl)
{
	struct http_server *srv = loop->srv;
	struct http_request *req = NULL;
	struct http_head_info info = {0};
	_cleanup_error_ struct error *err = NULL;
	if (http_parse_head(c->rbuf.buf + c->rpos, hl, &srv->lim, &req, &info, &err) < 0 ||
	    req->parse_error || info.expect_continue ||
	    (info.body_kind != HTTP_BODY_NONE &&
	     (info.body_kind != HTTP_BODY_LENGTH || info.content_length > 0)) ||
	    http_request_header(req, "Upgrade")) {
		/* the blocking code parses it again, and answers what it refuses */
		http_request_free(req);
		handoff(loop, c, HANDOFF_SERVE, 0);
		return;
	}
	c->rpos += hl;
	http_request_decode(req, NULL, 0, &srv->lim);
	http_conn_fill_request(c, req);
	if (!http_conn_begin_work(c)) {
		http_request_free(req);
		loop_close(loop, c);
		return;
	}
	c->req = req;
	c->keep_alive = info.keep_alive;
	c->state = CONN_AWAIT;
	struct http_response resp = {0};
	if (srv->loop_ops.submit(loop->lctx, req, (struct http_async *)c, &resp) != 0) {
		c->resp = resp;
		complete(loop, c);
	}
}

static void step_read(struct http_loop *loop, struct http_conn *c)
{
	const struct http_limits *lim = &loop->srv->lim;
	size_t limit = HTTP_MAX_REQUEST_LINE + lim->max_header_bytes + 4;
	for (;;) {
		c->rpos += http_skip_empty_lines(c->rbuf.buf + c->rpos, http_conn_avail(c));
		if (!c->head_started && http_conn_avail(c) > 0) {
			c->head_started = true;
			c->deadline_ms = http_now_ms() + (int64_t)lim->timeout_s * 1000;
		}
		size_t hl = http_head_length(c->rbuf.buf + c->rpos, http_conn_avail(c));
		if (hl) {
			dispatch(loop, c, hl);
			return;
		}
		if (http_conn_avail(c) > limit) {
			handoff(loop, c, HANDOFF_SERVE, 0); /* answers 414 or 431 */
			return;
		}
		ssize_t n = http_conn_fill(c, READ_CHUNK);
		if (n == -EAGAIN) {
			arm(loop, c, EPOLLIN);
			return;
		}
		if (n <= 0) {
			loop_close(loop, c);
			return;
		}
	}
}

static void step_handshake(struct http_loop *loop, struct http_conn *c)
{
	int r;
	do {
		r = gnutls_handshake(c->tls);
		if (r == GNUTLS_E_AGAIN) {
			arm(loop, c, gnutls_record_get_direction(c->tls) ? EPOLLOUT : EPOLLIN);
			return;
		}
	} while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0) {
		log_debug("TLS handshake with '%s' failed: %s", c->peer, gnutls_strerror(r));
		c->io_err = EPROTO;
		loop_close(loop, c);
		return;
	}
	enter_read(loop, c);
	step_read(loop, c);
}

static void step_write(struct http_loop *loop, struct http_conn *c)
{
	while (c->wpos < c->wbuf.len) {
		const char *p = c->wbuf.buf + c->wpos;
		size_t len = c->wbuf.len - c->wpos;
		ssize_t n;
		if (c->tls) {
			/* after GNUTLS_E_AGAIN the same arguments again, as GnuTLS wants */
			n = gnutls_record_send(c->tls, p, len);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
				arm(loop, c, EPOLLOUT);
				return;
			}
		} else {
			n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				arm(loop, c, EPOLLOUT);
				return;
			}
		}
		if (n < 0) {
			c->io_err = c->io_err ? c->io_err : EPIPE;
			loop_close(loop, c);
			return;
		}
		c->wpos += (size_t)n;
	}
	if (c->wbuf.alloc > 4 * READ_CHUNK)
		strbuf_release(&c->wbuf); /* a large answer's buffer is not kept */
	else
		strbuf_reset(&c->wbuf);
	c->wpos = 0;
	if (!c->keep_alive || loop->stopping) {
		loop_close(loop, c);
		return;
	}
	enter_read(loop, c);
	if (http_conn_has_input(c))
		step_read(loop, c); /* pipelined, or already read */
	else
		arm(loop, c, EPOLLIN);
}

/* The backend's answer to c->req is in c->resp: its access log line goes
 * to log, its bytes to c->wbuf.  False when it left the loop instead. */
static bool prepare(struct http_loop *loop, struct http_conn *c, struct strbuf *log)
{
	struct http_server *srv = loop->srv;
	bool keep = c->keep_alive;
	if (http_conn_end_work(c, c->req))
		keep = false;
	c->keep_alive = keep;
	if (c->resp.delay_ms || c->resp.status == 101) {
		handoff(loop, c, HANDOFF_ANSWER, 0);
		return false;
	}
	struct http_response *resp = &c->resp;
	if (resp->status == 0)
		resp->status = 500;
	http_conn_access_line(log, c, c->req, resp);
	strbuf_reset(&c->wbuf);
	c->wpos = 0;
	http_conn_format_response(&c->wbuf, resp, keep, streq(c->req->method, "HEAD"));
	http_response_release(resp);
	c->req = http_request_free(c->req);
	c->state = CONN_WRITE;
	c->deadline_ms = http_now_ms() + (int64_t)srv->lim.timeout_s * 1000;
	return true;
}

/* An answer that came at once (the backend's submit()). */
static void complete(struct http_loop *loop, struct http_conn *c)
{
	_cleanup_strbuf_ struct strbuf log = STRBUF_INIT;
	if (!prepare(loop, c, &log))
		return;
	/* logged before sending, so the line exists once the client has its answer */
	http_server_log_write(loop->srv, &log);
	step_write(loop, c);
}

void http_async_done(struct http_async *a, struct http_response *resp)
{
	struct http_conn *c = (struct http_conn *)a;
	struct http_loop *loop = c->loop;
	c->resp = *resp;
	*resp = (struct http_response){0};
	c->qnext = NULL;
	*loop->done_tail = c;
	loop->done_tail = &c->qnext;
}

/* The answers of one batch of events: their access log lines in one write,
 * before any of the answers (so a line exists once its client has the
 * answer), then the answers. */
static void finish_done(struct http_loop *loop)
{
	struct http_conn *ready = NULL, **tail = &ready;
	while (loop->done) {
		struct http_conn *c = loop->done;
		loop->done = c->qnext;
		c->qnext = NULL;
		if (prepare(loop, c, &loop->log)) {
			*tail = c;
			tail = &c->qnext;
		}
	}
	loop->done_tail = &loop->done;
	http_server_log_write(loop->srv, &loop->log);
	strbuf_reset(&loop->log);
	while (ready) {
		struct http_conn *c = ready;
		ready = c->qnext;
		c->qnext = NULL;
		step_write(loop, c);
	}
}

static void step(struct http_loop *loop, struct http_conn *c)
{
	switch (c->state) {
	case CONN_HANDSHAKE:
		step_handshake(loop, c);
		break;
	case CONN_READ:
		step_read(loop, c);
		break;
	case CONN_WRITE:
		step_write(loop, c);
		break;
	default:
		break; /* awaited: not armed */
	}
}

static void take_adopted(struct http_loop *loop, struct http_conn *c)
{
	c->qnext = NULL;
	set_blocking(c, false);
	c->watch_stop = true;
	list_add(loop, c);
	struct epoll_event ev = {.events = EPOLLONESHOT, .data.u64 = tagged(c, TAG_CONN)};
	if (epoll_ctl(loop->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0 || loop->stopping) {
		loop_close(loop, c);
		return;
	}
	if (c->l->tls && !c->tls) {
		c->state = CONN_HANDSHAKE;
		/* from the accept: a handshake left half open holds a slot briefly */
		c->deadline_ms =
		    c->accepted_ms + (int64_t)loop->srv->lim.handshake_timeout_s * 1000;
		if (http_conn_tls_init(c) < 0) {
			loop_close(loop, c);
			return;
		}
		step_handshake(loop, c);
		return;
	}
	enter_read(loop, c);
	step_read(loop, c);
}

/* Returns true when the loop is to end. */
static bool wake(struct http_loop *loop)
{
	uint64_t v;
	ssize_t n _unused_ = read(loop->wake_fd, &v, sizeof(v));
	pthread_mutex_lock(&loop->lock);
	struct http_conn *list = TAKE_PTR(loop->adopted);
	bool quit = loop->quit;
	pthread_mutex_unlock(&loop->lock);
	while (list) {
		struct http_conn *c = list;
		list = c->qnext;
		take_adopted(loop, c);
	}
	return quit;
}

static void tick(struct http_loop *loop, int64_t now)
{
	for (struct http_conn *c = loop->conns, *next; c; c = next) {
		next = c->lnext;
		bool idle = c->state == CONN_HANDSHAKE || c->state == CONN_READ;
		if (loop->stopping && idle) {
			loop_close(loop, c);
			continue;
		}
		if (c->state == CONN_AWAIT || now < c->deadline_ms)
			continue;
		if (c->state == CONN_READ && c->head_started)
			handoff(loop, c, HANDOFF_PLAIN, 408);
		else
			loop_close(loop, c);
	}
}

static void *loop_main(void *arg)
{
	struct http_loop *loop = arg;
	struct epoll_event ev[LOOP_EVENTS];
	loop->next_tick = http_now_ms() + LOOP_TICK_MS;
	for (;;) {
		int64_t left = loop->next_tick - http_now_ms();
		int timeout = !loop->conns ? -1 : left < 0 ? 0 : (int)left;
		int n = epoll_wait(loop->ep, ev, LOOP_EVENTS, timeout);
		bool quit = false;
		for (int i = 0; i < n; i++) {
			void *p = (void *)(uintptr_t)(ev[i].data.u64 & ~(uint64_t)TAG_MASK);
			switch (ev[i].data.u64 & TAG_MASK) {
			case TAG_CONN:
				step(loop, p);
				break;
			case TAG_WATCH:
				loop->srv->loop_ops.ready(loop->lctx, p);
				break;
			case TAG_WAKE:
				quit = wake(loop) || quit;
				break;
			case TAG_STOP:
				loop->stopping = true;
				break;
			}
		}
		while (loop->done) /* a pipelined request may be answered at once */
			finish_done(loop);
		if (quit)
			break;
		int64_t now = http_now_ms();
		if (loop->stopping && !loop->stop_seen) {
			/* once: the pipe stays readable */
			loop->stop_seen = true;
			epoll_ctl(loop->ep, EPOLL_CTL_DEL, loop->srv->stop_pipe[0], NULL);
			loop->next_tick = now;
		}
		if (now >= loop->next_tick) {
			tick(loop, now);
			loop->next_tick = now + LOOP_TICK_MS;
		}
	}
	return NULL;
}

int http_loop_watch(struct http_loop *loop, int fd, void *cookie)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tagged(cookie, TAG_WATCH)};
	return epoll_ctl(loop->ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

void http_loop_unwatch(struct http_loop *loop, int fd)
{
	epoll_ctl(loop->ep, EPOLL_CTL_DEL, fd, NULL);
}

void http_loop_adopt(struct http_loop *loop, struct http_conn *c)
{
	c->loop = loop;
	pthread_mutex_lock(&loop->lock);
	c->qnext = loop->adopted;
	loop->adopted = c;
	pthread_mutex_unlock(&loop->lock);
	uint64_t one = 1;
	ssize_t n _unused_ = write(loop->wake_fd, &one, sizeof(one));
}

struct http_loop *http_loop_new(struct http_server *srv, unsigned index, struct error **err)
{
	struct http_loop *loop = xnew(struct http_loop, 1);
	loop->srv = srv;
	loop->done_tail = &loop->done;
	loop->log = (struct strbuf)STRBUF_INIT;
	pthread_mutex_init(&loop->lock, NULL);
	loop->ep = epoll_create1(EPOLL_CLOEXEC);
	loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct epoll_event wev = {.events = EPOLLIN, .data.u64 = tagged(loop, TAG_WAKE)};
	struct epoll_event sev = {.events = EPOLLIN, .data.u64 = tagged(loop, TAG_STOP)};
	if (loop->ep < 0 || loop->wake_fd < 0 ||
	    epoll_ctl(loop->ep, EPOLL_CTL_ADD, loop->wake_fd, &wev) < 0 ||
	    epoll_ctl(loop->ep, EPOLL_CTL_ADD, srv->stop_pipe[0], &sev) < 0) {
		error_set(err, -errno, 500, "unable to create an event loop - %s", strerror(errno));
		http_loop_free(loop);
		return NULL;
	}
	loop->lctx = srv->loop_ops.init(index, loop, srv->userdata);
	if (!loop->lctx) {
		error_set(err, -EIO, 500, "unable to set up event loop %u", index);
		http_loop_free(loop);
		return NULL;
	}
	int r = pthread_create(&loop->thread, NULL, loop_main, loop);
	if (r != 0) {
		error_set(err, -r, 500, "unable to start an event loop - %s", strerror(r));
		http_loop_free(loop);
		return NULL;
	}
	loop->running = true;
	return loop;
}

void http_loop_free(struct http_loop *loop)
{
	if (!loop)
		return;
	if (loop->running) {
		pthread_mutex_lock(&loop->lock);
		loop->quit = true;
		pthread_mutex_unlock(&loop->lock);
		uint64_t one = 1;
		ssize_t n _unused_ = write(loop->wake_fd, &one, sizeof(one));
		pthread_join(loop->thread, NULL);
	}
	if (loop->lctx && loop->srv->loop_ops.fini)
		loop->srv->loop_ops.fini(loop->lctx);
	if (loop->ep >= 0)
		close(loop->ep);
	if (loop->wake_fd >= 0)
		close(loop->wake_fd);
	pthread_mutex_destroy(&loop->lock);
	strbuf_release(&loop->log);
	free(loop);
}

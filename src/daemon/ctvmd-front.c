/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ctvmd --front: the process that faces the network (docs/dev/PRIVSEP.md).
 *
 * Started by the privileged ctvmd by exec, with the control channel, the
 * TCP listener and the access log as descriptors 3, 4 and 5, the request
 * channels from FRONT_FD_REQUEST on, and nothing else of its memory.  As
 * root and with one thread it loads the certificate and key, then drops to
 * the unprivileged user under seccomp (privsep_drop()), and only then starts
 * threads: the http server's, and one reader of the control channel.
 *
 * Each request is one REQUEST message and one RESPONSE on a request channel
 * the connection's thread checked out of a free list: it writes and reads
 * the channel itself, so a request wakes no other thread of this process.
 * Nothing here decides who the client is: credentials travel as the client
 * sent them, and the privileged side checks them.
 *
 * When a channel breaks (the privileged process died), every waiting and
 * every new request is answered 503 at once; after FRONT_GRACE_S the front
 * exits, so a restarted ctvmd can bind the port again.
 */
#define LOG_CATEGORY "front"
#include "common.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctvmd-privsep.h"
#include "error.h"
#include "fileio.h"
#include "http-www.h"
#include "http.h"
#include "log.h"
#include "privsep.h"
#include "xalloc.h"

/* A send that does not finish in this long breaks the channel. */
#define SEND_TIMEOUT_MS 10000
/* A body handed over as a descriptor is read into memory up to this. */
#define MAX_FD_BODY (256ull << 20)
/* A request waits this long for a free channel, then is answered 503. */
#define CHECKOUT_TIMEOUT_MS 15000

/* A request channel: used by one connection thread at a time, which owns
 * it (and its reader's state) between checkout and checkin. */
struct rchan {
	int fd;
	struct privsep_reader rd;
	struct rchan *next_free;
};

struct front {
	int chan; /* the control channel: HELLO, CANCEL, end of file */
	pthread_mutex_t send_lock;
	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t freed; /* a channel came back, or broken */
	struct rchan ch[FRONT_MAX_CHANNELS];
	unsigned n_ch;
	struct rchan *free;
	bool broken;
	int64_t broken_ms;
	uint64_t next_id; /* atomic */
};

static struct front F = {
    .chan = -1,
    .send_lock = PTHREAD_MUTEX_INITIALIZER,
    .lock = PTHREAD_MUTEX_INITIALIZER,
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Under F.lock. */
static void mark_broken_locked(void)
{
	if (F.broken)
		return;
	F.broken = true;
	F.broken_ms = mono_ms();
	/* wakes every thread blocked on a channel, and the waiters for one */
	shutdown(F.chan, SHUT_RDWR);
	for (unsigned i = 0; i < F.n_ch; i++)
		shutdown(F.ch[i].fd, SHUT_RDWR);
	pthread_cond_broadcast(&F.freed);
}

static void mark_broken(void)
{
	pthread_mutex_lock(&F.lock);
	mark_broken_locked();
	pthread_mutex_unlock(&F.lock);
}

static uint64_t new_id(void)
{
	return __atomic_add_fetch(&F.next_id, 1, __ATOMIC_RELAXED);
}

/* On the control channel (CANCEL). */
static int send_msg(const struct privsep_msg *m, struct error **err)
{
	pthread_mutex_lock(&F.send_lock);
	int r = privsep_send(F.chan, m, SEND_TIMEOUT_MS, err);
	pthread_mutex_unlock(&F.send_lock);
	if (r < 0 && r != -EMSGSIZE && r != -EINVAL)
		mark_broken(); /* a frame may be half written: the channel is gone */
	return r;
}

/* A free request channel in *ret: -EPIPE when the privileged process is
 * gone, -EBUSY when none came free within CHECKOUT_TIMEOUT_MS. */
static int checkout(struct rchan **ret)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += CHECKOUT_TIMEOUT_MS / 1000;
	pthread_mutex_lock(&F.lock);
	int r = 0;
	while (!F.broken && !F.free && r == 0)
		r = pthread_cond_timedwait(&F.freed, &F.lock, &until);
	int ret_r = F.broken ? -EPIPE : F.free ? 0 : -EBUSY;
	if (ret_r == 0) {
		*ret = F.free;
		F.free = F.free->next_free;
	}
	pthread_mutex_unlock(&F.lock);
	return ret_r;
}

static void checkin(struct rchan *c)
{
	pthread_mutex_lock(&F.lock);
	c->next_free = F.free;
	F.free = c;
	pthread_cond_signal(&F.freed);
	pthread_mutex_unlock(&F.lock);
}

/*
 * Sends m on a request channel and reads its answer there.  Returns 0 with
 * the answer in *ret (want or ERROR), -EMSGSIZE when m is too large to
 * encode, -EBUSY when no channel came free in time, -EPIPE when the
 * privileged process is gone.  A channel that fails is not reused: a frame
 * may be half written or read, so every channel is shut (mark_broken()).
 */
static int call(const struct privsep_msg *m, enum privsep_type want, struct privsep_msg *ret,
                struct error **err)
{
	struct rchan *c;
	int r = checkout(&c);
	if (r < 0)
		return r;
	r = privsep_send(c->fd, m, SEND_TIMEOUT_MS, err);
	if (r == -EMSGSIZE || r == -EINVAL) {
		checkin(c); /* nothing was written */
		return r == -EMSGSIZE ? r : -EPIPE;
	}
	while (r >= 0) {
		struct privsep_msg a;
		r = privsep_recv(&c->rd, c->fd, -1, &a, err);
		if (r == 0)
			continue;
		if (r < 0)
			break;
		if (a.id != m->id || (a.type != want && a.type != PRIVSEP_ERROR)) {
			log_error("unexpected answer on a request channel");
			privsep_msg_clear(&a);
			break;
		}
		checkin(c);
		*ret = a; /* moved: the caller clears it */
		return 0;
	}
	mark_broken();
	return -EPIPE;
}

static void *reader_main(void *arg)
{
	(void)arg;
	struct privsep_reader rd;
	privsep_reader_init(&rd, PRIVSEP_PRIV);
	for (;;) {
		struct privsep_msg m;
		_cleanup_error_ struct error *e = NULL;
		int r = privsep_recv(&rd, F.chan, -1, &m, &e);
		if (r < 0) {
			if (r != -EPIPE)
				log_error("channel to the privileged process broken: %s",
				          e ? e->msg : strerror(-r));
			break;
		}
		if (r == 0)
			continue;
		bool fatal = m.type == PRIVSEP_ERROR && m.id == 0;
		privsep_msg_clear(&m); /* HELLO; answers come on the request channels */
		if (fatal)
			break;
	}
	privsep_reader_release(&rd);
	mark_broken();
	return NULL;
}

/* What the choke point reads of req, as a REQUEST or UPLOAD_OPEN. */
static void fill_request(struct privsep_request *out, const struct http_request *req)
{
	/* the WebSocket handshake's too: the privileged side checks it
	 * (ws_check_upgrade) before it opens a console; at most
	 * PRIVSEP_MAX_HEADERS */
	static const char *const headers[] = {
	    "Cookie",     "Authorization",     "CSRFPreventionToken",   "Upgrade",
	    "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol"};
	_Static_assert(ARRAY_SIZE(headers) <= PRIVSEP_MAX_HEADERS, "too many forwarded headers");
	out->method = xstrdup(req->method);
	out->path = xstrdup(req->path && *req->path ? req->path : "/");
	out->params = req->params ? json_incref(req->params) : NULL;
	for (size_t i = 0; i < ARRAY_SIZE(headers); i++) {
		const char *v = http_request_header(req, headers[i]);
		if (!v)
			continue;
		out->headers[out->n_headers].name = xstrdup(headers[i]);
		out->headers[out->n_headers].value = xstrdup(v);
		out->n_headers++;
	}
	if (req->tls)
		out->flags |= PRIVSEP_REQ_TLS;
	if (req->body_is_json)
		out->flags |= PRIVSEP_REQ_BODY_JSON;
	snprintf(out->peer_addr, sizeof(out->peer_addr), "%s", req->peer_addr);
	out->body_len = req->body_len;
}

static struct error *error_copy(const struct error *e)
{
	struct error *c = NULL;
	error_set(&c, e->code, e->http_status, "%s", e->msg);
	if (e->params)
		c->params = json_deep_copy(e->params);
	return c;
}

static void answer_plain(struct http_response *resp, int status, const char *msg)
{
	free(resp->reason);
	resp->status = status;
	resp->reason = xstrdup(msg);
}

/* The response's content type must be a static string (http.h). */
static const char *static_content_type(const char *t)
{
	static const char *const known[] = {"application/json;charset=UTF-8",
	                                    "text/plain;charset=UTF-8", "image/png"};
	if (!t)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (streq(t, known[i]))
			return known[i];
	return "application/octet-stream";
}

static int read_body_fd(int fd, uint64_t len, char **ret)
{
	if (len > MAX_FD_BODY)
		return -EFBIG;
	_cleanup_free_ char *buf = xmalloc(len + 1);
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		got += (size_t)n;
	}
	*ret = TAKE_PTR(buf);
	return 0;
}

struct www *pages_load(const char *dir)
{
	if (!dir) {
		/* a ctvmd run from its build tree serves that build's pages, an
		 * installed one the installed pages, whatever else is on the host */
		_cleanup_free_ char *exe = realpath("/proc/self/exe", NULL);
		dir = exe && str_startswith(exe, CTVM_BUILD_ROOT "/") ? CTVM_WWW_BUILD_DIR
		                                                      : CTVM_WWW_DIR;
	}
	struct www *w = NULL;
	_cleanup_error_ struct error *e = NULL;
	if (www_load(dir, &w, &e) < 0) {
		log_warn("no console pages: %s", e ? e->msg : "cannot load");
		return NULL;
	}
	log_debug("console pages: %zu files from %s", www_count(w), dir);
	return w;
}

/* Answers what the front answers itself (the console pages, a method too
 * long to forward); false when req goes to priv. */
static bool answer_here(const struct http_request *req, struct http_response *resp,
                        struct www *pages)
{
	/* the console pages are static: answered here, never by priv */
	if (www_handle(pages, req, resp))
		return true;
	if (strlen(req->method) > PRIVSEP_MAX_METHOD) {
		answer_plain(resp, 501, "Not Implemented");
		return true;
	}
	return false;
}

/* req as a REQUEST message with id. */
static void request_msg(const struct http_request *req, uint64_t id, struct privsep_msg *m)
{
	privsep_msg_init(m, PRIVSEP_REQUEST, id);
	fill_request(&m->request, req);
	if (req->uploaded) {
		m->request.flags |= PRIVSEP_REQ_UPLOAD;
		m->request.upload_size = req->upload_size;
	}
	if (req->parse_error)
		m->request.parse_error = error_copy(req->parse_error);
}

/* The answer a (RESPONSE or ERROR) as resp; what resp needs of a is taken
 * from it, the rest stays a's caller's to clear. */
static void answer_from(const struct http_request *req, struct privsep_msg *a,
                        struct http_response *resp);

static void front_handle(const struct http_request *req, struct http_response *resp, void *ud)
{
	if (answer_here(req, resp, ud))
		return;
	_cleanup_privsep_msg_ struct privsep_msg m;
	request_msg(req, req->stream_cookie ? req->stream_cookie : new_id(), &m);

	_cleanup_privsep_msg_ struct privsep_msg a;
	privsep_msg_init(&a, PRIVSEP_RESPONSE, 0);
	_cleanup_error_ struct error *e = NULL;
	int r = call(&m, PRIVSEP_RESPONSE, &a, &e);
	if (r == -EMSGSIZE) {
		if (req->stream_cookie) {
			struct privsep_msg c;
			privsep_msg_init(&c, PRIVSEP_CANCEL, m.id);
			send_msg(&c, NULL);
		}
		answer_plain(resp, 413, "request entity too large");
		return;
	}
	if (r < 0) {
		answer_plain(resp, 503, "Service Unavailable");
		return;
	}
	answer_from(req, &a, resp);
}

static void answer_from(const struct http_request *req, struct privsep_msg *a,
                        struct http_response *resp)
{
	if (a->type == PRIVSEP_ERROR) {
		answer_plain(resp, a->error->http_status ? a->error->http_status : 500,
		             a->error->msg);
		return;
	}
	if (a->flags & PRIVSEP_F_AUTHENTICATED)
		http_request_set_authenticated(req);
	struct privsep_response *pr = &a->response;
	resp->status = pr->status;
	resp->reason = TAKE_PTR(pr->reason);
	resp->content_type = static_content_type(pr->content_type);
	resp->delay_ms = pr->delay_ms;
	for (size_t i = 0; i < pr->n_headers && i < ARRAY_SIZE(resp->headers); i++)
		resp->headers[resp->n_headers++] = TAKE_PTR(pr->headers[i]);
	resp->log_user = TAKE_PTR(pr->log_user);
	if (pr->status == 101) {
		/* a WebSocket upgrade: the descriptor is the console's stream,
		 * which the http layer relays (docs/dev/PRIVSEP.md "Consoles") */
		if (a->fd < 0 || pr->body_len) {
			answer_plain(resp, 500, "unable to read the answer");
			return;
		}
		resp->upgrade = true;
		resp->upgrade_fd = TAKE_FD(a->fd);
		resp->upgrade_terminal = a->flags & PRIVSEP_F_TERMINAL;
	} else if (a->fd >= 0) {
		char *body = NULL;
		if (read_body_fd(a->fd, pr->body_len, &body) < 0) {
			free(resp->reason);
			resp->reason = NULL;
			answer_plain(resp, 500, "unable to read the answer");
			return;
		}
		resp->body = body;
		resp->body_len = pr->body_len;
	} else {
		resp->body = TAKE_PTR(pr->body);
		resp->body_len = pr->body_len;
	}
}

/* --- the event loops' requests (http-loop.c) --- */

/* A request channel a loop owns: one request in flight at a time, as on
 * the connection threads' channels, so priv serves it unchanged. */
struct lchan {
	int fd;
	struct privsep_reader rd;
	struct http_async *a; /* in flight, or NULL */
	const struct http_request *req;
	uint64_t id;
	struct front_loop *fl;
};

struct waiting {
	const struct http_request *req;
	struct http_async *a;
	struct waiting *next;
};

struct front_loop {
	struct http_loop *loop;
	struct www *pages;
	struct lchan *ch;
	unsigned n_ch;
	/* requests beyond the loop's channels, in order */
	struct waiting *head, **tail;
};

/* Which of F.ch the loops own: the last n_loops * loop_ch of them. */
static unsigned n_loops, loop_ch;

static void async_answer(struct http_async *a, int status, const char *msg)
{
	struct http_response resp = {0};
	answer_plain(&resp, status, msg);
	http_async_done(a, &resp);
}

/* Sends req on the free channel c, or answers it at once when that fails. */
static void lchan_send(struct lchan *c, const struct http_request *req, struct http_async *a)
{
	_cleanup_privsep_msg_ struct privsep_msg m;
	request_msg(req, new_id(), &m);
	_cleanup_error_ struct error *e = NULL;
	int r = F.broken ? -EPIPE : privsep_send(c->fd, &m, SEND_TIMEOUT_MS, &e);
	if (r >= 0) {
		c->a = a;
		c->req = req;
		c->id = m.id;
	} else if (r == -EMSGSIZE) {
		async_answer(a, 413, "request entity too large");
	} else {
		if (r != -EPIPE && r != -EINVAL)
			mark_broken(); /* a frame may be half written */
		async_answer(a, 503, "Service Unavailable");
	}
}

static struct lchan *lchan_free(struct front_loop *fl)
{
	for (unsigned i = 0; i < fl->n_ch; i++)
		if (!fl->ch[i].a)
			return &fl->ch[i];
	return NULL;
}

/* A channel came free: the oldest waiting request takes it. */
static void loop_next(struct front_loop *fl)
{
	struct lchan *c;
	while (fl->head && (c = lchan_free(fl))) {
		struct waiting *w = fl->head;
		fl->head = w->next;
		if (!fl->head)
			fl->tail = &fl->head;
		lchan_send(c, w->req, w->a);
		free(w);
	}
}

static int loop_submit(void *lctx, const struct http_request *req, struct http_async *a,
                       struct http_response *resp)
{
	struct front_loop *fl = lctx;
	if (answer_here(req, resp, fl->pages))
		return 1;
	if (F.broken) {
		answer_plain(resp, 503, "Service Unavailable");
		return 1;
	}
	struct lchan *c = lchan_free(fl);
	if (c) {
		lchan_send(c, req, a);
		return 0;
	}
	struct waiting *w = xnew(struct waiting, 1);
	*w = (struct waiting){.req = req, .a = a};
	*fl->tail = w;
	fl->tail = &w->next;
	return 0;
}

/* Every request of the loop, in flight or waiting, is answered 503. */
static void loop_fail_all(struct front_loop *fl)
{
	for (unsigned i = 0; i < fl->n_ch; i++)
		if (fl->ch[i].a)
			async_answer(TAKE_PTR(fl->ch[i].a), 503, "Service Unavailable");
	while (fl->head) {
		struct waiting *w = fl->head;
		fl->head = w->next;
		async_answer(w->a, 503, "Service Unavailable");
		free(w);
	}
	fl->tail = &fl->head;
}

static void loop_ready(void *lctx, void *cookie)
{
	struct front_loop *fl = lctx;
	struct lchan *c = cookie;
	_cleanup_privsep_msg_ struct privsep_msg a;
	privsep_msg_init(&a, PRIVSEP_RESPONSE, 0);
	_cleanup_error_ struct error *e = NULL;
	/* one request at a time on a channel: at most one answer to read */
	int r = privsep_recv(&c->rd, c->fd, 0, &a, &e);
	if (r == 0)
		return; /* part of a frame */
	if (r > 0 &&
	    (!c->a || a.id != c->id || (a.type != PRIVSEP_RESPONSE && a.type != PRIVSEP_ERROR))) {
		log_error("unexpected answer on a request channel");
		r = -EPROTO;
	}
	if (r < 0) {
		if (r != -EPIPE)
			log_error("channel to the privileged process broken: %s",
			          e ? e->msg : strerror(-r));
		/* every channel is shut, so every loop hears of it; their end
		 * of file must not wake this loop again */
		mark_broken();
		loop_fail_all(fl);
		for (unsigned i = 0; i < fl->n_ch; i++)
			http_loop_unwatch(fl->loop, fl->ch[i].fd);
		return;
	}
	struct http_response resp = {0};
	answer_from(c->req, &a, &resp);
	http_async_done(TAKE_PTR(c->a), &resp);
	loop_next(fl);
}

static void *loop_init(unsigned i, struct http_loop *loop, void *ud)
{
	struct front_loop *fl = xnew(struct front_loop, 1);
	fl->loop = loop;
	fl->pages = ud;
	fl->tail = &fl->head;
	fl->ch = xnew(struct lchan, loop_ch);
	fl->n_ch = loop_ch;
	unsigned first = F.n_ch - n_loops * loop_ch + i * loop_ch;
	for (unsigned k = 0; k < loop_ch; k++) {
		struct lchan *c = &fl->ch[k];
		c->fd = F.ch[first + k].fd;
		c->fl = fl;
		privsep_reader_init(&c->rd, PRIVSEP_PRIV);
		c->rd.one_at_a_time = true;
		if (http_loop_watch(loop, c->fd, c) < 0) {
			log_error("front: cannot watch a request channel");
			return NULL;
		}
	}
	return fl;
}

static void loop_fini(void *lctx)
{
	struct front_loop *fl = lctx;
	for (unsigned k = 0; k < fl->n_ch; k++)
		privsep_reader_release(&fl->ch[k].rd);
	free(fl->ch);
	free(fl);
}

/* The stream hook: may this POST's body stream into a file priv opens? */
static int front_stream(const struct http_request *req, struct http_stream_spec *spec, void *ud,
                        struct error **err)
{
	(void)ud;
	if (strlen(req->method) > PRIVSEP_MAX_METHOD)
		return 0;
	_cleanup_privsep_msg_ struct privsep_msg m;
	privsep_msg_init(&m, PRIVSEP_UPLOAD_OPEN, new_id());
	fill_request(&m.request, req);
	m.request.body_len = UINT64_MAX;
	_cleanup_privsep_msg_ struct privsep_msg a;
	privsep_msg_init(&a, PRIVSEP_UPLOAD_FILE, 0);
	_cleanup_error_ struct error *e = NULL;
	int r = call(&m, PRIVSEP_UPLOAD_FILE, &a, &e);
	if (r == -EMSGSIZE)
		return 0; /* the handler's REQUEST answers 413 */
	if (r < 0)
		return error_set(err, -EPIPE, 503, "Service Unavailable");
	if (a.type == PRIVSEP_ERROR) {
		error_propagate(err, TAKE_PTR(a.error));
		return -EIO;
	}
	if (a.flags & PRIVSEP_F_AUTHENTICATED)
		http_request_set_authenticated(req);
	switch (a.upload.verdict) {
	case PRIVSEP_UPLOAD_CLAIM:
		spec->fd = TAKE_FD(a.fd);
		spec->max_size = a.upload.max_size;
		spec->cookie = m.id;
		return 1;
	case PRIVSEP_UPLOAD_REFUSE: {
		int code = a.upload.error->code;
		error_propagate(err, TAKE_PTR(a.upload.error));
		return code < 0 ? code : -EINVAL;
	}
	default:
		return 0;
	}
}

/* A claimed upload whose request never reached the handler. */
static void front_stream_abort(unsigned long long cookie, void *ud)
{
	(void)ud;
	struct privsep_msg c;
	privsep_msg_init(&c, PRIVSEP_CANCEL, cookie);
	send_msg(&c, NULL);
}

_noreturn_ void front_main(const struct front_options *o)
{
	struct error *e = NULL;
	F.chan = FRONT_FD_CHANNEL;
	/* the inherited descriptors were not close-on-exec; nothing execs
	 * after the drop, but keep the rule */
	for (int fd = FRONT_FD_CHANNEL; fd <= FRONT_FD_ACCESS_LOG; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	/* the request channels: every descriptor from FRONT_FD_REQUEST on that
	 * is open now, before anything else opens one */
	for (; F.n_ch < FRONT_MAX_CHANNELS; F.n_ch++) {
		int fd = FRONT_FD_REQUEST + (int)F.n_ch;
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
			break;
		F.ch[F.n_ch].fd = fd;
	}
	if (F.n_ch == 0) {
		log_error("front: started without request channels");
		_exit(1);
	}
	/* half the channels go to the loops, the rest to the connection
	 * threads (bodies, uploads, consoles, delayed answers) */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	n_loops = o->loops >= 0 ? (unsigned)o->loops : cpus > 0 ? (unsigned)cpus : 1;
	if (n_loops > FRONT_MAX_LOOPS)
		n_loops = FRONT_MAX_LOOPS;
	loop_ch = n_loops ? F.n_ch / 2 / n_loops : 0;
	if (loop_ch == 0)
		n_loops = 0;
	for (unsigned i = 0; i < F.n_ch - n_loops * loop_ch; i++) {
		struct rchan *c = &F.ch[i];
		privsep_reader_init(&c->rd, PRIVSEP_PRIV);
		c->rd.one_at_a_time = true;
		c->next_free = F.free;
		F.free = c;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&F.freed, &ca);
	pthread_condattr_destroy(&ca);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	tzset();
	json_decref(json_object()); /* jansson seeds its hash from /dev/urandom */

	/* read as root, before the drop; immutable afterwards */
	struct www *pages = pages_load(o->www_dir);
	struct http_server_config hcfg = {
	    .limits = o->limits,
	    .access_log_fd = FRONT_FD_ACCESS_LOG,
	    .handler = front_handle,
	    .stream = front_stream,
	    .stream_abort = front_stream_abort,
	    .userdata = pages,
	    .start_later = true,
	    .loops =
	        {
	            .n_loops = n_loops,
	            .init = loop_init,
	            .fini = loop_fini,
	            .submit = loop_submit,
	            .ready = loop_ready,
	        },
	};
	struct http_server *srv = http_server_new(&hcfg, &e);
	if (!srv || http_server_listen_tls_fd(srv, FRONT_FD_LISTEN, o->cert, o->key, &e) < 0) {
		log_error("front: %s", e ? e->msg : "cannot start");
		_exit(1);
	}
	struct privsep_msg hello;
	privsep_msg_init(&hello, PRIVSEP_HELLO, 0);
	hello.hello.version = PRIVSEP_VERSION;
	hello.hello.pid = getpid();

	struct privsep_drop_config dcfg = {.user = o->user, .seccomp = o->seccomp};
	if (privsep_drop(&dcfg, &e) < 0) {
		log_error("front: cannot drop privileges: %s", e ? e->msg : "failed");
		_exit(1);
	}
	if (privsep_send(F.chan, &hello, SEND_TIMEOUT_MS, &e) < 0) {
		log_error("front: privileged process gone at start");
		_exit(1);
	}
	pthread_t reader;
	if (pthread_create(&reader, NULL, reader_main, NULL) != 0 ||
	    http_server_start(srv, &e) < 0) {
		log_error("front: cannot start threads");
		_exit(1);
	}
	log_debug("front %d serving as '%s'", (int)getpid(), o->user);

	for (;;) {
		struct timespec tick = {.tv_sec = 0, .tv_nsec = 250 * 1000000};
		int sig = sigtimedwait(&mask, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		pthread_mutex_lock(&F.lock);
		bool gone = F.broken && mono_ms() - F.broken_ms > FRONT_GRACE_S * 1000;
		pthread_mutex_unlock(&F.lock);
		if (gone) {
			log_warn("front: privileged process gone, exiting");
			break;
		}
	}
	/* In-flight requests finish (their answers come, or 503 once the
	 * channel breaks); then out, without atexit handlers (a sanitizer's
	 * leak check would call outside the seccomp list). */
	http_server_free(srv);
	_exit(0);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The privileged side of ctvmd (docs/dev/PRIVSEP.md): starts the
 * front by exec with a control channel and N request channels, serves the
 * request channels (privsep-serve.h: a few pollers answer reads, anything
 * else gets a thread of its own), and restarts the front when it dies.
 *
 * Trust: a forwarded request is rebuilt with local_socket and peer
 * credentials always off, whatever the front says; its credentials are the
 * client's own (cookie, Authorization, CSRF token), checked by
 * api_handle_request() as for any request.  Its peer address and TLS flag
 * are used for logs and the login limiter only.
 *
 * Uploads: on UPLOAD_OPEN the api layer's stream hook decides; a claimed
 * upload gets a ".upload-XXXXXX.tmp" file opened and locked here, whose
 * descriptor goes to the front.  This side keeps its path and removes it
 * once the REQUEST was answered, on CANCEL, or when the front dies.  An
 * UPLOAD_OPEN, its REQUEST and a CANCEL may come on different channels, so
 * uploads are keyed by the front (its generation) and the request id.
 */
#define LOG_CATEGORY "priv"
#include "common.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "api.h"
#include "ctvmd-privsep.h"
#include "error.h"
#include "http-parse.h" /* http_response_release() */
#include "http.h"
#include "log.h"
#include "privsep-serve.h"
#include "privsep.h"
#include "xalloc.h"

extern char **environ;

#define SEND_TIMEOUT_MS 10000
/* Upload files open at once; the front's connection budget bounds them
 * anyway. */
#define MAX_UPLOADS 256
/* Threads answering reads on the request channels, at most */
#define PRIV_MAX_POLLERS 4

struct priv;

/* One front, as its request channels' serve callbacks see it. */
struct front_gen {
	struct priv *p;
	uint64_t gen; /* the front's */
	int ctl_fd;   /* its control channel: shut down on a protocol error */
};

struct upload {
	uint64_t id;
	uint64_t gen; /* the front it belongs to */
	char *path;
	int fd;
	struct upload *next;
};

struct priv {
	struct priv_config cfg;
	pthread_t supervisor;
	unsigned n_channels;
	unsigned n_pollers; /* threads answering reads (privsep-serve.h) */

	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t idle;  /* stopping */
	struct upload *uploads;
	unsigned n_uploads;
	bool stopping; /* no more fronts */
	pid_t front;
	uint64_t gen; /* of the current front */
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Only the thread serving the channel's request sends on it: no lock. */
static void chan_send(int fd, const struct privsep_msg *m)
{
	_cleanup_error_ struct error *e = NULL;
	int r = privsep_send(fd, m, SEND_TIMEOUT_MS, &e);
	if (r >= 0)
		return;
	if (r == -EMSGSIZE || r == -EINVAL) {
		/* nothing was written: give up on this request only */
		log_warn("cannot encode the answer to request %llu: %s", (unsigned long long)m->id,
		         e ? e->msg : strerror(-r));
		struct privsep_msg x;
		privsep_msg_init(&x, PRIVSEP_ERROR, m->id);
		error_set(&x.error, -EIO, 500, "unable to forward the answer");
		r = privsep_send(fd, &x, SEND_TIMEOUT_MS, NULL);
		privsep_msg_clear(&x);
		if (r >= 0)
			return;
	}
	shutdown(fd, SHUT_RDWR); /* the front sees it and answers 503 */
}

/* --- uploads --- */

static struct upload *upload_take(struct priv *p, uint64_t gen, uint64_t id)
{
	pthread_mutex_lock(&p->lock);
	struct upload *u = NULL;
	for (struct upload **pp = &p->uploads; *pp; pp = &(*pp)->next)
		if ((*pp)->id == id && (*pp)->gen == gen) {
			u = *pp;
			*pp = u->next;
			p->n_uploads--;
			break;
		}
	pthread_mutex_unlock(&p->lock);
	return u;
}

static void upload_free(struct upload *u, bool remove)
{
	if (!u)
		return;
	if (remove)
		unlink(u->path);
	close(u->fd);
	free(u->path);
	free(u);
}

/* --- requests --- */

static struct http_request *rebuild(const struct privsep_request *r)
{
	struct http_request *req = http_request_new_forwarded(r->method, r->path);
	for (size_t i = 0; i < r->n_headers; i++)
		http_request_add_header(req, r->headers[i].name, r->headers[i].value);
	req->params = r->params ? json_incref(r->params) : json_object();
	req->body_is_json = r->flags & PRIVSEP_REQ_BODY_JSON;
	req->body_len = r->body_len > SIZE_MAX ? SIZE_MAX : (size_t)r->body_len;
	req->tls = r->flags & PRIVSEP_REQ_TLS;
	/* never the front's word: root on api.sock is decided by this process */
	req->local_socket = false;
	req->has_peer_cred = false;
	snprintf(req->peer_addr, sizeof(req->peer_addr), "%s", r->peer_addr);
	return req;
}

/* A line for the channel: no CR, LF or NUL, at most max bytes. */
static char *clean_line(const char *s, size_t max)
{
	if (!s)
		return NULL;
	size_t n = strnlen(s, max);
	char *c = xstrndup(s, n);
	for (char *q = c; *q; q++)
		if (*q == '\r' || *q == '\n')
			*q = ' ';
	return c;
}

static void serve_request(const struct front_gen *g, int fd, struct privsep_msg *m)
{
	struct priv *p = g->p;
	struct http_request *req = rebuild(&m->request);
	req->parse_error = TAKE_PTR(m->request.parse_error);
	struct upload *u = upload_take(p, g->gen, m->id);
	if (u && (m->request.flags & PRIVSEP_REQ_UPLOAD)) {
		req->upload_path = xstrdup(u->path);
		req->upload_size = m->request.upload_size;
		req->uploaded = true;
	}
	struct http_response resp = {0};
	api_handle_request(req, &resp, p->cfg.ctx);
	/* the handler renamed the file away if it kept it */
	upload_free(u, true);

	struct privsep_msg a;
	privsep_msg_init(&a, PRIVSEP_RESPONSE, m->id);
	if (http_request_authenticated(req))
		a.flags |= PRIVSEP_F_AUTHENTICATED;
	struct privsep_response *pr = &a.response;
	pr->status = resp.status >= 100 && resp.status <= 599 ? (uint16_t)resp.status : 500;
	pr->reason = clean_line(resp.reason, PRIVSEP_MAX_REASON);
	pr->content_type =
	    resp.content_type && strlen(resp.content_type) <= PRIVSEP_MAX_CONTENT_TYPE
	        ? xstrdup(resp.content_type)
	        : NULL;
	pr->delay_ms = resp.delay_ms > PRIVSEP_MAX_DELAY_MS ? PRIVSEP_MAX_DELAY_MS : resp.delay_ms;
	for (size_t i = 0; i < resp.n_headers && i < PRIVSEP_MAX_HEADERS; i++)
		pr->headers[pr->n_headers++] = TAKE_PTR(resp.headers[i]);
	pr->log_user = clean_line(resp.log_user, PRIVSEP_MAX_LOG_USER);
	pr->body_len = resp.body ? resp.body_len : 0;
	if (resp.upgrade && resp.status == 101 && resp.upgrade_fd >= 0) {
		/* a WebSocket upgrade: the descriptor is the console's stream,
		 * relayed by the front (docs/dev/PRIVSEP.md "Consoles") */
		pr->body_len = 0;
		a.fd = TAKE_FD(resp.upgrade_fd);
		if (resp.upgrade_terminal)
			a.flags |= PRIVSEP_F_TERMINAL;
	} else if (pr->status == 101) {
		pr->status = 500;
	} else if (pr->body_len > PRIVSEP_MAX_BODY) {
		/* a large answer goes as a descriptor, read by the front */
		int mfd = memfd_create("ctvm-answer", MFD_CLOEXEC);
		size_t off = 0;
		while (mfd >= 0 && off < resp.body_len) {
			ssize_t n = write(mfd, resp.body + off, resp.body_len - off);
			if (n <= 0) {
				close(mfd);
				mfd = -1;
				break;
			}
			off += (size_t)n;
		}
		if (mfd < 0 || lseek(mfd, 0, SEEK_SET) < 0) {
			pr->status = 500;
			free(pr->reason);
			pr->reason = xstrdup("unable to pass the answer");
			pr->body_len = 0;
		} else {
			a.fd = mfd;
		}
	} else if (pr->body_len) {
		pr->body = TAKE_PTR(resp.body);
	}
	http_response_release(&resp);
	http_request_free(req);
	chan_send(fd, &a);
	privsep_msg_clear(&a);
}

static void serve_upload_open(const struct front_gen *g, int fd, struct privsep_msg *m)
{
	struct priv *p = g->p;
	struct http_request *req = rebuild(&m->request);
	struct http_stream_spec spec = {.fd = -1};
	struct privsep_msg a;
	privsep_msg_init(&a, PRIVSEP_UPLOAD_FILE, m->id);
	struct error *e = NULL;
	int r = api_stream_request(req, &spec, p->cfg.ctx, &e);
	if (http_request_authenticated(req))
		a.flags |= PRIVSEP_F_AUTHENTICATED;
	if (r > 0) {
		struct upload *u = xnew(struct upload, 1);
		u->id = m->id;
		u->gen = g->gen;
		u->path = xasprintf("%s/.upload-XXXXXX.tmp", spec.dir);
		u->fd = mkostemps(u->path, 4, O_CLOEXEC);
		if (u->fd < 0) {
			error_set(&e, -errno, 500, "unable to create temporary file in '%s' - %s",
			          spec.dir, strerror(errno));
			free(u->path);
			free(u);
			r = -EIO;
		} else {
			/* locked while written: the sweep at start spares a live upload */
			(void)flock(u->fd, LOCK_EX);
			pthread_mutex_lock(&p->lock);
			bool full = p->n_uploads >= MAX_UPLOADS;
			if (!full) {
				u->next = p->uploads;
				p->uploads = u;
				p->n_uploads++;
			}
			pthread_mutex_unlock(&p->lock);
			if (full) {
				upload_free(u, true);
				error_set(&e, -EBUSY, 503, "too many uploads at once");
				r = -EBUSY;
			} else {
				a.upload.verdict = PRIVSEP_UPLOAD_CLAIM;
				a.upload.max_size = spec.max_size;
				a.fd = dup(u->fd);
			}
		}
	}
	if (r < 0) {
		a.upload.verdict = PRIVSEP_UPLOAD_REFUSE;
		if (!e)
			error_set(&e, r, 500, "upload refused");
		e->msg[strnlen(e->msg, PRIVSEP_MAX_ERROR_MSG - 1)] = '\0';
		a.upload.error = e;
	} else if (r == 0) {
		error_free(e);
	}
	free(spec.dir);
	http_request_free(req);
	chan_send(fd, &a);
	privsep_msg_clear(&a);
}

/* A frame from one of the front's request channels (privsep-serve.h). */
static void serve_frame(void *userdata, unsigned index, int fd, struct privsep_msg *m)
{
	const struct front_gen *g = userdata;
	(void)index;
	switch (m->type) {
	case PRIVSEP_REQUEST:
		serve_request(g, fd, m);
		break;
	case PRIVSEP_UPLOAD_OPEN:
		serve_upload_open(g, fd, m);
		break;
	case PRIVSEP_CANCEL:
		upload_free(upload_take(g->p, g->gen, m->id), true);
		break;
	default:
		break; /* ERROR and HELLO: nothing held for them */
	}
}

static void channel_broken(void *userdata, unsigned index, const struct error *e)
{
	const struct front_gen *g = userdata;
	log_error("request channel %u of the front broken: %s", index, e->msg);
	/* the supervisor sees it and restarts the front */
	shutdown(g->ctl_fd, SHUT_RDWR);
}

static const struct privsep_serve_ops serve_ops = {
    .serve = serve_frame,
    .broken = channel_broken,
};

/* --- the front --- */

/* chan_fds: the control channel's end, then the request channels' ends. */
static pid_t spawn_front(struct priv *p, const int *chan_fds, unsigned n_req, struct error **err)
{
	/* descriptors 3, 4, 5, then FRONT_FD_REQUEST onwards in the front:
	 * copied above them first, so no dup2 source is also a target */
	int src[3 + FRONT_MAX_CHANNELS] = {chan_fds[0], p->cfg.listen_fd, p->cfg.access_log_fd};
	int hi[3 + FRONT_MAX_CHANNELS];
	unsigned n = 3 + n_req;
	for (unsigned i = 0; i < n_req; i++)
		src[3 + i] = chan_fds[1 + i];
	for (unsigned i = 0; i < n; i++)
		hi[i] = -1;
	int logfd = -1;
	pid_t pid = -1;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	for (unsigned i = 0; i < n; i++) {
		hi[i] = fcntl(src[i], F_DUPFD_CLOEXEC, FRONT_FD_REQUEST + FRONT_MAX_CHANNELS);
		if (hi[i] < 0) {
			error_set(err, -errno, 500, "dup - %s", strerror(errno));
			goto out;
		}
		posix_spawn_file_actions_adddup2(&fa, hi[i], (int)(FRONT_FD_CHANNEL + i));
	}
	if (p->cfg.log_path) {
		/* above the targets too, or a dup2 above would overwrite it */
		int fd = open(p->cfg.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd >= 0) {
			logfd = fcntl(fd, F_DUPFD_CLOEXEC, FRONT_FD_REQUEST + FRONT_MAX_CHANNELS);
			close(fd);
		}
		if (logfd >= 0)
			posix_spawn_file_actions_adddup2(&fa, logfd, STDERR_FILENO);
	}
	/* the front takes every descriptor from FRONT_FD_REQUEST on as a
	 * request channel: none may follow them (one priv inherited, say) */
	posix_spawn_file_actions_addclosefrom_np(&fa, (int)(FRONT_FD_REQUEST + n_req));
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	int r = posix_spawn(&pid, "/proc/self/exe", &fa, &at, p->cfg.front_args, environ);
	if (r != 0) {
		pid = -1;
		error_set(err, -r, 500, "unable to start the front - %s", strerror(r));
	}
out:
	for (unsigned i = 0; i < n; i++)
		if (hi[i] >= 0)
			close(hi[i]);
	if (logfd >= 0)
		close(logfd);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return pid;
}

/* Reads the front's control channel (HELLO, CANCEL) until it ends. */
static void serve_front(struct priv *p, int fd, uint64_t gen)
{
	struct privsep_reader rd;
	privsep_reader_init(&rd, PRIVSEP_FRONT);
	bool hello = false;
	for (;;) {
		struct privsep_msg m;
		_cleanup_error_ struct error *e = NULL;
		int r = privsep_recv(&rd, fd, -1, &m, &e);
		if (r < 0) {
			if (r != -EPIPE)
				log_error("channel to the front broken: %s",
				          e ? e->msg : strerror(-r));
			break;
		}
		if (r == 0)
			continue;
		if (!hello) {
			bool ok = m.type == PRIVSEP_HELLO && m.hello.version == PRIVSEP_VERSION;
			privsep_msg_clear(&m);
			if (!ok) {
				log_error("the front spoke before HELLO or another version");
				break;
			}
			hello = true;
			log_debug("front ready");
			continue;
		}
		if (m.type == PRIVSEP_CANCEL)
			upload_free(upload_take(p, gen, m.id), true);
		/* requests come on the request channels only */
		else if (m.type == PRIVSEP_REQUEST || m.type == PRIVSEP_UPLOAD_OPEN)
			log_warn("request on the control channel ignored");
		privsep_msg_clear(&m);
	}
	privsep_reader_release(&rd);
	shutdown(fd, SHUT_RDWR);
}

static void *supervisor_main(void *arg)
{
	struct priv *p = arg;
	unsigned backoff_ms = 0;
	for (;;) {
		/* fds[0]/[1]: the control channel; then a pair per request
		 * channel.  Ours are the even ones, the front's the odd ones. */
		int ours[1 + FRONT_MAX_CHANNELS] = {0}, theirs[1 + FRONT_MAX_CHANNELS] = {0};
		unsigned n = 0;
		struct error *e = NULL;
		pid_t pid = -1;
		for (; n < 1 + p->n_channels; n++) {
			int fds[2];
			if (privsep_socketpair(fds, &e) < 0)
				break;
			ours[n] = fds[0];
			theirs[n] = fds[1];
		}
		if (n == 1 + p->n_channels)
			pid = spawn_front(p, theirs, p->n_channels, &e);
		for (unsigned i = 0; i < n; i++)
			close(theirs[i]);
		int64_t started = mono_ms();
		if (pid > 0) {
			pthread_mutex_lock(&p->lock);
			p->front = pid;
			uint64_t gen = ++p->gen;
			bool stopping = p->stopping;
			pthread_mutex_unlock(&p->lock);
			struct front_gen g = {.p = p, .gen = gen, .ctl_fd = ours[0]};
			if (stopping)
				kill(pid, SIGTERM);
			struct privsep_serve *serving = NULL;
			struct privsep_serve_config sc = {
			    .fds = ours + 1,
			    .n = p->n_channels,
			    .pollers = p->n_pollers,
			    .from = PRIVSEP_FRONT,
			    .ops = &serve_ops,
			    .userdata = &g,
			};
			if (privsep_serve_start(&sc, &serving, &e) < 0) {
				log_error("cannot serve the request channels: %s", e->msg);
				error_free(e);
				e = NULL;
				shutdown(ours[0], SHUT_RDWR); /* the front answers 503 and exits */
			}
			log_info("front started, pid %d", (int)pid);
			serve_front(p, ours[0], gen);
			/* the control channel ended: so does every request channel
			 * (a thread inside a handler finishes it first) */
			for (unsigned i = 0; i < p->n_channels; i++)
				shutdown(ours[1 + i], SHUT_RDWR);
			privsep_serve_wait(serving);
			int status = 0;
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			pthread_mutex_lock(&p->lock);
			p->front = 0;
			/* its uploads end with it */
			for (struct upload **pp = &p->uploads; *pp;) {
				struct upload *u = *pp;
				if (u->gen == gen) {
					*pp = u->next;
					p->n_uploads--;
					upload_free(u, true);
				} else {
					pp = &u->next;
				}
			}
			pthread_mutex_unlock(&p->lock);
			if (WIFSIGNALED(status))
				log_warn("front %d killed by signal %d", (int)pid,
				         WTERMSIG(status));
			else if (!p->stopping)
				log_warn("front %d exited with status %d", (int)pid,
				         WEXITSTATUS(status));
		} else {
			log_error("cannot start the front: %s", e ? e->msg : "failed");
			error_free(e);
		}
		for (unsigned i = 0; i < n; i++)
			close(ours[i]);
		/* at most one restart a second, backing off to 30 s while the
		 * front keeps dying young */
		backoff_ms = mono_ms() - started > 10000 ? 1000 : backoff_ms * 2 + 1000;
		if (backoff_ms > 30000)
			backoff_ms = 30000;
		pthread_mutex_lock(&p->lock);
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		int64_t wait = started + backoff_ms - mono_ms();
		if (wait > 0) {
			until.tv_sec += wait / 1000;
			until.tv_nsec += (wait % 1000) * 1000000;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			while (!p->stopping &&
			       pthread_cond_timedwait(&p->idle, &p->lock, &until) != ETIMEDOUT)
				;
		}
		bool stopping = p->stopping;
		pthread_mutex_unlock(&p->lock);
		if (stopping)
			break;
		log_info("restarting the front");
	}
	return NULL;
}

struct priv *priv_start(const struct priv_config *cfg, struct error **err)
{
	struct priv *p = xnew(struct priv, 1);
	p->cfg = *cfg;
	p->n_channels = p->cfg.pool_threads ? p->cfg.pool_threads : FRONT_MAX_CHANNELS;
	if (p->n_channels > FRONT_MAX_CHANNELS)
		p->n_channels = FRONT_MAX_CHANNELS;
	/* one per CPU, as the front's loops: more only wake for nothing */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	p->n_pollers = cpus < 1 ? 1 : cpus > PRIV_MAX_POLLERS ? PRIV_MAX_POLLERS : (unsigned)cpus;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->idle, &ca);
	pthread_condattr_destroy(&ca);
	int r = pthread_create(&p->supervisor, NULL, supervisor_main, p);
	if (r != 0) {
		error_set(err, -r, 500, "unable to start a thread - %s", strerror(r));
		return priv_stop(p);
	}
	return p;
}

struct priv *priv_stop(struct priv *p)
{
	if (!p)
		return NULL;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pid_t front = p->front;
	pthread_cond_broadcast(&p->idle);
	pthread_mutex_unlock(&p->lock);
	if (front > 0)
		kill(front, SIGTERM); /* it finishes its requests, then exits */
	if (p->supervisor) {
		/* a front that does not leave within the http layer's deadlines
		 * is killed */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 40;
		if (pthread_timedjoin_np(p->supervisor, NULL, &ts) != 0) {
			pthread_mutex_lock(&p->lock);
			if (p->front > 0)
				kill(p->front, SIGKILL);
			pthread_mutex_unlock(&p->lock);
			pthread_join(p->supervisor, NULL);
		}
	}
	pthread_cond_destroy(&p->idle);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return NULL;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The privileged side of ctvmd (docs/dev/PRIVSEP.md): starts the
 * front by exec, reads its messages on one thread (the supervisor), answers
 * them on a bounded pool, and restarts the front when it dies.
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
 * once the REQUEST was answered, on CANCEL, or when the front dies.
 */
#define LOG_CATEGORY "priv"
#include "common.h"

#include <fcntl.h>
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
#include "privsep.h"
#include "xalloc.h"

extern char **environ;

#define SEND_TIMEOUT_MS 10000
/* Requests and upload files waiting at once; the front's connection budget
 * bounds them anyway. */
#define MAX_QUEUED  1024
#define MAX_UPLOADS 256

/* One front's channel; jobs hold a reference so the fd is never reused
 * under them. */
struct chan {
	int fd;
	unsigned refs; /* under priv->lock */
	pthread_mutex_t send_lock;
};

struct job {
	struct chan *chan;
	struct privsep_msg msg;
	struct job *next;
};

struct upload {
	uint64_t id;
	struct chan *chan; /* the front it belongs to */
	char *path;
	int fd;
	struct upload *next;
};

struct priv {
	struct priv_config cfg;
	pthread_t supervisor;
	pthread_t *pool;
	unsigned n_pool;

	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t wake;  /* jobs queued, or stopping */
	pthread_cond_t idle;  /* a job finished */
	struct job *head, *tail;
	unsigned queued, running;
	struct upload *uploads;
	unsigned n_uploads;
	bool stopping;  /* no more fronts */
	bool pool_stop; /* the last front is gone: the pool leaves */
	pid_t front;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void chan_unref_locked(struct chan *c)
{
	if (--c->refs > 0)
		return;
	close(c->fd);
	pthread_mutex_destroy(&c->send_lock);
	free(c);
}

static void chan_send(struct chan *c, const struct privsep_msg *m)
{
	_cleanup_error_ struct error *e = NULL;
	pthread_mutex_lock(&c->send_lock);
	int r = privsep_send(c->fd, m, SEND_TIMEOUT_MS, &e);
	pthread_mutex_unlock(&c->send_lock);
	if (r >= 0)
		return;
	if (r == -EMSGSIZE || r == -EINVAL) {
		/* nothing was written: give up on this request only */
		log_warn("cannot encode the answer to request %llu: %s", (unsigned long long)m->id,
		         e ? e->msg : strerror(-r));
		struct privsep_msg x;
		privsep_msg_init(&x, PRIVSEP_ERROR, m->id);
		error_set(&x.error, -EIO, 500, "unable to forward the answer");
		pthread_mutex_lock(&c->send_lock);
		r = privsep_send(c->fd, &x, SEND_TIMEOUT_MS, NULL);
		pthread_mutex_unlock(&c->send_lock);
		privsep_msg_clear(&x);
		if (r >= 0)
			return;
	}
	shutdown(c->fd, SHUT_RDWR); /* the supervisor sees it and restarts the front */
}

/* --- uploads --- */

static struct upload *upload_take(struct priv *p, struct chan *c, uint64_t id)
{
	pthread_mutex_lock(&p->lock);
	struct upload *u = NULL;
	for (struct upload **pp = &p->uploads; *pp; pp = &(*pp)->next)
		if ((*pp)->id == id && (*pp)->chan == c) {
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

static void serve_request(struct priv *p, struct chan *c, struct privsep_msg *m)
{
	struct http_request *req = rebuild(&m->request);
	req->parse_error = TAKE_PTR(m->request.parse_error);
	struct upload *u = upload_take(p, c, m->id);
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
	if (pr->body_len > PRIVSEP_MAX_BODY) {
		/* a large answer goes as a descriptor, read by the front */
		int fd = memfd_create("ctvm-answer", MFD_CLOEXEC);
		size_t off = 0;
		while (fd >= 0 && off < resp.body_len) {
			ssize_t n = write(fd, resp.body + off, resp.body_len - off);
			if (n <= 0) {
				close(fd);
				fd = -1;
				break;
			}
			off += (size_t)n;
		}
		if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0) {
			pr->status = 500;
			free(pr->reason);
			pr->reason = xstrdup("unable to pass the answer");
			pr->body_len = 0;
		} else {
			a.fd = fd;
		}
	} else if (pr->body_len) {
		pr->body = TAKE_PTR(resp.body);
	}
	http_response_release(&resp);
	http_request_free(req);
	chan_send(c, &a);
	privsep_msg_clear(&a);
}

static void serve_upload_open(struct priv *p, struct chan *c, struct privsep_msg *m)
{
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
		u->chan = c;
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
	chan_send(c, &a);
	privsep_msg_clear(&a);
}

static void *pool_main(void *arg)
{
	struct priv *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->head && !p->pool_stop)
			pthread_cond_wait(&p->wake, &p->lock);
		if (!p->head)
			break;
		struct job *j = p->head;
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		p->queued--;
		p->running++;
		pthread_mutex_unlock(&p->lock);
		if (j->msg.type == PRIVSEP_REQUEST)
			serve_request(p, j->chan, &j->msg);
		else
			serve_upload_open(p, j->chan, &j->msg);
		privsep_msg_clear(&j->msg);
		pthread_mutex_lock(&p->lock);
		p->running--;
		chan_unref_locked(j->chan);
		free(j);
		pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* --- the front --- */

static pid_t spawn_front(struct priv *p, int chan_fd, struct error **err)
{
	/* descriptors 3, 4, 5 in the front: copied above them first, so no
	 * dup2 source is also a target */
	int src[3] = {chan_fd, p->cfg.listen_fd, p->cfg.access_log_fd};
	int hi[3] = {-1, -1, -1};
	int logfd = -1;
	pid_t pid = -1;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	for (int i = 0; i < 3; i++) {
		hi[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 10);
		if (hi[i] < 0) {
			error_set(err, -errno, 500, "dup - %s", strerror(errno));
			goto out;
		}
		posix_spawn_file_actions_adddup2(&fa, hi[i], FRONT_FD_CHANNEL + i);
	}
	if (p->cfg.log_path) {
		logfd = open(p->cfg.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (logfd >= 0)
			posix_spawn_file_actions_adddup2(&fa, logfd, STDERR_FILENO);
	}
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
	for (int i = 0; i < 3; i++)
		if (hi[i] >= 0)
			close(hi[i]);
	if (logfd >= 0)
		close(logfd);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return pid;
}

static void enqueue(struct priv *p, struct chan *c, struct privsep_msg *m)
{
	pthread_mutex_lock(&p->lock);
	if (p->queued >= MAX_QUEUED) {
		pthread_mutex_unlock(&p->lock);
		struct privsep_msg x;
		privsep_msg_init(&x, PRIVSEP_ERROR, m->id);
		error_set(&x.error, -EBUSY, 503, "Service Unavailable");
		chan_send(c, &x);
		privsep_msg_clear(&x);
		privsep_msg_clear(m);
		return;
	}
	struct job *j = xnew(struct job, 1);
	j->chan = c;
	c->refs++;
	j->msg = *m;
	privsep_msg_init(m, PRIVSEP_HELLO, 0);
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->queued++;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

/* Reads one front's messages until its channel ends. */
static void serve_front(struct priv *p, struct chan *c)
{
	struct privsep_reader rd;
	privsep_reader_init(&rd, PRIVSEP_FRONT);
	bool hello = false;
	for (;;) {
		struct privsep_msg m;
		_cleanup_error_ struct error *e = NULL;
		int r = privsep_recv(&rd, c->fd, -1, &m, &e);
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
		switch (m.type) {
		case PRIVSEP_REQUEST:
		case PRIVSEP_UPLOAD_OPEN:
			enqueue(p, c, &m);
			break;
		case PRIVSEP_CANCEL:
			upload_free(upload_take(p, c, m.id), true);
			break;
		default:
			break; /* ERROR and HELLO: nothing held for them */
		}
		privsep_msg_clear(&m);
	}
	privsep_reader_release(&rd);
	shutdown(c->fd, SHUT_RDWR);
}

static void *supervisor_main(void *arg)
{
	struct priv *p = arg;
	unsigned backoff_ms = 0;
	for (;;) {
		int fds[2];
		struct error *e = NULL;
		pid_t pid = -1;
		if (privsep_socketpair(fds, &e) == 0) {
			pid = spawn_front(p, fds[1], &e);
			close(fds[1]);
			if (pid < 0)
				close(fds[0]);
		}
		int64_t started = mono_ms();
		if (pid > 0) {
			struct chan *c = xnew(struct chan, 1);
			c->fd = fds[0];
			c->refs = 1;
			pthread_mutex_init(&c->send_lock, NULL);
			pthread_mutex_lock(&p->lock);
			p->front = pid;
			bool stopping = p->stopping;
			pthread_mutex_unlock(&p->lock);
			if (stopping)
				kill(pid, SIGTERM);
			log_info("front started, pid %d", (int)pid);
			serve_front(p, c);
			int status = 0;
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			pthread_mutex_lock(&p->lock);
			p->front = 0;
			/* its uploads end with it */
			for (struct upload **pp = &p->uploads; *pp;) {
				struct upload *u = *pp;
				if (u->chan == c) {
					*pp = u->next;
					p->n_uploads--;
					upload_free(u, true);
				} else {
					pp = &u->next;
				}
			}
			chan_unref_locked(c);
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
	if (!p->cfg.pool_threads)
		p->cfg.pool_threads = 16;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->idle, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&p->wake, NULL);
	p->pool = xnew(pthread_t, p->cfg.pool_threads);
	for (; p->n_pool < p->cfg.pool_threads; p->n_pool++) {
		int r = pthread_create(&p->pool[p->n_pool], NULL, pool_main, p);
		if (r != 0) {
			error_set(err, -r, 500, "unable to start a thread - %s", strerror(r));
			return priv_stop(p);
		}
	}
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
	pthread_mutex_lock(&p->lock);
	p->pool_stop = true;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n_pool; i++)
		pthread_join(p->pool[i], NULL);
	free(p->pool);
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->idle);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return NULL;
}

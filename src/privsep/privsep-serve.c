/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Serving request channels: pollers, hand-off threads, the watchdog
 * (privsep-serve.h has the contract). */
#define LOG_CATEGORY "privsep"
#include "common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>

#include "log.h"
#include "privsep-serve.h"
#include "xalloc.h"

struct chan {
	int fd;
	unsigned index;
	struct privsep_reader rd; /* its owner's alone (one-shot watch) */
};

/* One poller thread.  Freed by itself, once replaced or at the end; the
 * watchdog looks at it only while it is in s->pl[], under s->lock. */
struct poller {
	struct privsep_serve *s;
	atomic_uint seq;      /* odd while it serves a frame */
	atomic_bool replaced; /* leave after the frame at hand */
};

struct privsep_serve {
	struct privsep_serve_ops ops;
	void *userdata;
	int ep;  /* channels (one-shot, data.ptr = chan) and efd (data.ptr = NULL) */
	int efd; /* readable once the last channel ended: every poller leaves */
	struct chan *ch;
	unsigned n;
	unsigned takeover_ms;

	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t cond;  /* the watchdog's tick; threads == 0 */
	unsigned threads;     /* running: pollers, hand-offs, the watchdog */
	unsigned open;        /* channels not ended */
	bool ending;          /* open reached 0 */
	struct poller *pl[PRIVSEP_SERVE_MAX_POLLERS];
	unsigned last_seq[PRIVSEP_SERVE_MAX_POLLERS];
	unsigned n_pollers;
	unsigned takeovers, handoffs;

	/* The watchdog sleeps without a tick while no poller serves; the
	 * first frame after that wakes it (see wd_poke()). */
	atomic_bool wd_idle;
};

bool privsep_serve_inline(const struct privsep_msg *m)
{
	if (m->type != PRIVSEP_REQUEST)
		return false;
	const struct privsep_request *r = &m->request;
	return (streq(r->method, "GET") || streq(r->method, "HEAD")) && r->body_len == 0 &&
	       !(r->flags & PRIVSEP_REQ_UPLOAD) && m->fd < 0;
}

static void thread_done(struct privsep_serve *s)
{
	pthread_mutex_lock(&s->lock);
	if (--s->threads == 0)
		pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static int start_thread(void *(*fn)(void *), void *arg)
{
	pthread_attr_t a;
	pthread_t t;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	int r = pthread_create(&t, &a, fn, arg);
	pthread_attr_destroy(&a);
	return -r;
}

/* Under s->lock, once no channel is left: every thread leaves. */
static void end_locked(struct privsep_serve *s)
{
	s->ending = true;
	uint64_t one = 1;
	if (write(s->efd, &one, sizeof(one)) < 0)
		log_error("privsep: unable to end the pollers: %m");
	pthread_cond_broadcast(&s->cond); /* the watchdog */
}

static void chan_end(struct privsep_serve *s, struct chan *c)
{
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	pthread_mutex_lock(&s->lock);
	if (--s->open == 0)
		end_locked(s);
	pthread_mutex_unlock(&s->lock);
}

/* Gives the channel back to the pollers. */
static void chan_rearm(struct privsep_serve *s, struct chan *c)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = c};
	if (epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
		log_error("privsep: unable to watch request channel %u: %m", c->index);
		chan_end(s, c);
	}
}

static void serve_one(struct privsep_serve *s, struct chan *c, struct privsep_msg *m)
{
	s->ops.serve(s->userdata, c->index, c->fd, m);
	privsep_msg_clear(m);
	chan_rearm(s, c);
}

struct handoff {
	struct privsep_serve *s;
	struct chan *c;
	struct privsep_msg m;
};

static void *handoff_main(void *arg)
{
	struct handoff *h = arg;
	struct privsep_serve *s = h->s;
	serve_one(s, h->c, &h->m);
	free(h);
	thread_done(s);
	return NULL;
}

/* Takes c's frame, if a whole one came, and answers it here or on a thread
 * of its own. */
static void chan_ready(struct privsep_serve *s, struct chan *c)
{
	struct privsep_msg m;
	_cleanup_error_ struct error *e = NULL;
	int r = privsep_recv(&c->rd, c->fd, 0, &m, &e);
	if (r < 0) {
		if (r != -EPIPE && s->ops.broken) {
			if (!e)
				error_set(&e, r, 500, "privsep: %s", strerror(-r));
			s->ops.broken(s->userdata, c->index, e);
		}
		chan_end(s, c);
		return;
	}
	if (r == 0) {
		chan_rearm(s, c); /* a part of a frame: the rest comes later */
		return;
	}
	if (!privsep_serve_inline(&m)) {
		struct handoff *h = xnew(struct handoff, 1);
		*h = (struct handoff){.s = s, .c = c, .m = m};
		pthread_mutex_lock(&s->lock);
		s->threads++;
		s->handoffs++;
		pthread_mutex_unlock(&s->lock);
		if (start_thread(handoff_main, h) == 0)
			return;
		/* no thread: answered here, slower but answered */
		m = h->m;
		free(h);
		pthread_mutex_lock(&s->lock);
		s->threads--;
		s->handoffs--;
		pthread_mutex_unlock(&s->lock);
	}
	serve_one(s, c, &m);
}

/* Before each frame a poller takes: wakes the watchdog if it sleeps.  The
 * poller's seq increment and the watchdog's wd_idle store are both
 * sequentially consistent, and each side reads the other's after its own
 * write, so one of them always sees the other: a busy poller is never left
 * without a watchdog. */
static void wd_poke(struct privsep_serve *s)
{
	if (!atomic_load(&s->wd_idle))
		return;
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->wd_idle, false);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void *poller_main(void *arg)
{
	struct poller *me = arg;
	struct privsep_serve *s = me->s;
	while (!atomic_load(&me->replaced)) {
		struct epoll_event ev;
		int k = epoll_wait(s->ep, &ev, 1, -1);
		if (k < 0 && errno != EINTR) {
			log_error("privsep: epoll_wait: %m");
			break;
		}
		if (k <= 0)
			continue;
		if (!ev.data.ptr)
			break; /* every channel ended */
		atomic_fetch_add(&me->seq, 1);
		wd_poke(s);
		chan_ready(s, ev.data.ptr);
		atomic_fetch_add(&me->seq, 1);
	}
	/* out of s->pl[] by now, or s is ending: nobody looks at me */
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->n_pollers; i++)
		if (s->pl[i] == me)
			s->pl[i] = NULL;
	pthread_mutex_unlock(&s->lock);
	free(me);
	thread_done(s);
	return NULL;
}

/* Under s->lock: a new poller in slot i.  Counted as a thread before it
 * runs. */
static int poller_start_locked(struct privsep_serve *s, unsigned i)
{
	struct poller *p = xnew(struct poller, 1);
	p->s = s;
	s->threads++;
	int r = start_thread(poller_main, p);
	if (r < 0) {
		s->threads--;
		free(p);
		return r;
	}
	s->pl[i] = p;
	s->last_seq[i] = 0;
	return 0;
}

static void wd_wait_locked(struct privsep_serve *s, bool tick)
{
	if (!tick) {
		pthread_cond_wait(&s->cond, &s->lock);
		return;
	}
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_nsec += (long)s->takeover_ms * 1000000L;
	t.tv_sec += t.tv_nsec / 1000000000L;
	t.tv_nsec %= 1000000000L;
	pthread_cond_timedwait(&s->cond, &s->lock, &t);
}

/* Every tick: a poller that served the same frame at the last tick and
 * still does is replaced.  With nothing served for a whole tick it sleeps
 * until a poller wakes it. */
static void *watchdog_main(void *arg)
{
	struct privsep_serve *s = arg;
	pthread_mutex_lock(&s->lock);
	while (!s->ending) {
		wd_wait_locked(s, !atomic_load(&s->wd_idle));
		if (s->ending)
			break;
		bool active = false;
		for (unsigned i = 0; i < s->n_pollers; i++) {
			struct poller *p = s->pl[i];
			if (!p) {
				/* its poller could not be replaced last time */
				if (poller_start_locked(s, i) < 0)
					active = true;
				continue;
			}
			unsigned seq = atomic_load(&p->seq);
			if ((seq & 1) && seq == s->last_seq[i]) {
				s->pl[i] = NULL;
				atomic_store(&p->replaced, true);
				s->takeovers++;
				log_debug(
				    "privsep: a request took more than %u ms, poller %u replaced",
				    s->takeover_ms, i);
				if (poller_start_locked(s, i) < 0)
					log_error("privsep: unable to start a poller");
				active = true;
				continue;
			}
			if (seq != s->last_seq[i] || (seq & 1))
				active = true;
			s->last_seq[i] = seq;
		}
		if (active)
			continue;
		atomic_store(&s->wd_idle, true);
		for (unsigned i = 0; i < s->n_pollers; i++)
			if (s->pl[i] && atomic_load(&s->pl[i]->seq) != s->last_seq[i])
				atomic_store(&s->wd_idle, false);
	}
	pthread_mutex_unlock(&s->lock);
	thread_done(s);
	return NULL;
}

static void serve_free(struct privsep_serve *s)
{
	for (unsigned i = 0; i < s->n; i++)
		privsep_reader_release(&s->ch[i].rd);
	free(s->ch);
	if (s->ep >= 0)
		close(s->ep);
	if (s->efd >= 0)
		close(s->efd);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int privsep_serve_start(const struct privsep_serve_config *cfg, struct privsep_serve **ret,
                        struct error **err)
{
	struct privsep_serve *s = xnew(struct privsep_serve, 1);
	s->ops = *cfg->ops;
	s->userdata = cfg->userdata;
	s->takeover_ms = cfg->takeover_ms ? cfg->takeover_ms : PRIVSEP_SERVE_TAKEOVER_MS;
	s->n_pollers = cfg->pollers ? cfg->pollers : 1;
	if (s->n_pollers > PRIVSEP_SERVE_MAX_POLLERS)
		s->n_pollers = PRIVSEP_SERVE_MAX_POLLERS;
	s->n = cfg->n;
	s->open = cfg->n;
	s->ch = xnew(struct chan, cfg->n + 1);
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->ep < 0 || s->efd < 0) {
		int r = error_set(err, -errno, 500, "privsep: epoll - %s", strerror(errno));
		serve_free(s);
		return r;
	}
	struct epoll_event end = {.events = EPOLLIN, .data.ptr = NULL};
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->efd, &end) < 0) {
		int r = error_set(err, -errno, 500, "privsep: epoll - %s", strerror(errno));
		serve_free(s);
		return r;
	}
	for (unsigned i = 0; i < cfg->n; i++) {
		struct chan *c = &s->ch[i];
		c->fd = cfg->fds[i];
		c->index = i;
		privsep_reader_init(&c->rd, cfg->from);
		c->rd.one_at_a_time = true; /* the peer waits for each answer */
		struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = c};
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
			int r = error_set(err, -errno, 500, "privsep: epoll - %s", strerror(errno));
			serve_free(s);
			return r;
		}
	}
	/* the watchdog first: no poller runs without one */
	pthread_mutex_lock(&s->lock);
	s->threads = 1;
	int r = start_thread(watchdog_main, s);
	unsigned started = 0;
	if (r == 0)
		for (unsigned i = 0; i < s->n_pollers; i++)
			if (poller_start_locked(s, i) == 0)
				started++;
	if (r < 0 || started == 0) {
		if (r < 0)
			s->threads = 0;
		s->ending = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		privsep_serve_wait(s);
		return error_set(err, r < 0 ? r : -EAGAIN, 500,
		                 "privsep: unable to start a thread");
	}
	if (cfg->n == 0)
		end_locked(s); /* nothing to serve */
	pthread_mutex_unlock(&s->lock);
	*ret = s;
	return 0;
}

void privsep_serve_wait(struct privsep_serve *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	while (s->threads > 0)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	serve_free(s);
}

unsigned privsep_serve_takeovers(struct privsep_serve *s)
{
	pthread_mutex_lock(&s->lock);
	unsigned n = s->takeovers;
	pthread_mutex_unlock(&s->lock);
	return n;
}

unsigned privsep_serve_handoffs(struct privsep_serve *s)
{
	pthread_mutex_lock(&s->lock);
	unsigned n = s->handoffs;
	pthread_mutex_unlock(&s->lock);
	return n;
}

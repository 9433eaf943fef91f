/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* A storage's status with a deadline (storage-probe.h). */
#define LOG_CATEGORY "storage"
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "error.h"
#include "log.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-priv.h"
#include "storage-probe.h"
#include "storage.h"
#include "xalloc.h"

struct storage_probe {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs;
	bool done;
	const struct storage_config_snapshot *snap; /* shared, one reference */
	char *id;
	struct storage_status status;
	int r;
};

void storage_probe_unref(struct storage_probe *p)
{
	bool last;

	pthread_mutex_lock(&p->lock);
	last = --p->refs == 0;
	pthread_mutex_unlock(&p->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	if (p->snap)
		storage_config_snapshot_unref(p->snap);
	free(p->id);
	free(p);
}

static void *probe_run(void *arg)
{
	struct storage_probe *p = arg;
	struct storage_status s = {0};
	struct storage *st = NULL;
	struct error *e = NULL;
	int r;

	r = storage_open(p->snap, p->id, &st, &e);
	if (r == 0 && storage_activate(st, &e) < 0) {
		/* not active, and the status says why (the daemon log too, once) */
		snprintf(s.message, sizeof(s.message), "%s", e->msg);
		storage_status_note(st, &s);
	} else if (r == 0) {
		r = storage_status(st, &s, &e);
	}
	if (e)
		log_debug("status of storage '%s': %s", p->id, e->msg);
	error_free(e);
	storage_free(st);
	pthread_mutex_lock(&p->lock);
	p->status = s;
	p->r = r;
	p->done = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	storage_probe_unref(p);
	return NULL;
}

struct storage_probe *storage_probe_start(struct storage_config_store *store, const char *id)
{
	struct storage_probe *p = xnew(struct storage_probe, 1);
	pthread_condattr_t ca;
	pthread_attr_t ta;
	pthread_t t;
	int r;

	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	p->id = xstrdup(id);
	p->refs = 1;
	p->r = -ETIMEDOUT;
	if (storage_config_store_get(store, &p->snap, NULL) < 0) {
		p->snap = NULL;
		p->r = -EIO;
		p->done = true;
		return p;
	}
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	p->refs = 2;
	r = pthread_create(&t, &ta, probe_run, p);
	pthread_attr_destroy(&ta);
	if (r != 0) {
		p->refs = 1;
		p->r = -r;
		p->done = true;
	}
	return p;
}

struct timespec storage_probe_deadline(unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

int storage_probe_wait(struct storage_probe *p, const struct timespec *deadline,
                       struct storage_status *ret)
{
	int r;

	pthread_mutex_lock(&p->lock);
	while (!p->done)
		if (pthread_cond_timedwait(&p->cond, &p->lock, deadline) == ETIMEDOUT)
			break;
	r = p->done ? p->r : -ETIMEDOUT;
	if (r == 0)
		*ret = p->status;
	pthread_mutex_unlock(&p->lock);
	return r;
}

bool storage_probe_done(struct storage_probe *p)
{
	pthread_mutex_lock(&p->lock);
	bool done = p->done;
	pthread_mutex_unlock(&p->lock);
	return done;
}

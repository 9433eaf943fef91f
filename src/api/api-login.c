/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Failed-login slowdown, per user and per source address.
 *
 * Proxmox delays every failed login by a fixed ~3 s.  Here the delay grows
 * with the failures of the last ten minutes for that user and for that
 * address (whichever is worse): the base delay for the first three, then
 * doubling, up to 30 s.  The delay is applied by the http layer in the
 * connection's own thread, so other clients are never slowed.  The table is
 * bounded; when full, the oldest entry is forgotten.
 */
#include "common.h"

#include <pthread.h>
#include <time.h>

#include "api-internal.h"
#include "api.h"
#include "xalloc.h"

#define LIMITER_SLOTS  4096
#define LIMITER_WINDOW 600
#define LIMITER_FREE   3
#define LIMITER_MAX_MS 30000

struct limiter_entry {
	char key[160]; /* "u:<user>" or "a:<addr>"; empty = free */
	unsigned failures;
	time_t last;
};

struct login_limiter {
	pthread_mutex_t lock;
	struct limiter_entry slots[LIMITER_SLOTS];
};

struct login_limiter *login_limiter_new(void)
{
	struct login_limiter *l = xnew(struct login_limiter, 1);
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

struct login_limiter *login_limiter_free(struct login_limiter *l)
{
	if (!l)
		return NULL;
	pthread_mutex_destroy(&l->lock);
	free(l);
	return NULL;
}

static struct limiter_entry *find(struct login_limiter *l, const char *key, bool create, time_t now)
{
	struct limiter_entry *oldest = &l->slots[0];
	for (size_t i = 0; i < LIMITER_SLOTS; i++) {
		struct limiter_entry *e = &l->slots[i];
		if (e->key[0] && streq(e->key, key)) {
			if (now - e->last > LIMITER_WINDOW)
				e->failures = 0;
			return e;
		}
		if (!e->key[0] || e->last < oldest->last)
			oldest = e;
	}
	if (!create)
		return NULL;
	snprintf(oldest->key, sizeof(oldest->key), "%s", key);
	oldest->failures = 0;
	oldest->last = now;
	return oldest;
}

static unsigned delay_for(unsigned failures, unsigned base_ms)
{
	if (failures <= LIMITER_FREE)
		return base_ms;
	unsigned shift = failures - LIMITER_FREE;
	if (shift > 16)
		return LIMITER_MAX_MS;
	unsigned long d = (unsigned long)base_ms << shift;
	return d > LIMITER_MAX_MS ? LIMITER_MAX_MS : (unsigned)d;
}

unsigned login_limiter_fail(struct login_limiter *l, const char *user, const char *addr,
                            unsigned base_ms)
{
	char ukey[160], akey[160];
	snprintf(ukey, sizeof(ukey), "u:%s", user ? user : "");
	snprintf(akey, sizeof(akey), "a:%s", addr ? addr : "");
	time_t now = time(NULL);
	pthread_mutex_lock(&l->lock);
	struct limiter_entry *u = find(l, ukey, true, now);
	u->failures++;
	u->last = now;
	unsigned fu = u->failures;
	struct limiter_entry *a = find(l, akey, true, now);
	a->failures++;
	a->last = now;
	unsigned fa = a->failures;
	pthread_mutex_unlock(&l->lock);
	return delay_for(fu > fa ? fu : fa, base_ms);
}

void login_limiter_success(struct login_limiter *l, const char *user, const char *addr)
{
	char ukey[160];
	snprintf(ukey, sizeof(ukey), "u:%s", user ? user : "");
	pthread_mutex_lock(&l->lock);
	struct limiter_entry *u = find(l, ukey, false, time(NULL));
	if (u)
		u->failures = 0;
	/* the address keeps its count: one good account must not launder guesses */
	pthread_mutex_unlock(&l->lock);
	(void)addr;
}

void api_context_init(struct api_context *ctx)
{
	ctx->limiter = login_limiter_new();
	if (!ctx->login_fail_delay_ms)
		ctx->login_fail_delay_ms = 2000;
}

void api_context_release(struct api_context *ctx)
{
	ctx->limiter = login_limiter_free(ctx->limiter);
}

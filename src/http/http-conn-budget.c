/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Connection budgets: admission, eviction and per-client keys.  The contract
 * and the eviction rule are in http-conn-budget.h; the why in docs/dev/HTTP.md.
 */
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "http-conn-budget.h"
#include "xalloc.h"

void http_addr_key(const struct sockaddr *sa, char key[HTTP_ADDR_KEY_MAX])
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, key, HTTP_ADDR_KEY_MAX);
		return;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			/* an IPv4 client of a dual-stack listener */
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], key, HTTP_ADDR_KEY_MAX);
			return;
		}
		struct in6_addr prefix = in6->sin6_addr;
		memset(&prefix.s6_addr[8], 0, 8);
		char buf[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, &prefix, buf, sizeof(buf));
		snprintf(key, HTTP_ADDR_KEY_MAX, "%s/64", buf);
		return;
	}
	snprintf(key, HTTP_ADDR_KEY_MAX, "unix");
}

void conn_budget_init(struct conn_budget *b, const struct conn_budget_limits *lim)
{
	*b = (struct conn_budget){.lim = *lim};
	if (b->lim.max_total == 0)
		b->lim.max_total = 1;
	if (b->lim.max_unauth == 0 || b->lim.max_unauth > b->lim.max_total)
		b->lim.max_unauth = b->lim.max_total;
	/* one more slot than connections: a new key always finds a free one */
	b->keys = xnew(struct conn_budget_key, b->lim.max_total + 1);
}

void conn_budget_release_all(struct conn_budget *b)
{
	free(b->keys);
	*b = (struct conn_budget){0};
}

/* The slot of key, or with create a free one (NULL when none is free). */
static struct conn_budget_key *key_slot(const struct conn_budget *b, const char *key, bool create)
{
	struct conn_budget_key *free_slot = NULL;
	for (unsigned i = 0; i <= b->lim.max_total; i++) {
		struct conn_budget_key *k = &b->keys[i];
		if (k->n && streq(k->key, key))
			return k;
		if (!k->n && !free_slot)
			free_slot = k;
	}
	return create ? free_slot : NULL;
}

static bool evictable(const struct conn_budget_entry *e)
{
	return e->admitted && !e->authenticated && !e->busy;
}

struct conn_budget_entry *conn_budget_pick_victim(const struct conn_budget *b, const char *key,
                                                  bool *ret_full)
{
	const struct conn_budget_key *k = key_slot(b, key, false);
	unsigned mine = k ? k->n_unauth : 0;
	bool key_full = b->lim.max_per_key && k && k->n >= b->lim.max_per_key;
	bool full = key_full || b->n_total >= b->lim.max_total || b->n_unauth >= b->lim.max_unauth;
	*ret_full = full;
	/* A client over its own limit sheds nothing: the newcomer is refused. */
	if (!full || key_full)
		return NULL;
	struct conn_budget_entry *best = NULL;
	unsigned best_n = 0;
	for (struct conn_budget_entry *e = b->entries; e; e = e->next) {
		if (!evictable(e))
			continue;
		unsigned n = b->keys[e->slot].n_unauth;
		/* only from a client holding at least two more: then the shares
		 * converge instead of two clients taking turns shedding each other */
		if (n < mine + 2)
			continue;
		if (!best || n > best_n || (n == best_n && e->since < best->since)) {
			best = e;
			best_n = n;
		}
	}
	return best;
}

static void unlink_entry(struct conn_budget *b, struct conn_budget_entry *e)
{
	struct conn_budget_key *k = &b->keys[e->slot];
	k->n--;
	b->n_total--;
	if (!e->authenticated) {
		k->n_unauth--;
		b->n_unauth--;
	}
	if (e->prev)
		e->prev->next = e->next;
	else
		b->entries = e->next;
	if (e->next)
		e->next->prev = e->prev;
	e->prev = e->next = NULL;
	e->admitted = false;
}

int conn_budget_admit(struct conn_budget *b, struct conn_budget_entry *e, const char *key,
                      int64_t now, bool may_evict, struct conn_budget_entry **ret_victim)
{
	*ret_victim = NULL;
	bool full;
	struct conn_budget_entry *victim = conn_budget_pick_victim(b, key, &full);
	if (full && (!victim || !may_evict))
		return -EBUSY;
	if (victim)
		unlink_entry(b, victim);
	/* Evicting one unauthenticated connection made room under every limit
	 * (the key's own limit was not reached, or there was no victim). */
	struct conn_budget_key *k = key_slot(b, key, true);
	if (!k->n)
		snprintf(k->key, sizeof(k->key), "%s", key);
	k->n++;
	k->n_unauth++;
	b->n_total++;
	b->n_unauth++;
	e->admitted = true;
	e->authenticated = false;
	e->busy = false;
	e->since = now;
	e->slot = (unsigned)(k - b->keys);
	e->prev = NULL;
	e->next = b->entries;
	if (e->next)
		e->next->prev = e;
	b->entries = e;
	*ret_victim = victim;
	return victim ? 1 : 0;
}

void conn_budget_release(struct conn_budget *b, struct conn_budget_entry *e)
{
	if (e->admitted)
		unlink_entry(b, e);
}

void conn_budget_authenticate(struct conn_budget *b, struct conn_budget_entry *e)
{
	if (!e->admitted || e->authenticated)
		return;
	e->authenticated = true;
	b->keys[e->slot].n_unauth--;
	b->n_unauth--;
}

void conn_budget_set_busy(struct conn_budget_entry *e, bool busy, int64_t now)
{
	e->busy = busy;
	if (!busy)
		e->since = now;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * http-conn-budget: who may hold one of the server's connections, and whom to
 * shed when they are all taken.  Pure bookkeeping, no sockets, no locks (the
 * server calls it under srv->lock), so every decision is unit-tested.
 *
 * A budget counts connections, those not yet authenticated among them, and
 * connections per client key (http_addr_key: an IPv4 address, or an IPv6 /64).
 * An unauthenticated connection is admitted while fewer than max_unauth are
 * held (so max_total - max_unauth slots are a reserve that only connections
 * whose requests carried valid credentials reach), fewer than max_total in
 * all, and while its key holds fewer than max_per_key.  A key at its own
 * limit is refused.  Beyond the other limits one unauthenticated connection
 * that is not running a handler is shed to make room, taken from the key
 * holding the most unauthenticated connections, its oldest (waiting longest
 * since its accept or last answer), and only when that key holds at least two
 * more than the newcomer's: shares converge to an equal split between the
 * clients (max-min fairness), so a client with a few connections gets in
 * whatever one with many does, and flooders cannot make the server shed
 * connections in circles.  Otherwise the newcomer is refused.
 *
 * Authenticated connections are never shed.  Like OpenSSH's MaxStartups only
 * the unauthenticated are at risk; unlike its random drop, the client that
 * holds the most pays (docs/dev/HTTP.md).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Room for any key ("ffff:ffff:ffff:ffff::/64" is the longest in practice). */
#define HTTP_ADDR_KEY_MAX 64

/*
 * The key a client's connections are counted under: the IPv4 address as text
 * ("192.0.2.1"), also for IPv4-mapped IPv6 (::ffff:192.0.2.1); for other IPv6
 * addresses the /64 prefix ("2001:db8:1:2::/64"), since one host usually has a
 * whole /64 to pick addresses from; "unix" for anything else.
 */
void http_addr_key(const struct sockaddr *sa, char key[HTTP_ADDR_KEY_MAX]);

struct conn_budget_limits {
	unsigned max_total;   /* connections at once (> 0) */
	unsigned max_unauth;  /* of which not (yet) authenticated, <= max_total */
	unsigned max_per_key; /* from one key, authenticated or not; 0: no limit */
};

/* One connection's place in a budget; embedded in the connection. */
struct conn_budget_entry {
	void *owner;        /* the connection */
	bool admitted;      /* counted; false once released or evicted */
	bool authenticated; /* a request carried valid credentials */
	bool busy;          /* a handler runs for it: not evictable */
	int64_t since;      /* accept or last answer (ms): eviction order */
	unsigned slot;      /* its key's slot */
	struct conn_budget_entry *prev, *next;
};

struct conn_budget_key {
	char key[HTTP_ADDR_KEY_MAX];
	unsigned n;        /* connections of this key */
	unsigned n_unauth; /* of which unauthenticated */
};

struct conn_budget {
	struct conn_budget_limits lim;
	unsigned n_total, n_unauth;
	struct conn_budget_key *keys; /* lim.max_total + 1 slots; n == 0 is free */
	struct conn_budget_entry *entries;
};

void conn_budget_init(struct conn_budget *b, const struct conn_budget_limits *lim);
void conn_budget_release_all(struct conn_budget *b);

/*
 * Admits e (unauthenticated, not busy, since = now) for key.  Returns 0 when
 * admitted; 1 when admitted after evicting *ret_victim, whose connection the
 * caller must cut (the victim is no longer counted and must not be released
 * again); -EBUSY when refused: the limits are reached and nothing may be
 * evicted (or may_evict is false).
 */
int conn_budget_admit(struct conn_budget *b, struct conn_budget_entry *e, const char *key,
                      int64_t now, bool may_evict, struct conn_budget_entry **ret_victim);

/* The connection is gone; a no-op when it was evicted. */
void conn_budget_release(struct conn_budget *b, struct conn_budget_entry *e);

/* A request on the connection carried valid credentials: it leaves the
 * unauthenticated count for good.  A no-op when evicted or already done. */
void conn_budget_authenticate(struct conn_budget *b, struct conn_budget_entry *e);

/* A handler starts (busy) or the answer is out (idle again, since = now). */
void conn_budget_set_busy(struct conn_budget_entry *e, bool busy, int64_t now);

/* Whom conn_budget_admit would evict to admit a connection of key: NULL when
 * there is room (*ret_full false) or nothing may be evicted (*ret_full true). */
struct conn_budget_entry *conn_budget_pick_victim(const struct conn_budget *b, const char *key,
                                                  bool *ret_full);

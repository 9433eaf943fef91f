/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Connection budgets without sockets: client keys (IPv4, IPv4-mapped, IPv6
 * /64), the limits, and whom a full budget sheds.
 */
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/un.h>

#include <cmocka.h>

#include "http-conn-budget.h"

static void key_of(const char *addr, char key[HTTP_ADDR_KEY_MAX])
{
	struct sockaddr_storage ss = {0};
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, addr, &in6->sin6_addr), 1);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, addr, &in->sin_addr), 1);
	}
	http_addr_key((struct sockaddr *)&ss, key);
}

static void test_addr_key(void **state)
{
	static const struct {
		const char *addr, *key;
	} cases[] = {
	    {"192.0.2.1", "192.0.2.1"},
	    {"127.0.0.1", "127.0.0.1"},
	    /* an IPv4 client of a dual-stack listener counts as itself */
	    {"::ffff:192.0.2.1", "192.0.2.1"},
	    {"::ffff:127.0.0.1", "127.0.0.1"},
	    /* IPv6: the /64 */
	    {"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
	    {"2001:db8:1:2::1", "2001:db8:1:2::/64"},
	    {"2001:db8:1:3::1", "2001:db8:1:3::/64"},
	    {"fe80::1234:5678:9abc:def0", "fe80::/64"},
	    {"::1", "::/64"},
	    /* not IPv4-mapped: ordinary IPv6 addresses */
	    {"::ffff:0:c000:201", "::/64"},
	    {"64:ff9b::c000:201", "64:ff9b::/64"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char key[HTTP_ADDR_KEY_MAX];
		key_of(cases[i].addr, key);
		if (!streq(key, cases[i].key))
			fail_msg("%s: key '%s', want '%s'", cases[i].addr, key, cases[i].key);
	}
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	char key[HTTP_ADDR_KEY_MAX];
	http_addr_key((struct sockaddr *)&un, key);
	assert_string_equal(key, "unix");
}

#define MAX_ENTRIES 64
static struct conn_budget_entry entries[MAX_ENTRIES];

/* Admits entries[i] for key at time now; returns conn_budget_admit's answer
 * and the index of the victim (-1 for none). */
static int admit(struct conn_budget *b, int i, const char *key, int64_t now, int *ret_victim)
{
	struct conn_budget_entry *v = NULL;
	entries[i].owner = &entries[i];
	int r = conn_budget_admit(b, &entries[i], key, now, true, &v);
	*ret_victim = v ? (int)(v - entries) : -1;
	if (r < 0)
		assert_null(v);
	return r;
}

static void check_counts(const struct conn_budget *b)
{
	unsigned total = 0, unauth = 0;
	for (const struct conn_budget_entry *e = b->entries; e; e = e->next) {
		assert_true(e->admitted);
		total++;
		unauth += !e->authenticated;
	}
	assert_int_equal(total, b->n_total);
	assert_int_equal(unauth, b->n_unauth);
	assert_true(b->n_total <= b->lim.max_total);
	assert_true(b->n_unauth <= b->lim.max_unauth);
	for (unsigned i = 0; i <= b->lim.max_total; i++) {
		unsigned n = 0, nu = 0;
		for (const struct conn_budget_entry *e = b->entries; e; e = e->next) {
			if (e->slot == i) {
				n++;
				nu += !e->authenticated;
			}
		}
		assert_int_equal(n, b->keys[i].n);
		assert_int_equal(nu, b->keys[i].n_unauth);
		if (b->lim.max_per_key)
			assert_true(n <= b->lim.max_per_key);
	}
}

static void test_limits(void **state)
{
	struct conn_budget b;
	conn_budget_init(
	    &b, &(struct conn_budget_limits){.max_total = 8, .max_unauth = 6, .max_per_key = 3});
	int v;
	/* a key at its own limit is refused, never served by shedding its own */
	for (int i = 0; i < 3; i++)
		assert_int_equal(admit(&b, i, "A", 100 + i, &v), 0);
	assert_int_equal(admit(&b, 3, "A", 200, &v), -EBUSY);
	check_counts(&b);
	/* up to max_unauth without shedding */
	for (int i = 4; i < 7; i++)
		assert_int_equal(admit(&b, i, i < 6 ? "B" : "C", 100 + i, &v), 0);
	assert_int_equal(b.n_unauth, 6);
	/* then only by shedding: the new key D (0) sheds from A (3), its oldest */
	assert_int_equal(admit(&b, 7, "D", 300, &v), 1);
	assert_int_equal(v, 0);
	assert_false(entries[0].admitted);
	check_counts(&b);
	/* releasing a shed connection later changes nothing */
	conn_budget_release(&b, &entries[0]);
	check_counts(&b);
	/* A 2, B 2, C 1, D 1: a second connection of D sheds nothing (no key
	 * holds D's 1 + 2), nor does C's */
	assert_int_equal(admit(&b, 8, "D", 301, &v), -EBUSY);
	assert_int_equal(admit(&b, 9, "C", 302, &v), -EBUSY);
	/* a new client still gets in: A and B have 2 >= 0 + 2; the oldest of
	 * the two keys goes (A's entries[1], since 101) */
	assert_int_equal(admit(&b, 10, "E", 303, &v), 1);
	assert_int_equal(v, 1);
	check_counts(&b);
	conn_budget_release_all(&b);
}

static void test_authenticated_reserve(void **state)
{
	struct conn_budget b;
	conn_budget_init(
	    &b, &(struct conn_budget_limits){.max_total = 6, .max_unauth = 3, .max_per_key = 0});
	int v;
	for (int i = 0; i < 3; i++)
		assert_int_equal(admit(&b, i, "flood", i, &v), 0);
	/* the flood holds the unauthenticated budget: a newcomer sheds one */
	assert_int_equal(admit(&b, 3, "client", 10, &v), 1);
	assert_int_equal(v, 0);
	/* its request carries a ticket: it moves to the reserve */
	conn_budget_authenticate(&b, &entries[3]);
	conn_budget_authenticate(&b, &entries[3]); /* once only */
	assert_int_equal(b.n_unauth, 2);
	check_counts(&b);
	/* the flood fills its share again, but cannot shed the client */
	assert_int_equal(admit(&b, 4, "flood", 11, &v), 0);
	assert_int_equal(admit(&b, 5, "flood", 12, &v), -EBUSY);
	/* another client gets in, shedding the flood's oldest */
	assert_int_equal(admit(&b, 6, "client", 26, &v), 1);
	assert_int_equal(v, 1);
	conn_budget_authenticate(&b, &entries[6]);
	assert_int_equal(admit(&b, 5, "flood", 30, &v), 0);
	assert_int_equal(admit(&b, 8, "flood", 31, &v), -EBUSY);
	assert_int_equal(admit(&b, 7, "client", 32, &v), 1);
	assert_int_equal(v, 2);
	conn_budget_authenticate(&b, &entries[7]);
	check_counts(&b);
	assert_int_equal(b.n_total, 5);
	assert_int_equal(b.n_unauth, 2);
	/* the flood fills what is left, up to the total */
	assert_int_equal(admit(&b, 8, "flood", 33, &v), 0);
	assert_int_equal(admit(&b, 9, "flood", 34, &v), -EBUSY);
	check_counts(&b);
	/* everything authenticated: nothing to shed */
	for (struct conn_budget_entry *e = b.entries; e; e = e->next)
		if (!e->authenticated)
			conn_budget_authenticate(&b, e);
	assert_int_equal(admit(&b, 10, "new", 40, &v), -EBUSY);
	/* one leaves: room again */
	conn_budget_release(&b, &entries[3]);
	assert_int_equal(admit(&b, 10, "new", 41, &v), 0);
	check_counts(&b);
	conn_budget_release_all(&b);
}

static void test_busy_and_order(void **state)
{
	struct conn_budget b;
	conn_budget_init(&b, &(struct conn_budget_limits){.max_total = 4, .max_unauth = 4});
	int v;
	for (int i = 0; i < 4; i++)
		assert_int_equal(admit(&b, i, "A", 100 + i, &v), 0);
	/* the oldest runs a handler: the next oldest goes */
	conn_budget_set_busy(&entries[0], true, 0);
	bool full;
	assert_ptr_equal(conn_budget_pick_victim(&b, "B", &full), &entries[1]);
	assert_true(full);
	/* its answer is out: it counts as fresh from then on */
	conn_budget_set_busy(&entries[0], false, 500);
	conn_budget_set_busy(&entries[1], true, 0);
	conn_budget_set_busy(&entries[1], false, 400);
	assert_ptr_equal(conn_budget_pick_victim(&b, "B", &full), &entries[2]);
	/* no shedding allowed (too many shed connections still leaving) */
	struct conn_budget_entry *victim = NULL;
	assert_int_equal(conn_budget_admit(&b, &entries[4], "B", 600, false, &victim), -EBUSY);
	assert_null(victim);
	/* all busy: refused */
	for (int i = 0; i < 4; i++)
		conn_budget_set_busy(&entries[i], true, 0);
	assert_int_equal(admit(&b, 4, "B", 600, &v), -EBUSY);
	/* not full: no victim */
	conn_budget_release(&b, &entries[3]);
	assert_null(conn_budget_pick_victim(&b, "B", &full));
	assert_false(full);
	check_counts(&b);
	conn_budget_release_all(&b);
}

/* Flooders from a few keys come and go in random order, and a client
 * arrives: the limits and counts hold at every step, a refusal means no key
 * held two more than the newcomer's, and the client is never shed. */
static void test_flood_converges(void **state)
{
	struct conn_budget b;
	conn_budget_init(
	    &b, &(struct conn_budget_limits){.max_total = 32, .max_unauth = 16, .max_per_key = 8});
	static struct conn_budget_entry pool[4096];
	unsigned seed = 1;
	unsigned refused = 0, shed = 0;
	for (int i = 0; i < 4096; i++) {
		seed = seed * 1103515245 + 12345;
		char key[8];
		snprintf(key, sizeof(key), "f%u", (seed >> 16) % 5);
		/* now and then the newest connection leaves */
		if ((seed >> 8) % 3 == 0 && b.entries && b.entries != &entries[0])
			conn_budget_release(&b, b.entries);
		unsigned mine = 0, mine_all = 0;
		for (unsigned k = 0; k <= b.lim.max_total; k++)
			if (b.keys[k].n && streq(b.keys[k].key, key)) {
				mine = b.keys[k].n_unauth;
				mine_all = b.keys[k].n;
			}
		struct conn_budget_entry *v = NULL;
		pool[i].owner = &pool[i];
		int r = conn_budget_admit(&b, &pool[i], key, i, true, &v);
		if (r < 0 && mine_all < b.lim.max_per_key) {
			refused++;
			for (unsigned k = 0; k <= b.lim.max_total; k++)
				assert_true(b.keys[k].n_unauth <= mine + 1);
		}
		if (r == 1) {
			shed++;
			assert_true(b.keys[v->slot].n_unauth + 1 >= mine + 2);
		}
		if (i == 100) {
			entries[0].owner = &entries[0];
			assert_true(conn_budget_admit(&b, &entries[0], "client", i, true, &v) >= 0);
		}
		check_counts(&b);
		if (i >= 100)
			assert_true(entries[0].admitted);
	}
	assert_true(refused > 0 && shed > 0);
	conn_budget_release_all(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addr_key),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_authenticated_reserve),
	    cmocka_unit_test(test_busy_and_order),
	    cmocka_unit_test(test_flood_converges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Tickets, CSRF tokens and the key files behind them (pve-api.md 2.3, 2.6). */
#include "common.h"

#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "auth.h"
#include "error.h"
#include "fileio.h"
#include "xalloc.h"

#define NOW ((time_t)1728000000) /* 0x66FF3000 */

struct keydir {
	char *root, *etc, *priv;
	struct auth_keys *keys;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void keydir_make(struct keydir *d)
{
	char tmpl[] = "/tmp/ctvm-test-ticket-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	d->root = xstrdup(tmpl);
	d->etc = path_join(d->root, "etc");
	d->priv = path_join(d->etc, "priv");
	assert_int_equal(mkdir(d->etc, 0755), 0);
	assert_int_equal(mkdir(d->priv, 0700), 0);
	struct error *err = NULL;
	assert_int_equal(auth_keys_load(d->etc, d->priv, &d->keys, &err), 0);
	assert_null(err);
}

static void keydir_free(struct keydir *d)
{
	d->keys = auth_keys_free(d->keys);
	if (d->root)
		nftw(d->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(d->root);
	free(d->etc);
	free(d->priv);
	memset(d, 0, sizeof(*d));
}

static struct keydir K; /* shared by the tests that need one key pair */

static int group_setup(void **state)
{
	keydir_make(&K);
	return 0;
}

static int group_teardown(void **state)
{
	keydir_free(&K);
	return 0;
}

static mode_t file_mode(const char *dir, const char *name)
{
	_cleanup_free_ char *p = path_join(dir, name);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	return st.st_mode & 07777;
}

static char *file_content(const char *dir, const char *name)
{
	_cleanup_free_ char *p = path_join(dir, name);
	char *data = NULL;
	size_t len;
	assert_int_equal(read_file(p, 1 << 20, &data, &len, NULL), 0);
	return data;
}

/* Verifies and expects failure with the generic 401. */
static void assert_rejected(const struct auth_keys *k, const char *ticket, time_t now)
{
	struct error *err = NULL;
	char *user = NULL;
	time_t t = 0;
	assert_int_equal(auth_ticket_verify(k, ticket, now, &user, &t, &err), -EACCES);
	assert_null(user);
	assert_non_null(err);
	assert_int_equal(err->http_status, 401);
	assert_string_equal(err->msg, "authentication failure");
	error_free(err);
}

static void assert_accepted(const struct auth_keys *k, const char *ticket, time_t now,
                            const char *want_user, time_t want_time)
{
	struct error *err = NULL;
	_cleanup_free_ char *user = NULL;
	time_t t = 0;
	assert_int_equal(auth_ticket_verify(k, ticket, now, &user, &t, &err), 0);
	assert_null(err);
	assert_string_equal(user, want_user);
	assert_int_equal(t, want_time);
}

static void test_key_files(void **state)
{
	assert_int_equal(file_mode(K.priv, "authkey.key"), 0600);
	assert_int_equal(file_mode(K.etc, "authkey.pub"), 0644);
	assert_int_equal(file_mode(K.priv, "csrf.key"), 0600);
	_cleanup_free_ char *key = file_content(K.priv, "authkey.key");
	assert_non_null(strstr(key, "-----BEGIN RSA PRIVATE KEY-----"));
	_cleanup_free_ char *pub = file_content(K.etc, "authkey.pub");
	assert_true(str_startswith(pub, "-----BEGIN PUBLIC KEY-----"));
	_cleanup_free_ char *csrf = file_content(K.priv, "csrf.key");
	assert_int_equal(strlen(csrf), 45); /* base64 of 32 bytes + '\n' */
}

static void test_key_reload(void **state)
{
	struct keydir d = {0};
	keydir_make(&d);
	_cleanup_free_ char *ticket = auth_ticket_create(d.keys, "root@pam", NOW);
	_cleanup_free_ char *csrf = auth_csrf_create(d.keys, "root@pam", NOW);
	_cleanup_free_ char *key1 = file_content(d.priv, "authkey.key");
	_cleanup_free_ char *pub1 = file_content(d.etc, "authkey.pub");
	_cleanup_free_ char *csrf1 = file_content(d.priv, "csrf.key");

	/* A key that became group/world readable is repaired, not refused;
	 * a deleted public key is rewritten from the private one. */
	_cleanup_free_ char *kp = path_join(d.priv, "authkey.key");
	_cleanup_free_ char *cp = path_join(d.priv, "csrf.key");
	_cleanup_free_ char *pp = path_join(d.etc, "authkey.pub");
	assert_int_equal(chmod(kp, 0644), 0);
	assert_int_equal(chmod(cp, 0640), 0);
	assert_int_equal(unlink(pp), 0);

	d.keys = auth_keys_free(d.keys);
	struct error *err = NULL;
	assert_int_equal(auth_keys_load(d.etc, d.priv, &d.keys, &err), 0);
	assert_null(err);
	assert_int_equal(file_mode(d.priv, "authkey.key"), 0600);
	assert_int_equal(file_mode(d.priv, "csrf.key"), 0600);
	assert_int_equal(file_mode(d.etc, "authkey.pub"), 0644);
	_cleanup_free_ char *key2 = file_content(d.priv, "authkey.key");
	_cleanup_free_ char *pub2 = file_content(d.etc, "authkey.pub");
	_cleanup_free_ char *csrf2 = file_content(d.priv, "csrf.key");
	assert_string_equal(key1, key2);
	assert_string_equal(pub1, pub2);
	assert_string_equal(csrf1, csrf2);

	assert_accepted(d.keys, ticket, NOW + 10, "root@pam", NOW);
	assert_true(auth_csrf_verify(d.keys, "root@pam", csrf, NOW + 10));
	keydir_free(&d);
}

static void test_key_bad_csrf_file(void **state)
{
	struct keydir d = {0};
	keydir_make(&d);
	d.keys = auth_keys_free(d.keys);
	_cleanup_free_ char *cp = path_join(d.priv, "csrf.key");
	assert_int_equal(write_file_atomic(cp, "not base64!\n", 12, 0600, NULL), 0);
	struct error *err = NULL;
	struct auth_keys *k = NULL;
	assert_true(auth_keys_load(d.etc, d.priv, &k, &err) < 0);
	assert_null(k);
	assert_non_null(err);
	assert_int_equal(err->http_status, 500);
	error_free(err);
	keydir_free(&d);
}

static void test_ticket_roundtrip(void **state)
{
	_cleanup_free_ char *ticket = auth_ticket_create(K.keys, "root@pam", NOW);
	assert_non_null(ticket);
	assert_true(str_startswith(ticket, "PVE:root@pam:66FF3000::"));
	const char *sig = ticket + strlen("PVE:root@pam:66FF3000::");
	assert_int_equal(strlen(sig), 344); /* 256 bytes, padded */
	assert_string_equal(sig + 342, "==");
	assert_null(strchr(sig, ':'));
	assert_accepted(K.keys, ticket, NOW, "root@pam", NOW);

	/* PKCS#1 v1.5 is deterministic: the same input signs the same. */
	_cleanup_free_ char *again = auth_ticket_create(K.keys, "root@pam", NOW);
	assert_string_equal(ticket, again);

	assert_null(auth_ticket_create(K.keys, "", NOW));
	assert_null(auth_ticket_create(K.keys, NULL, NOW));
}

static void test_ticket_age(void **state)
{
	_cleanup_free_ char *ticket = auth_ticket_create(K.keys, "alice@pve", NOW);
	assert_accepted(K.keys, ticket, NOW + AUTH_TICKET_LIFETIME - 1, "alice@pve", NOW);
	assert_accepted(K.keys, ticket, NOW - AUTH_TICKET_SKEW + 1, "alice@pve", NOW);
	assert_rejected(K.keys, ticket, NOW + 7200);
	assert_rejected(K.keys, ticket, NOW + 7201);
	assert_rejected(K.keys, ticket, NOW - 300);
	assert_rejected(K.keys, ticket, NOW - 301);
	assert_rejected(K.keys, ticket, 0);
}

static void test_ticket_tampered(void **state)
{
	_cleanup_free_ char *ticket = auth_ticket_create(K.keys, "root@pam", NOW);
	size_t len = strlen(ticket);

	/* one signature character changed */
	_cleanup_free_ char *t1 = xstrdup(ticket);
	char *c = t1 + len - 10;
	*c = *c == 'A' ? 'B' : 'A';
	assert_rejected(K.keys, t1, NOW);

	/* another user, another time, same signature */
	_cleanup_free_ char *t2 = xstrdup(ticket);
	memcpy(t2 + 4, "roou", 4);
	assert_rejected(K.keys, t2, NOW);
	_cleanup_free_ char *t3 = xstrdup(ticket);
	t3[strlen("PVE:root@pam:66FF300")] = '1';
	assert_rejected(K.keys, t3, NOW);
	_cleanup_free_ char *t4 =
	    xasprintf("PVE:admin@pve:66FF3000::%s", ticket + strlen("PVE:root@pam:66FF3000::"));
	assert_rejected(K.keys, t4, NOW);

	/* truncated, extended, whitespace */
	_cleanup_free_ char *t5 = xstrndup(ticket, len - 4);
	assert_rejected(K.keys, t5, NOW);
	_cleanup_free_ char *t6 = xasprintf("%sAAAA", ticket);
	assert_rejected(K.keys, t6, NOW);
	_cleanup_free_ char *t7 = xasprintf("%s\n", ticket);
	assert_rejected(K.keys, t7, NOW);
	_cleanup_free_ char *t8 = xasprintf(" %s", ticket);
	assert_rejected(K.keys, t8, NOW);
	/* a time with hex letters round-trips */
	_cleanup_free_ char *t9 = auth_ticket_create(K.keys, "x@pve", (time_t)0x66FFC0AB);
	assert_accepted(K.keys, t9, 0x66FFC0AB, "x@pve", 0x66FFC0AB);
}

/* A verified ticket is remembered whole (auth-priv.h): a ticket equal to it
 * but for one byte, or a prefix of it, is still checked in full, even when
 * its slot holds another verified ticket of the same length (the table is
 * filled first: 600 tickets for 512 slots). */
static void test_ticket_cache(void **state)
{
	for (int i = 1; i <= 600; i++) {
		_cleanup_free_ char *other = auth_ticket_create(K.keys, "root@pam", NOW - i);
		assert_accepted(K.keys, other, NOW, "root@pam", NOW - i);
	}
	_cleanup_free_ char *ticket = auth_ticket_create(K.keys, "root@pam", NOW);
	size_t len = strlen(ticket);

	assert_accepted(K.keys, ticket, NOW, "root@pam", NOW);
	assert_accepted(K.keys, ticket, NOW, "root@pam", NOW); /* from the cache */
	for (size_t i = strlen("PVE:"); i < len; i++) {
		_cleanup_free_ char *t = xstrdup(ticket);
		t[i] = t[i] == 'A' ? 'B' : 'A';
		assert_rejected(K.keys, t, NOW);
	}
	_cleanup_free_ char *prefix = xstrndup(ticket, len - 1);
	assert_rejected(K.keys, prefix, NOW);
	assert_accepted(K.keys, ticket, NOW, "root@pam", NOW);
}

static void test_ticket_other_key(void **state)
{
	struct keydir other = {0};
	keydir_make(&other);
	_cleanup_free_ char *ticket = auth_ticket_create(other.keys, "root@pam", NOW);
	assert_accepted(other.keys, ticket, NOW, "root@pam", NOW);
	assert_rejected(K.keys, ticket, NOW);
	_cleanup_free_ char *csrf = auth_csrf_create(other.keys, "root@pam", NOW);
	assert_false(auth_csrf_verify(K.keys, "root@pam", csrf, NOW));
	keydir_free(&other);
}

static void test_ticket_escaping(void **state)
{
	_cleanup_free_ char *t1 = auth_ticket_create(K.keys, "we:ird@pve", NOW);
	assert_true(str_startswith(t1, "PVE:we%3Aird@pve:66FF3000::"));
	assert_accepted(K.keys, t1, NOW, "we:ird@pve", NOW);

	_cleanup_free_ char *t2 = auth_ticket_create(K.keys, "a:b:c%41@pve", NOW);
	assert_true(str_startswith(t2, "PVE:a%3Ab%3Ac%2541@pve:66FF3000::"));
	assert_accepted(K.keys, t2, NOW, "a:b:c%41@pve", NOW);

	_cleanup_free_ char *t3 = auth_ticket_create(K.keys, "root@pam+x", NOW);
	assert_accepted(K.keys, t3, NOW, "root@pam+x", NOW);
}

static void test_ticket_garbage(void **state)
{
	static const char *const bad[] = {
	    "",
	    "PVE",
	    "PVE:",
	    "PVE::",
	    "PVE:::",
	    "PVE:a::",
	    "PVE:a::x",
	    "PVE:66FF3000::AAAA",
	    "PVE::66FF3000::AAAA",
	    "PVE:root@pam:66FF3000::",
	    "PVE:root@pam:66FF3000:AAAA",
	    "PVE:root@pam:66FF3000::AA:AA",
	    "PVE:root@pam:66ff3000::AAAA",
	    "PVE:root@pam:66FFC00::AAAA",
	    "PVE:root@pam:66FF3000::!!!!",
	    "PVE:root@pam:66FF3000::A",
	    "PVE:root@pam:66FF3000::AAAA=",
	    "PVEVNC:root@pam:66FF3000::AAAA",
	    "pve:root@pam:66FF3000::AAAA",
	    "::::::::::::::::::::",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_rejected(K.keys, bad[i], NOW);
	assert_rejected(K.keys, NULL, NOW);

	char *big = xmalloc(5000);
	memset(big, 'A', 4999);
	big[4999] = '\0';
	memcpy(big, "PVE:root@pam:66FF3000::", 23);
	assert_rejected(K.keys, big, NOW);
	free(big);
}

static void test_csrf(void **state)
{
	_cleanup_free_ char *tok = auth_csrf_create(K.keys, "root@pam", NOW);
	assert_non_null(tok);
	assert_int_equal(strlen(tok), 8 + 1 + 43);
	assert_true(str_startswith(tok, "66FF3000:"));
	assert_null(strchr(tok, '='));
	assert_true(auth_csrf_verify(K.keys, "root@pam", tok, NOW));
	assert_true(auth_csrf_verify(K.keys, "root@pam", tok, NOW + 7199));
	assert_true(auth_csrf_verify(K.keys, "root@pam", tok, NOW - 299));

	assert_false(auth_csrf_verify(K.keys, "root@pve", tok, NOW));
	assert_false(auth_csrf_verify(K.keys, "root@pam ", tok, NOW));
	assert_false(auth_csrf_verify(K.keys, "root@pam", tok, NOW + 7200));
	assert_false(auth_csrf_verify(K.keys, "root@pam", tok, NOW + 7201));
	assert_false(auth_csrf_verify(K.keys, "root@pam", tok, NOW - 300));
	assert_false(auth_csrf_verify(K.keys, "root@pam", tok, NOW - 301));
	assert_false(auth_csrf_verify(K.keys, NULL, tok, NOW));
	assert_false(auth_csrf_verify(K.keys, "root@pam", NULL, NOW));

	/* tampered signature, time, framing */
	_cleanup_free_ char *t1 = xstrdup(tok);
	t1[20] = t1[20] == 'A' ? 'B' : 'A';
	assert_false(auth_csrf_verify(K.keys, "root@pam", t1, NOW));
	_cleanup_free_ char *t2 = xstrdup(tok);
	t2[7] = '1';
	assert_false(auth_csrf_verify(K.keys, "root@pam", t2, NOW));
	_cleanup_free_ char *t3 = xasprintf("%s=", tok);
	assert_false(auth_csrf_verify(K.keys, "root@pam", t3, NOW));
	_cleanup_free_ char *t4 = xstrndup(tok, strlen(tok) - 1);
	assert_false(auth_csrf_verify(K.keys, "root@pam", t4, NOW));
	assert_false(auth_csrf_verify(K.keys, "root@pam", "", NOW));
	assert_false(auth_csrf_verify(K.keys, "root@pam", "66FF3000:", NOW));

	/* the same user and time always give the same token */
	_cleanup_free_ char *again = auth_csrf_create(K.keys, "root@pam", NOW);
	assert_string_equal(tok, again);
}

static void *sign_verify_thread(void *arg)
{
	const char *user = arg;
	for (int i = 0; i < 20; i++) {
		char *t = auth_ticket_create(K.keys, user, NOW + i);
		char *got = NULL;
		time_t when = 0;
		if (!t || auth_ticket_verify(K.keys, t, NOW + i, &got, &when, NULL) != 0 ||
		    !streq(got, user) || when != NOW + i)
			abort();
		free(t);
		free(got);
	}
	return NULL;
}

static void test_ticket_threads(void **state)
{
	static const char *const users[] = {"a@pve", "b@pve", "c@pam", "d@pve"};
	pthread_t th[ARRAY_SIZE(users)];
	for (size_t i = 0; i < ARRAY_SIZE(users); i++)
		assert_int_equal(pthread_create(&th[i], NULL, sign_verify_thread, (void *)users[i]),
		                 0);
	for (size_t i = 0; i < ARRAY_SIZE(users); i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_files),         cmocka_unit_test(test_key_reload),
	    cmocka_unit_test(test_key_bad_csrf_file), cmocka_unit_test(test_ticket_roundtrip),
	    cmocka_unit_test(test_ticket_age),        cmocka_unit_test(test_ticket_tampered),
	    cmocka_unit_test(test_ticket_other_key),  cmocka_unit_test(test_ticket_escaping),
	    cmocka_unit_test(test_ticket_garbage),    cmocka_unit_test(test_csrf),
	    cmocka_unit_test(test_ticket_threads),    cmocka_unit_test(test_ticket_cache),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

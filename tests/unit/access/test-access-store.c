/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "access.h"
#include "auth.h"
#include "domains.h"
#include "error.h"
#include "fileio.h"
#include "paths.h"
#include "section-config.h"
#include "shadow.h"
#include "tokens.h"
#include "usercfg.h"
#include "xalloc.h"

struct fixture {
	char root[64];
	struct ctvm_paths *paths;
	struct access_store *store;
};

static int setup(void **state)
{
	struct fixture *f = xnew(struct fixture, 1);
	snprintf(f->root, sizeof(f->root), "/tmp/ctvm-access-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	f->paths = ctvm_paths_new(f->root);
	struct error *e = NULL;
	f->store = access_store_new(f->paths, &e);
	if (!f->store)
		fail_msg("access_store_new: %s", e->msg);
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	access_store_free(f->store);
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	ctvm_paths_free(f->paths);
	free(f);
	return 0;
}

static char *file_text(struct fixture *f, const char *dir, const char *name)
{
	_cleanup_free_ char *p = path_join(dir, name);
	char *data = NULL;
	struct error *e = NULL;
	if (read_file(p, 1 << 20, &data, NULL, &e) < 0)
		fail_msg("%s", e->msg);
	return data;
}

static mode_t file_mode(const char *dir, const char *name)
{
	_cleanup_free_ char *p = path_join(dir, name);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	return st.st_mode & 07777;
}

static void test_defaults(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *u = file_text(f, f->paths->etc, "user.cfg");
	assert_string_equal(u, "user:root@pam:1:0::::::\n\n\n\n\n");
	_cleanup_free_ char *d = file_text(f, f->paths->etc, "domains.cfg");
	assert_string_equal(d, "pam: pam\n\tcomment Linux PAM standard authentication\n\n"
	                       "pve: pve\n\tcomment Proxmox VE authentication server\n\n");
	const struct access_db *db = access_store_get(f->store);
	assert_non_null(usercfg_find_user(access_db_usercfg(db), "root@pam"));
	assert_int_equal(domains_count(access_db_domains(db)), 2);
	assert_int_equal(strlen(access_db_usercfg_digest(db)), 40);
	struct error *e = NULL;
	assert_int_equal(access_user_check(db, "root@pam", time(NULL), &e), 0);
	assert_int_equal(access_user_check(db, "nobody@pam", time(NULL), &e), -EACCES);
	assert_int_equal(e->http_status, 401);
	assert_string_equal(e->msg, "authentication failure");
	error_free(e);
	access_db_unref(db);
}

struct add_args {
	char *secret; /* out */
};

static int add_users(struct usercfg *cfg, struct access_secrets *sec, void *arg, struct error **err)
{
	struct add_args *a = arg;
	struct usercfg_user *u = NULL;
	int r = usercfg_add_user(cfg, "alice@pve", &u, err);
	if (r < 0)
		return r;
	r = access_secrets_set_password(sec, "alice@pve", "correct horse", err);
	if (r < 0)
		return r;
	struct usercfg_token *t = NULL;
	r = usercfg_add_token(cfg, "alice@pve", "ci", &t, err);
	if (r < 0)
		return r;
	a->secret = access_secrets_new_token(sec, "alice@pve!ci");
	r = usercfg_add_token(cfg, "alice@pve", "old", &t, err);
	if (r < 0)
		return r;
	t->expire = 1000; /* long expired */
	free(access_secrets_new_token(sec, "alice@pve!old"));
	r = usercfg_add_user(cfg, "bob@pve", &u, err);
	if (r < 0)
		return r;
	u->enable = false;
	r = usercfg_add_token(cfg, "bob@pve", "ci", &t, err);
	if (r < 0)
		return r;
	free(access_secrets_new_token(sec, "bob@pve!ci"));
	return usercfg_acl_set(cfg, "/vms", ACL_SUBJECT_USER, "alice@pve", "PVEVMUser", true, err);
}

static int noop(struct usercfg *cfg, struct access_secrets *sec, void *arg, struct error **err)
{
	return 0;
}

static int fail_cb(struct usercfg *cfg, struct access_secrets *sec, void *arg, struct error **err)
{
	usercfg_remove_user(cfg, "alice@pve");
	return error_set(err, -EINVAL, 400, "nope");
}

static void test_update_and_tokens(void **state)
{
	struct fixture *f = *state;
	struct error *e = NULL;
	const struct access_db *db0 = access_store_get(f->store);
	_cleanup_free_ char *d0 = xstrdup(access_db_usercfg_digest(db0));

	struct add_args a = {0};
	assert_int_equal(access_store_update(f->store, d0, add_users, &a, &e), 0);
	assert_non_null(a.secret);
	assert_int_equal(strlen(a.secret), 36);

	/* the old snapshot is still valid and unchanged */
	assert_null(usercfg_find_user(access_db_usercfg(db0), "alice@pve"));
	access_db_unref(db0);

	/* stale digest refused, nothing written */
	assert_int_equal(access_store_update(f->store, d0, noop, NULL, &e), -ESTALE);
	assert_int_equal(e->http_status, 400);
	assert_non_null(strstr(e->msg, "detected modified configuration"));
	error_free(TAKE_PTR(e));
	/* a failing callback changes nothing */
	assert_int_equal(access_store_update(f->store, NULL, fail_cb, NULL, &e), -EINVAL);
	error_free(TAKE_PTR(e));

	const struct access_db *db = access_store_get(f->store);
	assert_non_null(usercfg_find_user(access_db_usercfg(db), "alice@pve"));
	assert_true(access_db_check(db, "alice@pve", "/vms/100", "VM.Console"));
	assert_false(access_db_check(db, "alice@pve", "/vms/100", "VM.Allocate"));

	/* files and modes */
	assert_int_equal(file_mode(f->paths->priv, "shadow.cfg"), 0600);
	assert_int_equal(file_mode(f->paths->priv, "token.cfg"), 0600);
	_cleanup_free_ char *tok = file_text(f, f->paths->priv, "token.cfg");
	assert_null(strstr(tok, a.secret)); /* only the hash is stored */
	char h[65];
	token_secret_hash(a.secret, h);
	assert_non_null(strstr(tok, h));
	_cleanup_free_ char *sh = file_text(f, f->paths->priv, "shadow.cfg");
	assert_true(str_startswith(sh, "alice:$"));
	_cleanup_free_ char *u = file_text(f, f->paths->etc, "user.cfg");
	assert_non_null(strstr(u, "token:alice@pve!ci:0:1::\n"));

	time_t now = time(NULL);
	assert_int_equal(access_token_check(db, "alice@pve!ci", a.secret, now, &e), 0);
	assert_int_equal(access_token_check(db, "alice@pve!ci", "wrong", now, &e), -EACCES);
	assert_int_equal(e->http_status, 401);
	error_free(TAKE_PTR(e));
	assert_int_equal(access_token_check(db, "alice@pve!ci", "", now, &e), -EACCES);
	error_free(TAKE_PTR(e));
	assert_int_equal(access_token_check(db, "alice@pve!gone", a.secret, now, &e), -EACCES);
	error_free(TAKE_PTR(e));
	/* expired token (its secret is unknown to us, but expiry is checked first) */
	assert_int_equal(access_token_check(db, "alice@pve!old", a.secret, now, &e), -EACCES);
	error_free(TAKE_PTR(e));
	/* disabled owner */
	assert_int_equal(access_token_check(db, "bob@pve!ci", a.secret, now, &e), -EACCES);
	error_free(TAKE_PTR(e));
	assert_int_equal(access_user_check(db, "bob@pve", now, &e), -EACCES);
	error_free(TAKE_PTR(e));
	access_db_unref(db);
	free(a.secret);
}

/* carol has no password, erin a locked one */
static int add_login_users(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                           struct error **err)
{
	struct usercfg_user *u = NULL;
	int r = usercfg_add_user(cfg, "carol@pve", &u, err);
	if (r == 0)
		r = usercfg_add_user(cfg, "erin@pve", &u, err);
	if (r == 0)
		r = shadow_set(sec->shadow, "erin", "!$y$j9T$locked", err);
	return r;
}

static void test_login(void **state)
{
	struct fixture *f = *state;
	struct error *e = NULL;
	struct add_args a = {0};
	assert_int_equal(access_store_update(f->store, NULL, add_users, &a, &e), 0);
	assert_int_equal(access_store_update(f->store, NULL, add_login_users, NULL, &e), 0);
	free(a.secret);

	char *userid = NULL, *reason = NULL;
	assert_int_equal(access_login(f->store, "alice@pve", NULL, "correct horse", "127.0.0.1",
	                              NULL, &userid, &reason, &e),
	                 0);
	assert_string_equal(userid, "alice@pve");
	free(userid);
	/* realm parameter, case-insensitive realm */
	assert_int_equal(access_login(f->store, "alice", "PVE", "correct horse", NULL, NULL,
	                              &userid, &reason, &e),
	                 0);
	assert_string_equal(userid, "alice@pve");
	free(userid);

	static const struct {
		const char *user, *realm, *password, *reason;
	} bad[] = {
	    {"alice@pve", NULL, "wrong", "invalid credentials"},
	    {"alice@pve", NULL, "", "no password"},
	    {"bob@pve", NULL, "x", "disabled"},
	    {"dave@pve", NULL, "x", "no such user"},
	    {"carol@pve", NULL, "x", "no password set"},
	    {"erin@pve", NULL, "x", "invalid credentials"},
	    {"alice@pve", NULL, NULL, "no password"},
	    {"alice@nowhere", NULL, "x", "does not exist"},
	    {"", NULL, "x", "no username"},
	    {"a:b@pve", NULL, "x", "invalid user name"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		userid = reason = NULL;
		unsigned long hashes = auth_password_verifications();
		assert_int_equal(access_login(f->store, bad[i].user, bad[i].realm, bad[i].password,
		                              NULL, NULL, &userid, &reason, &e),
		                 -EACCES);
		/* every failure pays for one hash, as a wrong password does: a
		 * missing user is not told apart by the time the answer takes */
		if (auth_password_verifications() - hashes != 1)
			fail_msg("case %zu: %lu hashes", i, auth_password_verifications() - hashes);
		assert_null(userid);
		assert_int_equal(e->http_status, 401);
		assert_string_equal(e->msg, "authentication failure");
		if (!reason || !strstr(reason, bad[i].reason))
			fail_msg("case %zu: reason '%s'", i, reason ? reason : "(null)");
		free(reason);
		error_free(TAKE_PTR(e));
	}
}

static int add_ldap(struct domains *d, void *arg, struct error **err)
{
	struct section *s = NULL;
	int r = section_config_add(domains_config(d), "ldap", "corp", &s, err);
	if (r < 0)
		return r;
	section_set(s, "base_dn", "dc=corp");
	section_set(s, "default", "1");
	return 0;
}

static void test_domains_and_reload(void **state)
{
	struct fixture *f = *state;
	struct error *e = NULL;
	assert_int_equal(access_store_update_domains(f->store, "0000", add_ldap, NULL, &e),
	                 -ESTALE);
	error_free(TAKE_PTR(e));
	assert_int_equal(access_store_update_domains(f->store, NULL, add_ldap, NULL, &e), 0);
	const struct access_db *db = access_store_get(f->store);
	struct realm_info ri;
	assert_true(domains_find(access_db_domains(db), "corp", false, &ri));
	assert_false(ri.supported);
	assert_true(ri.is_default);
	access_db_unref(db);

	/* an edit by another process is picked up */
	_cleanup_free_ char *p = path_join(f->paths->etc, "user.cfg");
	const char *text = "user:root@pam:1:0::::::\nuser:zed@pam:1:0::::::\n";
	assert_int_equal(write_file_atomic(p, text, strlen(text), 0640, &e), 0);
	db = access_store_get(f->store);
	assert_non_null(usercfg_find_user(access_db_usercfg(db), "zed@pam"));
	access_db_unref(db);
	/* an unreadable edit keeps the last good snapshot */
	assert_int_equal(write_file_atomic(p, "user:\0", 6, 0640, &e), 0);
	db = access_store_get(f->store);
	assert_non_null(usercfg_find_user(access_db_usercfg(db), "zed@pam"));
	access_db_unref(db);
}

/* An edit that keeps size, inode and mtime (in place, within one timestamp
 * tick) is still seen while the file is young: it is compared by content. */
static void test_racy_edit(void **state)
{
	struct fixture *f = *state;
	struct error *e = NULL;
	_cleanup_free_ char *p = path_join(f->paths->etc, "user.cfg");
	const char *text = "user:root@pam:1:0::::::\nuser:zed@pam:1:0::::::\n";
	assert_int_equal(write_file_atomic(p, text, strlen(text), 0640, &e), 0);
	const struct access_db *db = access_store_get(f->store);
	assert_non_null(usercfg_find_user(access_db_usercfg(db), "zed@pam"));
	access_db_unref(db);

	struct stat before;
	assert_int_equal(stat(p, &before), 0);
	FILE *fp = fopen(p, "r+");
	assert_non_null(fp);
	fputs("user:root@pam:1:0::::::\nuser:zee@pam:1:0::::::\n", fp);
	fclose(fp);
	struct timespec times[2] = {before.st_atim, before.st_mtim};
	assert_int_equal(utimensat(AT_FDCWD, p, times, 0), 0);

	db = access_store_get(f->store);
	assert_non_null(usercfg_find_user(access_db_usercfg(db), "zee@pam"));
	assert_null(usercfg_find_user(access_db_usercfg(db), "zed@pam"));
	access_db_unref(db);
}

static int add_carol(struct usercfg *cfg, struct access_secrets *sec, void *arg, struct error **err)
{
	struct usercfg_user *u = NULL;
	return usercfg_add_user(cfg, "carol@pve", &u, err);
}

/* A change reads the files themselves, not the cached snapshot: an outside
 * edit made within the recheck interval is neither lost nor overwritten. */
static void test_update_reads_the_file(void **state)
{
	struct fixture *f = *state;
	struct error *e = NULL;
	access_store_set_recheck_ms(f->store, 600000); /* the cache never looks again */
	const struct access_db *db = access_store_get(f->store);
	_cleanup_free_ char *d0 = xstrdup(access_db_usercfg_digest(db));
	access_db_unref(db);

	_cleanup_free_ char *p = path_join(f->paths->etc, "user.cfg");
	const char *text = "user:root@pam:1:0::::::\nuser:zed@pam:1:0::::::\n";
	assert_int_equal(write_file_atomic(p, text, strlen(text), 0640, &e), 0);

	/* the digest the client had is stale now */
	assert_int_equal(access_store_update(f->store, d0, noop, NULL, &e), -ESTALE);
	assert_non_null(strstr(e->msg, "detected modified configuration"));
	error_free(TAKE_PTR(e));
	/* and a change without a digest keeps the outside edit */
	assert_int_equal(access_store_update(f->store, NULL, add_carol, NULL, &e), 0);
	_cleanup_free_ char *u = file_text(f, f->paths->etc, "user.cfg");
	assert_non_null(strstr(u, "user:zed@pam:"));
	assert_non_null(strstr(u, "user:carol@pve:"));
	db = access_store_get(f->store);
	assert_non_null(usercfg_find_user(access_db_usercfg(db), "zed@pam"));
	assert_non_null(usercfg_find_user(access_db_usercfg(db), "carol@pve"));
	access_db_unref(db);
}

/* A task worker forked from the daemon reads the files itself: it takes no
 * lock another thread may have held at fork time, and sees what is on disk. */
static void test_forked_child(void **state)
{
	struct fixture *f = *state;
	struct error *e = NULL;
	access_store_set_recheck_ms(f->store, 600000);
	access_db_unref(access_store_get(f->store));
	_cleanup_free_ char *p = path_join(f->paths->etc, "user.cfg");
	const char *text = "user:root@pam:1:0::::::\nuser:zed@pam:1:0::::::\n";
	assert_int_equal(write_file_atomic(p, text, strlen(text), 0640, &e), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const struct access_db *db = access_store_get(f->store);
		bool ok = usercfg_find_user(access_db_usercfg(db), "zed@pam") != NULL;
		access_db_unref(db);
		_exit(ok ? 0 : 1);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_secret_files(void **state)
{
	struct shadow *s = NULL;
	struct error *e = NULL;
	const char *in = "alice:$5$salt$hash:\nbad line\nbob::\n:x:\ncarol:$y$j9T$abc:\n";
	assert_int_equal(shadow_parse(in, strlen(in), &s, &e), 0);
	assert_string_equal(shadow_get(s, "alice"), "$5$salt$hash");
	assert_null(shadow_get(s, "bob"));
	assert_int_equal(shadow_set(s, "x:y", "h", &e), -EINVAL);
	error_free(TAKE_PTR(e));
	shadow_free(s);

	struct token_secrets *t = NULL;
	const char *tin = "root@pam!legacy 0c1d2e3f-1111-2222-3333-444455556666\n"
	                  "garbage\nnot-a-token secret\n";
	assert_int_equal(token_secrets_parse(tin, strlen(tin), &t, &e), 0);
	assert_true(
	    token_secrets_verify(t, "root@pam!legacy", "0c1d2e3f-1111-2222-3333-444455556666"));
	assert_false(token_secrets_verify(t, "root@pam!legacy", "0c1d2e3f"));
	assert_false(token_secrets_has(t, "not-a-token"));
	token_secrets_set(t, "root@pam!legacy", "new");
	assert_true(token_secrets_verify(t, "root@pam!legacy", "new"));
	assert_false(
	    token_secrets_verify(t, "root@pam!legacy", "0c1d2e3f-1111-2222-3333-444455556666"));
	token_secrets_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update_and_tokens, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_login, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_domains_and_reload, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_racy_edit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update_reads_the_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_forked_child, setup, teardown),
	    cmocka_unit_test(test_secret_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

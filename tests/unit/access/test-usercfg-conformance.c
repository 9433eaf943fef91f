/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * user.cfg parser/writer against PVE's own cases
 * (conformance/access/user-cfg-parser-writer, MANIFEST.tsv): for every case
 * with an expected output, write(parse(in)) must equal it byte for byte.
 * Also: every sample user.cfg parses and rewriting is a fixed point.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "strbuf.h"
#include "usercfg.h"
#include "xalloc.h"

static char *conformance_path(const char *rel)
{
	const char *base = getenv("CTVM_CONFORMANCE");
	assert_non_null(base);
	return xasprintf("%s/access/%s", base, rel);
}

static char *slurp(const char *rel, size_t *len)
{
	_cleanup_free_ char *p = conformance_path(rel);
	char *data = NULL;
	struct error *e = NULL;
	if (read_file(p, 1 << 20, &data, len, &e) < 0)
		fail_msg("%s: %s", p, e->msg);
	return data;
}

static char *rewrite(const char *in, size_t len, struct usercfg **ret_cfg)
{
	struct usercfg *cfg = NULL;
	struct error *e = NULL;
	assert_int_equal(usercfg_parse(in, len, &cfg, &e), 0);
	struct strbuf sb = STRBUF_INIT;
	usercfg_write(cfg, &sb);
	if (ret_cfg)
		*ret_cfg = cfg;
	else
		usercfg_free(cfg);
	return strbuf_detach(&sb, NULL);
}

static void test_manifest(void **state)
{
	size_t mlen;
	_cleanup_free_ char *manifest = slurp("user-cfg-parser-writer/MANIFEST.tsv", &mlen);
	int cases = 0, failures = 0;
	char *save = NULL;
	bool header = true;
	for (char *line = strtok_r(manifest, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (header) {
			header = false;
			continue;
		}
		char *f[4] = {0};
		char *p = line;
		for (int i = 0; i < 4; i++) {
			f[i] = p;
			char *tab = p ? strchr(p, '\t') : NULL;
			if (tab) {
				*tab = '\0';
				p = tab + 1;
			} else {
				p = NULL;
			}
		}
		const char *name = f[0], *in = f[1], *out = f[2];
		_cleanup_free_ char *inrel = xasprintf("user-cfg-parser-writer/%s", in);
		size_t ilen;
		_cleanup_free_ char *indata = slurp(inrel, &ilen);
		struct usercfg *cfg = NULL;
		_cleanup_free_ char *got = rewrite(indata, ilen, &cfg);
		cases++;

		if (streq(name, "group_invalid_member")) {
			/* parse only: the invalid group is dropped */
			assert_int_equal(cfg->n_groups, 0);
			assert_non_null(usercfg_find_user(cfg, "root@pam"));
			usercfg_free(cfg);
			continue;
		}
		if (streq(name, "empty_config")) {
			/* upstream writes an empty config object here; parsing
			 * "" yields just root@pam (enabled) */
			assert_int_equal(cfg->n_users, 1);
			assert_true(cfg->users[0]->enable);
			usercfg_free(cfg);
			struct usercfg *empty = usercfg_new();
			struct strbuf sb = STRBUF_INIT;
			usercfg_write(empty, &sb);
			usercfg_free(empty);
			free(got);
			got = strbuf_detach(&sb, NULL);
		} else {
			usercfg_free(cfg);
		}
		_cleanup_free_ char *outrel = xasprintf("user-cfg-parser-writer/%s", out);
		size_t olen;
		_cleanup_free_ char *expected = slurp(outrel, &olen);
		if (!streq(got, expected)) {
			print_error("case %s: mismatch\n--- expected\n%s--- got\n%s---\n", name,
			            expected, got);
			failures++;
			continue;
		}
		/* and writing again changes nothing */
		_cleanup_free_ char *again = rewrite(got, strlen(got), NULL);
		if (!streq(again, got) && !streq(name, "empty_config")) {
			print_error("case %s: rewrite not stable\n", name);
			failures++;
		}
	}
	assert_int_equal(cases, 33);
	assert_int_equal(failures, 0);
}

static void test_samples_stable(void **state)
{
	static const char *const files[] = {
	    "test1.cfg", "test2.cfg", "test3.cfg", "test4.cfg",   "test5.cfg",
	    "test6.cfg", "test7.cfg", "test8.cfg", "user.cfg.ex", "api-get-permissions-test.cfg",
	};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *rel = xasprintf("user-cfg/%s", files[i]);
		size_t len;
		_cleanup_free_ char *data = slurp(rel, &len);
		_cleanup_free_ char *once = rewrite(data, len, NULL);
		_cleanup_free_ char *twice = rewrite(once, strlen(once), NULL);
		assert_string_equal(once, twice);
	}
}

static void test_sample_details(void **state)
{
	size_t len;
	_cleanup_free_ char *data = slurp("user-cfg/test6.cfg", &len);
	struct usercfg *cfg = NULL;
	_cleanup_free_ char *out = rewrite(data, len, &cfg);
	/* space-separated storage list */
	struct usercfg_pool *p = usercfg_find_pool(cfg, "devel");
	assert_non_null(p);
	assert_int_equal(p->n_storage, 2);
	assert_string_equal(p->comment, "MITS development");
	assert_non_null(strstr(out, "pool:devel:MITS development:500,501,502:store1,store2:\n"));
	assert_non_null(usercfg_find_pool(cfg, "marketing/interns"));
	usercfg_free(cfg);

	/* user.cfg.ex: invalid privs dropped with warnings, ACL merged */
	_cleanup_free_ char *ex = slurp("user-cfg/user.cfg.ex", &len);
	_cleanup_free_ char *exo = rewrite(ex, len, &cfg);
	assert_non_null(strstr(exo, "role:admin:Permissions.Modify,VM.Console:\n"));
	assert_non_null(strstr(exo, "acl:0:/users:@testgroup,joe@localhost:Administrator:\n"));
	assert_true(cfg->n_warnings >= 2);
	usercfg_free(cfg);
}

static void test_text_encoding(void **state)
{
	const char *in = "user:root@pam:1:0:J%C3%BCrgen:O%3AB:a@b.c:50% off%0A::\n"
	                 "group:g:root@pam:caf\xc3\xa9 %FF:\n";
	struct usercfg *cfg = NULL;
	_cleanup_free_ char *out = rewrite(in, strlen(in), &cfg);
	struct usercfg_user *u = usercfg_find_user(cfg, "root@pam");
	assert_string_equal(u->firstname, "J\xc3\xbcrgen");
	assert_string_equal(u->lastname, "O:B");
	assert_string_equal(u->comment, "50% off\n");
	/* invalid UTF-8 becomes U+FFFD */
	assert_string_equal(usercfg_find_group(cfg, "g")->comment, "caf\xc3\xa9 \xef\xbf\xbd");
	assert_non_null(strstr(out, "user:root@pam:1:0:J%C3%BCrgen:O%3AB:a@b.c:50% off%0A::\n"));
	assert_non_null(strstr(out, "group:g:root@pam:caf%C3%A9 %EF%BF%BD:\n"));
	usercfg_free(cfg);
}

static void test_legacy_priv(void **state)
{
	const char *in = "role:old:VM.Monitor,VM.Audit:\n";
	struct usercfg *cfg = NULL;
	_cleanup_free_ char *out = rewrite(in, strlen(in), &cfg);
	assert_non_null(strstr(out, "role:old:VM.Audit:\n"));
	bool legacy = false;
	for (size_t i = 0; i < cfg->n_warnings; i++)
		legacy |= strstr(cfg->warnings[i], "legacy") != NULL;
	assert_true(legacy);
	usercfg_free(cfg);
}

static void test_identifiers(void **state)
{
	assert_true(usercfg_verify_userid("root@pam", NULL, NULL));
	assert_true(usercfg_verify_userid("a!b@pve", NULL, NULL));
	assert_true(usercfg_verify_userid("a@b@pve", NULL, NULL));
	assert_false(usercfg_verify_userid("root@p", NULL, NULL)); /* realm needs 2 chars */
	assert_false(usercfg_verify_userid("a:b@pve", NULL, NULL));
	assert_false(usercfg_verify_userid("a/b@pve", NULL, NULL));
	assert_false(usercfg_verify_userid("a b@pve", NULL, NULL));
	assert_false(usercfg_verify_userid("@pve", NULL, NULL));
	assert_false(usercfg_verify_userid("x@pve!tok", NULL, NULL));
	char long_id[80];
	memset(long_id, 'a', 61);
	strcpy(long_id + 61, "@pve");
	assert_false(usercfg_verify_userid(long_id, NULL, NULL)); /* 65 bytes */
	long_id[60] = '\0';
	strcat(long_id, "@pve");
	assert_true(usercfg_verify_userid(long_id, NULL, NULL)); /* 64 bytes */

	char *uid = NULL, *name = NULL;
	assert_true(usercfg_split_tokenid("a!b@pve!tok", &uid, &name));
	assert_string_equal(uid, "a!b@pve");
	assert_string_equal(name, "tok");
	free(uid);
	free(name);
	assert_false(usercfg_split_tokenid("a@pve!t", NULL, NULL));
	assert_false(usercfg_split_tokenid("a@pve!1tok", NULL, NULL));
	assert_false(usercfg_split_tokenid("a@pve", NULL, NULL));

	assert_true(usercfg_verify_poolid("a/b/c"));
	assert_false(usercfg_verify_poolid("a/b/c/d"));
	assert_false(usercfg_verify_poolid("a//b"));
	assert_false(usercfg_verify_poolid("a/"));
	assert_true(usercfg_verify_groupid("Dev-ops_1.x"));
	assert_false(usercfg_verify_groupid("inval!d"));
	assert_true(usercfg_verify_storeid("local-zfs"));
	assert_false(usercfg_verify_storeid("local-"));
	assert_false(usercfg_verify_storeid("1local"));

	static const struct {
		const char *in, *out;
	} norm[] = {
	    {"/vms/100/", "/vms/100"},
	    {"//vms///100", "/vms/100"},
	    {"vms", "/vms"},
	    {"/", "/"},
	    {"///", "/"},
	    {"/vms/1 0", NULL},
	    {"", NULL},
	    {"/a:b", NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(norm); i++) {
		_cleanup_free_ char *n = acl_path_normalize(norm[i].in);
		if (norm[i].out)
			assert_string_equal(n, norm[i].out);
		else
			assert_null(n);
	}

	static const char *const good[] = {
	    "/",
	    "/access",
	    "/access/groups",
	    "/access/groups/admins",
	    "/access/realm/pve",
	    "/nodes/n1",
	    "/vms",
	    "/vms/100",
	    "/storage/local",
	    "/pool/a/b/c",
	    "/sdn/zones/z1/vnet1/4094",
	    "/sdn/controllers/c_1",
	    "/mapping/pci/dev1",
	    "/sdn/prefix-lists/x1",
	};
	static const char *const bad[] = {
	    "/vms/99",
	    "/vms/0100",
	    "/pool/a/b/c/d",
	    "/access/realms/pve",
	    "/users",
	    "/sdn/zones/z1/vnet1/0",
	    "/sdn/zones/z1/vnet1/10000",
	    "/mapping/a/b/c",
	    "vms",
	    "/storage/local/x",
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (!acl_check_path(good[i]))
			fail_msg("'%s' should be a valid ACL path", good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (acl_check_path(bad[i]))
			fail_msg("'%s' should not be a valid ACL path", bad[i]);

	assert_true(acl_path_cmp("/a", "/a/c") < 0);
	assert_true(acl_path_cmp("/a/c", "/a-b") < 0);
	assert_true(acl_path_cmp("/", "/a") < 0);
	assert_int_equal(acl_path_cmp("/x", "/x"), 0);
}

static void test_changes(void **state)
{
	struct usercfg *cfg = NULL;
	struct error *e = NULL;
	const char *in = "user:a@pve:1:0::::::\ntoken:a@pve!t1:0:1::\nuser:root@pam:1:0::::::\n"
	                 "group:g:a@pve::\nrole:r:VM.Audit:\n"
	                 "acl:1:/vms:@g,a@pve,a@pve!t1:r:\nacl:1:/:root@pam:Administrator:\n";
	assert_int_equal(usercfg_parse(in, strlen(in), &cfg, &e), 0);
	assert_int_equal(cfg->n_acls, 4);
	struct usercfg *copy = usercfg_dup(cfg);

	assert_true(usercfg_remove_user(cfg, "a@pve"));
	assert_int_equal(cfg->groups[0]->n_members, 0);
	assert_int_equal(cfg->n_acls, 2); /* group entry + root's */
	assert_true(usercfg_remove_role(cfg, "r"));
	assert_int_equal(cfg->n_acls, 1);
	assert_int_equal(usercfg_add_role(cfg, "NoAccess", NULL, &e), -EPERM);
	error_free(TAKE_PTR(e));
	assert_int_equal(usercfg_add_user(cfg, "root@pam", NULL, &e), -EEXIST);
	error_free(TAKE_PTR(e));

	struct usercfg_pool *p = NULL;
	assert_int_equal(usercfg_add_pool(cfg, "x/y", &p, &e), 0);
	assert_non_null(usercfg_find_pool(cfg, "x"));
	assert_int_equal(usercfg_pool_add_vm(cfg, p, "100", &e), 0);
	struct usercfg_pool *x = usercfg_find_pool(cfg, "x");
	assert_int_equal(usercfg_pool_add_vm(cfg, x, "100", &e), -EEXIST);
	error_free(TAKE_PTR(e));
	assert_int_equal(
	    usercfg_acl_set(cfg, "/pool/x/y/", ACL_SUBJECT_GROUP, "g", "PVEVMUser", 1, &e), 0);
	struct strbuf sb = STRBUF_INIT;
	usercfg_write(cfg, &sb);
	assert_string_equal(sb.buf, "user:root@pam:1:0::::::\n\ngroup:g:::\n\npool:x::::\n"
	                            "pool:x/y::100::\n\n\nacl:1:/pool/x/y:@g:PVEVMUser:\n");
	strbuf_release(&sb);

	/* the copy is untouched and independent */
	usercfg_free(cfg);
	usercfg_write(copy, &sb);
	assert_non_null(strstr(sb.buf, "acl:1:/vms:@g,a@pve,a@pve!t1:r:\n"));
	assert_null(strstr(sb.buf, "root@pam:Administrator"));
	strbuf_release(&sb);
	usercfg_free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_manifest),       cmocka_unit_test(test_samples_stable),
	    cmocka_unit_test(test_sample_details), cmocka_unit_test(test_text_encoding),
	    cmocka_unit_test(test_legacy_priv),    cmocka_unit_test(test_identifiers),
	    cmocka_unit_test(test_changes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

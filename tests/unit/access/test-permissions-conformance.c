/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The ACL engine against PVE's perm-test*.pl cases (permission-cases.tsv)
 * and the GET /access/permissions visibility rules
 * (api-get-permissions-cases.tsv).
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "acl.h"
#include "error.h"
#include "fileio.h"
#include "strbuf.h"
#include "usercfg.h"
#include "xalloc.h"

static char *slurp(const char *rel, size_t *len)
{
	const char *base = getenv("CTVM_CONFORMANCE");
	assert_non_null(base);
	_cleanup_free_ char *p = xasprintf("%s/access/%s", base, rel);
	char *data = NULL;
	struct error *e = NULL;
	if (read_file(p, 1 << 20, &data, len, &e) < 0)
		fail_msg("%s: %s", p, e->msg);
	return data;
}

static struct usercfg *load(const char *name)
{
	_cleanup_free_ char *rel = xasprintf("user-cfg/%s", name);
	size_t len;
	_cleanup_free_ char *data = slurp(rel, &len);
	struct usercfg *cfg = NULL;
	struct error *e = NULL;
	assert_int_equal(usercfg_parse(data, len, &cfg, &e), 0);
	return cfg;
}

/* Splits a TSV line in place into exactly n fields (missing ones ""). */
static void split_tsv(char *line, char **f, int n)
{
	for (int i = 0; i < n; i++) {
		f[i] = line;
		char *tab = strchr(line, '\t');
		if (tab) {
			*tab = '\0';
			line = tab + 1;
		} else {
			line += strlen(line);
		}
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *roles_string(const struct acl_roles *r)
{
	const char **names = xnew(const char *, r->n + 1);
	for (size_t i = 0; i < r->n; i++)
		names[i] = r->v[i].roleid;
	qsort(names, r->n, sizeof(*names), cmp_str);
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < r->n; i++) {
		if (i)
			strbuf_addch(&sb, ',');
		strbuf_addstr(&sb, names[i]);
	}
	free(names);
	return strbuf_detach(&sb, NULL);
}

static void test_permission_cases(void **state)
{
	size_t len;
	_cleanup_free_ char *tsv = slurp("permission-cases.tsv", &len);
	char *save = NULL;
	int rows = 0, failures = 0;
	struct usercfg *cfg = NULL;
	char current[64] = "";
	bool header = true;
	for (char *line = strtok_r(tsv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (header) {
			header = false;
			continue;
		}
		char *f[5];
		split_tsv(line, f, 5);
		if (!streq(current, f[0])) {
			usercfg_free(cfg);
			cfg = load(f[0]);
			snprintf(current, sizeof(current), "%s", f[0]);
		}
		_cleanup_free_ char *got = NULL;
		if (streq(f[1], "roles")) {
			struct acl_roles r = {0};
			access_roles(cfg, f[2], f[3], &r);
			got = roles_string(&r);
			acl_roles_clear(&r);
		} else {
			assert_string_equal(f[1], "permissions");
			struct privset ps;
			access_permissions(cfg, f[2], f[3], &ps);
			got = privset_to_string(&ps);
			/* access_check agrees with the set */
			for (int i = 0; i < PRIV_COUNT; i++)
				assert_int_equal(access_check(cfg, f[2], f[3], priv_name(i)),
				                 privset_has(&ps, i));
		}
		rows++;
		if (!streq(got, f[4])) {
			print_error("%s %s %s '%s': expected '%s', got '%s'\n", f[0], f[1], f[2],
			            f[3], f[4], got);
			failures++;
		}
	}
	usercfg_free(cfg);
	assert_int_equal(rows, 100);
	assert_int_equal(failures, 0);
}

static void test_api_get_permissions(void **state)
{
	struct usercfg *cfg = load("api-get-permissions-test.cfg");
	size_t len;
	_cleanup_free_ char *tsv = slurp("api-get-permissions-cases.tsv", &len);
	char *save = NULL;
	int rows = 0;
	bool header = true;
	for (char *line = strtok_r(tsv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (header) {
			header = false;
			continue;
		}
		char *f[3];
		split_tsv(line, f, 3);
		const char *param = streq(f[1], "(omitted)") ? NULL : f[1];
		json_t *res = NULL;
		struct error *e = NULL;
		int r = access_permissions_query(cfg, f[0], param, NULL, &res, &e);
		if (str_startswith(f[2], "FAIL")) {
			if (r != -EACCES || e->http_status != 403)
				fail_msg("%s querying %s should fail", f[0], f[1]);
			error_free(e);
		} else {
			const char *prefix = "effective permissions of ";
			assert_true(str_startswith(f[2], prefix));
			if (r < 0)
				fail_msg("%s querying %s failed: %s", f[0], f[1], e->msg);
			json_t *want = access_permissions_json(cfg, f[2] + strlen(prefix), NULL);
			if (!json_equal(res, want)) {
				char *a = json_dumps(res, JSON_SORT_KEYS),
				     *b = json_dumps(want, JSON_SORT_KEYS);
				fail_msg("%s querying %s: got %s, want %s", f[0], f[1], a, b);
			}
			json_decref(want);
		}
		json_decref(res);
		rows++;
	}
	assert_true(rows >= 30);

	/* the effective permissions themselves */
	json_t *s = access_permissions_json(cfg, "stranger@pve", NULL);
	char *dump = json_dumps(s, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(dump,
	                    "{\"/vms\":{\"VM.Audit\":1,\"VM.Console\":1,\"VM.PowerMgmt\":1}}");
	free(dump);
	json_decref(s);
	s = access_permissions_json(cfg, "stranger@pve!privsep", NULL);
	dump = json_dumps(s, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(dump, "{\"/vms\":{\"VM.Audit\":1,\"VM.Console\":1}}");
	free(dump);
	json_decref(s);
	s = access_permissions_json(cfg, "auditor@pam", NULL);
	dump = json_dumps(s, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(dump,
	                    "{\"/access\":{\"Sys.Audit\":1},\"/access/groups\":{\"Sys.Audit\":1},"
	                    "\"/vms\":{\"VM.Audit\":1,\"VM.Console\":1}}");
	free(dump);
	json_decref(s);
	/* with a path: that path only, even when empty */
	s = access_permissions_json(cfg, "stranger@pve", "/nodes");
	dump = json_dumps(s, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(dump, "{\"/nodes\":{}}");
	free(dump);
	json_decref(s);
	usercfg_free(cfg);
}

static void test_cap(void **state)
{
	struct usercfg *cfg = load("test1.cfg");
	/* alex: PVEVMAdmin on /vms/300, Administrator on /vms/400, customer on /vms/100,
	 * storage_manager on /storage/nfs1 through testgroup2 */
	json_t *cap = acl_cap_json(cfg, "alex@pve");
	assert_non_null(json_object_get(json_object_get(cap, "vms"), "VM.Allocate"));
	assert_non_null(json_object_get(json_object_get(cap, "vms"), "Permissions.Modify"));
	assert_non_null(json_object_get(json_object_get(cap, "storage"), "Datastore.Audit"));
	assert_null(json_object_get(json_object_get(cap, "storage"), "Permissions.Modify"));
	assert_int_equal(json_object_size(json_object_get(cap, "dc")), 0);
	assert_int_equal(json_object_size(json_object_get(cap, "nodes")), 0);
	assert_int_equal(json_object_size(cap), 7);
	json_decref(cap);

	cap = acl_cap_json(cfg, "root@pam");
	assert_non_null(json_object_get(json_object_get(cap, "dc"), "Sys.Modify"));
	assert_null(json_object_get(json_object_get(cap, "dc"), "Sys.Console"));
	assert_non_null(json_object_get(json_object_get(cap, "dc"), "SDN.Use"));
	assert_non_null(json_object_get(json_object_get(cap, "access"), "Group.Allocate"));
	assert_null(json_object_get(json_object_get(cap, "access"), "Realm.Allocate"));
	assert_non_null(json_object_get(json_object_get(cap, "nodes"), "Sys.PowerMgmt"));
	assert_non_null(json_object_get(json_object_get(cap, "mapping"), "Mapping.Modify"));
	json_decref(cap);
	usercfg_free(cfg);

	/* pool paths feed vms and storage */
	const char *in = "user:u@pve:1:0::::::\npool:p::100:local:\n"
	                 "acl:1:/pool/p:u@pve:PVEAdmin:\n";
	struct error *e = NULL;
	assert_int_equal(usercfg_parse(in, strlen(in), &cfg, &e), 0);
	cap = acl_cap_json(cfg, "u@pve");
	assert_non_null(json_object_get(json_object_get(cap, "vms"), "VM.Console"));
	assert_non_null(json_object_get(json_object_get(cap, "storage"), "Datastore.Allocate"));
	assert_null(json_object_get(json_object_get(cap, "vms"), "Sys.Audit"));
	json_decref(cap);
	usercfg_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_permission_cases),
	    cmocka_unit_test(test_api_get_permissions),
	    cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * GET /cluster/resources shares the storage rows it built between requests
 * (api-storage.c).  A change of storage.cfg and a change of the ACL must show
 * on the very next request, and the rows a user may not see never show.
 * The node's row likewise follows the collector's samples and the ACL, and
 * GET /version shares its one answer (api-core.c).
 */
#include "common.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "api.h"
#include "dispatch-harness.h"
#include "fileio.h"
#include "node-stats.h"
#include "paths.h"
#include "storage.h"
#include "jsonutil.h"
#include "storage-config.h"
#include "strbuf.h"
#include "xalloc.h"

static const char user_cfg[] = "user:root@pam:1:0::::::\n"
                               "user:alice@pve:1:0::::::\n"
                               "acl:1:/storage/sa:alice@pve:PVEAuditor:\n";

#define DIR_TEMPLATE "/tmp/ctvm-resources-XXXXXX"
static char dir[sizeof(DIR_TEMPLATE)];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* A change as root@pam (form body); it must succeed. */
static void change(const char *verb, const char *path, const char *body)
{
	_cleanup_free_ char *raw = xasprintf("%s /api2/json%s HTTP/1.1\r\n"
	                                     "Cookie: PVEAuthCookie={T:root@pam}\r\n"
	                                     "CSRFPreventionToken: {C:root@pam}\r\n"
	                                     "Content-Type: application/x-www-form-urlencoded\r\n"
	                                     "Content-Length: {LEN}\r\n\r\n%s",
	                                     verb, path, body);
	_cleanup_free_ char *req = dispatch_expand(raw);
	_cleanup_free_ char *reason = NULL, *answer = NULL;
	int status = dispatch_run(req, &reason, &answer);
	if (status != 200)
		fail_msg("%s %s %s: %d %s %s", verb, path, body, status, reason, answer);
}

/* GET /cluster/resources?type=type as user: the answer's data (a new
 * reference). */
static json_t *resources(const char *user, const char *type)
{
	_cleanup_free_ char *raw = xasprintf("GET /api2/json/cluster/resources?type=%s "
	                                     "HTTP/1.1\r\nCookie: PVEAuthCookie={T:%s}\r\n\r\n",
	                                     type, user);
	_cleanup_free_ char *req = dispatch_expand(raw);
	_cleanup_free_ char *body = NULL;
	assert_int_equal(dispatch_run(req, NULL, &body), 200);
	_cleanup_json_ json_t *b = json_loads(body, 0, NULL);
	assert_non_null(b);
	return json_incref(json_object_get(b, "data"));
}

/* The storage rows user sees, but the implicit local storage (its figures
 * are the host's): "id content status disk>0;..." in the answer's order. */
static char *storage_rows(const char *user)
{
	_cleanup_json_ json_t *data = resources(user, "storage");
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	json_t *r;
	json_array_foreach (data, i, r) {
		const char *id = json_string_value(json_object_get(r, "storage"));
		if (streq(id, "local"))
			continue;
		strbuf_addf(&sb, "%s %s %s %s;", json_string_value(json_object_get(r, "id")),
		            json_string_value(json_object_get(r, "content")),
		            json_string_value(json_object_get(r, "status")),
		            json_integer_value(json_object_get(r, "maxdisk")) > 0 ? "sized"
		                                                                  : "unsized");
	}
	return strbuf_detach(&sb, NULL);
}

static void expect_rows(const char *user, const char *want)
{
	_cleanup_free_ char *got = storage_rows(user);
	if (!streq(got, want))
		fail_msg("%s sees \"%s\", expected \"%s\"", user, got, want);
}

/* Disabled storages have no figures, so the answers below differ only by
 * the change made (a live storage's "used" moves with the host's /tmp). */
static void test_changes_show_at_once(void **state)
{
	dispatch_set_var("dir", dir);
	change("POST", "/storage", "storage=sa&type=dir&path={V:dir}/a&content=images&disable=1");
	change("POST", "/storage", "storage=sb&type=dir&path={V:dir}/b&content=images");
	/* each twice: the second answer is the one served from the shared rows */
	for (int i = 0; i < 2; i++) {
		expect_rows("root@pam", "storage/testnode/sa images unknown unsized;"
		                        "storage/testnode/sb images available sized;");
		expect_rows("alice@pve", "storage/testnode/sa images unknown unsized;");
	}

	/* a changed section */
	change("PUT", "/storage/sa", "content=iso,images");
	expect_rows("root@pam", "storage/testnode/sa iso,images unknown unsized;"
	                        "storage/testnode/sb images available sized;");
	/* a disabled one: no longer active */
	change("PUT", "/storage/sb", "disable=1");
	expect_rows("root@pam", "storage/testnode/sa iso,images unknown unsized;"
	                        "storage/testnode/sb images unknown unsized;");
	/* a new one, and one removed: the others move up */
	change("POST", "/storage", "storage=sc&type=dir&path={V:dir}/c&content=backup&disable=1");
	change("DELETE", "/storage/sa", "");
	expect_rows("root@pam", "storage/testnode/sb images unknown unsized;"
	                        "storage/testnode/sc backup unknown unsized;");
	change("PUT", "/storage/sc", "disable=0");
	expect_rows("root@pam", "storage/testnode/sb images unknown unsized;"
	                        "storage/testnode/sc backup available sized;");
	/* the ACL: rows appear and go with the user's rights */
	expect_rows("alice@pve", "");
	change("PUT", "/access/acl", "path=/storage/sc&roles=PVEAuditor&users=alice@pve");
	expect_rows("alice@pve", "storage/testnode/sc backup available sized;");
	change("PUT", "/access/acl", "path=/storage/sc&roles=PVEAuditor&users=alice@pve&delete=1");
	expect_rows("alice@pve", "");
}

/* The node's row of /cluster/resources as user sees it (a new reference). */
static json_t *node_row(const char *user)
{
	_cleanup_json_ json_t *data = resources(user, "node");
	assert_int_equal(json_array_size(data), 1);
	return json_incref(json_array_get(data, 0));
}

static json_int_t row_int(json_t *row, const char *key)
{
	return json_integer_value(json_object_get(row, key));
}

/* The node's row is shared between requests (api-nodes.c): its figures
 * follow the collector's samples, and who sees them follows the ACL. */
static void test_node_row(void **state)
{
	struct node_stats *stats = dispatch_context()->stats;
	struct node_stats_summary before, s1, s2;

	/* alice may not audit the node: no figures, until she may */
	_cleanup_json_ json_t *r0 = node_row("alice@pve");
	assert_null(json_object_get(r0, "uptime"));
	change("PUT", "/access/acl", "path=/nodes/testnode&roles=PVEAuditor&users=alice@pve");
	_cleanup_json_ json_t *r1 = node_row("alice@pve");
	assert_non_null(json_object_get(r1, "uptime"));
	change("PUT", "/access/acl",
	       "path=/nodes/testnode&roles=PVEAuditor&users=alice@pve&delete=1");
	_cleanup_json_ json_t *r2 = node_row("alice@pve");
	assert_null(json_object_get(r2, "uptime"));

	/* the next sample (every second here; at most 5 s) shows at once */
	json_decref(node_row("root@pam"));
	node_stats_summary(stats, &before);
	bool seen = false;
	for (int i = 0; i < 50 && !seen; i++) {
		usleep(100 * 1000);
		node_stats_summary(stats, &s1);
		if (s1.uptime == before.uptime && s1.mem == before.mem && s1.disk == before.disk)
			continue;
		_cleanup_json_ json_t *r = node_row("root@pam");
		node_stats_summary(stats, &s2);
		if (s2.uptime != s1.uptime || s2.mem != s1.mem || s2.disk != s1.disk)
			continue; /* sampled meanwhile: try again */
		assert_int_equal(row_int(r, "uptime"), (json_int_t)s1.uptime);
		assert_int_equal(row_int(r, "mem"), (json_int_t)s1.mem);
		assert_int_equal(row_int(r, "disk"), (json_int_t)s1.disk);
		seen = true;
	}
	assert_true(seen);
}

/* GET /version's body is built once and shared: every answer is the same
 * five keys, byte for byte. */
static void test_version_shared(void **state)
{
	_cleanup_free_ char *req = dispatch_expand("GET /api2/json/version HTTP/1.1\r\n"
	                                           "Cookie: PVEAuthCookie={T:alice@pve}\r\n\r\n");
	_cleanup_free_ char *first = NULL;
	assert_int_equal(dispatch_run(req, NULL, &first), 200);
	_cleanup_json_ json_t *b = json_loads(first, 0, NULL);
	json_t *d = json_object_get(b, "data");
	assert_int_equal(json_object_size(d), 5);
	assert_string_equal(json_string_value(json_object_get(d, "version")), CTVM_PVE_VERSION);
	assert_string_equal(json_string_value(json_object_get(d, "ctvm")), CTVM_VERSION);
	assert_string_equal(json_string_value(json_object_get(d, "console")), "xtermjs");
	assert_string_equal(json_string_value(json_object_get(d, "repoid")), "c7c7a5f1");
	const char *release = json_string_value(json_object_get(d, "release"));
	assert_non_null(release);
	assert_true(str_startswith(CTVM_PVE_VERSION, release));
	for (int i = 0; i < 3; i++) {
		_cleanup_free_ char *again = NULL;
		assert_int_equal(dispatch_run(req, NULL, &again), 200);
		assert_string_equal(again, first);
	}
}

static int setup(void **state)
{
	memcpy(dir, DIR_TEMPLATE, sizeof(dir));
	assert_non_null(mkdtemp(dir));
	for (const char *d = "abc"; *d; d++) {
		_cleanup_free_ char *p = xasprintf("%s/%c", dir, *d);
		assert_int_equal(mkdir(p, 0755), 0);
	}
	dispatch_setup(user_cfg, NULL, NULL);
	struct api_context *ctx = dispatch_context();
	ctx->storage = storage_config_store_new(ctx->paths);
	assert_int_equal(mkdir_p(ctx->paths->run, 0700), 0);
	storage_set_lock_dir(ctx->paths->run);
	return 0;
}

static int teardown(void **state)
{
	struct api_context *ctx = dispatch_context();
	ctx->storage = storage_config_store_free(ctx->storage);
	storage_set_lock_dir(NULL);
	dispatch_teardown();
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_changes_show_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_version_shared, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_node_row, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

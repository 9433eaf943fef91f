/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * What clients see of the storage.cfg methods (/storage, /storage/{storage}),
 * pinned in golden files: the schema of each row (GET /schema's "info"
 * entries) and the answer to bad values, key by key (status, reason phrase
 * and the errors map).  The rows are generated from storage-config.c's
 * property table; these files say that generating them changed nothing a
 * client can see.  TEST_REGENERATE_OUTPUT=1 rewrites them: review the diff.
 */
#include "common.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "api-internal.h"
#include "api.h"
#include "dispatch-harness.h"
#include "golden.h"
#include "paths.h"
#include "property.h"
#include "storage-config.h"
#include "strbuf.h"
#include "xalloc.h"

static const char user_cfg[] = "user:root@pam:1:0::::::\n"
                               "user:alice@pve:1:0::::::\n"
                               "acl:1:/:alice@pve:PVEDatastoreAdmin:\n";

static void test_schema(void **state)
{
	static const struct {
		const char *verb, *path;
	} rows[] = {
	    {"GET", "/storage"},
	    {"POST", "/storage"},
	    {"GET", "/storage/{storage}"},
	    {"PUT", "/storage/{storage}"},
	    {"DELETE", "/storage/{storage}"},
	};
	struct strbuf out = STRBUF_INIT;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct api_method *m = api_method_lookup(rows[i].verb, rows[i].path, NULL);
		assert_non_null(m);
		assert_string_equal(m->path, rows[i].path);
		_cleanup_json_ json_t *s = api_method_schema(m);
		_cleanup_free_ char *text = json_dumps(s, JSON_INDENT(1));
		strbuf_addf(&out, "%s %s\n%s\n", rows[i].verb, rows[i].path, text);
	}
	golden_check_text("api/storage-config-schema.json", out.buf);
	strbuf_release(&out);
}

static const struct api_param *find_param(const struct api_method *m, const char *name)
{
	for (const struct api_param *p = m->params; p->name; p++)
		if (streq(p->name, name))
			return p;
	return NULL;
}

/* POST and PUT take every storage.cfg key, as the key's row describes it,
 * and nothing else but their own parameters. */
static void test_rows_are_the_keys(void **state)
{
	static const char *const meta[] = {"storage", "type", "delete", "digest"};
	const struct api_method *rows[] = {api_method_lookup("POST", "/storage", NULL),
	                                   api_method_lookup("PUT", "/storage/x", NULL)};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct api_method *m = rows[i];
		if (!m) {
			fail_msg("no row %zu", i);
			return;
		}
		size_t nkeys = 0, nparams = 0;
		for (const struct conf_prop *k = storage_config_keys(); k->name; k++, nkeys++) {
			const struct api_param *p = find_param(m, k->name);
			if (!p) {
				fail_msg("%s %s lacks key '%s'", m->verb, m->path, k->name);
				return;
			}
			assert_true(p->optional);
			assert_true(streq_ptr(p->format, k->format));
			assert_true(streq_ptr(p->description, k->description));
			assert_int_equal(p->max_length, k->max_length);
			assert_int_equal(!p->enum_values, !k->enum_values);
			for (size_t e = 0; k->enum_values && k->enum_values[e]; e++)
				assert_string_equal(p->enum_values[e], k->enum_values[e]);
			assert_int_equal(p->type == API_TYPE_BOOLEAN, k->type == CONF_TYPE_BOOLEAN);
		}
		for (const struct api_param *p = m->params; p->name; p++, nparams++) {
			bool is_meta = false;
			for (size_t j = 0; j < ARRAY_SIZE(meta); j++)
				is_meta |= streq(p->name, meta[j]);
			if (!is_meta && !conf_props_find(storage_config_keys(), p->name, NULL))
				fail_msg("%s %s: '%s' is no storage.cfg key", m->verb, m->path,
				         p->name);
		}
		assert_int_equal(nparams, nkeys + (i == 0 ? 2 : 3));
	}
}

/* One request: who sends it, and the form body. */
struct bcase {
	const char *verb, *path;
	const char *user; /* authid with a ticket */
	const char *body;
};

#define DIR_PATH "path={V:dir}"

static const struct bcase cases[] = {
    /* a storage to update */
    {"POST", "/storage", "root@pam", "storage=d1&type=dir&" DIR_PATH "/d1&content=images"},
    {"POST", "/storage", "root@pam", "storage=l1&type=lvm&vgname=vg0&disable=1"},
    {"POST", "/storage", "root@pam", "storage=z1&type=zfspool&pool=tank/x&disable=1"},
    /* the meta parameters */
    {"POST", "/storage", "root@pam", "storage=1x&type=dir&" DIR_PATH "/a"},
    {"POST", "/storage", "root@pam", "storage=ok2&type=bogus&" DIR_PATH "/a"},
    {"POST", "/storage", "root@pam", "storage=ok2&type=nfs&" DIR_PATH "/a"},
    {"POST", "/storage", "root@pam", "type=dir&" DIR_PATH "/a"},
    {"POST", "/storage", "root@pam", "storage=ok2&type=dir"},
    {"POST", "/storage", "root@pam", "storage=d1&type=dir&" DIR_PATH "/a"},
    {"POST", "/storage", "root@pam", "storage=ok2&type=dir&" DIR_PATH "/a&foo=1"},
    {"POST", "/storage", "root@pam", "storage=ok2&type=dir&" DIR_PATH "/a&digest=x"},
    /* each key with a value the type check, the format or the config refuses */
    {"POST", "/storage", "root@pam", "storage=ok2&type=dir&path=relative"},
    {"POST", "/storage", "root@pam", "storage=ok2&type=lvm&vgname=-x"},
    {"POST", "/storage", "root@pam", "storage=ok2&type=lvmthin&vgname=vg&thinpool=a/b"},
    {"POST", "/storage", "root@pam", "storage=ok2&type=zfspool&pool=/tank"},
    {"POST", "/storage", "root@pam", "storage=ok2&type=dir&" DIR_PATH "/a&vgname=vg"},
    {"POST", "/storage", "root@pam", "storage=ok2&type=lvm&vgname=vg&base=x&path=/x"},
    {"PUT", "/storage/d1", "root@pam", "content=bogus"},
    {"PUT", "/storage/d1", "root@pam", "content=none,iso"},
    {"PUT", "/storage/l1", "root@pam", "content=iso"},
    {"PUT", "/storage/d1", "root@pam", "nodes=bad_node"},
    {"PUT", "/storage/d1", "root@pam", "nodes=a,-b"},
    {"PUT", "/storage/d1", "root@pam", "disable=yes"},
    {"PUT", "/storage/d1", "root@pam", "shared=2"},
    {"PUT", "/storage/d1", "root@pam", "comment=a%0Ab"},
    {"PUT", "/storage/d1", "root@pam", "bwlimit=x"},
    {"PUT", "/storage/d1", "root@pam", "prune-backups=keep-foo=1"},
    {"PUT", "/storage/d1", "root@pam", "prune-backups=keep-all=1,keep-last=2"},
    {"PUT", "/storage/d1", "root@pam", "prune-backups=keep-last=x"},
    {"PUT", "/storage/d1", "root@pam", "max-protected-backups=-2"},
    {"PUT", "/storage/d1", "root@pam", "max-protected-backups=x"},
    {"PUT", "/storage/d1", "root@pam", "max-protected-backups=3000000000"},
    {"PUT", "/storage/d1", "root@pam", "max-protected-backups=1.5"},
    {"PUT", "/storage/d1", "root@pam", "is_mountpoint=relative"},
    {"PUT", "/storage/d1", "root@pam", "mkdir=true"},
    {"PUT", "/storage/d1", "root@pam", "create-base-path=2"},
    {"PUT", "/storage/d1", "root@pam", "preallocation=some"},
    {"PUT", "/storage/d1", "root@pam", "format=qed"},
    {"PUT", "/storage/d1", "root@pam", "content-dirs=iso"},
    {"PUT", "/storage/d1", "root@pam", "content-dirs=bogus=x"},
    {"PUT", "/storage/d1", "root@pam", "content-dirs=iso=a,backup=a/b"},
    {"PUT", "/storage/d1", "root@pam", "snapshot-as-volume-chain=1"},
    {"PUT", "/storage/d1", "root@pam", "nocow=1"},
    {"PUT", "/storage/l1", "root@pam", "saferemove=x"},
    {"PUT", "/storage/l1", "root@pam", "saferemove-stepsize=3"},
    {"PUT", "/storage/l1", "root@pam", "saferemove-stepsize=12345"},
    {"PUT", "/storage/l1", "root@pam", "tagged_only=x"},
    {"PUT", "/storage/l1", "root@pam", "snapshot-as-volume-chain=yes"},
    {"PUT", "/storage/z1", "root@pam", "blocksize=3k"},
    {"PUT", "/storage/z1", "root@pam", "sparse=x"},
    {"PUT", "/storage/z1", "root@pam", "mountpoint=relative"},
    {"PUT", "/storage/z1", "root@pam", "format=raw"},
    /* fixed keys, deletes, and every error at once */
    {"PUT", "/storage/d1", "root@pam", DIR_PATH "/other"},
    {"PUT", "/storage/d1", "root@pam", "delete=path"},
    {"PUT", "/storage/d1", "root@pam", "delete=bogus"},
    {"PUT", "/storage/d1", "root@pam", "delete=comment&comment=x"},
    {"PUT", "/storage/d1", "root@pam", "delete=bad!id"},
    {"PUT", "/storage/d1", "root@pam", "foo=1&disable=yes&format=qed&max-protected-backups=-5"},
    {"PUT", "/storage/d1", "root@pam", "content=bogus&nodes=bad_node&prune-backups=x"},
    {"PUT", "/storage/nosuch", "root@pam", "comment=x"},
    /* a long value */
    {"PUT", "/storage/d1", "root@pam", "saferemove-stepsize=12345&comment={V:long}"},
    /* root-only keys for someone else, then the same with a bad value */
    {"PUT", "/storage/d1", "alice@pve", "comment=ok&is_mountpoint=1"},
    {"PUT", "/storage/d1", "alice@pve", "is_mountpoint=relative"},
    {"PUT", "/storage/d1", "alice@pve", "delete=mkdir"},
    {"PUT", "/storage/d1", "alice@pve", "format=qed&mkdir=1"},
    {"POST", "/storage", "alice@pve", "storage=a2&type=dir&" DIR_PATH "/a2"},
    {"POST", "/storage", "alice@pve", "storage=a2&type=lvm&vgname=vg&disable=1"},
    {"POST", "/storage", "alice@pve", "storage=a2&type=lvm&vgname=-vg&disable=x"},
    /* and what a good update leaves */
    {"PUT", "/storage/d1", "root@pam",
     "content=iso,images,iso&content-dirs=iso=isos,backup=dumps&nodes=n1,n2"},
    {"GET", "/storage/d1", "root@pam", NULL},
    {"GET", "/storage?type=bogus", "root@pam", NULL},
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* s with every occurrence of from replaced by to (malloc'd). */
static char *replace(const char *s, const char *from, const char *to)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *p; (p = strstr(s, from)); s = p + strlen(from)) {
		strbuf_add(&sb, s, (size_t)(p - s));
		strbuf_addstr(&sb, to);
	}
	strbuf_addstr(&sb, s);
	return strbuf_detach(&sb, NULL);
}

static void test_bad_values(void **state)
{
	struct api_context *ctx = dispatch_context();
	ctx->storage = storage_config_store_new(ctx->paths);
	/* outside the fixture's root: its directories are system directories */
	char dir[] = "/tmp/ctvm-storage-rows-XXXXXX";
	assert_non_null(mkdtemp(dir));
	dispatch_set_var("dir", dir);
	char longv[5000];
	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	dispatch_set_var("long", longv);

	struct strbuf out = STRBUF_INIT;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct bcase *c = &cases[i];
		_cleanup_free_ char *raw = NULL;
		if (c->body)
			raw = xasprintf("%s /api2/json%s HTTP/1.1\r\n"
			                "Cookie: PVEAuthCookie={T:%s}\r\n"
			                "CSRFPreventionToken: {C:%s}\r\n"
			                "Content-Type: application/x-www-form-urlencoded\r\n"
			                "Content-Length: {LEN}\r\n\r\n%s",
			                c->verb, c->path, c->user, c->user, c->body);
		else
			raw = xasprintf("%s /api2/json%s HTTP/1.1\r\n"
			                "Cookie: PVEAuthCookie={T:%s}\r\n\r\n",
			                c->verb, c->path, c->user);
		_cleanup_free_ char *req = dispatch_expand(raw);
		_cleanup_free_ char *reason = NULL, *body = NULL;
		int status = dispatch_run(req, &reason, &body);
		json_error_t je;
		_cleanup_json_ json_t *b = json_loads(body, 0, &je);
		json_t *shown = NULL;
		if (b)
			shown = status == 200 ? json_object_get(b, "data")
			                      : json_object_get(b, "errors");
		if (json_is_object(shown)) /* of a file that names the temporary directory */
			json_object_del(shown, "digest");
		_cleanup_free_ char *js =
		    shown ? json_dumps(shown, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)
		          : NULL;
		_cleanup_free_ char *line =
		    xasprintf("%s %s %s %s\n  -> %d %s %s\n", c->user, c->verb, c->path,
		              c->body ? c->body : "", status, reason, js ? js : "-");
		_cleanup_free_ char *clean = replace(line, dir, "{DIR}");
		_cleanup_free_ char *shorter = replace(clean, longv, "{LONG}");
		strbuf_addstr(&out, shorter);
	}
	golden_check_text("api/storage-config-errors.txt", out.buf);
	strbuf_release(&out);
	ctx->storage = storage_config_store_free(ctx->storage);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
	dispatch_setup(user_cfg, NULL, NULL);
	return 0;
}

static int teardown(void **state)
{
	dispatch_teardown();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_schema),
	    cmocka_unit_test(test_rows_are_the_keys),
	    cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

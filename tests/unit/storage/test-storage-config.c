/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* storage.cfg: Proxmox's files, validation, the implicit local, the store. */
#include "common.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "paths.h"
#include "storage-config.h"
#include "strbuf.h"
#include "xalloc.h"

static char *conformance_file(const char *name)
{
	const char *dir = getenv("CTVM_CONFORMANCE");
	if (!dir)
		dir = "tests/data/conformance";
	return xasprintf("%s/storage/storage-cfg/%s", dir, name);
}

static struct section_config *parse_ok(const char *in, size_t len)
{
	struct section_config *c = NULL;
	struct error *e = NULL;
	if (storage_config_parse(in, len, 0, &c, &e) < 0)
		fail_msg("parse failed: %s", e->msg);
	return c;
}

static char *write_ok(const struct section_config *c)
{
	struct strbuf sb = STRBUF_INIT;
	struct error *e = NULL;
	if (storage_config_write(c, &sb, &e) < 0)
		fail_msg("write failed: %s", e->msg);
	return strbuf_detach(&sb, NULL);
}

static bool has_warning(const struct section_config *c, const char *needle)
{
	for (size_t i = 0; i < c->n_warnings; i++)
		if (strstr(c->warnings[i], needle))
			return true;
	return false;
}

/* Every conformance file parses; writing it and parsing the result gives
 * the same sections and keys, and writing again the same bytes.  Keys that
 * PVE itself drops (maxfiles, gone in 9.0.9) are the only warnings. */
static void test_conformance_round_trip(void **state)
{
	(void)state;
	static const struct {
		const char *file;
		size_t sections, warnings;
	} cases[] = {
	    {"path-to-volid-test.storage.cfg", 1, 0},
	    {"pve-container-snapshot-test.storage.cfg", 1, 1},
	    {"qemu-server-cfg2cmd-env.storage.cfg", 10, 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *path = conformance_file(cases[i].file);
		_cleanup_free_ char *data = NULL;
		size_t len = 0;
		struct error *e = NULL;
		if (read_file(path, 1 << 20, &data, &len, &e) < 0)
			fail_msg("%s: %s", path, e->msg);
		_cleanup_section_config_ struct section_config *c = parse_ok(data, len);
		assert_int_equal(c->n_sections, cases[i].sections);
		assert_int_equal(c->n_warnings, cases[i].warnings);
		_cleanup_free_ char *out = write_ok(c);
		_cleanup_section_config_ struct section_config *c2 = parse_ok(out, strlen(out));
		assert_int_equal(c2->n_warnings, 0);
		assert_int_equal(c2->n_sections, c->n_sections);
		for (size_t k = 0; k < c->n_sections; k++) {
			const struct section *a = c->sections[k], *b = c2->sections[k];
			assert_string_equal(a->id, b->id);
			assert_string_equal(a->type, b->type);
			assert_int_equal(a->n_kv, b->n_kv);
			for (size_t j = 0; j < a->n_kv; j++)
				assert_string_equal(section_get(b, a->kv[j].key),
				                    a->kv[j].value ? a->kv[j].value : "1");
		}
		_cleanup_free_ char *out2 = write_ok(c2);
		assert_string_equal(out, out2);
	}
}

static void test_conformance_details(void **state)
{
	(void)state;
	_cleanup_free_ char *path = conformance_file("qemu-server-cfg2cmd-env.storage.cfg");
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	assert_int_equal(read_file(path, 1 << 20, &data, &len, NULL), 0);
	_cleanup_section_config_ struct section_config *c = parse_ok(data, len);
	_cleanup_free_ char *out = write_ok(c);
	/* PVE's order: required keys, then optional ones sorted */
	assert_non_null(strstr(out, "dir: local\n\tpath /var/lib/vz\n\tcontent images,iso\n"
	                            "\tshared 0\n\n"));
	assert_non_null(strstr(out, "lvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n"
	                            "\tbwlimit restore=1024\n\tcontent images\n\n"));
	/* unknown types are kept (keys sorted) */
	const struct section *rbd = section_config_find(c, "krbd-store");
	assert_non_null(rbd);
	assert_true(rbd->unknown);
	assert_string_equal(section_get(rbd, "krbd"), "1");
	assert_non_null(strstr(out, "cifs: cifs-store\n\tcontent images,iso\n\tpath "));

	json_t *j = storage_section_json(section_config_find(c, "localsnapext"), c->digest);
	assert_int_equal(json_integer_value(json_object_get(j, "shared")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "snapshot-as-volume-chain")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "storage")), "localsnapext");
	assert_string_equal(json_string_value(json_object_get(j, "digest")), c->digest);
	json_decref(j);
	/* content unset: the type's default */
	j = storage_section_json(section_config_find(c, "btrfs-store"), NULL);
	assert_string_equal(json_string_value(json_object_get(j, "content")), "images");
	assert_null(json_object_get(j, "digest"));
	json_decref(j);
}

static void test_parse_lenient(void **state)
{
	(void)state;
	static const char in[] = "dir: ok\n\tpath /x\n\tcontent images,bogus\n\tfoo 1\n"
	                         "\tshared maybe\n\n"
	                         "lvm: vg\n\tvgname vg0\n\tcontent iso\n\tsaferemove\n\n"
	                         "zfspool: zz\n\tpool rpool/data\n\tblocksize 3k\n\tsparse\n\n"
	                         "dir: nopath\n\tcontent iso\n\n"
	                         "dir: 1bad\n\tpath /y\n\n"
	                         "DIR: upper\n\tpath /u\n\tdisable\n";
	_cleanup_section_config_ struct section_config *c = parse_ok(in, strlen(in));
	assert_true(has_warning(c, "storage does not support content type 'bogus'"));
	assert_true(has_warning(c, "unexpected property 'foo'"));
	assert_true(has_warning(c, "'shared'"));
	assert_true(has_warning(c, "storage does not support content type 'iso'"));
	assert_true(has_warning(c, "'blocksize'"));
	assert_true(has_warning(c, "missing value for required option 'path'"));
	assert_true(has_warning(c, "storage ID '1bad' contains illegal characters"));
	assert_int_equal(c->n_sections, 4);
	assert_string_equal(section_config_find(c, "upper")->type, "dir");
	assert_string_equal(section_get(section_config_find(c, "vg"), "saferemove"), "1");
	_cleanup_free_ char *out = write_ok(c);
	assert_string_equal(out, "dir: ok\n\tpath /x\n\n"
	                         "lvm: vg\n\tvgname vg0\n\tsaferemove 1\n\n"
	                         "zfspool: zz\n\tpool rpool/data\n\tsparse 1\n\n"
	                         "dir: upper\n\tdisable\n\tpath /u\n\n");

	struct section_config *strict = NULL;
	struct error *e = NULL;
	assert_int_equal(storage_config_parse(in, strlen(in), SECTION_CONFIG_STRICT, &strict, &e),
	                 -EINVAL);
	assert_null(strict);
	error_free(e);
}

static void test_verify_id(void **state)
{
	(void)state;
	static const char *const good[] = {"local", "a1", "local-lvm", "My.Store_2", "ab"};
	static const char *const bad[] = {"a", "1abc", "abc-", "a b", "", "a/b", "ab:"};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_int_equal(storage_verify_id(good[i], NULL), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct error *e = NULL;
		assert_int_equal(storage_verify_id(bad[i], &e), -EINVAL);
		assert_int_equal(e->http_status, 400);
		assert_non_null(strstr(e->msg, "contains illegal characters"));
		error_free(e);
	}
}

static struct section *new_section(struct section_config *c, const char *type, const char *id)
{
	struct section *s = NULL;
	assert_int_equal(section_config_add(c, type, id, &s, NULL), 0);
	return s;
}

static void expect_param_error(int r, struct error *e, const char *key, const char *needle)
{
	assert_true(r < 0);
	assert_non_null(e);
	assert_int_equal(e->http_status, 400);
	json_t *why = json_object_get(e->params, key);
	if (!why)
		fail_msg("no error for '%s' (%s)", key, e->msg);
	if (!strstr(json_string_value(why), needle))
		fail_msg("'%s': got '%s', want '%s'", key, json_string_value(why), needle);
	error_free(e);
}

static void test_section_set(void **state)
{
	(void)state;
	_cleanup_section_config_ struct section_config *c = section_config_new();
	struct section *d = new_section(c, "dir", "backup1");
	struct error *e = NULL;
	assert_int_equal(storage_section_set(d, "path", "/srv/backup", true, NULL), 0);
	assert_int_equal(storage_section_set(d, "content", "backup,iso,backup", true, NULL), 0);
	assert_string_equal(section_get(d, "content"), "backup,iso");
	assert_int_equal(storage_section_set(d, "shared", "yes", true, NULL), 0);
	assert_string_equal(section_get(d, "shared"), "1");
	assert_int_equal(
	    storage_section_set(d, "prune-backups", "keep-last=3,keep-daily=7", true, NULL), 0);
	assert_int_equal(storage_section_set(d, "nodes", "pve1,node-2", true, NULL), 0);
	assert_int_equal(storage_section_set(d, "is_mountpoint", "yes", true, NULL), 0);
	assert_int_equal(storage_section_set(d, "preallocation", "falloc", true, NULL), 0);
	assert_int_equal(storage_section_set(d, "content", "", false, NULL), 0);
	assert_string_equal(section_get(d, "content"), "none");
	assert_int_equal(storage_section_check_complete(d, NULL), 0);

	int r = storage_section_set(d, "path", "/other", false, &e);
	expect_param_error(r, e, "path", "can't change value of fixed parameter 'path'");
	e = NULL;
	r = storage_section_set(d, "content", "images,bogus", true, &e);
	expect_param_error(r, e, "content", "storage does not support content type 'bogus'");
	e = NULL;
	r = storage_section_set(d, "content", "none,iso", true, &e);
	expect_param_error(r, e, "content", "unable to combine 'none'");
	e = NULL;
	r = storage_section_set(d, "vgname", "vg", true, &e);
	expect_param_error(r, e, "vgname", "unexpected property");
	e = NULL;
	r = storage_section_set(d, "path", "relative", true, &e);
	expect_param_error(r, e, "path", "absolute path");
	e = NULL;
	r = storage_section_set(d, "prune-backups", "keep-all=1,keep-last=2", true, &e);
	expect_param_error(r, e, "prune-backups", "keep-all cannot be set together");
	e = NULL;
	r = storage_section_set(d, "prune-backups", "keep-forever=1", true, &e);
	expect_param_error(r, e, "prune-backups", "invalid key");
	e = NULL;
	r = storage_section_set(d, "nodes", "bad_node", true, &e);
	expect_param_error(r, e, "nodes", "node name");
	e = NULL;
	r = storage_section_set(d, "preallocation", "lots", true, &e);
	expect_param_error(r, e, "preallocation", "enumeration");
	e = NULL;
	r = storage_section_set(d, "format", "vhd", true, &e);
	expect_param_error(r, e, "format", "enumeration");
	e = NULL;
	r = storage_section_delete(d, "path", &e);
	expect_param_error(r, e, "delete", "cannot delete");
	assert_int_equal(storage_section_delete(d, "nodes", NULL), 0);
	assert_false(section_has(d, "nodes"));

	struct section *z = new_section(c, "zfspool", "tank");
	assert_int_equal(storage_section_set(z, "pool", "rpool/data", true, NULL), 0);
	assert_int_equal(storage_section_set(z, "blocksize", "16k", true, NULL), 0);
	assert_int_equal(storage_section_set(z, "sparse", "1", true, NULL), 0);
	e = NULL;
	r = storage_section_set(z, "blocksize", "1000", true, &e);
	expect_param_error(r, e, "blocksize", "power of two");
	e = NULL;
	r = storage_section_set(z, "content", "iso", true, &e);
	expect_param_error(r, e, "content", "'iso'");
	e = NULL;
	r = storage_section_set(z, "pool", "/abs", true, &e);
	expect_param_error(r, e, "pool", "ZFS");

	struct section *t = new_section(c, "lvmthin", "thin");
	assert_int_equal(storage_section_set(t, "vgname", "pve", true, NULL), 0);
	e = NULL;
	r = storage_section_check_complete(t, &e);
	expect_param_error(r, e, "thinpool", "not optional");
	e = NULL;
	r = storage_section_set(t, "shared", "1", true, &e);
	expect_param_error(r, e, "shared", "unexpected property");

	struct section *l = new_section(c, "lvm", "san");
	assert_int_equal(storage_section_set(l, "vgname", "vg_san", true, NULL), 0);
	assert_int_equal(storage_section_set(l, "saferemove", "1", true, NULL), 0);
	assert_int_equal(storage_section_set(l, "tagged_only", "0", true, NULL), 0);
	assert_int_equal(storage_section_set(l, "saferemove-stepsize", "8", true, NULL), 0);
	e = NULL;
	r = storage_section_set(l, "vgname", "other", false, &e);
	expect_param_error(r, e, "vgname", "fixed");
	/* lvm(8)'s grammar: "." and ".." are no VG names */
	e = NULL;
	r = storage_section_set(l, "vgname", "..", true, &e);
	expect_param_error(r, e, "vgname", "valid LVM name");
	e = NULL;
	r = storage_section_set(t, "thinpool", ".", true, &e);
	expect_param_error(r, e, "thinpool", "valid LVM name");

	json_t *j = storage_section_json(d, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "dir");
	assert_int_equal(json_integer_value(json_object_get(j, "shared")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "prune-backups")),
	                    "keep-last=3,keep-daily=7");
	json_decref(j);
	j = storage_section_json(l, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "content")), "images");
	assert_int_equal(json_integer_value(json_object_get(j, "tagged_only")), 0);
	json_decref(j);
}

static char *make_tmpdir(void)
{
	char *d = xstrdup("/tmp/ctvm-storage-XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static void rm_rf(const char *path)
{
	/* test-only cleanup of a tree we made: argv, no shell */
	pid_t pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", "--", path, (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
}

static int add_dir(struct section_config *c, void *arg, struct error **err)
{
	struct section *s = NULL;
	int r = section_config_add(c, "dir", "backup1", &s, err);
	if (r == 0)
		r = storage_section_set(s, "path", arg, true, err);
	if (r == 0)
		r = storage_section_set(s, "content", "backup", true, err);
	return r == 0 ? 7 : r;
}

static int fail_update(struct section_config *c, void *arg, struct error **err)
{
	(void)c;
	(void)arg;
	return error_set(err, -EIO, 500, "no");
}

static void test_store(void **state)
{
	(void)state;
	_cleanup_free_ char *root = make_tmpdir();
	struct ctvm_paths *paths = ctvm_paths_new(root);
	assert_int_equal(ctvm_paths_create(paths), 0);
	struct storage_config_store *st = storage_config_store_new(paths);

	/* no file: only the implicit local, under the state dir */
	_cleanup_section_config_ struct section_config *c = NULL;
	assert_int_equal(storage_config_store_load(st, &c, NULL), 0);
	assert_int_equal(c->n_sections, 1);
	const struct section *local = section_config_find(c, "local");
	_cleanup_free_ char *vz = xasprintf("%s/lib/vz", root);
	assert_string_equal(section_get(local, "path"), vz);
	assert_string_equal(section_get(local, "content"), "iso,vztmpl,backup,images,rootdir");
	char digest[41];
	memcpy(digest, c->digest, sizeof(digest));

	/* update with the right digest */
	assert_int_equal(storage_config_store_update(st, digest, add_dir, "/srv/backup", NULL), 7);
	_cleanup_section_config_ struct section_config *c2 = NULL;
	assert_int_equal(storage_config_store_load(st, &c2, NULL), 0);
	assert_int_equal(c2->n_sections, 2);
	assert_string_not_equal(c2->digest, digest);
	_cleanup_free_ char *data = NULL;
	assert_int_equal(read_file(storage_config_store_path(st), 1 << 20, &data, NULL, NULL), 0);
	_cleanup_free_ char *want = xasprintf("dir: local\n\tpath %s\n\tcontent "
	                                      "iso,vztmpl,backup,images,rootdir\n\n"
	                                      "dir: backup1\n\tpath /srv/backup\n\tcontent "
	                                      "backup\n\n",
	                                      vz);
	assert_string_equal(data, want);

	/* a stale digest is refused and nothing changes */
	struct error *e = NULL;
	assert_int_equal(storage_config_store_update(st, digest, add_dir, "/x", &e), -ESTALE);
	assert_int_equal(e->http_status, 400);
	assert_string_equal(e->msg, "detected modified configuration - file changed by other "
	                            "user? Try again.");
	error_free(e);
	/* a failing callback writes nothing */
	e = NULL;
	assert_int_equal(storage_config_store_update(st, NULL, fail_update, NULL, &e), -EIO);
	error_free(e);
	_cleanup_free_ char *data2 = NULL;
	assert_int_equal(read_file(storage_config_store_path(st), 1 << 20, &data2, NULL, NULL), 0);
	assert_string_equal(data, data2);

	/* an explicit local is kept as it is */
	_cleanup_free_ char *cfg = path_join(paths->etc, "storage.cfg");
	static const char mine[] = "dir: local\n\tpath /elsewhere\n\tcontent iso\n";
	assert_int_equal(write_file_atomic(cfg, mine, strlen(mine), 0644, NULL), 0);
	_cleanup_section_config_ struct section_config *c3 = NULL;
	assert_int_equal(storage_config_store_load(st, &c3, NULL), 0);
	assert_int_equal(c3->n_sections, 1);
	assert_string_equal(section_get(section_config_find(c3, "local"), "path"), "/elsewhere");

	storage_config_store_free(st);
	ctvm_paths_free(paths);
	rm_rf(root);
}

static void test_dir_prepare(void **state)
{
	(void)state;
	_cleanup_free_ char *root = make_tmpdir();
	_cleanup_section_config_ struct section_config *c = section_config_new();
	_cleanup_free_ char *p = xasprintf("%s/a/b", root);
	struct section *s = new_section(c, "dir", "st");
	assert_int_equal(storage_section_set(s, "path", p, true, NULL), 0);
	assert_int_equal(storage_section_set(s, "content", "backup,iso,images", true, NULL), 0);
	assert_int_equal(storage_dir_prepare(s, NULL), 0);
	static const char *const want[] = {"dump", "template/iso", "images"};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		_cleanup_free_ char *d = path_join(p, want[i]);
		struct stat st;
		assert_int_equal(stat(d, &st), 0);
	}
	_cleanup_free_ char *priv = path_join(p, "private");
	assert_int_equal(access(priv, F_OK), -1);

	/* create-base-path 0: the path must exist */
	_cleanup_free_ char *q = xasprintf("%s/missing", root);
	struct section *s2 = new_section(c, "dir", "st2");
	assert_int_equal(storage_section_set(s2, "path", q, true, NULL), 0);
	assert_int_equal(storage_section_set(s2, "create-base-path", "0", true, NULL), 0);
	struct error *e = NULL;
	assert_int_equal(storage_dir_prepare(s2, &e), -ENOENT);
	assert_non_null(strstr(e->msg, "unable to activate storage 'st2' - directory"));
	error_free(e);
	assert_int_equal(access(q, F_OK), -1);

	/* is_mountpoint: a plain directory is not mounted */
	struct section *s3 = new_section(c, "dir", "st3");
	assert_int_equal(storage_section_set(s3, "path", p, true, NULL), 0);
	assert_int_equal(storage_section_set(s3, "is_mountpoint", "yes", true, NULL), 0);
	e = NULL;
	assert_int_equal(storage_dir_prepare(s3, &e), -ENODEV);
	assert_non_null(strstr(e->msg, "is expected to be a mount point"));
	error_free(e);

	/* other types do nothing on the host */
	struct section *z = new_section(c, "zfspool", "z");
	assert_int_equal(storage_section_set(z, "pool", "tank", true, NULL), 0);
	assert_int_equal(storage_dir_prepare(z, NULL), 0);
	rm_rf(root);
}

/* content-dirs: what storage_section_set accepts (and how it is written
 * back) and what it refuses, with the reason. */
static void test_content_dirs_validation(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} good[] = {
	    {"iso=isos", "iso=isos"},
	    {"iso=isos,backup=my/dumps", "backup=my/dumps,iso=isos"},
	    {"backup=a/b/c/", "backup=a/b/c"},
	    {"images=vm;rootdir=ct snippets=s", "images=vm,rootdir=ct,snippets=s"},
	    {"vztmpl=t.x,import=..imp", "import=..imp,vztmpl=t.x"},
	    {"iso=iso", "iso=iso"},
	    /* a common prefix is not a parent */
	    {"iso=images2,vztmpl=template/iso2", "iso=images2,vztmpl=template/iso2"},
	    {"images=a/b,rootdir=a/bc", "images=a/b,rootdir=a/bc"},
	};
	static const struct {
		const char *in, *reason;
	} bad[] = {
	    {"", "empty list"},
	    {",", "empty list"},
	    {"iso", "expected '<content>=<directory>'"},
	    {"iso=", "empty directory for content type 'iso'"},
	    {"bogus=x", "does not support content type 'bogus'"},
	    {"none=x", "does not support content type 'none'"},
	    {"=x", "does not support content type ''"},
	    {"iso=/abs", "must be relative"},
	    {"iso=/", "must be relative"},
	    {"iso=..", "'..' component"},
	    {"iso=a/../b", "'..' component"},
	    {"iso=./a", "'.' or '..' component"},
	    {"iso=a//b", "empty, '.' or '..' component"},
	    {"iso=a/.", "component"},
	    {"iso=a\tb", "control characters"},
	    {"iso=a\x7f", "control characters"},
	    {"iso=a,iso=b", "duplicate override for content type 'iso'"},
	    {"iso=x,vztmpl=x", "directory 'x' is used for content types 'iso' and 'vztmpl'"},
	    {"iso=x/,vztmpl=x", "is used for content types"},
	    /* disjoint from each other and from the defaults of the types not
	     * named: an "iso" upload must not land among a guest's disks */
	    {"iso=images", "directory 'images' is used for content types 'images' and 'iso'"},
	    {"iso=dump", "is used for content types 'iso' and 'backup'"},
	    {"iso=images/iso", "directory 'images/iso' of content type 'iso' lies inside directory "
	                       "'images' of content type 'images'"},
	    {"images=template", "directory 'template/iso' of content type 'iso' lies inside "
	                        "directory 'template' of content type 'images'"},
	    {"iso=a,vztmpl=a/b", "'a/b' of content type 'vztmpl' lies inside directory 'a'"},
	    {"backup=x/y,snippets=x", "lies inside directory 'x' of content type 'snippets'"},
	    {"rootdir=template/cache/ct", "lies inside"},
	};
	_cleanup_section_config_ struct section_config *c = section_config_new();
	struct section *d = new_section(c, "dir", "cd");
	assert_int_equal(storage_section_set(d, "path", "/srv/cd", true, NULL), 0);
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct error *e = NULL;
		if (storage_section_set(d, "content-dirs", good[i].in, false, &e) < 0)
			fail_msg("'%s' refused: %s", good[i].in, e->msg);
		assert_string_equal(section_get(d, "content-dirs"), good[i].out);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct error *e = NULL;
		int r = storage_section_set(d, "content-dirs", bad[i].in, false, &e);
		if (r >= 0)
			fail_msg("'%s' accepted", bad[i].in);
		expect_param_error(r, e, "content-dirs", bad[i].reason);
	}
	/* a long component, and a long path */
	_cleanup_free_ char *longc = xasprintf("iso=%0255d", 0);
	struct error *e = NULL;
	int r = storage_section_set(d, "content-dirs", longc, false, &e);
	expect_param_error(r, e, "content-dirs", "longer than 254 bytes");
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, "iso=");
	for (int i = 0; i < 120; i++)
		strbuf_addstr(&sb, "abcdefgh/");
	e = NULL;
	r = storage_section_set(d, "content-dirs", sb.buf, false, &e);
	strbuf_release(&sb);
	expect_param_error(r, e, "content-dirs", "too long");

	/* not a btrfs option, as in PVE */
	struct section *b = new_section(c, "btrfs", "bt");
	e = NULL;
	r = storage_section_set(b, "content-dirs", "iso=isos", true, &e);
	expect_param_error(r, e, "content-dirs", "unexpected property");

	/* a bad value in storage.cfg is dropped with a warning */
	static const char cfg[] = "dir: xx\n\tpath /srv/x\n\tcontent-dirs iso=/etc\n";
	_cleanup_section_config_ struct section_config *p = parse_ok(cfg, strlen(cfg));
	assert_null(section_get(section_config_find(p, "xx"), "content-dirs"));
	assert_true(p->n_warnings > 0);
}

/* The keys that place a storage on the host are flagged root_only, in every
 * type that has them; the ones that only tune a storage are not. */
static void test_root_only_keys(void **state)
{
	(void)state;
	static const char *const host[] = {"path",   "content-dirs",     "is_mountpoint",
	                                   "mkdir",  "create-base-path", "create-subdirs",
	                                   "vgname", "thinpool",         "base",
	                                   "pool",   "mountpoint"};
	static const char *const tuning[] = {"content",
	                                     "comment",
	                                     "nodes",
	                                     "disable",
	                                     "shared",
	                                     "prune-backups",
	                                     "format",
	                                     "preallocation",
	                                     "bwlimit",
	                                     "saferemove",
	                                     "sparse",
	                                     "blocksize",
	                                     "nocow",
	                                     "tagged_only",
	                                     "max-protected-backups",
	                                     "snapshot-as-volume-chain",
	                                     "bogus",
	                                     ""};
	for (size_t i = 0; i < ARRAY_SIZE(host); i++)
		if (!storage_key_root_only(host[i]))
			fail_msg("'%s' is not root_only", host[i]);
	for (size_t i = 0; i < ARRAY_SIZE(tuning); i++)
		if (storage_key_root_only(tuning[i]))
			fail_msg("'%s' is root_only", tuning[i]);
	assert_false(storage_key_root_only(NULL));
	/* each type's table agrees: a key is root_only everywhere or nowhere */
	const struct section_schema *sc = storage_schema();
	for (size_t t = 0; t < sc->n_types; t++)
		for (size_t k = 0; k < sc->types[t].n_props; k++) {
			const struct section_prop *p = &sc->types[t].props[k];
			if (!!(p->prop->flags & CONF_PROP_ROOT_ONLY) !=
			    storage_key_root_only(p->prop->name))
				fail_msg("%s: '%s' differs", sc->types[t].type, p->prop->name);
		}
}

/* storage_content_dir: the override or the default, below the path. */
static void test_content_dir(void **state)
{
	(void)state;
	_cleanup_section_config_ struct section_config *c = section_config_new();
	struct section *d = new_section(c, "dir", "cd");
	assert_int_equal(storage_section_set(d, "path", "/srv/cd/", true, NULL), 0);
	static const struct {
		const char *vtype, *dflt, *over;
	} rows[] = {
	    {"images", "/srv/cd/images", "/srv/cd/vm"},
	    {"rootdir", "/srv/cd/private", "/srv/cd/private"},
	    {"iso", "/srv/cd/template/iso", "/srv/cd/isos"},
	    {"vztmpl", "/srv/cd/template/cache", "/srv/cd/template/cache"},
	    {"backup", "/srv/cd/dump", "/srv/cd/my/dumps"},
	    {"snippets", "/srv/cd/snippets", "/srv/cd/snippets"},
	    {"import", "/srv/cd/import", "/srv/cd/import"},
	};
	for (int pass = 0; pass < 2; pass++) {
		if (pass)
			assert_int_equal(storage_section_set(d, "content-dirs",
			                                     "iso=isos,backup=my/dumps,images=vm",
			                                     false, NULL),
			                 0);
		for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
			_cleanup_free_ char *dir = storage_content_dir(d, rows[i].vtype, NULL);
			assert_non_null(dir);
			assert_string_equal(dir, pass ? rows[i].over : rows[i].dflt);
		}
	}
	struct error *e = NULL;
	assert_null(storage_content_dir(d, "bogus", &e));
	assert_int_equal(e->http_status, 500);
	error_free(e);
	/* a section built by hand is checked too: its value becomes a path */
	section_set(d, "content-dirs", "iso=../../etc");
	e = NULL;
	assert_null(storage_content_dir(d, "iso", &e));
	assert_non_null(strstr(e->msg, "invalid content-dirs"));
	error_free(e);
	section_unset(d, "path");
	e = NULL;
	assert_null(storage_content_dir(d, "iso", &e));
	error_free(e);
}

/* Activation creates the overridden directories and refuses two content
 * types in one directory. */
static void test_dir_prepare_content_dirs(void **state)
{
	(void)state;
	_cleanup_free_ char *root = make_tmpdir();
	_cleanup_section_config_ struct section_config *c = section_config_new();
	_cleanup_free_ char *p = xasprintf("%s/st", root);
	struct section *s = new_section(c, "dir", "st");
	assert_int_equal(storage_section_set(s, "path", p, true, NULL), 0);
	assert_int_equal(storage_section_set(s, "content", "iso,backup,rootdir", true, NULL), 0);
	assert_int_equal(
	    storage_section_set(s, "content-dirs", "iso=isos,backup=my/dumps", true, NULL), 0);
	assert_int_equal(storage_dir_prepare(s, NULL), 0);
	static const char *const want[] = {"isos", "my/dumps", "private"};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		_cleanup_free_ char *d = path_join(p, want[i]);
		struct stat st;
		assert_int_equal(stat(d, &st), 0);
	}
	static const char *const not [] = {"template/iso", "dump", "images"};
	for (size_t i = 0; i < ARRAY_SIZE(not ); i++) {
		_cleanup_free_ char *d = path_join(p, not [i]);
		assert_int_equal(access(d, F_OK), -1);
	}
	/* rootdir alone still gets the backup directory (PVE) */
	struct section *s2 = new_section(c, "dir", "st2");
	_cleanup_free_ char *p2 = xasprintf("%s/st2", root);
	assert_int_equal(storage_section_set(s2, "path", p2, true, NULL), 0);
	assert_int_equal(storage_section_set(s2, "content", "rootdir", true, NULL), 0);
	assert_int_equal(storage_dir_prepare(s2, NULL), 0);
	_cleanup_free_ char *dump = path_join(p2, "dump");
	assert_int_equal(access(dump, F_OK), 0);

	/* an override onto another content type's default directory: the API
	 * refuses it, and so does activation for a storage.cfg made by hand */
	struct error *e = NULL;
	assert_int_equal(storage_section_set(s, "content-dirs", "iso=dump", false, &e), -EINVAL);
	e = error_free(e);
	section_set(s, "content-dirs", "iso=dump");
	assert_int_equal(storage_dir_prepare(s, &e), -EINVAL);
	assert_non_null(strstr(e->msg, "for multiple content types"));
	error_free(e);
	rm_rf(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conformance_round_trip),
	    cmocka_unit_test(test_conformance_details),
	    cmocka_unit_test(test_parse_lenient),
	    cmocka_unit_test(test_verify_id),
	    cmocka_unit_test(test_section_set),
	    cmocka_unit_test(test_store),
	    cmocka_unit_test(test_dir_prepare),
	    cmocka_unit_test(test_content_dirs_validation),
	    cmocka_unit_test(test_root_only_keys),
	    cmocka_unit_test(test_content_dir),
	    cmocka_unit_test(test_dir_prepare_content_dirs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lxc_tmpl_*: compression detection, the unpack command (golden files),
 * and, as root, real unpacks of a hostile template built by
 * mk-hostile-tar.py, privileged and unprivileged, run as a task so the
 * test reads what the task log says.
 */
#include "common.h"

#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "golden.h"
#include "lxc-setup-internal.h"
#include "lxc-tmpl.h"
#include "paths.h"
#include "task.h"
#include "xalloc.h"

static const struct lxc_idmap default_map = {
    .e = {{'u', 0, 100000, 65536}, {'g', 0, 100000, 65536}},
    .n = 2,
};

/* ---- pure parts ---- */

static void test_detect(void **state)
{
	enum lxc_tmpl_compression c;
	unsigned char tar[512] = {0};
	memcpy(tar + 257, "ustar  ", 8);

	assert_int_equal(lxc_tmpl_detect((const unsigned char *)"\x1f\x8b\x08", 3, &c), 0);
	assert_int_equal(c, LXC_TMPL_GZIP);
	assert_int_equal(lxc_tmpl_detect((const unsigned char *)"\xfd"
	                                                        "7zXZ\0\0",
	                                 7, &c),
	                 0);
	assert_int_equal(c, LXC_TMPL_XZ);
	assert_int_equal(lxc_tmpl_detect((const unsigned char *)"\x28\xb5\x2f\xfd\0", 5, &c), 0);
	assert_int_equal(c, LXC_TMPL_ZSTD);
	assert_int_equal(lxc_tmpl_detect(tar, sizeof(tar), &c), 0);
	assert_int_equal(c, LXC_TMPL_PLAIN);
	/* bzip2 and anything else: refused, whatever the name said */
	assert_int_equal(lxc_tmpl_detect((const unsigned char *)"BZh91AY", 7, &c), -EINVAL);
	assert_int_equal(lxc_tmpl_detect(tar, 200, &c), -EINVAL);
	assert_int_equal(lxc_tmpl_detect(NULL, 0, &c), -EINVAL);
}

static void test_golden(void **state)
{
	struct cmd c;
	struct lxc_idmap custom = {
	    .e = {{'u', 0, 200000, 1000},
	          {'u', 1000, 1000, 1},
	          {'u', 1001, 201001, 64535},
	          {'g', 0, 200000, 65536}},
	    .n = 4,
	};

	lxc_tmpl_build_cmd(&c, LXC_TMPL_GZIP, NULL);
	golden_check_cmd("lxc-tmpl/privileged-gzip.argv", &c);
	lxc_tmpl_build_cmd(&c, LXC_TMPL_PLAIN, &(struct lxc_idmap){.n = 0});
	golden_check_cmd("lxc-tmpl/privileged-plain.argv", &c);
	lxc_tmpl_build_cmd(&c, LXC_TMPL_ZSTD, &default_map);
	golden_check_cmd("lxc-tmpl/unprivileged-zstd.argv", &c);
	lxc_tmpl_build_cmd(&c, LXC_TMPL_XZ, &custom);
	golden_check_cmd("lxc-tmpl/unprivileged-custom-xz.argv", &c);
}

/* ---- real unpacks, as a task ---- */

static int op_unpack(struct task_worker *w, const json_t *args, struct error **err)
{
	bool unpriv = json_is_true(json_object_get(args, "unprivileged"));
	return lxc_tmpl_unpack(json_string_value(json_object_get(args, "archive")),
	                       json_string_value(json_object_get(args, "rootfs")),
	                       unpriv ? &default_map : NULL, w, err);
}

static const struct task_op_arg unpack_args[] = {
    {.name = "archive", .type = TASK_ARG_STRING},
    {.name = "rootfs", .type = TASK_ARG_STRING},
    {.name = "unprivileged", .type = TASK_ARG_BOOLEAN},
    {.name = NULL},
};

static const struct task_op ops[] = {
    {.type = "vzcreate", .args = unpack_args, .run = op_unpack},
    {.type = NULL},
};

struct fixture {
	char dir[64];
	char *rootfs, *outside;
	struct task_ops *reg;
	struct task_manager *tm;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static bool can_unpack(void)
{
	return geteuid() == 0 && access("/usr/bin/lxc-usernsexec", X_OK) == 0;
}

static int setup(void **state)
{
	struct fixture *f = xnew(struct fixture, 1);
	struct error *err = NULL;

	/* 0700 like a real storage's parent may be: the mapped root cannot
	 * traverse it, so tar must start inside the rootfs */
	snprintf(f->dir, sizeof(f->dir), "/tmp/ctvm-test-tmpl-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->rootfs = path_join(f->dir, "rootfs");
	f->outside = path_join(f->dir, "outside");
	if (mkdir(f->rootfs, 0755) < 0 || mkdir(f->outside, 0755) < 0)
		return -1;
	f->reg = task_ops_new();
	if (task_ops_register(f->reg, ops, NULL, &err) < 0)
		return -1;
	_cleanup_free_ char *tasks = path_join(f->dir, "tasks");
	struct task_manager_config cfg = {
	    .node = "testnode", .dir = tasks, .max_workers = 2, .ops = f->reg};
	f->tm = task_manager_new(&cfg, &err);
	if (!f->tm)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	task_manager_free(f->tm);
	task_ops_free(f->reg);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f->rootfs);
	free(f->outside);
	free(f);
	return 0;
}

static char *make_tar(struct fixture *f, const char *comp, const char *kind)
{
	const char *src = getenv("CTVM_SOURCE_ROOT");
	_cleanup_free_ char *script =
	    xasprintf("%s/tests/unit/guest/mk-hostile-tar.py", src ? src : ".");
	char *out = xasprintf("%s/t-%s-%s.tar", f->dir, kind, comp);
	struct cmd c;
	struct error *err = NULL;

	cmd_init(&c, "/usr/bin/python3");
	cmd_add(&c, script);
	cmd_add(&c, out);
	cmd_add(&c, f->outside);
	cmd_add(&c, comp);
	cmd_add(&c, kind);
	if (cmd_run(&c, NULL, &err) < 0)
		fail_msg("%s", err->msg);
	cmd_release(&c);
	return out;
}

/* Runs the unpack as a task; returns its log, *ret_status its exit status. */
static char *unpack(struct fixture *f, const char *archive, bool unpriv, char **ret_status)
{
	json_t *args = json_pack("{s:s,s:s,s:b}", "archive", archive, "rootfs", f->rootfs,
	                         "unprivileged", unpriv);
	char *upid = NULL;
	struct error *err = NULL;
	if (task_start_op(f->tm, "vzcreate", "100", "root@pam", args, &upid, &err) < 0)
		fail_msg("task_start_op: %s", err->msg);
	json_decref(args);
	if (task_wait(f->tm, upid, 60000, &err) < 0)
		fail_msg("task_wait: %s", err->msg);
	json_t *st = NULL;
	assert_int_equal(task_status(f->tm, upid, &st, &err), 0);
	*ret_status = xstrdup(json_string_value(json_object_get(st, "exitstatus")));
	json_decref(st);
	_cleanup_free_ char *path = NULL;
	assert_int_equal(task_log_file(f->tm, upid, &path, &err), 0);
	char *log = NULL;
	if (read_file(path, 1 << 20, &log, NULL, &err) < 0)
		fail_msg("read_file: %s", err->msg);
	free(upid);
	return log;
}

static bool exists(const char *dir, const char *name)
{
	_cleanup_free_ char *p = path_join(dir, name);
	struct stat st;
	return lstat(p, &st) == 0;
}

static void assert_contains(const char *text, const char *what)
{
	if (!strstr(text, what))
		fail_msg("missing '%s' in:\n%s", what, text);
}

/* Nothing outside the rootfs: the symlink target stays empty, no member
 * landed beside the rootfs or at /, the hard links name nothing of the
 * host's; dev/ was never filled. */
static void assert_contained(struct fixture *f)
{
	_cleanup_free_ char *etc = path_join(f->rootfs, "etc");
	struct stat st, host;

	assert_true(exists(etc, "os-release"));
	assert_true(exists(etc, "last")); /* tar went on to the end */
	assert_false(exists(f->outside, "x"));
	assert_false(exists(f->outside, "y"));
	assert_false(exists(f->dir, "escape"));
	assert_false(exists(f->dir, "escape2"));
	assert_false(exists(f->dir, "abs"));
	assert_false(exists("/", "escape"));
	assert_false(exists("/", "abs"));
	_cleanup_free_ char *sl = path_join(f->rootfs, "shadow-link");
	if (lstat(sl, &st) == 0 && stat("/etc/shadow", &host) == 0)
		assert_false(st.st_ino == host.st_ino && st.st_dev == host.st_dev);
	_cleanup_free_ char *dev = path_join(f->rootfs, "dev");
	assert_false(exists(dev, "sda"));
	assert_false(exists(dev, "sdb"));
	/* the symlinks themselves are kept, inside, as they were */
	_cleanup_free_ char *evil = path_join(f->rootfs, "etc/evil");
	assert_int_equal(lstat(evil, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

static void hostile(void **state, const char *comp, bool unpriv)
{
	struct fixture *f = *state;
	if (!can_unpack())
		skip();
	_cleanup_free_ char *tar = make_tar(f, comp, "hostile");
	_cleanup_free_ char *status = NULL;
	_cleanup_free_ char *log = unpack(f, tar, unpriv, &status);

	assert_contained(f);
	/* refused: the first member tar would not write is the reason */
	assert_string_equal(status,
	                    "unable to unpack template: tar: ../escape: Member name contains '..'");
	assert_contains(log, "extracting archive '");
	assert_contains(log, "tar: ./../escape2: Member name contains '..'\n");
	assert_contains(log, "tar: ./etc/evil/x: Cannot open: Not a directory\n");
	assert_contains(log, "tar: ./a/y: Cannot open: Not a directory\n");
	assert_contains(log, "tar: Removing leading `/' from hard link targets\n");
	assert_contains(log, "Total bytes read: ");
	assert_contains(log, "TASK ERROR: unable to unpack template: tar: ../escape:");

	_cleanup_free_ char *foo = path_join(f->rootfs, "foo");
	_cleanup_free_ char *etc = path_join(f->rootfs, "etc/os-release");
	struct stat st;
	assert_int_equal(stat(etc, &st), 0);
	if (unpriv) {
		assert_false(exists(foo, "sda"));
		assert_contains(log, "WARN: skipped device node: tar: ./foo/sda: Cannot mknod: "
		                     "Operation not permitted\n");
		assert_int_equal(st.st_uid, 100000);
		assert_int_equal(st.st_gid, 100000);
		assert_int_equal(stat(f->rootfs, &st), 0);
		assert_int_equal(st.st_uid, 100000);
		assert_int_equal(st.st_gid, 100000);
	} else {
		assert_true(exists(foo, "sda"));
		assert_int_equal(st.st_uid, 0);
	}
}

static void test_hostile_privileged(void **state)
{
	hostile(state, "plain", false);
}

static void test_hostile_unprivileged(void **state)
{
	hostile(state, "gz", true);
}

static void test_hostile_unprivileged_zst(void **state)
{
	hostile(state, "zst", true);
}

/* A harmless template with device nodes: unprivileged skips them with a
 * warning and succeeds; privileged keeps the one outside dev/. */
static void devices(void **state, const char *comp, bool unpriv)
{
	struct fixture *f = *state;
	if (!can_unpack())
		skip();
	_cleanup_free_ char *tar = make_tar(f, comp, "devices");
	_cleanup_free_ char *status = NULL;
	_cleanup_free_ char *log = unpack(f, tar, unpriv, &status);
	_cleanup_free_ char *foo = path_join(f->rootfs, "foo");
	_cleanup_free_ char *dev = path_join(f->rootfs, "dev");

	assert_false(exists(dev, "sda"));
	assert_false(exists(dev, "sdb"));
	if (unpriv) {
		assert_string_equal(status, "WARNINGS: 1");
		assert_false(exists(foo, "sda"));
		assert_contains(log, "WARN: skipped device node: tar: ./foo/sda: Cannot mknod: "
		                     "Operation not permitted\n");
	} else {
		assert_string_equal(status, "OK");
		assert_true(exists(foo, "sda"));
	}
	/* what tar only warned about is logged and does not fail the unpack */
	assert_contains(log, "tar: ./etc/future: time stamp 2100-01-01 00:00:00 is ");
}

static void test_devices_unprivileged(void **state)
{
	devices(state, "xz", true);
}

static void test_devices_privileged(void **state)
{
	devices(state, "zst", false);
}

static void test_not_a_tar(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *p = path_join(f->dir, "x.tar.gz");
	struct error *err = NULL;
	assert_int_equal(write_file_atomic(p, "hello", 5, 0644, &err), 0);
	assert_int_equal(lxc_tmpl_unpack(p, f->rootfs, NULL, NULL, &err), -EINVAL);
	_cleanup_free_ char *want =
	    xasprintf("template '%s' is not a tar archive (plain, gzip, xz or zstd)", p);
	assert_string_equal(err->msg, want);
	error_free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_detect),
	    cmocka_unit_test(test_golden),
	    cmocka_unit_test_setup_teardown(test_not_a_tar, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_privileged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_unprivileged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_unprivileged_zst, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_devices_unprivileged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_devices_privileged, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

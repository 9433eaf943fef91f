/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The daemon's task operations: the storage and guest tables register side
 * by side exactly once (a second registration is the startup error ctvmd
 * dies of), their argument objects are checked, and the storage bodies run
 * from plain data in a forked worker on a dir storage in a temporary root.
 * Needs no root.
 */
#include "common.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "guest-ops.h"
#include "paths.h"
#include "storage-config.h"
#include "storage-ops.h"
#include "storage.h"
#include "task.h"
#include "xalloc.h"

static const char *const all_types[] = {
    "imgdel",  "imgsnapshot",  "imgdelsnapshot", "imgrollback",
    "imgcopy", "prunebackups", "startall",       "stopall",
};

static struct task_ops *daemon_registry(struct storage_task_env *env)
{
	struct error *err = NULL;
	struct task_ops *reg = task_ops_new();
	assert_int_equal(storage_task_ops_register(reg, env, &err), 0);
	assert_int_equal(guest_task_ops_register(reg, &err), 0);
	return reg;
}

static void test_registered_once(void **state)
{
	struct storage_task_env env = {.node = "testnode"};
	struct task_ops *reg = daemon_registry(&env);
	for (size_t i = 0; i < ARRAY_SIZE(all_types); i++) {
		void *e = (void *)1;
		assert_non_null(task_ops_find(reg, all_types[i], &e));
		/* the storage ops get the storage environment, the guest ops none */
		assert_ptr_equal(e, i < 6 ? (void *)&env : NULL);
	}
	struct error *err = NULL;
	assert_int_equal(storage_task_ops_register(reg, &env, &err), -EEXIST);
	assert_string_equal(err->msg, "task type 'imgdel' registered twice");
	err = error_free(err);
	assert_int_equal(guest_task_ops_register(reg, &err), -EEXIST);
	assert_string_equal(err->msg, "task type 'startall' registered twice");
	err = error_free(err);
	task_ops_free(reg);
}

static void check(const struct task_ops *reg, const char *type, const char *args_text, int want)
{
	const struct task_op *op = task_ops_find(reg, type, NULL);
	assert_non_null(op);
	json_t *args = json_loads(args_text, 0, NULL);
	assert_non_null(args);
	struct error *err = NULL;
	int r = task_op_check_args(op, args, &err);
	if (r != want)
		fail_msg("%s %s: %d (%s)", type, args_text, r, err ? err->msg : "no error");
	json_decref(args);
	error_free(err);
}

static void test_arguments(void **state)
{
	struct storage_task_env env = {.node = "testnode"};
	struct task_ops *reg = daemon_registry(&env);
	check(reg, "imgdel", "{\"storage\":\"local\",\"volume\":\"100/vm-100-disk-0.raw\"}", 0);
	check(reg, "imgdel", "{\"storage\":\"local\"}", -EINVAL);
	check(reg, "imgdel", "{\"storage\":\"a/b\",\"volume\":\"x\"}", -EINVAL);
	check(reg, "imgsnapshot", "{\"storage\":\"local\",\"volume\":\"v\",\"snapname\":\"s1\"}",
	      0);
	check(reg, "imgrollback", "{\"storage\":\"local\",\"volume\":\"v\",\"snapname\":\"1s\"}",
	      -EINVAL);
	check(reg, "imgcopy",
	      "{\"storage\":\"local\",\"volume\":\"v\",\"target-storage\":\"other\",\"vmid\":101}",
	      0);
	check(reg, "imgcopy",
	      "{\"storage\":\"local\",\"volume\":\"v\",\"target-storage\":\"../x\",\"vmid\":101}",
	      -EINVAL);
	check(reg, "imgcopy",
	      "{\"storage\":\"local\",\"volume\":\"v\",\"target-storage\":\"other\",\"vmid\":0}",
	      -EINVAL);
	check(reg, "prunebackups", "{\"storage\":\"local\"}", 0);
	check(reg, "prunebackups",
	      "{\"storage\":\"local\",\"vmid\":100,\"type\":\"qemu\",\"prune-backups\":"
	      "\"keep-last=2\"}",
	      0);
	check(reg, "prunebackups", "{\"storage\":\"local\",\"type\":\"openvz\"}", -EINVAL);
	check(reg, "prunebackups", "{\"storage\":\"local\",\"prune-backups\":\"keep-last=x\"}",
	      -EINVAL);
	check(reg, "startall", "{}", 0);
	check(reg, "stopall", "{\"vms\":\"100,101\"}", 0);
	check(reg, "stopall", "{\"vms\":100}", -EINVAL);
	task_ops_free(reg);
}

/* ---- the bodies, in forked workers ---- */

struct fixture {
	char dir[64];
	char *store;
	struct ctvm_paths *paths;
	struct storage_config_store *cfg;
	struct storage_task_env env;
	struct task_ops *reg;
	struct task_manager *tm;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void put(const char *path, const char *text)
{
	_cleanup_free_ char *dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(mkdir_p(dir, 0755), 0);
	assert_int_equal(write_file_atomic(path, text, strlen(text), 0644, NULL), 0);
}

static int setup(void **state)
{
	struct fixture *f = xnew(struct fixture, 1);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ctvm-test-sops-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->paths = ctvm_paths_new(f->dir);
	assert_int_equal(ctvm_paths_create(f->paths), 0);
	storage_set_lock_dir(f->paths->run);
	f->store = path_join(f->dir, "store");
	_cleanup_free_ char *cfgpath = path_join(f->paths->etc, "storage.cfg");
	_cleanup_free_ char *cfg = xasprintf("dir: store1\n\tpath %s\n\tcontent images,backup\n"
	                                     "\tprune-backups keep-last=1\n",
	                                     f->store);
	put(cfgpath, cfg);
	f->cfg = storage_config_store_new(f->paths);
	f->env = (struct storage_task_env){.node = "testnode", .store = f->cfg};
	f->reg = daemon_registry(&f->env);
	struct task_manager_config tc = {.node = "testnode", .dir = f->paths->tasks, .ops = f->reg};
	struct error *err = NULL;
	f->tm = task_manager_new(&tc, &err);
	assert_non_null(f->tm);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	task_manager_free(f->tm);
	task_ops_free(f->reg);
	storage_config_store_free(f->cfg);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	ctvm_paths_free(f->paths);
	free(f->store);
	free(f);
	return 0;
}

/* Runs the op to its end; returns its log. */
static char *run(struct fixture *f, const char *type, const char *id, json_t *args)
{
	char *upid = NULL, *path = NULL, *log = NULL;
	struct error *err = NULL;
	if (task_start_op(f->tm, type, id, "root@pam", args, &upid, &err) < 0)
		fail_msg("task_start_op: %s", err->msg);
	json_decref(args);
	assert_int_equal(task_wait(f->tm, upid, 20000, &err), 0);
	assert_int_equal(task_log_file(f->tm, upid, &path, &err), 0);
	assert_int_equal(read_file(path, 1 << 20, &log, NULL, &err), 0);
	free(upid);
	free(path);
	return log;
}

static void test_imgdel(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *vol = path_join(f->store, "images/100/vm-100-disk-0.raw");
	put(vol, "data");
	_cleanup_free_ char *log =
	    run(f, "imgdel", "store1",
	        json_pack("{s:s, s:s}", "storage", "store1", "volume", "100/vm-100-disk-0.raw"));
	assert_string_equal(log, "removing volume 'store1:100/vm-100-disk-0.raw'\n"
	                         "removed volume '100/vm-100-disk-0.raw'\nTASK OK\n");
	assert_int_equal(access(vol, F_OK), -1);

	/* the worker finds the storage from its id in storage.cfg as it is */
	_cleanup_free_ char *log2 =
	    run(f, "imgdel", "nosuch",
	        json_pack("{s:s, s:s}", "storage", "nosuch", "volume", "100/vm-100-disk-0.raw"));
	assert_string_equal(log2, "TASK ERROR: storage 'nosuch' does not exist\n");
}

static void test_prunebackups(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = {
	    "vzdump-qemu-100-2026_01_01-00_00_00.vma.zst",
	    "vzdump-qemu-100-2026_01_02-00_00_00.vma.zst",
	    "vzdump-qemu-100-2026_01_03-00_00_00.vma.zst",
	    "vzdump-qemu-101-2026_01_01-00_00_00.vma.zst",
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		_cleanup_free_ char *p = xasprintf("%s/dump/%s", f->store, names[i]);
		put(p, "x");
	}
	/* the storage's own keep-last=1, for guest 100 only */
	_cleanup_free_ char *log =
	    run(f, "prunebackups", "100@store1",
	        json_pack("{s:s, s:i, s:s}", "storage", "store1", "vmid", 100, "type", "qemu"));
	assert_non_null(strstr(log, "removing backup 'store1:backup/"
	                            "vzdump-qemu-100-2026_01_01-00_00_00.vma.zst'\n"));
	assert_non_null(strstr(log, "removing backup 'store1:backup/"
	                            "vzdump-qemu-100-2026_01_02-00_00_00.vma.zst'\n"));
	size_t len = strlen(log);
	assert_true(len > 8 && streq(log + len - 8, "TASK OK\n"));
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		_cleanup_free_ char *p = xasprintf("%s/dump/%s", f->store, names[i]);
		assert_int_equal(access(p, F_OK) == 0, i >= 2);
	}
	/* options of the call instead of the storage's: keep-all */
	_cleanup_free_ char *log2 =
	    run(f, "prunebackups", "store1",
	        json_pack("{s:s, s:s}", "storage", "store1", "prune-backups", "keep-all=1"));
	assert_string_equal(log2, "TASK OK\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registered_once),
	    cmocka_unit_test(test_arguments),
	    cmocka_unit_test_setup_teardown(test_imgdel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prunebackups, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

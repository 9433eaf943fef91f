/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The daemon's task operations: the storage and guest tables register side
 * by side exactly once (a second registration is the startup error ctvmd
 * dies of), their argument objects are checked, and the storage bodies run
 * from plain data in a forked worker on a dir storage in a temporary root.
 * Needs no root.
 */
#include "common.h"

#include <dirent.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "guest-ops.h"
#include "guest.h"
#include "paths.h"
#include "storage-config.h"
#include "storage-import.h"
#include "storage-ops.h"
#include "storage.h"
#include "task.h"
#include "xalloc.h"

/* the storage layer's first */
static const char *const all_types[] = {
    "imgdel",        "imgsnapshot", "imgdelsnapshot", "imgrollback", "imgcopy",    "download",
    "prunebackups",  "lvmcreate",   "lvmthincreate",  "zfscreate",   "dircreate",  "startall",
    "stopall",       "qmstart",     "qmstop",         "qmshutdown",  "qmreboot",   "qmreset",
    "qmsuspend",     "qmresume",    "qmdestroy",      "qmcreate",    "qmconfig",   "qmsnapshot",
    "qmdelsnapshot", "qmrollback",  "resize",         "qmmove",      "qmtemplate", "qmclone",
};

/* the containers' (Proxmox's UPID types of pve-container), generated from
 * the same rows as the VMs' */
static const char *const lxc_types[] = {
    "vzstart",    "vzstop",     "vzshutdown", "vzreboot",    "vzsuspend",
    "vzresume",   "vzdestroy",  "vzcreate",   "vzsnapshot",  "vzdelsnapshot",
    "vzrollback", "vztemplate", "vzclone",    "move_volume",
};
/* what a container has not */
static const char *const not_lxc_types[] = {"vzreset", "vzconfig", "vzmove"};
#define N_STORAGE_TYPES 11

static struct task_ops *daemon_registry(struct storage_task_env *env)
{
	struct error *err = NULL;
	struct task_ops *reg = task_ops_new();
	assert_int_equal(storage_task_ops_register(reg, env, &err), 0);
	assert_int_equal(guest_task_ops_register(reg, NULL, &err), 0);
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
		assert_ptr_equal(e, i < N_STORAGE_TYPES ? (void *)&env : NULL);
	}
	if (guest_kind_find("lxc")) {
		for (size_t i = 0; i < ARRAY_SIZE(lxc_types); i++) {
			void *e = (void *)1;
			assert_non_null(task_ops_find(reg, lxc_types[i], &e));
			assert_null(e);
		}
		for (size_t i = 0; i < ARRAY_SIZE(not_lxc_types); i++)
			assert_null(task_ops_find(reg, not_lxc_types[i], NULL));
	}
	struct error *err = NULL;
	assert_int_equal(storage_task_ops_register(reg, &env, &err), -EEXIST);
	assert_string_equal(err->msg, "task type 'imgdel' registered twice");
	err = error_free(err);
	assert_int_equal(guest_task_ops_register(reg, NULL, &err), -EEXIST);
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
	/* imgcopy's second kind: an uploaded file */
	check(reg, "imgcopy",
	      "{\"storage\":\"local\",\"content\":\"iso\",\"filename\":\"a.iso\","
	      "\"tmp\":\".imgcopy-Ab12Cd.tmp\",\"checksum\":\"00ff\",\"checksum-algorithm\":"
	      "\"sha256\"}",
	      0);
	static const char *const bad_uploads[] = {
	    /* kinds mixed */
	    "\"content\":\"iso\",\"filename\":\"a.iso\",\"tmp\":\".imgcopy-Ab12Cd.tmp\","
	    "\"volume\":\"v\"",
	    "\"content\":\"iso\",\"filename\":\"a.iso\",\"volume\":\"v\","
	    "\"target-storage\":\"other\",\"vmid\":101",
	    /* incomplete */
	    "\"content\":\"iso\",\"tmp\":\".imgcopy-Ab12Cd.tmp\"",
	    /* names that would leave the storage's directories */
	    "\"content\":\"iso\",\"filename\":\"../a.iso\",\"tmp\":\".imgcopy-Ab12Cd.tmp\"",
	    "\"content\":\"iso\",\"filename\":\"a.iso\",\"tmp\":\"../../etc/passwd\"",
	    "\"content\":\"iso\",\"filename\":\"a.iso\",\"tmp\":\".imgcopy-Ab/2Cd.tmp\"",
	    "\"content\":\"iso\",\"filename\":\"a.iso\",\"tmp\":\".download-Ab12Cd.tmp\"",
	    /* what the API refuses too */
	    "\"content\":\"images\",\"filename\":\"a.raw\",\"tmp\":\".imgcopy-Ab12Cd.tmp\"",
	    "\"content\":\"iso\",\"filename\":\"a.exe\",\"tmp\":\".imgcopy-Ab12Cd.tmp\"",
	    "\"content\":\"iso\",\"filename\":\"a.iso\",\"tmp\":\".imgcopy-Ab12Cd.tmp\","
	    "\"checksum\":\"00\"",
	    "\"content\":\"iso\",\"filename\":\"a.iso\",\"tmp\":\".imgcopy-Ab12Cd.tmp\","
	    "\"checksum\":\"xy\",\"checksum-algorithm\":\"sha1\"",
	    "\"content\":\"iso\",\"filename\":\"a.iso\",\"tmp\":\".imgcopy-Ab12Cd.tmp\","
	    "\"checksum\":\"00\",\"checksum-algorithm\":\"crc32\"",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad_uploads); i++) {
		_cleanup_free_ char *text = xasprintf("{\"storage\":\"local\",%s}", bad_uploads[i]);
		check(reg, "imgcopy", text, -EINVAL);
	}
	static const char *const dl =
	    "\"storage\":\"local\",\"content\":\"iso\",\"filename\":\"a.iso\","
	    "\"tmp\":\".download-Ab12Cd.tmp\"";
	static const struct {
		const char *rest;
		int want;
	} downloads[] = {
	    {"\"url\":\"https://u:pw@example.com/a.iso\"", 0},
	    {"\"url\":\"http://example.com/a.iso\",\"verify-certificates\":false,"
	     "\"api-port\":8006",
	     0},
	    {"\"url\":\"file:///etc/shadow\"", -EINVAL},
	    {"\"url\":\"http://example.com/a b.iso\"", -EINVAL},
	    {"\"url\":\"http://example.com/a.iso\",\"api-port\":70000", -EINVAL},
	    {"\"url\":\"http://example.com/a.iso\",\"verify-certificates\":\"no\"", -EINVAL},
	    {"\"urls\":\"http://example.com/a.iso\"", -EINVAL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(downloads); i++) {
		_cleanup_free_ char *text = xasprintf("{%s,%s}", dl, downloads[i].rest);
		check(reg, "download", text, downloads[i].want);
	}
	/* a download's temporary file is not an upload's */
	check(reg, "download",
	      "{\"storage\":\"local\",\"content\":\"iso\",\"filename\":\"a.iso\","
	      "\"tmp\":\".imgcopy-Ab12Cd.tmp\",\"url\":\"http://example.com/a.iso\"}",
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
	_cleanup_free_ char *cfg = xasprintf("dir: store1\n\tpath %s\n\tcontent images,backup,iso\n"
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

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Temporary files of an import left in the storage: none, ever. */
static void assert_no_tmp(struct fixture *f)
{
	static const char *const dirs[] = {"", "/template/iso"};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *d = xasprintf("%s%s", f->store, dirs[i]);
		DIR *dh = opendir(d);
		for (struct dirent *e; dh && (e = readdir(dh));)
			if (e->d_name[0] == '.' && !streq(e->d_name, ".") &&
			    !streq(e->d_name, ".."))
				fail_msg("left over: %s/%s", d, e->d_name);
		if (dh)
			closedir(dh);
	}
}

/* Before the task: the storage, the file name, the temporary file it owns. */
static void test_import_prepare(void **state)
{
	struct fixture *f = *state;
	struct storage_import_target t = {0};
	struct error *err = NULL;

	assert_int_equal(storage_import_target_get(f->cfg, "testnode", "nosuch", "iso", &t, &err),
	                 -ENOENT);
	assert_string_equal(err->msg, "storage 'nosuch' does not exist");
	err = error_free(err);
	assert_int_equal(
	    storage_import_target_get(f->cfg, "testnode", "store1", "vztmpl", &t, &err), -EINVAL);
	assert_string_equal(err->msg, "storage 'store1' does not support content-type 'vztmpl'");
	err = error_free(err);
	assert_int_equal(storage_import_target_get(f->cfg, "testnode", "store1", "iso", &t, &err),
	                 0);
	assert_string_equal(t.path, f->store);
	_cleanup_free_ char *isodir = path_join(f->store, "template/iso");
	assert_string_equal(t.content_dir, isodir);

	assert_int_equal(storage_import_check_name("iso", "../a.iso", &err), -EINVAL);
	assert_int_equal(err->http_status, 400);
	assert_string_equal(err->msg, "invalid file name '../a.iso'");
	err = error_free(err);
	assert_int_equal(storage_import_check_name("vztmpl", "a.iso", &err), -EINVAL);
	assert_string_equal(err->msg, "wrong file extension for content type 'vztmpl'");
	err = error_free(err);
	assert_int_equal(storage_import_check_name("import", "disk.QCOW2", NULL), 0);

	/* an upload the http layer streamed into the storage's path */
	_cleanup_free_ char *upload = path_join(f->store, ".upload-Xy12Zw.tmp");
	put(upload, "data");
	_cleanup_free_ char *tmp = NULL;
	assert_int_equal(storage_import_take_upload(&t, "a.iso", upload, &tmp, &err), 0);
	assert_false(exists(upload));
	assert_true(str_startswith(tmp, ".imgcopy-"));
	_cleanup_free_ char *tmppath = path_join(f->store, tmp);
	assert_true(exists(tmppath));
	storage_import_discard(&t, tmp);
	assert_false(exists(tmppath));

	/* a download's goes into the content directory, made for it */
	_cleanup_free_ char *dtmp = NULL;
	assert_false(exists(isodir));
	assert_int_equal(storage_import_new_download(&t, "a.iso", &dtmp, &err), 0);
	assert_true(str_startswith(dtmp, ".download-"));
	_cleanup_free_ char *dpath = path_join(isodir, dtmp);
	assert_true(exists(dpath));
	/* discard takes names of the import grammar only */
	storage_import_discard(&t, "../store/x");
	storage_import_discard(&t, dtmp);
	assert_false(exists(dpath));

	/* an existing file is never replaced */
	_cleanup_free_ char *iso = path_join(isodir, "a.iso");
	put(iso, "there");
	free(dtmp);
	dtmp = NULL;
	assert_int_equal(storage_import_new_download(&t, "a.iso", &dtmp, &err), -EEXIST);
	_cleanup_free_ char *want = xasprintf("refusing to override existing file '%s'", iso);
	assert_string_equal(err->msg, want);
	err = error_free(err);
	put(upload, "data");
	assert_int_equal(storage_import_take_upload(&t, "a.iso", upload, &tmp, &err), -EEXIST);
	err = error_free(err);
	unlink(upload);
	assert_no_tmp(f);
	storage_import_target_clear(&t);
}

/* A temporary file as storage_import_take_upload() leaves it. */
static char *upload_tmp(struct fixture *f, const char *text)
{
	static int n;
	char *name = xasprintf(".imgcopy-Test%02d.tmp", n++);
	_cleanup_free_ char *path = path_join(f->store, name);
	put(path, text);
	return name;
}

static void test_imgcopy_upload(void **state)
{
	struct fixture *f = *state;
	static const char sha256_hello[] =
	    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
	_cleanup_free_ char *iso = path_join(f->store, "template/iso/a.iso");
	_cleanup_free_ char *tmp = upload_tmp(f, "hello");
	_cleanup_free_ char *log =
	    run(f, "imgcopy", "",
	        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "storage", "store1", "content", "iso",
	                  "filename", "a.iso", "tmp", tmp, "checksum", sha256_hello,
	                  "checksum-algorithm", "sha256"));
	_cleanup_free_ char *want = xasprintf("moving uploaded file into place\n"
	                                      "calculating sha256 checksum\nchecksum verified\n"
	                                      "target file: %s\nTASK OK\n",
	                                      iso);
	assert_string_equal(log, want);
	char *data = NULL;
	assert_int_equal(read_file(iso, 100, &data, NULL, NULL), 0);
	assert_string_equal(data, "hello");
	free(data);
	assert_no_tmp(f);

	/* a wrong checksum, then an existing file: refused, nothing left */
	_cleanup_free_ char *tmp2 = upload_tmp(f, "hello");
	_cleanup_free_ char *log2 =
	    run(f, "imgcopy", "",
	        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "storage", "store1", "content", "iso",
	                  "filename", "b.iso", "tmp", tmp2, "checksum", "00", "checksum-algorithm",
	                  "md5"));
	assert_non_null(strstr(log2, "TASK ERROR: checksum mismatch: got "));
	_cleanup_free_ char *b = path_join(f->store, "template/iso/b.iso");
	assert_false(exists(b));
	_cleanup_free_ char *tmp3 = upload_tmp(f, "other");
	_cleanup_free_ char *log3 =
	    run(f, "imgcopy", "",
	        json_pack("{s:s, s:s, s:s, s:s}", "storage", "store1", "content", "iso", "filename",
	                  "a.iso", "tmp", tmp3));
	_cleanup_free_ char *want3 = xasprintf("moving uploaded file into place\n"
	                                       "TASK ERROR: refusing to override existing file "
	                                       "'%s'\n",
	                                       iso);
	assert_string_equal(log3, want3);
	assert_no_tmp(f);
}

/* A failed download (nothing listens on port 1 of loopback) leaves nothing,
 * and its log shows the URL without its credentials. */
static void test_download_fails(void **state)
{
	struct fixture *f = *state;
	struct storage_import_target t = {0};
	_cleanup_free_ char *tmp = NULL;
	assert_int_equal(storage_import_target_get(f->cfg, "testnode", "store1", "iso", &t, NULL),
	                 0);
	assert_int_equal(storage_import_new_download(&t, "d.iso", &tmp, NULL), 0);
	storage_import_target_clear(&t);
	_cleanup_free_ char *log =
	    run(f, "download", "",
	        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "storage", "store1", "content", "iso",
	                  "filename", "d.iso", "tmp", tmp, "url",
	                  "http://user:s3cret@127.0.0.1:1/d.iso", "api-port", (json_int_t)8006));
	_cleanup_free_ char *want =
	    xasprintf("downloading http://127.0.0.1:1/d.iso to %s/template/iso/d.iso\n", f->store);
	assert_true(str_startswith(log, want));
	assert_non_null(strstr(log, "TASK ERROR: download failed: "));
	assert_null(strstr(log, "s3cret"));
	assert_null(strstr(log, "user"));
	assert_no_tmp(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registered_once),
	    cmocka_unit_test(test_arguments),
	    cmocka_unit_test_setup_teardown(test_imgdel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prunebackups, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_prepare, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_imgcopy_upload, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_download_fails, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

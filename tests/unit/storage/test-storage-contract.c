/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The storage contract suite: the sequence every backend must pass
 * (contract.c, contract.h) on each backend's fixture (a temp directory for
 * dir, a loop-mounted file system for btrfs, the lab VM's disk for lvm,
 * lvmthin and zfspool), and the tests beyond it: file content, the
 * immutable attribute, the dispatcher's unsupported answers, dir specifics
 * and copies between storages.
 */
#include "common.h"

#include <fcntl.h>
#include <ftw.h>
#include <linux/fs.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "btrfs-fixture.h"
#include "contract.h"
#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "lab-fixture.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-files.h"
#include "storage-priv.h"
#include "storage.h"
#include "xalloc.h"

/* --- lvm, lvmthin, zfspool: on the lab VM's blank disk (lab-fixture.h) --- */

static int lab_setup(struct contract_env *env, const char *type)
{
	struct lab_fixture *f = NULL;
	int r = lab_fixture_setup(type, "contract", &f);

	if (r < 0)
		return r;
	env->priv = f;
	env->root = xstrdup(f->dir);
	/* a scratch directory: what is left is checked by lab_assert_empty() */
	env->path = path_join(f->dir, "scratch");
	assert_int_equal(mkdir(env->path, 0700), 0);
	env->section = f->section;
	env->cfg = TAKE_PTR(f->cfg); /* freed by the suite */
	return 0;
}

static int lvm_setup(struct contract_env *env)
{
	return lab_setup(env, "lvm");
}

static int lvmthin_setup(struct contract_env *env)
{
	return lab_setup(env, "lvmthin");
}

static int zfspool_setup(struct contract_env *env)
{
	return lab_setup(env, "zfspool");
}

static void lab_teardown(struct contract_env *env)
{
	lab_fixture_teardown(env->priv); /* removes env->root too */
}

static void lab_assert_empty(struct contract_env *env)
{
	assert_int_equal(lab_fixture_count_volumes(env->priv), 0);
}

/* The status's figures are the tools' own. */
static void lab_check_status(struct contract_env *env, const struct storage_status *s)
{
	long long total = lab_fixture_total(env->priv);

	assert_true(total > 0);
	assert_int_equal(s->total, (uint64_t)total);
	assert_true(s->has_pool);
	assert_true(s->data_pct >= 0 && s->data_pct <= 100);
}

/* --- dir: a temp directory --- */

static int dir_setup(struct contract_env *env)
{
	char tmpl[] = "/tmp/ctvm-contract-dir-XXXXXX";
	struct error *err = NULL;

	assert_non_null(mkdtemp(tmpl));
	env->root = xstrdup(tmpl);
	env->path = path_join(env->root, "store");
	env->cfg = section_config_new();
	assert_int_equal(section_config_add(env->cfg, "dir", "contract", &env->section, &err), 0);
	section_set(env->section, "path", env->path);
	section_set(env->section, "content", "images,rootdir,iso,vztmpl,backup,snippets");
	return 0;
}

static void dir_teardown(struct contract_env *env)
{
	rm_rf(env->root);
}

/* --- btrfs: a loop-mounted 512 MiB file system (btrfs-fixture.h) --- */

static int btrfs_setup(struct contract_env *env)
{
	struct btrfs_fixture *f = NULL;
	int r = btrfs_fixture_setup("contract", &f);

	if (r < 0)
		return r;
	env->priv = f;
	env->root = xstrdup(f->dir);
	env->path = xstrdup(section_get(f->section, "path"));
	env->section = f->section;
	env->cfg = TAKE_PTR(f->cfg); /* freed by the suite */
	return 0;
}

static void btrfs_teardown(struct contract_env *env)
{
	btrfs_fixture_teardown(env->priv); /* unmounts first */
	rm_rf(env->root);
}

/* dir and btrfs first: other tests here use fixtures[0] and [1] */
static const struct contract_fixture fixtures[] = {
    {"dir", dir_setup, dir_teardown, .copy_snapshot = true},
    {"btrfs", btrfs_setup, btrfs_teardown, true, .copy_snapshot = true},
    {"lvm", lvm_setup, lab_teardown, .assert_empty = lab_assert_empty, .lab = true,
     .check_status = lab_check_status},
    {"lvmthin", lvmthin_setup, lab_teardown, .assert_empty = lab_assert_empty, .lab = true,
     .check_status = lab_check_status, .copy_snapshot = true},
    {"zfspool", zfspool_setup, lab_teardown, true, lab_assert_empty, .lab = true,
     .rollback_latest_only = true, .check_status = lab_check_status},
};

static void test_contract(void **state)
{
	contract_run(*state);
}

/* --- file content: the same on every storage with a path --- */

static void touch(const char *dir, const char *name, const char *data);

struct files_case {
	const struct contract_fixture *fx;
	/* content-dirs to set, NULL for the defaults */
	const char *content_dirs;
	const char *iso_dir, *backup_dir; /* relative to the storage path */
};

static const char *const bk_qemu = "vzdump-qemu-100-2025_01_01-00_00_01.vma.zst";
static const char *const bk_lxc = "vzdump-lxc-200-2025_01_02-03_04_05.tar.zst";

static size_t count_content(struct storage *st, long vmid, const char *content)
{
	struct storage_volume *v = NULL;
	size_t n = 0;

	OK(storage_list(st, vmid, content, &v, &n, E), "list");
	storage_volume_list_free(v, n);
	return n;
}

static void expect_vol(const struct storage_volume *v, const char *volname, const char *vtype,
                       const char *format, uint64_t size, long vmid)
{
	assert_string_equal(v->volname, volname);
	assert_string_equal(v->vtype, vtype);
	assert_string_equal(v->format, format);
	assert_int_equal(v->size, size);
	assert_int_equal(v->vmid, vmid);
}

static void files_run(const struct files_case *fc)
{
	struct contract_env env = {0};
	struct storage *st = NULL;
	struct storage_volume *v = NULL;
	struct storage_volume info;
	struct error *err = NULL;
	size_t n = 0;
	_cleanup_free_ char *lockdir = NULL, *iso = NULL, *tmpl = NULL, *dump = NULL, *snip = NULL,
	                    *imp = NULL, *outside = NULL;
	int r = fc->fx->setup(&env);

	if (r == -EOPNOTSUPP) {
		print_message("[  SKIP    ] files on %s: fixture not available here\n",
		              fc->fx->type);
		skip();
	}
	assert_int_equal(r, 0);
	lockdir = path_join(env.root, "lock");
	assert_int_equal(mkdir(lockdir, 0700), 0);
	storage_set_lock_dir(lockdir);
	section_set(env.section, "content", "images,rootdir,iso,vztmpl,backup,snippets,import");
	if (fc->content_dirs)
		section_set(env.section, "content-dirs", fc->content_dirs);
	OK(env_open(&env, &st, E), "open");
	OK(storage_activate(st, E), "activate");

	iso = path_join(env.path, fc->iso_dir);
	tmpl = path_join(env.path, "template/cache");
	dump = path_join(env.path, fc->backup_dir);
	snip = path_join(env.path, "snippets");
	imp = path_join(env.path, "import");
	/* activation made the content directories, the overridden ones only */
	assert_int_equal(access(iso, F_OK), 0);
	assert_int_equal(access(dump, F_OK), 0);
	if (fc->content_dirs) {
		_cleanup_free_ char *d1 = path_join(env.path, "template/iso");
		_cleanup_free_ char *d2 = path_join(env.path, "dump");

		assert_int_equal(access(d1, F_OK), -1);
		assert_int_equal(access(d2, F_OK), -1);
	}

	touch(iso, "debian.iso", "iso");
	touch(iso, "readme.txt", "not an iso");
	touch(iso, ".hidden.iso", "hidden");
	{
		_cleanup_free_ char *d = path_join(iso, "dir.iso");

		assert_int_equal(mkdir(d, 0755), 0);
	}
	touch(tmpl, "debian-12-standard_12.7-1_amd64.tar.zst", "tmpl!");
	touch(dump, bk_qemu, "backup");
	touch(dump, "vzdump-qemu-100-2025_01_01-00_00_01.vma.zst.notes", "my notes");
	touch(dump, "vzdump-qemu-100-2025_01_01-00_00_01.vma.zst.protected", "");
	touch(dump, "vzdump-qemu-100-2025_01_01-00_00_01.log", "log");
	touch(dump, bk_lxc, "lxc backup");
	touch(dump, "vzdump-lxc-200-2025_01_02-03_04_05.log", "log");
	touch(snip, "hook.pl", "#!/usr/bin/perl\n");
	touch(imp, "win.ova", "ova");
	outside = path_join(env.root, "outside.iso");
	touch(env.root, "outside.iso", "keep");

	/* everything the storage holds, in dir's order, with PVE's formats */
	OK(storage_list(st, 0, NULL, &v, &n, E), "list");
	assert_int_equal(n, 6);
	expect_vol(&v[0], "iso/debian.iso", "iso", "iso", 3, 0);
	expect_vol(&v[1], "vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", "vztmpl", "tzst", 5, 0);
	expect_vol(&v[2], "backup/vzdump-lxc-200-2025_01_02-03_04_05.tar.zst", "backup", "tar.zst",
	           10, 200);
	expect_vol(&v[3], "backup/vzdump-qemu-100-2025_01_01-00_00_01.vma.zst", "backup", "vma.zst",
	           6, 100);
	expect_vol(&v[4], "snippets/hook.pl", "snippets", "snippet", 16, 0);
	expect_vol(&v[5], "import/win.ova", "import", "ova", 3, 0);
	{
		/* a backup's time is its name's; other files have their ctime */
		struct tm tm = {.tm_year = 125,
		                .tm_mon = 0,
		                .tm_mday = 2,
		                .tm_hour = 3,
		                .tm_min = 4,
		                .tm_sec = 5};
		_cleanup_free_ char *p = path_join(iso, "debian.iso");
		struct stat sb;

		assert_int_equal(v[2].ctime, timegm(&tm));
		assert_int_equal(stat(p, &sb), 0);
		assert_int_equal(v[0].ctime, sb.st_ctime);
	}
	assert_true(v[3].protected_);
	assert_string_equal(v[3].notes, "my notes");
	assert_false(v[2].protected_);
	assert_null(v[2].notes);
	storage_volume_list_free(v, n);

	/* content filters; a guest's listing has its backups (and, as PVE,
	 * snippets and import sources), never ISO images or templates */
	assert_int_equal(count_content(st, 0, "iso"), 1);
	assert_int_equal(count_content(st, 0, "backup"), 2);
	assert_int_equal(count_content(st, 0, "vztmpl,snippets"), 2);
	assert_int_equal(count_content(st, 0, "images"), 0);
	assert_int_equal(count_content(st, 0, "rootdir"), 0);
	assert_int_equal(count_content(st, 100, "backup"), 1);
	assert_int_equal(count_content(st, 200, "backup,iso,vztmpl"), 1);
	assert_int_equal(count_content(st, 100, NULL), 3);
	/* NULL: what the storage's content key allows */
	section_set(env.section, "content", "iso,images");
	assert_int_equal(count_content(st, 0, NULL), 1);
	section_set(env.section, "content", "images,rootdir,iso,vztmpl,backup,snippets,import");

	/* info and path */
	OK(storage_info(st, "iso/debian.iso", &info, E), "info");
	expect_vol(&info, "iso/debian.iso", "iso", "iso", 3, 0);
	storage_volume_clear(&info);
	OK(storage_info(st, "backup/vzdump-qemu-100-2025_01_01-00_00_01.vma.zst", &info, E),
	   "info");
	assert_true(info.protected_);
	assert_string_equal(info.notes, "my notes");
	assert_string_equal(info.format, "vma.zst");
	storage_volume_clear(&info);
	{
		_cleanup_free_ char *p = vol_path(st, "iso/debian.iso");
		_cleanup_free_ char *want = path_join(iso, "debian.iso");
		_cleanup_free_ char *pb = vol_path(st, "backup/x.vma");
		_cleanup_free_ char *wantb = path_join(dump, "x.vma");

		assert_string_equal(p, want);
		assert_string_equal(pb, wantb);
	}
	assert_int_equal(storage_info(st, "iso/missing.iso", &info, &err), -ENOENT);
	assert_int_equal(err->http_status, 404);
	err = error_free(err);

	/* names that would leave the content directory, or are not files */
	static const char *const bad[] = {
	    "iso/../outside.iso",
	    "iso/..",
	    "iso/.hidden.iso",
	    "iso/a/b.iso",
	    "iso/readme.txt",
	    "iso/",
	    "backup/../../outside.iso",
	    "snippets/..",
	    "snippets/.",
	    "snippets/a\nb",
	    "vztmpl/../../etc/x.tar",
	    "import/x.ova/disk.vmdk",
	    "import/../win.ova",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *path = NULL;

		if (storage_path(st, bad[i], &path, &err) != -EINVAL) {
			print_error("path accepted '%s'\n", bad[i]);
			fail();
		}
		err = error_free(err);
		if (storage_info(st, bad[i], &info, &err) != -EINVAL) {
			print_error("info accepted '%s'\n", bad[i]);
			fail();
		}
		err = error_free(err);
		if (storage_free_volume(st, bad[i], NULL, &err) != -EINVAL) {
			print_error("free accepted '%s'\n", bad[i]);
			fail();
		}
		err = error_free(err);
	}
	assert_int_equal(access(outside, F_OK), 0);

	/* a protected backup stays */
	assert_int_equal(storage_free_volume(
	                     st, "backup/vzdump-qemu-100-2025_01_01-00_00_01.vma.zst", NULL, &err),
	                 -EPERM);
	assert_non_null(strstr(err->msg, "is protected"));
	err = error_free(err);
	assert_int_equal(count_content(st, 0, "backup"), 2);
	{
		_cleanup_free_ char *p =
		    path_join(dump, "vzdump-qemu-100-2025_01_01-00_00_01.vma.zst.protected");
		assert_int_equal(unlink(p), 0);
	}

	/* free takes the file and its notes, protection and log files */
	OK(storage_free_volume(st, "backup/vzdump-qemu-100-2025_01_01-00_00_01.vma.zst", NULL, E),
	   "free backup");
	OK(storage_free_volume(st, "backup/vzdump-lxc-200-2025_01_02-03_04_05.tar.zst", NULL, E),
	   "free backup");
	OK(storage_free_volume(st, "iso/debian.iso", NULL, E), "free iso");
	OK(storage_free_volume(st, "vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", NULL, E),
	   "free vztmpl");
	OK(storage_free_volume(st, "snippets/hook.pl", NULL, E), "free snippet");
	OK(storage_free_volume(st, "import/win.ova", NULL, E), "free import");
	assert_int_equal(storage_free_volume(st, "iso/debian.iso", NULL, &err), -ENOENT);
	assert_int_equal(err->http_status, 404);
	err = error_free(err);
	assert_int_equal(count(st, 0), 0);
	{
		/* nothing is left in the backup directory */
		char **names = NULL;
		size_t nn = 0;

		OK(storage_read_dir_sorted(dump, &names, &nn, E), "readdir");
		for (size_t i = 0; i < nn; i++)
			print_error("left behind: %s\n", names[i]);
		assert_int_equal(nn, 0);
		storage_names_free(names, nn);
	}
	assert_int_equal(access(outside, F_OK), 0);

	storage_free(st);
	storage_set_lock_dir(NULL);
	fc->fx->teardown(&env);
	env_config_free(&env);
	free(env.root);
	free(env.path);
}

static const struct files_case files_cases[] = {
    {&fixtures[0], NULL, "template/iso", "dump"},
    {&fixtures[1], NULL, "template/iso", "dump"},
    /* content-dirs is a dir option (not btrfs', as in PVE) */
    {&fixtures[0], "iso=isos,backup=my/dumps", "isos", "my/dumps"},
};

static void test_files(void **state)
{
	files_run(*state);
}

/* --- the immutable attribute --- */

static void test_immutable(void **state)
{
	char tmpl[] = "/tmp/ctvm-immutable-XXXXXX";
	struct error *err = NULL;

	assert_non_null(mkdtemp(tmpl));
	_cleanup_free_ char *f = path_join(tmpl, "base-100-disk-0.raw");
	touch(tmpl, "base-100-disk-0.raw", "base");
	if (!flags_supported(tmpl) || geteuid() != 0) {
		/* setting is best effort: a warning, never a failure */
		assert_int_equal(storage_file_set_immutable(f, true, NULL, &err), 0);
		assert_null(err);
		assert_int_equal(unlink(f), 0);
		assert_int_equal(rmdir(tmpl), 0);
		print_message("[  SKIP    ] immutable: needs root on a file system with "
		              "attributes\n");
		skip();
	}
	assert_int_equal(storage_file_set_immutable(f, true, NULL, &err), 1);
	assert_true(file_immutable(f));
	assert_true(storage_file_is_immutable(f));
	/* again: nothing to do */
	assert_int_equal(storage_file_set_immutable(f, true, NULL, &err), 0);
	assert_int_equal(unlink(f), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(storage_file_set_immutable(f, false, NULL, &err), 1);
	assert_false(file_immutable(f));
	assert_int_equal(storage_file_set_immutable(f, false, NULL, &err), 0);
	assert_null(err);
	assert_int_equal(unlink(f), 0);
	/* a missing file */
	assert_int_equal(storage_file_set_immutable(f, true, NULL, &err), -ENOENT);
	assert_int_equal(err->http_status, 404);
	err = error_free(err);
	assert_int_equal(rmdir(tmpl), 0);

	/* a file system without attributes (procfs: ENOTTY; tmpfs before
	 * Linux 6.0): setting warns, clearing has nothing to do */
	assert_int_equal(storage_file_set_immutable("/proc/version", true, NULL, &err), 0);
	assert_null(err);
	assert_int_equal(storage_file_set_immutable("/proc/version", false, NULL, &err), 0);
	assert_null(err);
}

/* --- the dispatcher, with a backend that has only the required slots --- */

static int fake_activate(struct storage *st, struct error **err)
{
	return 0;
}

static void test_unsupported(void **state)
{
	const struct storage_backend fake = {
	    .type = "fake",
	    .formats = IMAGE_FORMAT_BIT(IMAGE_FORMAT_RAW),
	    .activate = fake_activate,
	};
	struct storage st = {.be = &fake, .id = (char *)"f"};
	struct error *err = NULL;
	char *ret = NULL;

	assert_int_equal(storage_resize(&st, "x", 1, NULL, &err), -EOPNOTSUPP);
	assert_string_equal(err->msg, "operation 'resize' is not supported by storage type 'fake'");
	assert_int_equal(err->http_status, 500);
	err = error_free(err);
	assert_int_equal(storage_snapshot_create(&st, "x", "s1", NULL, &err), -EOPNOTSUPP);
	assert_string_equal(err->msg,
	                    "operation 'snapshot' is not supported by storage type 'fake'");
	err = error_free(err);
	assert_int_equal(storage_clone(&st, "x", 100, NULL, NULL, &ret, &err), -EOPNOTSUPP);
	err = error_free(err);
	assert_int_equal(storage_create_base(&st, "x", NULL, &ret, &err), -EOPNOTSUPP);
	err = error_free(err);
	assert_int_equal(storage_alloc(&st, 100, "qcow2", NULL, 1, NULL, &ret, &err), -EINVAL);
	err = error_free(err);

	assert_non_null(storage_backend_find("dir"));
	assert_null(storage_backend_find("nfs"));
	assert_null(storage_backend_find(NULL));
	/* the checked downcast: a backend's state of another backend's storage aborts */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, STDERR_FILENO);
		(void)storage_state(&st, &storage_backend_dir);
		_exit(0);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	assert_ptr_equal(storage_state(&st, &fake), &st);

	/* what a type can do comes from its backend; none without one */
	assert_true(storage_type_caps("dir") & STORAGE_CAP_PATH);
	assert_true(storage_type_caps("btrfs") & STORAGE_CAP_FILES);
	assert_int_equal(storage_type_caps("lvm"), STORAGE_CAP_RESIZE);
	assert_true(storage_type_caps("lvmthin") & STORAGE_CAP_THIN);
	assert_int_equal(storage_type_caps("nfs"), 0);
	assert_int_equal(storage_type_caps(NULL), 0);
}

/* --- dir specifics: content, protection, names, mount points --- */

static void touch(const char *dir, const char *name, const char *data)
{
	_cleanup_free_ char *p = path_join(dir, name);
	struct error *err = NULL;

	assert_int_equal(mkdir_p(dir, 0755), 0);
	assert_int_equal(write_file_atomic(p, data, strlen(data), 0644, &err), 0);
}

static void test_dir_content(void **state)
{
	struct contract_env env = {0};
	_cleanup_free_ char *lockdir = NULL, *iso = NULL, *tmpl = NULL, *dump = NULL;
	struct storage *st = NULL;
	struct storage_volume *v = NULL;
	struct storage_volume info;
	struct error *err = NULL;
	size_t n = 0;

	dir_setup(&env);
	lockdir = path_join(env.root, "lock");
	assert_int_equal(mkdir(lockdir, 0700), 0);
	storage_set_lock_dir(lockdir);
	OK(env_open(&env, &st, E), "open");
	OK(storage_activate(st, E), "activate");

	iso = path_join(env.path, "template/iso");
	tmpl = path_join(env.path, "template/cache");
	dump = path_join(env.path, "dump");
	touch(iso, "debian.iso", "iso");
	touch(iso, "readme.txt", "not an iso");
	touch(tmpl, "debian-12-standard_12.7-1_amd64.tar.zst", "tmpl");
	touch(dump, "vzdump-qemu-100-2025_01_01-00_00_01.vma.zst", "backup");
	touch(dump, "vzdump-qemu-100-2025_01_01-00_00_01.vma.zst.notes", "my notes");
	touch(dump, "vzdump-qemu-100-2025_01_01-00_00_01.vma.zst.protected", "");
	touch(dump, "vzdump-lxc-200-2025_01_01-00_00_01.tar.zst", "backup");

	OK(storage_list(st, 0, NULL, &v, &n, E), "list");
	assert_int_equal(n, 4);
	assert_string_equal(v[0].volname, "iso/debian.iso");
	assert_string_equal(v[0].format, "iso");
	assert_string_equal(v[1].volname, "vztmpl/debian-12-standard_12.7-1_amd64.tar.zst");
	assert_string_equal(v[2].volname, "backup/vzdump-lxc-200-2025_01_01-00_00_01.tar.zst");
	assert_int_equal(v[2].vmid, 200);
	storage_volume_list_free(v, n);
	OK(storage_list(st, 100, NULL, &v, &n, E), "list");
	assert_int_equal(n, 1);
	storage_volume_list_free(v, n);
	OK(storage_list(st, 0, "iso", &v, &n, E), "list");
	assert_int_equal(n, 1);
	storage_volume_list_free(v, n);

	OK(storage_info(st, "backup/vzdump-qemu-100-2025_01_01-00_00_01.vma.zst", &info, E),
	   "info");
	assert_true(info.protected_);
	assert_string_equal(info.notes, "my notes");
	assert_int_equal(info.size, 6);
	storage_volume_clear(&info);

	/* protected volumes are refused */
	assert_int_equal(storage_free_volume(
	                     st, "backup/vzdump-qemu-100-2025_01_01-00_00_01.vma.zst", NULL, &err),
	                 -EPERM);
	assert_non_null(strstr(err->msg, "is protected"));
	err = error_free(err);
	{
		_cleanup_free_ char *p =
		    path_join(dump, "vzdump-qemu-100-2025_01_01-00_00_01.vma.zst.protected");
		assert_int_equal(unlink(p), 0);
	}
	OK(storage_free_volume(st, "backup/vzdump-qemu-100-2025_01_01-00_00_01.vma.zst", NULL, E),
	   "free backup");
	{
		/* the sidecars go with it */
		_cleanup_free_ char *p =
		    path_join(dump, "vzdump-qemu-100-2025_01_01-00_00_01.vma.zst.notes");
		assert_int_equal(access(p, F_OK), -1);
	}

	/* names that would leave the storage or are not ours */
	static const char *const bad[] = {
	    "../etc/passwd",
	    "100/../../x.raw",
	    "100/.hidden.raw",
	    "100/vm-100-disk-0.exe",
	    "iso/../x.iso",
	    "iso/x.txt",
	    "0100/vm-100-disk-0.raw",
	    "100/vm 1.raw",
	    "",
	    "100/",
	    "a/b/c/d/e",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *path = NULL;

		if (storage_path(st, bad[i], &path, &err) != -EINVAL) {
			print_error("accepted '%s'\n", bad[i]);
			fail();
		}
		err = error_free(err);
	}

	/* named allocation: the owner prefix and the extension must fit */
	char *vol = NULL;
	assert_int_equal(storage_alloc(st, 100, "raw", "vm-101-disk-0.raw", MiB, NULL, &vol, &err),
	                 -EINVAL);
	err = error_free(err);
	assert_int_equal(storage_alloc(st, 100, "raw", "vm-100-x.qcow2", MiB, NULL, &vol, &err),
	                 -EINVAL);
	err = error_free(err);
	OK(storage_alloc(st, 100, "raw", "vm-100-cloudinit.raw", MiB, NULL, &vol, E), "alloc");
	assert_string_equal(vol, "100/vm-100-cloudinit.raw");
	free(vol);
	assert_int_equal(
	    storage_alloc(st, 100, "raw", "vm-100-cloudinit.raw", MiB, NULL, &vol, &err), -EEXIST);
	err = error_free(err);
	/* the next free name skips what exists */
	OK(storage_alloc(st, 100, "qcow2", NULL, MiB, NULL, &vol, E), "alloc");
	assert_string_equal(vol, "100/vm-100-disk-0.qcow2");
	free(vol);
	OK(storage_alloc(st, 100, "vmdk", NULL, MiB, NULL, &vol, E), "alloc vmdk");
	assert_string_equal(vol, "100/vm-100-disk-1.vmdk");
	OK(storage_info(st, vol, &info, E), "info vmdk");
	assert_string_equal(info.format, "vmdk");
	assert_int_equal(info.size, MiB);
	storage_volume_clear(&info);
	free(vol);

	/* an image qemu-img cannot read is left out of the list, and can
	 * still be freed */
	{
		_cleanup_free_ char *imgdir = path_join(env.path, "images/100");
		size_t before;

		before = count(st, 100);
		touch(imgdir, "vm-100-disk-7.qcow2", "not a qcow2 image");
		assert_int_equal(count(st, 100), before);
		OK(storage_free_volume(st, "100/vm-100-disk-7.qcow2", NULL, E), "free broken");
		assert_int_equal(storage_free_volume(st, "100/vm-100-disk-7.qcow2", NULL, &err),
		                 -ENOENT);
		assert_int_equal(err->http_status, 404);
		err = error_free(err);
	}

	storage_free(st);

	/* is_mountpoint: an unmounted mount point makes the storage inactive */
	{
		_cleanup_free_ char *mp = path_join(env.root, "mnt");
		struct storage_status s;

		assert_int_equal(mkdir(mp, 0755), 0);
		section_set(env.section, "is_mountpoint", mp);
		OK(env_open(&env, &st, E), "open");
		OK(storage_status(st, &s, E), "status");
		assert_false(s.active);
		assert_int_equal(storage_activate(st, &err), -ENODEV);
		assert_non_null(strstr(err->msg, "not mounted"));
		err = error_free(err);
		storage_free(st);
	}

	/* create-subdirs 0: activation makes the base path only */
	{
		_cleanup_free_ char *other = path_join(env.root, "bare");
		_cleanup_free_ char *images = path_join(other, "images");

		section_unset(env.section, "is_mountpoint");
		section_set(env.section, "path", other);
		section_set(env.section, "create-subdirs", "0");
		OK(env_open(&env, &st, E), "open");
		OK(storage_activate(st, E), "activate");
		assert_int_equal(access(other, F_OK), 0);
		assert_int_equal(access(images, F_OK), -1);
		storage_free(st);
	}

	storage_set_lock_dir(NULL);
	dir_teardown(&env);
	env_config_free(&env);
	free(env.root);
	free(env.path);
}

/* --- copies between storages (storage_copy) --- */

struct copy_store {
	const struct contract_fixture *fx;
	struct contract_env env;
	struct storage *st;
};

static bool copy_store_open(struct copy_store *cs, const struct contract_fixture *fx)
{
	_cleanup_free_ char *lockdir = NULL;

	cs->fx = fx;
	if (fx->setup(&cs->env) == -EOPNOTSUPP) {
		print_message("[  SKIP    ] copy with %s: fixture not available here\n", fx->type);
		return false;
	}
	lockdir = path_join(cs->env.root, "lock");
	assert_int_equal(mkdir(lockdir, 0700), 0);
	/* one lock dir serves every storage of the test: ids differ */
	storage_set_lock_dir(lockdir);
	OK(env_open(&cs->env, &cs->st, E), "open");
	free(cs->st->id);
	cs->st->id = xstrdup(fx->type); /* distinct lock files for dir and btrfs */
	OK(storage_activate(cs->st, E), "activate");
	return true;
}

static void copy_store_close(struct copy_store *cs)
{
	if (!cs->st)
		return;
	assert_int_equal(count(cs->st, 0), 0);
	assert_int_equal(nftw(cs->env.path, leftover_entry, 16, FTW_PHYS), 0);
	storage_free(cs->st);
	cs->fx->teardown(&cs->env);
	env_config_free(&cs->env);
	free(cs->env.root);
	free(cs->env.path);
}

/* The whole content of an image as a guest sees it, via a raw copy. */
static char *image_bytes(struct contract_env *env, struct storage *st, const char *volname,
                         size_t *ret_len)
{
	_cleanup_free_ char *path = vol_path(st, volname);
	_cleanup_free_ char *copy = path_join(env->root, "bytes.raw");
	struct storage_volume info;
	struct error *err = NULL;
	char *data = NULL;
	struct cmd c;

	OK(storage_info(st, volname, &info, E), "info");
	cmd_init(&c, "qemu-img");
	cmd_add(&c, "convert");
	cmd_add(&c, "-f");
	cmd_add(&c, info.format);
	cmd_add(&c, "-O");
	cmd_add(&c, "raw");
	cmd_add(&c, path);
	cmd_add(&c, copy);
	storage_volume_clear(&info);
	run_cmd_ok(&c);
	assert_int_equal(read_file(copy, 64 * MiB, &data, ret_len, &err), 0);
	(void)unlink(copy);
	return data;
}

/* Copies src_vol of a to b, checks the format and that every byte came. */
static char *copy_image(struct copy_store *a, const char *src_vol, struct copy_store *b,
                        const char *name, long vmid, const char *want_fmt)
{
	_cleanup_free_ char *want = NULL, *got = NULL;
	struct storage_volume info;
	size_t want_len, got_len;
	char *vol = NULL;

	OK(storage_copy(a->st, src_vol, b->st, name, vmid, NULL, &vol, E), "copy");
	OK(storage_info(b->st, vol, &info, E), "info copy");
	assert_string_equal(info.format, want_fmt);
	assert_int_equal(info.vmid, vmid);
	assert_null(info.parent);
	storage_volume_clear(&info);
	want = image_bytes(&a->env, a->st, src_vol, &want_len);
	got = image_bytes(&b->env, b->st, vol, &got_len);
	/* a raw target of a size not in whole KiB may round up */
	assert_true(got_len >= want_len && got_len - want_len < 1024);
	assert_memory_equal(got, want, want_len);
	return vol;
}

static void put_file(const char *dir, const char *name, const char *data, uid_t uid, gid_t gid,
                     mode_t mode)
{
	_cleanup_free_ char *p = path_join(dir, name);
	struct error *err = NULL;

	assert_int_equal(write_file_atomic(p, data, strlen(data), mode, &err), 0);
	assert_int_equal(lchown(p, uid, gid), 0);
	assert_int_equal(chmod(p, mode), 0);
}

/* A container tree with what a copy must keep. */
static void subvol_populate(const char *root)
{
	_cleanup_free_ char *d = path_join(root, "etc");
	_cleanup_free_ char *a = path_join(root, "a");
	_cleanup_free_ char *hard = path_join(root, "etc/link");
	_cleanup_free_ char *sparse = path_join(root, "sparse");
	_cleanup_close_ int fd = -1;

	assert_int_equal(chown(root, 100000, 100000), 0);
	assert_int_equal(chmod(root, 0750), 0);
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(chown(d, 100033, 100044), 0);
	put_file(root, "a", "hello container\n", 101000, 102000, 0640);
	assert_int_equal(setxattr(a, "user.ctvm", "x1", 2, 0), 0);
	assert_int_equal(link(a, hard), 0);
	/* 8 MiB with 4 KiB of data at the end */
	fd = open(sparse, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "tail", 4, 8 * MiB - 4), 4);
	if (access("/usr/bin/setfacl", X_OK) == 0) {
		struct cmd c;

		cmd_init(&c, "setfacl");
		cmd_add(&c, "-m");
		cmd_add(&c, "u:4321:r");
		cmd_add(&c, a);
		run_cmd_ok(&c);
	}
}

static void same_xattr(const char *a, const char *b, const char *name)
{
	char va[256], vb[256];
	ssize_t na = lgetxattr(a, name, va, sizeof(va));
	ssize_t nb = lgetxattr(b, name, vb, sizeof(vb));

	assert_int_equal(na, nb);
	if (na > 0)
		assert_memory_equal(va, vb, (size_t)na);
}

static void subvol_check(const char *src, const char *dst)
{
	static const char *const entries[] = {"", "etc", "a", "etc/link", "sparse"};
	struct stat sa, sb, la;

	for (size_t i = 0; i < ARRAY_SIZE(entries); i++) {
		_cleanup_free_ char *a = path_join(src, entries[i]);
		_cleanup_free_ char *b = path_join(dst, entries[i]);

		assert_int_equal(lstat(a, &sa), 0);
		assert_int_equal(lstat(b, &sb), 0);
		assert_int_equal(sa.st_mode, sb.st_mode);
		assert_int_equal(sa.st_uid, sb.st_uid);
		assert_int_equal(sa.st_gid, sb.st_gid);
		if (S_ISREG(sa.st_mode)) {
			_cleanup_free_ char *da = NULL, *db = NULL;
			size_t na, nb;

			assert_int_equal(sa.st_size, sb.st_size);
			assert_int_equal(read_file(a, 16 * MiB, &da, &na, NULL), 0);
			assert_int_equal(read_file(b, 16 * MiB, &db, &nb, NULL), 0);
			assert_int_equal(na, nb);
			assert_memory_equal(da, db, na);
		}
		same_xattr(a, b, "user.ctvm");
		same_xattr(a, b, "system.posix_acl_access");
	}
	{
		_cleanup_free_ char *a = path_join(dst, "a");
		_cleanup_free_ char *l = path_join(dst, "etc/link");
		_cleanup_free_ char *sp = path_join(dst, "sparse");
		char v[8];

		assert_int_equal(lstat(a, &la), 0);
		assert_int_equal(lstat(l, &sb), 0);
		assert_int_equal(la.st_ino, sb.st_ino); /* still one file */
		assert_int_equal(la.st_nlink, 2);
		assert_int_equal(lgetxattr(a, "user.ctvm", v, sizeof(v)), 2);
		assert_int_equal(lstat(sp, &sb), 0);
		assert_true((uint64_t)sb.st_blocks * 512 < MiB); /* the hole stayed a hole */
	}
}

static char *copy_subvol(struct copy_store *a, const char *src_vol, struct copy_store *b, long vmid)
{
	_cleanup_free_ char *sp = NULL, *dp = NULL;
	struct storage_volume info;
	char *vol = NULL;

	OK(storage_copy(a->st, src_vol, b->st, NULL, vmid, NULL, &vol, E), "copy subvol");
	OK(storage_info(b->st, vol, &info, E), "info copy");
	assert_string_equal(info.format, "subvol");
	storage_volume_clear(&info);
	sp = vol_path(a->st, src_vol);
	dp = vol_path(b->st, vol);
	subvol_check(sp, dp);
	return vol;
}

/* A qcow2 on dir whose backing file (inside the storage, next to it) has a
 * broken L1 table offset: info works (it does not open the backing file)
 * and so does the check of the chain (headers only), the copy's convert
 * fails after the allocation. */
static char *broken_clone(struct copy_store *d)
{
	_cleanup_free_ char *dir = path_join(d->env.path, "images/105");
	_cleanup_free_ char *p = path_join(dir, "vm-105-disk-0.qcow2");
	_cleanup_free_ char *base = path_join(dir, "broken.qcow2");
	static const uint8_t bad_l1[8] = {0, 0, 0, 0, 0, 0, 0x02, 0x01};
	struct cmd c;

	assert_int_equal(mkdir_p(dir, 0755), 0);
	cmd_init(&c, "qemu-img");
	cmd_add(&c, "create");
	cmd_add(&c, "-f");
	cmd_add(&c, "qcow2");
	cmd_add(&c, base);
	cmd_add(&c, "1M");
	run_cmd_ok(&c);
	{
		_cleanup_close_ int fd = open(base, O_WRONLY | O_CLOEXEC);

		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, bad_l1, sizeof(bad_l1), 40), sizeof(bad_l1));
	}
	cmd_init(&c, "qemu-img");
	cmd_add(&c, "create");
	cmd_add(&c, "-u");
	cmd_add(&c, "-F");
	cmd_add(&c, "qcow2");
	cmd_add(&c, "-b");
	cmd_add(&c, "broken.qcow2");
	cmd_add(&c, "-f");
	cmd_add(&c, "qcow2");
	cmd_add(&c, p);
	cmd_add(&c, "1M");
	run_cmd_ok(&c);
	return xstrdup("105/vm-105-disk-0.qcow2");
}

static void copy_fails_clean(struct copy_store *a, const char *src_vol, struct copy_store *b,
                             const char *name, long vmid)
{
	_cleanup_free_ char *dir = xasprintf("%s/images/%ld", b->env.path, vmid);
	struct error *err = NULL;
	char *vol = NULL;

	assert_true(storage_copy(a->st, src_vol, b->st, name, vmid, NULL, &vol, &err) < 0);
	assert_non_null(err);
	err = error_free(err);
	assert_null(vol);
	assert_int_equal(count(b->st, vmid), 0);
	assert_int_equal(access(dir, F_OK), -1); /* not even its directory */
}

static void free_vol(struct copy_store *cs, char *vol)
{
	OK(storage_free_volume(cs->st, vol, NULL, E), "free");
	free(vol);
}

/* Images of a dir storage that name a file outside it (made by hand, or
 * by an import before images were checked): qemu-img never opens that
 * file for a copy, resize, snapshot or info, so it is neither read into a
 * new volume nor changed. */
static void test_outside_refs(void **state)
{
	struct copy_store d = {0};
	struct error *err = NULL;
	char secret[MiB];
	_cleanup_free_ char *sfile = NULL, *dfile = NULL, *dir = NULL, *dfo = NULL;
	char *v[4] = {NULL};
	const char *names[] = {"vm-120-disk-0.qcow2", "vm-120-disk-1.qcow2", "vm-120-disk-2.qcow2",
	                       "vm-120-disk-3.vmdk"};
	struct cmd c;

	assert_true(copy_store_open(&d, &fixtures[0]));
	sfile = path_join(d.env.root, "secret.raw");
	dfile = path_join(d.env.root, "data.raw");
	dfo = xasprintf("data_file=%s", dfile);
	dir = path_join(d.env.path, "images/120");
	assert_int_equal(mkdir_p(dir, 0755), 0);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		v[i] = path_join(dir, names[i]);
	/* a backing file by absolute path, one by a relative path leaving the
	 * storage, an external data file, a vmdk extent */
	const char *const back_abs[] = {"qemu-img", "create", "-q",    "-u", "-F", "raw", "-b",
	                                sfile,      "-f",     "qcow2", v[0], "1M", NULL};
	const char *const back_rel[] = {
	    "qemu-img", "create", "-q", "-u", "-F", "raw", "-b", "../../../secret.raw",
	    "-f",       "qcow2",  v[1], "1M", NULL};
	const char *const data[] = {"qemu-img", "create", "-q", "-o", dfo,
	                            "-f",       "qcow2",  v[2], "1M", NULL};
	const char *const *const cmds[] = {back_abs, back_rel, data};
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		cmd_init(&c, cmds[i][0]);
		for (size_t k = 1; cmds[i][k]; k++)
			cmd_add(&c, cmds[i][k]);
		run_cmd_ok(&c);
	}
	_cleanup_free_ char *desc = xasprintf("# Disk DescriptorFile\nversion=1\nCID=fffffffe\n"
	                                      "parentCID=ffffffff\ncreateType=\"monolithicFlat\"\n"
	                                      "RW 2048 FLAT \"%s\" 0\n",
	                                      sfile);
	OK(write_file_atomic(v[3], desc, strlen(desc), 0644, E), "vmdk");
	memset(secret, 0x53, sizeof(secret));
	OK(write_file_atomic(sfile, secret, sizeof(secret), 0600, E), "secret");
	OK(write_file_atomic(dfile, secret, sizeof(secret), 0600, E), "data");

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		_cleanup_free_ char *vol = xasprintf("120/%s", names[i]);
		struct storage_volume info = {0};

		copy_fails_clean(&d, vol, &d, NULL, 121);
		assert_int_equal(storage_resize(d.st, vol, 2 * MiB, NULL, &err), -EPERM);
		err = error_free(err);
		if (i < 3) {
			assert_int_equal(storage_snapshot_create(d.st, vol, "snap", NULL, &err),
			                 -EPERM);
			err = error_free(err);
		}
		/* info reads the qcow2 header itself, or asks qemu-img, which
		 * opens a data file or extents (but not a backing file) */
		if (i >= 2) {
			assert_int_equal(storage_info(d.st, vol, &info, &err), -EPERM);
			err = error_free(err);
		} else {
			OK(storage_info(d.st, vol, &info, E), "info");
			storage_volume_clear(&info);
		}
	}
	/* nothing was written to the files outside */
	struct stat st;
	assert_int_equal(stat(sfile, &st), 0);
	assert_int_equal(st.st_size, MiB);
	assert_int_equal(stat(dfile, &st), 0);
	assert_int_equal(st.st_size, MiB);

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		assert_int_equal(unlink(v[i]), 0);
		free(v[i]);
	}
	assert_int_equal(rmdir(dir), 0);
	copy_store_close(&d);
	storage_set_lock_dir(NULL);
}

static void test_copy(void **state)
{
	struct copy_store d = {0}, b = {0};
	char *q, *r, *x, *sub, *sub2;
	_cleanup_free_ char *orig = NULL, *again = NULL;
	size_t orig_len, again_len;
	struct error *err = NULL;
	bool have_btrfs;

	assert_true(copy_store_open(&d, &fixtures[0]));
	have_btrfs = copy_store_open(&b, &fixtures[1]);
	if (have_btrfs) { /* both storages share the last lock dir set */
		_cleanup_free_ char *lockdir = path_join(b.env.root, "lock");
		storage_set_lock_dir(lockdir);
	}

	OK(storage_alloc(d.st, 100, "qcow2", NULL, 4 * MiB + 512, NULL, &q, E), "alloc");
	vol_write(d.st, q, "qcow2", 0, 0x5a);
	vol_write(d.st, q, "qcow2", 3 * MiB, 0xa5);

	/* dir -> dir, qcow2 -> raw by the target's name */
	r = copy_image(&d, q, &d, "vm-101-disk-0.raw", 101, "raw");
	assert_string_equal(r, "101/vm-101-disk-0.raw");
	/* no name: the next free one, in the source's format */
	x = copy_image(&d, q, &d, NULL, 102, "qcow2");
	assert_string_equal(x, "102/vm-102-disk-0.qcow2");
	free_vol(&d, x);

	/* an existing target is an error and stays as it was */
	orig = image_bytes(&d.env, d.st, r, &orig_len);
	assert_int_equal(storage_copy(d.st, q, d.st, "vm-101-disk-0.raw", 101, NULL, &x, &err),
	                 -EEXIST);
	err = error_free(err);
	again = image_bytes(&d.env, d.st, r, &again_len);
	assert_int_equal(orig_len, again_len);
	assert_memory_equal(orig, again, orig_len);

	/* wrong kinds are refused before anything is allocated */
	assert_int_equal(
	    storage_copy(d.st, q, d.st, "subvol-103-disk-0.subvol", 103, NULL, &x, &err), -EINVAL);
	err = error_free(err);
	assert_int_equal(count(d.st, 103), 0);

	/* a failing fill leaves nothing behind */
	x = broken_clone(&d);
	copy_fails_clean(&d, x, &d, NULL, 106);
	if (have_btrfs)
		copy_fails_clean(&d, x, &b, NULL, 106);
	{
		_cleanup_free_ char *p = vol_path(d.st, x);
		_cleanup_free_ char *dir = path_join(d.env.path, "images/105");
		_cleanup_free_ char *base = path_join(dir, "broken.qcow2");

		assert_int_equal(unlink(p), 0);
		assert_int_equal(unlink(base), 0);
		assert_int_equal(rmdir(dir), 0);
		free(x);
	}

	/* container volumes */
	OK(storage_alloc(d.st, 200, "subvol", NULL, 0, NULL, &sub, E), "alloc subvol");
	{
		_cleanup_free_ char *p = vol_path(d.st, sub);
		subvol_populate(p);
	}
	sub2 = copy_subvol(&d, sub, &d, 201);
	free_vol(&d, sub2);

	if (have_btrfs) {
		char *bq, *bd, *bs, *ds;

		/* dir qcow2 -> btrfs: raw, its only image format */
		bq = copy_image(&d, q, &b, NULL, 110, "raw");
		/* btrfs -> dir, to a format by name */
		bd = copy_image(&b, bq, &d, "vm-111-disk-0.qcow2", 111, "qcow2");
		free_vol(&d, bd);
		bd = copy_image(&b, bq, &d, "vm-112-disk-0.raw", 112, "raw");
		free_vol(&d, bd);
		free_vol(&b, bq);

		/* subvols both ways */
		bs = copy_subvol(&d, sub, &b, 210);
		ds = copy_subvol(&b, bs, &d, 211);
		free_vol(&d, ds);
		free_vol(&b, bs);
	}

	free_vol(&d, sub);
	free_vol(&d, r);
	free_vol(&d, q);
	copy_store_close(&b);
	copy_store_close(&d);
	storage_set_lock_dir(NULL);
}

/*
 * Which backends run: by default the ones this host has (dir, btrfs) and the
 * other tests; with a backend named as the first argument or in
 * CTVM_CONTRACT_BACKEND, only the contract sequence on that one (the lab VM
 * tier runs one meson test per backend: lvm, lvmthin, zfspool).  With
 * CTVM_CONTRACT_REQUIRE set, a fixture this host cannot provide fails
 * instead of skipping.
 */
int main(int argc, char **argv)
{
	static const char *const files_names[] = {"files-dir", "files-btrfs",
	                                          "files-dir-content-dirs"};
	struct CMUnitTest tests[ARRAY_SIZE(fixtures) + ARRAY_SIZE(files_cases) + 5];
	const char *only = argc > 1 ? argv[1] : getenv("CTVM_CONTRACT_BACKEND");
	size_t n = 0;

	if (only && *only) {
		for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++)
			if (streq(fixtures[i].type, only)) {
				tests[0] = (struct CMUnitTest)cmocka_unit_test_prestate(
				    test_contract, (void *)&fixtures[i]);
				tests[0].name = fixtures[i].type;
				return _cmocka_run_group_tests("storage-contract", tests, 1, NULL,
				                               NULL);
			}
		fprintf(stderr, "storage-contract: no fixture for backend '%s'\n", only);
		return 2;
	}
	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++) {
		if (fixtures[i].lab)
			continue;
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(test_contract,
		                                                        (void *)&fixtures[i]);
		tests[n].name = fixtures[i].type;
		n++;
	}
	for (size_t i = 0; i < ARRAY_SIZE(files_cases); i++) {
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(test_files,
		                                                        (void *)&files_cases[i]);
		tests[n].name = files_names[i];
		n++;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_immutable);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_unsupported);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_dir_content);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_copy);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_outside_refs);
	return _cmocka_run_group_tests("storage-contract", tests, n, NULL, NULL);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The storage contract sequence (contract.h): what every backend must pass,
 * driven only through the storage_*() entry points, and the helpers the
 * suites built on it share.  Guest data is checked through the images
 * themselves: raw volumes are written and read directly at the volume's
 * path, other formats through qemu-io and qemu-img convert, so snapshots,
 * rollbacks and clones are checked for what a guest would see.
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

#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-files.h"
#include "storage-priv.h"
#include "storage.h"
#include "xalloc.h"

#include "contract.h"

static int rm_entry(const char *path, const struct stat *s, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

void rm_rf(const char *path)
{
	if (path)
		(void)nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Opens the fixture's storage from its config snapshot. */
int env_open(struct contract_env *env, struct storage **ret, struct error **err)
{
	if (!env->snap)
		env->snap = storage_config_snapshot_new(env->cfg);
	return storage_open(env->snap, env->section->id, ret, err);
}

void env_config_free(struct contract_env *env)
{
	if (env->snap)
		storage_config_snapshot_unref(env->snap);
	else
		section_config_free(env->cfg);
	env->snap = NULL;
	env->cfg = NULL;
}

/* --- helpers --- */

void check_ok(int r, struct error *err, const char *what)
{
	if (r < 0) {
		print_error("%s: %d %s\n", what, r, err ? err->msg : "(no error)");
		error_free(err);
		fail();
	}
	assert_null(err);
}

void run_cmd_ok(struct cmd *c)
{
	struct error *err = NULL;
	int r = cmd_run(c, NULL, &err);

	cmd_release(c);
	check_ok(r, err, "command");
}

char *vol_path(struct storage *st, const char *volname)
{
	char *path = NULL;

	OK(storage_path(st, volname, &path, E), "path");
	return path;
}

/* Writes 4 KiB of byte at offset, as a guest would see it. */
void vol_write(struct storage *st, const char *volname, const char *fmt, uint64_t off,
               unsigned char byte)
{
	_cleanup_free_ char *path = vol_path(st, volname);

	if (streq(fmt, "raw")) {
		unsigned char buf[4096];
		_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);

		assert_true(fd >= 0);
		memset(buf, byte, sizeof(buf));
		assert_int_equal(pwrite(fd, buf, sizeof(buf), (off_t)off), (ssize_t)sizeof(buf));
		assert_int_equal(fsync(fd), 0);
	} else {
		struct cmd c;

		cmd_init(&c, "qemu-io");
		cmd_add(&c, "-f");
		cmd_add(&c, fmt);
		cmd_add(&c, "-c");
		cmd_addf(&c, "write -P 0x%02x %llu 4096", byte, (unsigned long long)off);
		cmd_add(&c, path);
		run_cmd_ok(&c);
	}
}

/* The byte at offset as a guest sees it (other formats: through a raw
 * copy in the fixture's temp dir). */
unsigned char vol_read(struct contract_env *env, struct storage *st, const char *volname,
                       const char *fmt, uint64_t off)
{
	_cleanup_free_ char *path = vol_path(st, volname);
	_cleanup_free_ char *copy = NULL;
	_cleanup_close_ int fd = -1;
	unsigned char b = 0xff;

	if (!streq(fmt, "raw")) {
		struct cmd c;

		copy = path_join(env->root, "read.raw");
		cmd_init(&c, "qemu-img");
		cmd_add(&c, "convert");
		cmd_add(&c, "-f");
		cmd_add(&c, fmt);
		cmd_add(&c, "-O");
		cmd_add(&c, "raw");
		cmd_add(&c, path);
		cmd_add(&c, copy);
		run_cmd_ok(&c);
	}
	fd = open(copy ? copy : path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
	if (copy)
		(void)unlink(copy);
	return b;
}

bool has_format(const struct storage *st, const char *fmt)
{
	return storage_backend_has_format(st->be, fmt);
}

bool listed(struct storage *st, long vmid, const char *volname)
{
	struct storage_volume *v = NULL;
	size_t n = 0;
	bool found = false;

	OK(storage_list(st, vmid, NULL, &v, &n, E), "list");
	for (size_t i = 0; i < n; i++)
		found |= streq(v[i].volname, volname);
	storage_volume_list_free(v, n);
	return found;
}

size_t count(struct storage *st, long vmid)
{
	struct storage_volume *v = NULL;
	size_t n = 0;

	OK(storage_list(st, vmid, NULL, &v, &n, E), "list");
	storage_volume_list_free(v, n);
	return n;
}

int leftover_entry(const char *path, const struct stat *s, int flag, struct FTW *ftw)
{
	/* content directories may stay, anything else is a leak; images/<vmid>
	 * directories count as leaks too */
	if (flag != FTW_D && flag != FTW_DP) {
		print_error("left behind: %s\n", path);
		return 1;
	}
	if (ftw->level == 2 && strstr(path, "/images/")) {
		print_error("left behind: %s\n", path);
		return 1;
	}
	return 0;
}

/* FS_IOC_GETFLAGS works on the file system holding dir */
bool flags_supported(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int flags = 0;

	return fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
}

bool file_immutable(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	int flags = 0;

	assert_true(fd >= 0);
	assert_int_equal(ioctl(fd, FS_IOC_GETFLAGS, &flags), 0);
	return flags & FS_IMMUTABLE_FL;
}

/* --- the sequence --- */

/*
 * A full copy of snapshot "snap1" of volname (taken with 0x11 at 64 KiB,
 * 0x22 written since): where the backend can read the snapshot (PVE's
 * volume_has_feature 'copy' with a snapname) the copy holds the snapshot's
 * byte, not the current one; elsewhere it is refused with a 500 and
 * nothing is allocated.  A missing snapshot allocates nothing either.
 */
static void copy_snapshot_step(const struct contract_fixture *fx, struct contract_env *env,
                               struct storage *st, const char *volname, const char *fmt)
{
	struct storage_volume info;
	struct error *err = NULL;
	char *copy = NULL;

	if (fx->copy_snapshot)
		assert_true(storage_can_copy_snapshot(st, volname, "snap1"));
	if (storage_can_copy_snapshot(st, volname, "snap1")) {
		OK(storage_copy_snapshot(st, volname, "snap1", st, NULL, 102, NULL, &copy, E),
		   "copy snapshot");
		OK(storage_info(st, copy, &info, E), "info copy");
		assert_int_equal(info.vmid, 102);
		assert_null(info.parent);
		assert_int_equal(vol_read(env, st, copy, info.format, 64 << 10), 0x11);
		storage_volume_clear(&info);
		assert_int_equal(vol_read(env, st, volname, fmt, 64 << 10), 0x22);
		OK(storage_free_volume(st, copy, NULL, E), "free copy");
		free(copy);
		copy = NULL;
		assert_true(storage_copy_snapshot(st, volname, "nosuch", st, NULL, 102, NULL, &copy,
		                                  &err) < 0);
		err = error_free(err);
	} else {
		assert_int_equal(
		    storage_copy_snapshot(st, volname, "snap1", st, NULL, 102, NULL, &copy, &err),
		    -EOPNOTSUPP);
		assert_int_equal(err->http_status, 500);
		err = error_free(err);
	}
	assert_null(copy);
	assert_int_equal(count(st, 102), 0);
}

/* The same for a container volume (a subvol) where the backend can copy
 * from its snapshots (btrfs): a file written after the snapshot is not in
 * the copy, a file changed since has its old content. */
static void copy_subvol_snapshot_step(struct storage *st, const char *volname)
{
	_cleanup_free_ char *dir = vol_path(st, volname);
	_cleanup_free_ char *marker = path_join(dir, "marker");
	_cleanup_free_ char *after = path_join(dir, "after");
	_cleanup_free_ char *buf = NULL;
	char *copy = NULL;

	assert_int_equal(write_file_atomic(marker, "old\n", 4, 0644, NULL), 0);
	OK(storage_snapshot_create(st, volname, "snap1", NULL, E), "snapshot subvol");
	assert_int_equal(write_file_atomic(marker, "new\n", 4, 0644, NULL), 0);
	assert_int_equal(write_file_atomic(after, "x\n", 2, 0644, NULL), 0);
	OK(storage_copy_snapshot(st, volname, "snap1", st, NULL, 102, NULL, &copy, E),
	   "copy subvol snapshot");
	_cleanup_free_ char *cdir = vol_path(st, copy);
	_cleanup_free_ char *cmarker = path_join(cdir, "marker");
	_cleanup_free_ char *cafter = path_join(cdir, "after");
	size_t n = 0;

	assert_int_equal(read_file(cmarker, 64, &buf, &n, NULL), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "old\n", 4);
	assert_int_equal(access(cafter, F_OK), -1);
	OK(storage_free_volume(st, copy, NULL, E), "free subvol copy");
	free(copy);
	assert_int_equal(count(st, 102), 0);
	OK(storage_snapshot_delete(st, volname, "snap1", NULL, E), "delsnapshot subvol");
	assert_int_equal(unlink(marker), 0);
	assert_int_equal(unlink(after), 0);
}

void contract_run(const struct contract_fixture *fx)
{
	struct contract_env env = {0};
	struct storage *st = NULL;
	struct storage_status status;
	struct storage_volume info;
	_cleanup_free_ char *lockdir = NULL;
	char *vols[4] = {0};
	const char *fmts[4] = {0};
	size_t n_vols = 0;
	const char *snapvol = NULL, *snapfmt = NULL;
	_cleanup_free_ char *base_path = NULL;
	int r;

	r = fx->setup(&env);
	if (r == -EOPNOTSUPP) {
		print_message("[  SKIP    ] contract on %s: fixture not available here\n",
		              fx->type);
		/* the lab tier must not pass by skipping what it is there for */
		if (getenv("CTVM_CONTRACT_REQUIRE"))
			fail_msg("CTVM_CONTRACT_REQUIRE is set and %s is not available", fx->type);
		skip();
	}
	assert_int_equal(r, 0);
	lockdir = path_join(env.root, "lock");
	assert_int_equal(mkdir(lockdir, 0700), 0);
	storage_set_lock_dir(lockdir);

	OK(env_open(&env, &st, E), "open");
	assert_string_equal(st->be->type, fx->type);
	OK(storage_activate(st, E), "activate");
	OK(storage_status(st, &status, E), "status");
	assert_true(status.active);
	assert_true(status.total > 0);
	assert_int_equal(count(st, 0), 0);

	/* allocate raw and qcow2 where listed, and a subvol */
	static const char *const try_fmts[] = {"raw", "qcow2"};
	for (size_t i = 0; i < ARRAY_SIZE(try_fmts); i++) {
		if (!has_format(st, try_fmts[i]))
			continue;
		OK(storage_alloc(st, 100, try_fmts[i], NULL, 4 * MiB, NULL, &vols[n_vols], E),
		   "alloc");
		assert_non_null(strstr(vols[n_vols], "vm-100-disk-"));
		fmts[n_vols++] = try_fmts[i];
	}
	assert_true(n_vols > 0);
	if ((st->be->caps & STORAGE_CAP_SUBVOL) && has_format(st, "subvol")) {
		struct error *err = NULL;
		char *bad = NULL;

		/* a subvol has no size: PVE refuses one with a quota */
		if (!fx->subvol_size) {
			assert_true(storage_alloc(st, 100, "subvol", NULL, MiB, NULL, &bad, &err) <
			            0);
			error_free(err);
		}
		OK(storage_alloc(st, 100, "subvol", NULL, 0, NULL, &vols[n_vols], E), "subvol");
		fmts[n_vols++] = "subvol";
	}

	/* list and info */
	assert_int_equal(count(st, 100), n_vols);
	assert_int_equal(count(st, 101), 0);
	for (size_t i = 0; i < n_vols; i++) {
		assert_true(listed(st, 100, vols[i]));
		OK(storage_info(st, vols[i], &info, E), "info");
		assert_string_equal(info.format, fmts[i]);
		assert_int_equal(info.vmid, 100);
		assert_int_equal(info.size, streq(fmts[i], "subvol") ? 0 : 4 * MiB);
		assert_null(info.parent);
		storage_volume_clear(&info);
	}
	OK(storage_status(st, &status, E), "status");
	if (fx->check_status)
		fx->check_status(&env, &status);
	if (st->be->caps & STORAGE_CAP_THIN)
		assert_int_equal(status.provisioned,
		                 (n_vols - (streq(fmts[n_vols - 1], "subvol"))) * 4 * MiB);

	/* resize */
	if (st->be->caps & STORAGE_CAP_RESIZE) {
		for (size_t i = 0; i < n_vols; i++) {
			if (streq(fmts[i], "subvol"))
				continue;
			OK(storage_resize(st, vols[i], 8 * MiB, NULL, E), "resize");
			OK(storage_info(st, vols[i], &info, E), "info");
			assert_int_equal(info.size, 8 * MiB);
			storage_volume_clear(&info);
		}
	}

	/* pick the volume for snapshots and clones: qcow2 if there is one */
	for (size_t i = 0; i < n_vols; i++)
		if (!streq(fmts[i], "subvol") && (!snapvol || streq(fmts[i], "qcow2"))) {
			snapvol = vols[i];
			snapfmt = fmts[i];
		}
	assert_non_null(snapvol);

	/* write, snapshot, overwrite, rollback: the data comes back */
	vol_write(st, snapvol, snapfmt, 64 << 10, 0x11);
	assert_int_equal(vol_read(&env, st, snapvol, snapfmt, 64 << 10), 0x11);
	if (st->be->caps & STORAGE_CAP_SNAPSHOT) {
		struct storage_snapshot *snaps = NULL;
		size_t n_snaps = 0;

		/* a volume without snapshots lists none, whatever its format */
		for (size_t i = 0; i < n_vols; i++) {
			OK(storage_snapshot_list(st, vols[i], &snaps, &n_snaps, E), "snaplist");
			assert_int_equal(n_snaps, 0);
			storage_snapshot_list_free(snaps, n_snaps);
		}
		OK(storage_snapshot_create(st, snapvol, "snap1", NULL, E), "snapshot");
		vol_write(st, snapvol, snapfmt, 64 << 10, 0x22);
		assert_int_equal(vol_read(&env, st, snapvol, snapfmt, 64 << 10), 0x22);
		copy_snapshot_step(fx, &env, st, snapvol, snapfmt);
		for (size_t i = 0; i < n_vols; i++)
			if (streq(fmts[i], "subvol") &&
			    storage_can_copy_snapshot(st, vols[i], "snap1"))
				copy_subvol_snapshot_step(st, vols[i]);
		OK(storage_snapshot_create(st, snapvol, "snap2", NULL, E), "snapshot 2");
		OK(storage_snapshot_list(st, snapvol, &snaps, &n_snaps, E), "snaplist");
		assert_int_equal(n_snaps, 2);
		assert_string_equal(snaps[0].name, "snap1");
		assert_string_equal(snaps[1].name, "snap2");
		assert_true(snaps[0].ctime > 0 && snaps[0].ctime <= snaps[1].ctime);
		assert_true(snaps[1].ctime <= time(NULL));
		storage_snapshot_list_free(snaps, n_snaps);
		if (fx->rollback_latest_only) {
			struct error *err = NULL;

			assert_true(storage_snapshot_rollback(st, snapvol, "snap1", NULL, &err) <
			            0);
			assert_non_null(strstr(err->msg, "'snap2'"));
			error_free(err);
			assert_int_equal(vol_read(&env, st, snapvol, snapfmt, 64 << 10), 0x22);
			OK(storage_snapshot_rollback_flags(st, snapvol, "snap1",
			                                   STORAGE_ROLLBACK_DESTROY_NEWER, NULL, E),
			   "rollback destroying newer");
		} else {
			OK(storage_snapshot_rollback(st, snapvol, "snap1", NULL, E), "rollback");
		}
		assert_int_equal(vol_read(&env, st, snapvol, snapfmt, 64 << 10), 0x11);
		OK(storage_snapshot_delete(st, snapvol, "snap1", NULL, E), "delsnapshot");
		if (!fx->rollback_latest_only)
			OK(storage_snapshot_delete(st, snapvol, "snap2", NULL, E), "delsnapshot 2");
		OK(storage_snapshot_list(st, snapvol, &snaps, &n_snaps, E), "snaplist");
		assert_int_equal(n_snaps, 0);
		storage_snapshot_list_free(snaps, n_snaps);
		{
			struct error *err = NULL;
			/* in the backend's grammar: "100/<name>.<fmt>" on
			 * file storages, a bare LV or zvol name elsewhere */
			char *missing = strchr(snapvol, '/')
			                    ? xasprintf("100/vm-100-disk-9.%s", snapfmt)
			                    : xstrdup("vm-100-disk-9");

			assert_true(storage_snapshot_list(st, missing, &snaps, &n_snaps, &err) < 0);
			assert_int_equal(err->http_status, 404);
			error_free(err);
			free(missing);
		}
		{
			struct error *err = NULL;

			/* names go into argv and file names: the grammar is enforced */
			assert_int_equal(storage_snapshot_create(st, snapvol, "-x", NULL, &err),
			                 -EINVAL);
			error_free(err);
		}
	}

	/* template, linked clone, independence, the base is kept while used */
	if ((st->be->caps & STORAGE_CAP_TEMPLATE) && (st->be->caps & STORAGE_CAP_CLONE)) {
		char *base = NULL, *clone = NULL;
		struct error *err = NULL;

		OK(storage_create_base(st, snapvol, NULL, &base, E), "create_base");
		assert_non_null(strstr(base, "base-100-disk-"));
		if (streq(fx->type, "dir")) {
			/* a dir template is a read-only, immutable file (where
			 * the file system and our privileges allow: root on
			 * ext4 here) */
			_cleanup_free_ char *bp = vol_path(st, base);
			struct stat sb;

			assert_int_equal(stat(bp, &sb), 0);
			assert_int_equal(sb.st_mode & 0777, 0444);
			if (flags_supported(env.root) && geteuid() == 0)
				assert_true(file_immutable(bp));
			base_path = xstrdup(bp);
		}
		assert_false(listed(st, 100, snapvol));
		assert_true(listed(st, 100, base));
		for (size_t i = 0; i < n_vols; i++)
			if (vols[i] == snapvol) {
				free(vols[i]);
				snapvol = vols[i] = xstrdup(base);
			}

		OK(storage_clone(st, base, 101, NULL, NULL, &clone, E), "clone");
		assert_true(listed(st, 101, clone));
		OK(storage_info(st, clone, &info, E), "info clone");
		assert_int_equal(info.vmid, 101);
		assert_int_equal(info.size, 8 * MiB);
		assert_non_null(info.parent);
		storage_volume_clear(&info);

		/* the clone sees the base's data; its writes stay its own */
		_cleanup_free_ char *clone_fmt = NULL;
		OK(storage_info(st, clone, &info, E), "info clone");
		clone_fmt = xstrdup(info.format);
		storage_volume_clear(&info);
		assert_int_equal(vol_read(&env, st, clone, clone_fmt, 64 << 10), 0x11);
		vol_write(st, clone, clone_fmt, 128 << 10, 0x33);
		vol_write(st, clone, clone_fmt, 64 << 10, 0x44);
		assert_int_equal(vol_read(&env, st, clone, clone_fmt, 128 << 10), 0x33);
		assert_int_equal(vol_read(&env, st, base, snapfmt, 128 << 10), 0x00);
		assert_int_equal(vol_read(&env, st, base, snapfmt, 64 << 10), 0x11);

		r = storage_free_volume(st, base, NULL, &err);
		assert_int_equal(r, -EBUSY);
		assert_non_null(err);
		assert_non_null(strstr(err->msg, "base with linked clones"));
		err = error_free(err);
		assert_true(listed(st, 100, base));

		OK(storage_free_volume(st, clone, NULL, E), "free clone");
		free(clone);
		free(base);
	}

	/* free everything; nothing is left behind */
	for (size_t i = 0; i < n_vols; i++) {
		OK(storage_free_volume(st, vols[i], NULL, E), "free");
		free(vols[i]);
	}
	assert_int_equal(count(st, 0), 0);
	if (fx->assert_empty)
		fx->assert_empty(&env);
	else
		assert_int_equal(nftw(env.path, leftover_entry, 16, FTW_PHYS), 0);
	/* free cleared the attribute first, else unlink had failed */
	if (base_path)
		assert_int_equal(access(base_path, F_OK), -1);

	storage_free(st);
	storage_set_lock_dir(NULL);
	fx->teardown(&env);
	env_config_free(&env);
	free(env.root);
	free(env.path);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The btrfs backend on a real btrfs (a loop-mounted 512 MiB file, see
 * btrfs-fixture.h), through the storage_*() entry points.  Skipped when
 * not root or when mkfs.btrfs or loop devices are missing.
 */
#include "common.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "btrfs-fixture.h"
#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage.h"
#include "xalloc.h"

struct ctx {
	struct btrfs_fixture *fx;
	struct storage *st;
	char lockdir[64];
};

static int setup(void **state)
{
	struct ctx *c = xnew(struct ctx, 1);
	*state = c;
	int r = btrfs_fixture_setup("bt", &c->fx);
	if (r == -EOPNOTSUPP)
		return 0;
	if (r < 0)
		return -1;
	snprintf(c->lockdir, sizeof(c->lockdir), "%s", "/tmp/ctvm-btrfs-lock-XXXXXX");
	if (!mkdtemp(c->lockdir))
		return -1;
	storage_set_lock_dir(c->lockdir);
	struct error *err = NULL;
	/* the storage holds the snapshot, which takes the fixture's config */
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap =
	    storage_config_snapshot_new(TAKE_PTR(c->fx->cfg));
	r = storage_open(snap, "bt", &c->st, &err);
	if (r >= 0)
		r = storage_activate(c->st, &err);
	if (r < 0)
		fprintf(stderr, "%s\n", err ? err->msg : "?");
	error_free(err);
	return r < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	storage_free(c->st);
	btrfs_fixture_teardown(c->fx);
	if (c->lockdir[0]) {
		_cleanup_free_ char *lock = xasprintf("%s/storage-bt.lock", c->lockdir);
		(void)unlink(lock);
		(void)rmdir(c->lockdir);
	}
	storage_set_lock_dir(NULL);
	free(c);
	return 0;
}

#define OK(call)                                                                  \
	do {                                                                      \
		struct error *e_ = NULL;                                          \
		int r_ = (call);                                                  \
		if (r_ < 0)                                                       \
			fail_msg("%s: %s", #call, e_ ? e_->msg : "(no message)"); \
		error_free(e_);                                                   \
	} while (0)
#define E (&e_)

static void write_marker(struct storage *st, const char *volname, const char *file,
                         const char *text)
{
	_cleanup_free_ char *p = NULL;
	OK(storage_path(st, volname, &p, E));
	_cleanup_free_ char *f = file ? path_join(p, file) : xstrdup(p);
	int fd = open(f, O_WRONLY | (file ? O_CREAT | O_TRUNC : 0), 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, text, strlen(text), 0), (ssize_t)strlen(text));
	close(fd);
}

static bool marker_is(struct storage *st, const char *volname, const char *file, const char *text)
{
	_cleanup_free_ char *p = NULL;
	OK(storage_path(st, volname, &p, E));
	_cleanup_free_ char *f = file ? path_join(p, file) : xstrdup(p);
	char buf[64] = {0};
	int fd = open(f, O_RDONLY);
	if (fd < 0)
		return false;
	ssize_t n = pread(fd, buf, strlen(text), 0);
	close(fd);
	return n == (ssize_t)strlen(text) && memcmp(buf, text, strlen(text)) == 0;
}

static void test_lifecycle(void **state)
{
	struct ctx *c = *state;
	if (!c->st)
		skip();
	struct storage *st = c->st;
	_cleanup_free_ char *raw = NULL, *sv = NULL, *raw2 = NULL;

	/* alloc raw + subvol */
	OK(storage_alloc(st, 100, "raw", NULL, 4 << 20, NULL, &raw, E));
	assert_string_equal(raw, "100/vm-100-disk-0.raw");
	OK(storage_alloc(st, 100, "raw", NULL, 1 << 20, NULL, &raw2, E));
	assert_string_equal(raw2, "100/vm-100-disk-1.raw");
	OK(storage_alloc(st, 101, "subvol", NULL, 64 << 20, NULL, &sv, E));
	assert_string_equal(sv, "101/subvol-101-disk-0.subvol");

	struct error *err = NULL;
	char *bad = NULL;
	assert_true(storage_alloc(st, 100, "qcow2", NULL, 1 << 20, NULL, &bad, &err) < 0);
	err = error_free(err);
	assert_true(storage_alloc(st, 100, "raw", "vm-100-disk-0", 1 << 20, NULL, &bad, &err) < 0);
	err = error_free(err);

	/* list */
	struct storage_volume *vols = NULL;
	size_t n = 0;
	OK(storage_list(st, 0, NULL, &vols, &n, E));
	assert_int_equal(n, 3);
	assert_string_equal(vols[0].volname, "100/vm-100-disk-0.raw");
	assert_string_equal(vols[2].volname, "101/subvol-101-disk-0.subvol");
	assert_string_equal(vols[2].vtype, "rootdir");
	storage_volume_list_free(vols, n);
	OK(storage_list(st, 101, NULL, &vols, &n, E));
	assert_int_equal(n, 1);
	storage_volume_list_free(vols, n);
	OK(storage_list(st, 0, "images", &vols, &n, E));
	assert_int_equal(n, 2);
	storage_volume_list_free(vols, n);

	/* info */
	struct storage_volume info = {0};
	OK(storage_info(st, raw, &info, E));
	assert_int_equal(info.size, 4 << 20);
	assert_string_equal(info.format, "raw");
	assert_int_equal(info.vmid, 100);
	assert_null(info.parent);
	assert_true(info.ctime > 0);
	storage_volume_clear(&info);
	OK(storage_info(st, sv, &info, E));
	assert_int_equal(info.size, 64 << 20);
	assert_string_equal(info.format, "subvol");
	storage_volume_clear(&info);
	assert_true(storage_info(st, "100/vm-100-disk-9.raw", &info, &err) < 0);
	err = error_free(err);
	assert_true(storage_info(st, "100/../../etc.raw", &info, &err) < 0);
	err = error_free(err);

	/* status */
	struct storage_status ss = {0};
	OK(storage_status(st, &ss, E));
	assert_true(ss.active);
	assert_true(ss.total > 0 && ss.avail > 0 && ss.avail <= ss.total);
	assert_int_equal(ss.provisioned, (4 << 20) + (1 << 20) + (64 << 20));

	/* resize: grow raw and subvol, refuse shrink */
	OK(storage_resize(st, raw, 8 << 20, NULL, E));
	OK(storage_info(st, raw, &info, E));
	assert_int_equal(info.size, 8 << 20);
	storage_volume_clear(&info);
	assert_true(storage_resize(st, raw, 1 << 20, NULL, &err) < 0);
	err = error_free(err);
	OK(storage_resize(st, sv, 128 << 20, NULL, E));
	OK(storage_info(st, sv, &info, E));
	assert_int_equal(info.size, 128 << 20);
	storage_volume_clear(&info);

	/* snapshot, change, rollback */
	write_marker(st, raw, NULL, "before");
	write_marker(st, sv, "marker", "before");
	OK(storage_snapshot_create(st, raw, "snap1", NULL, E));
	OK(storage_snapshot_create(st, sv, "snap1", NULL, E));
	assert_true(storage_snapshot_create(st, raw, "snap1", NULL, &err) < 0);
	err = error_free(err);
	write_marker(st, raw, NULL, "after!");
	write_marker(st, sv, "marker", "after!");
	OK(storage_snapshot_create(st, raw, "snap2", NULL, E));
	OK(storage_list(st, 0, NULL, &vols, &n, E));
	assert_int_equal(n, 3); /* snapshots are not volumes */
	storage_volume_list_free(vols, n);

	OK(storage_snapshot_rollback(st, raw, "snap1", NULL, E));
	OK(storage_snapshot_rollback(st, sv, "snap1", NULL, E));
	assert_true(marker_is(st, raw, NULL, "before"));
	assert_true(marker_is(st, sv, "marker", "before"));
	OK(storage_info(st, sv, &info, E)); /* the limit survives the rollback */
	assert_int_equal(info.size, 128 << 20);
	storage_volume_clear(&info);
	/* a newer snapshot survives; rolling forward works */
	OK(storage_snapshot_rollback(st, raw, "snap2", NULL, E));
	assert_true(marker_is(st, raw, NULL, "after!"));
	assert_true(storage_snapshot_rollback(st, raw, "nosuch", NULL, &err) < 0);
	err = error_free(err);
	OK(storage_snapshot_delete(st, raw, "snap2", NULL, E));
	assert_true(storage_snapshot_delete(st, raw, "snap2", NULL, &err) < 0);
	err = error_free(err);

	/* full-copy style clone from a snapshot: independent */
	_cleanup_free_ char *copy = NULL;
	OK(storage_clone(st, raw, 102, "snap1", NULL, &copy, E));
	assert_string_equal(copy, "102/vm-102-disk-0.raw");
	assert_true(marker_is(st, copy, NULL, "before"));
	write_marker(st, copy, NULL, "copied");
	assert_true(marker_is(st, raw, NULL, "after!"));
	OK(storage_info(st, copy, &info, E));
	assert_null(info.parent);
	storage_volume_clear(&info);
	/* a plain volume without snapshot is no base */
	char *nob = NULL;
	assert_true(storage_clone(st, raw, 102, NULL, NULL, &nob, &err) < 0);
	err = error_free(err);

	/* template + linked clone */
	_cleanup_free_ char *base = NULL, *linked = NULL, *svbase = NULL, *svlinked = NULL;
	OK(storage_create_base(st, raw, NULL, &base, E));
	assert_string_equal(base, "100/base-100-disk-0.raw");
	assert_true(storage_info(st, raw, &info, &err) < 0);
	err = error_free(err);
	{
		_cleanup_free_ char *p = NULL;
		OK(storage_path(st, base, &p, E));
		assert_true(open(p, O_WRONLY) < 0); /* read-only subvolume */
	}
	OK(storage_clone(st, base, 103, NULL, NULL, &linked, E));
	assert_string_equal(linked, "103/vm-103-disk-0.raw");
	OK(storage_info(st, linked, &info, E));
	assert_string_equal(info.parent, base);
	storage_volume_clear(&info);
	assert_true(marker_is(st, linked, NULL, "after!"));
	write_marker(st, linked, NULL, "linked");
	assert_true(marker_is(st, base, NULL, "after!"));
	/* the base's snapshot moved with it */
	_cleanup_free_ char *copy2 = NULL;
	OK(storage_clone(st, base, 104, "snap1", NULL, &copy2, E));
	assert_true(marker_is(st, copy2, NULL, "before"));

	OK(storage_create_base(st, sv, NULL, &svbase, E));
	assert_string_equal(svbase, "101/basevol-101-disk-0.subvol");
	OK(storage_clone(st, svbase, 105, NULL, NULL, &svlinked, E));
	assert_string_equal(svlinked, "105/subvol-105-disk-0.subvol");
	OK(storage_info(st, svlinked, &info, E));
	assert_int_equal(info.size, 128 << 20); /* the limit is copied */
	assert_string_equal(info.parent, svbase);
	storage_volume_clear(&info);

	/* refuse freeing a base with clones */
	assert_true(storage_free_volume(st, base, NULL, &err) < 0);
	err = error_free(err);
	assert_true(storage_free_volume(st, svbase, NULL, &err) < 0);
	err = error_free(err);

	/* free all: clones first, then the bases */
	OK(storage_free_volume(st, linked, NULL, E));
	OK(storage_free_volume(st, svlinked, NULL, E));
	OK(storage_free_volume(st, copy, NULL, E));
	OK(storage_free_volume(st, copy2, NULL, E));
	OK(storage_free_volume(st, base, NULL, E));
	OK(storage_free_volume(st, svbase, NULL, E));
	OK(storage_free_volume(st, raw2, NULL, E));

	/* nothing left: no volumes, no snapshots, no directories */
	OK(storage_list(st, 0, NULL, &vols, &n, E));
	assert_int_equal(n, 0);
	storage_volume_list_free(vols, n);
	_cleanup_free_ char *img = xasprintf("%s/images", c->st->path);
	_cleanup_free_ char *d100 = xasprintf("%s/100", img), *d101 = xasprintf("%s/101", img);
	assert_true(access(d100, F_OK) < 0);
	assert_true(access(d101, F_OK) < 0);
}

/* Not on btrfs: activation refuses, status is inactive (no root needed). */
/* A sized container volume without quotas: a sentence that says what to
 * do, not btrfs's "quota not enabled", and nothing left behind. */
static void test_quota_off(void **state)
{
	struct ctx *c = *state;
	struct error *err = NULL;
	struct cmd cmd;
	char *sv = NULL;

	if (!c->st)
		skip();
	cmd_init(&cmd, "btrfs");
	cmd_add(&cmd, "quota");
	cmd_add(&cmd, "disable");
	cmd_add(&cmd, c->fx->mnt);
	assert_int_equal(cmd_run(&cmd, NULL, &err), 0);
	cmd_release(&cmd);
	assert_int_equal(storage_alloc(c->st, 101, "subvol", NULL, 64 << 20, NULL, &sv, &err),
	                 -EOPNOTSUPP);
	assert_non_null(strstr(err->msg, "btrfs quotas are not enabled on the file system of"));
	assert_null(strstr(err->msg, "quota not enabled"));
	err = error_free(err);
	struct storage_volume *v = NULL;
	size_t n = 0;
	OK(storage_list(c->st, 0, NULL, &v, &n, E));
	assert_int_equal(n, 0);
	storage_volume_list_free(v, n);
	/* without a size it works */
	OK(storage_alloc(c->st, 101, "subvol", NULL, 0, NULL, &sv, E));
	OK(storage_free_volume(c->st, sv, NULL, E));
	free(sv);
}

static void test_not_btrfs(void **state)
{
	char tmpl[] = "/tmp/ctvm-notbtrfs-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	_cleanup_free_ char *path = path_join(tmpl, "store");
	struct section_config *cfg = section_config_new();
	struct section *sec = NULL;
	struct error *err = NULL;
	struct storage *st = NULL;
	assert_int_equal(section_config_add(cfg, "btrfs", "nb", &sec, NULL), 0);
	section_set(sec, "path", path);
	section_set(sec, "content", "images");
	const struct storage_config_snapshot *snap = storage_config_snapshot_new(cfg);
	assert_int_equal(storage_open(snap, "nb", &st, NULL), 0);
	storage_set_lock_dir(tmpl);
	assert_int_equal(storage_activate(st, &err), -ENOTSUP);
	assert_non_null(strstr(err->msg, "is not on btrfs"));
	err = error_free(err);
	struct storage_status ss = {.active = true};
	assert_int_equal(storage_status(st, &ss, NULL), 0);
	assert_false(ss.active);
	/* names that are not btrfs volumes, or would leave the storage */
	static const char *const bad[] = {
	    "100/../../x.raw",      "100/vm-100-disk-0.qcow2", "100/vm-101-disk-0.raw",
	    "100/subvol-100-a.raw", "100/vm-100-disk-0@s.raw", "0100/vm-100-disk-0.raw",
	    "100/vm-100-.raw",      "vm-100-disk-0.raw",       "",
	    "100/base-100-x/y.raw",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *p = NULL;
		if (storage_path(st, bad[i], &p, &err) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
		err = error_free(err);
	}
	char *p = NULL;
	assert_int_equal(storage_path(st, "100/vm-100-disk-0.raw", &p, NULL), 0);
	_cleanup_free_ char *want = xasprintf("%s/images/100/vm-100-disk-0/disk.raw", path);
	assert_string_equal(p, want);
	free(p);
	assert_int_equal(storage_path(st, "101/subvol-101-disk-1.subvol", &p, NULL), 0);
	free(want);
	want = xasprintf("%s/images/101/subvol-101-disk-1", path);
	assert_string_equal(p, want);
	free(p);
	/* a snapshot is a subvolume of its own: a copy reads it, for disks
	 * and container volumes alike (PVE's BTRFSPlugin 'copy' with 'snap') */
	assert_true(storage_can_copy_snapshot(st, "100/vm-100-disk-0.raw", "s1"));
	assert_true(storage_can_copy_snapshot(st, "101/subvol-101-disk-1.subvol", "s1"));
	assert_false(storage_can_copy_snapshot(st, "100/vm-100-disk-0.raw", "-s1"));
	storage_free(st);
	storage_config_snapshot_unref(snap);
	storage_set_lock_dir(NULL);
	_cleanup_free_ char *lock = xasprintf("%s/storage-nb.lock", tmpl);
	(void)unlink(lock);
	_cleanup_free_ char *images = path_join(path, "images");
	(void)rmdir(images);
	(void)rmdir(path);
	(void)rmdir(tmpl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_not_btrfs),
	    cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quota_off, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The zfspool backend through the storage_*() entry points under the
 * command runner's dry run (tests/lib/cmd-dryrun.h): the scripted zfs and
 * zpool output each operation reads, the exact commands it runs, and its
 * refusals (full pool, overcommit, rollback past newer snapshots) that run
 * nothing.  The real kernel module is the lab VM tier's.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend-zfs.h"
#include "cmd-dryrun.h"
#include "dryrun-fixture.h"
#include "error.h"
#include "storage.h"
#include "xalloc.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static int group_setup(void **state)
{
	dryrun_fixture_setup("zfs");
	zfs_set_zvol_wait(0); /* nothing is created */
	return 0;
}

static int group_teardown(void **state)
{
	dryrun_fixture_teardown();
	return 0;
}

static struct storage *open_store(const char *k1, const char *v1, const char *k2, const char *v2)
{
	const char *kv[] = {"pool", "rpool/data", "content", "images,rootdir", k1, v1,
	                    k2,     v2,           NULL};
	return dryrun_open_store("zfspool", "z", kv);
}

static char *recorded(const char *name)
{
	return dryrun_recorded("zfs", name);
}

#define LIST                                        \
	"zfs list -Hp -t volume,filesystem -d1 -o " \
	"name,type,volsize,refquota,origin,used,creation rpool/data"
#define SPACE "zfs get -Hp -o name,property,value available,used rpool/data"
#define SNAPS "zfs list -Hp -t snapshot -d1 -s creation -o name,creation"
#define POOL  "zpool list -Hp -o name,size,alloc,free,frag,cap,health rpool"

/* the recorded pool: 850 GiB free, 50 GiB used */
static void on_pool(const char *space)
{
	_cleanup_free_ char *list = recorded("list.txt");
	_cleanup_free_ char *get = recorded("get.txt");
	_cleanup_free_ char *pool = recorded("zpool-list.txt");

	cmd_dryrun_on(LIST, 0, list, NULL);
	cmd_dryrun_on("zfs get", 0, space ? space : get, NULL);
	cmd_dryrun_on("zpool list", 0, pool, NULL);
	cmd_dryrun_on(SNAPS " rpool/data/vm-100-disk-0", 0,
	              "rpool/data/vm-100-disk-0@s1\t1733160000\n"
	              "rpool/data/vm-100-disk-0@s2\t1733160600\n"
	              "rpool/data/vm-100-disk-0@s3\t1733170000\n",
	              NULL);
	cmd_dryrun_on(SNAPS " rpool/data/base-9000-disk-0", 0,
	              "rpool/data/base-9000-disk-0@__base__\t1733150000\n", NULL);
	cmd_dryrun_on(SNAPS " rpool/data/vm-100-disk-9", 1, NULL,
	              "cannot open 'rpool/data/vm-100-disk-9': dataset does not exist");
}

static void test_names(void **state)
{
	struct storage *st = open_store(NULL, NULL, NULL, NULL);
	struct volname_info i = {0};
	struct error *err = NULL;
	char *path = NULL;

	assert_int_equal(storage_parse_volname(st, "base-100-disk-0/vm-101-disk-0", &i, &err), 0);
	assert_int_equal(i.vmid, 101);
	assert_string_equal(i.basename, "base-100-disk-0");
	assert_int_equal(i.basevmid, 100);
	assert_string_equal(i.format, "raw");
	volname_info_clear(&i);
	assert_int_equal(storage_parse_volname(st, "subvol-102-disk-1", &i, &err), 0);
	assert_string_equal(i.format, "subvol");
	assert_false(i.is_base);
	volname_info_clear(&i);
	assert_int_equal(storage_parse_volname(st, "basevol-102-disk-1", &i, &err), 0);
	assert_true(i.is_base);
	volname_info_clear(&i);
	static const char *const bad[] = {"vm-100-disk-0/vm-101-disk-0",
	                                  "vm-100",
	                                  "x-100-disk-0",
	                                  "vm-100-disk-0@snap",
	                                  "rpool/vm-100-disk-0",
	                                  "vm-0-disk-0",
	                                  "100/vm-100-disk-0.raw"};
	for (size_t k = 0; k < ARRAY_SIZE(bad); k++) {
		assert_int_equal(storage_parse_volname(st, bad[k], &i, &err), -EINVAL);
		assert_int_equal(err->http_status, 400);
		err = error_free(err);
	}
	assert_int_equal(storage_path(st, "base-100-disk-0/vm-101-disk-0", &path, &err), 0);
	assert_string_equal(path, "/dev/zvol/rpool/data/vm-101-disk-0");
	free(path);
	assert_int_equal(storage_path(st, "subvol-102-disk-0", &path, &err), 0);
	assert_string_equal(path, "/rpool/data/subvol-102-disk-0");
	free(path);
	storage_free(st);
}

static void test_status_list(void **state)
{
	struct storage *st = open_store(NULL, NULL, NULL, NULL);
	struct storage_status s;
	struct storage_volume *v = NULL;
	struct error *err = NULL;
	size_t n = 0;

	cmd_dryrun_begin();
	on_pool(NULL);
	assert_int_equal(storage_status(st, &s, &err), 0);
	assert_true(s.active);
	assert_int_equal(s.total, 912680550400ull + 53687091200ull);
	assert_int_equal(s.used, 53687091200ull);
	assert_int_equal(s.avail, 912680550400ull);
	/* three zvols of 32 GiB and an 8 GiB refquota */
	assert_int_equal(s.provisioned, 3 * 34359738368ull + 8589934592ull);
	assert_string_equal(s.health, "ONLINE");
	assert_true(s.has_pool);
	assert_int_equal(s.warn_level, 0);
	assert_true(s.meta_pct < 0);

	assert_int_equal(storage_list(st, 0, NULL, &v, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_string_equal(v[0].volname, "base-9000-disk-0");
	assert_string_equal(v[1].volname, "subvol-102-disk-0");
	assert_string_equal(v[1].format, "subvol");
	assert_string_equal(v[1].vtype, "rootdir");
	assert_int_equal(v[1].size, 8589934592ull);
	assert_string_equal(v[3].volname, "base-9000-disk-0/vm-101-disk-0");
	assert_string_equal(v[3].parent, "base-9000-disk-0");
	assert_int_equal(v[3].vmid, 101);
	storage_volume_list_free(v, n);
	assert_int_equal(storage_list(st, 0, "rootdir", &v, &n, &err), 0);
	assert_int_equal(n, 1);
	storage_volume_list_free(v, n);
	/* the base is used by a clone */
	assert_int_equal(storage_free_volume(st, "base-9000-disk-0", NULL, &err), -EBUSY);
	err = error_free(err);
	free(cmd_dryrun_take());
	assert_int_equal(cmd_dryrun_end(), 0);

	/* a degraded, nearly full pool */
	cmd_dryrun_begin();
	cmd_dryrun_on("zpool status", 0,
	              "  pool: rpool\n state: DEGRADED\nstatus: One or more devices...\n", NULL);
	cmd_dryrun_on("zpool list", 0, "rpool\t100\t91\t9\t20\t91\tDEGRADED\n", NULL);
	cmd_dryrun_on("zfs get", 0, "rpool/data\tavailable\t9\nrpool/data\tused\t91\n", NULL);
	cmd_dryrun_on("zfs list", 0, "", NULL);
	assert_int_equal(storage_status(st, &s, &err), 0);
	assert_true(s.active);
	assert_string_equal(s.health, "DEGRADED");
	assert_int_equal(s.warn_level, 90);
	assert_string_equal(s.message, "zpool 'rpool' is DEGRADED: see zpool status");
	assert_int_equal(cmd_dryrun_end(), 0);

	/* no pool: inactive, and why */
	cmd_dryrun_begin();
	cmd_dryrun_on("zpool list", 1, NULL, "cannot open 'rpool': no such pool");
	assert_int_equal(storage_status(st, &s, &err), 0);
	assert_false(s.active);
	assert_string_equal(s.message, "zpool 'rpool' not found");
	assert_int_equal(storage_activate(st, &err), -ENOENT);
	assert_string_equal(err->msg, "zpool 'rpool' not found");
	err = error_free(err);
	assert_int_equal(cmd_dryrun_end(), 0);

	/* no zfs tools at all: said as such */
	cmd_dryrun_begin();
	cmd_dryrun_on("zpool", -ENOENT, NULL, NULL);
	assert_int_equal(storage_activate(st, &err), -ENOENT);
	assert_string_equal(err->msg, "unable to run 'zpool' (are the zfs tools installed?): No "
	                              "such file or directory");
	err = error_free(err);
	assert_int_equal(cmd_dryrun_end(), 0);
	storage_free(st);
}

static void test_alloc(void **state)
{
	struct storage *st = open_store("sparse", "1", "blocksize", "16k");
	struct storage *thick = open_store("overcommit-limit", "1.2", NULL, NULL);
	struct error *err = NULL;
	char *vol = NULL;

	cmd_dryrun_begin();
	on_pool(NULL);
	cmd_dryrun_expect("zfs create", 0, NULL, NULL);
	assert_int_equal(storage_alloc(st, 100, "raw", NULL, 4 * MiB + 1, NULL, &vol, &err), 0);
	assert_string_equal(vol, "vm-100-disk-1");
	free(vol);
	cmd_dryrun_assert(LIST "\n" SPACE "\n"
	                       "zfs create -s -b 16k -V 5120k rpool/data/vm-100-disk-1\n");
	cmd_dryrun_expect("zfs create", 0, NULL, NULL);
	assert_int_equal(storage_alloc(st, 102, "subvol", NULL, 2 * GiB, NULL, &vol, &err), 0);
	assert_string_equal(vol, "subvol-102-disk-1");
	free(vol);
	cmd_dryrun_assert(LIST "\n" SPACE "\n"
	                       "zfs create -o acltype=posixacl -o xattr=sa -o refquota=2097152k "
	                       "rpool/data/subvol-102-disk-1\n");
	/* overcommit: 104 GiB provisioned of 900 GiB; a 1 TiB thin volume
	 * (a subvol) would make 1.28 */
	assert_int_equal(storage_alloc(thick, 102, "subvol", NULL, 1024 * GiB, NULL, &vol, &err),
	                 -ENOSPC);
	assert_string_equal(
	    err->msg, "refusing to allocate 1024.00 GiB on storage 'z': ZFS pool 'rpool/data' "
	              "would hold 1128.00 GiB of virtual disks in 900.00 GiB, overcommit "
	              "1.25, above the storage's overcommit-limit 1.20");
	err = error_free(err);
	/* a thick zvol reserves its space: ZFS itself refuses what does not fit,
	 * which is said with the pool's figures, not ZFS's bare text */
	cmd_dryrun_expect("zfs create", 1, NULL,
	                  "cannot create 'rpool/data/vm-102-disk-0': out of space");
	assert_int_equal(storage_alloc(thick, 102, "raw", NULL, 1024 * GiB, NULL, &vol, &err),
	                 -ENOSPC);
	assert_string_equal(
	    err->msg, "ZFS pool 'rpool/data' has no room for a 1024.00 GiB volume "
	              "(50.00 GiB of 900.00 GiB used, 850.00 GiB available): free space first");
	err = error_free(err);
	free(cmd_dryrun_take());
	assert_int_equal(cmd_dryrun_end(), 0);

	/* a full pool takes nothing */
	cmd_dryrun_begin();
	on_pool("rpool/data\tavailable\t3\nrpool/data\tused\t97\n");
	assert_int_equal(storage_alloc(st, 100, "raw", NULL, MiB, NULL, &vol, &err), -ENOSPC);
	assert_string_equal(err->msg, "ZFS pool 'rpool/data' is full (97.0% used): free space "
	                              "before allocating new volumes");
	err = error_free(err);
	cmd_dryrun_assert(LIST "\n" SPACE "\n");
	assert_int_equal(cmd_dryrun_end(), 0);
	storage_free(st);
	storage_free(thick);
}

static void test_snapshots(void **state)
{
	struct storage *st = open_store(NULL, NULL, NULL, NULL);
	struct storage_snapshot *s = NULL;
	struct error *err = NULL;
	size_t n = 0;

	cmd_dryrun_begin();
	on_pool(NULL);
	assert_int_equal(storage_snapshot_list(st, "vm-100-disk-0", &s, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(s[0].name, "s1");
	assert_int_equal(s[2].ctime, 1733170000);
	storage_snapshot_list_free(s, n);
	/* __base__ is no snapshot of the user's */
	assert_int_equal(storage_snapshot_list(st, "base-9000-disk-0", &s, &n, &err), 0);
	assert_int_equal(n, 0);
	storage_snapshot_list_free(s, n);
	assert_int_equal(storage_snapshot_list(st, "vm-100-disk-9", &s, &n, &err), -ENOENT);
	assert_int_equal(err->http_status, 404);
	err = error_free(err);
	free(cmd_dryrun_take());

	/* the latest: directly, no -r */
	cmd_dryrun_expect("zfs rollback", 0, NULL, NULL);
	assert_int_equal(storage_snapshot_rollback(st, "vm-100-disk-0", "s3", NULL, &err), 0);
	/* an older one: refused, naming what would go, nothing runs */
	assert_int_equal(storage_snapshot_rollback(st, "vm-100-disk-0", "s1", NULL, &err), -EBUSY);
	assert_string_equal(err->msg,
	                    "can't rollback, 's1' is not most recent snapshot on 'vm-100-disk-0': "
	                    "ZFS can only roll back to the latest snapshot; the newer snapshots "
	                    "'s2', 's3' would be destroyed (delete them first, or roll back "
	                    "destroying them)");
	err = error_free(err);
	/* told to: -r */
	cmd_dryrun_expect("zfs rollback", 0, NULL, NULL);
	assert_int_equal(storage_snapshot_rollback_flags(
	                     st, "vm-100-disk-0", "s2", STORAGE_ROLLBACK_DESTROY_NEWER, NULL, &err),
	                 0);
	/* the dispatcher reads the volume's info first (protected?) */
	cmd_dryrun_assert(LIST "\n" SNAPS " rpool/data/vm-100-disk-0\n"
	                       "zfs rollback rpool/data/vm-100-disk-0@s3\n" LIST "\n" SNAPS
	                       " rpool/data/vm-100-disk-0\n" LIST "\n" SNAPS
	                       " rpool/data/vm-100-disk-0\n"
	                       "zfs rollback -r rpool/data/vm-100-disk-0@s2\n");
	/* a pool too full for the snapshot: the pool's figures, not ZFS's text */
	cmd_dryrun_expect("zfs snapshot", 1, NULL, "cannot create snapshots : out of space");
	assert_int_equal(storage_snapshot_create(st, "vm-100-disk-0", "s5", NULL, &err), -ENOSPC);
	assert_string_equal(err->msg,
	                    "ZFS pool 'rpool/data' has no room for snapshot 's5' of "
	                    "'vm-100-disk-0' (50.00 GiB of 900.00 GiB used, 850.00 GiB available): "
	                    "free space first");
	err = error_free(err);
	free(cmd_dryrun_take());
	cmd_dryrun_expect("zfs snapshot", 0, NULL, NULL);
	assert_int_equal(storage_snapshot_create(st, "vm-100-disk-0", "s4", NULL, &err), 0);
	assert_int_equal(storage_snapshot_create(st, "vm-100-disk-0", "s1", NULL, &err), -EEXIST);
	err = error_free(err);
	cmd_dryrun_expect("zfs destroy", 0, NULL, NULL);
	assert_int_equal(storage_snapshot_delete(st, "vm-100-disk-0", "s1", NULL, &err), 0);
	assert_int_equal(storage_snapshot_delete(st, "vm-100-disk-0", "nosuch", NULL, &err),
	                 -ENOENT);
	err = error_free(err);
	cmd_dryrun_assert(SNAPS " rpool/data/vm-100-disk-0\n"
	                        "zfs snapshot rpool/data/vm-100-disk-0@s4\n" SNAPS
	                        " rpool/data/vm-100-disk-0\n" SNAPS " rpool/data/vm-100-disk-0\n"
	                        "zfs destroy rpool/data/vm-100-disk-0@s1\n" SNAPS
	                        " rpool/data/vm-100-disk-0\n");
	assert_int_equal(cmd_dryrun_end(), 0);
	storage_free(st);
}

static void test_templates(void **state)
{
	struct storage *st = open_store(NULL, NULL, NULL, NULL);
	struct error *err = NULL;
	char *vol = NULL;

	cmd_dryrun_begin();
	on_pool(NULL);
	cmd_dryrun_expect("zfs rename", 0, NULL, NULL);
	cmd_dryrun_expect("zfs snapshot", 0, NULL, NULL);
	assert_int_equal(storage_create_base(st, "subvol-102-disk-0", NULL, &vol, &err), 0);
	assert_string_equal(vol, "basevol-102-disk-0");
	free(vol);
	free(cmd_dryrun_take());
	cmd_dryrun_expect("zfs clone", 0, NULL, NULL);
	assert_int_equal(storage_clone(st, "base-9000-disk-0", 103, NULL, NULL, &vol, &err), 0);
	assert_string_equal(vol, "base-9000-disk-0/vm-103-disk-0");
	free(vol);
	cmd_dryrun_assert(LIST "\n" SPACE "\n"
	                       "zfs clone rpool/data/base-9000-disk-0@__base__ "
	                       "rpool/data/vm-103-disk-0\n");
	assert_int_equal(storage_clone(st, "vm-100-disk-0", 103, NULL, NULL, &vol, &err), -EINVAL);
	err = error_free(err);

	/* free: recursive, and again while the dataset is busy */
	cmd_dryrun_expect("zfs destroy", 1, NULL, "cannot destroy: dataset is busy");
	cmd_dryrun_expect("zfs destroy", 0, NULL, NULL);
	free(cmd_dryrun_take());
	assert_int_equal(storage_free_volume(st, "base-9000-disk-0/vm-101-disk-0", NULL, &err), 0);
	cmd_dryrun_assert(LIST "\n" LIST "\n"
	                       "zfs destroy -r rpool/data/vm-101-disk-0\n"
	                       "zfs destroy -r rpool/data/vm-101-disk-0\n");
	/* resize: volsize / refquota, never smaller */
	cmd_dryrun_expect("zfs set", 0, NULL, NULL);
	assert_int_equal(storage_resize(st, "subvol-102-disk-0", 16 * GiB, NULL, &err), 0);
	assert_int_equal(storage_resize(st, "vm-100-disk-0", GiB, NULL, &err), -EINVAL);
	err = error_free(err);
	cmd_dryrun_expect("zfs set", 0, NULL, NULL);
	assert_int_equal(storage_resize(st, "vm-100-disk-0", 40 * GiB, NULL, &err), 0);
	char *lines = cmd_dryrun_take();
	assert_non_null(strstr(lines, "zfs set refquota=16777216k rpool/data/subvol-102-disk-0\n"));
	assert_non_null(strstr(lines, "zfs set volsize=41943040k rpool/data/vm-100-disk-0\n"));
	free(lines);
	assert_int_equal(cmd_dryrun_end(), 0);
	storage_free(st);
}

/* PVE's ZFSPoolPlugin has no 'snap' in its 'copy' feature: a zvol's or a
 * dataset's snapshot is not copied from (a clone of a snapshot is no full
 * copy there), refused before anything runs. */
static void test_no_copy_snapshot(void **state)
{
	struct storage *st = open_store(NULL, NULL, NULL, NULL);
	struct error *err = NULL;
	char *vol = NULL;

	assert_false(storage_can_copy_snapshot(st, "vm-100-disk-0", "s1"));
	assert_false(storage_can_copy_snapshot(st, "subvol-100-disk-0", "s1"));
	assert_true(storage_can_copy_snapshot(st, "vm-100-disk-0", NULL));
	cmd_dryrun_begin();
	assert_int_equal(
	    storage_copy_snapshot(st, "vm-100-disk-0", "s1", st, NULL, 102, NULL, &vol, &err),
	    -EOPNOTSUPP);
	assert_int_equal(err->http_status, 500);
	assert_non_null(strstr(err->msg, "snapshot copy is not supported"));
	err = error_free(err);
	assert_null(vol);
	assert_int_equal(cmd_dryrun_count(), 0);
	assert_int_equal(cmd_dryrun_end(), 0);
	storage_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),     cmocka_unit_test(test_status_list),
	    cmocka_unit_test(test_alloc),     cmocka_unit_test(test_snapshots),
	    cmocka_unit_test(test_templates), cmocka_unit_test(test_no_copy_snapshot),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

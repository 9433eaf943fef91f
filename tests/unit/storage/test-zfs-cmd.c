/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Golden tests of the zfspool backend's commands: each builder's
 * cmd_to_string() must equal tests/data/golden/storage/zfs-<name>.argv
 * (TEST_REGENERATE_OUTPUT=1 rewrites them).  And the parsers of zfs and
 * zpool -Hp output against recorded output (tests/data/storage/zfs/).
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#include <cmocka.h>

#include "backend-zfs.h"
#include "cmd.h"
#include "dryrun-fixture.h"
#include "error.h"
#include "golden.h"
#include "xalloc.h"

#define GiB (1ull << 30)

static void test_builders(void **state)
{
	static const char *const mirror[] = {"/dev/disk/by-id/ata-A", "/dev/disk/by-id/ata-B"};
	struct cmd c;

	zfs_create_zvol_build_cmd(&c, "rpool/data/vm-100-disk-0", 32 * GiB, false, NULL);
	golden_check_cmd("storage/zfs-create-zvol.argv", &c);
	/* sparse, a volblocksize, 1 MiB rounding */
	zfs_create_zvol_build_cmd(&c, "rpool/data/vm-100-disk-1", 4 * 1024 * 1024 + 1, true, "16k");
	golden_check_cmd("storage/zfs-create-zvol-sparse.argv", &c);
	zfs_create_subvol_build_cmd(&c, "rpool/data/subvol-101-disk-0", 8 * GiB);
	golden_check_cmd("storage/zfs-create-subvol.argv", &c);
	zfs_create_subvol_build_cmd(&c, "rpool/data/subvol-101-disk-1", 0);
	golden_check_cmd("storage/zfs-create-subvol-none.argv", &c);
	zfs_snapshot_build_cmd(&c, "rpool/data/vm-100-disk-0", "before-upgrade");
	golden_check_cmd("storage/zfs-snapshot.argv", &c);
	zfs_rollback_build_cmd(&c, "rpool/data/vm-100-disk-0", "before-upgrade", false);
	golden_check_cmd("storage/zfs-rollback.argv", &c);
	zfs_rollback_build_cmd(&c, "rpool/data/vm-100-disk-0", "before-upgrade", true);
	golden_check_cmd("storage/zfs-rollback-destroy-newer.argv", &c);
	zfs_clone_build_cmd(&c, "rpool/data/base-100-disk-0", "__base__",
	                    "rpool/data/vm-101-disk-0", 0);
	golden_check_cmd("storage/zfs-clone.argv", &c);
	zfs_clone_build_cmd(&c, "rpool/data/basevol-100-disk-0", "__base__",
	                    "rpool/data/subvol-101-disk-0", 8 * GiB);
	golden_check_cmd("storage/zfs-clone-refquota.argv", &c);
	zfs_destroy_build_cmd(&c, "rpool/data/vm-100-disk-0", NULL, true);
	golden_check_cmd("storage/zfs-destroy.argv", &c);
	zfs_destroy_build_cmd(&c, "rpool/data/vm-100-disk-0", "before-upgrade", false);
	golden_check_cmd("storage/zfs-destroy-snapshot.argv", &c);
	zfs_set_volsize_build_cmd(&c, "rpool/data/vm-100-disk-0", 40 * GiB + 1);
	golden_check_cmd("storage/zfs-set-volsize.argv", &c);
	zfs_set_refquota_build_cmd(&c, "rpool/data/subvol-101-disk-0", 16 * GiB);
	golden_check_cmd("storage/zfs-set-refquota.argv", &c);
	zfs_rename_build_cmd(&c, "rpool/data/vm-100-disk-0", "rpool/data/base-100-disk-0");
	golden_check_cmd("storage/zfs-rename.argv", &c);
	zfs_get_build_cmd(&c, "available,used", "rpool/data");
	golden_check_cmd("storage/zfs-get.argv", &c);
	zfs_list_build_cmd(&c, "rpool/data");
	golden_check_cmd("storage/zfs-list.argv", &c);
	zfs_list_snapshots_build_cmd(&c, "rpool/data/vm-100-disk-0");
	golden_check_cmd("storage/zfs-list-snapshots.argv", &c);
	zpool_list_build_cmd(&c, "rpool");
	golden_check_cmd("storage/zpool-list.argv", &c);
	zpool_status_build_cmd(&c, "rpool");
	golden_check_cmd("storage/zpool-status.argv", &c);
	zpool_create_build_cmd(&c, "tank", 12, "mirror", mirror, 2);
	golden_check_cmd("storage/zpool-create-mirror.argv", &c);
	zpool_create_build_cmd(&c, "tank", 12, "single", mirror, 1);
	golden_check_cmd("storage/zpool-create-single.argv", &c);
}

static char *recorded(const char *name)
{
	return dryrun_recorded("zfs", name);
}

static void test_list(void **state)
{
	_cleanup_free_ char *out = recorded("list.txt");
	struct zfs_dataset *d = NULL;
	size_t n = 0;

	assert_int_equal(zfs_list_parse(out, &d, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(d[0].name, "rpool/data");
	assert_false(d[0].volume);
	assert_string_equal(d[1].name, "rpool/data/base-9000-disk-0");
	assert_true(d[1].volume);
	assert_int_equal(d[1].volsize, 34359738368ull);
	assert_null(d[1].origin);
	assert_false(d[2].volume);
	assert_int_equal(d[2].refquota, 8589934592ull);
	assert_int_equal(d[2].volsize, 0);
	assert_int_equal(d[3].used, 35433480192ull);
	assert_string_equal(d[4].origin, "rpool/data/base-9000-disk-0@__base__");
	assert_int_equal(d[4].creation, 1733170000);
	zfs_dataset_list_free(d, n);
}

static void test_snapshots(void **state)
{
	_cleanup_free_ char *out = recorded("snapshots.txt");
	struct zfs_snapshot *s = NULL;
	size_t n = 0;

	assert_int_equal(zfs_snapshots_parse(out, &s, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(s[0].name, "before-upgrade");
	assert_int_equal(s[0].creation, 1733160000);
	assert_string_equal(s[2].name, "today");
	zfs_snapshot_list_free(s, n);
	assert_int_equal(zfs_snapshots_parse("", &s, &n), 0);
	assert_int_equal(n, 0);
	zfs_snapshot_list_free(s, n);
}

static void test_get(void **state)
{
	_cleanup_free_ char *out = recorded("get.txt");
	uint64_t v = 1;

	assert_int_equal(zfs_get_parse_u64(out, "available", &v), 0);
	assert_int_equal(v, 912680550400ull);
	assert_int_equal(zfs_get_parse_u64(out, "used", &v), 0);
	assert_int_equal(v, 53687091200ull);
	assert_int_equal(zfs_get_parse_u64(out, "refquota", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(zfs_get_parse_u64(out, "volsize", &v), -ENOENT);
	assert_int_equal(zfs_get_parse_u64("a\tused\t12x\n", "used", &v), -EINVAL);
	assert_int_equal(zfs_get_parse_u64("a\tused\n", "used", &v), -EINVAL);
}

static void test_zpool(void **state)
{
	_cleanup_free_ char *out = recorded("zpool-list.txt");
	struct zpool_info p = {0};

	assert_int_equal(zpool_list_parse(out, &p), 0);
	assert_string_equal(p.name, "rpool");
	assert_int_equal(p.size, 1000204886016ull);
	assert_int_equal(p.alloc, 107374182400ull);
	assert_int_equal(p.free, 892830703616ull);
	assert_int_equal(p.frag, 3);
	assert_int_equal(p.cap, 10);
	assert_string_equal(p.health, "ONLINE");
	zpool_info_clear(&p);
	assert_int_equal(zpool_list_parse("tank\t1\t2\t3\t-\t-\tDEGRADED", &p), 0);
	assert_int_equal(p.frag, -1);
	assert_string_equal(p.health, "DEGRADED");
	zpool_info_clear(&p);
	assert_int_equal(zpool_list_parse("", &p), -EINVAL);
	assert_int_equal(zpool_list_parse("tank\t1\t2\t3\t4\t5\n", &p), -EINVAL);
	assert_int_equal(zpool_list_parse("tank\t1\t2\t3\t4\t5\tONLINE\nx\n", &p), -EINVAL);
	assert_int_equal(zpool_list_parse("tank\t1\t2\t3\t4\t5\tONLINE\textra\n", &p), -EINVAL);
}

static void test_malformed(void **state)
{
	struct zfs_dataset *d = (void *)1;
	struct zfs_snapshot *s = (void *)1;
	size_t n = 7;
	static const char *const bad[] = {
	    "x\tvolume\t1\t-\t-\t1\n",       /* 6 fields */
	    "x\tvolume\t1\t-\t-\t1\t1\t1\n", /* 8 fields */
	    "x\tsnapshot\t1\t-\t-\t1\t1\n",  /* another type */
	    "x\tvolume\t-1\t-\t-\t1\t1\n",   /* negative */
	    "\tvolume\t1\t-\t-\t1\t1\n",     /* no name */
	    "x\tvolume\t1\t-\t-\t1\t-\n",    /* no creation */
	    "x\tvolume\t99999999999999999999\t-\t-\t1\t1\n",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(zfs_list_parse(bad[i], &d, &n), -EINVAL);
		assert_ptr_equal(d, (void *)1);
		assert_int_equal(n, 7);
	}
	assert_int_equal(zfs_snapshots_parse("x\t1\n", &s, &n), -EINVAL);
	assert_int_equal(zfs_snapshots_parse("x@\t1\n", &s, &n), -EINVAL);
	assert_int_equal(zfs_snapshots_parse("x@a\t\n", &s, &n), -EINVAL);
	assert_ptr_equal(s, (void *)1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builders),  cmocka_unit_test(test_list),
	    cmocka_unit_test(test_snapshots), cmocka_unit_test(test_get),
	    cmocka_unit_test(test_zpool),     cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

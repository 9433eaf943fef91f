/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Golden tests of the btrfs backend's commands: each builder's
 * cmd_to_string() must equal tests/data/golden/storage/btrfs-<name>.argv
 * (one line).  CTVM_UPDATE_GOLDEN=1 rewrites the files instead.  Also the
 * parser of `btrfs qgroup show` output.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "backend-btrfs.h"
#include "cmd.h"
#include "golden.h"
#include "xalloc.h"

static void test_qgroup_limit(void **state)
{
	struct cmd c;
	btrfs_qgroup_limit_build_cmd(&c, "/mnt/data/store/images/101/subvol-101-disk-0",
	                             8ull << 30);
	golden_check_cmd("storage/btrfs-qgroup-limit.argv", &c);
	btrfs_qgroup_limit_build_cmd(&c, "/mnt/data/store/images/101/subvol-101-disk-0", 0);
	golden_check_cmd("storage/btrfs-qgroup-limit-none.argv", &c);
}

static void test_qgroup_show(void **state)
{
	struct cmd c;
	btrfs_qgroup_show_build_cmd(&c, "/mnt/data/store/images/101/subvol-101-disk-0");
	golden_check_cmd("storage/btrfs-qgroup-show.argv", &c);
}

static void test_quota_enable(void **state)
{
	struct cmd c;
	btrfs_quota_enable_build_cmd(&c, "/mnt/data");
	golden_check_cmd("storage/btrfs-quota-enable.argv", &c);
}

static void test_mkfs(void **state)
{
	struct cmd c;
	btrfs_mkfs_build_cmd(&c, "/tmp/ctvm btrfs/btrfs.img");
	golden_check_cmd("storage/btrfs-mkfs.argv", &c);
}

/* Output of btrfs-progs 6.2 on a loop-mounted filesystem. */
static const char qgroup_out[] =
    "Qgroupid    Referenced    Exclusive  Max referenced  Max exclusive   Path \n"
    "--------    ----------    ---------  --------------  -------------   ---- \n"
    "0/256            16384        16384       104857600           none   sv\n"
    "0/257            16384        16384            none           none   sv2\n";

static void test_qgroup_parse(void **state)
{
	uint64_t rfer = 1, max = 1;
	assert_int_equal(btrfs_qgroup_show_parse(qgroup_out, 256, &rfer, &max), 0);
	assert_int_equal(rfer, 16384);
	assert_int_equal(max, 104857600);
	assert_int_equal(btrfs_qgroup_show_parse(qgroup_out, 257, &rfer, &max), 0);
	assert_int_equal(max, 0);
	assert_int_equal(btrfs_qgroup_show_parse(qgroup_out, 25, &rfer, &max), -ENOENT);
	assert_int_equal(btrfs_qgroup_show_parse("", 256, &rfer, &max), -ENOENT);
	assert_int_equal(btrfs_qgroup_show_parse("0/256 12x 1 none none\n", 256, &rfer, &max),
	                 -EINVAL);
	assert_int_equal(btrfs_qgroup_show_parse("0/256 12", 256, &rfer, &max), -EINVAL);
	assert_int_equal(
	    btrfs_qgroup_show_parse("0/256 99999999999999999999 1 none none", 256, &rfer, &max),
	    -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_qgroup_limit), cmocka_unit_test(test_qgroup_show),
	    cmocka_unit_test(test_quota_enable), cmocka_unit_test(test_mkfs),
	    cmocka_unit_test(test_qgroup_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

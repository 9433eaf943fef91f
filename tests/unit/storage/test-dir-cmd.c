/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Golden tests of the dir backend's qemu-img commands: each case's
 * cmd_to_string() must equal tests/data/golden/storage/dir-<case>.argv.
 * TEST_REGENERATE_OUTPUT=1 rewrites the files instead (review the diff).
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#include <cmocka.h>

#include "backend-dir-cmd.h"
#include "cmd.h"
#include "error.h"
#include "golden.h"
#include "xalloc.h"

#define IMG "/var/lib/vz/images/100/vm-100-disk-0"

static void test_create(void **state)
{
	struct cmd c;

	dir_create_build_cmd(&c, IMG ".qcow2", "qcow2", 32ull << 30, NULL);
	golden_check_cmd("storage/dir-create-qcow2.argv", &c);
	dir_create_build_cmd(&c, IMG ".qcow2", "qcow2", 1000, "off");
	golden_check_cmd("storage/dir-create-qcow2-off.argv", &c);
	dir_create_build_cmd(&c, IMG ".raw", "raw", 4ull << 30, NULL);
	golden_check_cmd("storage/dir-create-raw.argv", &c);
	dir_create_build_cmd(&c, IMG ".raw", "raw", 4ull << 30, "metadata");
	golden_check_cmd("storage/dir-create-raw-metadata.argv", &c);
	dir_create_build_cmd(&c, IMG ".raw", "raw", 4ull << 30, "falloc");
	golden_check_cmd("storage/dir-create-raw-falloc.argv", &c);
	dir_create_build_cmd(&c, IMG ".vmdk", "vmdk", 1ull << 20, "full");
	golden_check_cmd("storage/dir-create-vmdk.argv", &c);
}

static void test_clone(void **state)
{
	struct cmd c;

	dir_clone_build_cmd(&c, "/var/lib/vz/images/101/vm-101-disk-0.qcow2",
	                    "../100/base-100-disk-0.qcow2", "qcow2", NULL);
	golden_check_cmd("storage/dir-clone.argv", &c);
	dir_clone_build_cmd(&c, "/var/lib/vz/images/101/vm-101-disk-0.qcow2",
	                    "../100/base-100-disk-0.raw", "raw", "full");
	golden_check_cmd("storage/dir-clone-raw-full.argv", &c);
}

static void test_info_resize_snapshot(void **state)
{
	struct cmd c;

	dir_info_build_cmd(&c, IMG ".qcow2", "qcow2");
	golden_check_cmd("storage/dir-info.argv", &c);
	dir_info_build_cmd(&c, IMG ".vmdk", "vmdk");
	golden_check_cmd("storage/dir-info-vmdk.argv", &c);
	dir_resize_build_cmd(&c, IMG ".qcow2", "qcow2", 34359738368ull, NULL);
	golden_check_cmd("storage/dir-resize.argv", &c);
	dir_resize_build_cmd(&c, IMG ".raw", "raw", 34359738368ull, "falloc");
	golden_check_cmd("storage/dir-resize-raw-falloc.argv", &c);
	dir_snapshot_build_cmd(&c, 'c', IMG ".qcow2", "before-upgrade");
	golden_check_cmd("storage/dir-snapshot-create.argv", &c);
	dir_snapshot_build_cmd(&c, 'a', IMG ".qcow2", "before-upgrade");
	golden_check_cmd("storage/dir-snapshot-rollback.argv", &c);
	dir_snapshot_build_cmd(&c, 'd', IMG ".qcow2", "before-upgrade");
	golden_check_cmd("storage/dir-snapshot-delete.argv", &c);
}

static void test_preallocation(void **state)
{
	assert_string_equal(dir_preallocation("qcow2", NULL), "metadata");
	assert_string_equal(dir_preallocation("qcow2", "full"), "full");
	assert_null(dir_preallocation("raw", NULL));
	assert_null(dir_preallocation("raw", "metadata"));
	assert_null(dir_preallocation("raw", "off"));
	assert_string_equal(dir_preallocation("raw", "falloc"), "falloc");
	assert_null(dir_preallocation("vmdk", "full"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create),
	    cmocka_unit_test(test_clone),
	    cmocka_unit_test(test_info_resize_snapshot),
	    cmocka_unit_test(test_preallocation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

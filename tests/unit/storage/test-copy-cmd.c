/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Golden tests of the commands storage_copy() runs: each case's
 * cmd_to_string() must equal tests/data/golden/storage/copy-<case>.argv.
 * TEST_REGENERATE_OUTPUT=1 rewrites the files instead (review the diff).
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cmd.h"
#include "copy-cmd.h"
#include "error.h"
#include "golden.h"
#include "xalloc.h"

static void check_golden(const char *name, struct cmd *c)
{
	_cleanup_free_ char *file = xasprintf("storage/copy-%s.argv", name);

	assert_int_equal(c->timeout_ms, STORAGE_COPY_TIMEOUT_MS);
	golden_check_cmd(file, c);
}

static void test_convert(void **state)
{
	struct cmd c;

	storage_convert_build_cmd(&c, "/var/lib/vz/images/100/vm-100-disk-0.qcow2", "qcow2",
	                          "/mnt/btrfs/images/101/vm-101-disk-0/disk.raw", "raw", true);
	check_golden("convert-qcow2-raw", &c);
	/* a target that may hold old data (a thick LV): zeros are written */
	storage_convert_build_cmd(&c, "/mnt/btrfs/images/100/vm-100-disk-0/disk.raw", "raw",
	                          "/dev/vg/vm-101-disk-0", "raw", false);
	check_golden("convert-raw-nozero", &c);
	/* a qcow2 internal snapshot is read with -l, as PVE's qemu_img_convert */
	storage_convert_snapshot_build_cmd(&c, "/var/lib/vz/images/100/vm-100-disk-0.qcow2",
	                                   "qcow2", "snap1",
	                                   "/var/lib/vz/images/101/vm-101-disk-0.raw", "raw", true);
	check_golden("convert-snapshot", &c);
}

static void test_rsync(void **state)
{
	struct cmd c;

	storage_rsync_build_cmd(&c, "/var/lib/vz/images/100/subvol-100-disk-0.subvol",
	                        "/mnt/btrfs/images/101/subvol-101-disk-0");
	check_golden("rsync", &c);
	/* trailing slashes are normalised to exactly one */
	storage_rsync_build_cmd(&c, "/a/subvol-100-disk-0.subvol//", "/b/x/");
	check_golden("rsync-slashes", &c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_convert),
	    cmocka_unit_test(test_rsync),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

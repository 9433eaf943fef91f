/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Golden tests of the lvm and lvmthin backends' commands: each builder's
 * cmd_to_string() must equal tests/data/golden/storage/lvm-<name>.argv
 * (TEST_REGENERATE_OUTPUT=1 rewrites them).  And the parsers of the lvs and
 * vgs JSON reports against recorded output (tests/data/storage/lvm/).
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#include <cmocka.h>

#include "backend-lvm.h"
#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "golden.h"
#include "xalloc.h"

#define GiB (1ull << 30)

static void test_builders(void **state)
{
	struct cmd c;

	lvm_lvcreate_build_cmd(&c, "vmdata", "vm-100-disk-0", 100, 32 * GiB);
	golden_check_cmd("storage/lvm-lvcreate.argv", &c);
	/* KiB rounded up, never a smaller volume than asked */
	lvm_lvcreate_build_cmd(&c, "vmdata", "vm-100-disk-1", 100, 4 * 1024 * 1024 + 1);
	golden_check_cmd("storage/lvm-lvcreate-round.argv", &c);
	lvm_lvcreate_thin_build_cmd(&c, "pve", "data", "vm-100-disk-0", 100, 32 * GiB);
	golden_check_cmd("storage/lvm-lvcreate-thin.argv", &c);
	lvm_thinpool_create_build_cmd(&c, "pve", "data", 100 * GiB, GiB);
	golden_check_cmd("storage/lvm-thinpool-create.argv", &c);
	lvm_errorwhenfull_build_cmd(&c, "pve", "data");
	golden_check_cmd("storage/lvm-errorwhenfull.argv", &c);
	lvm_noautoactivation_build_cmd(&c, "pve", "vm-100-disk-0");
	golden_check_cmd("storage/lvm-noautoactivation.argv", &c);
	lvm_snapshot_build_cmd(&c, "pve", "vm-100-disk-0", "snap_vm-100-disk-0_s1");
	golden_check_cmd("storage/lvm-snapshot.argv", &c);
	lvm_rollback_build_cmd(&c, "pve", "snap_vm-100-disk-0_s1", "vm-100-disk-0", 100);
	golden_check_cmd("storage/lvm-rollback.argv", &c);
	lvm_clone_build_cmd(&c, "pve", "base-100-disk-0", "vm-101-disk-0", 101);
	golden_check_cmd("storage/lvm-clone.argv", &c);
	lvm_lvremove_build_cmd(&c, "pve", "vm-100-disk-0");
	golden_check_cmd("storage/lvm-lvremove.argv", &c);
	lvm_lvextend_build_cmd(&c, "pve", "vm-100-disk-0", 40 * GiB);
	golden_check_cmd("storage/lvm-lvextend.argv", &c);
	lvm_lvrename_build_cmd(&c, "pve", "vm-100-disk-0", "base-100-disk-0");
	golden_check_cmd("storage/lvm-lvrename.argv", &c);
	lvm_readonly_build_cmd(&c, "pve", "base-100-disk-0");
	golden_check_cmd("storage/lvm-readonly.argv", &c);
	lvm_lvchange_activate_build_cmd(&c, "pve", "vm-100-disk-0", true, true);
	golden_check_cmd("storage/lvm-activate-thin.argv", &c);
	lvm_lvchange_activate_build_cmd(&c, "vmdata", "vm-100-disk-0", true, false);
	golden_check_cmd("storage/lvm-activate.argv", &c);
	lvm_lvchange_activate_build_cmd(&c, "pve", "base-100-disk-0", false, true);
	golden_check_cmd("storage/lvm-deactivate.argv", &c);
	lvm_zero_build_cmd(&c, "/dev/vmdata/del-vm-100-disk-0");
	golden_check_cmd("storage/lvm-zero.argv", &c);
	lvm_lvs_build_cmd(&c, "pve", NULL);
	golden_check_cmd("storage/lvm-lvs.argv", &c);
	lvm_lvs_build_cmd(&c, "pve", "data");
	golden_check_cmd("storage/lvm-lvs-one.argv", &c);
	lvm_vgs_build_cmd(&c, "pve");
	golden_check_cmd("storage/lvm-vgs.argv", &c);
	lvm_pvcreate_build_cmd(&c, "/dev/vdb");
	golden_check_cmd("storage/lvm-pvcreate.argv", &c);
	lvm_vgcreate_build_cmd(&c, "vmdata", "/dev/vdb");
	golden_check_cmd("storage/lvm-vgcreate.argv", &c);
}

static char *recorded(const char *name, size_t *ret_len)
{
	const char *data = getenv("CTVM_TEST_DATA");
	_cleanup_free_ char *path = NULL;
	struct error *err = NULL;
	char *out = NULL;

	assert_non_null(data);
	path = xasprintf("%s/storage/lvm/%s", data, name);
	assert_int_equal(read_file(path, 1 << 20, &out, ret_len, &err), 0);
	return out;
}

static void test_lvs_thin(void **state)
{
	size_t len, n = 0;
	_cleanup_free_ char *json = recorded("lvs-thin.json", &len);
	struct lvm_lv *lvs = NULL;

	assert_int_equal(lvm_lvs_parse(json, len, &lvs, &n), 0);
	assert_int_equal(n, 8);
	/* the pool */
	assert_string_equal(lvs[1].name, "data");
	assert_string_equal(lvs[1].vg, "pve");
	assert_int_equal(lvs[1].size, 1793798586368ull);
	assert_string_equal(lvs[1].attr, "twi-aotz--");
	assert_null(lvs[1].pool);
	assert_true(lvs[1].data_pct > 12.46 && lvs[1].data_pct < 12.48);
	assert_true(lvs[1].meta_pct > 0.94 && lvs[1].meta_pct < 0.96);
	assert_int_equal(lvs[1].meta_size, 16106127360ull);
	assert_int_equal(lvs[1].when_full, 0);
	/* a snapshot and a clone */
	assert_string_equal(lvs[3].name, "snap_vm-100-disk-0_before-upgrade");
	assert_string_equal(lvs[3].origin, "vm-100-disk-0");
	assert_string_equal(lvs[3].pool, "data");
	assert_true(lvs[3].data_pct < 0);
	assert_string_equal(lvs[7].origin, "base-9000-disk-0");
	assert_int_equal(lvs[7].ctime, 1733170000);
	/* tags */
	assert_true(lvm_lv_has_tag(&lvs[6], "pve-vm-100"));
	assert_true(lvm_lv_has_tag(&lvs[6], "backup-keep"));
	assert_false(lvm_lv_has_tag(&lvs[6], "pve-vm-10"));
	assert_false(lvm_lv_has_tag(&lvs[2], "pve-vm-100"));
	assert_int_equal(lvs[6].size, 4194304);
	lvm_lv_list_free(lvs, n);
}

static void test_lvs_thick(void **state)
{
	size_t len, n = 0;
	_cleanup_free_ char *json = recorded("lvs-thick.json", &len);
	struct lvm_lv *lvs = NULL;

	assert_int_equal(lvm_lvs_parse(json, len, &lvs, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(lvs[0].name, "vm-200-disk-0");
	assert_int_equal(lvs[0].size, 17179869184ull);
	assert_int_equal(lvs[0].when_full, -1);
	assert_null(lvs[0].origin);
	assert_int_equal(lvs[2].tags[0], NULL);
	lvm_lv_list_free(lvs, n);
}

static void test_vgs(void **state)
{
	size_t len, n = 0;
	_cleanup_free_ char *json = recorded("vgs.json", &len);
	struct lvm_vg *vgs = NULL;

	assert_int_equal(lvm_vgs_parse(json, len, &vgs, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(vgs[0].name, "pve");
	assert_int_equal(vgs[0].size, 1998694907904ull);
	assert_int_equal(vgs[0].free, 17175674880ull);
	assert_int_equal(vgs[0].lv_count, 8);
	assert_string_equal(vgs[1].name, "vmdata");
	lvm_vg_list_free(vgs, n);
}

static void lvs_bad(const char *json)
{
	struct lvm_lv *lvs = (void *)1;
	size_t n = 7;

	assert_int_equal(lvm_lvs_parse(json, strlen(json), &lvs, &n), -EINVAL);
	assert_ptr_equal(lvs, (void *)1);
	assert_int_equal(n, 7);
}

static void test_malformed(void **state)
{
	struct lvm_lv *lvs = NULL;
	struct lvm_vg *vgs = NULL;
	size_t n = 0;

	lvs_bad("");
	lvs_bad("not json");
	lvs_bad("{}");
	lvs_bad("{\"report\": []}");
	lvs_bad("{\"report\": [{\"vg\": []}]}");
	lvs_bad("{\"report\": [{\"lv\": [{\"vg_name\":\"pve\"}]}]}");
	lvs_bad("{\"report\": [{\"lv\": [42]}]}");
	lvs_bad("{\"report\": [{\"lv\": [{\"vg_name\":\"a\", \"lv_name\":\"b\", "
	        "\"lv_size\":\"-1\"}]}]}");
	lvs_bad("{\"report\": [{\"lv\": [{\"vg_name\":\"a\", \"lv_name\":\"b\", "
	        "\"lv_size\":\"99999999999999999999\"}]}]}");
	lvs_bad("{\"report\": [{\"lv\": [{\"vg_name\":\"a\", \"lv_name\":\"b\", "
	        "\"data_percent\":\"nan\"}]}]}");
	lvs_bad("{\"report\": [{\"lv\": [{\"vg_name\":\"a\", \"lv_name\":\"b\", "
	        "\"lv_attr\":\"twi-aotz--xyz\"}]}]}");
	/* the same key twice is not a report */
	lvs_bad("{\"report\": [{\"lv\": [{\"vg_name\":\"a\", \"lv_name\":\"b\", "
	        "\"lv_name\":\"c\"}]}]}");
	/* an empty VG */
	const char empty[] = "  {\n      \"report\": [\n          {\n              \"lv\": [\n"
	                     "              ]\n          }\n      ]\n  }\n";
	assert_int_equal(lvm_lvs_parse(empty, strlen(empty), &lvs, &n), 0);
	assert_int_equal(n, 0);
	lvm_lv_list_free(lvs, n);
	const char bad_vg[] = "{\"report\": [{\"vg\": [{\"vg_name\":\"a\", \"vg_free\":\"x\"}]}]}";
	vgs = (void *)1;
	assert_int_equal(lvm_vgs_parse(bad_vg, strlen(bad_vg), &vgs, &n), -EINVAL);
	assert_ptr_equal(vgs, (void *)1);
}

/* lvm(8)'s grammar for VG and LV names, the one check every user shares. */
static void test_name_valid(void **state)
{
	static const struct {
		const char *name;
		bool ok;
	} rows[] = {
	    {"pve", true},   {"vg0", true},        {"a", true},       {"vg_san", true},
	    {"my-vg", true}, {"+x.y_z-", true},    {".hidden", true}, {"_", true},
	    {"...", true},   {"", false},          {"-vg", false},    {"--help", false},
	    {".", false},    {"..", false},        {"vg/lv", false},  {"vg 0", false},
	    {"vg\n", false}, {"v\xc3\xa9", false}, {"vg$", false},    {"a:b", false},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		if (lvm_name_valid(rows[i].name) != rows[i].ok)
			fail_msg("'%s': want %d", rows[i].name, rows[i].ok);
	}
	assert_false(lvm_name_valid(NULL));
	char name[LVM_NAME_MAX + 2];
	memset(name, 'v', sizeof(name));
	name[LVM_NAME_MAX] = '\0';
	assert_true(lvm_name_valid(name));
	name[LVM_NAME_MAX] = 'v';
	name[LVM_NAME_MAX + 1] = '\0';
	assert_false(lvm_name_valid(name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builders),  cmocka_unit_test(test_lvs_thin),
	    cmocka_unit_test(test_lvs_thick), cmocka_unit_test(test_vgs),
	    cmocka_unit_test(test_malformed), cmocka_unit_test(test_name_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

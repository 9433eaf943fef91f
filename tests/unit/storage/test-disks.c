/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The pure part of the Disks API (disks.h): golden tests of its command
 * lines (tests/data/golden/storage/disks-<name>.argv), the parsers of lsblk,
 * pvs, blkid and zpool list output against recorded output
 * (tests/data/storage/disks/), what counts as "in use", the rows of
 * disks/list in Proxmox's JSON types, the sizes of a new thin pool and the
 * zfs raid level rules.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cmd.h"
#include "disks.h"
#include "error.h"
#include "fileio.h"
#include "golden.h"
#include "jsonutil.h"
#include "strv.h"
#include "xalloc.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static void test_builders(void **state)
{
	struct cmd c;
	char *devs[] = {"/dev/vdb", "/dev/vdc", NULL};

	disks_lsblk_build_cmd(&c);
	golden_check_cmd("storage/disks-lsblk.argv", &c);
	disks_pvs_build_cmd(&c);
	golden_check_cmd("storage/disks-pvs.argv", &c);
	disks_blkid_build_cmd(&c, "/dev/vdb");
	golden_check_cmd("storage/disks-blkid.argv", &c);
	disks_pvremove_build_cmd(&c, "/dev/vdb");
	golden_check_cmd("storage/disks-pvremove.argv", &c);
	disks_vgremove_build_cmd(&c, "vmdata");
	golden_check_cmd("storage/disks-vgremove.argv", &c);
	disks_zpool_create_build_cmd(&c, "tank", 12, "on", "mirror", devs);
	golden_check_cmd("storage/disks-zpool-create-mirror.argv", &c);
	devs[1] = NULL;
	disks_zpool_create_build_cmd(&c, "tank", 9, "lz4", "single", devs);
	golden_check_cmd("storage/disks-zpool-create-single.argv", &c);
	disks_zpool_list_build_cmd(&c);
	golden_check_cmd("storage/disks-zpool-list.argv", &c);
	disks_mkfs_build_cmd(&c, "ext4", "/dev/vdb");
	golden_check_cmd("storage/disks-mkfs-ext4.argv", &c);
	disks_mkfs_build_cmd(&c, "xfs", "/dev/vdb");
	golden_check_cmd("storage/disks-mkfs-xfs.argv", &c);
	disks_mount_build_cmd(&c, "ext4", "/dev/vdb", "/mnt/pve/backup");
	golden_check_cmd("storage/disks-mount.argv", &c);
	disks_umount_build_cmd(&c, "/mnt/pve/backup");
	golden_check_cmd("storage/disks-umount.argv", &c);
	disks_wipefs_build_cmd(&c, "/dev/vdb");
	golden_check_cmd("storage/disks-wipefs.argv", &c);
	disks_blkid_all_build_cmd(&c);
	golden_check_cmd("storage/disks-blkid-all.argv", &c);
	disks_thinpool_create_build_cmd(&c, "thin", "thin", 30 * GiB, GiB + 1);
	golden_check_cmd("storage/disks-thinpool-create.argv", &c);
}

static char *recorded(const char *name, size_t *ret_len)
{
	const char *data = getenv("CTVM_TEST_DATA");
	_cleanup_free_ char *path = NULL;
	struct error *err = NULL;
	char *out = NULL;
	size_t len = 0;

	assert_non_null(data);
	path = xasprintf("%s/storage/disks/%s", data, name);
	assert_int_equal(read_file(path, 1 << 20, &out, &len, &err), 0);
	if (ret_len)
		*ret_len = len;
	return out;
}

static void load_inventory(struct disk_info **ret, size_t *ret_n)
{
	size_t len;
	_cleanup_free_ char *json = recorded("lsblk.json", &len);
	_cleanup_free_ char *pvjson = recorded("pvs.json", NULL);
	_cleanup_strv_free_ char **pvs = NULL;
	assert_int_equal(disks_pvs_parse(pvjson, strlen(pvjson), &pvs), 0);
	assert_int_equal(strv_length(pvs), 2);
	assert_string_equal(pvs[1], "/dev/vdb");
	assert_int_equal(disks_lsblk_parse(json, len, ret, ret_n), 0);
	disks_classify(*ret, *ret_n, pvs);
}

static const char *used_of(const struct disk_info *d, size_t n, const char *path)
{
	const struct disk_info *x = disks_find(d, n, path);
	assert_non_null(x);
	return x->used;
}

static void test_lsblk(void **state)
{
	struct disk_info *d = NULL;
	size_t n = 0;
	load_inventory(&d, &n);
	/* loop, rom, zram and the device-mapper rows are not listed */
	assert_int_equal(n, 12);
	assert_null(disks_find(d, n, "/dev/zram0"));
	assert_null(disks_find(d, n, "/dev/sr0"));
	assert_null(disks_find(d, n, "/dev/loop0"));
	assert_null(disks_find(d, n, "/dev/mapper/pve-root"));

	const struct disk_info *sda = disks_find(d, n, "/dev/sda");
	assert_int_equal(sda->size, 500107862016ull);
	assert_string_equal(sda->model, "Samsung SSD 870 EVO 500GB");
	assert_string_equal(sda->vendor, "ATA"); /* blanks cut */
	assert_false(sda->rotational);
	assert_false(sda->partition);
	const struct disk_info *sda3 = disks_find(d, n, "/dev/sda3");
	assert_true(sda3->partition);
	assert_string_equal(sda3->parent, "/dev/sda");

	/* what is in use, in PVE's words */
	assert_string_equal(used_of(d, n, "/dev/sda"), "partitions");
	assert_null(used_of(d, n, "/dev/sda1"));
	assert_string_equal(used_of(d, n, "/dev/sda2"), "mounted");
	assert_string_equal(used_of(d, n, "/dev/sda3"), "LVM");
	assert_null(used_of(d, n, "/dev/sdb"));
	assert_string_equal(used_of(d, n, "/dev/sdc"), "ZFS");
	assert_string_equal(used_of(d, n, "/dev/sdd"), "mounted");
	assert_string_equal(used_of(d, n, "/dev/sde"), "xfs");
	assert_string_equal(used_of(d, n, "/dev/sdf"), "partitions"); /* an empty table */
	assert_string_equal(used_of(d, n, "/dev/sdg"), "Device Mapper");
	assert_null(used_of(d, n, "/dev/nvme0n1"));
	assert_string_equal(used_of(d, n, "/dev/vdb"), "LVM"); /* pvs only */

	struct error *err = NULL;
	assert_int_equal(disks_check_unused(d, n, "/dev/sdb", &err), 0);
	assert_int_equal(disks_check_unused(d, n, "/dev/sda1", &err), 0);
	assert_int_equal(disks_check_unused(d, n, "/dev/sdc", &err), -EBUSY);
	assert_int_equal(err->http_status, 400);
	assert_string_equal(err->msg, "device '/dev/sdc' is already in use (ZFS)");
	err = error_free(err);
	assert_int_equal(disks_check_unused(d, n, "/dev/sdz", &err), -ENOENT);
	assert_string_equal(err->msg, "unable to find device '/dev/sdz'");
	err = error_free(err);
	disk_info_list_free(d, n);
}

static void test_list_json(void **state)
{
	struct disk_info *d = NULL;
	size_t n = 0;
	load_inventory(&d, &n);
	_cleanup_json_ json_t *sda = disk_info_json(disks_find(d, n, "/dev/sda"));
	_cleanup_json_ json_t *sdb = disk_info_json(disks_find(d, n, "/dev/sdb"));
	_cleanup_json_ json_t *nvme = disk_info_json(disks_find(d, n, "/dev/nvme0n1"));
	_cleanup_json_ json_t *usb = disk_info_json(disks_find(d, n, "/dev/sde"));
	_cleanup_json_ json_t *part = disk_info_json(disks_find(d, n, "/dev/sda2"));
	/* the JSON types Proxmox's clients read */
	assert_true(json_is_integer(json_object_get(sda, "size")));
	assert_int_equal(json_integer_value(json_object_get(sda, "size")), 500107862016ll);
	assert_int_equal(json_integer_value(json_object_get(sda, "gpt")), 1);
	assert_int_equal(json_integer_value(json_object_get(sda, "mounted")), 0);
	assert_string_equal(json_string_value(json_object_get(sda, "type")), "ssd");
	assert_string_equal(json_string_value(json_object_get(sda, "used")), "partitions");
	assert_string_equal(json_string_value(json_object_get(sda, "wwn")), "0x5002538f41234567");
	assert_string_equal(json_string_value(json_object_get(sda, "health")), "UNKNOWN");
	assert_string_equal(json_string_value(json_object_get(sdb, "type")), "hdd");
	assert_null(json_object_get(sdb, "used"));
	assert_int_equal(json_integer_value(json_object_get(sdb, "gpt")), 0);
	assert_string_equal(json_string_value(json_object_get(nvme, "type")), "nvme");
	assert_string_equal(json_string_value(json_object_get(nvme, "serial")), "S5GXNX0T123456");
	assert_string_equal(json_string_value(json_object_get(usb, "type")), "usb");
	assert_string_equal(json_string_value(json_object_get(part, "parent")), "/dev/sda");
	assert_int_equal(json_integer_value(json_object_get(part, "mounted")), 1);
	assert_string_equal(json_string_value(json_object_get(part, "type")), "partition");
	disk_info_list_free(d, n);
}

static void lsblk_bad(const char *json)
{
	struct disk_info *d = (void *)1;
	size_t n = 7;
	assert_int_equal(disks_lsblk_parse(json, strlen(json), &d, &n), -EINVAL);
	assert_ptr_equal(d, (void *)1);
	assert_int_equal(n, 7);
}

static void test_malformed(void **state)
{
	lsblk_bad("");
	lsblk_bad("{}");
	lsblk_bad("{\"blockdevices\": {}}");
	lsblk_bad("{\"blockdevices\": [42]}");
	lsblk_bad("{\"blockdevices\": [{\"name\":\"sda\",\"type\":\"disk\"}]}");
	lsblk_bad("{\"blockdevices\": [{\"name\":\"sda\",\"path\":\"/dev/sda\",\"type\":\"disk\","
	          "\"size\":-1}]}");
	lsblk_bad("{\"blockdevices\": [{\"name\":\"sda\",\"path\":\"/dev/sda\",\"type\":\"disk\","
	          "\"size\":\"12x\"}]}");
	lsblk_bad("{\"blockdevices\": [{\"name\":\"sda\",\"name\":\"sdb\",\"path\":\"/dev/sda\","
	          "\"type\":\"disk\"}]}");
	/* older lsblk: numbers and flags as strings */
	const char old[] = "{\"blockdevices\": [{\"name\":\"sda\",\"path\":\"/dev/sda\","
	                   "\"type\":\"disk\",\"size\":\"1024\",\"rota\":\"1\"}]}";
	struct disk_info *d = NULL;
	size_t n = 0;
	assert_int_equal(disks_lsblk_parse(old, strlen(old), &d, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].size, 1024);
	assert_true(d[0].rotational);
	disk_info_list_free(d, n);

	char **pvs = NULL;
	assert_int_equal(disks_pvs_parse("{\"report\":[{\"pv\":[{}]}]}", 25, &pvs), -EINVAL);
	assert_int_equal(disks_pvs_parse("[]", 2, &pvs), -EINVAL);
	assert_null(pvs);
}

static void test_blkid(void **state)
{
	_cleanup_free_ char *out = recorded("blkid.txt", NULL);
	_cleanup_free_ char *uuid = NULL, *type = NULL;
	char *x = NULL;
	assert_int_equal(disks_blkid_get(out, "UUID", &uuid), 0);
	assert_string_equal(uuid, "5f0f2a8e-7c0b-4b0e-9b43-1d2b0e9c1a11");
	assert_int_equal(disks_blkid_get(out, "TYPE", &type), 0);
	assert_string_equal(type, "ext4");
	assert_int_equal(disks_blkid_get(out, "PARTUUID", &x), -ENOENT);
	assert_int_equal(disks_blkid_get("garbage\n", "UUID", &x), -EINVAL);
	assert_int_equal(disks_blkid_get("", "UUID", &x), -ENOENT);
	assert_null(x);
}

/* Without udev lsblk knows no file system: blkid's probe fills them in. */
static void test_blkid_all(void **state)
{
	size_t len;
	_cleanup_free_ char *json = recorded("lsblk.json", &len);
	_cleanup_free_ char *out = recorded("blkid-all.txt", NULL);
	struct disk_info *d = NULL;
	size_t n = 0;
	assert_int_equal(disks_lsblk_parse(json, len, &d, &n), 0);
	for (size_t i = 0; i < n; i++) {
		free(d[i].fstype);
		d[i].fstype = NULL;
	}
	d[11].fstype = xstrdup("ext4"); /* vdb */ /* lsblk's own word stays */
	assert_int_equal(disks_blkid_all_apply(out, d, n), 0);
	disks_classify(d, n, NULL);
	assert_string_equal(used_of(d, n, "/dev/sdc"), "ZFS");
	assert_string_equal(used_of(d, n, "/dev/sda3"), "LVM");
	assert_string_equal(used_of(d, n, "/dev/sde"), "xfs");
	assert_string_equal(disks_find(d, n, "/dev/sda2")->fstype, "vfat");
	assert_string_equal(d[11].fstype, "ext4");
	assert_null(used_of(d, n, "/dev/sdb"));
	assert_null(disks_find(d, n, "/dev/nvme0n1")->fstype);
	assert_int_equal(disks_blkid_all_apply("DEVNAME=/dev/sdb\ngarbage\n", d, n), -EINVAL);
	assert_int_equal(disks_blkid_all_apply("", d, n), 0);
	disk_info_list_free(d, n);
}

static void test_zpool_list(void **state)
{
	_cleanup_free_ char *out = recorded("zpool-list.txt", NULL);
	_cleanup_json_ json_t *a = NULL;
	json_t *x = NULL;
	assert_int_equal(disks_zpool_list_parse(out, &a), 0);
	assert_int_equal(json_array_size(a), 2);
	json_t *tank = json_array_get(a, 1);
	assert_string_equal(json_string_value(json_object_get(tank, "name")), "tank");
	assert_int_equal(json_integer_value(json_object_get(tank, "size")), 3985729650688ll);
	assert_int_equal(json_integer_value(json_object_get(tank, "frag")), 0);
	assert_string_equal(json_string_value(json_object_get(tank, "health")), "DEGRADED");
	assert_int_equal(disks_zpool_list_parse("rpool\t1\t2\n", &x), -EINVAL);
	assert_int_equal(disks_zpool_list_parse("rpool\t-1\t2\t3\t4\t1.00\tONLINE\n", &x), -EINVAL);
	assert_int_equal(disks_zpool_list_parse("rpool\t1\t2\t3\t4\tnan\tONLINE\n", &x), -EINVAL);
	assert_null(x);
}

static void test_fstab(void **state)
{
	_cleanup_free_ char *fstab = recorded("fstab.txt", NULL);
	_cleanup_json_ json_t *a = disks_fstab_dirs(fstab);
	assert_int_equal(json_array_size(a), 1);
	json_t *r = json_array_get(a, 0);
	assert_string_equal(json_string_value(json_object_get(r, "path")), "/mnt/pve/backup");
	assert_string_equal(json_string_value(json_object_get(r, "type")), "ext4");
	_cleanup_free_ char *line = disks_fstab_line("u-1", "/mnt/pve/x", "xfs");
	assert_string_equal(line, "UUID=u-1 /mnt/pve/x xfs defaults,nofail 0 2\n");
}

static void test_thin_sizes(void **state)
{
	uint64_t data = 0, meta = 0;
	/* a large disk: 1% of metadata, capped at 16 GiB */
	assert_int_equal(disks_thin_sizes(4000 * GiB, &data, &meta), 0);
	assert_int_equal(meta, 16 * GiB);
	assert_true(data + 2 * meta < 4000 * GiB - 40 * GiB + 4 * MiB);
	/* a mid-size one: at least 1 GiB */
	assert_int_equal(disks_thin_sizes(32 * GiB, &data, &meta), 0);
	assert_int_equal(meta, GiB);
	assert_int_equal(data % (4 * MiB), 0);
	assert_true(data + 2 * meta + 32 * GiB / 100 <= 32 * GiB);
	/* a small one (the lab's disks): what the disk allows */
	assert_int_equal(disks_thin_sizes(1 * GiB, &data, &meta), 0);
	assert_true(meta < GiB / 20 && meta >= 4 * MiB);
	assert_true(data > GiB * 9 / 10);
	assert_int_equal(disks_thin_sizes(32 * MiB, &data, &meta), -ENOSPC);
}

static void test_zfs_levels(void **state)
{
	struct error *err = NULL;
	assert_int_equal(disks_zfs_check_devices("single", 1, &err), 0);
	assert_int_equal(disks_zfs_check_devices("mirror", 2, &err), 0);
	assert_int_equal(disks_zfs_check_devices("raidz3", 5, &err), 0);
	assert_int_equal(disks_zfs_check_devices("single", 2, &err), -EINVAL);
	assert_string_equal(err->msg, "single should have a maximum of 1 disks");
	err = error_free(err);
	assert_int_equal(disks_zfs_check_devices("raidz2", 3, &err), -EINVAL);
	assert_string_equal(err->msg, "raidz2 needs at least 4 disks");
	assert_int_equal(err->http_status, 400);
	err = error_free(err);
	assert_int_equal(disks_zfs_check_devices("raid10", 4, &err), -EINVAL);
	err = error_free(err);
}

static void test_devpath(void **state)
{
	assert_true(disks_devpath_valid("/dev/sdb"));
	assert_true(disks_devpath_valid("/dev/nvme0n1"));
	assert_true(disks_devpath_valid("/dev/disk/by-id/ata-WDC_WD40EFRX-68N32N0_WD-WCC7K1"));
	assert_false(disks_devpath_valid("/dev/"));
	assert_false(disks_devpath_valid("/dev/../etc/passwd"));
	assert_false(disks_devpath_valid("/tmp/x"));
	assert_false(disks_devpath_valid("/dev/sd b"));
	assert_false(disks_devpath_valid("/dev/sdb,/dev/sdc"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builders),   cmocka_unit_test(test_lsblk),
	    cmocka_unit_test(test_list_json),  cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_blkid),      cmocka_unit_test(test_blkid_all),
	    cmocka_unit_test(test_zpool_list), cmocka_unit_test(test_fstab),
	    cmocka_unit_test(test_thin_sizes), cmocka_unit_test(test_zfs_levels),
	    cmocka_unit_test(test_devpath),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

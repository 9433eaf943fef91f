/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The Disks API's operations (disks-ops.h) under the command runner's dry
 * run: for each of lvm, lvmthin, zfs and directory the exact commands run
 * on a blank disk, in order, and the storage.cfg entry added; a disk in use
 * or a storage id taken refused before anything runs; and a failure
 * halfway taken back (the VG and PV removed, the file system wiped, the
 * mount point and the fstab line gone).  The disks are those of the
 * recorded lsblk output (tests/data/storage/disks/).
 */
#include "common.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "backend-lvm.h"
#include "cmd-dryrun.h"
#include "cmd.h"
#include "disks-ops.h"
#include "disks.h"
#include "error.h"
#include "fileio.h"
#include "paths.h"
#include "storage-config.h"
#include "storage-ops.h"
#include "storage.h"
#include "strv.h"
#include "xalloc.h"

#define GiB (1ull << 30)

struct fixture {
	char dir[64];
	char *fstab, *mnt, *cfgpath;
	struct ctvm_paths *paths;
	struct storage_config_store *cfg;
	struct storage_task_env env;
	char *lsblk, *pvs;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static char *recorded(const char *name)
{
	const char *data = getenv("CTVM_TEST_DATA");
	_cleanup_free_ char *path = xasprintf("%s/storage/disks/%s", data ? data : ".", name);
	char *out = NULL;
	size_t len;
	assert_int_equal(read_file(path, 1 << 20, &out, &len, NULL), 0);
	return out;
}

static const char fstab0[] = "/dev/pve/root / ext4 errors=remount-ro 0 1\n";

static int setup(void **state)
{
	struct fixture *f = xnew(struct fixture, 1);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ctvm-test-disks-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->paths = ctvm_paths_new(f->dir);
	assert_int_equal(ctvm_paths_create(f->paths), 0);
	storage_set_lock_dir(f->paths->run);
	f->cfgpath = path_join(f->paths->etc, "storage.cfg");
	const char cfg[] = "dir: local\n\tpath /var/lib/vz\n\tcontent iso\n";
	assert_int_equal(write_file_atomic(f->cfgpath, cfg, strlen(cfg), 0644, NULL), 0);
	f->fstab = path_join(f->dir, "fstab");
	assert_int_equal(write_file_atomic(f->fstab, fstab0, strlen(fstab0), 0644, NULL), 0);
	f->mnt = path_join(f->dir, "mnt");
	disks_set_paths(f->fstab, f->mnt);
	f->cfg = storage_config_store_new(f->paths);
	f->env = (struct storage_task_env){.node = "testnode", .store = f->cfg};
	f->lsblk = recorded("lsblk.json");
	f->pvs = recorded("pvs.json");
	cmd_dryrun_begin();
	cmd_dryrun_alias(f->dir, "ROOT");
	cmd_dryrun_on("lsblk", 0, f->lsblk, NULL);
	cmd_dryrun_on("pvs", 0, f->pvs, NULL);
	cmd_dryrun_on("blkid -c", 0, "", NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	cmd_dryrun_end();
	disks_set_paths(NULL, NULL);
	storage_set_lock_dir(NULL);
	storage_config_store_free(f->cfg);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	ctvm_paths_free(f->paths);
	free(f->fstab);
	free(f->mnt);
	free(f->cfgpath);
	free(f->lsblk);
	free(f->pvs);
	free(f);
	return 0;
}

static char *cfg_text(struct fixture *f)
{
	char *out = NULL;
	size_t len;
	assert_int_equal(read_file(f->cfgpath, 1 << 20, &out, &len, NULL), 0);
	return out;
}

static char *fstab_text(struct fixture *f)
{
	char *out = NULL;
	size_t len;
	assert_int_equal(read_file(f->fstab, 1 << 20, &out, &len, NULL), 0);
	return out;
}

static const char inventory[] =
    "lsblk --json --list --bytes -o "
    "NAME,PATH,TYPE,SIZE,ROTA,MODEL,SERIAL,WWN,VENDOR,TRAN,FSTYPE,MOUNTPOINT,PTTYPE,PKNAME\n"
    "pvs --reportformat json -o pv_name,vg_name\n"
    "blkid -c /dev/null -o export\n";

static int create(struct fixture *f, enum disks_kind kind, const char *name, const char *devs,
                  bool add, struct error **err)
{
	struct disks_request rq = {
	    .kind = kind,
	    .name = name,
	    .devices = strv_split(devs, ","),
	    .raidlevel = kind == DISKS_ZFS ? (strchr(devs, ',') ? "mirror" : "single") : NULL,
	    .compression = "on",
	    .ashift = 12,
	    .filesystem = kind == DISKS_DIR ? "ext4" : NULL,
	    .add_storage = add,
	};
	int r = disks_create(&rq, &f->env, NULL, err);
	disks_request_clear(&rq);
	return r;
}

static void test_lvm(void **state)
{
	struct fixture *f = *state;
	struct error *err = NULL;
	cmd_dryrun_expect("pvcreate", 0, NULL, NULL);
	cmd_dryrun_expect("vgcreate", 0, NULL, NULL);
	assert_int_equal(create(f, DISKS_LVM, "vmdata", "/dev/sdb", true, &err), 0);
	_cleanup_free_ char *expected = xasprintf("%s"
	                                          "pvcreate --metadatasize 250k /dev/sdb\n"
	                                          "vgcreate vmdata /dev/sdb\n",
	                                          inventory);
	cmd_dryrun_assert(expected);
	_cleanup_free_ char *cfg = cfg_text(f);
	assert_non_null(strstr(cfg, "lvm: vmdata\n\tvgname vmdata\n\tcontent "));
	assert_non_null(strstr(cfg, "\tnodes testnode\n"));
}

static void test_lvm_vgcreate_fails(void **state)
{
	struct fixture *f = *state;
	struct error *err = NULL;
	cmd_dryrun_expect("pvcreate", 0, NULL, NULL);
	cmd_dryrun_expect("vgcreate", 5, NULL, "  A volume group called vmdata already exists.\n");
	cmd_dryrun_expect("pvremove", 0, NULL, NULL);
	assert_int_equal(create(f, DISKS_LVM, "vmdata", "/dev/sdb", true, &err), -EIO);
	assert_non_null(strstr(err->msg, "vgcreate vmdata /dev/sdb' failed"));
	err = error_free(err);
	_cleanup_free_ char *expected = xasprintf("%s"
	                                          "pvcreate --metadatasize 250k /dev/sdb\n"
	                                          "vgcreate vmdata /dev/sdb\n"
	                                          "pvremove -y /dev/sdb\n",
	                                          inventory);
	cmd_dryrun_assert(expected);
	_cleanup_free_ char *cfg = cfg_text(f);
	assert_null(strstr(cfg, "vmdata"));
}

static const char vgs32[] =
    "{\"report\":[{\"vg\":[{\"vg_name\":\"thin\",\"vg_size\":\"34355544064\","
    "\"vg_free\":\"34355544064\",\"lv_count\":\"0\"}]}]}";

static char *thin_lines(void)
{
	uint64_t data = 0, meta = 0;
	struct cmd c;
	assert_int_equal(disks_thin_sizes(34355544064ull, &data, &meta), 0);
	assert_int_equal(meta, GiB);
	disks_thinpool_create_build_cmd(&c, "thin", "thin", data, meta);
	_cleanup_free_ char *pool = cmd_to_string(&c);
	cmd_release(&c);
	return xasprintf("%s"
	                 "pvcreate --metadatasize 250k /dev/nvme0n1\n"
	                 "vgcreate thin /dev/nvme0n1\n"
	                 "vgs --reportformat json --units b --nosuffix -o "
	                 "vg_name,vg_size,vg_free,lv_count thin\n"
	                 "%s\n",
	                 inventory, pool);
}

static void test_lvmthin(void **state)
{
	struct fixture *f = *state;
	struct error *err = NULL;
	cmd_dryrun_expect("pvcreate", 0, NULL, NULL);
	cmd_dryrun_expect("vgcreate", 0, NULL, NULL);
	cmd_dryrun_expect("vgs", 0, vgs32, NULL);
	cmd_dryrun_expect("lvcreate --yes --type thin-pool", 0, NULL, NULL);
	cmd_dryrun_expect("lvchange", 0, NULL, NULL);
	assert_int_equal(create(f, DISKS_LVMTHIN, "thin", "/dev/nvme0n1", true, &err), 0);
	_cleanup_free_ char *head = thin_lines();
	/* the pool fails writes when full instead of queueing them */
	_cleanup_free_ char *expected = xasprintf("%slvchange --errorwhenfull y thin/thin\n", head);
	cmd_dryrun_assert(expected);
	_cleanup_free_ char *cfg = cfg_text(f);
	assert_non_null(strstr(cfg, "lvmthin: thin\n"));
	assert_non_null(strstr(cfg, "\tvgname thin\n"));
	assert_non_null(strstr(cfg, "\tthinpool thin\n"));
}

/* the VG was made, the pool failed: VG and PV are taken back, no storage */
static void test_lvmthin_pool_fails(void **state)
{
	struct fixture *f = *state;
	struct error *err = NULL;
	cmd_dryrun_expect("pvcreate", 0, NULL, NULL);
	cmd_dryrun_expect("vgcreate", 0, NULL, NULL);
	cmd_dryrun_expect("vgs", 0, vgs32, NULL);
	cmd_dryrun_expect("lvcreate", 5, NULL, "  Insufficient free space\n");
	cmd_dryrun_expect("vgremove", 0, NULL, NULL);
	cmd_dryrun_expect("pvremove", 0, NULL, NULL);
	assert_int_equal(create(f, DISKS_LVMTHIN, "thin", "/dev/nvme0n1", true, &err), -EIO);
	assert_non_null(strstr(err->msg, "Insufficient free space"));
	err = error_free(err);
	_cleanup_free_ char *head = thin_lines();
	_cleanup_free_ char *expected =
	    xasprintf("%svgremove -y thin\npvremove -y /dev/nvme0n1\n", head);
	cmd_dryrun_assert(expected);
	_cleanup_free_ char *cfg = cfg_text(f);
	assert_null(strstr(cfg, "thin"));
}

/* the pool was made, errorwhenfull failed: the VG goes, pool and all */
static void test_lvmthin_errorwhenfull_fails(void **state)
{
	struct fixture *f = *state;
	struct error *err = NULL;
	cmd_dryrun_expect("pvcreate", 0, NULL, NULL);
	cmd_dryrun_expect("vgcreate", 0, NULL, NULL);
	cmd_dryrun_expect("vgs", 0, vgs32, NULL);
	cmd_dryrun_expect("lvcreate", 0, NULL, NULL);
	cmd_dryrun_expect("lvchange", 5, NULL, NULL);
	cmd_dryrun_expect("vgremove", 0, NULL, NULL);
	cmd_dryrun_expect("pvremove", 0, NULL, NULL);
	assert_int_equal(create(f, DISKS_LVMTHIN, "thin", "/dev/nvme0n1", true, &err), -EIO);
	err = error_free(err);
	_cleanup_free_ char *head = thin_lines();
	_cleanup_free_ char *expected =
	    xasprintf("%slvchange --errorwhenfull y thin/thin\nvgremove -y thin\n"
	              "pvremove -y /dev/nvme0n1\n",
	              head);
	cmd_dryrun_assert(expected);
}

static void test_zfs(void **state)
{
	struct fixture *f = *state;
	struct error *err = NULL;
	cmd_dryrun_expect("zpool create", 0, NULL, NULL);
	assert_int_equal(create(f, DISKS_ZFS, "tank", "/dev/sdb,/dev/nvme0n1", true, &err), 0);
	_cleanup_free_ char *expected = xasprintf(
	    "%szpool create -o ashift=12 -O compression=on tank mirror /dev/sdb /dev/nvme0n1\n",
	    inventory);
	cmd_dryrun_assert(expected);
	_cleanup_free_ char *cfg = cfg_text(f);
	assert_non_null(strstr(cfg, "zfspool: tank\n\tpool tank\n"));
}

static const char blkid[] = "DEVNAME=/dev/sdb\nUUID=0c1d-77\nBLOCK_SIZE=4096\nTYPE=ext4\n";

static void test_dir(void **state)
{
	struct fixture *f = *state;
	struct error *err = NULL;
	cmd_dryrun_expect("mkfs.ext4", 0, NULL, NULL);
	cmd_dryrun_expect("blkid", 0, blkid, NULL);
	cmd_dryrun_expect("mount", 0, NULL, NULL);
	assert_int_equal(create(f, DISKS_DIR, "backup", "/dev/sdb", true, &err), 0);
	_cleanup_free_ char *expected = xasprintf("%s"
	                                          "mkfs.ext4 -q -F /dev/sdb\n"
	                                          "blkid -o export /dev/sdb\n"
	                                          "mount -t ext4 /dev/sdb ROOT/mnt/backup\n",
	                                          inventory);
	cmd_dryrun_assert(expected);
	_cleanup_free_ char *fstab = fstab_text(f);
	_cleanup_free_ char *line =
	    xasprintf("%sUUID=0c1d-77 %s/backup ext4 defaults,nofail 0 2\n", fstab0, f->mnt);
	assert_string_equal(fstab, line);
	_cleanup_free_ char *cfg = cfg_text(f);
	_cleanup_free_ char *sect = xasprintf("dir: backup\n\tpath %s/backup\n", f->mnt);
	assert_non_null(strstr(cfg, sect));
	assert_non_null(strstr(cfg, "\tis_mountpoint 1\n"));
	/* and GET .../disks/directory lists it */
	json_t *dirs = NULL;
	assert_int_equal(disks_list_directory(&dirs, &err), 0);
	assert_int_equal(json_array_size(dirs), 0); /* not under /mnt/pve here */
	json_decref(dirs);
}

/* mount failed after mkfs: the file system is wiped, the mount point and
 * the fstab stay as they were */
static void test_dir_mount_fails(void **state)
{
	struct fixture *f = *state;
	struct error *err = NULL;
	cmd_dryrun_expect("mkfs.ext4", 0, NULL, NULL);
	cmd_dryrun_expect("blkid", 0, blkid, NULL);
	cmd_dryrun_expect("mount", 32, NULL, "mount: wrong fs type\n");
	cmd_dryrun_expect("wipefs", 0, NULL, NULL);
	assert_int_equal(create(f, DISKS_DIR, "backup", "/dev/sdb", true, &err), -EIO);
	err = error_free(err);
	_cleanup_free_ char *expected = xasprintf("%s"
	                                          "mkfs.ext4 -q -F /dev/sdb\n"
	                                          "blkid -o export /dev/sdb\n"
	                                          "mount -t ext4 /dev/sdb ROOT/mnt/backup\n"
	                                          "wipefs -a /dev/sdb\n",
	                                          inventory);
	cmd_dryrun_assert(expected);
	_cleanup_free_ char *fstab = fstab_text(f);
	assert_string_equal(fstab, fstab0);
	_cleanup_free_ char *mp = xasprintf("%s/backup", f->mnt);
	struct stat st;
	assert_int_equal(stat(mp, &st), -1);
	_cleanup_free_ char *cfg = cfg_text(f);
	assert_null(strstr(cfg, "backup"));
}

/* in use, in every way the inventory tells: refused, nothing run */
static void test_in_use(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *dev, *why;
	} cases[] = {
	    {"/dev/sda", "partitions"},    {"/dev/sda3", "LVM"}, {"/dev/sdc", "ZFS"},
	    {"/dev/sdd", "mounted"},       {"/dev/sde", "xfs"},  {"/dev/vdb", "LVM"},
	    {"/dev/sdg", "Device Mapper"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct error *err = NULL;
		assert_int_equal(create(f, DISKS_LVM, "vmdata", cases[i].dev, true, &err), -EBUSY);
		_cleanup_free_ char *msg =
		    xasprintf("device '%s' is already in use (%s)", cases[i].dev, cases[i].why);
		assert_string_equal(err->msg, msg);
		assert_int_equal(err->http_status, 400);
		error_free(err);
		cmd_dryrun_assert(inventory);
	}
	/* a mirror with one used disk */
	struct error *err = NULL;
	assert_int_equal(create(f, DISKS_ZFS, "tank", "/dev/sdb,/dev/sdc", false, &err), -EBUSY);
	err = error_free(err);
	cmd_dryrun_assert(inventory);
}

static void test_refused_early(void **state)
{
	struct fixture *f = *state;
	struct error *err = NULL;
	/* a storage id that exists: nothing runs, not even the inventory */
	assert_int_equal(create(f, DISKS_LVM, "local", "/dev/sdb", true, &err), -EEXIST);
	assert_string_equal(err->msg, "storage ID 'local' already defined");
	err = error_free(err);
	/* without add_storage the name is only a VG's */
	assert_int_equal(create(f, DISKS_ZFS, "mirror0", "/dev/sdb", false, &err), -EINVAL);
	assert_string_equal(err->msg, "name 'mirror0' is reserved by zfs");
	err = error_free(err);
	assert_int_equal(create(f, DISKS_ZFS, "tank", "/dev/sdb,/dev/sdb", false, &err), -EINVAL);
	assert_string_equal(err->msg, "device '/dev/sdb' given twice");
	err = error_free(err);
	assert_int_equal(create(f, DISKS_LVM, "x1", "/dev/sdb,/dev/nvme0n1", false, &err), -EINVAL);
	err = error_free(err);
	assert_int_equal(create(f, DISKS_LVM, "x1", "/etc/passwd", false, &err), -EINVAL);
	err = error_free(err);
	cmd_dryrun_assert("");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_lvm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lvm_vgcreate_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lvmthin, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lvmthin_pool_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lvmthin_errorwhenfull_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zfs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dir_mount_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_in_use, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_early, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

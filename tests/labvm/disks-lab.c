/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The Disks API's operations on real disks, inside the lab VM only
 * (labvm.sh disks): the same disks_create() the lvmcreate, lvmthincreate,
 * zfscreate and dircreate tasks of ctvmd run, with add_storage, on blank
 * virtio disks; then a volume allocated and freed through the new storage
 * entry, and the storage contract sequence (contract.c) run on it, as the
 * contract suite runs it on the lab fixtures; a disk in use refused.  Between the cases the disk is
 * made blank again by hand (vgremove, zpool destroy, umount + wipefs).
 *
 * Environment (init.sh): CTVM_LAB_DISKS="<blank disk> <partition> <partition>"
 * (/dev/vdc /dev/vda1 /dev/vdb1).  This destroys what is on them: it runs
 * nothing unless each is a 4 GiB virtio disk or a partition of one.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmd.h"
#include "contract.h"
#include "disks-ops.h"
#include "disks.h"
#include "error.h"
#include "fileio.h"
#include "lab-common.h"
#include "paths.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-ops.h"
#include "storage.h"
#include "strv.h"
#include "xalloc.h"

static char **lab_disks; /* blank disk, partition, partition */
static char root[] = "/tmp/ctvm-disks-lab-XXXXXX";
static struct ctvm_paths *paths;
static struct storage_config_store *store;
static struct storage_task_env env;

static void sh(const char *prog, ...)
{
	struct cmd c;
	va_list ap;
	cmd_init(&c, prog);
	va_start(ap, prog);
	for (const char *a; (a = va_arg(ap, const char *));)
		cmd_add(&c, a);
	va_end(ap);
	struct error *e = NULL;
	if (cmd_run(&c, NULL, &e) < 0)
		printf("# cleanup: %s\n", e ? e->msg : "?");
	error_free(e);
	cmd_release(&c);
}

static int create(enum disks_kind kind, const char *name, const char *devs, const char *level,
                  struct error **err)
{
	struct disks_request rq = {
	    .kind = kind,
	    .name = name,
	    .devices = strv_split(devs, ","),
	    .raidlevel = level,
	    .compression = "lz4",
	    .ashift = 12,
	    .filesystem = "ext4",
	    .add_storage = true,
	};
	int r = disks_create(&rq, &env, NULL, err);
	if (r < 0)
		printf("# %s: %s\n", name, *err ? (*err)->msg : "?");
	disks_request_clear(&rq);
	return r;
}

/* A volume on the new storage: allocated, its path there, freed. */
static void use_storage(const char *id, const char *fmt)
{
	struct storage *st = NULL;
	struct error *err = NULL;
	_cleanup_free_ char *vol = NULL, *path = NULL;
	assert_int_equal(storage_load_open_enabled(store, "lab", id, &st, &err), 0);
	assert_int_equal(storage_activate(st, &err), 0);
	int r = storage_alloc(st, 100, fmt, NULL, 64 * MiB, NULL, &vol, &err);
	if (r < 0)
		printf("# alloc on %s: %s\n", id, err ? err->msg : "?");
	assert_int_equal(r, 0);
	assert_int_equal(storage_path(st, vol, &path, &err), 0);
	printf("# %s: allocated %s at %s\n", id, vol, path);
	assert_int_equal(storage_free_volume(st, vol, NULL, &err), 0);
	storage_free(st);
}

/* --- the contract sequence on a storage the Disks API made --- */

static const char *contract_id; /* the storage the fixture hands out */

static int contract_setup(struct contract_env *ce)
{
	char tmpl[] = "/tmp/ctvm-disks-contract-XXXXXX";
	struct error *err = NULL;
	const char *path;

	assert_non_null(mkdtemp(tmpl));
	ce->root = xstrdup(tmpl);
	/* storage.cfg as the Disks API wrote it: the section is the one under
	 * test, not a copy made here */
	assert_int_equal(storage_config_store_load(store, &ce->cfg, &err), 0);
	ce->section = section_config_find(ce->cfg, contract_id);
	assert_non_null(ce->section);
	path = section_get(ce->section, "path");
	if (path)
		ce->path = xstrdup(path);
	else {
		ce->path = path_join(ce->root, "scratch");
		assert_int_equal(mkdir(ce->path, 0700), 0);
	}
	return 0;
}

static void contract_teardown(struct contract_env *ce)
{
	rm_rf(ce->root);
}

/* Lines of a command's output, less `skip` (the thin pool, the pool's own
 * dataset). */
static int lines_of(struct cmd *c, int skip)
{
	struct cmd_result res = {0};
	int n = 0;

	assert_int_equal(cmd_run(c, &res, NULL), 0);
	for (const char *p = res.out; p && *p; p++)
		if (*p == '\n')
			n++;
	cmd_result_clear(&res);
	cmd_release(c);
	return n - skip;
}

/* No LV or dataset left once the sequence freed its volumes. */
static void contract_assert_empty(struct contract_env *ce)
{
	const char *vg = section_get(ce->section, "vgname");
	struct cmd c;

	if (vg) {
		cmd_init(&c, "lvs");
		cmd_add(&c, "--noheadings");
		cmd_add(&c, "-o");
		cmd_add(&c, "lv_name");
		cmd_add(&c, vg);
		assert_int_equal(lines_of(&c, section_get(ce->section, "thinpool") ? 1 : 0), 0);
	} else {
		cmd_init(&c, "zfs");
		cmd_add(&c, "list");
		cmd_add(&c, "-H");
		cmd_add(&c, "-r");
		cmd_add(&c, "-t");
		cmd_add(&c, "all");
		cmd_add(&c, "-o");
		cmd_add(&c, "name");
		cmd_add(&c, section_get(ce->section, "pool"));
		assert_int_equal(lines_of(&c, 1), 0);
	}
}

static const struct contract_fixture contract_fixtures[] = {
    {"dir", contract_setup, contract_teardown},
    {"lvm", contract_setup, contract_teardown, .assert_empty = contract_assert_empty},
    {"lvmthin", contract_setup, contract_teardown, .assert_empty = contract_assert_empty},
    {"zfspool", contract_setup, contract_teardown, true, contract_assert_empty,
     .rollback_latest_only = true},
};

/* The contract sequence on storage `id` (of `type`), as the Disks API made
 * it. */
static void contract(const char *id, const char *type)
{
	const struct contract_fixture *fx = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(contract_fixtures); i++)
		if (streq(contract_fixtures[i].type, type))
			fx = &contract_fixtures[i];
	assert_non_null(fx);
	print_message("# contract sequence on %s (%s)\n", id, type);
	contract_id = id;
	contract_run(fx);
	/* contract_run() leaves no lock dir: ctvmd's again */
	storage_set_lock_dir(paths->run);
}

static void refused(enum disks_kind kind, const char *dev, const char *why)
{
	struct error *err = NULL;
	assert_int_equal(create(kind, "again", dev, kind == DISKS_ZFS ? "single" : NULL, &err),
	                 -EBUSY);
	_cleanup_free_ char *msg = xasprintf("device '%s' is already in use (%s)", dev, why);
	assert_string_equal(err->msg, msg);
	error_free(err);
}

/* The inventory works here and the disks are the lab's. */
static void disks(void **state)
{
	struct disk_info *d = NULL;
	size_t n = 0;
	struct error *err = NULL;
	assert_int_equal(disks_inventory(&d, &n, &err), 0);
	for (size_t i = 0; lab_disks[i]; i++) {
		const struct disk_info *x = disks_find(d, n, lab_disks[i]);
		assert_non_null(x);
		assert_null(x->used);
	}
	/* the partitioned disk of the first partition says so */
	const struct disk_info *p = disks_find(d, n, lab_disks[1]);
	assert_non_null(p->parent);
	assert_string_equal(disks_find(d, n, p->parent)->used, "partitions");
	disk_info_list_free(d, n);
}

static void disks_lvm(void **state)
{
	struct error *err = NULL;
	assert_int_equal(create(DISKS_LVM, "labvg", lab_disks[0], NULL, &err), 0);
	use_storage("labvg", "raw");
	contract("labvg", "lvm");
	refused(DISKS_LVM, lab_disks[0], "LVM");
}

static int clean_vg(const char *vg)
{
	sh("vgremove", "-y", vg, NULL);
	sh("pvremove", "-y", lab_disks[0], NULL);
	return 0;
}

static int clean_lvm(void **state)
{
	return clean_vg("labvg");
}

static int clean_lvmthin(void **state)
{
	return clean_vg("labthin");
}

static void disks_lvmthin(void **state)
{
	struct error *err = NULL;
	assert_int_equal(create(DISKS_LVMTHIN, "labthin", lab_disks[0], NULL, &err), 0);
	use_storage("labthin", "raw");
	contract("labthin", "lvmthin");
	refused(DISKS_LVMTHIN, lab_disks[0], "LVM");
	/* the pool fails writes when full */
	struct cmd c;
	struct cmd_result res = {0};
	cmd_init(&c, "lvs");
	cmd_add(&c, "--noheadings");
	cmd_add(&c, "-o");
	cmd_add(&c, "lv_when_full");
	cmd_add(&c, "labthin/labthin");
	assert_int_equal(cmd_run(&c, &res, NULL), 0);
	assert_non_null(strstr(res.out, "error"));
	cmd_result_clear(&res);
	cmd_release(&c);
}

static void disks_dir(void **state)
{
	struct error *err = NULL;
	assert_int_equal(create(DISKS_DIR, "labdir", lab_disks[0], NULL, &err), 0);
	use_storage("labdir", "raw");
	contract("labdir", "dir");
	refused(DISKS_DIR, lab_disks[0], "mounted");
}

static int clean_dir(void **state)
{
	sh("umount", "/mnt/pve/labdir", NULL);
	sh("wipefs", "-a", lab_disks[0], NULL);
	return 0;
}

static void disks_zfs_mirror(void **state)
{
	struct error *err = NULL;
	_cleanup_free_ char *devs = xasprintf("%s,%s", lab_disks[1], lab_disks[2]);
	assert_int_equal(create(DISKS_ZFS, "labmirror", devs, "mirror", &err), 0);
	use_storage("labmirror", "raw");
	contract("labmirror", "zfspool");
	refused(DISKS_ZFS, lab_disks[2], "ZFS");
}

static int clean_zfs(void **state)
{
	sh("zpool", "destroy", "labmirror", NULL);
	sh("zpool", "labelclear", "-f", lab_disks[1], NULL);
	sh("zpool", "labelclear", "-f", lab_disks[2], NULL);
	return 0;
}

static void disks_zfs_single(void **state)
{
	struct error *err = NULL;
	assert_int_equal(create(DISKS_ZFS, "labzfs", lab_disks[1], "single", &err), 0);
	use_storage("labzfs", "raw");
	contract("labzfs", "zfspool");
	sh("zpool", "destroy", "labzfs", NULL);
}

/* a partitioned disk and a disk that does not exist */
static void disks_refused(void **state)
{
	struct disk_info *d = NULL;
	size_t n = 0;
	struct error *err = NULL;
	assert_int_equal(disks_inventory(&d, &n, &err), 0);
	const char *parent = disks_find(d, n, lab_disks[1])->parent;
	refused(DISKS_LVM, parent, "partitions");
	disk_info_list_free(d, n);
	assert_int_equal(create(DISKS_LVM, "nodisk", "/dev/vdz", NULL, &err), -ENOENT);
	error_free(err);
}

int main(void)
{
	lab_disks = lab_disks_from_env();
	if (!lab_disks)
		return 77;
	if (!mkdtemp(root))
		return 1;
	paths = ctvm_paths_new(root);
	if (ctvm_paths_create(paths) < 0)
		return 1;
	storage_set_lock_dir(paths->run);
	_cleanup_free_ char *cfg = path_join(paths->etc, "storage.cfg");
	_cleanup_free_ char *fstab = path_join(root, "fstab");
	if (write_file_atomic(cfg, "", 0, 0644, NULL) < 0)
		return 1;
	disks_set_paths(fstab, NULL); /* /mnt/pve, as ctvmd */
	store = storage_config_store_new(paths);
	env = (struct storage_task_env){.node = "lab", .store = store};

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(disks),
	    cmocka_unit_test_teardown(disks_lvm, clean_lvm),
	    cmocka_unit_test_teardown(disks_lvmthin, clean_lvmthin),
	    cmocka_unit_test_teardown(disks_dir, clean_dir),
	    cmocka_unit_test_teardown(disks_zfs_mirror, clean_zfs),
	    cmocka_unit_test(disks_zfs_single),
	    cmocka_unit_test(disks_refused),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	_cleanup_free_ char *text = NULL;
	size_t len;
	if (read_file(cfg, 1 << 20, &text, &len, NULL) == 0)
		printf("# storage.cfg:\n%s", text);
	storage_config_store_free(store);
	return r;
}

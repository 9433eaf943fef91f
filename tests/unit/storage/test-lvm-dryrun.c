/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The lvm and lvmthin backends through the storage_*() entry points under
 * the command runner's dry run (tests/lib/cmd-dryrun.h): for each operation
 * the scripted lvs/vgs reports it reads and the exact lvm2 command lines it
 * runs, in order; refusals (full pool, overcommit, no room in the VG) that
 * run nothing; failures that leave nothing half-made.  Everything but the
 * kernel's device-mapper, which the lab VM tier's contract run covers.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmd-dryrun.h"
#include "dryrun-fixture.h"
#include "error.h"
#include "storage.h"
#include "xalloc.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static int group_setup(void **state)
{
	dryrun_fixture_setup("lvm");
	return 0;
}

static int group_teardown(void **state)
{
	dryrun_fixture_teardown();
	return 0;
}

/* A storage "s" of type with the given extra key/value pair. */
static struct storage *open_store(const char *type, const char *k1, const char *v1)
{
	const char *kv[9] = {"vgname", streq(type, "lvm") ? "vmdata" : "pve"};
	size_t n = 2;
	if (streq(type, "lvmthin")) {
		kv[n++] = "thinpool";
		kv[n++] = "data";
	}
	kv[n++] = "content";
	kv[n++] = "images,rootdir";
	kv[n++] = k1;
	kv[n++] = v1;
	kv[n] = NULL;
	return dryrun_open_store(type, "s", kv);
}

static char *recorded(const char *name)
{
	return dryrun_recorded("lvm", name);
}

/* The recorded thin report with the pool's data and metadata percent
 * replaced. */
static char *thin_report(const char *data_pct, const char *meta_pct)
{
	_cleanup_free_ char *json = recorded("lvs-thin.json");
	_cleanup_free_ char *a = NULL;
	char *p;

	p = strstr(json, "\"data_percent\":\"12.47\"");
	assert_non_null(p);
	*p = 0;
	a = xasprintf("%s\"data_percent\":\"%s\"%s", json, data_pct,
	              p + strlen("\"data_percent\":\"12.47\""));
	p = strstr(a, "\"metadata_percent\":\"0.95\"");
	assert_non_null(p);
	*p = 0;
	return xasprintf("%s\"metadata_percent\":\"%s\"%s", a, meta_pct,
	                 p + strlen("\"metadata_percent\":\"0.95\""));
}

#define LVS                                                                                     \
	"lvs --reportformat json --units b --nosuffix --config 'report/time_format=\"%s\"' -o " \
	"vg_name,lv_name,lv_size,lv_attr,pool_lv,origin,data_percent,metadata_percent,lv_tags," \
	"lv_time,lv_metadata_size,lv_when_full"
#define VGS "vgs --reportformat json --units b --nosuffix -o vg_name,vg_size,vg_free,lv_count"

static void on_reports(const char *lvs_json)
{
	_cleanup_free_ char *vgs = recorded("vgs.json");

	cmd_dryrun_on("lvs", 0, lvs_json, NULL);
	cmd_dryrun_on("vgs", 0, vgs, NULL);
}

static void test_parse_volname(void **state)
{
	struct storage *thick = open_store("lvm", NULL, NULL);
	struct storage *thin = open_store("lvmthin", NULL, NULL);
	struct volname_info i = {0};
	struct error *err = NULL;

	assert_int_equal(storage_parse_volname(thin, "vm-100-disk-0", &i, &err), 0);
	assert_int_equal(i.vmid, 100);
	assert_string_equal(i.format, "raw");
	assert_false(i.is_base);
	volname_info_clear(&i);
	assert_int_equal(storage_parse_volname(thin, "base-9000-disk-1", &i, &err), 0);
	assert_true(i.is_base);
	assert_int_equal(i.vmid, 9000);
	volname_info_clear(&i);
	/* thick LVM has no templates */
	static const char *const bad_thick[] = {
	    "base-9000-disk-1", "vm-0-disk-0",           "vm-100",
	    "vm-100-",          "vm-x-disk-0",           "snap_vm-100-disk-0_s",
	    "vm-100-disk/0",    "100/vm-100-disk-0.raw", "vm-0100-disk-0"};
	for (size_t k = 0; k < ARRAY_SIZE(bad_thick); k++) {
		assert_int_equal(storage_parse_volname(thick, bad_thick[k], &i, &err), -EINVAL);
		assert_int_equal(err->http_status, 400);
		err = error_free(err);
	}
	storage_free(thick);
	storage_free(thin);
}

static void test_thin_status(void **state)
{
	struct storage *st = open_store("lvmthin", NULL, NULL);
	_cleanup_free_ char *lvs = recorded("lvs-thin.json");
	struct storage_status s;
	struct error *err = NULL;

	cmd_dryrun_begin();
	on_reports(lvs);
	assert_int_equal(storage_status(st, &s, &err), 0);
	assert_true(s.active);
	assert_true(s.has_pool);
	assert_int_equal(s.total, 1793798586368ull);
	/* data_percent of lv_size, as PVE; metadata apart */
	assert_int_equal(s.used, (uint64_t)(1793798586368.0 * 12.47 / 100.0));
	assert_int_equal(s.avail, s.total - s.used);
	/* every thin LV of the pool: base, snapshot, three volumes */
	assert_int_equal(s.provisioned, 4 * 34359738368ull + 4194304);
	assert_true(s.meta_pct > 0.94 && s.meta_pct < 0.96);
	assert_int_equal(s.warn_level, 0);
	assert_string_equal(s.health, "ok");
	assert_string_equal(s.message, "");
	assert_int_equal(cmd_dryrun_end(), 0);

	/* 80/90/95 % of data or metadata: a warning naming the pool */
	static const struct {
		const char *data, *meta;
		int level;
	} cases[] = {{"79.99", "1.00", 0},
	             {"80.00", "1.00", 80},
	             {"91.50", "1.00", 90},
	             {"10.00", "96.00", 95},
	             {"100.00", "50.00", 95}};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *json = thin_report(cases[i].data, cases[i].meta);

		cmd_dryrun_begin();
		on_reports(json);
		assert_int_equal(storage_status(st, &s, &err), 0);
		assert_int_equal(s.warn_level, cases[i].level);
		if (cases[i].level)
			assert_non_null(strstr(s.message, "thin pool 'pve/data' is"));
		assert_int_equal(cmd_dryrun_end(), 0);
	}
	storage_free(st);
}

static void test_not_active(void **state)
{
	struct storage *st = open_store("lvmthin", "vgname", "gone");
	struct storage *nopool = open_store("lvmthin", "thinpool", "nosuch");
	_cleanup_free_ char *lvs = recorded("lvs-thin.json");
	struct storage_status s;
	struct error *err = NULL;

	cmd_dryrun_begin();
	on_reports(lvs);
	/* a status says why; activation fails with it */
	assert_int_equal(storage_status(st, &s, &err), 0);
	assert_false(s.active);
	assert_string_equal(s.message, "volume group 'gone' not found");
	assert_int_equal(storage_activate(st, &err), -ENOENT);
	assert_string_equal(err->msg, "volume group 'gone' not found");
	err = error_free(err);
	assert_int_equal(storage_status(nopool, &s, &err), 0);
	assert_false(s.active);
	assert_string_equal(s.message, "thin pool 'pve/nosuch' not found");
	assert_int_equal(storage_activate(nopool, &err), -ENOENT);
	assert_string_equal(err->msg, "thin pool 'pve/nosuch' not found");
	err = error_free(err);
	free(cmd_dryrun_take());
	assert_int_equal(cmd_dryrun_end(), 0);

	/* no lvm2 at all: said as such */
	cmd_dryrun_begin();
	cmd_dryrun_on("vgs", -ENOENT, NULL, NULL);
	assert_int_equal(storage_status(st, &s, &err), 0);
	assert_false(s.active);
	assert_string_equal(s.message, "unable to run 'vgs' (are the lvm2 tools installed?): No "
	                               "such file or directory");
	free(cmd_dryrun_take());
	assert_int_equal(cmd_dryrun_end(), 0);
	storage_free(st);
	storage_free(nopool);
}

static void test_thin_alloc(void **state)
{
	struct storage *st = open_store("lvmthin", NULL, NULL);
	_cleanup_free_ char *lvs = recorded("lvs-thin.json");
	struct error *err = NULL;
	char *vol = NULL;

	cmd_dryrun_begin();
	on_reports(lvs);
	cmd_dryrun_expect("lvcreate", 0, NULL, NULL);
	cmd_dryrun_expect("lvchange", 0, NULL, NULL);
	assert_int_equal(storage_alloc(st, 100, "raw", NULL, 4 * GiB + 1, NULL, &vol, &err), 0);
	/* disk-0 and disk-1 are taken */
	assert_string_equal(vol, "vm-100-disk-2");
	cmd_dryrun_assert(LVS " pve\n"
	                      "lvcreate -aly -V 4194305k --name vm-100-disk-2 --addtag pve-vm-100 "
	                      "--thinpool pve/data\n"
	                      "lvchange --setautoactivation n pve/vm-100-disk-2\n");
	free(vol);

	/* a name asked for: the owner's, not taken */
	assert_int_equal(storage_alloc(st, 101, "raw", "vm-100-disk-7", MiB, NULL, &vol, &err),
	                 -EINVAL);
	err = error_free(err);
	assert_int_equal(storage_alloc(st, 100, "raw", "vm-100-disk-0", MiB, NULL, &vol, &err),
	                 -EEXIST);
	err = error_free(err);
	assert_int_equal(storage_alloc(st, 100, "qcow2", NULL, MiB, NULL, &vol, &err), -EINVAL);
	err = error_free(err);
	free(cmd_dryrun_take());
	assert_int_equal(cmd_dryrun_end(), 0);

	/* autoactivation refused by this lvm2: the volume is still made */
	cmd_dryrun_begin();
	on_reports(lvs);
	cmd_dryrun_expect("lvcreate", 0, NULL, NULL);
	cmd_dryrun_expect("lvchange", 3, NULL, "unrecognised option");
	assert_int_equal(storage_alloc(st, 102, NULL, NULL, MiB, NULL, &vol, &err), 0);
	assert_string_equal(vol, "vm-102-disk-0");
	free(vol);
	free(cmd_dryrun_take());
	assert_int_equal(cmd_dryrun_end(), 0);
	storage_free(st);
}

static void test_thin_refusals(void **state)
{
	struct storage *st = open_store("lvmthin", "overcommit-limit", "1.5");
	struct storage *nolimit = open_store("lvmthin", NULL, NULL);
	_cleanup_free_ char *lvs = recorded("lvs-thin.json");
	_cleanup_free_ char *full = thin_report("98.40", "2.00");
	_cleanup_free_ char *metafull = thin_report("10.00", "96.00");
	struct error *err = NULL;
	char *vol = NULL;

	/* 128 GiB + 4 MiB provisioned in 1670.61 GiB: 1 TiB more is fine, 2.5 TiB not */
	cmd_dryrun_begin();
	on_reports(lvs);
	cmd_dryrun_expect("lvcreate", 0, NULL, NULL);
	cmd_dryrun_expect("lvchange", 0, NULL, NULL);
	assert_int_equal(storage_alloc(st, 100, "raw", NULL, 1024 * GiB, NULL, &vol, &err), 0);
	free(vol);
	assert_int_equal(storage_alloc(st, 100, "raw", NULL, 2560 * GiB, NULL, &vol, &err),
	                 -ENOSPC);
	assert_string_equal(err->msg,
	                    "refusing to allocate 2560.00 GiB on storage 's': thin pool "
	                    "'pve/data' would hold 2688.00 GiB of virtual disks in 1670.61 GiB, "
	                    "overcommit 1.61, above the storage's overcommit-limit 1.50");
	err = error_free(err);
	/* without a limit, overcommit is the user's choice (as Proxmox) */
	cmd_dryrun_expect("lvcreate", 0, NULL, NULL);
	cmd_dryrun_expect("lvchange", 0, NULL, NULL);
	assert_int_equal(storage_alloc(nolimit, 100, "raw", NULL, 2560 * GiB, NULL, &vol, &err), 0);
	free(vol);
	free(cmd_dryrun_take());
	assert_int_equal(cmd_dryrun_end(), 0);

	/* a full pool takes no new volume, nothing runs */
	cmd_dryrun_begin();
	on_reports(full);
	assert_int_equal(storage_alloc(nolimit, 100, "raw", NULL, MiB, NULL, &vol, &err), -ENOSPC);
	assert_string_equal(err->msg, "thin pool 'pve/data' is full (data 98.4%, metadata 2.0%): "
	                              "free space or extend the pool before allocating new "
	                              "volumes");
	err = error_free(err);
	assert_int_equal(storage_snapshot_create(nolimit, "vm-100-disk-0", "snap1", NULL, &err),
	                 -ENOSPC);
	err = error_free(err);
	cmd_dryrun_assert(LVS " pve\n" LVS " pve\n");
	assert_int_equal(cmd_dryrun_end(), 0);

	cmd_dryrun_begin();
	on_reports(metafull);
	assert_int_equal(storage_alloc(nolimit, 100, "raw", NULL, MiB, NULL, &vol, &err), -ENOSPC);
	assert_non_null(strstr(err->msg, "metadata 96.0%"));
	err = error_free(err);
	cmd_dryrun_assert(LVS " pve\n");
	assert_int_equal(cmd_dryrun_end(), 0);

	/* a failed lvcreate leaves nothing: nothing else ran */
	cmd_dryrun_begin();
	on_reports(lvs);
	cmd_dryrun_expect("lvcreate", 5, NULL, "  Insufficient free space");
	assert_int_equal(storage_alloc(nolimit, 100, "raw", NULL, MiB, NULL, &vol, &err), -EIO);
	assert_non_null(strstr(err->msg, "Insufficient free space"));
	err = error_free(err);
	free(cmd_dryrun_take());
	assert_int_equal(cmd_dryrun_end(), 0);
	storage_free(st);
	storage_free(nolimit);
}

static void test_thick(void **state)
{
	struct storage *st = open_store("lvm", NULL, NULL);
	struct storage *safe = open_store("lvm", "saferemove", "1");
	_cleanup_free_ char *lvs = recorded("lvs-thick.json");
	struct storage_status s;
	struct storage_volume *v = NULL;
	struct error *err = NULL;
	char *vol = NULL;
	size_t n = 0;

	cmd_dryrun_begin();
	on_reports(lvs);
	assert_int_equal(storage_status(st, &s, &err), 0);
	assert_true(s.active);
	assert_int_equal(s.total, 500103643136ull);
	assert_int_equal(s.avail, 477554606080ull);
	assert_int_equal(s.used, 500103643136ull - 477554606080ull);
	/* the two volumes; "scratch" is not one */
	assert_int_equal(s.provisioned, 17179869184ull + 4194304);
	assert_true(s.has_pool);
	assert_true(s.data_pct > 4.50 && s.data_pct < 4.51);
	assert_int_equal(s.warn_level, 0);
	assert_int_equal(storage_list(st, 0, NULL, &v, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[1].volname, "vm-200-disk-1");
	assert_int_equal(v[1].vmid, 200);
	assert_null(v[1].parent);
	storage_volume_list_free(v, n);

	/* thick: no snapshots, through the dispatcher's one message */
	assert_int_equal(storage_snapshot_create(st, "vm-200-disk-0", "s1", NULL, &err),
	                 -EOPNOTSUPP);
	assert_string_equal(err->msg,
	                    "operation 'snapshot' is not supported by storage type 'lvm'");
	err = error_free(err);
	assert_int_equal(storage_create_base(st, "vm-200-disk-0", NULL, &vol, &err), -EOPNOTSUPP);
	err = error_free(err);
	free(cmd_dryrun_take());

	cmd_dryrun_expect("lvcreate", 0, NULL, NULL);
	assert_int_equal(storage_alloc(st, 200, "raw", NULL, 16 * GiB, NULL, &vol, &err), 0);
	assert_string_equal(vol, "vm-200-disk-2");
	free(vol);
	cmd_dryrun_assert(LVS " vmdata\n" VGS "\n"
	                      "lvcreate -aly -Wy --yes --size 16777216k --name vm-200-disk-2 "
	                      "--setautoactivation n --addtag pve-vm-200 vmdata\n");
	/* more than the VG has: refused in bytes, nothing runs */
	assert_int_equal(storage_alloc(st, 200, "raw", NULL, 500 * GiB, NULL, &vol, &err), -ENOSPC);
	assert_string_equal(err->msg, "not enough free space in volume group 'vmdata': 500.00 GiB "
	                              "asked, 444.76 GiB free");
	err = error_free(err);
	cmd_dryrun_assert(LVS " vmdata\n" VGS "\n");

	/* resize: grows, never shrinks */
	cmd_dryrun_expect("lvextend", 0, NULL, NULL);
	assert_int_equal(storage_resize(st, "vm-200-disk-1", 8 * MiB, NULL, &err), 0);
	assert_int_equal(storage_resize(st, "vm-200-disk-0", MiB, NULL, &err), -EINVAL);
	err = error_free(err);
	cmd_dryrun_assert(LVS " vmdata\n" VGS "\n"
	                      "lvextend --size 8192k vmdata/vm-200-disk-1\n" LVS " vmdata\n");

	/* free; with saferemove renamed aside, zeroed, removed */
	cmd_dryrun_expect("lvremove", 0, NULL, NULL);
	assert_int_equal(storage_free_volume(st, "vm-200-disk-1", NULL, &err), 0);
	free(cmd_dryrun_take());
	cmd_dryrun_expect("lvrename", 0, NULL, NULL);
	cmd_dryrun_expect("lvchange", 0, NULL, NULL);
	cmd_dryrun_expect("blkdiscard", 0, NULL, NULL);
	cmd_dryrun_expect("lvremove", 0, NULL, NULL);
	assert_int_equal(storage_free_volume(safe, "vm-200-disk-1", NULL, &err), 0);
	cmd_dryrun_assert(LVS " vmdata\n" LVS " vmdata\n"
	                      "lvrename vmdata vm-200-disk-1 del-vm-200-disk-1\n"
	                      "lvchange -ay vmdata/del-vm-200-disk-1\n"
	                      "blkdiscard --zeroout /dev/vmdata/del-vm-200-disk-1\n"
	                      "lvremove -f vmdata/del-vm-200-disk-1\n");
	/* zeroing failed: the data is not handed on, the renamed LV stays */
	cmd_dryrun_expect("lvrename", 0, NULL, NULL);
	cmd_dryrun_expect("lvchange", 0, NULL, NULL);
	cmd_dryrun_expect("blkdiscard", 1, NULL, "blkdiscard: Operation not supported");
	assert_true(storage_free_volume(safe, "vm-200-disk-1", NULL, &err) < 0);
	err = error_free(err);
	free(cmd_dryrun_take());
	/* a missing volume is a 404 */
	assert_int_equal(storage_free_volume(st, "vm-200-disk-9", NULL, &err), -ENOENT);
	assert_int_equal(err->http_status, 404);
	err = error_free(err);
	free(cmd_dryrun_take());
	assert_int_equal(cmd_dryrun_end(), 0);
	storage_free(st);
	storage_free(safe);
}

static void test_tagged_only(void **state)
{
	struct storage *st = open_store("lvm", "tagged_only", "1");
	struct storage_volume *v = NULL;
	struct error *err = NULL;
	size_t n = 0;
	const char json[] =
	    "{\"report\": [{\"lv\": ["
	    "{\"vg_name\":\"vmdata\", \"lv_name\":\"vm-200-disk-0\", \"lv_size\":\"4194304\", "
	    "\"lv_attr\":\"-wi-a-----\", \"lv_tags\":\"pve-vm-200\"},"
	    "{\"vg_name\":\"vmdata\", \"lv_name\":\"vm-201-disk-0\", \"lv_size\":\"4194304\", "
	    "\"lv_attr\":\"-wi-a-----\", \"lv_tags\":\"pve-vm-200\"},"
	    "{\"vg_name\":\"vmdata\", \"lv_name\":\"vm-202-disk-0\", \"lv_size\":\"4194304\", "
	    "\"lv_attr\":\"-wi-a-----\"}]}]}";

	cmd_dryrun_begin();
	on_reports(json);
	assert_int_equal(storage_list(st, 0, NULL, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].volname, "vm-200-disk-0");
	storage_volume_list_free(v, n);
	free(cmd_dryrun_take());
	assert_int_equal(cmd_dryrun_end(), 0);
	storage_free(st);
}

static void test_thin_snapshots(void **state)
{
	struct storage *st = open_store("lvmthin", NULL, NULL);
	_cleanup_free_ char *lvs = recorded("lvs-thin.json");
	struct storage_snapshot *snaps = NULL;
	struct storage_volume info;
	struct error *err = NULL;
	char *vol = NULL;
	size_t n = 0;

	cmd_dryrun_begin();
	on_reports(lvs);
	assert_int_equal(storage_snapshot_list(st, "vm-100-disk-0", &snaps, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(snaps[0].name, "before-upgrade");
	assert_int_equal(snaps[0].ctime, 1733160000);
	storage_snapshot_list_free(snaps, n);
	assert_int_equal(storage_snapshot_list(st, "vm-100-disk-1", &snaps, &n, &err), 0);
	assert_int_equal(n, 0);
	storage_snapshot_list_free(snaps, n);
	free(cmd_dryrun_take());

	cmd_dryrun_expect("lvcreate", 0, NULL, NULL);
	assert_int_equal(storage_snapshot_create(st, "vm-100-disk-0", "s2", NULL, &err), 0);
	cmd_dryrun_assert(LVS " pve\n"
	                      "lvcreate -n snap_vm-100-disk-0_s2 -pr -ky -s pve/vm-100-disk-0\n");
	assert_int_equal(storage_snapshot_create(st, "vm-100-disk-0", "before-upgrade", NULL, &err),
	                 -EEXIST);
	err = error_free(err);
	free(cmd_dryrun_take());

	/* rollback to any snapshot: the volume is set aside until its
	 * replacement exists */
	cmd_dryrun_expect("lvrename", 0, NULL, NULL);
	cmd_dryrun_expect("lvcreate", 0, NULL, NULL);
	cmd_dryrun_expect("lvchange", 0, NULL, NULL);
	cmd_dryrun_expect("lvremove", 0, NULL, NULL);
	assert_int_equal(
	    storage_snapshot_rollback(st, "vm-100-disk-0", "before-upgrade", NULL, &err), 0);
	cmd_dryrun_assert(LVS " pve\n" LVS " pve\n"
	                      "lvrename pve vm-100-disk-0 rollback_vm-100-disk-0\n"
	                      "lvcreate -n vm-100-disk-0 -kn --addtag pve-vm-100 -s "
	                      "pve/snap_vm-100-disk-0_before-upgrade\n"
	                      "lvchange --setautoactivation n pve/vm-100-disk-0\n"
	                      "lvremove -f pve/rollback_vm-100-disk-0\n");
	/* it fails: the volume is put back */
	cmd_dryrun_expect("lvrename", 0, NULL, NULL);
	cmd_dryrun_expect("lvcreate", 5, NULL,
	                  "  Cannot create new thin volume, free space in "
	                  "thin pool pve/data reached threshold.");
	cmd_dryrun_expect("lvrename", 0, NULL, NULL);
	assert_int_equal(
	    storage_snapshot_rollback(st, "vm-100-disk-0", "before-upgrade", NULL, &err), -EIO);
	err = error_free(err);
	cmd_dryrun_assert(LVS " pve\n" LVS " pve\n"
	                      "lvrename pve vm-100-disk-0 rollback_vm-100-disk-0\n"
	                      "lvcreate -n vm-100-disk-0 -kn --addtag pve-vm-100 -s "
	                      "pve/snap_vm-100-disk-0_before-upgrade\n"
	                      "lvrename pve rollback_vm-100-disk-0 vm-100-disk-0\n");
	assert_int_equal(storage_snapshot_rollback(st, "vm-100-disk-0", "nosuch", NULL, &err),
	                 -ENOENT);
	err = error_free(err);
	free(cmd_dryrun_take());

	/* free removes the snapshots first */
	cmd_dryrun_expect("lvremove", 0, NULL, NULL);
	cmd_dryrun_expect("lvremove", 0, NULL, NULL);
	assert_int_equal(storage_free_volume(st, "vm-100-disk-0", NULL, &err), 0);
	cmd_dryrun_assert(LVS " pve\n" LVS " pve\n"
	                      "lvremove -f pve/snap_vm-100-disk-0_before-upgrade\n"
	                      "lvremove -f pve/vm-100-disk-0\n");

	/* a template's clone names it as parent; the base stays while used */
	assert_int_equal(storage_info(st, "vm-101-disk-0", &info, &err), 0);
	assert_string_equal(info.parent, "base-9000-disk-0");
	storage_volume_clear(&info);
	assert_int_equal(storage_free_volume(st, "base-9000-disk-0", NULL, &err), -EBUSY);
	err = error_free(err);
	cmd_dryrun_expect("lvcreate", 0, NULL, NULL);
	cmd_dryrun_expect("lvchange", 0, NULL, NULL);
	free(cmd_dryrun_take());
	assert_int_equal(storage_clone(st, "base-9000-disk-0", 102, NULL, NULL, &vol, &err), 0);
	assert_string_equal(vol, "vm-102-disk-0");
	free(vol);
	cmd_dryrun_assert(LVS " pve\n"
	                      "lvcreate -n vm-102-disk-0 -prw -kn --addtag pve-vm-102 -s "
	                      "pve/base-9000-disk-0\n"
	                      "lvchange --setautoactivation n pve/vm-102-disk-0\n");
	/* clones come from templates */
	assert_int_equal(storage_clone(st, "vm-100-disk-1", 102, NULL, NULL, &vol, &err), -EINVAL);
	err = error_free(err);

	/* template: renamed, read-only, activation-skip; not with snapshots */
	cmd_dryrun_expect("lvrename", 0, NULL, NULL);
	cmd_dryrun_expect("lvchange", 0, NULL, NULL);
	free(cmd_dryrun_take());
	assert_int_equal(storage_create_base(st, "vm-100-disk-1", NULL, &vol, &err), 0);
	assert_string_equal(vol, "base-100-disk-1");
	free(vol);
	cmd_dryrun_assert(LVS " pve\n"
	                      "lvrename pve vm-100-disk-1 base-100-disk-1\n"
	                      "lvchange -pr -ky pve/base-100-disk-1\n");
	assert_int_equal(storage_create_base(st, "vm-100-disk-0", NULL, &vol, &err), -EBUSY);
	assert_non_null(strstr(err->msg, "has snapshots"));
	err = error_free(err);
	free(cmd_dryrun_take());
	assert_int_equal(cmd_dryrun_end(), 0);
	storage_free(st);
}

/*
 * A full copy of an lvmthin snapshot (PVE's volume_has_feature 'copy' with a
 * snapname): the snapshot LV, created activation-skipped, is activated with
 * -K, read as the copy's source and deactivated again, whether the copy
 * worked or not.  lvm (thick) has no snapshots to copy from.
 */
static void test_thin_copy_snapshot(void **state)
{
	struct storage *st = open_store("lvmthin", NULL, NULL);
	struct storage *thick = open_store("lvm", NULL, NULL);
	_cleanup_free_ char *lvs = recorded("lvs-thin.json");
	struct error *err = NULL;
	char *vol = NULL;

	assert_true(storage_can_copy_snapshot(st, "vm-100-disk-0", "before-upgrade"));
	assert_false(storage_can_copy_snapshot(thick, "vm-100-disk-0", "before-upgrade"));

	cmd_dryrun_begin();
	on_reports(lvs);
	cmd_dryrun_expect("lvchange", 0, NULL, NULL);
	cmd_dryrun_expect("lvcreate", 0, NULL, NULL);
	cmd_dryrun_expect("lvchange", 0, NULL, NULL);
	cmd_dryrun_expect("lvchange", 0, NULL, NULL);
	cmd_dryrun_expect("qemu-img", 0, NULL, NULL);
	cmd_dryrun_expect("lvchange", 0, NULL, NULL);
	assert_int_equal(storage_copy_snapshot(st, "vm-100-disk-0", "before-upgrade", st, NULL, 102,
	                                       NULL, &vol, &err),
	                 0);
	assert_string_equal(vol, "vm-102-disk-0");
	free(vol);
	vol = NULL;
	cmd_dryrun_assert(LVS " pve\n" LVS " pve\n"
	                      "lvchange -ay -K pve/snap_vm-100-disk-0_before-upgrade\n" LVS " pve\n"
	                      "lvcreate -aly -V 33554432k --name vm-102-disk-0 --addtag pve-vm-102 "
	                      "--thinpool pve/data\n"
	                      "lvchange --setautoactivation n pve/vm-102-disk-0\n"
	                      "lvchange -ay -K pve/vm-102-disk-0\n"
	                      "qemu-img convert -n --target-is-zero -t writeback -f raw -O raw "
	                      "/dev/pve/snap_vm-100-disk-0_before-upgrade /dev/pve/vm-102-disk-0\n"
	                      "lvchange -an pve/snap_vm-100-disk-0_before-upgrade\n");

	/* the copy fails: the new volume goes, the snapshot is deactivated */
	cmd_dryrun_expect("lvchange", 0, NULL, NULL);
	cmd_dryrun_expect("lvcreate", 0, NULL, NULL);
	cmd_dryrun_expect("lvchange", 0, NULL, NULL);
	cmd_dryrun_expect("lvchange", 0, NULL, NULL);
	cmd_dryrun_expect("qemu-img", 1, NULL, "qemu-img: error while reading");
	/* the report now lists the new volume, which free removes */
	_cleanup_free_ char *row =
	    xstrdup("{\"vg_name\":\"pve\", \"lv_name\":\"vm-102-disk-0\", "
	            "\"lv_size\":\"34359738368\", \"lv_attr\":\"Vwi-a-tz--\", "
	            "\"pool_lv\":\"data\", \"origin\":\"\", "
	            "\"data_percent\":\"0.00\", \"metadata_percent\":\"\", "
	            "\"lv_tags\":\"pve-vm-102\", \"lv_time\":\"1733200000\", "
	            "\"lv_metadata_size\":\"\", \"lv_when_full\":\"\"},");
	const char *at = strstr(lvs, "{\"vg_name\":\"pve\", \"lv_name\":\"vm-100-disk-1\"");
	assert_non_null(at);
	_cleanup_free_ char *with_new = xasprintf("%.*s%s%s", (int)(at - lvs), lvs, row, at);
	cmd_dryrun_expect("lvs", 0, with_new, NULL); /* the dispatcher's checks */
	cmd_dryrun_expect("lvs", 0, with_new, NULL); /* the backend's free */
	cmd_dryrun_expect("lvremove", 0, NULL, NULL);
	cmd_dryrun_expect("lvchange", 0, NULL, NULL);
	assert_int_equal(storage_copy_snapshot(st, "vm-100-disk-0", "before-upgrade", st, NULL, 102,
	                                       NULL, &vol, &err),
	                 -EIO);
	err = error_free(err);
	assert_null(vol);
	_cleanup_free_ char *log = cmd_dryrun_take();
	assert_non_null(strstr(log, "lvremove -f pve/vm-102-disk-0\n"
	                            "lvchange -an pve/snap_vm-100-disk-0_before-upgrade\n"));

	/* a snapshot that is not there: 404, nothing activated or made */
	assert_int_equal(
	    storage_copy_snapshot(st, "vm-100-disk-0", "nosuch", st, NULL, 102, NULL, &vol, &err),
	    -ENOENT);
	assert_int_equal(err->http_status, 404);
	err = error_free(err);
	cmd_dryrun_assert(LVS " pve\n" LVS " pve\n");
	assert_int_equal(cmd_dryrun_end(), 0);

	/* no snapshots on lvm: refused before anything runs, PVE's 'copy'
	 * feature without 'snap' */
	cmd_dryrun_begin();
	assert_int_equal(
	    storage_copy_snapshot(thick, "vm-100-disk-0", "s1", st, NULL, 102, NULL, &vol, &err),
	    -EOPNOTSUPP);
	assert_int_equal(err->http_status, 500);
	err = error_free(err);
	assert_int_equal(cmd_dryrun_count(), 0);
	assert_int_equal(cmd_dryrun_end(), 0);
	storage_free(thick);
	storage_free(st);
}

/* A full copy onto lvmthin: qemu-img is told the new thin LV reads as zeros,
 * else it writes zeros over the source's holes and provisions the whole
 * volume (seen in the lab VM: a full clone of a 2 GiB container holding
 * 100 MiB took 2 GiB of the pool). */
static void test_thin_copy(void **state)
{
	struct storage *st = open_store("lvmthin", NULL, NULL);
	_cleanup_free_ char *lvs = recorded("lvs-thin.json");
	struct error *err = NULL;
	char *vol = NULL;

	cmd_dryrun_begin();
	on_reports(lvs);
	cmd_dryrun_on("lvcreate", 0, NULL, NULL);
	cmd_dryrun_on("lvchange", 0, NULL, NULL);
	cmd_dryrun_on("qemu-img", 0, NULL, NULL);
	assert_int_equal(storage_copy(st, "vm-100-disk-0", st, NULL, 101, NULL, &vol, &err), 0);
	assert_null(err);
	assert_string_equal(vol, "vm-101-disk-1");
	free(vol);
	_cleanup_free_ char *log = cmd_dryrun_take();
	assert_non_null(strstr(log, "\nqemu-img convert -n --target-is-zero -t writeback -f raw "
	                            "-O raw /dev/pve/vm-100-disk-0 /dev/pve/vm-101-disk-1\n"));
	assert_int_equal(cmd_dryrun_end(), 0);
	storage_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_volname),      cmocka_unit_test(test_thin_status),
	    cmocka_unit_test(test_not_active),         cmocka_unit_test(test_thin_alloc),
	    cmocka_unit_test(test_thin_refusals),      cmocka_unit_test(test_thick),
	    cmocka_unit_test(test_tagged_only),        cmocka_unit_test(test_thin_snapshots),
	    cmocka_unit_test(test_thin_copy_snapshot), cmocka_unit_test(test_thin_copy),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * disks-ops.h: the inventory, the listings and the creation of storage on a
 * blank disk.  Every command is built by a pure builder (disks.h,
 * backend-lvm.h) and run through the one runner.
 */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend-lvm.h"
#include "cmd.h"
#include "disks-ops.h"
#include "disks.h"
#include "error.h"
#include "fileio.h"
#include "jsonutil.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-ops.h"
#include "strv.h"
#include "task.h"
#include "xalloc.h"

#define FSTAB_MAX (1u << 20)

static const char *fstab_path = "/etc/fstab";
static const char *mount_base = DISKS_MOUNT_BASE;

void disks_set_paths(const char *fstab, const char *base)
{
	fstab_path = fstab ? fstab : "/etc/fstab";
	mount_base = base ? base : DISKS_MOUNT_BASE;
}

static void dlog(struct task_worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dlog(struct task_worker *w, const char *fmt, ...)
{
	if (!w)
		return;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *s = xvasprintf(fmt, ap);
	va_end(ap);
	task_log(w, "%s", s);
}

/* Runs c (released either way), its stdout in *ret_out when wanted. */
static int run(struct cmd *c, struct task_worker *w, char **ret_out, struct error **err)
{
	struct cmd_result res = {0};
	if (w) {
		_cleanup_free_ char *line = cmd_to_string(c);
		dlog(w, "# %s", line);
	}
	int r = cmd_run(c, &res, err);
	if (r == 0 && ret_out) {
		*ret_out = res.out ? res.out : xstrdup("");
		res.out = NULL;
	}
	cmd_result_clear(&res);
	cmd_release(c);
	return r;
}

/* Undo steps: their failure is logged, never hides the first error. */
static void undo(struct cmd *c, struct task_worker *w)
{
	struct error *e = NULL;
	if (run(c, w, NULL, &e) < 0)
		dlog(w, "cleanup failed: %s", e ? e->msg : "unknown error");
	error_free(e);
}

/* ---- requests ----------------------------------------------------------- */

static const char *const kind_types[] = {
    [DISKS_LVM] = "lvmcreate",
    [DISKS_LVMTHIN] = "lvmthincreate",
    [DISKS_ZFS] = "zfscreate",
    [DISKS_DIR] = "dircreate",
};

const char *disks_task_type(enum disks_kind kind)
{
	return kind_types[kind];
}

static bool in_list(const char *s, const char *const *list)
{
	for (size_t i = 0; s && list[i]; i++)
		if (streq(s, list[i]))
			return true;
	return false;
}

static const char *const zfs_compressions[] = {"on",   "off", "gzip", "lz4",
                                               "lzjb", "zle", "zstd", NULL};

/* names zpool keeps for itself (zpool create(8)) */
static bool zpool_name_reserved(const char *n)
{
	static const char *const prefixes[] = {"mirror", "raidz", "draid",   "spare",
	                                       "log",    "cache", "special", "dedup"};
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (strncmp(n, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return n[0] == 'c' && n[1] >= '0' && n[1] <= '9';
}

int disks_request_check(const struct disks_request *rq, struct error **err)
{
	size_t n = strv_length(rq->devices);
	int r;
	if (!rq->name || (r = storage_verify_id(rq->name, err)) < 0)
		return rq->name ? r : error_set(err, -EINVAL, 400, "missing name");
	if (rq->kind == DISKS_ZFS && zpool_name_reserved(rq->name))
		return error_set(err, -EINVAL, 400, "name '%s' is reserved by zfs", rq->name);
	if (n == 0)
		return error_set(err, -EINVAL, 400, "no device given");
	for (size_t i = 0; i < n; i++) {
		if (!disks_devpath_valid(rq->devices[i]))
			return error_set(err, -EINVAL, 400, "invalid device path '%s'",
			                 rq->devices[i]);
		for (size_t j = 0; j < i; j++)
			if (streq(rq->devices[i], rq->devices[j]))
				return error_set(err, -EINVAL, 400, "device '%s' given twice",
				                 rq->devices[i]);
	}
	if (rq->kind == DISKS_ZFS) {
		if (!in_list(rq->compression, zfs_compressions))
			return error_set(err, -EINVAL, 400, "invalid compression '%s'",
			                 rq->compression ? rq->compression : "");
		if (rq->ashift < 9 || rq->ashift > 16)
			return error_set(err, -EINVAL, 400, "ashift must be between 9 and 16");
		return disks_zfs_check_devices(rq->raidlevel ? rq->raidlevel : "", n, err);
	}
	if (rq->kind == DISKS_DIR &&
	    (!rq->filesystem || (!streq(rq->filesystem, "ext4") && !streq(rq->filesystem, "xfs"))))
		return error_set(err, -EINVAL, 400, "invalid filesystem '%s'",
		                 rq->filesystem ? rq->filesystem : "");
	if (n != 1)
		return error_set(err, -EINVAL, 400, "exactly one device expected");
	return 0;
}

static char *join_devices(char *const *v)
{
	size_t len = 1;
	for (size_t i = 0; v && v[i]; i++)
		len += strlen(v[i]) + 1;
	char *s = xnew(char, len), *p = s;
	for (size_t i = 0; v && v[i]; i++)
		p += sprintf(p, "%s%s", i ? "," : "", v[i]);
	return s;
}

json_t *disks_request_args(const struct disks_request *rq)
{
	_cleanup_free_ char *devs = join_devices(rq->devices);
	json_t *a = json_pack("{s:s, s:b}", "name", rq->name, "add-storage", rq->add_storage);
	if (rq->kind == DISKS_ZFS) {
		json_object_set_new(a, "devices", json_string(devs));
		json_object_set_new(a, "raidlevel", json_string(rq->raidlevel));
		json_object_set_new(a, "compression", json_string(rq->compression));
		json_object_set_new(a, "ashift", json_integer(rq->ashift));
	} else {
		json_object_set_new(a, "device", json_string(devs));
	}
	if (rq->kind == DISKS_DIR)
		json_object_set_new(a, "filesystem", json_string(rq->filesystem));
	return a;
}

static void request_from_args(enum disks_kind kind, const json_t *args, struct disks_request *rq)
{
	const char *devs = json_string_value(json_object_get(args, "devices"));
	if (!devs)
		devs = json_string_value(json_object_get(args, "device"));
	*rq = (struct disks_request){
	    .kind = kind,
	    .name = json_string_value(json_object_get(args, "name")),
	    .devices = strv_split(devs ? devs : "", ","),
	    .raidlevel = json_string_value(json_object_get(args, "raidlevel")),
	    .compression = json_string_value(json_object_get(args, "compression")),
	    .ashift = (unsigned)json_integer_value(json_object_get(args, "ashift")),
	    .filesystem = json_string_value(json_object_get(args, "filesystem")),
	    .add_storage = json_is_true(json_object_get(args, "add-storage")),
	};
}

void disks_request_clear(struct disks_request *rq)
{
	rq->devices = strv_free(rq->devices);
}

/* ---- inventory ---------------------------------------------------------- */

int disks_inventory(struct disk_info **ret, size_t *ret_n, struct error **err)
{
	struct cmd c;
	_cleanup_free_ char *out = NULL, *pvout = NULL;
	_cleanup_strv_free_ char **pvs = NULL;
	disks_lsblk_build_cmd(&c);
	int r = run(&c, NULL, &out, err);
	if (r < 0)
		return r;
	/* no lvm2, or no PV at all: lsblk's LVM2_member still tells */
	disks_pvs_build_cmd(&c);
	if (run(&c, NULL, &pvout, NULL) == 0 && disks_pvs_parse(pvout, strlen(pvout), &pvs) < 0)
		pvs = NULL;
	r = disks_lsblk_parse(out, strlen(out), ret, ret_n);
	if (r < 0)
		return error_set(err, r, 500, "unable to parse the output of lsblk");
	/* what lsblk could not read from udev's database, probed */
	_cleanup_free_ char *bout = NULL;
	disks_blkid_all_build_cmd(&c);
	if (run(&c, NULL, &bout, NULL) == 0)
		(void)disks_blkid_all_apply(bout, *ret, *ret_n);
	disks_classify(*ret, *ret_n, pvs);
	return 0;
}

int disks_check_devices_unused(char *const *devices, struct error **err)
{
	struct disk_info *d = NULL;
	size_t n = 0;
	int r = disks_inventory(&d, &n, err);
	for (size_t i = 0; r == 0 && devices && devices[i]; i++)
		r = disks_check_unused(d, n, devices[i], err);
	disk_info_list_free(d, n);
	return r;
}

/* ---- storage.cfg -------------------------------------------------------- */

struct add_ctx {
	const struct disks_request *rq;
	const char *node, *path;
};

static int add_section(struct section_config *c, void *arg, struct error **err)
{
	const struct add_ctx *ctx = arg;
	const struct disks_request *rq = ctx->rq;
	static const char *const types[] = {[DISKS_LVM] = "lvm",
	                                    [DISKS_LVMTHIN] = "lvmthin",
	                                    [DISKS_ZFS] = "zfspool",
	                                    [DISKS_DIR] = "dir"};
	struct section *s = NULL;
	if (section_config_find(c, rq->name))
		return error_set(err, -EEXIST, 500, "storage ID '%s' already defined", rq->name);
	int r = section_config_add(c, types[rq->kind], rq->name, &s, err);
	struct {
		const char *key, *value;
	} kv[4] = {{NULL, NULL}};
	switch (rq->kind) {
	case DISKS_LVM:
		kv[0].key = "vgname", kv[0].value = rq->name;
		kv[1].key = "content", kv[1].value = "rootdir,images";
		break;
	case DISKS_LVMTHIN:
		kv[0].key = "vgname", kv[0].value = rq->name;
		kv[1].key = "thinpool", kv[1].value = rq->name;
		kv[2].key = "content", kv[2].value = "rootdir,images";
		break;
	case DISKS_ZFS:
		kv[0].key = "pool", kv[0].value = rq->name;
		kv[1].key = "content", kv[1].value = "rootdir,images";
		break;
	case DISKS_DIR:
		kv[0].key = "path", kv[0].value = ctx->path;
		kv[1].key = "content", kv[1].value = "rootdir,images,iso,vztmpl,backup,snippets";
		kv[2].key = "is_mountpoint", kv[2].value = "1";
		break;
	}
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(kv) && kv[i].key; i++)
		r = storage_section_set(s, kv[i].key, kv[i].value, true, err);
	if (r == 0)
		r = storage_section_set(s, "nodes", ctx->node, true, err);
	if (r == 0)
		r = storage_section_check_complete(s, err);
	return r;
}

static int storage_id_unused(const struct storage_task_env *env, const char *id, struct error **err)
{
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap = NULL;
	int r = storage_config_store_get(env->store, &snap, err);
	if (r < 0)
		return r;
	if (section_config_find(storage_config_snapshot_config(snap), id))
		return error_set(err, -EEXIST, 400, "storage ID '%s' already defined", id);
	return 0;
}

/* ---- creation ----------------------------------------------------------- */

static int create_lvm(const struct disks_request *rq, struct task_worker *w, struct error **err)
{
	const char *dev = rq->devices[0];
	_cleanup_free_ char *out = NULL;
	struct lvm_vg *vgs = NULL;
	size_t n = 0;
	uint64_t data = 0, meta = 0;
	struct cmd c;
	lvm_pvcreate_build_cmd(&c, dev);
	int r = run(&c, w, NULL, err);
	if (r < 0)
		return r;
	lvm_vgcreate_build_cmd(&c, rq->name, dev);
	r = run(&c, w, NULL, err);
	if (r < 0)
		goto undo_pv;
	if (rq->kind == DISKS_LVM)
		return 0;

	lvm_vgs_build_cmd(&c, rq->name);
	r = run(&c, w, &out, err);
	if (r == 0 && (lvm_vgs_parse(out, strlen(out), &vgs, &n) < 0 || n != 1))
		r = error_set(err, -EINVAL, 500, "unable to read the size of volume group '%s'",
		              rq->name);
	if (r == 0 && disks_thin_sizes(vgs[0].free, &data, &meta) < 0)
		r = error_set(err, -ENOSPC, 500, "disk '%s' is too small for a thin pool", dev);
	lvm_vg_list_free(vgs, n);
	if (r == 0) {
		dlog(w, "thin pool '%s': %llu bytes of data, %llu bytes of metadata", rq->name,
		     (unsigned long long)data, (unsigned long long)meta);
		disks_thinpool_create_build_cmd(&c, rq->name, rq->name, data, meta);
		r = run(&c, w, NULL, err);
	}
	if (r == 0) {
		/* a full pool fails a guest's writes at once instead of
		 * queueing them for a minute (storage.md 4) */
		lvm_errorwhenfull_build_cmd(&c, rq->name, rq->name);
		r = run(&c, w, NULL, err);
	}
	if (r == 0)
		return 0;
	disks_vgremove_build_cmd(&c, rq->name);
	undo(&c, w);
undo_pv:
	disks_pvremove_build_cmd(&c, dev);
	undo(&c, w);
	return r;
}

static int create_zfs(const struct disks_request *rq, struct task_worker *w, struct error **err)
{
	struct cmd c;
	disks_zpool_create_build_cmd(&c, rq->name, rq->ashift, rq->compression, rq->raidlevel,
	                             rq->devices);
	return run(&c, w, NULL, err);
}

/* The fstab with line added; *ret_old keeps what was there. */
static int fstab_add(const char *line, char **ret_old, struct error **err)
{
	_cleanup_free_ char *old = NULL;
	size_t len = 0;
	struct error *e = NULL;
	int r = read_file(fstab_path, FSTAB_MAX, &old, &len, &e);
	if (r == -ENOENT) {
		old = xstrdup("");
		len = 0;
		r = 0;
	}
	error_free(e);
	if (r < 0)
		return error_set(err, r, 500, "unable to read %s", fstab_path);
	_cleanup_free_ char *data =
	    xasprintf("%s%s%s", old, len > 0 && old[len - 1] != '\n' ? "\n" : "", line);
	r = write_file_atomic(fstab_path, data, strlen(data), 0644, err);
	if (r == 0) {
		*ret_old = old;
		old = NULL;
	}
	return r;
}

static int create_dir(const struct disks_request *rq, const char *path, struct task_worker *w,
                      char **ret_old_fstab, struct error **err)
{
	const char *dev = rq->devices[0];
	_cleanup_free_ char *out = NULL, *uuid = NULL, *line = NULL;
	bool made_dir = false, mounted = false;
	struct cmd c;
	disks_mkfs_build_cmd(&c, rq->filesystem, dev);
	int r = run(&c, w, NULL, err);
	if (r < 0)
		return r;
	disks_blkid_build_cmd(&c, dev);
	r = run(&c, w, &out, err);
	if (r == 0 && disks_blkid_get(out, "UUID", &uuid) < 0)
		r = error_set(err, -EINVAL, 500, "no UUID on the new file system of '%s'", dev);
	if (r == 0) {
		struct stat st;
		if (stat(path, &st) == 0)
			r = error_set(err, -EEXIST, 500, "mount point '%s' already exists", path);
		else if (mkdir_p(path, 0755) < 0)
			r = error_set(err, -errno, 500, "unable to create '%s' - %m", path);
		else
			made_dir = true;
	}
	if (r == 0) {
		disks_mount_build_cmd(&c, rq->filesystem, dev, path);
		r = run(&c, w, NULL, err);
		mounted = r == 0;
	}
	if (r == 0) {
		line = disks_fstab_line(uuid, path, rq->filesystem);
		dlog(w, "adding to %s: %.*s", fstab_path, (int)strlen(line) - 1, line);
		r = fstab_add(line, ret_old_fstab, err);
	}
	if (r == 0)
		return 0;
	if (mounted) {
		disks_umount_build_cmd(&c, path);
		undo(&c, w);
	}
	if (made_dir)
		(void)rmdir(path);
	disks_wipefs_build_cmd(&c, dev);
	undo(&c, w);
	return r;
}

/* Takes back a whole creation when adding the storage failed. */
static void undo_created(const struct disks_request *rq, const char *path, const char *old_fstab,
                         struct task_worker *w)
{
	struct cmd c;
	switch (rq->kind) {
	case DISKS_LVM:
	case DISKS_LVMTHIN:
		disks_vgremove_build_cmd(&c, rq->name);
		undo(&c, w);
		disks_pvremove_build_cmd(&c, rq->devices[0]);
		undo(&c, w);
		break;
	case DISKS_ZFS:
		cmd_init(&c, "zpool");
		cmd_add(&c, "destroy");
		cmd_add(&c, rq->name);
		undo(&c, w);
		break;
	case DISKS_DIR:
		if (old_fstab)
			(void)write_file_atomic(fstab_path, old_fstab, strlen(old_fstab), 0644,
			                        NULL);
		disks_umount_build_cmd(&c, path);
		undo(&c, w);
		(void)rmdir(path);
		disks_wipefs_build_cmd(&c, rq->devices[0]);
		undo(&c, w);
		break;
	}
}

int disks_create(const struct disks_request *rq, const struct storage_task_env *env,
                 struct task_worker *w, struct error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", mount_base, rq->name);
	_cleanup_free_ char *old_fstab = NULL;
	int r = disks_request_check(rq, err);
	if (r == 0 && rq->add_storage)
		r = storage_id_unused(env, rq->name, err);
	if (r == 0)
		r = disks_check_devices_unused(rq->devices, err);
	if (r < 0)
		return r;
	switch (rq->kind) {
	case DISKS_LVM:
	case DISKS_LVMTHIN:
		r = create_lvm(rq, w, err);
		break;
	case DISKS_ZFS:
		r = create_zfs(rq, w, err);
		break;
	case DISKS_DIR:
		r = create_dir(rq, path, w, &old_fstab, err);
		break;
	}
	if (r < 0 || !rq->add_storage)
		return r;
	struct add_ctx ctx = {.rq = rq, .node = env->node, .path = path};
	dlog(w, "adding storage '%s'", rq->name);
	r = storage_config_store_update(env->store, NULL, add_section, &ctx, err);
	if (r < 0)
		undo_created(rq, path, old_fstab, w);
	return r;
}

/* ---- listings ----------------------------------------------------------- */

int disks_list_lvm(json_t **ret, struct error **err)
{
	struct cmd c;
	_cleanup_free_ char *out = NULL;
	struct lvm_vg *vgs = NULL;
	size_t n = 0;
	lvm_vgs_build_cmd(&c, NULL);
	int r = run(&c, NULL, &out, err);
	if (r < 0)
		return r;
	if (lvm_vgs_parse(out, strlen(out), &vgs, &n) < 0)
		return error_set(err, -EINVAL, 500, "unable to parse the output of vgs");
	json_t *children = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(children,
		                      json_pack("{s:s, s:I, s:I, s:i}", "name", vgs[i].name, "size",
		                                (json_int_t)vgs[i].size, "free",
		                                (json_int_t)vgs[i].free, "leaf", 0));
	lvm_vg_list_free(vgs, n);
	*ret = json_pack("{s:i, s:o}", "leaf", 0, "children", children);
	return 0;
}

/* The thin pools of vg appended to a as rows of GET .../disks/lvmthin. */
static int thinpools_of(const char *vg, json_t *a, struct error **err)
{
	struct cmd c;
	_cleanup_free_ char *lvout = NULL;
	struct lvm_lv *lvs = NULL;
	size_t m = 0;
	lvm_lvs_build_cmd(&c, vg, NULL);
	int r = run(&c, NULL, &lvout, err);
	if (r == 0 && lvm_lvs_parse(lvout, strlen(lvout), &lvs, &m) < 0)
		r = error_set(err, -EINVAL, 500, "unable to parse the output of lvs");
	for (size_t k = 0; r == 0 && k < m; k++) {
		if (lvs[k].attr[0] != 't') /* a thin pool */
			continue;
		double dp = lvs[k].data_pct < 0 ? 0 : lvs[k].data_pct;
		double mp = lvs[k].meta_pct < 0 ? 0 : lvs[k].meta_pct;
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "lv", lvs[k].name, "vg",
		                 lvs[k].vg, "lv_size", (json_int_t)lvs[k].size, "used",
		                 (json_int_t)(lvs[k].size * dp / 100), "metadata_size",
		                 (json_int_t)lvs[k].meta_size, "metadata_used",
		                 (json_int_t)(lvs[k].meta_size * mp / 100)));
	}
	lvm_lv_list_free(lvs, m);
	return r;
}

int disks_list_lvmthin(json_t **ret, struct error **err)
{
	struct cmd c;
	_cleanup_free_ char *out = NULL;
	struct lvm_vg *vgs = NULL;
	size_t n = 0;
	lvm_vgs_build_cmd(&c, NULL);
	int r = run(&c, NULL, &out, err);
	if (r < 0)
		return r;
	if (lvm_vgs_parse(out, strlen(out), &vgs, &n) < 0)
		return error_set(err, -EINVAL, 500, "unable to parse the output of vgs");
	json_t *a = json_array();
	for (size_t i = 0; r == 0 && i < n; i++)
		r = thinpools_of(vgs[i].name, a, err);
	lvm_vg_list_free(vgs, n);
	if (r < 0) {
		json_decref(a);
		return r;
	}
	*ret = a;
	return 0;
}

int disks_list_zfs(json_t **ret, struct error **err)
{
	struct cmd c;
	_cleanup_free_ char *out = NULL;
	disks_zpool_list_build_cmd(&c);
	int r = run(&c, NULL, &out, err);
	if (r < 0)
		return r;
	if (disks_zpool_list_parse(out, ret) < 0)
		return error_set(err, -EINVAL, 500, "unable to parse the output of zpool list");
	return 0;
}

int disks_list_directory(json_t **ret, struct error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	struct error *e = NULL;
	int r = read_file(fstab_path, FSTAB_MAX, &data, &len, &e);
	error_free(e);
	if (r < 0 && r != -ENOENT)
		return error_set(err, r, 500, "unable to read %s", fstab_path);
	*ret = disks_fstab_dirs(data);
	return 0;
}

/* ---- scan ------------------------------------------------------------------ */

/* A host without the program (lvm2 or zfsutils not installed) has no
 * volume group or pool to offer: not an error for a scan. */
static bool not_installed(int r, struct error **err)
{
	if (r != -ENOENT)
		return false;
	if (err) {
		error_free(*err);
		*err = NULL;
	}
	return true;
}

/* PVE's scan rows from a Disks list: {<key>: name, size, free} per row;
 * a host without the tools has none. */
static int scan_rows(int r, json_t *rows, const char *key, json_t **ret, struct error **err)
{
	if (not_installed(r, err)) {
		*ret = json_array();
		return 0;
	}
	if (r < 0)
		return r;
	json_t *a = json_array();
	size_t i;
	json_t *row;
	json_array_foreach (rows, i, row)
		json_array_append_new(a, json_pack("{s:O, s:O, s:O}", key,
		                                   json_object_get(row, "name"), "size",
		                                   json_object_get(row, "size"), "free",
		                                   json_object_get(row, "free")));
	*ret = a;
	return 0;
}

int disks_scan_lvm(json_t **ret, struct error **err)
{
	_cleanup_json_ json_t *list = NULL;
	int r = disks_list_lvm(&list, err);
	return scan_rows(r, json_object_get(list, "children"), "vg", ret, err);
}

/* PVE's parameter: at least 2 and at most 100 bytes of lvm(8)'s names. */
static bool vg_name_valid(const char *vg)
{
	size_t n = strlen(vg);
	return n >= 2 && n <= 100 && lvm_name_valid(vg);
}

int disks_scan_lvmthin(const char *vg, json_t **ret, struct error **err)
{
	if (!vg || !vg_name_valid(vg))
		return error_param(err, "vg", "value does not match the regex pattern");
	json_t *a = json_array();
	int r = thinpools_of(vg, a, err);
	if (r < 0 && !not_installed(r, err)) {
		json_decref(a);
		return r;
	}
	*ret = a;
	return 0;
}

int disks_scan_zfs(json_t **ret, struct error **err)
{
	_cleanup_json_ json_t *list = NULL;
	int r = disks_list_zfs(&list, err);
	return scan_rows(r, list, "pool", ret, err);
}

/* ---- the operations ----------------------------------------------------- */

static int check_args(enum disks_kind kind, const json_t *args, struct error **err)
{
	struct disks_request rq;
	request_from_args(kind, args, &rq);
	int r = disks_request_check(&rq, err);
	disks_request_clear(&rq);
	if (r < 0 && err && *err)
		(*err)->http_status = 500;
	return r;
}

static int run_op(enum disks_kind kind, struct task_worker *w, const json_t *args,
                  struct error **err)
{
	struct disks_request rq;
	request_from_args(kind, args, &rq);
	int r = disks_create(&rq, task_worker_env(w), w, err);
	disks_request_clear(&rq);
	return r;
}

#define DISKS_OP(fn, kind)                                                                 \
	static int check_##fn(const json_t *args, struct error **err)                      \
	{                                                                                  \
		return check_args(kind, args, err);                                        \
	}                                                                                  \
	static int run_##fn(struct task_worker *w, const json_t *args, struct error **err) \
	{                                                                                  \
		return run_op(kind, w, args, err);                                         \
	}
DISKS_OP(lvm, DISKS_LVM)
DISKS_OP(lvmthin, DISKS_LVMTHIN)
DISKS_OP(zfs, DISKS_ZFS)
DISKS_OP(dir, DISKS_DIR)

static const struct task_op_arg one_device_args[] = {
    {.name = "name", .type = TASK_ARG_STRING},
    {.name = "device", .type = TASK_ARG_STRING},
    {.name = "add-storage", .type = TASK_ARG_BOOLEAN},
    {.name = NULL},
};
static const struct task_op_arg zfs_args[] = {
    {.name = "name", .type = TASK_ARG_STRING},
    {.name = "devices", .type = TASK_ARG_STRING},
    {.name = "raidlevel", .type = TASK_ARG_STRING},
    {.name = "compression", .type = TASK_ARG_STRING},
    {.name = "ashift", .type = TASK_ARG_INTEGER},
    {.name = "add-storage", .type = TASK_ARG_BOOLEAN},
    {.name = NULL},
};
static const struct task_op_arg dir_args[] = {
    {.name = "name", .type = TASK_ARG_STRING},
    {.name = "device", .type = TASK_ARG_STRING},
    {.name = "filesystem", .type = TASK_ARG_STRING},
    {.name = "add-storage", .type = TASK_ARG_BOOLEAN},
    {.name = NULL},
};

static const struct task_op disks_task_ops[] = {
    {.type = "lvmcreate", .args = one_device_args, .check = check_lvm, .run = run_lvm},
    {.type = "lvmthincreate", .args = one_device_args, .check = check_lvmthin, .run = run_lvmthin},
    {.type = "zfscreate", .args = zfs_args, .check = check_zfs, .run = run_zfs},
    {.type = "dircreate", .args = dir_args, .check = check_dir, .run = run_dir},
    {.type = NULL},
};

int disks_task_ops_register(struct task_ops *reg, struct storage_task_env *env, struct error **err)
{
	return task_ops_register(reg, disks_task_ops, env, err);
}

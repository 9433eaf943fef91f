/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Operations on one disk of a VM (guest.h, "disk operations"): the resize
 * and qmmove tasks (PVE 8's PUT .../resize answers a UPID) and unlink.
 *
 * resize {vmid, disk, size, [digest], [skiplock]}: size is absolute or,
 * with a leading '+', added to the volume's current size (PVE's
 * parse_size grammar: a number with an optional K, M, G or T).  Grow only:
 * "shrinking disks is not supported"; the same size is a no-op.  A stopped
 * VM's volume grows through the storage layer, a running VM's through QMP
 * block_resize on the drive's node (QEMU holds the image open and locked).
 * The drive's size= in the config follows, written only when the volume
 * grew and the drive still names the same volume.
 */
#include "common.h"

#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "config-store.h"
#include "error.h"
#include "guest-conf.h"
#include "guest-ops.h"
#include "guest.h"
#include "jsonutil.h"
#include "qemu-conf.h"
#include "qemu-run.h"
#include "strv.h"
#include "storage-ops.h"
#include "storage.h"
#include "task.h"
#include "volid.h"
#include "xalloc.h"

#define disk_env guest_ops_env

static const char *arg_str(const json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

static long arg_vmid(const json_t *args)
{
	json_t *v = json_object_get(args, "vmid");
	return json_is_integer(v) ? (long)json_integer_value(v) : 0;
}

/* the largest disk a resize makes: 128 TiB, as a new disk (guest-disks.c) */
#define RESIZE_MAX (128ull << 40)

int guest_resize_parse(const char *s, bool *ret_relative, uint64_t *ret_size, struct error **err)
{
	bool rel = s && *s == '+';
	if (s && rel)
		s++;
	uint64_t v = 0;
	/* a plain number is bytes, as PVE's parse_size */
	if (!s || !*s || strchr(s, '-') || qemu_parse_size(s, &v) < 0)
		return error_param(err, "size", "invalid format - value does not match the regex");
	if (v > RESIZE_MAX)
		return error_param(err, "size", "value must be at most 128T");
	*ret_relative = rel;
	*ret_size = v;
	return 0;
}

int guest_resize_check(const struct guest_kind_ops *k, const json_t *conf, const char *disk,
                       struct error **err)
{
	const char *value = json_string_value(json_object_get(conf, disk));
	if (!streq(k->type, "qemu")) {
		/* a container's rootfs or mpN: a volume, not a bind mount */
		_cleanup_free_ char *file = value ? k->disk_file(disk, value) : NULL;
		bool mount_key = streq(disk, "rootfs") || !strncmp(disk, "mp", 2);
		if (!value || (!file && !mount_key))
			return error_set(err, -ENOENT, 500, "disk '%s' does not exist", disk);
		/* a bind mount or a device has no file of its own */
		if (!file || !strchr(file, ':') || file[0] == '/')
			return error_set(err, -EINVAL, 500,
			                 "you can't resize a disk that is not a volume");
		return 0;
	}
	struct qemu_drive d = {0};
	if (!value || !qemu_conf_is_drive_key(disk, false) ||
	    qemu_drive_parse(disk, value, &d, NULL) < 0)
		return error_set(err, -ENOENT, 500, "disk '%s' does not exist", disk);
	int r = 0;
	if (d.cdrom)
		r = error_set(err, -EINVAL, 500, "you can't resize a cdrom");
	else if (!d.file || !strchr(d.file, ':') || d.file[0] == '/')
		r = error_set(err, -EINVAL, 500, "you can't resize a disk that is not a volume");
	qemu_drive_clear(&d);
	return r;
}

/* The size= of the drive: written only if it still names volid. */
struct size_write {
	const struct guest_kind_ops *k;
	const char *disk, *volid;
	uint64_t size;
};

static int write_size(void *obj, void *arg, struct error **err)
{
	const struct size_write *s = arg;
	json_t *conf = s->k->main_section(obj);
	const char *value = json_string_value(json_object_get(conf, s->disk));
	_cleanup_free_ char *file = value ? s->k->disk_file(s->disk, value) : NULL;
	if (!file || !streq(file, s->volid))
		return error_set(err, -EBUSY, 500, "disk '%s' changed during the resize", s->disk);
	_cleanup_free_ char *nv = s->k->disk_set_file(value, s->volid, s->size);
	json_object_set_new(conf, s->disk, json_string(nv));
	return 0;
}

static int op_resize(struct task_worker *w, const json_t *args, struct error **err)
{
	struct disk_env *env = task_worker_env(w);
	const struct guest_kind_ops *k = env->kind;
	long vmid = arg_vmid(args);
	const char *disk = arg_str(args, "disk");
	/* one type for every kind: the guest's own */
	int fr = k ? 0 : guest_find(env->gs, NULL, vmid, &k, err);
	if (fr < 0)
		return fr;
	unsigned flags = json_is_true(json_object_get(args, "skiplock")) ? GUEST_SKIPLOCK : 0;
	bool rel = false;
	uint64_t want = 0;
	int r = guest_resize_parse(arg_str(args, "size"), &rel, &want, err);
	if (r < 0)
		return r;

	struct guest g = {0};
	bool running = false;
	r = guest_get(env->gs, k, vmid, &g, err);
	if (r < 0)
		return r;
	const char *digest = arg_str(args, "digest");
	if (digest && !streq(digest, conf_snapshot_digest(g.snap)))
		r = error_set(err, -ESTALE, 500,
		              "detected modified configuration - file changed by other user? "
		              "Try again.");
	if (r == 0)
		r = guest_is_running(env->gs, k, vmid, &running, NULL, err);
	if (r == 0) {
		struct guest_state st = {.conf = g.conf, .running = running};
		r = guest_check_op(k, vmid, &st, GUEST_OP_RESIZE, flags, err);
	}
	if (r == 0)
		r = guest_resize_check(k, g.conf, disk, err);
	_cleanup_free_ char *volid =
	    r == 0 ? k->disk_file(disk, json_string_value(json_object_get(g.conf, disk))) : NULL;
	guest_release(&g);
	if (r < 0)
		return r;

	struct volid v = {0};
	_cleanup_(storage_freep) struct storage *st = NULL;
	struct storage_volume info = {0};
	r = volid_parse(volid, &v, err);
	if (r == 0)
		r = storage_load_open_enabled(guest_store_storage(env->gs),
		                              guest_store_node(env->gs), v.storeid, &st, err);
	if (r == 0)
		r = storage_info(st, v.volname, &info, err);
	uint64_t cur = info.size;
	storage_volume_clear(&info);
	if (r < 0)
		goto out;
	uint64_t size = rel ? cur + want : want;
	if (size > RESIZE_MAX) {
		r = error_param(err, "size", "value must be at most 128T");
		goto out;
	}
	if (size < cur) {
		r = error_set(err, -EINVAL, 500, "shrinking disks is not supported");
		goto out;
	}
	if (size == cur) {
		task_log(w, "disk '%s' already has size %llu - nothing to do", disk,
		         (unsigned long long)cur);
		goto out;
	}
	task_log(w, "resize '%s' (%s) from %llu to %llu bytes", disk, volid,
	         (unsigned long long)cur, (unsigned long long)size);
	if (running && streq(k->type, "qemu")) {
		/* QEMU has the image open: it grows it and the guest sees the
		 * new size at once */
		struct qemu_run_env renv = {.run_root = guest_store_run_dir(env->gs), .w = w};
		char node[32];
		snprintf(node, sizeof(node), "drive-%s", disk);
		_cleanup_json_ json_t *qa =
		    json_pack("{s:s, s:I}", "node-name", node, "size", (json_int_t)size);
		r = qemu_run_qmp(&renv, vmid, "block_resize", qa, 60 * 1000, NULL, err);
	} else {
		r = storage_resize(st, v.volname, size, w, err);
		/* a container's image: its filesystem too (PVE's resize2fs) */
		struct stat sb;
		_cleanup_free_ char *path = NULL;
		if (r == 0 && k->grow_volume && storage_path(st, v.volname, &path, NULL) == 0 &&
		    stat(path, &sb) == 0 && !S_ISDIR(sb.st_mode))
			r = k->grow_volume(path, running, w, err);
	}
	if (r == 0) {
		char key[24];
		snprintf(key, sizeof(key), "%ld", vmid);
		struct size_write sw = {.k = k, .disk = disk, .volid = volid, .size = size};
		r = conf_family_update(guest_family(env->gs, k), key, NULL, write_size, &sw, err);
	}
out:
	volid_clear(&v);
	return r;
}

/* ---- qmmove {vmid, disk, storage, [format], [delete], [digest]} ---------- */

/* PVE's add_unused_volume(): the first free unusedN, unless listed. */
static void add_unused(json_t *conf, const char *volid)
{
	int free_slot = -1;
	for (int i = 0; i <= 255; i++) {
		char key[24];
		snprintf(key, sizeof(key), "unused%d", i);
		const char *v = json_string_value(json_object_get(conf, key));
		if (v && streq(v, volid))
			return;
		if (!v && free_slot < 0)
			free_slot = i;
	}
	if (free_slot >= 0) {
		char key[24];
		snprintf(key, sizeof(key), "unused%d", free_slot);
		json_object_set_new(conf, key, json_string(volid));
	}
}

/* value without option opt (malloc'd). */
/* The value of option opt in a property string (malloc'd), or NULL. */
static char *option_value(const char *value, const char *opt)
{
	size_t n = strlen(opt);
	for (const char *p = value; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len > n && !strncmp(p, opt, n) && p[n] == '=')
			return xstrndup(p + n + 1, len - n - 1);
		p += len;
		if (*p == ',')
			p++;
	}
	return NULL;
}

static char *option_drop(const char *value, const char *opt)
{
	size_t n = strlen(opt);
	char *out = xmalloc(strlen(value) + 1);
	out[0] = '\0';
	for (const char *p = value; *p;) {
		size_t len = strcspn(p, ",");
		if (!(len > n && !strncmp(p, opt, n) && p[n] == '=')) {
			if (*out)
				strcat(out, ",");
			strncat(out, p, len);
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return out;
}

/* Whether a snapshot of guest_conf c uses volid. */
static bool used_by_snapshot(const json_t *snaps, const char *volid)
{
	const char *name;
	json_t *s;
	json_object_foreach ((json_t *)snaps, name, s) {
		const char *k;
		json_t *v;
		json_object_foreach (s, k, v) {
			const char *val = json_string_value(v);
			size_t len = val ? strcspn(val, ",") : 0;
			if (val && qemu_conf_is_drive_key(k, true) && len == strlen(volid) &&
			    !strncmp(val, volid, len))
				return true;
		}
	}
	return false;
}

/* Whether volid belongs to guest vmid (its name says so), so an operation
 * of that guest may free it: a volume of another guest that a config names
 * is only ever detached (PVE's try_deallocate_drive). */
static bool volume_owned(struct guest_store *gs, const char *volid, long vmid)
{
	struct volid v = {0};
	_cleanup_(storage_freep) struct storage *st = NULL;
	struct volname_info vi = {0};
	bool owned = false;
	if (volid_parse(volid, &v, NULL) == 0 &&
	    storage_load_open_enabled(guest_store_storage(gs), guest_store_node(gs), v.storeid, &st,
	                              NULL) == 0 &&
	    storage_parse_volname(st, v.volname, &vi, NULL) == 0)
		owned = vi.vmid == vmid;
	volname_info_clear(&vi);
	volid_clear(&v);
	return owned;
}

struct move_write {
	const struct guest_kind_ops *k;
	const char *disk, *old_volid, *new_volid;
	bool keep_old; /* the old volume becomes unusedN */
	bool drop_format;
};

static int write_move(void *obj, void *arg, struct error **err)
{
	const struct move_write *m = arg;
	struct guest_conf *c = obj;
	const char *value = json_string_value(json_object_get(c->conf, m->disk));
	_cleanup_free_ char *file = value ? m->k->disk_file(m->disk, value) : NULL;
	if (!file || !streq(file, m->old_volid))
		return error_set(err, -EBUSY, 500, "disk '%s' changed during the move", m->disk);
	uint64_t size = 0;
	if (streq(m->k->type, "qemu")) {
		struct qemu_drive d = {0};
		if (qemu_drive_parse(m->disk, value, &d, NULL) == 0)
			size = d.size;
		qemu_drive_clear(&d);
	} else {
		_cleanup_free_ char *sz = option_value(value, "size");
		if (sz && qemu_parse_size(sz, &size) < 0)
			size = 0;
	}
	_cleanup_free_ char *nv = m->k->disk_set_file(value, m->new_volid, size);
	if (m->drop_format) {
		char *x = option_drop(nv, "format");
		free(nv);
		nv = x;
	}
	json_object_set_new(c->conf, m->disk, json_string(nv));
	if (m->keep_old)
		add_unused(c->conf, m->old_volid);
	return 0;
}

int guest_move_check(const struct guest_kind_ops *k, const struct guest_conf *c, const char *disk,
                     const char *storage, const char *format, bool del, struct error **err)
{
	const char *value = json_string_value(json_object_get(c->conf, disk));
	if (!streq(k->type, "qemu")) {
		/* a container's rootfs or volume mount point */
		_cleanup_free_ char *file = value ? k->disk_file(disk, value) : NULL;
		bool mount_key = streq(disk, "rootfs") || !strncmp(disk, "mp", 2);
		if (!value || (!file && !mount_key))
			return error_set(err, -ENOENT, 500, "disk '%s' does not exist", disk);
		if (!file || !strchr(file, ':') || file[0] == '/')
			return error_set(err, -EINVAL, 500,
			                 "you can't move a disk that is not a volume");
		if (del && used_by_snapshot(c->snapshots, file))
			return error_set(
			    err, -EINVAL, 500,
			    "you can't move a disk with snapshots and delete the source");
		if (!strncmp(file, storage, strlen(storage)) && file[strlen(storage)] == ':')
			return error_set(err, -EINVAL, 500,
			                 "you can't move to the same storage with same format");
		return 0;
	}
	struct qemu_drive d = {0};
	if (!value || !qemu_conf_is_drive_key(disk, false) ||
	    qemu_drive_parse(disk, value, &d, NULL) < 0)
		return error_set(err, -ENOENT, 500, "disk '%s' does not exist", disk);
	int r = 0;
	_cleanup_free_ char *file = k->disk_file(disk, value);
	if (d.cdrom)
		r = error_set(err, -EINVAL, 500, "you can't move a cdrom");
	else if (!file || !strchr(file, ':') || file[0] == '/')
		r = error_set(err, -EINVAL, 500, "you can't move a disk that is not a volume");
	else if (del && used_by_snapshot(c->snapshots, file))
		r = error_set(err, -EINVAL, 500,
		              "you can't move a disk with snapshots and delete the source");
	else if (!strncmp(file, storage, strlen(storage)) && file[strlen(storage)] == ':' &&
	         (!format || (d.format && streq(d.format, format)) ||
	          (strlen(file) > strlen(format) + 1 &&
	           streq(file + strlen(file) - strlen(format), format) &&
	           file[strlen(file) - strlen(format) - 1] == '.')))
		r = error_set(err, -EINVAL, 500,
		              "you can't move to the same storage with same format");
	qemu_drive_clear(&d);
	return r;
}

static int op_move(struct task_worker *w, const json_t *args, struct error **err)
{
	struct disk_env *env = task_worker_env(w);
	const struct guest_kind_ops *k = env->kind;
	long vmid = arg_vmid(args);
	const char *disk = arg_str(args, "disk"), *storage = arg_str(args, "storage");
	const char *format = arg_str(args, "format");
	bool del = json_is_true(json_object_get(args, "delete"));
	struct guest g = {0};
	bool running = false;
	_cleanup_free_ char *volid = NULL, *newvolid = NULL;
	int r = guest_get(env->gs, k, vmid, &g, err);
	if (r < 0)
		return r;
	const struct guest_conf *c = conf_snapshot_data(g.snap);
	const char *digest = arg_str(args, "digest");
	if (digest && !streq(digest, conf_snapshot_digest(g.snap)))
		r = error_set(err, -ESTALE, 500,
		              "detected modified configuration - file changed by other user? "
		              "Try again.");
	if (r == 0)
		r = guest_is_running(env->gs, k, vmid, &running, NULL, err);
	if (r == 0) {
		struct guest_state st = {.conf = g.conf, .running = running};
		r = guest_check_op(k, vmid, &st, GUEST_OP_MOVE_DISK, 0, err);
	}
	if (r == 0 && running)
		r = streq(k->type, "qemu")
		        ? error_set(err, -EBUSY, 500,
		                    "moving a disk of a running VM is not supported (no "
		                    "drive-mirror)")
		        : error_set(err, -EBUSY, 500, "cannot move volumes of a running container");
	if (r == 0)
		r = guest_move_check(k, c, disk, storage, format, del, err);
	if (r == 0)
		volid = k->disk_file(disk, json_string_value(json_object_get(g.conf, disk)));
	guest_release(&g);
	if (r < 0)
		return r;

	_cleanup_(storage_freep) struct storage *src = NULL;
	_cleanup_(storage_freep) struct storage *dst = NULL;
	_cleanup_free_ char *dst_name = NULL, *newname = NULL;
	struct volid v = {0};
	r = volid_parse(volid, &v, err);
	if (r == 0)
		r = storage_load_open_enabled(guest_store_storage(env->gs),
		                              guest_store_node(env->gs), v.storeid, &src, err);
	if (r == 0)
		r = storage_load_open_enabled(guest_store_storage(env->gs),
		                              guest_store_node(env->gs), storage, &dst, err);
	if (r == 0 && format) {
		struct storage_volume *vols = NULL;
		size_t n = 0;
		r = storage_list(dst, vmid, "images,rootdir", &vols, &n, err);
		if (r == 0) {
			const char **names = xcalloc(n + 1, sizeof(*names));
			for (size_t i = 0; i < n; i++)
				names[i] = vols[i].volname;
			dst_name = volname_alloc(vmid, format, names, n, false, err);
			free(names);
			storage_volume_list_free(vols, n);
			if (!dst_name)
				r = -ENOSPC;
		}
	}
	if (r == 0) {
		task_log(w, "moving disk '%s' (%s) to storage '%s'", disk, volid, storage);
		r = storage_copy(src, v.volname, dst, dst_name, vmid, w, &newname, err);
	}
	if (r < 0) {
		volid_clear(&v);
		return r;
	}
	newvolid = volid_format(dst->id, newname);
	char key[24];
	snprintf(key, sizeof(key), "%ld", vmid);
	/* only the VM's own source volume is freed (not another guest's that
	 * its config names): else it stays as unusedN */
	del = del && volume_owned(env->gs, volid, vmid);
	struct move_write mw = {.k = k,
	                        .disk = disk,
	                        .old_volid = volid,
	                        .new_volid = newvolid,
	                        .keep_old = !del,
	                        .drop_format = format != NULL};
	r = conf_family_update(guest_family(env->gs, k), key, NULL, write_move, &mw, err);
	if (r < 0) {
		/* the config still names the source: the copy goes */
		struct error *e = NULL;
		if (storage_free_volume(dst, newname, w, &e) < 0)
			task_warn(w, "unable to free '%s': %s", newvolid, e ? e->msg : "?");
		error_free(e);
	} else if (del) {
		struct error *e = NULL;
		task_log(w, "removing the source volume '%s'", volid);
		if (storage_free_volume(src, v.volname, w, &e) < 0) {
			/* as PVE: the move stands, the source stays behind */
		}
		error_free(e);
	}
	volid_clear(&v);
	return r;
}

/* ---- unlink ------------------------------------------------------------------ */

struct unlink_write {
	struct guest_store *gs;
	long vmid;
	const struct guest_kind_ops *k;
	const char *idlist;
	bool force;
	bool running;
	char ***freed; /* volids to free after the write (force, unusedN) */
};

static int write_unlink(void *obj, void *arg, struct error **err)
{
	const struct unlink_write *u = arg;
	struct guest_conf *c = obj;
	const char *lock = guest_conf_get(c->conf, "lock");
	if (lock)
		return error_set(err, -EBUSY, 500, "VM is locked (%s)", lock);
	for (const char *p = u->idlist; *p;) {
		size_t len = strcspn(p, ",; ");
		_cleanup_free_ char *key = xstrndup(p, len);
		p += len;
		p += strspn(p, ",; ");
		if (!*key)
			continue;
		if (!qemu_conf_is_drive_key(key, true))
			return error_param(err, "idlist", "invalid disk id");
		const char *value = guest_conf_get(c->conf, key);
		if (!value)
			continue; /* PVE: nothing to unlink */
		bool unused = !strncmp(key, "unused", 6);
		if (u->running && !unused)
			return error_set(err, -EBUSY, 500,
			                 "unable to unlink '%s' of a running VM - stop it first",
			                 key);
		_cleanup_free_ char *vol =
		    u->k->detached_volume ? u->k->detached_volume(key, value) : NULL;
		if (unused && !vol)
			vol = xstrdup(value);
		/* only the VM's own volumes are freed; another guest's that the
		 * config names is detached */
		if (vol && (u->force || unused) && volume_owned(u->gs, vol, u->vmid)) {
			if (!used_by_snapshot(c->snapshots, vol))
				strv_extend(u->freed, vol);
		} else if (vol && !unused) {
			add_unused(c->conf, vol);
		}
		json_object_del(c->conf, key);
	}
	return 0;
}

int guest_disk_unlink(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                      const char *idlist, bool force, struct error **err)
{
	bool running = false;
	int r = guest_is_running(gs, k, vmid, &running, NULL, err);
	if (r < 0)
		return r;
	_cleanup_strv_free_ char **freed = NULL;
	struct unlink_write u = {.gs = gs,
	                         .vmid = vmid,
	                         .k = k,
	                         .idlist = idlist,
	                         .force = force,
	                         .running = running,
	                         .freed = &freed};
	char key[24];
	snprintf(key, sizeof(key), "%ld", vmid);
	r = conf_family_update(guest_family(gs, k), key, NULL, write_unlink, &u, err);
	for (char **v = freed; r == 0 && v && *v; v++)
		r = guest_volume_free(gs, *v, NULL, err);
	return r;
}

static int check_args(const json_t *args, struct error **err)
{
	long vmid = arg_vmid(args);
	if (vmid < GUEST_VMID_MIN || vmid > GUEST_VMID_MAX)
		return error_set(err, -EINVAL, 400, "invalid vmid %ld", vmid);
	const char *disk = arg_str(args, "disk");
	/* a VM's drive or a container's rootfs / mpN (resize is every kind's) */
	bool mp = disk && !strncmp(disk, "mp", 2) && disk[2] && strlen(disk) <= 5 &&
	          strspn(disk + 2, "0123456789") == strlen(disk + 2);
	if (!disk || !(qemu_conf_is_drive_key(disk, false) || streq(disk, "rootfs") || mp))
		return error_param(err, "disk", "invalid disk");
	if (json_object_get(args, "storage")) {
		const char *st = arg_str(args, "storage");
		if (!st || !storeid_is_valid(st))
			return error_param(err, "storage", "invalid storage id");
		const char *f = arg_str(args, "format");
		if (f && !streq(f, "raw") && !streq(f, "qcow2") && !streq(f, "vmdk"))
			return error_param(err, "format", "value is not one of raw, qcow2, vmdk");
		return 0;
	}
	bool rel;
	uint64_t size;
	return guest_resize_parse(arg_str(args, "size"), &rel, &size, err);
}

static const struct task_op_arg resize_args[] = {
    {.name = "vmid", .type = TASK_ARG_INTEGER},
    {.name = "disk", .type = TASK_ARG_STRING},
    {.name = "size", .type = TASK_ARG_STRING},
    {.name = "digest", .type = TASK_ARG_STRING, .optional = true},
    {.name = "skiplock", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = NULL},
};

static const struct task_op_arg move_args[] = {
    {.name = "vmid", .type = TASK_ARG_INTEGER},
    {.name = "disk", .type = TASK_ARG_STRING},
    {.name = "storage", .type = TASK_ARG_STRING},
    {.name = "format", .type = TASK_ARG_STRING, .optional = true},
    {.name = "delete", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = "digest", .type = TASK_ARG_STRING, .optional = true},
    {.name = NULL},
};

/* Proxmox's types: "resize" for every kind; qmmove and lxc's move_volume */
const struct guest_op_def guest_disk_op_defs[] = {
    {.type = "resize", .args = resize_args, .check = check_args, .run = op_resize},
    {.name = "move", .kind = "qemu", .args = move_args, .check = check_args, .run = op_move},
    {.type = "move_volume", .kind = "lxc", .args = move_args, .check = check_args, .run = op_move},
    {.run = NULL},
};

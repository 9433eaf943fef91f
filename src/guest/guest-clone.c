/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Clone and template (guest.h, "clone and template"): the task operations
 * qmclone and qmtemplate (vzclone and vztemplate for containers).
 *
 * qmtemplate {vmid, [disk]}: every disk (or only `disk`) becomes a base
 * volume through the storage layer (create_base: vm-N-disk-M ->
 * base-N-disk-M), the config naming each new volume as soon as it exists,
 * then `template: 1`.  As PVE, a failure midway leaves the disks converted
 * so far converted and named by the config (a base cannot go back).
 *
 * qmclone {vmid, newid, full, [name], [description], [storage], [format], [pool],
 * [snapname]}: newid is reserved first (`lock: create`, as a create), a full
 * clone copies every disk (storage_copy: to `storage` or the disk's own, in
 * `format` or the source's), a linked clone (of a template only) makes a
 * copy-on-write child of each base volume (storage_clone).  With snapname
 * the clone is of that snapshot: its section gives the config and the
 * disks, each copied as it was then (storage_copy_snapshot: where the
 * storage can read a volume's snapshot, checked first by guest_clone_check
 * with PVE's words).  The new config is the source's main section (or the
 * snapshot's, without snaptime, vmstate, snapstate) without its snapshots, pending
 * changes, unused volumes, lock, template flag and parent, with new MAC
 * addresses and a new vmgenid.  A failure frees every volume made and the
 * reservation: no half clone stays.  A non-template source is locked
 * (`lock: clone`) while its disks are read.  A running VM's disks (qemu)
 * are copied live by QEMU into new volumes (qemu_run_mirror: drive-mirror,
 * cancelled once ready, as PVE), its config being the running one (the
 * main section; pending changes are never copied); a snapshot of a
 * running VM is refused, its qcow2 images being open in QEMU.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-store.h"
#include "error.h"
#include "guest-conf.h"
#include "guest-ops.h"
#include "guest.h"
#include "jsonutil.h"
#include "qemu-conf.h"
#include "qemu-run.h"
#include "storage-ops.h"
#include "storage.h"
#include "strv.h"
#include "task.h"
#include "volid.h"
#include "xalloc.h"

#define clone_env guest_ops_env

/* How long one wait of a live disk copy may take: as long as the data. */
#define MIRROR_TIMEOUT_MS (24 * 3600 * 1000)

static const char *arg_str(const json_t *args, const char *key)
{
	const char *s = json_string_value(json_object_get(args, key));
	return s && *s ? s : NULL;
}

static long arg_long(const json_t *args, const char *key)
{
	json_t *v = json_object_get(args, key);
	return json_is_integer(v) ? (long)json_integer_value(v) : 0;
}

static void vmid_key(long vmid, char key[24])
{
	snprintf(key, 24, "%ld", vmid);
}

static int open_volid(struct guest_store *gs, const char *volid, struct storage **ret_st,
                      char **ret_volname, struct error **err)
{
	struct volid v = {0};
	int r = volid_parse(volid, &v, err);
	if (r < 0)
		return r;
	r = storage_load_open_enabled(guest_store_storage(gs), guest_store_node(gs), v.storeid,
	                              ret_st, err);
	if (r == 0)
		*ret_volname = TAKE_PTR(v.volname);
	volid_clear(&v);
	return r;
}

/* The disks of a section that are volumes: key -> volid, in PVE's order. */
struct disk_list {
	char **keys, **volids;
};

static int collect_disk(const struct qemu_drive *d, void *userdata, struct error **err)
{
	struct disk_list *l = userdata;
	(void)err;
	if (d->cdrom || !d->file || streq(d->file, "none") || d->file[0] == '/' ||
	    !strchr(d->file, ':'))
		return 0;
	strv_extend(&l->keys, d->key);
	strv_extend(&l->volids, d->file);
	return 0;
}

/* The disks of section that are volumes, for kind k: qemu's drives, or
 * every key whose value the kind says is a volume (a container's rootfs
 * and volume mount points, not bind mounts). */
static int collect_disks(const struct guest_kind_ops *k, const json_t *section, struct disk_list *l,
                         struct error **err)
{
	if (streq(k->type, "qemu"))
		return qemu_conf_foreach_drive(section, false, collect_disk, l, err);
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)section, key, v) {
		_cleanup_free_ char *file = json_is_string(v) && k->disk_file
		                                ? k->disk_file(key, json_string_value(v))
		                                : NULL;
		if (!file || file[0] == '/' || !strchr(file, ':') || !strncmp(key, "unused", 6))
			continue;
		strv_extend(&l->keys, key);
		strv_extend(&l->volids, file);
	}
	return 0;
}

static void disk_list_clear(struct disk_list *l)
{
	strv_free(l->keys);
	strv_free(l->volids);
	*l = (struct disk_list){0};
}

/* value without option opt (malloc'd). */
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

/* ---- qmtemplate {vmid, [disk]} -------------------------------------------- */

struct set_disk {
	const struct guest_kind_ops *k;
	const char *key, *old_volid, *new_volid;
	uint64_t size;
	bool template_flag; /* set template: 1 instead */
};

static int write_disk(void *obj, void *arg, struct error **err)
{
	const struct set_disk *s = arg;
	json_t *conf = s->k->main_section(obj);
	if (s->template_flag) {
		guest_conf_set(conf, "template", "1");
		return 0;
	}
	const char *value = json_string_value(json_object_get(conf, s->key));
	_cleanup_free_ char *file = value ? s->k->disk_file(s->key, value) : NULL;
	if (!file || !streq(file, s->old_volid))
		return error_set(err, -EBUSY, 500, "disk '%s' changed meanwhile", s->key);
	_cleanup_free_ char *nv = s->k->disk_set_file(value, s->new_volid, s->size);
	json_object_set_new(conf, s->key, json_string(nv));
	return 0;
}

static int drive_size(const char *key, const char *value, uint64_t *ret)
{
	if (!qemu_conf_is_drive_key(key, true)) {
		/* a container's mount point: its size= */
		*ret = 0;
		for (const char *p = value; p && *p;) {
			size_t len = strcspn(p, ",");
			if (len > 5 && !strncmp(p, "size=", 5)) {
				_cleanup_free_ char *sz = xstrndup(p + 5, len - 5);
				return qemu_parse_size(sz, ret);
			}
			p += len;
			if (*p == ',')
				p++;
		}
		return 0;
	}
	struct qemu_drive d = {0};
	int r = qemu_drive_parse(key, value, &d, NULL);
	*ret = r == 0 ? d.size : 0;
	qemu_drive_clear(&d);
	return r;
}

static int op_template(struct task_worker *w, const json_t *args, struct error **err)
{
	struct clone_env *env = task_worker_env(w);
	const struct guest_kind_ops *k = env->kind;
	long vmid = arg_long(args, "vmid");
	const char *only = arg_str(args, "disk");
	struct guest g = {0};
	struct disk_list l = {0};
	bool running = false;
	char key[24];
	vmid_key(vmid, key);

	int r = guest_get(env->gs, k, vmid, &g, err);
	if (r < 0)
		return r;
	r = guest_is_running(env->gs, k, vmid, &running, NULL, err);
	if (r == 0) {
		struct guest_state st = {.conf = g.conf, .running = running};
		r = guest_check_op(k, vmid, &st, GUEST_OP_TEMPLATE, 0, err);
	}
	if (r == 0)
		r = collect_disks(k, g.conf, &l, err);
	_cleanup_json_ json_t *conf = json_deep_copy(g.conf);
	guest_release(&g);
	if (r == 0 && only && !strv_contains(l.keys, only))
		r = error_set(err, -ENOENT, 500, "disk '%s' does not exist", only);
	for (size_t i = 0; r == 0 && l.keys && l.keys[i]; i++) {
		if (only && !streq(only, l.keys[i]))
			continue;
		_cleanup_(storage_freep) struct storage *st = NULL;
		_cleanup_free_ char *volname = NULL, *base = NULL, *newvolid = NULL;
		r = open_volid(env->gs, l.volids[i], &st, &volname, err);
		if (r < 0)
			break;
		struct volname_info vi = {0};
		if (storage_parse_volname(st, volname, &vi, NULL) == 0 && vi.is_base) {
			volname_info_clear(&vi);
			continue; /* a base already */
		}
		volname_info_clear(&vi);
		task_log(w, "create base volume of '%s' (%s)", l.keys[i], l.volids[i]);
		r = storage_create_base(st, volname, w, &base, err);
		if (r < 0)
			break;
		newvolid = volid_format(st->id, base);
		uint64_t size = 0;
		drive_size(l.keys[i], json_string_value(json_object_get(conf, l.keys[i])), &size);
		struct set_disk sd = {.k = k,
		                      .key = l.keys[i],
		                      .old_volid = l.volids[i],
		                      .new_volid = newvolid,
		                      .size = size};
		r = conf_family_update(guest_family(env->gs, k), key, NULL, write_disk, &sd, err);
	}
	if (r == 0) {
		struct set_disk sd = {.k = k, .template_flag = true};
		r = conf_family_update(guest_family(env->gs, k), key, NULL, write_disk, &sd, err);
	}
	disk_list_clear(&l);
	return r;
}

/* ---- qmclone ---------------------------------------------------------------- */

static void random_uuid(char out[37])
{
	int fd = open("/proc/sys/kernel/random/uuid", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, out, 36) : -1;
	if (fd >= 0)
		close(fd);
	if (n != 36)
		snprintf(out, 37, "%08x-0000-4000-8000-000000000000", (unsigned)getpid());
	out[36] = '\0';
}

/* The new guest's main section from the source's (PVE's clone_vm). */
static json_t *clone_section(const struct guest_kind_ops *k, const json_t *src, const json_t *args)
{
	json_t *c = json_object();
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)src, key, v) {
		if (streq(key, "lock") || streq(key, "template") || streq(key, "parent") ||
		    streq(key, "digest") || streq(key, "snaptime") || streq(key, "vmstate") ||
		    streq(key, "snapstate") || !strncmp(key, "unused", 6))
			continue;
		json_object_set(c, key, v);
	}
	/* new MAC addresses for the NICs that have one */
	json_object_foreach (c, key, v) {
		if (strncmp(key, "net", 3) != 0)
			continue;
		const char *val = json_string_value(v);
		const char *eq = val ? strchr(val, '=') : NULL;
		size_t model = val ? strcspn(val, ",=") : 0;
		/* qemu: model=MAC first; lxc: hwaddr=MAC anywhere */
		const char *hw = val ? strstr(val, "hwaddr=") : NULL;
		if (hw && (hw == val || hw[-1] == ',') && strlen(hw + 7) >= 17)
			eq = hw + 6;
		else if (!eq || (size_t)(eq - val) != model || strlen(eq + 1) < 17)
			continue;
		char mac[18];
		qemu_conf_random_mac(mac);
		_cleanup_free_ char *nv = xstrdup(val);
		memcpy(nv + (eq - val) + 1, mac, 17);
		json_object_set_new(c, key, json_string(nv));
	}
	const char *genid = guest_conf_get(c, "vmgenid");
	if (genid && !streq(genid, "0")) {
		char uuid[37];
		random_uuid(uuid);
		guest_conf_set(c, "vmgenid", uuid);
	}
	const char *name = arg_str(args, "name");
	if (!streq(k->type, "qemu")) {
		/* a container keeps its hostname unless given one (PVE) */
		if (name)
			guest_conf_set(c, "hostname", name);
	} else if (name) {
		guest_conf_set(c, "name", name);
	} else {
		const char *old = guest_conf_get(src, "name");
		_cleanup_free_ char *n = xasprintf("Copy-of-VM-%s", old ? old : "");
		if (!old)
			n[strlen(n) - 1] = '\0';
		guest_conf_set(c, "name", old ? n : NULL);
	}
	const char *desc = arg_str(args, "description");
	if (desc)
		guest_conf_set(c, "description", desc);
	return c;
}

/* One disk of the clone: a full copy or a linked child; the new volid. */
static int clone_disk(struct clone_env *env, const char *volid, const char *snap, long newid,
                      bool full, const char *storage, const char *format, struct task_worker *w,
                      char **ret_volid, struct error **err)
{
	_cleanup_(storage_freep) struct storage *st = NULL;
	_cleanup_(storage_freep) struct storage *dst = NULL;
	_cleanup_free_ char *volname = NULL, *newname = NULL, *dst_name = NULL;
	int r = open_volid(env->gs, volid, &st, &volname, err);
	if (r < 0)
		return r;
	if (!full) {
		task_log(w, "create linked clone of drive (%s)", volid);
		r = storage_clone(st, volname, newid, NULL, w, &newname, err);
		if (r == 0)
			*ret_volid = volid_format(st->id, newname);
		return r;
	}
	const char *target = storage ? storage : st->id;
	r = storage_load_open_enabled(guest_store_storage(env->gs), guest_store_node(env->gs),
	                              target, &dst, err);
	if (r < 0)
		return r;
	if (format) {
		struct storage_volume *vols = NULL;
		size_t n = 0;
		r = storage_list(dst, newid, "images,rootdir", &vols, &n, err);
		if (r < 0)
			return r;
		const char **names = xcalloc(n + 1, sizeof(*names));
		for (size_t i = 0; i < n; i++)
			names[i] = vols[i].volname;
		dst_name = volname_alloc(newid, format, names, n, false, err);
		free(names);
		storage_volume_list_free(vols, n);
		if (!dst_name)
			return -ENOSPC;
	}
	task_log(w, "create full clone of drive (%s) on '%s'", volid, target);
	r = storage_copy_snapshot(st, volname, snap, dst, dst_name, newid, w, &newname, err);
	if (r == 0)
		*ret_volid = volid_format(dst->id, newname);
	return r;
}

/* The section a clone copies (a copy): the main one, or snapshot snapname's,
 * whose every disk the storage must be able to copy from the snapshot
 * (PVE's volume_has_feature 'copy' or 'clone' with the snapshot name). */
static int clone_source(struct guest_store *gs, const struct guest_kind_ops *k,
                        const struct guest *g, const char *snapname, bool full,
                        json_t **ret_section, struct error **err)
{
	struct disk_list l = {0};
	const json_t *section = g->conf;
	if (snapname) {
		json_t *snaps =
		    k->snapshot_sections ? k->snapshot_sections(conf_snapshot_data(g->snap)) : NULL;
		section = json_object_get(snaps, snapname);
		if (!section)
			return error_set(err, -ENOENT, 500, "snapshot '%s' does not exist",
			                 snapname);
	}
	int r = snapname ? collect_disks(k, section, &l, err) : 0;
	for (size_t i = 0; r == 0 && l.keys && l.keys[i]; i++) {
		_cleanup_(storage_freep) struct storage *st = NULL;
		_cleanup_free_ char *volname = NULL;
		/* a storage that cannot be opened cannot copy either */
		bool ok = open_volid(gs, l.volids[i], &st, &volname, NULL) == 0 && full &&
		          storage_can_copy_snapshot(st, volname, snapname);
		if (!ok)
			r = error_set(err, -EOPNOTSUPP, 500,
			              "%s clone feature is not supported for drive '%s'",
			              full ? "Full" : "Linked", l.keys[i]);
	}
	disk_list_clear(&l);
	if (r == 0)
		*ret_section = json_deep_copy(section);
	return r;
}

int guest_clone_check(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                      const char *snapname, bool full, json_t **ret_section, struct error **err)
{
	struct guest g = {0};
	int r = guest_get(gs, k, vmid, &g, err);
	if (r < 0)
		return r;
	r = clone_source(gs, k, &g, snapname, full, ret_section, err);
	guest_release(&g);
	return r;
}

/* One disk of a running VM (qemu): a new volume of the drive's size on
 * `storage` or the disk's own, in `format` or the source's (else the
 * target's default), named in made at once so a failure frees it, filled
 * live by QEMU's drive-mirror (qemu_run_mirror).  The new volid. */
static int mirror_disk(struct clone_env *env, long vmid, const char *key, const char *volid,
                       long newid, const char *storage, const char *format, json_t *made,
                       struct task_worker *w, char **ret_volid, struct error **err)
{
	_cleanup_(storage_freep) struct storage *st = NULL;
	_cleanup_(storage_freep) struct storage *dst = NULL;
	_cleanup_free_ char *volname = NULL, *newname = NULL, *path = NULL;
	struct storage_volume info = {0};
	/* swtpm, not QEMU, has the TPM state open: nothing to mirror (PVE) */
	if (streq(key, "tpmstate0"))
		return error_set(err, -EBUSY, 500, "cannot move TPM state while VM is running");
	int r = open_volid(env->gs, volid, &st, &volname, err);
	if (r == 0)
		r = storage_info(st, volname, &info, err);
	if (r == 0)
		r = storage_load_open_enabled(guest_store_storage(env->gs),
		                              guest_store_node(env->gs), storage ? storage : st->id,
		                              &dst, err);
	const char *fmt = format;
	if (r == 0 && !fmt)
		fmt = info.format && storage_backend_has_format(dst->be, info.format)
		          ? info.format
		          : image_format_to_string(dst->be->default_format);
	if (r == 0) {
		task_log(w, "create full clone of drive %s (%s) on '%s' (running)", key, volid,
		         dst->id);
		r = storage_alloc(dst, newid, fmt, NULL, info.size, w, &newname, err);
	}
	if (r == 0) {
		*ret_volid = volid_format(dst->id, newname);
		json_array_append_new(made, json_string(*ret_volid));
		r = storage_path(dst, newname, &path, err);
	}
	if (r == 0) {
		struct qemu_run_env renv = {.run_root = guest_store_run_dir(env->gs), .w = w};
		r = qemu_run_mirror(&renv, vmid, key, path, fmt, MIRROR_TIMEOUT_MS, err);
	}
	storage_volume_clear(&info);
	return r;
}

struct clone_write {
	const struct guest_kind_ops *k;
	const json_t *conf;
};

static int write_clone(void *obj, void *arg, struct error **err)
{
	const struct clone_write *c = arg;
	json_t *conf = c->k->main_section(obj);
	if (!streq_ptr(json_string_value(json_object_get(conf, "lock")), "create"))
		return error_set(err, -EBUSY, 500, "%s config lost its create lock", c->k->noun);
	json_object_clear(conf);
	json_object_update(conf, (json_t *)c->conf);
	return 0;
}

static int op_clone(struct task_worker *w, const json_t *args, struct error **err)
{
	struct clone_env *env = task_worker_env(w);
	const struct guest_kind_ops *k = env->kind;
	long vmid = arg_long(args, "vmid"), newid = arg_long(args, "newid");
	bool full = json_is_true(json_object_get(args, "full"));
	const char *storage = arg_str(args, "storage"), *format = arg_str(args, "format");
	const char *pool = arg_str(args, "pool"), *snapname = arg_str(args, "snapname");
	bool pooled = false;
	struct guest g = {0};
	struct disk_list l = {0};
	_cleanup_json_ json_t *made = json_array();
	_cleanup_json_ json_t *conf = NULL;
	bool running = false, locked = false, tmpl = false;

	int r = guest_get(env->gs, k, vmid, &g, err);
	if (r < 0)
		return r;
	tmpl = streq_ptr(guest_conf_get(g.conf, "template"), "1");
	r = guest_is_running(env->gs, k, vmid, &running, NULL, err);
	guest_release(&g);
	/* a running VM's disks are mirrored live by QEMU; a snapshot of one
	 * would be read from an image QEMU holds locked */
	if (r == 0 && running && (!streq(k->type, "qemu") || snapname))
		r = error_set(err, -EBUSY, 500,
		              "%s %ld is running - clone of a running VM is not supported", k->noun,
		              vmid);
	if (r == 0 && !tmpl) {
		/* PVE: a non-template source is locked while its disks are read */
		r = guest_lock_take(env->gs, k, vmid, "clone", GUEST_OP_CLONE, false, 0, err);
		locked = r == 0;
	}
	if (r < 0)
		return r;
	r = guest_create_reserve(env->gs, k, newid, err);
	if (r < 0)
		goto unlock;
	/* the pool first, as create: a pool gone meanwhile fails the clone
	 * before anything is copied, and a failed clone leaves it */
	if (pool) {
		r = guest_access_pool_add(env->gs, newid, pool, err);
		pooled = r == 0;
	}
	if (r == 0)
		r = guest_get(env->gs, k, vmid, &g, err);
	if (r == 0) {
		/* checked again: the snapshot may have gone since the handler */
		_cleanup_json_ json_t *section = NULL;
		r = clone_source(env->gs, k, &g, snapname, full, &section, err);
		if (r == 0) {
			/* without the source's clone lock */
			conf = clone_section(k, section, args);
			r = collect_disks(k, section, &l, err);
		}
	}
	guest_release(&g);
	if (r == 0 && !full && !tmpl)
		r = error_set(err, -EINVAL, 500,
		              "linked clone feature is only available for "
		              "templates - use full clone");
	for (size_t i = 0; r == 0 && l.keys && l.keys[i]; i++) {
		_cleanup_free_ char *nv = NULL, *value = NULL;
		if (running) {
			r = mirror_disk(env, vmid, l.keys[i], l.volids[i], newid, storage, format,
			                made, w, &nv, err);
			if (r < 0)
				break;
		} else {
			r = clone_disk(env, l.volids[i], snapname, newid, full, storage, format, w,
			               &nv, err);
			if (r < 0)
				break;
			json_array_append_new(made, json_string(nv));
		}
		const char *old = guest_conf_get(conf, l.keys[i]);
		uint64_t size = 0;
		drive_size(l.keys[i], old, &size);
		value = k->disk_set_file(old, nv, size);
		if (format) {
			char *dropped = option_drop(value, "format");
			free(value);
			value = dropped;
		}
		guest_conf_set(conf, l.keys[i], value);
	}
	if (r == 0) {
		char key[24];
		vmid_key(newid, key);
		struct clone_write cw = {.k = k, .conf = conf};
		r = conf_family_update(guest_family(env->gs, k), key, NULL, write_clone, &cw, err);
	}
	if (r < 0) {
		guest_op_create_undo(w, env->gs, k, newid, made, pooled ? pool : NULL);
	} else {
		task_log(w, "%s %ld cloned to %ld", k->noun, vmid, newid);
	}
unlock:
	if (locked) {
		struct error *e = NULL;
		guest_lock_clear(env->gs, k, vmid, "clone", &e);
		error_free(e);
	}
	disk_list_clear(&l);
	return r;
}

/* ---- registration ------------------------------------------------------------ */

static int check_vmids(const json_t *args, struct error **err)
{
	long vmid = arg_long(args, "vmid");
	if (vmid < GUEST_VMID_MIN || vmid > GUEST_VMID_MAX)
		return error_set(err, -EINVAL, 400, "invalid vmid %ld", vmid);
	if (json_object_get(args, "newid")) {
		long newid = arg_long(args, "newid");
		if (newid < GUEST_VMID_MIN || newid > GUEST_VMID_MAX)
			return error_param(err, "newid", "invalid vmid");
	}
	const char *s = arg_str(args, "storage");
	if (s && !storeid_is_valid(s))
		return error_param(err, "storage", "invalid storage id");
	const char *sn = arg_str(args, "snapname");
	if (sn && !storage_snapname_valid(sn))
		return error_param(err, "snapname", "invalid snapshot name");
	const char *f = arg_str(args, "format");
	if (f && !streq(f, "raw") && !streq(f, "qcow2") && !streq(f, "vmdk"))
		return error_param(err, "format", "value is not one of raw, qcow2, vmdk");
	return 0;
}

static const struct task_op_arg template_args[] = {
    {.name = "vmid", .type = TASK_ARG_INTEGER},
    {.name = "disk", .type = TASK_ARG_STRING, .optional = true},
    {.name = NULL},
};

static const struct task_op_arg clone_args[] = {
    {.name = "vmid", .type = TASK_ARG_INTEGER},
    {.name = "newid", .type = TASK_ARG_INTEGER},
    {.name = "full", .type = TASK_ARG_BOOLEAN},
    {.name = "name", .type = TASK_ARG_STRING, .optional = true},
    {.name = "description", .type = TASK_ARG_STRING, .optional = true},
    {.name = "storage", .type = TASK_ARG_STRING, .optional = true},
    {.name = "format", .type = TASK_ARG_STRING, .optional = true},
    {.name = "pool", .type = TASK_ARG_STRING, .optional = true},
    {.name = "snapname", .type = TASK_ARG_STRING, .optional = true},
    {.name = NULL},
};

/* Every kind whose caps include the row's (qemu and lxc): the task type
 * is the kind's prefix and the name, qmclone/qmtemplate and
 * vzclone/vztemplate. */
const struct guest_op_def guest_clone_op_defs[] = {
    {.name = "template",
     .caps = GUEST_CAP_TEMPLATE,
     .args = template_args,
     .check = check_vmids,
     .run = op_template},
    {.name = "clone",
     .caps = GUEST_CAP_CLONE,
     .args = clone_args,
     .check = check_vmids,
     .run = op_clone},
    {.run = NULL},
};

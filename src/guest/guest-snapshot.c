/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A VM's snapshots (guest.h, "snapshots"): the list, the description of
 * one, and the task operations qmsnapshot, qmrollback and qmdelsnapshot.
 *
 * Each operation is PVE's AbstractConfig sequence: a config step under the
 * file lock (qemu_conf_snapshot_*(), conformance-tested), the volume
 * operations without it (the `lock:` key the first step wrote keeps every
 * other change away), then the closing config step.  A create that fails
 * after its first step undoes what it did: the volume snapshots taken are
 * deleted again and the section and the lock leave the config, so no half
 * snapshot stays (PVE's snapshot_create does the same through a forced
 * snapshot_delete).
 *
 * A running VM is paused (QMP stop, the kind's suspend slot) around the
 * volume snapshots so they are consistent with each other, and resumed
 * after, when no guest agent freezes its filesystems.  The RAM state
 * (vmstate=1) of a running VM goes to a state volume of its own
 * (guest-vmstate.c) while it is paused, after the volume snapshots: QEMU
 * 7.2 has no savevm-start (PVE's patch, which saves while the guest runs),
 * so the state is a migration into the volume.  A rollback to such a
 * snapshot starts the VM from that state; a delete frees the volume.
 */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* the comment of a snapshot: PVE's description bound (8 KiB) */
#define SNAP_COMMENT_MAX 8192

#define snap_env guest_ops_env

static const char *arg_str(const json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

static bool arg_bool(const json_t *args, const char *key, bool def)
{
	json_t *v = json_object_get(args, key);
	if (json_is_boolean(v))
		return json_is_true(v);
	return json_is_integer(v) ? json_integer_value(v) != 0 : def;
}

static long arg_vmid(const json_t *args)
{
	json_t *v = json_object_get(args, "vmid");
	return json_is_integer(v) ? (long)json_integer_value(v) : 0;
}

static void vmid_key(long vmid, char key[24])
{
	snprintf(key, 24, "%ld", vmid);
}

/* The volumes of a section a snapshot covers: its drives' volids, not
 * CD-ROMs, not "none", not host devices. */
static int collect_volume(const struct qemu_drive *d, void *userdata, struct error **err)
{
	(void)err;
	if (d->cdrom || !d->file || streq(d->file, "none") || d->file[0] == '/' ||
	    !strchr(d->file, ':'))
		return 0;
	strv_extend(userdata, d->file);
	return 0;
}

/* The drive keys of the same volumes, in the same order. */
static int collect_key(const struct qemu_drive *d, void *userdata, struct error **err)
{
	(void)err;
	if (d->cdrom || !d->file || streq(d->file, "none") || d->file[0] == '/' ||
	    !strchr(d->file, ':'))
		return 0;
	strv_extend(userdata, d->key);
	return 0;
}

static int snapshot_keys(const json_t *section, char ***ret, struct error **err)
{
	char **v = NULL;
	int r = qemu_conf_foreach_drive(section, false, collect_key, &v, err);
	if (r < 0) {
		strv_free(v);
		return r;
	}
	*ret = v;
	return 0;
}

/* Whether QEMU, not the storage, snapshots volid while the VM runs: a
 * qcow2 image is open and locked by QEMU, so its internal snapshot is
 * taken through QMP on the drive's node (PVE's qemu_volume_snapshot);
 * other volumes (btrfs raw) are snapshotted by the storage as usual. */
static bool snapshot_by_qemu(const char *volid)
{
	size_t n = strlen(volid);
	return n > 6 && streq(volid + n - 6, ".qcow2");
}

static int qmp_snapshot(struct guest_store *gs, long vmid, const char *key, const char *snap,
                        bool create, struct task_worker *w, struct error **err)
{
	struct qemu_run_env renv = {.run_root = guest_store_run_dir(gs), .w = w};
	char node[32];
	snprintf(node, sizeof(node), "drive-%s", key);
	_cleanup_json_ json_t *a = json_pack("{s:s, s:s}", "device", node, "name", snap);
	task_log(w, "%s internal snapshot '%s' of drive %s (QMP)", create ? "create" : "delete",
	         snap, key);
	return qemu_run_qmp(&renv, vmid,
	                    create ? "blockdev-snapshot-internal-sync"
	                           : "blockdev-snapshot-delete-internal-sync",
	                    a, 60 * 1000, NULL, err);
}

/* Whether the main section cur still has volid under key. */
static bool in_use(const struct guest_kind_ops *k, const json_t *cur, const char *key,
                   const char *volid)
{
	const char *v = json_string_value(json_object_get(cur, key));
	_cleanup_free_ char *file = v ? k->disk_file(key, v) : NULL;
	return file && streq(file, volid);
}

/* The volumes of section and their keys, in the same order, for kind k:
 * qemu's drives, or every key whose value the kind says is a volume
 * (a container's rootfs and volume mount points, not bind mounts). */
static int kind_volumes(const struct guest_kind_ops *k, const json_t *section, char ***ret_vols,
                        char ***ret_keys, struct error **err)
{
	if (streq(k->type, "qemu")) {
		int r = guest_snapshot_volumes(section, ret_vols, err);
		if (r == 0 && ret_keys)
			r = snapshot_keys(section, ret_keys, err);
		return r;
	}
	char **vols = NULL, **keys = NULL;
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)section, key, v) {
		_cleanup_free_ char *file = json_is_string(v) && k->disk_file
		                                ? k->disk_file(key, json_string_value(v))
		                                : NULL;
		if (!file || file[0] == '/' || !strchr(file, ':'))
			continue;
		strv_extend(&vols, file);
		strv_extend(&keys, key);
	}
	*ret_vols = vols;
	if (ret_keys)
		*ret_keys = keys;
	else
		strv_free(keys);
	return 0;
}

int guest_snapshot_volumes(const json_t *section, char ***ret, struct error **err)
{
	char **v = NULL;
	int r = qemu_conf_foreach_drive(section, false, collect_volume, &v, err);
	if (r < 0) {
		strv_free(v);
		return r;
	}
	*ret = v;
	return 0;
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

enum vol_snap_op { VOL_SNAP_CREATE, VOL_SNAP_ROLLBACK, VOL_SNAP_DELETE };

static int volume_snapshot(struct guest_store *gs, const char *volid, const char *snap,
                           enum vol_snap_op op, struct task_worker *w, struct error **err)
{
	_cleanup_(storage_freep) struct storage *st = NULL;
	_cleanup_free_ char *volname = NULL;
	int r = open_volid(gs, volid, &st, &volname, err);
	if (r < 0)
		return r;
	switch (op) {
	case VOL_SNAP_CREATE:
		task_log(w, "snapshotting '%s'", volid);
		return storage_snapshot_create(st, volname, snap, w, err);
	case VOL_SNAP_ROLLBACK:
		task_log(w, "rollback '%s' to snapshot '%s'", volid, snap);
		return storage_snapshot_rollback(st, volname, snap, w, err);
	case VOL_SNAP_DELETE:
		task_log(w, "delete snapshot '%s' of '%s'", snap, volid);
		return storage_snapshot_delete(st, volname, snap, w, err);
	}
	return -EINVAL;
}

/* PVE's has_feature('snapshot'): every volume on a storage that can take
 * snapshots at all (the backend refuses a format without them, e.g. raw
 * on a directory, which the create then reports the same way). */
static int check_snapshot_feature(struct guest_store *gs, char **vols, struct error **err)
{
	for (char **v = vols; v && *v; v++) {
		_cleanup_(storage_freep) struct storage *st = NULL;
		_cleanup_free_ char *volname = NULL;
		struct error *e = NULL;
		int r = open_volid(gs, *v, &st, &volname, &e);
		error_free(e);
		if (r < 0 || !(st->be->caps & STORAGE_CAP_SNAPSHOT) || !st->be->snapshot_create)
			return error_set(err, -EOPNOTSUPP, 500,
			                 "snapshot feature is not available");
	}
	return 0;
}

/* ---- the config steps, each one update under the file lock -------------- */

struct step {
	const char *name;
	const struct guest_snapshot_rules *rules;
	const struct guest_snapshot_opts *opts;
	int (*fn)(const struct guest_snapshot_rules *k, struct guest_conf *c, const char *name,
	          struct error **err);
	/* undo of a failed create: the section and the snapshot lock go */
	bool drop;
	const char *description; /* PUT .../snapshot/{x}/config */
};

static int run_step(void *obj, void *arg, struct error **err)
{
	struct guest_conf *c = obj;
	const struct step *s = arg;
	if (s->opts)
		return guest_conf_snapshot_prepare(s->rules, c, s->name, s->opts, err);
	if (s->drop) {
		json_object_del(c->snapshots, s->name);
		if (streq_ptr(guest_conf_get(c->conf, "lock"), "snapshot"))
			guest_conf_set(c->conf, "lock", NULL);
		return 0;
	}
	if (s->description) {
		json_t *snap = json_object_get(c->snapshots, s->name);
		if (!snap)
			return error_set(err, -ENOENT, 500, "snapshot '%s' does not exist",
			                 s->name);
		guest_conf_set(snap, "description", *s->description ? s->description : NULL);
		return 0;
	}
	return s->fn(s->rules, c, s->name, err);
}

static int step(struct snap_env *env, long vmid, struct step *s, struct error **err)
{
	s->rules = env->kind->snapshot_rules;
	if (!s->rules)
		return error_set(err, -EOPNOTSUPP, 500, "snapshot feature is not available");
	char key[24];
	vmid_key(vmid, key);
	return conf_family_update(guest_family(env->gs, env->kind), key, NULL, run_step, s, err);
}

/* A copy of snapshot name's section (or the main one with name NULL) as
 * the file holds it now. */
static int section_now(struct snap_env *env, long vmid, const char *name, json_t **ret,
                       struct error **err)
{
	struct guest g = {0};
	int r = guest_get(env->gs, env->kind, vmid, &g, err);
	if (r < 0)
		return r;
	const json_t *s = g.conf;
	if (name) {
		json_t *snaps = env->kind->snapshot_sections(conf_snapshot_data(g.snap));
		s = json_object_get(snaps, name);
	}
	if (!s) {
		guest_release(&g);
		return error_set(err, -ENOENT, 500, "snapshot '%s' does not exist",
		                 name ? name : "current");
	}
	*ret = json_deep_copy(s);
	guest_release(&g);
	return 0;
}

/* Whether the VM runs and is not paused already (then it is paused around
 * the volume snapshots). */
static bool vm_active(struct snap_env *env, const struct guest *g, bool *ret_running)
{
	bool running = false;
	struct error *e = NULL;
	if (guest_is_running(env->gs, env->kind, g->vmid, &running, NULL, &e) < 0)
		running = false;
	error_free(e);
	*ret_running = running;
	if (!running || !env->kind->status)
		return running;
	json_t *st = NULL;
	bool active = true;
	if (env->kind->status(env->gs, g, &st, &e) == 0) {
		const char *q = json_string_value(json_object_get(st, "qmpstatus"));
		active = !q || streq(q, "running");
	}
	error_free(e);
	json_decref(st);
	return active;
}

/* ---- qmsnapshot {vmid, snapname, [description], [vmstate]} --------------- */

static int op_snapshot(struct task_worker *w, const json_t *args, struct error **err)
{
	struct snap_env *env = task_worker_env(w);
	const struct guest_kind_ops *k = env->kind;
	long vmid = arg_vmid(args);
	const char *name = arg_str(args, "snapname");
	struct guest g = {0};
	_cleanup_strv_free_ char **vols = NULL;
	_cleanup_strv_free_ char **done = NULL;
	_cleanup_strv_free_ char **keys = NULL;
	_cleanup_strv_free_ char **done_keys = NULL;
	_cleanup_json_ json_t *sec = NULL;
	_cleanup_free_ char *vmstate = NULL;
	bool running = false, paused = false;
	struct guest_snapshot_opts o = {.snaptime = (long long)time(NULL),
	                                .comment = arg_str(args, "description")};
	struct step prep = {.name = name, .opts = &o};

	int r = guest_get(env->gs, k, vmid, &g, err);
	if (r < 0)
		return r;
	bool active = vm_active(env, &g, &running);
	r = kind_volumes(k, g.conf, &vols, NULL, err);
	if (r == 0)
		r = check_snapshot_feature(env->gs, vols, err);
	if (r < 0)
		goto out;
	/* PVE's __snapshot_save_vmstate: the RAM of a running VM goes to a
	 * state volume of its own, named after the snapshot */
	if (running && arg_bool(args, "vmstate", false)) {
		_cleanup_free_ char *sid = NULL;
		r = guest_vmstate_storage(env->gs, k, g.conf, &sid, err);
		if (r == 0)
			r = guest_vmstate_alloc(env->gs, k, vmid, g.conf, sid, name, w, &vmstate,
			                        err);
		if (r < 0)
			goto out;
		o.vmstate = vmstate;
	}

	r = step(env, vmid, &prep, err);
	if (r < 0)
		goto out;
	/* the volumes of the section as prepared (the config may have changed
	 * between the early read and the lock) */
	strv_free(vols);
	vols = NULL;
	r = section_now(env, vmid, name, &sec, err);
	if (r == 0)
		r = kind_volumes(k, sec, &vols, &keys, err);

	if (r == 0 && active && k->suspend) {
		task_log(w, "pausing the VM for consistent volume snapshots");
		r = k->suspend(env->gs, &g, w, err);
		paused = r == 0;
	}
	for (size_t i = 0; r == 0 && vols && vols[i]; i++) {
		if (running && snapshot_by_qemu(vols[i]))
			r = qmp_snapshot(env->gs, vmid, keys[i], name, true, w, err);
		else
			r = volume_snapshot(env->gs, vols[i], name, VOL_SNAP_CREATE, w, err);
		if (r == 0) {
			strv_extend(&done, vols[i]);
			strv_extend(&done_keys, keys[i]);
		}
	}
	/* the disks are snapshotted (the VM paused): its state now, which
	 * leaves it paused as well */
	if (r == 0 && vmstate)
		r = guest_vmstate_save(env->gs, &g, vmstate, false, w, err);
	if (paused) {
		struct error *e = NULL;
		if (k->resume(env->gs, &g, w, &e) < 0)
			task_warn(w, "unable to resume the VM: %s", e ? e->msg : "?");
		error_free(e);
	}
	if (r == -EOPNOTSUPP && err && *err) {
		task_log(w, "%s", (*err)->msg);
		error_free(*err);
		*err = NULL;
		r = error_set(err, -EOPNOTSUPP, 500, "snapshot feature is not available");
	}
	if (r == 0) {
		struct step commit = {.name = name, .fn = guest_conf_snapshot_commit};
		r = step(env, vmid, &commit, err);
	}
	if (r < 0) {
		/* undo: the volume snapshots taken, then the section and the lock */
		size_t n = strv_length(done);
		for (size_t i = n; i-- > 0;) {
			struct error *e = NULL;
			int q =
			    running && snapshot_by_qemu(done[i])
			        ? qmp_snapshot(env->gs, vmid, done_keys[i], name, false, w, &e)
			        : volume_snapshot(env->gs, done[i], name, VOL_SNAP_DELETE, w, &e);
			if (q < 0)
				task_warn(w, "unable to delete snapshot '%s' of '%s': %s", name,
				          done[i], e ? e->msg : "?");
			error_free(e);
		}
		struct step drop = {.name = name, .drop = true};
		struct error *e = NULL;
		step(env, vmid, &drop, &e);
		e = error_free(e);
	}
out:
	if (r < 0 && vmstate) {
		struct error *e = NULL;
		if (guest_volume_free(env->gs, vmstate, w, &e) < 0)
			task_warn(w, "%s", e ? e->msg : "unable to free the state volume");
		error_free(e);
	}
	guest_release(&g);
	return r;
}

/* ---- qmdelsnapshot {vmid, snapname, [force]} ----------------------------- */

static int op_delsnapshot(struct task_worker *w, const json_t *args, struct error **err)
{
	struct snap_env *env = task_worker_env(w);
	long vmid = arg_vmid(args);
	const char *name = arg_str(args, "snapname");
	bool force = arg_bool(args, "force", false);
	_cleanup_strv_free_ char **vols = NULL;
	_cleanup_strv_free_ char **keys = NULL;
	_cleanup_json_ json_t *sec = NULL;
	bool running = false;

	struct step prep = {.name = name, .fn = guest_conf_snapshot_delete_prepare};
	int r = step(env, vmid, &prep, err);
	if (r == 0)
		r = section_now(env, vmid, name, &sec, err);
	if (r == 0)
		r = kind_volumes(env->kind, sec, &vols, &keys, err);
	if (r == 0)
		r = guest_is_running(env->gs, env->kind, vmid, &running, NULL, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *cur = NULL;
	if (running)
		r = section_now(env, vmid, NULL, &cur, err);
	if (r < 0)
		return r;
	for (size_t i = 0; vols && vols[i]; i++) {
		struct error *e = NULL;
		/* QEMU has the image open when the running VM still uses it
		 * under the same key */
		if (running && snapshot_by_qemu(vols[i]) &&
		    in_use(env->kind, cur, keys[i], vols[i]))
			r = qmp_snapshot(env->gs, vmid, keys[i], name, false, w, &e);
		else
			r = volume_snapshot(env->gs, vols[i], name, VOL_SNAP_DELETE, w, &e);
		if (r < 0 && !force) {
			*err = e;
			/* as PVE: the section stays with snapstate=delete; a forced
			 * delete removes it */
			return r;
		}
		if (r < 0)
			task_warn(w, "%s", e ? e->msg : "unable to delete volume snapshot");
		error_free(e);
	}
	const char *vmstate = guest_conf_get(sec, "vmstate");
	if (vmstate) {
		struct error *e = NULL;
		if (guest_volume_free(env->gs, vmstate, w, &e) < 0) {
			if (!force) {
				*err = e;
				return -EIO;
			}
			task_warn(w, "%s", e ? e->msg : "unable to free the vmstate volume");
		}
		error_free(e);
	}
	struct step fin = {.name = name, .fn = guest_conf_snapshot_delete_finish};
	return step(env, vmid, &fin, err);
}

/* ---- qmrollback {vmid, snapname, [start]} -------------------------------- */

static int op_rollback(struct task_worker *w, const json_t *args, struct error **err)
{
	struct snap_env *env = task_worker_env(w);
	const struct guest_kind_ops *k = env->kind;
	long vmid = arg_vmid(args);
	const char *name = arg_str(args, "snapname");
	_cleanup_strv_free_ char **vols = NULL;
	_cleanup_json_ json_t *sec = NULL;

	struct step prep = {.name = name, .fn = guest_conf_snapshot_rollback_prepare};
	int r = step(env, vmid, &prep, err);
	if (r < 0)
		return r;
	r = section_now(env, vmid, name, &sec, err);
	if (r == 0)
		r = kind_volumes(k, sec, &vols, NULL, err);
	struct guest g = {0};
	bool running = false;
	if (r == 0)
		r = guest_get(env->gs, k, vmid, &g, err);
	if (r == 0)
		r = guest_is_running(env->gs, k, vmid, &running, NULL, err);
	/* as PVE: a running VM is stopped first */
	if (r == 0 && running && k->stop) {
		task_log(w, "stopping the VM before the rollback");
		r = k->stop(env->gs, &g, 0, w, err);
	}
	guest_release(&g);
	size_t rolled = 0;
	for (char **v = vols; r == 0 && v && *v; v++) {
		r = volume_snapshot(env->gs, *v, name, VOL_SNAP_ROLLBACK, w, err);
		if (r == 0)
			rolled++;
	}
	if (r < 0) {
		/* nothing changed yet: the lock goes; after a volume was rolled
		 * back the VM stays locked as PVE leaves it (`qm unlock`) */
		if (!rolled) {
			struct error *e = NULL;
			guest_lock_clear(env->gs, k, vmid, "rollback", &e);
			error_free(e);
		}
		return r;
	}
	struct step fin = {.name = name, .fn = guest_conf_snapshot_rollback_finish};
	r = step(env, vmid, &fin, err);
	/* a snapshot with RAM comes back running where it was (PVE starts
	 * it from the state whatever `start` says) */
	const char *vmstate = guest_conf_get(sec, "vmstate");
	if (r == 0 && (vmstate || arg_bool(args, "start", false))) {
		r = guest_get(env->gs, k, vmid, &g, err);
		if (r == 0 && vmstate) {
			r = guest_vmstate_start(env->gs, &g, vmstate, w, err);
		} else if (r == 0 && k->start) {
			task_log(w, "starting the VM after the rollback");
			r = k->start(env->gs, &g, 0, w, err);
		}
		guest_release(&g);
	}
	return r;
}

/* ---- reading and describing snapshots ----------------------------------- */

int guest_snapshot_list(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                        json_t **ret, struct error **err)
{
	struct guest g = {0};
	int r = guest_get(gs, k, vmid, &g, err);
	if (r < 0)
		return r;
	bool running = false;
	struct error *e = NULL;
	if (guest_is_running(gs, k, vmid, &running, NULL, &e) < 0)
		running = false;
	error_free(e);
	json_t *a = json_array();
	json_t *snaps =
	    k->snapshot_sections ? k->snapshot_sections(conf_snapshot_data(g.snap)) : NULL;
	const char *name;
	json_t *s;
	json_object_foreach (snaps, name, s) {
		json_t *o = json_pack("{s:s}", "name", name);
		const char *t = guest_conf_get(s, "snaptime");
		if (t)
			json_object_set_new(o, "snaptime", json_integer(strtoll(t, NULL, 10)));
		const char *d = guest_conf_get(s, "description");
		json_object_set_new(o, "description", json_string(d ? d : ""));
		const char *p = guest_conf_get(s, "parent");
		if (p)
			json_object_set_new(o, "parent", json_string(p));
		if (guest_conf_get(s, "vmstate"))
			json_object_set_new(o, "vmstate", json_integer(1));
		json_array_append_new(a, o);
	}
	json_t *cur =
	    json_pack("{s:s, s:s, s:i, s:s}", "name", "current", "description", "You are here!",
	              "running", running ? 1 : 0, "digest", conf_snapshot_digest(g.snap));
	const char *p = guest_conf_get(g.conf, "parent");
	if (p)
		json_object_set_new(cur, "parent", json_string(p));
	json_array_append_new(a, cur);
	guest_release(&g);
	*ret = a;
	return 0;
}

int guest_snapshot_set_description(struct guest_store *gs, const struct guest_kind_ops *k,
                                   long vmid, const char *snapname, const char *description,
                                   struct error **err)
{
	if (strlen(description) > SNAP_COMMENT_MAX)
		return error_param(err, "description", "value may only be 8192 characters long");
	struct snap_env env = {.gs = gs, .kind = k};
	struct step s = {.name = snapname, .description = description};
	return step(&env, vmid, &s, err);
}

/* ---- registration --------------------------------------------------------- */

static int check_args(const json_t *args, struct error **err)
{
	long vmid = arg_vmid(args);
	if (vmid < GUEST_VMID_MIN || vmid > GUEST_VMID_MAX)
		return error_set(err, -EINVAL, 400, "invalid vmid %ld", vmid);
	const char *name = arg_str(args, "snapname");
	if (!name || !storage_snapname_valid(name))
		return error_param(err, "snapname",
		                   "invalid format - value does not match the regex");
	const char *d = arg_str(args, "description");
	if (d && strlen(d) > SNAP_COMMENT_MAX)
		return error_param(err, "description", "value may only be 8192 characters long");
	return 0;
}

static const struct task_op_arg snapshot_args[] = {
    {.name = "vmid", .type = TASK_ARG_INTEGER},
    {.name = "snapname", .type = TASK_ARG_STRING},
    {.name = "description", .type = TASK_ARG_STRING, .optional = true},
    {.name = "vmstate", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = "force", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = "start", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = NULL},
};

/* qemu's only until the bodies read a container's mount points (they walk
 * qemu drives and QMP): vzsnapshot & co. come with that. */
const struct guest_op_def guest_snapshot_op_defs[] = {
    {.name = "snapshot",
     .caps = GUEST_CAP_SNAPSHOT,
     .args = snapshot_args,
     .check = check_args,
     .run = op_snapshot},
    {.name = "delsnapshot",
     .caps = GUEST_CAP_SNAPSHOT,
     .args = snapshot_args,
     .check = check_args,
     .run = op_delsnapshot},
    {.name = "rollback",
     .caps = GUEST_CAP_SNAPSHOT,
     .args = snapshot_args,
     .check = check_args,
     .run = op_rollback},
    {.run = NULL},
};

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A guest's RAM and device state on a volume of its own (guest.h, "state
 * volumes"): suspend to disk and the start that resumes from it, as PVE's
 * vm_suspend (todisk) and vm_start of a suspended VM.
 *
 * The volume is vm-<vmid>-state-<name> (".raw" on storages with a path),
 * raw, sized as PVE's __snapshot_save_vmstate sizes it: twice the memory
 * plus 500 MiB for the device state.  The storage layer allocates and
 * frees it; the kind's save_state/start_state slots write and read it
 * through a descriptor opened here (the worker is root, QEMU gets the fd).
 *
 * Suspend (PVE's order): the volume, then `lock: suspending` and `vmstate`
 * in the config, the save, then `lock: suspended`.  A save that fails
 * frees the volume and drops `vmstate`; the lock stays `suspending`, as
 * PVE leaves it "to indicate something went wrong" (`qm unlock`).  The
 * start of a suspended guest loads the state, then frees the volume and
 * drops `vmstate` and the lock; pending changes wait for the next cold
 * start, as in PVE.  The caller holds the config's file lock throughout.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>

#include "config-store.h"
#include "error.h"
#include "guest-conf.h"
#include "guest.h"
#include "jsonutil.h"
#include "section-config.h"
#include "storage-ops.h"
#include "storage.h"
#include "task.h"
#include "volid.h"
#include "xalloc.h"

#define DRIVER_STATE_MIB 500

/* PVE's find_vmstate_storage: vmstatestorage, else a shared storage one
 * of the disks is on, else a local one (those with a path preferred),
 * else "local". */
int guest_vmstate_storage(struct guest_store *gs, const struct guest_kind_ops *k,
                          const json_t *conf, char **ret, struct error **err)
{
	const char *set = guest_conf_get(conf, "vmstatestorage");
	if (set) {
		*ret = xstrdup(set);
		return 0;
	}
	_cleanup_free_ char *shared = NULL, *local = NULL;
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)conf, key, v) {
		if (!json_is_string(v))
			continue;
		/* the guest's disks, not its CD-ROMs (PVE's
		 * foreach_storage_used_by_vm) */
		_cleanup_free_ char *file = k->detached_volume
		                                ? k->detached_volume(key, json_string_value(v))
		                            : k->disk_file ? k->disk_file(key, json_string_value(v))
		                                           : NULL;
		const char *colon = file ? strchr(file, ':') : NULL;
		if (!colon)
			continue;
		_cleanup_free_ char *sid = xstrndup(file, (size_t)(colon - file));
		_cleanup_(storage_freep) struct storage *st = NULL;
		struct error *e = NULL;
		if (storage_load_open_enabled(guest_store_storage(gs), guest_store_node(gs), sid,
		                              &st, &e) < 0) {
			error_free(e);
			continue;
		}
		bool is_shared = streq_ptr(section_get(st->cfg, "shared"), "1");
		char **dst = is_shared ? &shared : &local;
		if (!*dst || st->path) {
			free(*dst);
			*dst = xstrdup(sid);
		}
	}
	*ret = xstrdup(shared ? shared : local ? local : "local");
	(void)err;
	return 0;
}

int guest_vmstate_alloc(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                        const json_t *conf, const char *storeid, const char *name,
                        struct task_worker *w, char **ret_volid, struct error **err)
{
	_cleanup_(storage_freep) struct storage *st = NULL;
	int r = storage_load_open_enabled(guest_store_storage(gs), guest_store_node(gs), storeid,
	                                  &st, err);
	if (r == 0)
		r = storage_activate(st, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *sum = json_object();
	k->summary(vmid, conf, sum);
	json_int_t mem = json_integer_value(json_object_get(sum, "maxmem"));
	uint64_t size = (uint64_t)(mem > 0 ? mem : 0) * 2 + ((uint64_t)DRIVER_STATE_MIB << 20);
	_cleanup_free_ char *vname =
	    xasprintf("vm-%ld-state-%s%s", vmid, name, st->path ? ".raw" : "");
	_cleanup_free_ char *volname = NULL;
	if (w)
		task_log(w, "allocating the state volume: %llu bytes on '%s'",
		         (unsigned long long)size, storeid);
	r = storage_alloc(st, vmid, "raw", vname, size, w, &volname, err);
	if (r < 0)
		return r;
	*ret_volid = xasprintf("%s:%s", storeid, volname);
	return 0;
}

/* A descriptor on volid's file or device (flags: O_RDONLY or O_WRONLY). */
static int vmstate_open(struct guest_store *gs, const char *volid, int flags, int *ret_fd,
                        struct error **err)
{
	struct volid v = {0};
	int r = volid_parse(volid, &v, err);
	if (r < 0)
		return r;
	_cleanup_(storage_freep) struct storage *st = NULL;
	_cleanup_free_ char *path = NULL;
	r = storage_load_open_enabled(guest_store_storage(gs), guest_store_node(gs), v.storeid, &st,
	                              err);
	if (r == 0)
		r = storage_activate(st, err);
	if (r == 0)
		r = storage_path(st, v.volname, &path, err);
	volid_clear(&v);
	if (r < 0)
		return r;
	int fd = open(path, flags | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return error_set(err, -errno, 500, "unable to open the state volume '%s' - %s",
		                 volid, strerror(errno));
	*ret_fd = fd;
	return 0;
}

int guest_vmstate_save(struct guest_store *gs, const struct guest *g, const char *volid, bool quit,
                       struct task_worker *w, struct error **err)
{
	if (!g->kind->save_state)
		return error_set(err, -EOPNOTSUPP, 500, "%s %ld: no state to disk", g->kind->noun,
		                 g->vmid);
	int fd = -1;
	int r = vmstate_open(gs, volid, O_WRONLY, &fd, err);
	if (r < 0)
		return r;
	r = g->kind->save_state(gs, g, fd, quit, w, err);
	close(fd);
	return r;
}

int guest_vmstate_start(struct guest_store *gs, const struct guest *g, const char *volid,
                        struct task_worker *w, struct error **err)
{
	if (!g->kind->start_state)
		return error_set(err, -EOPNOTSUPP, 500, "%s %ld: no state to disk", g->kind->noun,
		                 g->vmid);
	int fd = -1;
	int r = vmstate_open(gs, volid, O_RDONLY, &fd, err);
	if (r < 0)
		return r;
	task_log(w, "starting %s %ld from the state '%s'", g->kind->noun, g->vmid, volid);
	r = g->kind->start_state(gs, g, fd, w, err);
	close(fd);
	return r;
}

struct conf_edit {
	const char *set[4][2]; /* key, value (NULL: delete) */
};

/* Sets and deletes keys of the main section; the caller holds the file
 * lock (guest_config_lock()). */
static int conf_edit_locked(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                            const struct conf_edit *c, struct error **err)
{
	char key[24];
	snprintf(key, sizeof(key), "%ld", vmid);
	struct conf_file *f = NULL;
	int r = conf_family_file(guest_family(gs, k), key, &f, err);
	if (r < 0)
		return r;
	void *obj = NULL;
	char digest[41];
	r = conf_file_load(f, &obj, digest, err);
	if (r == 0) {
		json_t *conf = k->main_section(obj);
		for (size_t i = 0; i < ARRAY_SIZE(c->set) && c->set[i][0]; i++)
			guest_conf_set(conf, c->set[i][0], c->set[i][1]);
		r = conf_file_write(f, digest, obj, err);
	}
	if (obj)
		k->conf_ops->free(obj);
	conf_file_unref(f);
	return r;
}

int guest_suspend_todisk_locked(struct guest_store *gs, const struct guest *g,
                                const char *statestorage, struct task_worker *w, struct error **err)
{
	const struct guest_kind_ops *k = g->kind;
	if (!k->save_state)
		return error_set(err, -EOPNOTSUPP, 500, "suspend of a %s guest is not supported",
		                 k->type);
	_cleanup_free_ char *storeid = NULL;
	int r = statestorage ? (storeid = xstrdup(statestorage), 0)
	                     : guest_vmstate_storage(gs, k, g->conf, &storeid, err);
	if (r < 0)
		return r;
	char date[16];
	time_t now = time(NULL);
	struct tm tm;
	strftime(date, sizeof(date), "%Y-%m-%d", localtime_r(&now, &tm));
	_cleanup_free_ char *name = xasprintf("suspend-%s", date);
	_cleanup_free_ char *volid = NULL;
	r = guest_vmstate_alloc(gs, k, g->vmid, g->conf, storeid, name, w, &volid, err);
	if (r < 0)
		return r;
	struct conf_edit suspending = {{{"lock", "suspending"}, {"vmstate", volid}}};
	r = conf_edit_locked(gs, k, g->vmid, &suspending, err);
	if (r == 0)
		r = guest_vmstate_save(gs, g, volid, true, w, err);
	if (r < 0) {
		struct error *e = NULL;
		if (guest_volume_free(gs, volid, w, &e) < 0)
			task_warn(w, "%s", e ? e->msg : "unable to free the state volume");
		e = error_free(e);
		struct conf_edit drop = {{{"vmstate", NULL}}};
		if (conf_edit_locked(gs, k, g->vmid, &drop, &e) < 0)
			task_warn(w, "%s", e ? e->msg : "unable to update the config");
		error_free(e);
		return r;
	}
	task_log(w, "state saved, quitting");
	struct conf_edit suspended = {{{"lock", "suspended"}}};
	return conf_edit_locked(gs, k, g->vmid, &suspended, err);
}

int guest_start_state_locked(struct guest_store *gs, const struct guest *g, struct task_worker *w,
                             struct error **err)
{
	const struct guest_kind_ops *k = g->kind;
	const char *volid = guest_conf_get(g->conf, "vmstate");
	if (!volid || !k->start_state)
		return error_set(err, -EINVAL, 500, "%s %ld has no saved state", k->noun, g->vmid);
	_cleanup_free_ char *vol = xstrdup(volid);
	int r = guest_vmstate_start(gs, g, vol, w, err);
	if (r < 0)
		return r;
	struct error *e = NULL;
	if (guest_volume_free(gs, vol, w, &e) < 0)
		task_warn(w, "%s", e ? e->msg : "unable to free the state volume");
	error_free(e);
	struct conf_edit resumed = {{{"lock", NULL}, {"vmstate", NULL}}};
	return conf_edit_locked(gs, k, g->vmid, &resumed, err);
}

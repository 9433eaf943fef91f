/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* A guest's volumes: allocation at create, freeing at destroy (guest.h). */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config-store.h"
#include "error.h"
#include "guest.h"
#include "jsonutil.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-ops.h"
#include "storage.h"
#include "task.h"
#include "volid.h"
#include "xalloc.h"

#define GIB (1024ull * 1024 * 1024)
/* the largest disk a "storage:size" may ask for: 128 TiB, PVE's bound */
#define NEW_DISK_MAX_GIB (128ull * 1024)

/* "storage:size" -> storage id and bytes; false for anything else. */
static bool parse_new_disk(const char *file, char **ret_storeid, uint64_t *ret_size)
{
	const char *colon = strchr(file, ':');
	if (!colon || colon == file)
		return false;
	const char *p = colon + 1;
	char *end = NULL;
	if (!*p || strspn(p, "0123456789.") != strlen(p))
		return false;
	double gib = strtod(p, &end);
	/* 0 only with import-from= (the size is the source's) */
	if (!end || *end || gib < 0 || gib > (double)NEW_DISK_MAX_GIB)
		return false;
	_cleanup_free_ char *id = xstrndup(file, (size_t)(colon - file));
	if (!storeid_is_valid(id))
		return false;
	*ret_storeid = TAKE_PTR(id);
	*ret_size = (uint64_t)(gib * (double)GIB);
	return true;
}

/* The value of option opt in a property string, malloc'd, or NULL. */
static char *option_of(const char *value, const char *opt)
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

int guest_volume_free(struct guest_store *gs, const char *volid, struct task_worker *w,
                      struct error **err)
{
	_cleanup_(storage_freep) struct storage *st = NULL;
	_cleanup_free_ char *volname = NULL;
	int r = open_volid(gs, volid, &st, &volname, err);
	if (r == 0)
		r = storage_free_volume(st, volname, w, err);
	return r;
}

static void free_allocated(struct guest_store *gs, json_t *allocated, size_t from,
                           struct task_worker *w)
{
	for (size_t i = json_array_size(allocated); i-- > from;) {
		const char *volid = json_string_value(json_array_get(allocated, i));
		struct error *e = NULL;
		if (guest_volume_free(gs, volid, w, &e) < 0 && w)
			task_warn(w, "unable to free volume '%s': %s", volid, e ? e->msg : "?");
		error_free(e);
		json_array_remove(allocated, i);
	}
}

/* One new disk: allocate (or copy the import source), then the value. */
static int allocate_one(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                        const char *key, const char *value, const char *storeid, uint64_t size,
                        struct task_worker *w, char **ret_value, char **ret_volid,
                        struct error **err)
{
	_cleanup_(storage_freep) struct storage *st = NULL;
	int r = storage_load_open_enabled(guest_store_storage(gs), guest_store_node(gs), storeid,
	                                  &st, err);
	if (r < 0)
		return r;
	r = storage_activate(st, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *fmt = option_of(value, "format");
	if (fmt && !storage_backend_has_format(st->be, fmt))
		return error_set(err, -EINVAL, 400, "unsupported format '%s' on storage '%s'", fmt,
		                 storeid);
	const char *format = fmt ? fmt : image_format_to_string(st->be->default_format);
	/* a container's tree: PVE's alloc_disk of PVE::LXC */
	bool tree = k->format_volume != NULL;
	if (tree) {
		bool subvol = (st->be->caps & STORAGE_CAP_SUBVOL) &&
		              (size == 0 || (st->be->caps & STORAGE_CAP_SUBVOL_SIZE));
		if (!subvol && size == 0)
			return error_set(err, -EINVAL, 400,
			                 "%s: a volume of size 0 needs a storage with subvolumes "
			                 "(dir, btrfs, zfspool)",
			                 key);
		format = subvol ? "subvol" : "raw";
	}
	_cleanup_free_ char *import = option_of(value, "import-from");
	_cleanup_free_ char *volname = NULL;
	_cleanup_free_ char *template = NULL;
	int fixed = 0;
	if (!import && !tree && k->fixed_disk &&
	    (fixed = k->fixed_disk(key, value, &size, &template, err)) < 0)
		return fixed;
	if (fixed && template) {
		/* in the storage's default format as PVE's create_efidisk, not
		 * the template's (raw) */
		if (w)
			task_log(w, "allocating %s from '%s' on '%s'", key, template, storeid);
		r = storage_import_file(st, template, format, vmid, w, &volname, &size, err);
	} else if (import && import[0] == '/') {
		/* a host file, root's only (qemu_needs_root()) */
		if (tree)
			return error_set(err, -EINVAL, 400,
			                 "%s: import-from a file is for VM disks only", key);
		if (w)
			task_log(w, "importing '%s' into a new disk of %s on '%s'", import, key,
			         storeid);
		r = storage_import_file(st, import, fmt, vmid, w, &volname, &size, err);
	} else if (import) {
		_cleanup_(storage_freep) struct storage *src = NULL;
		_cleanup_free_ char *src_volname = NULL;
		r = open_volid(gs, import, &src, &src_volname, err);
		if (r == 0)
			r = storage_activate(src, err);
		struct storage_volume info = {0};
		if (r == 0)
			r = storage_info(src, src_volname, &info, err);
		if (r == 0) {
			size = info.size;
			storage_volume_clear(&info);
			if (w)
				task_log(w, "importing '%s' into a new disk of %s on '%s'", import,
				         key, storeid);
			r = storage_copy(src, src_volname, st, NULL, vmid, w, &volname, err);
		}
	} else if (size == 0 && !tree && !fixed) {
		return error_set(err, -EINVAL, 400, "%s: a new disk of size 0", key);
	} else {
		bool no_size =
		    tree && streq(format, "subvol") && !(st->be->caps & STORAGE_CAP_SUBVOL_SIZE);
		if (w)
			task_log(w, "allocating %s: %llu bytes (%s) on '%s'", key,
			         (unsigned long long)size, format, storeid);
		r = storage_alloc(st, vmid, format, NULL, no_size ? 0 : size, w, &volname, err);
		if (r == 0 && tree && streq(format, "raw")) {
			_cleanup_free_ char *path = NULL;
			r = storage_path(st, volname, &path, err);
			if (r == 0)
				r = k->format_volume(path, w, err);
			if (r < 0) {
				struct error *e = NULL;
				storage_free_volume(st, volname, w, &e);
				error_free(e);
				return r;
			}
		}
	}
	if (r < 0)
		return r;
	_cleanup_free_ char *volid = xasprintf("%s:%s", storeid, volname);
	_cleanup_free_ char *clean = option_drop(value, "import-from");
	char *tmp = option_drop(clean, "format");
	free(clean);
	clean = tmp;
	/* unusedN holds the bare volid (an import's target) */
	if (str_startswith(key, "unused"))
		*ret_value = xstrdup(volid);
	else
		*ret_value = k->disk_set_file(clean, volid, size);
	*ret_volid = TAKE_PTR(volid);
	return 0;
}

int guest_disks_allocate(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                         json_t *set, struct task_worker *w, json_t *allocated, struct error **err)
{
	if (!k->disk_file)
		return 0;
	size_t from = json_array_size(allocated);
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe (set, tmp, key, v) {
		const char *value = json_string_value(v);
		_cleanup_free_ char *file = value ? k->disk_file(key, value) : NULL;
		_cleanup_free_ char *storeid = NULL;
		uint64_t size = 0;
		if (!file || !parse_new_disk(file, &storeid, &size)) {
			if (file && strstr(value, "import-from=")) {
				free_allocated(gs, allocated, from, w);
				return error_param(err, key,
				                   "import-from needs a new disk: <storage>:0");
			}
			continue;
		}
		char *nv = NULL, *volid = NULL;
		int r = allocate_one(gs, k, vmid, key, value, storeid, size, w, &nv, &volid, err);
		if (r < 0) {
			free_allocated(gs, allocated, from, w);
			return r;
		}
		json_array_append_new(allocated, json_string(volid));
		json_object_set_new(set, key, json_string(nv));
		free(nv);
		free(volid);
	}
	return 0;
}

bool guest_volume_owned(struct guest_store *gs, long vmid, const char *volid)
{
	struct volid parsed = {0};
	if (volid_parse(volid, &parsed, NULL) < 0)
		return false;
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap = NULL;
	struct volname_info info = {0};
	bool owned =
	    storage_config_store_get(guest_store_storage(gs), &snap, NULL) == 0 &&
	    storage_parse_volname_of(snap, parsed.storeid, parsed.volname, &info, NULL) == 0 &&
	    info.vmid == vmid && !info.is_base;
	volname_info_clear(&info);
	volid_clear(&parsed);
	return owned;
}

/* The volumes a section references that belong to vmid (owner from the
 * name's grammar), into vols (a set). */
static void section_volumes(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                            const json_t *section, json_t *vols)
{
	if (!k->detached_volume)
		return;
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)section, key, v) {
		const char *value = json_string_value(v);
		_cleanup_free_ char *volid = value ? k->detached_volume(key, value) : NULL;
		if (!volid)
			continue;
		struct volid parsed = {0};
		if (volid_parse(volid, &parsed, NULL) < 0)
			continue;
		_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap = NULL;
		struct volname_info info = {0};
		/* a template's base volumes are its own too (PVE frees every
		 * volume whose owner is vmid); a base still used by a linked
		 * clone is refused by the storage, which fails the destroy */
		if (storage_config_store_get(guest_store_storage(gs), &snap, NULL) == 0 &&
		    storage_parse_volname_of(snap, parsed.storeid, parsed.volname, &info, NULL) ==
		        0 &&
		    info.vmid == vmid)
			json_object_set_new(vols, volid, json_true());
		volname_info_clear(&info);
		volid_clear(&parsed);
	}
}

int guest_disks_destroy(struct guest_store *gs, const struct guest *g, bool unreferenced,
                        struct task_worker *w, struct error **err)
{
	const struct guest_kind_ops *k = g->kind;
	const void *parsed = conf_snapshot_data(g->snap);
	_cleanup_json_ json_t *vols = json_object();
	section_volumes(gs, k, g->vmid, g->conf, vols);
	if (k->pending_section)
		section_volumes(gs, k, g->vmid, k->pending_section(parsed), vols);
	json_t *snaps = k->snapshot_sections ? k->snapshot_sections(parsed) : NULL;
	const char *name;
	json_t *s;
	json_object_foreach (snaps, name, s)
		section_volumes(gs, k, g->vmid, s, vols);

	if (unreferenced) {
		_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap = NULL;
		if (storage_config_store_get(guest_store_storage(gs), &snap, NULL) == 0) {
			const struct section_config *cfg = storage_config_snapshot_config(snap);
			for (size_t i = 0; i < cfg->n_sections; i++) {
				const struct section *sec = cfg->sections[i];
				if (!storage_section_enabled_on(sec, guest_store_node(gs)))
					continue;
				_cleanup_(storage_freep) struct storage *st = NULL;
				struct storage_volume *list = NULL;
				size_t n = 0;
				if (storage_open(snap, sec->id, &st, NULL) < 0 ||
				    storage_activate(st, NULL) < 0 ||
				    /* both kinds: a btrfs or ZFS storage answers
				     * "images" without a container's subvolumes */
				    storage_list(st, g->vmid, "images,rootdir", &list, &n, NULL) <
				        0)
					continue;
				for (size_t j = 0; j < n; j++) {
					if (list[j].vmid != g->vmid)
						continue;
					_cleanup_free_ char *id =
					    xasprintf("%s:%s", sec->id, list[j].volname);
					json_object_set_new(vols, id, json_true());
				}
				storage_volume_list_free(list, n);
			}
		}
	}

	int ret = 0;
	const char *volid;
	json_t *v;
	json_object_foreach (vols, volid, v) {
		struct error *e = NULL;
		if (w)
			task_log(w, "Removing volume '%s'", volid);
		int r = guest_volume_free(gs, volid, w, &e);
		if (r == -ENOENT) {
			error_free(e);
			continue;
		}
		if (r < 0 && ret == 0) {
			ret = r;
			error_propagate(err, e);
		} else {
			error_free(e);
		}
	}
	return ret;
}

int guest_config_change_apply(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                              json_t *set, struct guest_config_change *c, struct task_worker *w,
                              struct error **err)
{
	_cleanup_json_ json_t *allocated = json_array();
	int r = guest_disks_allocate(gs, k, vmid, set, w, allocated, err);
	if (r < 0)
		return r;
	c->set = set;
	r = guest_config_update(gs, k, vmid, c, err);
	if (r < 0)
		free_allocated(gs, allocated, 0, w);
	return r;
}

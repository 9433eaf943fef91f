/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * /nodes/{node}/storage: storage status and volumes (content), after
 * pve-storage's PVE::API2::Storage::Status and ::Content.  The configuration
 * itself is api-storage-config.c.
 *
 * Two things differ from Proxmox on purpose:
 *  - status never blocks: each backend's status runs in a thread with a
 *    deadline (a statvfs on a hung NFS mount would hang the daemon), and a
 *    storage that does not answer in time is reported inactive;
 *  - status adds "provisioned" (the sum of the volumes' virtual sizes) and
 *    "overcommit" (provisioned / total), the honest space figures; pools add
 *    "data_percent", "metadata_percent" (thin pools), "health" and
 *    "warning_level" (80/90/95), and "message" says why a storage is not
 *    active or what its warning is.
 */
#define LOG_CATEGORY "storage"
#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api-access-util.h"
#include "api-internal.h"
#include "api.h"
#include "error.h"
#include "log.h"
#include "node-stats.h"
#include "paths.h"
#include "rrd-collector.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-probe.h"
#include "storage-ops.h"
#include "storage.h"
#include "strv.h"
#include "volid.h"
#include "xalloc.h"

/* ---- sizes -------------------------------------------------------------- */

int api_storage_parse_size(const char *s, uint64_t *ret)
{
	uint64_t v = 0, mul = 1024; /* Proxmox: a bare number is KiB */
	const char *p = s;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (*p) {
	case '\0':
		break;
	case 'K':
	case 'k':
		p++;
		break;
	case 'M':
	case 'm':
		mul = 1ULL << 20, p++;
		break;
	case 'G':
	case 'g':
		mul = 1ULL << 30, p++;
		break;
	case 'T':
	case 't':
		mul = 1ULL << 40, p++;
		break;
	default:
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*ret = v * mul;
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static bool has_priv(const struct api_call *call, const char *storeid, const char *priv)
{
	_cleanup_free_ char *path = xasprintf("/storage/%s", storeid);
	return api_call_has_priv(call, path, priv);
}

static bool may_see(const struct api_call *call, const char *storeid)
{
	return has_priv(call, storeid, "Datastore.Audit") ||
	       has_priv(call, storeid, "Datastore.AllocateSpace");
}

static bool has_vm_priv(const struct api_call *call, long vmid, const char *priv)
{
	_cleanup_free_ char *path = xasprintf("/vms/%ld", vmid);
	return api_call_has_priv(call, path, priv);
}

/* PVE's check_volume_access: may the caller read (and set attributes of)
 * a volume of type vtype owned by owner (0: none)?  vtype NULL: unknown (a
 * name of a storage that does not exist or has no backend). */
static bool volume_access(const struct api_call *call, const char *storeid, const char *vtype,
                          long owner)
{
	if (has_priv(call, storeid, "Datastore.Allocate"))
		return true;
	if (!vtype)
		return false;
	if (streq(vtype, "iso") || streq(vtype, "vztmpl") || streq(vtype, "import"))
		return may_see(call, storeid);
	if (streq(vtype, "backup") && owner > 0)
		return has_priv(call, storeid, "Datastore.AllocateSpace") &&
		       has_vm_priv(call, owner, "VM.Backup");
	if ((streq(vtype, "images") || streq(vtype, "rootdir")) && owner > 0)
		return has_priv(call, storeid, "Datastore.Audit") &&
		       has_vm_priv(call, owner, "VM.Config.Disk");
	return false;
}

static bool list_contains(const char *list, const char *item)
{
	_cleanup_strv_free_ char **v = api_split_list(list);
	return strv_contains(v, item);
}

static bool is_true(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return v && ((json_is_integer(v) && json_integer_value(v) != 0) || json_is_true(v));
}

/* ---- status with a deadline --------------------------------------------- */

/* Statuses of n storages in parallel, within one deadline; a storage that
 * fails or does not answer in time gets {0} (inactive). */
static void status_many(struct api_call *call, const char *const *ids, size_t n,
                        struct storage_status *ret)
{
	struct storage_probe **probes = xnew(struct storage_probe *, n ? n : 1);

	for (size_t i = 0; i < n; i++)
		probes[i] = storage_probe_start(call->ctx->storage, ids[i]);
	struct timespec deadline = storage_probe_deadline(STORAGE_PROBE_TIMEOUT_MS);
	for (size_t i = 0; i < n; i++) {
		ret[i] = (struct storage_status){0};
		if (storage_probe_wait(probes[i], &deadline, &ret[i]) == -ETIMEDOUT)
			log_warn("status of storage '%s' timed out after %d ms", ids[i],
			         STORAGE_PROBE_TIMEOUT_MS);
		storage_probe_unref(probes[i]);
	}
	free(probes);
}

/* {storage, type, content, shared, enabled, active, total, used, avail,
 * used_fraction, provisioned, overcommit} */
static json_t *status_entry(json_t *conf, bool enabled, const struct storage_status *s)
{
	bool active = enabled && s->active;
	uint64_t total = active ? s->total : 0;
	json_t *o = json_pack(
	    "{s:O, s:O, s:s, s:i, s:i, s:i, s:I, s:I, s:I, s:I}", "storage",
	    json_object_get(conf, "storage"), "type", json_object_get(conf, "type"), "content",
	    json_string_value(json_object_get(conf, "content"))
	        ? json_string_value(json_object_get(conf, "content"))
	        : "",
	    "shared", is_true(conf, "shared") ? 1 : 0, "enabled", enabled ? 1 : 0, "active",
	    active ? 1 : 0, "total", (json_int_t)total, "used", (json_int_t)(active ? s->used : 0),
	    "avail", (json_int_t)(active ? s->avail : 0), "provisioned",
	    (json_int_t)(active ? s->provisioned : 0));
	json_object_set_new(o, "used_fraction",
	                    json_real(total ? (double)s->used / (double)total : 0.0));
	json_object_set_new(o, "overcommit",
	                    json_real(total ? (double)s->provisioned / (double)total : 0.0));
	/* pools (lvm, lvmthin, zfspool): their own figures; any storage: why
	 * it is not active, or its warning.  Absent where there is nothing to
	 * say, so a dir storage's status is Proxmox's plus the two above. */
	if (active && s->has_pool) {
		json_object_set_new(o, "data_percent", json_real(s->data_pct));
		if (s->meta_pct >= 0)
			json_object_set_new(o, "metadata_percent", json_real(s->meta_pct));
		if (s->warn_level)
			json_object_set_new(o, "warning_level", json_integer(s->warn_level));
	}
	if (enabled && s->health[0])
		json_object_set_new(o, "health", json_string(s->health));
	if (enabled && s->message[0])
		json_object_set_new(o, "message", json_string(s->message));
	return o;
}

/* The entries of the storages of c that pass keep() (all when NULL). */
typedef bool status_filter_fn(struct api_call *call, const struct section *s, json_t *conf);

/* Every storage is probed now, within the deadline (/cluster/resources takes
 * the collector's figures instead: api_storage_resources()). */
static json_t *status_list(struct api_call *call, const struct section_config *c,
                           status_filter_fn *keep)
{
	size_t n = 0;
	json_t **confs = xnew(json_t *, c->n_sections + 1);
	bool *enabled = xnew(bool, c->n_sections + 1);
	const char **probe_ids = xnew(const char *, c->n_sections + 1);
	size_t *probe_of = xnew(size_t, c->n_sections + 1);
	size_t np = 0;

	for (size_t i = 0; i < c->n_sections; i++) {
		const struct section *s = c->sections[i];
		json_t *conf = storage_section_json(s, NULL);
		if (!may_see(call, s->id) || (keep && !keep(call, s, conf))) {
			json_decref(conf);
			continue;
		}
		confs[n] = conf;
		enabled[n] = storage_section_enabled_on(s, call->ctx->node);
		/* a type without a backend yet (lvm, zfspool, ...) stays inactive */
		if (enabled[n] && storage_backend_find(s->type)) {
			probe_ids[np] = s->id;
			probe_of[np++] = n;
		}
		n++;
	}
	struct storage_status *st = xnew(struct storage_status, np + 1);
	struct storage_status *by_entry = xnew(struct storage_status, n + 1);
	status_many(call, probe_ids, np, st);
	for (size_t i = 0; i < np; i++)
		by_entry[probe_of[i]] = st[i];

	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(a, status_entry(confs[i], enabled[i], &by_entry[i]));
		json_decref(confs[i]);
	}
	free(confs);
	free(enabled);
	free(probe_ids);
	free(probe_of);
	free(st);
	free(by_entry);
	return a;
}

/* ---- GET /nodes/{node}/storage ------------------------------------------ */

static bool node_list_keep(struct api_call *call, const struct section *s, json_t *conf)
{
	const char *only = api_param_str(call, "storage");
	const char *content = api_param_str(call, "content");
	const char *target = api_param_str(call, "target");
	const char *have = json_string_value(json_object_get(conf, "content"));

	if (only && !streq(only, s->id))
		return false;
	if (content) {
		_cleanup_strv_free_ char **want = api_split_list(content);
		bool any = false;
		for (size_t i = 0; want[i] && !any; i++)
			any = have && list_contains(have, want[i]);
		if (!any)
			return false;
	}
	/* a target node other than this one: only storages shared with it */
	if (target && !streq(target, call->ctx->node)) {
		const char *nodes = json_string_value(json_object_get(conf, "nodes"));
		if (!is_true(conf, "shared") || (nodes && !list_contains(nodes, target)))
			return false;
	}
	(void)s;
	return true;
}

static void add_formats(json_t *entry, const char *type)
{
	const struct storage_backend *be = storage_backend_find(type);
	if (!be || !be->formats)
		return;
	json_t *f = json_object();
	for (int i = 0; i < _IMAGE_FORMAT_MAX; i++)
		if (be->formats & IMAGE_FORMAT_BIT(i))
			json_object_set_new(f, image_format_to_string((enum image_format)i),
			                    json_integer(1));
	json_object_set_new(entry, "format",
	                    json_pack("[o, s]", f, image_format_to_string(be->default_format)));
}

static int api_node_storage_list(struct api_call *call, json_t **ret, struct error **err)
{
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap = NULL;
	int r = storage_config_store_get(call->ctx->storage, &snap, err);
	if (r < 0)
		return r;
	const struct section_config *c = storage_config_snapshot_config(snap);
	json_t *all = status_list(call, c, node_list_keep);
	bool only_enabled = api_param_bool(call, "enabled", false);
	bool formats = api_param_bool(call, "format", false);
	json_t *a = json_array();
	size_t i;
	json_t *e;
	json_array_foreach (all, i, e) {
		if (only_enabled && !is_true(e, "enabled"))
			continue;
		if (formats)
			add_formats(e, json_string_value(json_object_get(e, "type")));
		json_array_append(a, e);
	}
	json_decref(all);
	*ret = a;
	return 0;
}

/* ---- /nodes/{node}/storage/{storage} ------------------------------------ */

static bool only_param_storage(struct api_call *call, const struct section *s, json_t *conf)
{
	(void)conf;
	return streq(s->id, api_param_str(call, "storage"));
}

static int api_node_storage_index(struct api_call *call, json_t **ret, struct error **err)
{
	(void)call;
	(void)err;
	/* PVE's list, less file-restore and import-metadata (not there yet) */
	static const char *const subdirs[] = {"content", "download-url", "prunebackups", "rrd",
	                                      "rrddata", "status",       "upload"};
	json_t *a = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++)
		json_array_append_new(a, json_pack("{s:s}", "subdir", subdirs[i]));
	*ret = a;
	return 0;
}

static int api_node_storage_status(struct api_call *call, json_t **ret, struct error **err)
{
	const char *id = api_param_str(call, "storage");
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap = NULL;
	int r = storage_config_store_get(call->ctx->storage, &snap, err);
	if (r < 0)
		return r;
	const struct section_config *c = storage_config_snapshot_config(snap);
	if (!section_config_find(c, id))
		return error_set(err, -ENOENT, 500, "storage '%s' does not exist", id);
	json_t *a = status_list(call, c, only_param_storage);
	if (json_array_size(a) != 1) {
		json_decref(a);
		return error_set(err, -ENOENT, 500, "storage '%s' does not exist", id);
	}
	*ret = json_incref(json_array_get(a, 0));
	json_decref(a);
	return 0;
}

/* ---- content ------------------------------------------------------------ */

struct opened {
	struct storage *st;
};

static void opened_clear(struct opened *o)
{
	storage_free(o->st);
	*o = (struct opened){0};
}

/* Opens an existing storage that is enabled on this node (the storage holds
 * its own reference to the config snapshot). */
static int open_storage(struct api_context *ctx, const char *id, struct opened *o,
                        struct error **err)
{
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap = NULL;
	int r = storage_config_store_get(ctx->storage, &snap, err);
	if (r < 0)
		return r;
	return storage_open_enabled(snap, id, ctx->node, &o->st, err);
}

/* {volume} is a full volid of this storage or a volume name; either way it
 * must parse as a volume name in the grammar of the storage's backend,
 * which refuses "..", absolute parts and control characters (400).  The
 * storage need not exist or be enabled yet: the owner is needed for the
 * permission check, which comes first (storage_parse_volname_of()). */
static int resolve_volume(struct api_context *ctx, const char *storeid, const char *volume,
                          char **ret_volname, struct volname_info *info, struct error **err)
{
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap = NULL;
	_cleanup_free_ char *volname = NULL;
	int r;

	if (strchr(volume, ':')) {
		struct volid v = {0};
		r = volid_parse(volume, &v, err);
		if (r < 0)
			return r;
		if (!streq(v.storeid, storeid)) {
			volid_clear(&v);
			return error_param(err, "volume", "volume is not on storage '%s'", storeid);
		}
		volname = xstrdup(v.volname);
		volid_clear(&v);
	} else {
		volname = xstrdup(volume);
	}
	r = storage_config_store_get(ctx->storage, &snap, err);
	if (r < 0)
		return r;
	r = storage_parse_volname_of(snap, storeid, volname, info, err);
	if (r < 0)
		return r;
	*ret_volname = TAKE_PTR(volname);
	return 0;
}

static json_t *volume_entry(const char *storeid, const struct storage_volume *v)
{
	_cleanup_free_ char *volid = volid_format(storeid, v->volname);
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:s, s:I}", "volid", volid, "format",
	                      v->format ? v->format : "", "size", (json_int_t)v->size, "used",
	                      (json_int_t)v->used, "content", v->vtype ? v->vtype : "", "ctime",
	                      (json_int_t)v->ctime);
	if (v->vmid > 0)
		json_object_set_new(o, "vmid", json_integer(v->vmid));
	if (v->parent)
		json_object_set_new(o, "parent", json_string(v->parent));
	if (v->notes)
		json_object_set_new(o, "notes", json_string(v->notes));
	if (v->protected_)
		json_object_set_new(o, "protected", json_integer(1));
	return o;
}

static int api_content_list(struct api_call *call, json_t **ret, struct error **err)
{
	const char *id = api_param_str(call, "storage");
	_cleanup_(opened_clear) struct opened o = {0};
	struct storage_volume *vols = NULL;
	size_t n = 0;
	int r = open_storage(call->ctx, id, &o, err);
	if (r < 0)
		return r;
	r = storage_list(o.st, (long)api_param_int(call, "vmid", 0), api_param_str(call, "content"),
	                 &vols, &n, err);
	if (r < 0)
		return r;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		if (volume_access(call, id, vols[i].vtype ? vols[i].vtype : "", vols[i].vmid))
			json_array_append_new(a, volume_entry(id, &vols[i]));
	storage_volume_list_free(vols, n);
	*ret = a;
	return 0;
}

static int api_content_create(struct api_call *call, json_t **ret, struct error **err)
{
	const char *id = api_param_str(call, "storage");
	const char *name = api_param_str(call, "filename");
	const char *fmt = api_param_str(call, "format");
	long vmid = (long)api_param_int(call, "vmid", 0);
	_cleanup_(opened_clear) struct opened o = {0};
	_cleanup_free_ char *volname = NULL, *volid = NULL;
	uint64_t size;
	int r;

	r = api_storage_parse_size(api_param_str(call, "size"), &size);
	if (r < 0)
		return error_param(err, "size", "value does not match the regex pattern");
	/* the file name's extension decides the format; both given must agree */
	const char *dot = strrchr(name, '.');
	const char *ext = dot ? image_format_to_string(image_format_from_string(dot + 1)) : NULL;
	if (ext && fmt && !streq(ext, fmt))
		return error_param(err, "format", "filename extension doesn't match format");
	if (!fmt)
		fmt = ext;
	if (strchr(name, '/') || strchr(name, ':'))
		return error_param(err, "filename", "invalid file name '%s'", name);
	r = open_storage(call->ctx, id, &o, err);
	if (r < 0)
		return r;
	r = storage_alloc(o.st, vmid, fmt, name, size, NULL, &volname, err);
	if (r < 0)
		return r;
	volid = volid_format(id, volname);
	log_info("volume '%s' (%" PRIu64 " bytes) allocated by '%s'", volid, size, call->authid);
	*ret = json_string(volid);
	return 0;
}

/* Opens the storage and resolves {volume}; 403 unless volume_access. */
static int open_volume(struct api_call *call, struct opened *o, char **ret_volname,
                       struct volname_info *info, struct error **err)
{
	const char *id = api_param_str(call, "storage");
	int r =
	    resolve_volume(call->ctx, id, api_param_str(call, "volume"), ret_volname, info, err);
	if (r < 0)
		return r;
	if (!volume_access(call, id, vtype_to_string(info->vtype), info->vmid))
		return error_set(err, -EPERM, 403, "Permission check failed");
	return open_storage(call->ctx, id, o, err);
}

static int api_content_info(struct api_call *call, json_t **ret, struct error **err)
{
	_cleanup_(opened_clear) struct opened o = {0};
	_cleanup_free_ char *volname = NULL, *path = NULL;
	struct volname_info info = {0};
	struct storage_volume v = {0};
	int r;

	r = open_volume(call, &o, &volname, &info, err);
	volname_info_clear(&info);
	if (r < 0)
		return r;
	r = storage_info(o.st, volname, &v, err);
	if (r < 0)
		return r;
	r = storage_path(o.st, volname, &path, err);
	if (r < 0) {
		storage_volume_clear(&v);
		return r;
	}
	json_t *e = json_pack("{s:s, s:I, s:I, s:s}", "path", path, "size", (json_int_t)v.size,
	                      "used", (json_int_t)v.used, "format", v.format ? v.format : "");
	json_object_set_new(e, "notes", json_string(v.notes ? v.notes : ""));
	json_object_set_new(e, "protected", json_integer(v.protected_ ? 1 : 0));
	storage_volume_clear(&v);
	*ret = e;
	return 0;
}

static int api_content_update(struct api_call *call, json_t **ret, struct error **err)
{
	_cleanup_(opened_clear) struct opened o = {0};
	_cleanup_free_ char *volname = NULL;
	struct volname_info info = {0};
	struct storage_volume v = {0};
	int r;

	r = open_volume(call, &o, &volname, &info, err);
	enum vtype vtype = info.vtype;
	volname_info_clear(&info);
	if (r < 0)
		return r;
	/* as PVE's dir plugin: the backends keep notes and protection for
	 * backups only, so anything else would be written and never honoured */
	if (vtype != VTYPE_BACKUP)
		return error_set(err, -EOPNOTSUPP, 400,
		                 "volume attributes are only supported for backups, not for '%s'",
		                 vtype_to_string(vtype));
	r = storage_info(o.st, volname, &v, err); /* it must exist */
	storage_volume_clear(&v);
	if (r < 0)
		return r;
	const char *notes = NULL;
	if (api_param_has(call, "notes")) {
		notes = api_param_str(call, "notes");
		if (!notes)
			notes = "";
	}
	int prot = api_param_has(call, "protected") ? api_param_bool(call, "protected", false) : -1;
	r = storage_set_attributes(o.st, volname, notes, prot, err);
	if (r < 0)
		return r;
	log_info("attributes of volume '%s:%s' updated by '%s'", o.st->id, volname, call->authid);
	*ret = json_null();
	return 0;
}

static int api_content_delete(struct api_call *call, json_t **ret, struct error **err)
{
	const char *id = api_param_str(call, "storage");
	_cleanup_(opened_clear) struct opened o = {0};
	_cleanup_free_ char *volname = NULL;
	struct volname_info info = {0};
	struct storage_volume v = {0};
	int r;

	r = resolve_volume(call->ctx, id, api_param_str(call, "volume"), &volname, &info, err);
	if (r < 0)
		return r;
	/* PVE: backups need VM.Backup, everything else Datastore.Allocate */
	bool allowed = info.vtype == VTYPE_BACKUP && info.vmid > 0
	                   ? has_priv(call, id, "Datastore.AllocateSpace") &&
	                         has_vm_priv(call, info.vmid, "VM.Backup")
	                   : has_priv(call, id, "Datastore.Allocate");
	volname_info_clear(&info);
	if (!allowed)
		return error_set(err, -EPERM, 403, "Permission check failed");
	r = open_storage(call->ctx, id, &o, err);
	if (r < 0)
		return r;
	/* refuse now what the task would refuse, so clients see the reason */
	r = storage_info(o.st, volname, &v, err);
	bool prot = v.protected_;
	storage_volume_clear(&v);
	if (r < 0)
		return r;
	if (prot)
		return error_set(err, -EPERM, 500, "volume '%s:%s' is protected", id, volname);
	_cleanup_json_ json_t *args = json_pack("{s:s, s:s}", "storage", id, "volume", volname);
	r = api_start_op(call, "imgdel", id, args, ret, err);
	if (r < 0)
		return r;
	log_info("removal of volume '%s:%s' started by '%s'", id, volname, call->authid);
	return 0;
}

/* ---- shared with api-storage-volume.c ------------------------------------ */

int api_storage_open(struct api_context *ctx, const char *id, struct storage **ret_st,
                     struct error **err)
{
	struct opened o = {0};
	int r = open_storage(ctx, id, &o, err);

	if (r < 0)
		return r;
	*ret_st = o.st;
	return 0;
}

int api_storage_resolve_volume(struct api_context *ctx, const char *storeid, const char *volume,
                               char **ret_volname, struct volname_info *info, struct error **err)
{
	return resolve_volume(ctx, storeid, volume, ret_volname, info, err);
}

bool api_storage_volume_access(const struct api_call *call, const char *storeid, const char *vtype,
                               long owner)
{
	return volume_access(call, storeid, vtype, owner);
}

/* ---- /cluster/resources ------------------------------------------------- */

/*
 * A storage's row depends only on its section in one config snapshot, this
 * node's name and three figures (active, used, total); the same inputs give
 * the same bytes, so a row is built once and shared read-only until one of
 * them changes (jansson's reference counts are atomic, and since 2.13 its
 * encoder finds loops without marking the values, so threads may encode a
 * shared row at once; nothing may modify a row once it is cached).  The cache holds a
 * reference to the snapshot it was built from, so no later snapshot (any
 * change of storage.cfg) can have its address.  Who may see a row is decided
 * per request, before the cache is asked.  One slot per section of the
 * snapshot: bounded by storage.cfg.
 */
struct resource_row {
	bool active;
	uint64_t used, total;
	json_t *row; /* NULL: not built yet */
};

static struct {
	pthread_rwlock_t lock;
	const struct storage_config_snapshot *snap;
	char *node;
	struct resource_row *rows;
	size_t n;
} res_cache = {.lock = PTHREAD_RWLOCK_INITIALIZER};

static bool res_key_is(const struct resource_row *r, bool active, uint64_t used, uint64_t total)
{
	return r->row && r->active == active && r->used == used && r->total == total;
}

/* Under the write lock: empty the cache and make it snap's. */
static void res_cache_reset_locked(const struct storage_config_snapshot *snap, const char *node,
                                   size_t n)
{
	for (size_t i = 0; i < res_cache.n; i++)
		json_decref(res_cache.rows[i].row);
	free(res_cache.rows);
	free(res_cache.node);
	storage_config_snapshot_unref(res_cache.snap);
	res_cache.snap = storage_config_snapshot_ref(snap);
	res_cache.node = xstrdup(node);
	res_cache.rows = xnew(struct resource_row, n + 1);
	res_cache.n = n;
}

static json_t *resource_row_build(struct api_call *call, const struct section *s, bool enabled,
                                  const struct storage_status *st)
{
	_cleanup_json_ json_t *conf = storage_section_json(s, NULL);
	_cleanup_json_ json_t *e = status_entry(conf, enabled, st);
	const char *id = json_string_value(json_object_get(e, "storage"));
	json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:O, s:O, s:O, s:O, s:O}", "type", "storage",
	                      "storage", id, "node", call->ctx->node, "status",
	                      is_true(e, "active") ? "available" : "unknown", "plugintype",
	                      json_object_get(e, "type"), "content", json_object_get(e, "content"),
	                      "shared", json_object_get(e, "shared"), "disk",
	                      json_object_get(e, "used"), "maxdisk", json_object_get(e, "total"));
	json_object_set_new(r, "id", json_sprintf("storage/%s/%s", call->ctx->node, id));
	return r;
}

/* The row of section i of snap, with a reference for the caller. */
static json_t *resource_row(struct api_call *call, const struct storage_config_snapshot *snap,
                            size_t i, bool enabled, const struct storage_status *st)
{
	const struct section_config *c = storage_config_snapshot_config(snap);
	bool active = enabled && st->active;
	uint64_t used = active ? st->used : 0, total = active ? st->total : 0;
	json_t *r = NULL;

	pthread_rwlock_rdlock(&res_cache.lock);
	if (res_cache.snap == snap && streq(res_cache.node, call->ctx->node) && i < res_cache.n &&
	    res_key_is(&res_cache.rows[i], active, used, total))
		r = json_incref(res_cache.rows[i].row);
	pthread_rwlock_unlock(&res_cache.lock);
	if (r)
		return r;

	r = resource_row_build(call, c->sections[i], enabled, st);
	pthread_rwlock_wrlock(&res_cache.lock);
	if (res_cache.snap != snap || !streq(res_cache.node, call->ctx->node))
		res_cache_reset_locked(snap, call->ctx->node, c->n_sections);
	if (i < res_cache.n) {
		struct resource_row *slot = &res_cache.rows[i];
		json_decref(slot->row);
		*slot = (struct resource_row){active, used, total, json_incref(r)};
	}
	pthread_rwlock_unlock(&res_cache.lock);
	return r;
}

/* As /nodes/{node}/storage with the collector's recent figures (the others
 * probed now, within the deadline), reshaped, for those with
 * Datastore.Audit. */
json_t *api_storage_resources(struct api_call *call)
{
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap = NULL;
	json_t *out = json_array();

	if (storage_config_store_get(call->ctx->storage, &snap, NULL) < 0)
		return out;
	const struct section_config *c = storage_config_snapshot_config(snap);
	size_t n = 0, np = 0;
	_cleanup_free_ size_t *index = xnew(size_t, c->n_sections + 1);
	_cleanup_free_ bool *enabled = xnew(bool, c->n_sections + 1);
	_cleanup_free_ struct storage_status *st = xnew(struct storage_status, c->n_sections + 1);
	_cleanup_free_ const char **probe_ids = xnew(const char *, c->n_sections + 1);
	_cleanup_free_ size_t *probe_of = xnew(size_t, c->n_sections + 1);
	struct rrd_collector *hist = call->ctx->stats ? node_stats_history(call->ctx->stats) : NULL;

	for (size_t i = 0; i < c->n_sections; i++) {
		const struct section *s = c->sections[i];
		/* Datastore.Audit implies may_see(), which the storage list asks */
		if (!has_priv(call, s->id, "Datastore.Audit"))
			continue;
		index[n] = i;
		enabled[n] = storage_section_enabled_on(s, call->ctx->node);
		/* a type without a backend yet (lvm, zfspool, ...) stays inactive */
		if (enabled[n] && storage_backend_find(s->type) &&
		    !(hist && rrd_collector_storage_status(hist, s->id, &st[n]))) {
			probe_ids[np] = s->id;
			probe_of[np++] = n;
		}
		n++;
	}
	if (np) {
		_cleanup_free_ struct storage_status *live = xnew(struct storage_status, np);
		status_many(call, probe_ids, np, live);
		for (size_t k = 0; k < np; k++)
			st[probe_of[k]] = live[k];
	}
	for (size_t k = 0; k < n; k++)
		json_array_append_new(out, resource_row(call, snap, index[k], enabled[k], &st[k]));
	return out;
}

/* ---- the rows ----------------------------------------------------------- */

static const char *const content_types[] = {"images", "rootdir",  "iso",    "vztmpl",
                                            "backup", "snippets", "import", NULL};
static const char *const alloc_formats[] = {"raw", "qcow2", "subvol", "vmdk", NULL};

#define PERM_SEE                                                                              \
	API_CHECK_DESC(                                                                       \
	    API_PERM_ANY("/storage/{storage}", "Datastore.Audit", "Datastore.AllocateSpace"), \
	    "'Datastore.Audit' or 'Datastore.AllocateSpace' on the storage; "                 \
	    "volumes further by their owner (PVE's check_volume_access)")

const struct api_method api_methods_storage[] = {
    {
        .path = "/nodes/{node}/storage",
        .verb = "GET",
        .name = "index",
        .description = "Get status for all datastores. ctvm adds 'provisioned' and "
                       "'overcommit'.",
        .params =
            (const struct api_param[]){
                API_PARAM_NODE,
                {.name = "content",
                 .type = API_TYPE_STRING,
                 .format = "pve-storage-content-list",
                 .optional = true,
                 .max_length = 1024,
                 .description = "Only list stores which support this content type."},
                {.name = "enabled",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .default_text = "0",
                 .description = "Only list stores which are enabled (not disabled in "
                                "config)."},
                {.name = "format",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .default_text = "0",
                 .description = "Include information about formats"},
                {.name = "storage",
                 .type = API_TYPE_STRING,
                 .format = "pve-storage-id",
                 .optional = true,
                 .max_length = 100,
                 .description = "Only list status for specified storage"},
                {.name = "target",
                 .type = API_TYPE_STRING,
                 .format = "pve-node",
                 .optional = true,
                 .description = "If target is different to 'node', we only lists shared "
                                "storages which content is accessible on this 'node' and "
                                "the specified 'target' node."},
                API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("Only list entries where you have 'Datastore.Audit' or "
                             "'Datastore.AllocateSpace' permissions on '/storage/<storage>'"),
        .handler = api_node_storage_list,
    },
    {
        .path = "/nodes/{node}/storage/{storage}",
        .verb = "GET",
        .name = "diridx",
        .description = "Storage index.",
        .params = (const struct api_param[]){API_PARAM_NODE, API_PARAM_STORAGE, API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = PERM_SEE,
        .handler = api_node_storage_index,
    },
    {
        .path = "/nodes/{node}/storage/{storage}/status",
        .verb = "GET",
        .name = "read_status",
        .description = "Read storage status.",
        .params = (const struct api_param[]){API_PARAM_NODE, API_PARAM_STORAGE, API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = PERM_SEE,
        .handler = api_node_storage_status,
    },
    {
        .path = "/nodes/{node}/storage/{storage}/content",
        .verb = "GET",
        .name = "index",
        .description = "List storage content.",
        .params =
            (const struct api_param[]){API_PARAM_NODE,
                                       API_PARAM_STORAGE,
                                       {.name = "content",
                                        .type = API_TYPE_STRING,
                                        .optional = true,
                                        .enum_values = content_types,
                                        .description = "Only list content of this type."},
                                       API_PARAM_VMID_AS(true, "Only list images for this VM"),
                                       API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = PERM_SEE,
        .handler = api_content_list,
    },
    {
        .path = "/nodes/{node}/storage/{storage}/content",
        .verb = "POST",
        .name = "create",
        .description = "Allocate disk images.",
        .params =
            (const struct api_param[]){
                API_PARAM_NODE,
                API_PARAM_STORAGE,
                API_PARAM_VMID,
                {.name = "filename",
                 .type = API_TYPE_STRING,
                 .max_length = 255,
                 .description = "The name of the file to create."},
                {.name = "size",
                 .type = API_TYPE_STRING,
                 .max_length = 32,
                 .description = "Size in kilobyte (1024 bytes). Optional suffixes 'M' "
                                "(megabyte, 1024K) and 'G' (gigabyte, 1024M); ctvm also "
                                "takes 'K' and 'T'."},
                {.name = "format",
                 .type = API_TYPE_STRING,
                 .optional = true,
                 .enum_values = alloc_formats,
                 .description = "Format of the image."},
                API_END},
        .returns = {.type = API_TYPE_STRING},
        .perm = API_CHECK_DESC(API_AND(API_PERM("/storage/{storage}", "Datastore.AllocateSpace"),
                                       API_PERM("/vms/{vmid}", "VM.Config.Disk")),
                               "'Datastore.AllocateSpace' on the storage and "
                               "'VM.Config.Disk' on the owning guest (ctvm is stricter than "
                               "PVE here)"),
        .flags = API_PROTECTED,
        .handler = api_content_create,
    },
    {
        .path = "/nodes/{node}/storage/{storage}/content/{volume}",
        .verb = "GET",
        .name = "info",
        .description = "Get volume attributes",
        .params = (const struct api_param[]){API_PARAM_NODE, API_PARAM_STORAGE, API_PARAM_VOLUME,
                                             API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = API_ANY_USER("You need read access for the volume (PVE's "
                             "check_volume_access)."),
        .handler = api_content_info,
    },
    {
        .path = "/nodes/{node}/storage/{storage}/content/{volume}",
        .verb = "PUT",
        .name = "updateattributes",
        .description = "Update volume attributes",
        .params = (const struct api_param[]){API_PARAM_NODE,
                                             API_PARAM_STORAGE,
                                             API_PARAM_VOLUME,
                                             {.name = "notes",
                                              .type = API_TYPE_STRING,
                                              .optional = true,
                                              .max_length = 65536,
                                              .description = "The new notes."},
                                             {.name = "protected",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .description = "Protection status. Currently "
                                                             "only supported for backups."},
                                             API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_ANY_USER("You need read access for the volume (PVE's "
                             "check_volume_access)."),
        .flags = API_PROTECTED,
        .handler = api_content_update,
    },
    {
        .path = "/nodes/{node}/storage/{storage}/content/{volume}",
        .verb = "DELETE",
        .name = "delete",
        .description = "Delete volume",
        .params = (const struct api_param[]){API_PARAM_NODE,
                                             API_PARAM_STORAGE,
                                             API_PARAM_VOLUME,
                                             {.name = "delay",
                                              .type = API_TYPE_INTEGER,
                                              .optional = true,
                                              .has_min = true,
                                              .minimum = 1,
                                              .has_max = true,
                                              .maximum = 30,
                                              .description = "Time to wait for the task to "
                                                             "finish (ignored: always a "
                                                             "task)."},
                                             API_END},
        .returns = {.type = API_TYPE_STRING},
        .perm = API_ANY_USER("'Datastore.Allocate' on the storage, or for backups "
                             "'VM.Backup' on the guest and 'Datastore.AllocateSpace'."),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_content_delete,
    },
    {.path = NULL},
};

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Volume operations beyond allocation: Proxmox's volume copy
 * (POST /nodes/{node}/storage/{storage}/content/{volume}, PVE::API2::
 * Storage::Content's "copy") and ctvm's own snapshot, rollback, template
 * and linked clone of one volume.  Proxmox offers the latter only through
 * guests (qm snapshot, qm template, qm clone); ctvm has no guests yet, so
 * they are storage calls here, with the volume LAST in each path (a volume
 * id contains '/', and the router lets a last pve-volume-id take the rest).
 *
 * Permissions need the volume's owner, which only the volume name tells,
 * so most are checked here rather than by the row; each is checked before
 * anything that could tell whether the volume exists (403 first, as the
 * choke point does for row expressions).
 */
#define LOG_CATEGORY "storage"
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api-internal.h"
#include "api.h"
#include "error.h"
#include "log.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage.h"
#include "volid.h"
#include "xalloc.h"

/* ---- helpers ------------------------------------------------------------ */

static bool has_priv(const struct api_call *call, const char *storeid, const char *priv)
{
	_cleanup_free_ char *path = xasprintf("/storage/%s", storeid);
	return api_call_has_priv(call, path, priv);
}

static bool has_vm_priv(const struct api_call *call, long vmid, const char *priv)
{
	_cleanup_free_ char *path = xasprintf("/vms/%ld", vmid);
	return vmid > 0 && api_call_has_priv(call, path, priv);
}

/* Datastore.Allocate on the storage, or Datastore.AllocateSpace on it and
 * vm_priv on the volume's owner: the rule of every change of a volume. */
static bool may_change(const struct api_call *call, const char *storeid, long owner,
                       const char *vm_priv)
{
	return has_priv(call, storeid, "Datastore.Allocate") ||
	       (has_priv(call, storeid, "Datastore.AllocateSpace") &&
	        has_vm_priv(call, owner, vm_priv));
}

static int denied(struct error **err)
{
	return error_set(err, -EPERM, 403, "Permission check failed");
}

/* The {storage} and {volume} of a call, resolved and opened. */
struct vol_call {
	const char *storeid;
	char *volname;
	struct volname_info info;
	struct storage *st;
};

static void vol_call_clear(struct vol_call *v)
{
	free(v->volname);
	volname_info_clear(&v->info);
	storage_free(v->st);
	*v = (struct vol_call){0};
}

/* Step one: parse {volume} (400 for a malformed one). */
static int vol_call_resolve(struct api_call *call, struct vol_call *v, struct error **err)
{
	v->storeid = api_param_str(call, "storage");
	return api_storage_resolve_volume(call->ctx, v->storeid, api_param_str(call, "volume"),
	                                  &v->volname, &v->info, err);
}

/* Step two, after the permission check: open the storage and require the
 * volume (404 when missing); *ret_info gets it when not NULL. */
static int vol_call_open(struct api_call *call, struct vol_call *v, struct storage_volume *ret_info,
                         struct error **err)
{
	struct storage_volume info = {0};
	int r = api_storage_open(call->ctx, v->storeid, &v->st, err);

	if (r < 0)
		return r;
	if (!ret_info)
		return storage_volume_exists(v->st, v->volname, err);
	r = storage_info(v->st, v->volname, &info, err);
	if (r >= 0 && ret_info)
		*ret_info = info;
	else
		storage_volume_clear(&info);
	return r;
}

static int check_snapname(const char *snap, struct error **err)
{
	if (!snap || !storage_snapname_valid(snap))
		return error_param(err, "snapname",
		                   "invalid format - value does not match the regex");
	return 0;
}

/* 404 unless the volume has snapshot snap. */
static int require_snapshot(struct vol_call *v, const char *snap, struct error **err)
{
	struct storage_snapshot *s = NULL;
	size_t n = 0;
	bool found = false;
	int r = storage_snapshot_list(v->st, v->volname, &s, &n, err);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n && !found; i++)
		found = streq(s[i].name, snap);
	storage_snapshot_list_free(s, n);
	if (!found)
		return error_set(err, -ENOENT, 404,
		                 "snapshot '%s' of volume '%s:%s' does not exist", snap, v->storeid,
		                 v->volname);
	return 0;
}

/* ---- GET .../snapshots/{volume} ----------------------------------------- */

static int api_snapshot_list(struct api_call *call, json_t **ret, struct error **err)
{
	_cleanup_(vol_call_clear) struct vol_call v = {0};
	struct storage_snapshot *s = NULL;
	size_t n = 0;
	int r;

	r = vol_call_resolve(call, &v, err);
	if (r < 0)
		return r;
	if (!api_storage_volume_access(call, v.storeid, vtype_to_string(v.info.vtype), v.info.vmid))
		return denied(err);
	r = vol_call_open(call, &v, NULL, err);
	if (r < 0)
		return r;
	r = storage_snapshot_list(v.st, v.volname, &s, &n, err);
	if (r < 0)
		return r;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(
		    a, json_pack("{s:s, s:I}", "name", s[i].name, "ctime", (json_int_t)s[i].ctime));
	storage_snapshot_list_free(s, n);
	*ret = a;
	return 0;
}

/* ---- snapshot create / delete / rollback (tasks) ------------------------ */

enum snap_op { SNAP_CREATE, SNAP_DELETE, SNAP_ROLLBACK };

static int snap_start(struct api_call *call, enum snap_op op, json_t **ret, struct error **err)
{
	static const char *const types[] = {"imgsnapshot", "imgdelsnapshot", "imgrollback"};
	static const char *const vm_privs[] = {"VM.Snapshot", "VM.Snapshot",
	                                       "VM.Snapshot.Rollback"};
	_cleanup_(vol_call_clear) struct vol_call v = {0};
	struct storage_volume info = {0};
	const char *snap = api_param_str(call, "snapname");
	int r;

	r = vol_call_resolve(call, &v, err);
	if (r < 0)
		return r;
	if (!may_change(call, v.storeid, v.info.vmid, vm_privs[op]))
		return denied(err);
	r = check_snapname(snap, err);
	if (r < 0)
		return r;
	/* refuse now what the task would refuse, so clients see the reason */
	r = vol_call_open(call, &v, op == SNAP_ROLLBACK ? &info : NULL, err);
	bool prot = info.protected_;
	storage_volume_clear(&info);
	if (r < 0)
		return r;
	if (op == SNAP_ROLLBACK && prot)
		return error_set(err, -EPERM, 500, "volume '%s:%s' is protected", v.storeid,
		                 v.volname);
	/* TODO(guests): rollback of a disk a running guest uses must be
	 * refused (PVE: the guest is stopped or its config locked first);
	 * snapshots of a running qcow2 need the guest's QMP instead. */
	if (op != SNAP_CREATE) {
		r = require_snapshot(&v, snap, err);
		if (r < 0)
			return r;
	}
	_cleanup_json_ json_t *args = json_pack("{s:s, s:s, s:s}", "storage", v.storeid, "volume",
	                                        v.volname, "snapname", snap);
	/* a storage that only rolls back to its latest snapshot (ZFS) destroys
	 * the newer ones only when told to */
	if (op == SNAP_ROLLBACK && api_param_bool(call, "destroy-newer", false))
		json_object_set_new(args, "destroy-newer", json_true());
	r = api_start_op(call, types[op], v.storeid, args, ret, err);
	if (r < 0)
		return r;
	log_info("%s of '%s' on volume '%s:%s' started by '%s'", types[op], snap, v.storeid,
	         v.volname, call->authid);
	return 0;
}

static int api_snapshot_create(struct api_call *call, json_t **ret, struct error **err)
{
	return snap_start(call, SNAP_CREATE, ret, err);
}

static int api_snapshot_delete(struct api_call *call, json_t **ret, struct error **err)
{
	return snap_start(call, SNAP_DELETE, ret, err);
}

static int api_snapshot_rollback(struct api_call *call, json_t **ret, struct error **err)
{
	return snap_start(call, SNAP_ROLLBACK, ret, err);
}

/* ---- template and linked clone (synchronous, like allocation) ----------- */

static int api_volume_template(struct api_call *call, json_t **ret, struct error **err)
{
	_cleanup_(vol_call_clear) struct vol_call v = {0};
	_cleanup_free_ char *base = NULL, *volid = NULL;
	int r;

	r = vol_call_resolve(call, &v, err);
	if (r < 0)
		return r;
	if (!may_change(call, v.storeid, v.info.vmid, "VM.Allocate"))
		return denied(err);
	r = vol_call_open(call, &v, NULL, err);
	if (r < 0)
		return r;
	/* TODO(guests): a disk a running guest uses cannot become a base
	 * (PVE converts only stopped guests to templates). */
	r = storage_create_base(v.st, v.volname, NULL, &base, err);
	if (r < 0)
		return r;
	volid = volid_format(v.storeid, base);
	log_info("volume '%s:%s' made base '%s' by '%s'", v.storeid, v.volname, volid,
	         call->authid);
	*ret = json_string(volid);
	return 0;
}

static int api_volume_clone(struct api_call *call, json_t **ret, struct error **err)
{
	_cleanup_(vol_call_clear) struct vol_call v = {0};
	_cleanup_free_ char *clone = NULL, *volid = NULL;
	const char *snap = api_param_str(call, "snapname");
	long vmid = (long)api_param_int(call, "vmid", 0);
	int r;

	r = vol_call_resolve(call, &v, err);
	if (r < 0)
		return r;
	/* VM.Allocate on the new owner is the row's; the base's side here */
	if (!may_change(call, v.storeid, v.info.vmid, "VM.Clone"))
		return denied(err);
	if (snap) {
		r = check_snapname(snap, err);
		if (r < 0)
			return r;
	}
	r = vol_call_open(call, &v, NULL, err);
	if (r < 0)
		return r;
	r = storage_clone(v.st, v.volname, vmid, snap, NULL, &clone, err);
	if (r < 0)
		return r;
	volid = volid_format(v.storeid, clone);
	log_info("linked clone '%s' of '%s:%s' created by '%s'", volid, v.storeid, v.volname,
	         call->authid);
	*ret = json_string(volid);
	return 0;
}

/* ---- POST .../content/{volume}: copy (task) ----------------------------- */

/* PVE's real_volume_id for the target: "storeid:volname", or a volume name
 * on the source's storage, in the grammar of the target storage's backend.
 * It must name a disk image or container volume of a guest: its owner and
 * name are what the copy allocates.  A target storage that does not exist
 * (or has no backend) tells nothing but that the name is not hostile: the
 * copy then fails when it opens the storage, after the permission check. */
static int resolve_target(struct api_context *ctx, const char *src_storeid, const char *target,
                          char **ret_storeid, char **ret_volname, struct volname_info *info,
                          struct error **err)
{
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap = NULL;
	_cleanup_free_ char *storeid = NULL, *volname = NULL;
	struct error *e = NULL;
	int r;

	if (strchr(target, ':')) {
		struct volid id = {0};

		r = volid_parse(target, &id, &e);
		if (r < 0)
			goto bad;
		storeid = TAKE_PTR(id.storeid);
		volname = TAKE_PTR(id.volname);
		volid_clear(&id);
	} else {
		storeid = xstrdup(src_storeid);
		volname = xstrdup(target);
	}
	r = storage_config_store_get(ctx->storage, &snap, err);
	if (r < 0)
		return r;
	r = storage_parse_volname_of(snap, storeid, volname, info, &e);
	if (r < 0)
		goto bad;
	if (info->vtype != VTYPE_INVALID &&
	    ((info->vtype != VTYPE_IMAGES && info->vtype != VTYPE_ROOTDIR) || info->vmid <= 0 ||
	     info->basename || info->is_base)) {
		volname_info_clear(info);
		return error_param(
		    err, "target",
		    "target must name a new disk image or container volume of a guest");
	}
	*ret_storeid = TAKE_PTR(storeid);
	*ret_volname = TAKE_PTR(volname);
	return 0;
bad:
	r = error_param(err, "target", "%s", e ? e->msg : "invalid volume");
	error_free(e);
	return r;
}

static int api_volume_copy(struct api_call *call, json_t **ret, struct error **err)
{
	_cleanup_(vol_call_clear) struct vol_call v = {0};
	_cleanup_free_ char *dst_storeid = NULL, *dst_volname = NULL;
	const char *target_node = api_param_str(call, "target_node");
	struct volname_info ti = {0};
	struct storage *dst = NULL;
	struct storage_volume exists = {0};
	struct error *e = NULL;
	int r;

	r = vol_call_resolve(call, &v, err);
	if (r < 0)
		return r;
	r = resolve_target(call->ctx, v.storeid, api_param_str(call, "target"), &dst_storeid,
	                   &dst_volname, &ti, err);
	if (r < 0)
		return r;
	long vmid = ti.vmid;
	_cleanup_free_ char *dst_name = TAKE_PTR(ti.name);
	volname_info_clear(&ti);

	/* read the source and allocate for the target's owner, or allocate
	 * freely on both storages (PVE's copy needs Datastore.Allocate) */
	bool allowed = (api_storage_volume_access(call, v.storeid, vtype_to_string(v.info.vtype),
	                                          v.info.vmid) &&
	                has_priv(call, dst_storeid, "Datastore.AllocateSpace") &&
	                has_vm_priv(call, vmid, "VM.Allocate")) ||
	               (has_priv(call, v.storeid, "Datastore.Allocate") &&
	                has_priv(call, dst_storeid, "Datastore.Allocate"));
	if (!allowed)
		return denied(err);
	if (target_node && !streq(target_node, call->ctx->node))
		return error_param(err, "target_node",
		                   "copying to another node is not supported (yet)");
	if (streq(dst_storeid, v.storeid) && streq(dst_volname, v.volname))
		return error_param(err, "target", "source and target are the same volume");

	r = vol_call_open(call, &v, NULL, err);
	if (r < 0)
		return r;
	r = api_storage_open(call->ctx, dst_storeid, &dst, err);
	if (r < 0)
		return r;
	/* an existing target would fail the task; say so now */
	r = storage_info(dst, dst_volname, &exists, &e);
	storage_volume_clear(&exists);
	storage_free(dst);
	if (r >= 0)
		return error_set(err, -EEXIST, 500, "volume '%s:%s' already exists", dst_storeid,
		                 dst_volname);
	if (e && e->http_status == 400) { /* a name this backend does not take */
		error_propagate(err, e);
		return r;
	}
	error_free(e);

	_cleanup_json_ json_t *args =
	    json_pack("{s:s, s:s, s:s, s:I}", "storage", v.storeid, "volume", v.volname,
	              "target-storage", dst_storeid, "vmid", (json_int_t)vmid);
	if (dst_name)
		json_object_set_new(args, "target-name", json_string(dst_name));
	r = api_start_op(call, "imgcopy", v.storeid, args, ret, err);
	if (r < 0)
		return r;
	log_info("copy of '%s:%s' to '%s:%s' started by '%s'", v.storeid, v.volname, dst_storeid,
	         dst_volname, call->authid);
	return 0;
}

/* ---- the rows ----------------------------------------------------------- */

#define P_SNAPNAME(opt)                                                                  \
	{                                                                                \
		.name = "snapname", .type = API_TYPE_STRING, .format = "pve-configid",   \
		.optional = (opt), .max_length = 40,                                     \
		.description = "The name of the snapshot ([a-zA-Z][a-zA-Z0-9_-]{1,39})." \
	}

#define PERM_SNAPSHOT(priv)                                                               \
	API_ANY_USER("'Datastore.Allocate' on the storage, or 'Datastore.AllocateSpace' " \
	             "on it and '" priv "' on /vms/<owner of the volume>.")

const struct api_method api_methods_storage_volume[] = {
    {
        .path = "/nodes/{node}/storage/{storage}/content/{volume}",
        .verb = "POST",
        .name = "copy",
        .description = "Copy a volume: a full copy to a new volume on this or another "
                       "storage of this node (any backend), in the format the target's name "
                       "gives, else the source's if the target storage supports it, else "
                       "the target storage's default.",
        .params =
            (const struct api_param[]){
                API_PARAM_NODE,
                API_PARAM_STORAGE,
                API_PARAM_VOLUME,
                {.name = "target",
                 .type = API_TYPE_STRING,
                 .format = "pve-volume-id-or-name",
                 .max_length = 4096,
                 .description = "Target volume identifier (storage:vmid/name), or a volume "
                                "name on the source's storage."},
                {.name = "target_node",
                 .type = API_TYPE_STRING,
                 .format = "pve-node",
                 .optional = true,
                 .description = "Target node. Default is local node (ctvm: only the "
                                "local node)."},
                API_END},
        .returns = {.type = API_TYPE_STRING},
        .perm = API_ANY_USER("Read access to the source volume, 'Datastore.AllocateSpace' on "
                             "the target storage and 'VM.Allocate' on the target's owner; "
                             "or 'Datastore.Allocate' on both storages."),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_volume_copy,
    },
    {
        .path = "/nodes/{node}/storage/{storage}/snapshots/{volume}",
        .verb = "GET",
        .name = "volume_snapshot_list",
        .description = "List the snapshots of a volume, oldest first (ctvm extension; "
                       "Proxmox lists snapshots of guests only).",
        .params = (const struct api_param[]){API_PARAM_NODE, API_PARAM_STORAGE, API_PARAM_VOLUME,
                                             API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("You need read access for the volume (PVE's "
                             "check_volume_access)."),
        .handler = api_snapshot_list,
    },
    {
        .path = "/nodes/{node}/storage/{storage}/snapshots/{volume}",
        .verb = "POST",
        .name = "volume_snapshot",
        .description = "Snapshot a volume (ctvm extension; Proxmox snapshots guests only).",
        .params = (const struct api_param[]){API_PARAM_NODE, API_PARAM_STORAGE, API_PARAM_VOLUME,
                                             P_SNAPNAME(false), API_END},
        .returns = {.type = API_TYPE_STRING},
        .perm = PERM_SNAPSHOT("VM.Snapshot"),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_snapshot_create,
    },
    {
        .path = "/nodes/{node}/storage/{storage}/snapshots/{volume}",
        .verb = "DELETE",
        .name = "volume_delsnapshot",
        .description = "Delete a snapshot of a volume (ctvm extension; Proxmox deletes "
                       "snapshots of guests only).",
        .params = (const struct api_param[]){API_PARAM_NODE, API_PARAM_STORAGE, API_PARAM_VOLUME,
                                             P_SNAPNAME(false), API_END},
        .returns = {.type = API_TYPE_STRING},
        .perm = PERM_SNAPSHOT("VM.Snapshot"),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_snapshot_delete,
    },
    {
        .path = "/nodes/{node}/storage/{storage}/rollback/{volume}",
        .verb = "POST",
        .name = "volume_rollback",
        .description = "Roll a volume back to a snapshot (ctvm extension; Proxmox rolls "
                       "back guests only). Protected volumes are refused.",
        .params =
            (const struct api_param[]){
                API_PARAM_NODE,
                API_PARAM_STORAGE,
                API_PARAM_VOLUME,
                P_SNAPNAME(false),
                {.name = "destroy-newer",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .description = "On a storage that can only roll back to the latest "
                                "snapshot (zfspool): destroy the newer snapshots. Without "
                                "it such a rollback is refused, naming them."},
                API_END},
        .returns = {.type = API_TYPE_STRING},
        .perm = PERM_SNAPSHOT("VM.Snapshot.Rollback"),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_snapshot_rollback,
    },
    {
        .path = "/nodes/{node}/storage/{storage}/template/{volume}",
        .verb = "POST",
        .name = "volume_template",
        .description = "Turn a volume into a base volume for linked clones (vm-N-disk-M "
                       "becomes base-N-disk-M, read-only) and return its new volume id "
                       "(ctvm extension; Proxmox converts whole guests).",
        .params = (const struct api_param[]){API_PARAM_NODE, API_PARAM_STORAGE, API_PARAM_VOLUME,
                                             API_END},
        .returns = {.type = API_TYPE_STRING},
        .perm = API_ANY_USER("'Datastore.Allocate' on the storage, or "
                             "'Datastore.AllocateSpace' on it and 'VM.Allocate' on "
                             "/vms/<owner of the volume>."),
        .flags = API_PROTECTED,
        .handler = api_volume_template,
    },
    {
        .path = "/nodes/{node}/storage/{storage}/clone/{volume}",
        .verb = "POST",
        .name = "volume_clone",
        .description = "Create a linked clone of a base volume (or, where the storage "
                       "can, of a snapshot of one) for a guest and return its volume id "
                       "(ctvm extension; Proxmox clones whole guests).",
        .params =
            (const struct api_param[]){API_PARAM_NODE, API_PARAM_STORAGE, API_PARAM_VOLUME,
                                       API_PARAM_VMID_AS(false, "The owner of the new volume."),
                                       P_SNAPNAME(true), API_END},
        .returns = {.type = API_TYPE_STRING},
        .perm = API_CHECK_DESC(API_PERM("/vms/{vmid}", "VM.Allocate"),
                               "'VM.Allocate' on /vms/<vmid>, and 'Datastore.Allocate' on "
                               "the storage or 'Datastore.AllocateSpace' on it and 'VM.Clone' "
                               "on /vms/<owner of the base>."),
        .flags = API_PROTECTED,
        .handler = api_volume_clone,
    },
    {.path = NULL},
};

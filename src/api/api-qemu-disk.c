/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A VM's disks as a whole: PUT /nodes/{node}/qemu/{vmid}/resize (a task in
 * PVE 8+: answers the UPID of `resize`), POST .../template (qmtemplate) and
 * POST .../clone (qmclone).  Handlers refuse early what the task would
 * refuse (a missing disk, a cdrom, the state rules, a stale digest, a used
 * new id) and check the privileges PVE checks beyond the row's: for a
 * resize Datastore.AllocateSpace on the disk's storage, for a clone
 * VM.Allocate on the new id and Datastore.AllocateSpace on the target
 * storage (or on each disk's storage).
 */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api-guest-rows.h"
#include "api-guest.h"
#include "api-internal.h"
#include "api.h"
#include "config-store.h"
#include "error.h"
#include "guest.h"
#include "jsonutil.h"
#include "storage-ops.h"
#include "storage.h"
#include "volid.h"
#include "xalloc.h"

static const struct guest_kind_ops *qemu_kind(void)
{
	return guest_kind_find("qemu");
}

/* every kind's (api-guest.h): the task type is "resize" for all */
int api_guest_resize(struct api_call *call, json_t **ret, struct error **err)
{
	const struct guest_kind_ops *k = api_guest_kind(call);
	long long vmid = api_param_int(call, "vmid", 0);
	const char *disk = api_param_str(call, "disk");
	const char *size = api_param_str(call, "size");
	const char *digest = api_param_str(call, "digest");
	bool skiplock = api_param_bool(call, "skiplock", false);
	if (skiplock && !streq(call->authid, "root@pam"))
		return error_param(err, "skiplock", "Only root may use this option.");
	bool rel;
	uint64_t bytes;
	int r = guest_resize_parse(size, &rel, &bytes, err);
	if (r < 0)
		return r;

	struct guest g = {0};
	r = api_guest_get_checked(call, k, vmid, GUEST_OP_RESIZE, skiplock ? GUEST_SKIPLOCK : 0,
	                          digest, &g, NULL, err);
	if (r < 0)
		return r;
	r = guest_resize_check(k, g.conf, disk, err);
	_cleanup_free_ char *file =
	    r == 0 ? k->disk_file(disk, json_string_value(json_object_get(g.conf, disk))) : NULL;
	guest_release(&g);
	if (r < 0)
		return r;
	/* PVE: growing a disk takes space on its storage */
	_cleanup_free_ char *storeid = xstrndup(file, strcspn(file, ":"));
	_cleanup_free_ char *path = xasprintf("/storage/%s", storeid);
	if (!api_call_has_priv(call, path, "Datastore.AllocateSpace"))
		return error_set(err, -EACCES, 403, "Permission check failed (%s, %s)", path,
		                 "Datastore.AllocateSpace");

	_cleanup_json_ json_t *args =
	    json_pack("{s:I, s:s, s:s}", "vmid", (json_int_t)vmid, "disk", disk, "size", size);
	if (digest)
		json_object_set_new(args, "digest", json_string(digest));
	if (skiplock)
		json_object_set_new(args, "skiplock", json_true());
	return api_guest_start_op(call, "resize", vmid, args, ret, err);
}

static int denied(const char *path, const char *priv, struct error **err)
{
	return error_set(err, -EACCES, 403, "Permission check failed (%s, %s)", path, priv);
}

int api_guest_template(struct api_call *call, json_t **ret, struct error **err)
{
	const struct guest_kind_ops *k = api_guest_kind(call);
	long long vmid = api_param_int(call, "vmid", 0);
	const char *disk = api_param_str(call, "disk");
	struct guest g = {0};
	int r = api_guest_get_checked(call, k, vmid, GUEST_OP_TEMPLATE, 0, NULL, &g, NULL, err);
	if (r < 0)
		return r;
	if (disk && !json_object_get(g.conf, disk))
		r = error_set(err, -ENOENT, 500, "disk '%s' does not exist", disk);
	guest_release(&g);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *args = json_pack("{s:I}", "vmid", (json_int_t)vmid);
	if (disk)
		json_object_set_new(args, "disk", json_string(disk));
	return api_guest_start_kind_op(call, k, "template", vmid, args, ret, err);
}

/* Datastore.AllocateSpace on the storage of every disk of conf. */
static int check_disk_storages(struct api_call *call, const struct guest_kind_ops *k,
                               const json_t *conf, struct error **err)
{
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)conf, key, v) {
		_cleanup_free_ char *file = k->disk_file(key, json_string_value(v));
		if (!file || !strchr(file, ':') || file[0] == '/' ||
		    strstr(json_string_value(v), "media=cdrom") || !strncmp(key, "unused", 6))
			continue;
		_cleanup_free_ char *storeid = xstrndup(file, strcspn(file, ":"));
		_cleanup_free_ char *path = xasprintf("/storage/%s", storeid);
		if (!api_call_has_priv(call, path, "Datastore.AllocateSpace"))
			return denied(path, "Datastore.AllocateSpace", err);
	}
	return 0;
}

/* PVE's clone_vm of a container: a linked clone needs every volume of the
 * template to be a base (the clone feature of a base); a template's subvol
 * on dir storage is none (create_base keeps its name), so it is cloned in
 * full only.  500 "Linked clone feature for 'ct:100/...' is not
 * available" before any task. */
static int check_linked(struct api_call *call, const struct guest_kind_ops *k, const json_t *conf,
                        struct error **err)
{
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)conf, key, v) {
		_cleanup_free_ char *file = k->disk_file(key, json_string_value(v));
		if (!file || !strchr(file, ':') || file[0] == '/' || !strncmp(key, "unused", 6))
			continue;
		struct volid vid = {0};
		_cleanup_(storage_freep) struct storage *st = NULL;
		struct volname_info vi = {0};
		int r = volid_parse(file, &vid, err);
		if (r == 0)
			r = storage_load_open_enabled(guest_store_storage(call->ctx->guests),
			                              call->ctx->node, vid.storeid, &st, err);
		bool base =
		    r == 0 && storage_parse_volname(st, vid.volname, &vi, NULL) == 0 && vi.is_base;
		volname_info_clear(&vi);
		volid_clear(&vid);
		if (r < 0)
			return r;
		if (!base)
			return error_set(err, -EOPNOTSUPP, 500,
			                 "Linked clone feature for '%s' is not available", file);
	}
	return 0;
}

int api_guest_clone(struct api_call *call, json_t **ret, struct error **err)
{
	const struct guest_kind_ops *k = api_guest_kind(call);
	/* a container's name is its hostname */
	const char *name_key = streq(k->type, "qemu") ? "name" : "hostname";
	struct guest_store *gs = call->ctx->guests;
	long long vmid = api_param_int(call, "vmid", 0);
	long long newid = api_param_int(call, "newid", 0);
	const char *storage = api_param_str(call, "storage");
	const char *format = api_param_str(call, "format");
	const char *target = api_param_str(call, "target");
	const char *pool = NULL;

	if (target && !streq(target, guest_store_node(gs)))
		return error_param(err, "target", "no cluster: the target node must be this node");
	/* PVE's check_pool_exist (and ctvm's Pool.Allocate, as on create) */
	int r = api_guest_check_pool(call, &pool, err);
	if (r < 0)
		return r;
	const char *snapname = api_param_str(call, "snapname");
	const char *name = api_param_str(call, name_key);
	if (name) {
		_cleanup_free_ char *norm = NULL;
		r = guest_config_check_value(k, name_key, name, &norm, err);
		if (r < 0)
			return r;
	}
	if (newid == vmid)
		return error_param(err, "newid", "clone to itself is not possible");
	/* PVE: VM.Allocate on the new id, or on the pool it joins */
	_cleanup_free_ char *newpath = xasprintf("/vms/%lld", newid);
	_cleanup_free_ char *poolpath = pool ? xasprintf("/pool/%s", pool) : NULL;
	if (!api_call_has_priv(call, newpath, "VM.Allocate") &&
	    !(poolpath && api_call_has_priv(call, poolpath, "VM.Allocate")))
		return denied(newpath, "VM.Allocate", err);

	struct guest g = {0};
	bool running = false;
	r = api_guest_get_checked(call, k, vmid, GUEST_OP_CLONE, 0, NULL, &g, &running, err);
	if (r < 0)
		return r;
	bool tmpl = streq_ptr(json_string_value(json_object_get(g.conf, "template")), "1");
	bool full = api_param_bool(call, "full", !tmpl);
	/* a running VM's disks are mirrored live (qemu), not a snapshot's */
	if (running && (!streq(k->type, "qemu") || snapname))
		r = error_set(err, -EBUSY, 500,
		              "VM %lld is running - clone of a running VM is not supported", vmid);
	if (r == 0 && !full && !tmpl)
		r = error_set(err, -EINVAL, 500,
		              "linked clone feature is only available for templates - use full "
		              "clone");
	if (r == 0 && !full && storage)
		r = error_param(err, "storage",
		                "parameter 'storage' not allowed for linked clones");
	if (r == 0 && !full && format)
		r = error_param(err, "format", "parameter 'format' not allowed for linked clones");
	if (r == 0 && !full && !streq(k->type, "qemu"))
		r = check_linked(call, k, g.conf, err);
	/* PVE: the snapshot's section gives the disks whose storages are checked */
	_cleanup_json_ json_t *section = NULL;
	if (r == 0)
		r = guest_clone_check(gs, k, vmid, snapname, full, &section, err);
	if (r == 0 && storage) {
		_cleanup_free_ char *path = xasprintf("/storage/%s", storage);
		if (!api_call_has_priv(call, path, "Datastore.AllocateSpace"))
			r = denied(path, "Datastore.AllocateSpace", err);
	} else if (r == 0) {
		r = check_disk_storages(call, k, section, err);
	}
	guest_release(&g);
	if (r == 0)
		r = guest_vmid_unused(gs, (long)newid, err);
	if (r < 0)
		return r;

	_cleanup_json_ json_t *args = json_pack("{s:I, s:I, s:b}", "vmid", (json_int_t)vmid,
	                                        "newid", (json_int_t)newid, "full", full);
	static const char *const opt[] = {"description", "storage", "format", "snapname", NULL};
	for (const char *const *o = opt; *o; o++)
		if (api_param_str(call, *o))
			json_object_set_new(args, *o, json_string(api_param_str(call, *o)));
	if (name)
		json_object_set_new(args, "name", json_string(name));
	if (pool)
		json_object_set_new(args, "pool", json_string(pool));
	return api_guest_start_kind_op(call, k, "clone", vmid, args, ret, err);
}

static const char *const clone_formats[] = {"raw", "qcow2", "vmdk", NULL};

int api_guest_move(struct api_call *call, json_t **ret, struct error **err)
{
	const struct guest_kind_ops *k = api_guest_kind(call);
	bool qemu = streq(k->type, "qemu");
	long long vmid = api_param_int(call, "vmid", 0);
	/* move_disk's disk, a container's move_volume's volume */
	const char *disk = api_param_str(call, qemu ? "disk" : "volume");
	const char *storage = api_param_str(call, "storage");
	const char *format = api_param_str(call, "format");
	const char *digest = api_param_str(call, "digest");
	bool del = api_param_bool(call, "delete", false);
	if (api_param_has(call, "target-vmid") || api_param_has(call, "target-digest") ||
	    api_param_has(call, "target-disk"))
		return error_param(err, "target-vmid",
		                   "reassigning a disk to another VM is not supported yet");
	if (!storage)
		return error_param(err, "storage", "property is missing and it is not optional");
	_cleanup_free_ char *spath = xasprintf("/storage/%s", storage);
	if (!api_call_has_priv(call, spath, "Datastore.AllocateSpace"))
		return denied(spath, "Datastore.AllocateSpace", err);
	struct guest g = {0};
	bool running = false;
	int r =
	    api_guest_get_checked(call, k, vmid, GUEST_OP_MOVE_DISK, 0, digest, &g, &running, err);
	if (r < 0)
		return r;
	if (running)
		r = qemu
		        ? error_set(err, -EBUSY, 500,
		                    "moving a disk of a running VM is not supported (no "
		                    "drive-mirror)")
		        : error_set(err, -EBUSY, 500, "cannot move volumes of a running container");
	if (r == 0)
		r = guest_move_check(k, conf_snapshot_data(g.snap), disk, storage, format, del,
		                     err);
	guest_release(&g);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *args = json_pack("{s:I, s:s, s:s, s:b}", "vmid", (json_int_t)vmid,
	                                        "disk", disk, "storage", storage, "delete", del);
	if (format)
		json_object_set_new(args, "format", json_string(format));
	if (digest)
		json_object_set_new(args, "digest", json_string(digest));
	return api_guest_start_op(call, qemu ? "qmmove" : "move_volume", vmid, args, ret, err);
}

static int api_unlink(struct api_call *call, json_t **ret, struct error **err)
{
	long long vmid = api_param_int(call, "vmid", 0);
	*ret = json_null();
	int r = guest_find(call->ctx->guests, qemu_kind(), (long)vmid, NULL, err);
	if (r < 0)
		return r;
	return guest_disk_unlink(call->ctx->guests, qemu_kind(), (long)vmid,
	                         api_param_str(call, "idlist"),
	                         api_param_bool(call, "force", false), err);
}

#define MOVE_DISK_ROW(p, nm)                                                                    \
	{                                                                                       \
		.path = (p), .verb = "POST", .name = (nm),                                      \
		.description = "Move volume to different storage or to a different VM.",        \
		.params = move_params, .returns = {.type = API_TYPE_STRING},                    \
		.perm = API_CHECK_DESC(API_PERM("/vms/{vmid}", "VM.Config.Disk"),               \
		                       "You need 'VM.Config.Disk' permissions on /vms/{vmid}, " \
		                       "and 'Datastore.AllocateSpace' permissions on the "      \
		                       "storage."),                                             \
		.flags = API_ASYNC | API_PROTECTED, .handler = api_guest_move,                  \
	}

static const struct api_param move_params[] = {
    API_PARAM_NODE,
    API_PARAM_VMID,
    API_PARAM_DIGEST,
    {.name = "disk",
     .type = API_TYPE_STRING,
     .max_length = 16,
     .description = "The disk you want to move."},
    {.name = "storage",
     .type = API_TYPE_STRING,
     .format = "pve-storage-id",
     .optional = true,
     .max_length = 100,
     .description = "Target storage."},
    {.name = "format",
     .type = API_TYPE_STRING,
     .enum_values = clone_formats,
     .optional = true,
     .description = "Target Format."},
    {.name = "delete",
     .type = API_TYPE_BOOLEAN,
     .optional = true,
     .default_text = "0",
     .description = "Delete the original disk after successful copy. By default the original "
                    "disk is kept as unused disk."},
    {.name = "bwlimit",
     .type = API_TYPE_INTEGER,
     .optional = true,
     .has_min = true,
     .minimum = 0,
     .description = "Override I/O bandwidth limit (in KiB/s) (ignored)."},
    {.name = "target-vmid",
     .type = API_TYPE_INTEGER,
     .format = "pve-vmid",
     .optional = true,
     .description = "The (unique) ID of the VM (not supported yet)."},
    {.name = "target-disk",
     .type = API_TYPE_STRING,
     .optional = true,
     .max_length = 16,
     .description = "The config key the disk will be moved to (not supported yet)."},
    {.name = "target-digest",
     .type = API_TYPE_STRING,
     .optional = true,
     .max_length = 64,
     .description = "Prevent changes if the target VM's config digest differs."},
    API_END};

const struct api_method api_methods_qemu_disk[] = {
    {
        .path = "/nodes/{node}/qemu/{vmid}/resize",
        .verb = "PUT",
        .name = "resize_vm",
        .description = "Extend volume size.",
        .params =
            (const struct api_param[]){
                API_PARAM_NODE,
                API_PARAM_VMID,
                API_PARAM_DIGEST,
                {.name = "skiplock",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .description = "Ignore locks - only root is allowed to use this option."},
                {.name = "disk",
                 .type = API_TYPE_STRING,
                 .max_length = 16,
                 .description = "The disk you want to resize."},
                {.name = "size",
                 .type = API_TYPE_STRING,
                 .max_length = 32,
                 .description = "The new size. With the `+` sign the value is added to the "
                                "actual size of the volume and without it, the value is taken "
                                "as an absolute one. Shrinking disk size is not supported."},
                API_END},
        .returns = {.type = API_TYPE_STRING, .description = "the task ID."},
        .perm = API_CHECK_DESC(API_PERM("/vms/{vmid}", "VM.Config.Disk"),
                               "You need 'VM.Config.Disk' on /vms/{vmid} and "
                               "'Datastore.AllocateSpace' on the disk's storage."),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_guest_resize,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/template",
        .verb = "POST",
        .name = "template",
        .description = "Create a Template.",
        .params = (const struct api_param[]){API_PARAM_NODE,
                                             API_PARAM_VMID,
                                             {.name = "disk",
                                              .type = API_TYPE_STRING,
                                              .optional = true,
                                              .max_length = 16,
                                              .description = "If you want to convert only 1 "
                                                             "disk to base image."},
                                             API_END},
        .returns = {.type = API_TYPE_STRING, .description = "the task ID."},
        .perm = API_CHECK(API_PERM("/vms/{vmid}", "VM.Allocate")),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_guest_template,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/clone",
        .verb = "POST",
        .name = "clone_vm",
        .description = "Create a copy of virtual machine/template.",
        .params =
            (const struct api_param[]){
                API_PARAM_NODE,
                API_PARAM_VMID,
                P_CLONE_NEWID,
                {.name = "name",
                 .type = API_TYPE_STRING,
                 .optional = true,
                 .max_length = 128,
                 .description = "Set a name for the new VM."},
                P_CLONE_COPY("VM"),
                {.name = "format",
                 .type = API_TYPE_STRING,
                 .enum_values = clone_formats,
                 .optional = true,
                 .description = "Target format for file storage. Only valid for full clone."},
                P_CLONE_MODE("VM"),
                API_END},
        .returns = {.type = API_TYPE_STRING, .description = "the task ID."},
        .perm = API_CHECK_DESC(API_PERM("/vms/{vmid}", "VM.Clone"),
                               "You need 'VM.Clone' permissions on /vms/{vmid}, and "
                               "'VM.Allocate' permissions on /vms/{newid}. For any storage "
                               "a disk is cloned to you need 'Datastore.AllocateSpace'."),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_guest_clone,
    },
    MOVE_DISK_ROW("/nodes/{node}/qemu/{vmid}/move_disk", "move_vm_disk"),
    MOVE_DISK_ROW("/nodes/{node}/qemu/{vmid}/move-disk", "move_vm_disk_alias"),
    {
        .path = "/nodes/{node}/qemu/{vmid}/unlink",
        .verb = "PUT",
        .name = "unlink",
        .description = "Unlink/delete disk images.",
        .params = (const struct api_param[]){API_PARAM_NODE,
                                             API_PARAM_VMID,
                                             {.name = "idlist",
                                              .type = API_TYPE_STRING,
                                              .format = "pve-configid-list",
                                              .max_length = 4096,
                                              .description = "A list of disk IDs you want to "
                                                             "delete."},
                                             {.name = "force",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .description = "Force physical removal. Without "
                                                             "this, we simple remove the disk "
                                                             "from the config file and create "
                                                             "an additional configuration "
                                                             "entry called 'unused[n]', which "
                                                             "contains the volume ID."},
                                             API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK(API_PERM("/vms/{vmid}", "VM.Config.Disk")),
        .flags = API_PROTECTED,
        .handler = api_unlink,
    },
    {.path = NULL},
};

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Operations on one disk of a VM: PUT /nodes/{node}/qemu/{vmid}/resize (a
 * task in PVE 8+: answers the UPID of `resize`).  The handler refuses early
 * what the task would refuse (a missing disk, a cdrom, the state rules, a
 * stale digest) and checks Datastore.AllocateSpace on the disk's storage,
 * as PVE.
 */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api-internal.h"
#include "api.h"
#include "config-store.h"
#include "error.h"
#include "guest.h"
#include "jsonutil.h"
#include "xalloc.h"

static const struct guest_kind_ops *qemu_kind(void)
{
	return guest_kind_find("qemu");
}

static int api_resize(struct api_call *call, json_t **ret, struct error **err)
{
	const struct guest_kind_ops *k = qemu_kind();
	struct guest_store *gs = call->ctx->guests;
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
	r = guest_get(gs, k, (long)vmid, &g, err);
	if (r < 0)
		return r;
	if (digest && !streq(digest, conf_snapshot_digest(g.snap)))
		r = error_set(err, -ESTALE, 500,
		              "detected modified configuration - file changed by other user? "
		              "Try again.");
	bool running = false;
	if (r == 0)
		r = guest_is_running(gs, k, (long)vmid, &running, NULL, err);
	if (r == 0) {
		struct guest_state st = {.conf = g.conf, .running = running};
		r = guest_check_op(k, (long)vmid, &st, GUEST_OP_RESIZE,
		                   skiplock ? GUEST_SKIPLOCK : 0, err);
	}
	if (r == 0)
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
	char id[24];
	snprintf(id, sizeof(id), "%lld", vmid);
	return api_start_op(call, "resize", id, args, ret, err);
}

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
        .handler = api_resize,
    },
    {.path = NULL},
};

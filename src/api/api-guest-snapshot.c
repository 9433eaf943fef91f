/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * /nodes/{node}/<type>/{vmid}/snapshot: a guest's snapshots, for every
 * kind (PVE::API2::Qemu's and PVE::API2::LXC::Snapshot's methods).
 * Handlers refuse early what the task would refuse (a missing guest or
 * snapshot, a used name, the state rules) and start the guest layer's
 * tasks <pfx>snapshot, <pfx>delsnapshot and <pfx>rollback.  The rows of
 * each kind are one macro, the kind's path its argument.
 */
#include "common.h"

#include <errno.h>
#include <string.h>

#include "api-guest.h"
#include "api-internal.h"
#include "xalloc.h"
#include "api.h"
#include "config-store.h"
#include "error.h"
#include "guest.h"
#include "jsonutil.h"

/* The early checks of an operation on snapshot name of the VM: the VM
 * exists, the rules allow op (_GUEST_OP_MAX: no op), and the snapshot exists (must_exist) or not.
 */
static int snap_check(struct api_call *call, enum guest_op op, const char *name, bool must_exist,
                      struct error **err)
{
	const struct guest_kind_ops *k = api_guest_kind(call);
	struct guest_store *gs = call->ctx->guests;
	long vmid = (long)api_param_int(call, "vmid", 0);
	struct guest g = {0};
	int r = guest_get(gs, k, vmid, &g, err);
	if (r < 0)
		return r;
	bool running = false;
	r = guest_is_running(gs, k, vmid, &running, NULL, err);
	if (r == 0 && op != _GUEST_OP_MAX) {
		struct guest_state st = {.conf = g.conf, .running = running};
		r = guest_check_op(k, vmid, &st, op, 0, err);
	}
	if (r == 0 && name) {
		json_t *snaps = k->snapshot_sections(conf_snapshot_data(g.snap));
		bool exists = json_object_get(snaps, name) != NULL;
		if (must_exist && !exists)
			r = error_set(err, -ENOENT, 500, "snapshot '%s' does not exist", name);
		else if (!must_exist && exists)
			r = error_set(err, -EEXIST, 500, "snapshot name '%s' already used", name);
	}
	guest_release(&g);
	return r;
}

static int start_snap_op(struct api_call *call, const char *op, json_t *args, json_t **ret,
                         struct error **err)
{
	long long vmid = api_param_int(call, "vmid", 0);
	json_object_set_new(args, "vmid", json_integer(vmid));
	char id[24];
	snprintf(id, sizeof(id), "%lld", vmid);
	_cleanup_free_ char *type = api_guest_task_type(api_guest_kind(call), op);
	return api_start_op(call, type, id, args, ret, err);
}

int api_guest_snapshot_list(struct api_call *call, json_t **ret, struct error **err)
{
	return guest_snapshot_list(call->ctx->guests, api_guest_kind(call),
	                           (long)api_param_int(call, "vmid", 0), ret, err);
}

int api_guest_snapshot_create(struct api_call *call, json_t **ret, struct error **err)
{
	const char *name = api_param_str(call, "snapname");
	/* PVE: "current" names the live state in the list */
	if (streq(name, "current"))
		return error_param(err, "snapname", "invalid snapshot name 'current'");
	int r = snap_check(call, GUEST_OP_SNAPSHOT, name, false, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *args = json_pack("{s:s}", "snapname", name);
	if (api_param_str(call, "description"))
		json_object_set_new(args, "description",
		                    json_string(api_param_str(call, "description")));
	if (api_param_bool(call, "vmstate", false))
		json_object_set_new(args, "vmstate", json_true());
	return start_snap_op(call, "snapshot", args, ret, err);
}

int api_guest_snapshot_index(struct api_call *call, json_t **ret, struct error **err)
{
	int r = snap_check(call, _GUEST_OP_MAX, api_param_str(call, "snapname"), true, err);
	if (r < 0)
		return r;
	*ret = json_pack("[{s:s}, {s:s}]", "subdir", "rollback", "subdir", "config");
	return 0;
}

int api_guest_snapshot_delete(struct api_call *call, json_t **ret, struct error **err)
{
	const char *name = api_param_str(call, "snapname");
	bool force = api_param_bool(call, "force", false);
	int r = snap_check(call, GUEST_OP_DELSNAPSHOT, name, true, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *args = json_pack("{s:s, s:b}", "snapname", name, "force", force);
	return start_snap_op(call, "delsnapshot", args, ret, err);
}

int api_guest_snapshot_rollback(struct api_call *call, json_t **ret, struct error **err)
{
	const char *name = api_param_str(call, "snapname");
	int r = snap_check(call, GUEST_OP_ROLLBACK, name, true, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *args = json_pack("{s:s, s:b}", "snapname", name, "start",
	                                        api_param_bool(call, "start", false));
	return start_snap_op(call, "rollback", args, ret, err);
}

int api_guest_snapshot_config(struct api_call *call, json_t **ret, struct error **err)
{
	return guest_config_read(call->ctx->guests, api_guest_kind(call),
	                         (long)api_param_int(call, "vmid", 0), true,
	                         api_param_str(call, "snapname"), ret, err);
}

int api_guest_snapshot_update(struct api_call *call, json_t **ret, struct error **err)
{
	const char *d = api_param_str(call, "description");
	*ret = json_null();
	if (!d)
		return 0; /* PVE: nothing to do */
	return guest_snapshot_set_description(call->ctx->guests, api_guest_kind(call),
	                                      (long)api_param_int(call, "vmid", 0),
	                                      api_param_str(call, "snapname"), d, err);
}

#define VM_PARAMS API_PARAM_NODE, API_PARAM_VMID
#define P_SNAPNAME                                                                     \
	{                                                                              \
		.name = "snapname", .type = API_TYPE_STRING, .format = "pve-configid", \
		.max_length = 40, .description = "The name of the snapshot."           \
	}
#define P_DESCRIPTION                                                                  \
	{                                                                              \
		.name = "description", .type = API_TYPE_STRING, .optional = true,      \
		.max_length = 8192, .description = "A textual description or comment." \
	}
#define UPID_RETURN                                                      \
	{                                                                \
		.type = API_TYPE_STRING, .description = "The task UPID." \
	}
#define PERM_VM(priv) API_CHECK(API_PERM("/vms/{vmid}", priv))

/* The snapshot rows of kind KIND (its NOUN in the descriptions); the
 * create row's extra parameters last (each with a comma). */
#define SNAPSHOT_ROWS(KIND, NOUN, ...)                                                             \
	{                                                                                          \
	    .path = "/nodes/{node}/" KIND "/{vmid}/snapshot",                                      \
	    .verb = "GET",                                                                         \
	    .name = "snapshot_list",                                                               \
	    .description = "List all snapshots.",                                                  \
	    .params = (const struct api_param[]){VM_PARAMS, API_END},                              \
	    .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},                         \
	    .perm = PERM_VM("VM.Audit"),                                                           \
	    .handler = api_guest_snapshot_list,                                                    \
	},                                                                                         \
	    {                                                                                      \
	        .path = "/nodes/{node}/" KIND "/{vmid}/snapshot",                                  \
	        .verb = "POST",                                                                    \
	        .name = "snapshot",                                                                \
	        .description = "Snapshot a " NOUN ".",                                             \
	        .params = (const struct api_param[]){VM_PARAMS, P_SNAPNAME, P_DESCRIPTION,         \
	                                             __VA_ARGS__ API_END},                         \
	        .returns = UPID_RETURN,                                                            \
	        .perm = PERM_VM("VM.Snapshot"),                                                    \
	        .flags = API_ASYNC | API_PROTECTED,                                                \
	        .handler = api_guest_snapshot_create,                                              \
	    },                                                                                     \
	    {                                                                                      \
	        .path = "/nodes/{node}/" KIND "/{vmid}/snapshot/{snapname}",                       \
	        .verb = "GET",                                                                     \
	        .name = "snapshot_cmd_idx",                                                        \
	        .description = "Directory index",                                                  \
	        .params = (const struct api_param[]){VM_PARAMS, P_SNAPNAME, API_END},              \
	        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},                     \
	        .perm = PERM_VM("VM.Audit"),                                                       \
	        .handler = api_guest_snapshot_index,                                               \
	    },                                                                                     \
	    {                                                                                      \
	        .path = "/nodes/{node}/" KIND "/{vmid}/snapshot/{snapname}",                       \
	        .verb = "DELETE",                                                                  \
	        .name = "delsnapshot",                                                             \
	        .description = "Delete a " NOUN " snapshot.",                                      \
	        .params =                                                                          \
	            (const struct api_param[]){VM_PARAMS,                                          \
	                                       P_SNAPNAME,                                         \
	                                       {.name = "force",                                   \
	                                        .type = API_TYPE_BOOLEAN,                          \
	                                        .optional = true,                                  \
	                                        .description = "For removal from config file, "    \
	                                                       "even if removing disk snapshots "  \
	                                                       "fails."},                          \
	                                       API_END},                                           \
	        .returns = UPID_RETURN,                                                            \
	        .perm = PERM_VM("VM.Snapshot"),                                                    \
	        .flags = API_ASYNC | API_PROTECTED,                                                \
	        .handler = api_guest_snapshot_delete,                                              \
	    },                                                                                     \
	    {                                                                                      \
	        .path = "/nodes/{node}/" KIND "/{vmid}/snapshot/{snapname}/rollback",              \
	        .verb = "POST",                                                                    \
	        .name = "rollback",                                                                \
	        .description = "Rollback " NOUN " state to specified snapshot.",                   \
	        .params =                                                                          \
	            (const struct api_param[]){VM_PARAMS,                                          \
	                                       P_SNAPNAME,                                         \
	                                       {.name = "start",                                   \
	                                        .type = API_TYPE_BOOLEAN,                          \
	                                        .optional = true,                                  \
	                                        .default_text = "0",                               \
	                                        .description = "Whether the " NOUN " should get "  \
	                                                       "started after rolling back "       \
	                                                       "successfully."},                   \
	                                       API_END},                                           \
	        .returns = UPID_RETURN,                                                            \
	        .perm =                                                                            \
	            API_CHECK(API_PERM_ANY("/vms/{vmid}", "VM.Snapshot", "VM.Snapshot.Rollback")), \
	        .flags = API_ASYNC | API_PROTECTED,                                                \
	        .handler = api_guest_snapshot_rollback,                                            \
	    },                                                                                     \
	    {                                                                                      \
	        .path = "/nodes/{node}/" KIND "/{vmid}/snapshot/{snapname}/config",                \
	        .verb = "GET",                                                                     \
	        .name = "get_snapshot_config",                                                     \
	        .description = "Get snapshot configuration",                                       \
	        .params = (const struct api_param[]){VM_PARAMS, P_SNAPNAME, API_END},              \
	        .returns = {.type = API_TYPE_OBJECT},                                              \
	        .perm = PERM_VM("VM.Snapshot"),                                                    \
	        .handler = api_guest_snapshot_config,                                              \
	    },                                                                                     \
	    {                                                                                      \
	        .path = "/nodes/{node}/" KIND "/{vmid}/snapshot/{snapname}/config",                \
	        .verb = "PUT",                                                                     \
	        .name = "update_snapshot_config",                                                  \
	        .description = "Update snapshot metadata.",                                        \
	        .params =                                                                          \
	            (const struct api_param[]){VM_PARAMS, P_SNAPNAME, P_DESCRIPTION, API_END},     \
	        .returns = {.type = API_TYPE_NULL},                                                \
	        .perm = PERM_VM("VM.Snapshot"),                                                    \
	        .flags = API_PROTECTED,                                                            \
	        .handler = api_guest_snapshot_update,                                              \
	    },

const struct api_method api_methods_qemu_snapshot[] = {
    SNAPSHOT_ROWS("qemu", "VM",
                  {.name = "vmstate",
                   .type = API_TYPE_BOOLEAN,
                   .optional = true,
                   .description = "Save the vmstate"}, ){.path = NULL},
};

const struct api_method api_methods_lxc_snapshot[] = {SNAPSHOT_ROWS("lxc", "CT", ){.path = NULL}};

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * /pools: resource pools (pve-api.md 4.7 step 4), after PVE 8's
 * PVE::API2::Pool.  A pool groups guests and storages so that roles given
 * on /pool/<poolid> apply to its members.  Pools live in user.cfg; nested
 * pools ("a/b", up to three levels) need their parent.
 *
 * Guests and storages are not yet managed by ctvm, so membership is not
 * checked against existing guests or storage.cfg; members are listed with
 * this node's name.
 */
#define LOG_CATEGORY "access"
#include "common.h"

#include <sys/stat.h>

#include "access.h"
#include "api-access-util.h"
#include "api-internal.h"
#include "api.h"
#include "error.h"
#include "log.h"
#include "paths.h"
#include "fileio.h"
#include "usercfg.h"
#include "xalloc.h"

/* "lxc" when a container config exists for vmid, else "qemu". */
static const char *guest_type(const struct api_call *call, const char *vmid)
{
	_cleanup_free_ char *rel = xasprintf("lxc/%s.conf", vmid);
	_cleanup_free_ char *path = path_join(call->ctx->paths->etc, rel);
	struct stat st;
	return stat(path, &st) == 0 ? "lxc" : "qemu";
}

static json_t *members_json(const struct api_call *call, const struct usercfg_pool *p,
                            const char *type)
{
	const char *node = call->ctx->node;
	json_t *a = json_array();
	for (size_t i = 0; i < p->n_vms; i++) {
		const char *gt = guest_type(call, p->vms[i]);
		if (type && !streq(type, gt))
			continue;
		json_array_append_new(a, json_pack("{s:o, s:I, s:s, s:s}", "id",
		                                   json_sprintf("%s/%s", gt, p->vms[i]), "vmid",
		                                   (json_int_t)strtoll(p->vms[i], NULL, 10), "type",
		                                   gt, "node", node));
	}
	if (!type || streq(type, "storage"))
		for (size_t i = 0; i < p->n_storage; i++)
			json_array_append_new(
			    a,
			    json_pack("{s:o, s:s, s:s, s:s}", "id",
			              json_sprintf("storage/%s/%s", node, p->storage[i]), "storage",
			              p->storage[i], "type", "storage", "node", node));
	return a;
}

static bool may_audit(const struct api_call *call, const char *poolid)
{
	_cleanup_free_ char *path = xasprintf("/pool/%s", poolid);
	return api_call_has_priv(call, path, "Pool.Audit");
}

static int api_pools_list(struct api_call *call, json_t **ret, struct error **err)
{
	const struct usercfg *cfg = access_db_usercfg(call->db);
	const char *only = api_param_str(call, "poolid");
	const char *type = api_param_str(call, "type");
	if (type && !only)
		return error_param(err, "type", "parameter 'type' requires 'poolid'");
	json_t *a = json_array();
	for (size_t i = 0; i < cfg->n_pools; i++) {
		const struct usercfg_pool *p = cfg->pools[i];
		if ((only && !streq(only, p->poolid)) || !may_audit(call, p->poolid))
			continue;
		json_t *e = json_pack("{s:s}", "poolid", p->poolid);
		if (p->comment)
			json_object_set_new(e, "comment", json_string(p->comment));
		if (only)
			json_object_set_new(e, "members", members_json(call, p, type));
		json_array_append_new(a, e);
	}
	*ret = a;
	return 0;
}

static int api_pool_get(struct api_call *call, json_t **ret, struct error **err)
{
	const char *poolid = api_param_str(call, "poolid");
	const struct usercfg_pool *p = usercfg_find_pool(access_db_usercfg(call->db), poolid);
	if (!p)
		return error_set(err, -ENOENT, 500, "pool '%s' does not exist", poolid);
	json_t *o =
	    json_pack("{s:o}", "members", members_json(call, p, api_param_str(call, "type")));
	if (p->comment)
		json_object_set_new(o, "comment", json_string(p->comment));
	*ret = o;
	return 0;
}

static void set_comment(struct usercfg_pool *p, const char *comment)
{
	free(p->comment);
	p->comment = comment && *comment ? xstrdup(comment) : NULL;
}

static int do_create_pool(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                          struct error **err)
{
	struct api_call *call = arg;
	const char *poolid = api_param_str(call, "poolid");
	const char *slash = strrchr(poolid, '/');
	if (slash) {
		_cleanup_free_ char *parent = xstrndup(poolid, (size_t)(slash - poolid));
		if (!usercfg_find_pool(cfg, parent))
			return error_set(err, -ENOENT, 500, "parent pool '%s' does not exist",
			                 parent);
	}
	struct usercfg_pool *p = NULL;
	int r = usercfg_add_pool(cfg, poolid, &p, err);
	if (r < 0)
		return r;
	set_comment(p, api_param_str(call, "comment"));
	return 0;
}

static int api_pool_create(struct api_call *call, json_t **ret, struct error **err)
{
	const char *poolid = api_param_str(call, "poolid");
	if (!usercfg_verify_poolid(poolid))
		return error_param(err, "poolid", "invalid format - pool name '%s' is not valid",
		                   poolid);
	int r = api_access_update(call, NULL, do_create_pool, call, "create pool failed", err);
	if (r < 0)
		return r;
	log_info("pool '%s' created by '%s'", poolid, call->authid);
	*ret = json_null();
	return 0;
}

static int change_vms(struct usercfg *cfg, struct usercfg_pool *p, struct api_call *call,
                      bool delete, struct error **err)
{
	_cleanup_strv_free_ char **vms = api_split_list(api_param_str(call, "vms"));
	for (size_t i = 0; vms[i]; i++) {
		const char *vmid = vms[i];
		_cleanup_free_ char *path = xasprintf("/vms/%s", vmid);
		if (!api_can_modify_perm(call, path))
			return error_set(err, -EPERM, 403, "Permission check failed (%s, %s)", path,
			                 "VM.Allocate");
		bool member = false;
		for (size_t k = 0; k < p->n_vms && !member; k++)
			member = streq(p->vms[k], vmid);
		if (delete) {
			if (!member)
				return error_set(err, -ENOENT, 500, "VM %s is not a pool member",
				                 vmid);
			usercfg_pool_remove_vm(p, vmid);
			continue;
		}
		if (member)
			return error_set(err, -EEXIST, 500, "VM %s is already a pool member", vmid);
		struct usercfg_pool *other = usercfg_find_vm_pool(cfg, vmid);
		if (other) {
			if (!api_param_bool(call, "allow-move", false))
				return error_set(err, -EEXIST, 500,
				                 "VM %s belongs already to pool '%s' and "
				                 "'allow-move' is not set",
				                 vmid, other->poolid);
			_cleanup_free_ char *opath = xasprintf("/pool/%s", other->poolid);
			if (!api_call_has_priv(call, opath, "Pool.Allocate"))
				return error_set(err, -EPERM, 403,
				                 "Permission check failed (%s, Pool.Allocate)",
				                 opath);
			usercfg_pool_remove_vm(other, vmid);
		}
		int r = usercfg_pool_add_vm(cfg, p, vmid, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int change_storage(struct usercfg_pool *p, struct api_call *call, bool delete,
                          struct error **err)
{
	_cleanup_strv_free_ char **ids = api_split_list(api_param_str(call, "storage"));
	for (size_t i = 0; ids[i]; i++) {
		const char *sid = ids[i];
		_cleanup_free_ char *path = xasprintf("/storage/%s", sid);
		if (!api_can_modify_perm(call, path))
			return error_set(err, -EPERM, 403, "Permission check failed (%s, %s)", path,
			                 "Datastore.Allocate");
		bool member = false;
		for (size_t k = 0; k < p->n_storage && !member; k++)
			member = streq(p->storage[k], sid);
		if (delete &&!member)
			return error_set(err, -ENOENT, 500, "Storage '%s' is not a pool member",
			                 sid);
		if (!delete &&member)
			return error_set(err, -EEXIST, 500, "Storage '%s' is already a pool member",
			                 sid);
		if (delete)
			usercfg_pool_remove_storage(p, sid);
		else
			usercfg_pool_add_storage(p, sid);
	}
	return 0;
}

static int do_update_pool(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                          struct error **err)
{
	struct api_call *call = arg;
	const char *poolid = api_param_str(call, "poolid");
	struct usercfg_pool *p = usercfg_find_pool(cfg, poolid);
	if (!p)
		return error_set(err, -ENOENT, 500, "pool '%s' does not exist", poolid);
	if (api_param_has(call, "comment"))
		set_comment(p, api_param_str(call, "comment"));
	bool delete = api_param_bool(call, "delete", false);
	int r = change_vms(cfg, p, call, delete, err);
	if (r == 0)
		r = change_storage(p, call, delete, err);
	return r;
}

static int api_pool_update(struct api_call *call, json_t **ret, struct error **err)
{
	int r = api_access_update(call, NULL, do_update_pool, call, "update pools failed", err);
	if (r < 0)
		return r;
	log_info("pool '%s' updated by '%s'", api_param_str(call, "poolid"), call->authid);
	*ret = json_null();
	return 0;
}

static int do_delete_pool(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                          struct error **err)
{
	const char *poolid = arg;
	const struct usercfg_pool *p = usercfg_find_pool(cfg, poolid);
	if (!p)
		return error_set(err, -ENOENT, 500, "pool '%s' does not exist", poolid);
	if (p->n_vms || p->n_storage)
		return error_set(err, -ENOTEMPTY, 500, "pool '%s' is not empty", poolid);
	size_t n = strlen(poolid);
	for (size_t i = 0; i < cfg->n_pools; i++)
		if (strncmp(cfg->pools[i]->poolid, poolid, n) == 0 &&
		    cfg->pools[i]->poolid[n] == '/')
			return error_set(err, -ENOTEMPTY, 500, "pool '%s' has sub-pools", poolid);
	usercfg_remove_pool(cfg, poolid);
	return 0;
}

static int api_pool_delete(struct api_call *call, json_t **ret, struct error **err)
{
	const char *poolid = api_param_str(call, "poolid");
	int r = api_access_update(call, NULL, do_delete_pool, (void *)poolid, "delete pool failed",
	                          err);
	if (r < 0)
		return r;
	log_info("pool '%s' deleted by '%s'", poolid, call->authid);
	*ret = json_null();
	return 0;
}

static const char *const member_types[] = {"qemu", "lxc", "storage", NULL};

#define P_POOLID(opt)                                                              \
	{                                                                          \
		.name = "poolid", .type = API_TYPE_STRING, .format = "pve-poolid", \
		.optional = (opt), .max_length = 128                               \
	}
#define P_TYPE                                                             \
	{                                                                  \
		.name = "type", .type = API_TYPE_STRING, .optional = true, \
		.enum_values = member_types                                \
	}
#define P_COMMENT                                                                                \
	{                                                                                        \
		.name = "comment", .type = API_TYPE_STRING, .optional = true, .max_length = 4096 \
	}

const struct api_method api_methods_pools[] = {
    {
        .path = "/pools",
        .verb = "GET",
        .name = "index",
        .description = "List pools or get pool configuration.",
        .params = (const struct api_param[]){P_POOLID(true), P_TYPE, API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("List all pools where you have Pool.Audit permissions on "
                             "/pool/<pool>, or the pool specified by 'poolid'."),
        .handler = api_pools_list,
    },
    {
        .path = "/pools",
        .verb = "POST",
        .name = "create_pool",
        .description = "Create new pool.",
        .params = (const struct api_param[]){P_POOLID(false), P_COMMENT, API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK(API_PERM("/pool/{poolid}", "Pool.Allocate")),
        .flags = API_PROTECTED,
        .handler = api_pool_create,
    },
    {
        .path = "/pools/{poolid}",
        .verb = "GET",
        .name = "read_pool",
        .description = "Get pool configuration.",
        .params = (const struct api_param[]){P_POOLID(false), P_TYPE, API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = API_CHECK(API_PERM("/pool/{poolid}", "Pool.Audit")),
        .handler = api_pool_get,
    },
    {
        .path = "/pools/{poolid}",
        .verb = "PUT",
        .name = "update_pool",
        .description = "Update pool data.",
        .params =
            (const struct api_param[]){
                P_POOLID(false),
                P_COMMENT,
                {.name = "vms",
                 .type = API_TYPE_STRING,
                 .format = "pve-vmid-list",
                 .optional = true,
                 .max_length = 65536,
                 .description = "List of guest VMIDs to add or remove from this "
                                "pool."},
                {.name = "storage",
                 .type = API_TYPE_STRING,
                 .format = "pve-storage-id-list",
                 .optional = true,
                 .max_length = 65536,
                 .description = "List of storage IDs to add or remove from this "
                                "pool."},
                {.name = "allow-move",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .default_text = "0",
                 .description = "Allow adding a guest even if already in another "
                                "pool. The guest will be removed from its current "
                                "pool and added to this one."},
                {.name = "delete",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .default_text = "0",
                 .description = "Remove the passed VMIDs and/or storage IDs instead "
                                "of adding them."},
                API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK_DESC(API_PERM("/pool/{poolid}", "Pool.Allocate"),
                               "You also need the right to modify permissions on any "
                               "object you add/delete."),
        .flags = API_PROTECTED,
        .handler = api_pool_update,
    },
    {
        .path = "/pools/{poolid}",
        .verb = "DELETE",
        .name = "delete_pool",
        .description = "Delete pool.",
        .params = (const struct api_param[]){P_POOLID(false), API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK(API_PERM("/pool/{poolid}", "Pool.Allocate")),
        .flags = API_PROTECTED,
        .handler = api_pool_delete,
    },
    {.path = NULL},
};

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * /storage: the storage configuration (storage.cfg), after pve-storage's
 * PVE::API2::Storage::Config.  Only the configuration: volumes, content and
 * status come with the backends.  Creating a dir or btrfs storage prepares
 * its directory like PVE's activate_storage; no other type touches the host.
 * Adding or changing an enabled storage also checks what the host can tell
 * now (its backend's check: the volume group, thin pool or pool exists, a
 * btrfs path is on btrfs), a 400 naming the problem.
 *
 * Unlike PVE, where Datastore.Allocate may place a storage anywhere, the
 * keys that say where a storage lives on the host (storage-config's
 * root_only flag) are root@pam's alone, and no one may place a storage in a
 * system directory (storage-hostpath.h): ctvm writes into storages as root.
 */
#define LOG_CATEGORY "storage"
#include "common.h"

#include "api-access-util.h"
#include "api-internal.h"
#include "api.h"
#include "error.h"
#include "log.h"
#include "storage-config.h"
#include "storage-hostpath.h"
#include "storage.h"
#include "xalloc.h"

/* Parameters that are not storage properties. */
static bool is_meta_param(const char *key)
{
	return streq(key, "storage") || streq(key, "type") || streq(key, "digest") ||
	       streq(key, "delete");
}

/* A typed API value as the config's string. */
static char *value_string(json_t *v)
{
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "1" : "0");
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	return NULL;
}

/* The first root_only key (storage_key_root_only) the request sets or, with
 * *ret_delete, deletes; NULL if none. */
static char *first_root_only_key(const struct api_call *call, bool *ret_delete)
{
	const char *key;
	json_t *v;
	*ret_delete = false;
	json_object_foreach (call->params, key, v)
		if (!is_meta_param(key) && storage_key_root_only(key))
			return xstrdup(key);
	_cleanup_strv_free_ char **del = api_split_list(api_param_str(call, "delete"));
	for (size_t i = 0; del[i]; i++)
		if (storage_key_root_only(del[i])) {
			*ret_delete = true;
			return xstrdup(del[i]);
		}
	return NULL;
}

/*
 * The one check of the root_only keys, for POST and PUT, set or deleted:
 * root@pam only (a ticket or the local socket; an API token is never
 * root@pam, not even root's own, as for Proxmox's root-only methods).  A
 * choice rather than a new privilege that no built-in role holds: PVE has
 * none for host paths, and a privilege name of ctvm's own would not survive
 * a user.cfg shared with PVE.
 */
static int check_root_only(const struct api_call *call, struct error **err)
{
	bool del;
	_cleanup_free_ char *key = first_root_only_key(call, &del);
	if (!key || streq(call->authid, "root@pam"))
		return 0;
	return error_set(err, -EPERM, 403,
	                 "Permission check failed (only root@pam may %s storage property '%s')",
	                 del ? "delete" : "set", key);
}

static int set_params(struct section *s, const struct api_call *call, bool create,
                      struct error **err)
{
	const char *key;
	json_t *v;
	json_object_foreach (call->params, key, v) {
		if (is_meta_param(key))
			continue;
		_cleanup_free_ char *str = value_string(v);
		if (!str)
			return error_param(err, key, "invalid value");
		int r = storage_section_set(s, key, str, create, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int update_config(struct api_call *call, const char *digest, storage_update_fn fn,
                         const char *what, struct error **err)
{
	struct error *e = NULL;
	int r = storage_config_store_update(call->ctx->storage, digest, fn, call, &e);
	if (r < 0) {
		if (e && e->http_status == 500)
			error_prefix(e, "%s", what);
		error_propagate(err, e);
	}
	return r;
}

static bool may_see(const struct api_call *call, const char *storeid)
{
	_cleanup_free_ char *path = xasprintf("/storage/%s", storeid);
	return api_call_has_priv(call, path, "Datastore.Audit") ||
	       api_call_has_priv(call, path, "Datastore.AllocateSpace");
}

static int api_storage_list(struct api_call *call, json_t **ret, struct error **err)
{
	_cleanup_section_config_ struct section_config *c = NULL;
	int r = storage_config_store_load(call->ctx->storage, &c, err);
	if (r < 0)
		return r;
	const char *type = api_param_str(call, "type");
	json_t *a = json_array();
	for (size_t i = 0; i < c->n_sections; i++) {
		const struct section *s = c->sections[i];
		if ((type && !streq(type, s->type)) || !may_see(call, s->id))
			continue;
		json_array_append_new(a, storage_section_json(s, c->digest));
	}
	*ret = a;
	return 0;
}

static int api_storage_read(struct api_call *call, json_t **ret, struct error **err)
{
	const char *id = api_param_str(call, "storage");
	_cleanup_section_config_ struct section_config *c = NULL;
	int r = storage_config_store_load(call->ctx->storage, &c, err);
	if (r < 0)
		return r;
	const struct section *s = section_config_find(c, id);
	if (!s)
		return error_set(err, -ENOENT, 500, "storage '%s' does not exist", id);
	*ret = storage_section_json(s, c->digest);
	return 0;
}

static int do_create(struct section_config *c, void *arg, struct error **err)
{
	struct api_call *call = arg;
	const char *id = api_param_str(call, "storage");
	const char *type = api_param_str(call, "type");
	if (section_config_find(c, id))
		return error_set(err, -EEXIST, 500, "storage ID '%s' already defined", id);
	struct section *s = NULL;
	int r = section_config_add(c, type, id, &s, err);
	if (r < 0)
		return r;
	r = set_params(s, call, true, err);
	if (r == 0)
		r = storage_section_check_complete(s, err);
	if (r == 0)
		r = storage_section_check_host_paths(s, call->ctx->paths, err);
	if (r < 0)
		return r;
	/* like PVE: an enabled storage is activated before the config is
	 * written, so a bad path is found now and nothing is saved */
	if (!api_param_bool(call, "disable", false))
		r = storage_dir_prepare(s, err);
	/* and what else the host can tell now (the VG, the pool, btrfs):
	 * a 400 naming the problem instead of a storage that never works */
	if (r == 0 && !api_param_bool(call, "disable", false))
		r = storage_section_check_backend(s, err);
	return r;
}

static int api_storage_create(struct api_call *call, json_t **ret, struct error **err)
{
	const char *id = api_param_str(call, "storage");
	int r = check_root_only(call, err);
	if (r < 0)
		return r;
	r = storage_verify_id(id, NULL);
	if (r < 0)
		return error_param(err, "storage", "storage ID '%s' contains illegal characters",
		                   id);
	r = update_config(call, NULL, do_create, "create storage failed", err);
	if (r < 0)
		return r;
	log_info("storage '%s' (%s) created by '%s'", id, api_param_str(call, "type"),
	         call->authid);
	*ret = json_pack("{s:s, s:s}", "storage", id, "type", api_param_str(call, "type"));
	return 0;
}

static int do_update(struct section_config *c, void *arg, struct error **err)
{
	struct api_call *call = arg;
	const char *id = api_param_str(call, "storage");
	struct section *s = section_config_find(c, id);
	if (!s)
		return error_set(err, -ENOENT, 500, "storage '%s' does not exist", id);
	if (!storage_type_known(s->type))
		return error_set(err, -EOPNOTSUPP, 500, "storage type '%s' is not supported",
		                 s->type);
	_cleanup_strv_free_ char **del = api_split_list(api_param_str(call, "delete"));
	for (size_t i = 0; del[i]; i++) {
		if (json_object_get(call->params, del[i]))
			return error_param(err, "delete",
			                   "cannot set and delete property '%s' at the same time",
			                   del[i]);
		int r = storage_section_delete(s, del[i], err);
		if (r < 0)
			return r;
	}
	int r = set_params(s, call, false, err);
	/* a storage.cfg written by hand is root's: its paths are checked only
	 * when the API changes one */
	bool deleted;
	_cleanup_free_ char *host = first_root_only_key(call, &deleted);
	if (r == 0 && host)
		r = storage_section_check_host_paths(s, call->ctx->paths, err);
	/* a change that leaves it enabled is checked as an addition is */
	if (r == 0 && !streq_ptr(section_get(s, "disable"), "1"))
		r = storage_section_check_backend(s, err);
	return r;
}

static int api_storage_update(struct api_call *call, json_t **ret, struct error **err)
{
	const char *id = api_param_str(call, "storage");
	int r = check_root_only(call, err);
	if (r < 0)
		return r;
	r = update_config(call, api_param_str(call, "digest"), do_update, "update storage failed",
	                  err);
	if (r < 0)
		return r;
	log_info("storage '%s' updated by '%s'", id, call->authid);
	*ret = json_null();
	return 0;
}

static int do_delete(struct section_config *c, void *arg, struct error **err)
{
	struct api_call *call = arg;
	const char *id = api_param_str(call, "storage");
	if (!section_config_remove(c, id))
		return error_set(err, -ENOENT, 500, "storage '%s' does not exist", id);
	return 0;
}

static int api_storage_delete(struct api_call *call, json_t **ret, struct error **err)
{
	const char *id = api_param_str(call, "storage");
	int r = update_config(call, NULL, do_delete, "delete storage failed", err);
	if (r < 0)
		return r;
	log_info("storage '%s' deleted by '%s'", id, call->authid);
	*ret = json_null();
	return 0;
}

/* every PVE type, so a filter for a type ctvm lacks is an empty list, not a 400 */
static const char *const all_types[] = {
    "btrfs", "cephfs",  "cifs", "dir", "esxi", "glusterfs", "iscsi",   "iscsidirect",
    "lvm",   "lvmthin", "nfs",  "pbs", "rbd",  "zfs",       "zfspool", NULL};
/*
 * The properties both POST and PUT take; the type decides which apply.  The
 * rows are generated at build time from storage.cfg's property table
 * (storage_config_keys(), src/api/gen/gen-storage-params.c), so a key is
 * described once, for the file and for the API; so are the types POST
 * takes (storage_schema()).
 */
#include "api-storage-config-params.h"

const struct api_method api_methods_storage_config[] = {
    {
        .path = "/storage",
        .verb = "GET",
        .name = "index",
        .description = "Storage index.",
        .params = (const struct api_param[]){{.name = "type",
                                              .type = API_TYPE_STRING,
                                              .optional = true,
                                              .enum_values = all_types,
                                              .description = "Only list storage of specific "
                                                             "type"},
                                             API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("Only list entries where you have 'Datastore.Audit' or "
                             "'Datastore.AllocateSpace' permissions on '/storage/<storage>'"),
        .handler = api_storage_list,
    },
    {
        .path = "/storage",
        .verb = "POST",
        .name = "create",
        .description = "Create a new storage.",
        .params = (const struct api_param[]){API_PARAM_STORAGE,
                                             {.name = "type",
                                              .type = API_TYPE_STRING,
                                              .enum_values = API_STORAGE_CONFIG_TYPES,
                                              .description = "Storage type."},
                                             API_STORAGE_CONFIG_PARAMS,
                                             API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = API_CHECK(API_PERM("/storage", "Datastore.Allocate")),
        .flags = API_PROTECTED,
        .handler = api_storage_create,
    },
    {
        .path = "/storage/{storage}",
        .verb = "GET",
        .name = "read",
        .description = "Read storage configuration.",
        .params = (const struct api_param[]){API_PARAM_STORAGE, API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = API_CHECK(API_PERM("/storage/{storage}", "Datastore.Allocate")),
        .handler = api_storage_read,
    },
    {
        .path = "/storage/{storage}",
        .verb = "PUT",
        .name = "update",
        .description = "Update storage configuration.",
        .params = (const struct api_param[]){API_PARAM_STORAGE, API_STORAGE_CONFIG_PARAMS,
                                             API_PARAM_DELETE, API_PARAM_DIGEST, API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK(API_PERM("/storage", "Datastore.Allocate")),
        .flags = API_PROTECTED,
        .handler = api_storage_update,
    },
    {
        .path = "/storage/{storage}",
        .verb = "DELETE",
        .name = "delete",
        .description = "Delete storage configuration.",
        .params = (const struct api_param[]){API_PARAM_STORAGE, API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK(API_PERM("/storage", "Datastore.Allocate")),
        .flags = API_PROTECTED,
        .handler = api_storage_delete,
    },
    {.path = NULL},
};

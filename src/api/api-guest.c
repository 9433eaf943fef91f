/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * What the guest kinds' API areas share (api-guest.h): the config keys of
 * a request and their permissions, lists, config GET/PUT/POST and pending,
 * destroy, status/current and the power operations, for every kind, with
 * the kind taken from the row's path.
 */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "api-guest.h"
#include "api-internal.h"
#include "api.h"
#include "config-store.h"
#include "error.h"
#include "guest-ops.h"
#include "guest.h"
#include "jsonutil.h"
#include "property.h"
#include "usercfg.h"
#include "volid.h"
#include "xalloc.h"

const struct guest_kind_ops *api_guest_kind(const struct api_call *call)
{
	/* "/nodes/{node}/<type>..." */
	const char *p = call->method->path;
	static const char pfx[] = "/nodes/{node}/";
	if (strncmp(p, pfx, sizeof(pfx) - 1))
		return NULL;
	p += sizeof(pfx) - 1;
	char type[16];
	size_t n = strcspn(p, "/");
	if (n >= sizeof(type))
		return NULL;
	memcpy(type, p, n);
	type[n] = 0;
	return guest_kind_find(type);
}

char *api_guest_task_type(const struct guest_kind_ops *k, const char *op)
{
	return xasprintf("%s%s", k->task_pfx, op);
}

static char *vm_path(long long vmid)
{
	return xasprintf("/vms/%lld", vmid);
}

/* ---- the config parameters of a request --------------------------------- */

/* Parameters of the rows that are not config keys. */
static bool meta_param(const char *name, const char *const *extra)
{
	for (const char *const *m = extra; m && *m; m++)
		if (streq(*m, name))
			return true;
	static const char *const meta[] = {"node",     "vmid",     "digest",           "delete",
	                                   "revert",   "skiplock", "background_delay", "force",
	                                   "start",    "pool",     "storage",          "unique",
	                                   "archive",  "bwlimit",  "live-restore",     "current",
	                                   "snapshot", NULL};
	for (const char *const *m = meta; *m; m++)
		if (streq(*m, name))
			return true;
	return false;
}

/* A typed parameter back as the file's text. */
static char *param_text(const json_t *v)
{
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return xasprintf("%.15g", json_real_value(v));
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "1" : "0");
	return NULL;
}

/* The config keys of the request, each checked and normalised by the guest
 * layer (400 {key: reason} for the first bad one). */
int api_guest_config_params(struct api_call *call, const struct guest_kind_ops *k,
                            const char *const *meta, json_t **ret, struct error **err)
{
	_cleanup_json_ json_t *set = json_object();
	const char *key;
	json_t *v;
	json_object_foreach (call->params, key, v) {
		if (meta_param(key, meta))
			continue;
		_cleanup_free_ char *text = param_text(v);
		if (!text)
			return error_param(err, key, "invalid value");
		/* PVE: cdrom is an alias of ide2 with media=cdrom */
		bool cdrom = streq(key, "cdrom") && streq(k->type, "qemu");
		if (cdrom) {
			if (json_object_get(call->params, "ide2"))
				return error_param(
				    err, "cdrom",
				    "you can't use '-cdrom' and '-ide2' at the same time");
			char *t = xasprintf("%s,media=cdrom", text);
			free(text);
			text = t;
		}
		/* not key itself: json_object_foreach() walks on from it */
		const char *name = cdrom ? "ide2" : key;
		char *norm = NULL;
		int r = guest_config_check_value(k, name, text, &norm, err);
		if (r < 0)
			return r;
		json_object_set_new(set, name, json_string(norm));
		free(norm);
	}
	*ret = json_incref(set);
	return 0;
}

/* The first comma part of a drive or import value: its file (a volid, or
 * "storage:size" for a new disk), with "file=" taken off. */
static char *drive_file(const char *value)
{
	size_t len = strcspn(value, ",");
	const char *p = value;
	if (len >= 5 && !strncmp(p, "file=", 5)) {
		p += 5;
		len -= 5;
	}
	return xstrndup(p, len);
}

/* "import-from=<volid>" of a drive value, or NULL. */
static char *drive_import(const char *value)
{
	for (const char *p = value; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len > 12 && !strncmp(p, "import-from=", 12))
			return xstrndup(p + 12, len - 12);
		p += len;
		if (*p == ',')
			p++;
	}
	return NULL;
}

static bool is_drive_key(const struct guest_kind_ops *k, const char *key, const char *value)
{
	if (!streq(k->type, "qemu")) {
		_cleanup_free_ char *f = k->disk_file ? k->disk_file(key, value) : NULL;
		return f != NULL;
	}
	static const char *const prefixes[] = {"ide",     "sata",     "scsi",  "virtio",
	                                       "efidisk", "tpmstate", "unused"};
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		size_t n = strlen(prefixes[i]);
		if (!strncmp(key, prefixes[i], n) && key[n] >= '0' && key[n] <= '9')
			return true;
	}
	return false;
}

/* "storage:size" (a new disk) -> the storage id, else NULL. */
static char *new_disk_storage(const char *file)
{
	const char *colon = strchr(file, ':');
	if (!colon || colon == file || !colon[1])
		return NULL;
	const char *p = colon + 1;
	size_t digits = strspn(p, "0123456789");
	if (!digits)
		return NULL;
	p += digits;
	if (*p == '.') {
		p++;
		if (!strspn(p, "0123456789"))
			return NULL;
		p += strspn(p, "0123456789");
	}
	return *p ? NULL : xstrndup(file, (size_t)(colon - file));
}

static int storage_denied(const char *storeid, const char *priv, struct error **err)
{
	return error_set(err, -EPERM, 403, "Permission check failed (/storage/%s, %s)", storeid,
	                 priv);
}

/* PVE's check_storage_access: a new disk needs Datastore.AllocateSpace on its
 * storage, an existing volume (an ISO, an import source, a disk of another
 * guest) what check_volume_access asks. */
static int check_volume_privs(struct api_call *call, const struct guest_kind_ops *k, long long vmid,
                              const char *key, const char *value, struct error **err)
{
	if (!is_drive_key(k, key, value))
		return 0;
	_cleanup_free_ char *file =
	    streq(k->type, "qemu") ? drive_file(value) : k->disk_file(key, value);
	_cleanup_free_ char *import = drive_import(value);
	_cleanup_free_ char *sid = new_disk_storage(file);
	if (sid) {
		_cleanup_free_ char *path = xasprintf("/storage/%s", sid);
		if (!api_call_has_priv(call, path, "Datastore.AllocateSpace"))
			return storage_denied(sid, "Datastore.AllocateSpace", err);
	}
	const char *vols[] = {sid ? NULL : file, import};
	for (size_t i = 0; i < ARRAY_SIZE(vols); i++) {
		const char *volid = vols[i];
		if (!volid || streq(volid, "none") || streq(volid, "cdrom") || !strchr(volid, ':'))
			continue;
		_cleanup_free_ char *storeid = xstrndup(volid, strcspn(volid, ":"));
		const char *volume = volid + strlen(storeid) + 1;
		_cleanup_free_ char *volname = NULL;
		struct volname_info info = {0};
		struct error *e = NULL;
		if (api_storage_resolve_volume(call->ctx, storeid, volume, &volname, &info, &e) <
		    0) {
			/* the guest layer says what is wrong with it */
			error_free(e);
			continue;
		}
		long owner = info.vmid;
		bool ok =
		    api_storage_volume_access(call, storeid, vtype_to_string(info.vtype), owner);
		volname_info_clear(&info);
		if (!ok && owner != vmid)
			return storage_denied(storeid, "Datastore.Audit", err);
	}
	return 0;
}

/* A forced delete frees the volumes the guest owns (guest_config_update()):
 * PVE's try_deallocate_drive asks Datastore.AllocateSpace on their storage. */
static int check_forced_frees(struct api_call *call, const struct guest_kind_ops *k, long long vmid,
                              const char *list, struct error **err)
{
	if (!k->detached_volume)
		return 0;
	struct guest g = {0};
	int r = guest_get(call->ctx->guests, k, (long)vmid, &g, err);
	for (const char *p = list; r == 0 && *p;) {
		size_t len = strcspn(p, ",; ");
		_cleanup_free_ char *key = xstrndup(p, len);
		p += len;
		p += strspn(p, ",; ");
		const char *value = json_string_value(json_object_get(g.conf, key));
		_cleanup_free_ char *vol = value ? k->detached_volume(key, value) : NULL;
		if (!vol || !guest_volume_owned(call->ctx->guests, (long)vmid, vol))
			continue;
		_cleanup_free_ char *sid = xstrndup(vol, strcspn(vol, ":"));
		_cleanup_free_ char *path = xasprintf("/storage/%s", sid);
		if (!api_call_has_priv(call, path, "Datastore.AllocateSpace"))
			r = storage_denied(sid, "Datastore.AllocateSpace", err);
	}
	guest_release(&g);
	return r;
}

/*
 * PVE's check_vm_modify_config_perm over every key the request sets,
 * deletes or reverts: the key's VM.Config.* privilege on /vms/{vmid} (a
 * CD-ROM drive: VM.Config.CDROM), root@pam alone for the kind's root-only
 * keys (args, hookscript, ...), whatever role the caller holds.
 */
int api_guest_check_key_privs(struct api_call *call, const struct guest_kind_ops *k, long long vmid,
                              const json_t *keys, const json_t *set, struct error **err)
{
	bool root = streq(call->authid, "root@pam");
	_cleanup_free_ char *path = vm_path(vmid);
	const char *key;
	json_t *v;
	if (streq(k->type, "lxc")) {
		/* PVE's words for what only root@pam may do to a container; a new
		 * one has no config yet */
		struct guest g = {0};
		bool have = guest_get(call->ctx->guests, k, (long)vmid, &g, NULL) == 0;
		int r = api_lxc_check_root_keys(call, keys, set, have ? g.conf : NULL, err);
		guest_release(&g);
		if (r < 0)
			return r;
	}
	json_object_foreach ((json_t *)keys, key, v) {
		const char *value = json_string_value(json_object_get(set, key));
		const char *priv = k->key_priv ? k->key_priv(key) : NULL;
		const struct conf_prop *p = conf_props_find(k->props, key, NULL);
		if ((p && (p->flags & CONF_PROP_ROOT_ONLY)) ||
		    (value && k->needs_root && k->needs_root(key, value)))
			priv = NULL;
		if (!priv) {
			if (!root)
				return error_set(err, -EPERM, 403, "only root can set '%s' config",
				                 key);
			continue;
		}
		if (value && streq(priv, "VM.Config.Disk") && strstr(value, "media=cdrom"))
			priv = "VM.Config.CDROM";
		if (!api_call_has_priv(call, path, priv))
			return error_set(err, -EPERM, 403, "Permission check failed (%s, %s)", path,
			                 priv);
		if (value) {
			int r = check_volume_privs(call, k, vmid, key, value, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int api_guest_skiplock_flags(struct api_call *call, unsigned *flags, struct error **err)
{
	if (!api_param_bool(call, "skiplock", false))
		return 0;
	if (!streq(call->authid, "root@pam"))
		return error_param(err, "skiplock", "Only root may use this option.");
	*flags |= GUEST_SKIPLOCK;
	return 0;
}

/* ---- list and entries --------------------------------------------------- */

static bool row_below(const char *prefix, const char *name)
{
	size_t pl = strlen(prefix), nl = strlen(name);
	api_foreach_method(m)
	{
		if (strncmp(m->path, prefix, pl) == 0 && m->path[pl] == '/' &&
		    strncmp(m->path + pl + 1, name, nl) == 0 &&
		    (m->path[pl + 1 + nl] == '\0' || m->path[pl + 1 + nl] == '/'))
			return true;
	}
	return false;
}

/* names as [{subdir}] once the guest exists; with rows_only, those a row
 * serves (row_below()) */
static int subdirs(struct api_call *call, const char *const *names, bool rows_only, json_t **ret,
                   struct error **err)
{
	long long vmid = api_param_int(call, "vmid", 0);
	int r = guest_find(call->ctx->guests, api_guest_kind(call), (long)vmid, NULL, err);
	if (r < 0)
		return r;
	json_t *a = json_array();
	for (const char *const *n = names; *n; n++)
		if (!rows_only || row_below(call->method->path, *n))
			json_array_append_new(a, json_pack("{s:s}", "subdir", *n));
	*ret = a;
	return 0;
}

int api_guest_diridx(struct api_call *call, const char *const *names, json_t **ret,
                     struct error **err)
{
	return subdirs(call, names, true, ret, err);
}

int api_guest_subdirs(struct api_call *call, const char *const *names, json_t **ret,
                      struct error **err)
{
	return subdirs(call, names, false, ret, err);
}

int api_guest_list(struct api_call *call, json_t **ret, struct error **err)
{
	const struct guest_kind_ops *k = api_guest_kind(call);
	_cleanup_free_ struct guest_id *ids = NULL;
	size_t n = 0;
	int r = guest_list(call->ctx->guests, k, &ids, &n, err);
	if (r < 0)
		return r;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = vm_path(ids[i].vmid);
		if (!api_call_has_priv(call, path, "VM.Audit"))
			continue;
		struct guest g = {0};
		if (guest_get(call->ctx->guests, k, ids[i].vmid, &g, NULL) < 0)
			continue; /* removed meanwhile */
		json_t *e = NULL;
		if (guest_summary(call->ctx->guests, &g, &e, NULL) == 0)
			json_array_append_new(a, e);
		guest_release(&g);
	}
	*ret = a;
	return 0;
}

json_t *api_guest_resources(struct api_call *call)
{
	json_t *a = json_array();
	_cleanup_free_ struct guest_id *ids = NULL;
	size_t n = 0;
	if (!call->ctx->guests || guest_list(call->ctx->guests, NULL, &ids, &n, NULL) < 0)
		return a;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = vm_path(ids[i].vmid);
		if (!api_call_has_priv(call, path, "VM.Audit"))
			continue;
		struct guest g = {0};
		if (guest_get(call->ctx->guests, ids[i].kind, ids[i].vmid, &g, NULL) < 0)
			continue;
		json_t *e = NULL;
		if (guest_summary(call->ctx->guests, &g, &e, NULL) == 0) {
			/* the resource's names for the list's figures */
			json_object_set(e, "maxcpu", json_object_get(e, "cpus"));
			json_object_del(e, "cpus");
			json_object_del(e, "pid");
			json_object_del(e, "qmpstatus");
			json_object_set_new(e, "id", json_sprintf("%s/%ld", g.kind->type, g.vmid));
			json_object_set_new(e, "type", json_string(g.kind->type));
			json_object_set_new(e, "node", json_string(call->ctx->node));
			if (!json_object_get(e, "cpu"))
				json_object_set_new(e, "cpu", json_integer(0));
			json_array_append_new(a, e);
		}
		guest_release(&g);
	}
	return a;
}

/* ---- create ------------------------------------------------------------- */

int api_guest_check_pool(struct api_call *call, const char **ret_pool, struct error **err)
{
	/* PVE's check_pool_exist, and Pool.Allocate as for any change of a
	 * pool's members (PUT /pools/{poolid}; PVE's create_vm of lxc) */
	const char *pool = api_param_str(call, "pool");
	if (pool && !*pool)
		pool = NULL;
	if (pool && !usercfg_find_pool(access_db_usercfg(call->db), pool))
		return error_set(err, -EPERM, 403,
		                 "Permission check failed (pool '%s' does not exist)", pool);
	if (pool) {
		_cleanup_free_ char *ppath = xasprintf("/pool/%s", pool);
		if (!api_call_has_priv(call, ppath, "Pool.Allocate"))
			return error_set(err, -EPERM, 403,
			                 "Permission check failed (%s, Pool.Allocate)", ppath);
	}
	*ret_pool = pool;
	return 0;
}

int api_guest_create_task(struct api_call *call, const struct guest_kind_ops *k, long long vmid,
                          json_t *args, json_t **ret, struct error **err)
{
	struct guest_store *gs = call->ctx->guests;
	int r = guest_create_reserve(gs, k, (long)vmid, err);
	if (r < 0)
		return r;
	json_object_set_new(args, "vmid", json_integer(vmid));
	r = api_guest_start_kind_op(call, k, "create", vmid, args, ret, err);
	if (r < 0)
		guest_config_remove(gs, k, (long)vmid, NULL); /* no task took it */
	return r;
}

int api_guest_check_new_keys(struct api_call *call, const struct guest_kind_ops *k, long long vmid,
                             const json_t *set, struct error **err)
{
	_cleanup_json_ json_t *keys = json_object();
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)set, key, v)
		json_object_set_new(keys, key, json_true());
	return api_guest_check_key_privs(call, k, vmid, keys, set, err);
}

int api_guest_create_conf(const struct guest_kind_ops *k, const json_t *set, char **ret,
                          struct error **err)
{
	_cleanup_free_ char *conf = json_dumps(set, JSON_COMPACT | JSON_SORT_KEYS);
	if (strlen(conf) > GUEST_CONF_ARG_MAX)
		return error_set(err, -E2BIG, 400,
		                 "the new %s's config is too long for one call (at most %u "
		                 "bytes); add the rest with PUT .../config",
		                 k->noun, (unsigned)GUEST_CONF_ARG_MAX);
	*ret = TAKE_PTR(conf);
	return 0;
}

/* ---- the early checks and the task -------------------------------------- */

int api_guest_get_checked(struct api_call *call, const struct guest_kind_ops *k, long long vmid,
                          enum guest_op op, unsigned flags, const char *digest, struct guest *g,
                          bool *running, struct error **err)
{
	struct guest_store *gs = call->ctx->guests;
	int r = guest_get(gs, k, (long)vmid, g, err);
	if (r < 0)
		return r;
	if (digest && !streq(digest, conf_snapshot_digest(g->snap)))
		r = error_set(err, -ESTALE, 500,
		              "detected modified configuration - file changed by other user? "
		              "Try again.");
	bool run = false;
	if (r == 0)
		r = guest_is_running(gs, k, (long)vmid, &run, NULL, err);
	if (r == 0) {
		struct guest_state st = {.conf = g->conf, .running = run};
		r = guest_check_op(k, (long)vmid, &st, op, flags, err);
	}
	if (r < 0) {
		guest_release(g);
		return r;
	}
	if (running)
		*running = run;
	return 0;
}

int api_guest_start_op(struct api_call *call, const char *type, long long vmid, json_t *args,
                       json_t **ret, struct error **err)
{
	char id[24];
	snprintf(id, sizeof(id), "%lld", vmid);
	return api_start_op(call, type, id, args, ret, err);
}

int api_guest_start_kind_op(struct api_call *call, const struct guest_kind_ops *k, const char *op,
                            long long vmid, json_t *args, json_t **ret, struct error **err)
{
	_cleanup_free_ char *type = api_guest_task_type(k, op);
	return api_guest_start_op(call, type, vmid, args, ret, err);
}

/* ---- config ------------------------------------------------------------- */

int api_guest_config_get(struct api_call *call, json_t **ret, struct error **err)
{
	long long vmid = api_param_int(call, "vmid", 0);
	return guest_config_read(call->ctx->guests, api_guest_kind(call), (long)vmid,
	                         api_param_bool(call, "current", false),
	                         api_param_str(call, "snapshot"), ret, err);
}

int api_guest_pending(struct api_call *call, json_t **ret, struct error **err)
{
	long long vmid = api_param_int(call, "vmid", 0);
	return guest_config_pending(call->ctx->guests, api_guest_kind(call), (long)vmid, ret, err);
}

static bool deletes_lock(const char *list)
{
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",; ");
		if ((len == 4 && !strncmp(p, "lock", 4)) || (len == 5 && !strncmp(p, "!lock", 5)))
			return true;
		p += len;
		p += strspn(p, ",; ");
	}
	return false;
}

/* PUT and POST .../config: the checks every caller hears about at once. */
static int config_change(struct api_call *call, json_t **ret_set, struct guest_config_change *c,
                         struct error **err)
{
	const struct guest_kind_ops *k = api_guest_kind(call);
	long long vmid = api_param_int(call, "vmid", 0);
	json_t *set = NULL;
	int r = api_guest_config_params(call, k, NULL, &set, err);
	if (r < 0)
		return r;
	*c = (struct guest_config_change){
	    .set = set,
	    .delete = api_param_str(call, "delete"),
	    .revert = api_param_str(call, "revert"),
	    .digest = api_param_str(call, "digest"),
	    .force = api_param_bool(call, "force", false),
	};
	r = api_guest_skiplock_flags(call, &c->flags, err);
	/* `qm unlock`: root@pam deleting lock: is how a lock a killed task
	 * left goes (the key is root's, so nobody else gets this far) */
	if (r == 0 && c->delete &&deletes_lock(c->delete))
		c->flags |= GUEST_SKIPLOCK;
	if (r == 0)
		r = guest_config_change_check(k, c, err);
	if (r == 0) {
		_cleanup_json_ json_t *keys = guest_config_change_keys(c);
		r = api_guest_check_key_privs(call, k, vmid, keys, set, err);
	}
	/* the permissions first, as PVE: a caller without them learns nothing
	 * of the VM */
	if (r == 0)
		r = guest_find(call->ctx->guests, k, (long)vmid, NULL, err);
	if (r == 0 && c->force && c->delete)
		r = check_forced_frees(call, k, vmid, c->delete, err);
	if (r < 0) {
		json_decref(set);
		return r;
	}
	*ret_set = set;
	return 0;
}

int api_guest_config_put(struct api_call *call, json_t **ret, struct error **err)
{
	struct guest_config_change c;
	_cleanup_json_ json_t *set = NULL;
	int r = config_change(call, &set, &c, err);
	if (r < 0)
		return r;
	/* new disks are allocated in the call, as PVE's synchronous PUT does */
	_cleanup_json_ json_t *hotplug_errors = json_object();
	c.hotplug_errors = hotplug_errors;
	r = guest_config_change_apply(call->ctx->guests, api_guest_kind(call),
	                              (long)api_param_int(call, "vmid", 0), set, &c, NULL, err);
	/* written, with what the guest refused left pending: PVE answers 400 */
	if (r == 0)
		r = guest_config_hotplug_error(hotplug_errors, false, err);
	if (r < 0)
		return r;
	*ret = json_null();
	return 0;
}

int api_guest_config_post(struct api_call *call, json_t **ret, struct error **err)
{
	struct guest_config_change c;
	_cleanup_json_ json_t *set = NULL;
	int r = config_change(call, &set, &c, err);
	if (r < 0)
		return r;
	long long vmid = api_param_int(call, "vmid", 0);
	_cleanup_free_ char *text = json_dumps(set, JSON_COMPACT | JSON_SORT_KEYS);
	if (strlen(text) > GUEST_CONF_ARG_MAX)
		return error_set(err, -E2BIG, 400, "too many changes for one call");
	_cleanup_json_ json_t *args =
	    json_pack("{s:I, s:s}", "vmid", (json_int_t)vmid, "set", text);
	if (c.delete)
		json_object_set_new(args, "delete", json_string(c.delete));
	if (c.revert)
		json_object_set_new(args, "revert", json_string(c.revert));
	if (c.digest)
		json_object_set_new(args, "digest", json_string(c.digest));
	if (c.force)
		json_object_set_new(args, "force", json_true());
	if (c.flags & GUEST_SKIPLOCK)
		json_object_set_new(args, "skiplock", json_true());
	return api_guest_start_kind_op(call, api_guest_kind(call), "config", vmid, args, ret, err);
}

/* ---- destroy ------------------------------------------------------------ */

int api_guest_destroy(struct api_call *call, json_t **ret, struct error **err)
{
	const struct guest_kind_ops *k = api_guest_kind(call);
	struct guest_store *gs = call->ctx->guests;
	long long vmid = api_param_int(call, "vmid", 0);
	unsigned flags = 0;
	int r = api_guest_skiplock_flags(call, &flags, err);
	if (r < 0)
		return r;
	struct guest g = {0};
	r = guest_get(gs, k, (long)vmid, &g, err);
	if (r < 0)
		return r;
	/* early checks (the task repeats them under the lock); lxc's force
	 * destroys a running container (the task stops it first) */
	bool running = false, force = api_param_bool(call, "force", false);
	r = guest_is_running(gs, k, (long)vmid, &running, NULL, err);
	if (r == 0) {
		struct guest_state st = {.conf = g.conf, .running = running && !force};
		r = guest_check_op(k, (long)vmid, &st, GUEST_OP_DESTROY, flags, err);
	}
	guest_release(&g);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *args =
	    json_pack("{s:I, s:b, s:b, s:b}", "vmid", (json_int_t)vmid, "purge",
	              api_param_bool(call, "purge", false), "destroy-unreferenced-disks",
	              api_param_bool(call, "destroy-unreferenced-disks", true), "skiplock",
	              (flags & GUEST_SKIPLOCK) != 0);
	if (force)
		json_object_set_new(args, "force", json_true());
	return api_guest_start_kind_op(call, k, "destroy", vmid, args, ret, err);
}

/* ---- status and power --------------------------------------------------- */

int api_guest_status_current(struct api_call *call, json_t **ret, struct error **err)
{
	const struct guest_kind_ops *k = api_guest_kind(call);
	long long vmid = api_param_int(call, "vmid", 0);
	struct guest g = {0};
	int r = guest_get(call->ctx->guests, k, (long)vmid, &g, err);
	if (r < 0)
		return r;
	json_t *e = NULL;
	r = guest_summary(call->ctx->guests, &g, &e, err);
	guest_release(&g);
	if (r < 0)
		return r;
	if (streq(k->type, "qemu") && !json_object_get(e, "qmpstatus"))
		json_object_set(e, "qmpstatus", json_object_get(e, "status"));
	if (!streq(k->type, "qemu"))
		json_object_set_new(e, "type", json_string(k->type));
	if (!json_object_get(e, "cpu"))
		json_object_set_new(e, "cpu", json_integer(0));
	json_object_set_new(e, "ha", json_pack("{s:i}", "managed", 0));
	*ret = e;
	return 0;
}

/* POST .../status/<op>: the early checks, then the task. */
static int power(struct api_call *call, enum guest_op op, const char *name, json_t **ret,
                 struct error **err)
{
	const struct guest_kind_ops *k = api_guest_kind(call);
	long long vmid = api_param_int(call, "vmid", 0);
	unsigned flags = 0;
	int r = api_guest_skiplock_flags(call, &flags, err);
	if (r < 0)
		return r;
	if (api_param_bool(call, "forceStop", false))
		flags |= GUEST_FORCE;
	if (api_param_bool(call, "todisk", false))
		flags |= GUEST_TODISK;
	struct guest g = {0};
	r = api_guest_get_checked(call, k, vmid, op, flags, NULL, &g, NULL, err);
	if (r < 0)
		return r;
	/* PVE's vm_suspend with todisk: VM.Config.Disk, and
	 * Datastore.AllocateSpace on the storage of the state volume */
	const char *statestorage = api_param_str(call, "statestorage");
	if (op == GUEST_OP_SUSPEND && (flags & GUEST_TODISK)) {
		struct guest_store *gs = call->ctx->guests;
		_cleanup_free_ char *vp = vm_path(vmid);
		_cleanup_free_ char *sid = NULL;
		if (!api_call_has_priv(call, vp, "VM.Config.Disk"))
			r = error_set(err, -EPERM, 403,
			              "Permission check failed (%s, VM.Config.Disk)", vp);
		else if (!statestorage)
			r = guest_vmstate_storage(gs, k, g.conf, &sid, err);
		if (r == 0) {
			const char *s = statestorage ? statestorage : sid;
			_cleanup_free_ char *sp = xasprintf("/storage/%s", s);
			if (!api_call_has_priv(call, sp, "Datastore.AllocateSpace"))
				r = storage_denied(s, "Datastore.AllocateSpace", err);
		}
	}
	guest_release(&g);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *args = json_pack("{s:I}", "vmid", (json_int_t)vmid);
	if (api_param_has(call, "timeout"))
		json_object_set_new(args, "timeout",
		                    json_integer(api_param_int(call, "timeout", 0)));
	if (flags & GUEST_SKIPLOCK)
		json_object_set_new(args, "skiplock", json_true());
	if (flags & GUEST_FORCE)
		json_object_set_new(args, "force-stop", json_true());
	if (flags & GUEST_TODISK)
		json_object_set_new(args, "todisk", json_true());
	if ((flags & GUEST_TODISK) && statestorage)
		json_object_set_new(args, "statestorage", json_string(statestorage));
	return api_guest_start_kind_op(call, k, name, vmid, args, ret, err);
}

#define POWER_HANDLER(name, OP)                                                       \
	int api_guest_##name(struct api_call *call, json_t **ret, struct error **err) \
	{                                                                             \
		return power(call, OP, #name, ret, err);                              \
	}
POWER_HANDLER(start, GUEST_OP_START)
POWER_HANDLER(stop, GUEST_OP_STOP)
POWER_HANDLER(shutdown, GUEST_OP_SHUTDOWN)
POWER_HANDLER(reboot, GUEST_OP_REBOOT)
POWER_HANDLER(reset, GUEST_OP_RESET)
POWER_HANDLER(suspend, GUEST_OP_SUSPEND)
POWER_HANDLER(resume, GUEST_OP_RESUME)

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * /nodes/{node}/qemu: VMs (pve-api.md 7.1, PVE::API2::Qemu).  Handlers check
 * permissions beyond the row's (each config key's VM.Config.* group, root
 * for root-only keys, the storages a disk uses), refuse early what the
 * guest layer would refuse, and call guest_*() only: configs change through
 * the guest layer's locked update, everything that touches the host runs as
 * a task of the guest layer (qmcreate, qmdestroy, qmstart, ...).
 */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "api-internal.h"
#include "api-qemu-params.h"
#include "api.h"
#include "error.h"
#include "guest-ops.h"
#include "guest.h"
#include "jsonutil.h"
#include "property.h"
#include "usercfg.h"
#include "volid.h"
#include "xalloc.h"

static const struct guest_kind_ops *qemu_kind(void)
{
	return guest_kind_find("qemu");
}

static char *vm_path(long long vmid)
{
	return xasprintf("/vms/%lld", vmid);
}

/* ---- the config parameters of a request --------------------------------- */

/* Parameters of the rows that are not config keys. */
static bool meta_param(const char *name)
{
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
static int config_params(struct api_call *call, json_t **ret, struct error **err)
{
	const struct guest_kind_ops *k = qemu_kind();
	_cleanup_json_ json_t *set = json_object();
	const char *key;
	json_t *v;
	json_object_foreach (call->params, key, v) {
		if (meta_param(key))
			continue;
		_cleanup_free_ char *text = param_text(v);
		if (!text)
			return error_param(err, key, "invalid value");
		/* PVE: cdrom is an alias of ide2 with media=cdrom */
		if (streq(key, "cdrom")) {
			if (json_object_get(call->params, "ide2"))
				return error_param(
				    err, "cdrom",
				    "you can't use '-cdrom' and '-ide2' at the same time");
			char *t = xasprintf("%s,media=cdrom", text);
			free(text);
			text = t;
		}
		/* not key itself: json_object_foreach() walks on from it */
		const char *name = streq(key, "cdrom") ? "ide2" : key;
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

static bool is_drive_key(const char *key)
{
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
static int check_volume_privs(struct api_call *call, long long vmid, const char *key,
                              const char *value, struct error **err)
{
	if (!is_drive_key(key))
		return 0;
	_cleanup_free_ char *file = drive_file(value);
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

/*
 * PVE's check_vm_modify_config_perm over every key the request sets,
 * deletes or reverts: the key's VM.Config.* privilege on /vms/{vmid} (a
 * CD-ROM drive: VM.Config.CDROM), root@pam alone for the kind's root-only
 * keys (args, hookscript, ...), whatever role the caller holds.
 */
static int check_key_privs(struct api_call *call, long long vmid, const json_t *keys,
                           const json_t *set, struct error **err)
{
	const struct guest_kind_ops *k = qemu_kind();
	bool root = streq(call->authid, "root@pam");
	_cleanup_free_ char *path = vm_path(vmid);
	const char *key;
	json_t *v;
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
			int r = check_volume_privs(call, vmid, key, value, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* skiplock is root@pam's (PVE: "Only root may use this option."). */
static int skiplock_flags(struct api_call *call, unsigned *flags, struct error **err)
{
	if (!api_param_bool(call, "skiplock", false))
		return 0;
	if (!streq(call->authid, "root@pam"))
		return error_param(err, "skiplock", "Only root may use this option.");
	*flags |= GUEST_SKIPLOCK;
	return 0;
}

/* ---- list and entries --------------------------------------------------- */

static int api_vmlist(struct api_call *call, json_t **ret, struct error **err)
{
	const struct guest_kind_ops *k = qemu_kind();
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

static int api_create_vm(struct api_call *call, json_t **ret, struct error **err)
{
	const struct guest_kind_ops *k = qemu_kind();
	struct guest_store *gs = call->ctx->guests;
	long long vmid = api_param_int(call, "vmid", 0);
	if (api_param_has(call, "archive"))
		return error_param(err, "archive", "restoring a backup is not supported yet");
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
	_cleanup_json_ json_t *set = NULL;
	int r = config_params(call, &set, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *keys = json_object();
	const char *key;
	json_t *v;
	json_object_foreach (set, key, v)
		json_object_set_new(keys, key, json_true());
	r = check_key_privs(call, vmid, keys, set, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *conf = json_dumps(set, JSON_COMPACT | JSON_SORT_KEYS);
	if (strlen(conf) > GUEST_CONF_ARG_MAX)
		return error_set(err, -E2BIG, 400,
		                 "the new VM's config is too long for one call (at most %u "
		                 "bytes); add the rest with PUT .../config",
		                 (unsigned)GUEST_CONF_ARG_MAX);
	r = guest_create_reserve(gs, k, (long)vmid, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *args =
	    json_pack("{s:I, s:s, s:b}", "vmid", (json_int_t)vmid, "conf", conf, "start",
	              api_param_bool(call, "start", false));
	if (pool)
		json_object_set_new(args, "pool", json_string(pool));
	char id[24];
	snprintf(id, sizeof(id), "%lld", vmid);
	r = api_start_op(call, "qmcreate", id, args, ret, err);
	if (r < 0)
		guest_config_remove(gs, k, (long)vmid, NULL); /* no task took it */
	return r;
}

/* ---- config ------------------------------------------------------------- */

static int api_vm_config(struct api_call *call, json_t **ret, struct error **err)
{
	long long vmid = api_param_int(call, "vmid", 0);
	return guest_config_read(call->ctx->guests, qemu_kind(), (long)vmid,
	                         api_param_bool(call, "current", false),
	                         api_param_str(call, "snapshot"), ret, err);
}

static int api_vm_pending(struct api_call *call, json_t **ret, struct error **err)
{
	long long vmid = api_param_int(call, "vmid", 0);
	return guest_config_pending(call->ctx->guests, qemu_kind(), (long)vmid, ret, err);
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
	const struct guest_kind_ops *k = qemu_kind();
	long long vmid = api_param_int(call, "vmid", 0);
	json_t *set = NULL;
	int r = config_params(call, &set, err);
	if (r < 0)
		return r;
	*c = (struct guest_config_change){
	    .set = set,
	    .delete = api_param_str(call, "delete"),
	    .revert = api_param_str(call, "revert"),
	    .digest = api_param_str(call, "digest"),
	    .force = api_param_bool(call, "force", false),
	};
	r = skiplock_flags(call, &c->flags, err);
	/* `qm unlock`: root@pam deleting lock: is how a lock a killed task
	 * left goes (the key is root's, so nobody else gets this far) */
	if (r == 0 && c->delete &&deletes_lock(c->delete))
		c->flags |= GUEST_SKIPLOCK;
	if (r == 0)
		r = guest_config_change_check(k, c, err);
	if (r == 0) {
		_cleanup_json_ json_t *keys = guest_config_change_keys(c);
		r = check_key_privs(call, vmid, keys, set, err);
	}
	/* the permissions first, as PVE: a caller without them learns nothing
	 * of the VM */
	if (r == 0)
		r = guest_find(call->ctx->guests, k, (long)vmid, NULL, err);
	if (r < 0) {
		json_decref(set);
		return r;
	}
	*ret_set = set;
	return 0;
}

static int api_update_vm(struct api_call *call, json_t **ret, struct error **err)
{
	struct guest_config_change c;
	_cleanup_json_ json_t *set = NULL;
	int r = config_change(call, &set, &c, err);
	if (r < 0)
		return r;
	/* new disks are allocated in the call, as PVE's synchronous PUT does */
	r = guest_config_change_apply(call->ctx->guests, qemu_kind(),
	                              (long)api_param_int(call, "vmid", 0), set, &c, NULL, err);
	if (r < 0)
		return r;
	*ret = json_null();
	return 0;
}

static int api_update_vm_async(struct api_call *call, json_t **ret, struct error **err)
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
	char id[24];
	snprintf(id, sizeof(id), "%lld", vmid);
	return api_start_op(call, "qmconfig", id, args, ret, err);
}

/* ---- destroy ------------------------------------------------------------ */

static int api_destroy_vm(struct api_call *call, json_t **ret, struct error **err)
{
	const struct guest_kind_ops *k = qemu_kind();
	struct guest_store *gs = call->ctx->guests;
	long long vmid = api_param_int(call, "vmid", 0);
	unsigned flags = 0;
	int r = skiplock_flags(call, &flags, err);
	if (r < 0)
		return r;
	struct guest g = {0};
	r = guest_get(gs, k, (long)vmid, &g, err);
	if (r < 0)
		return r;
	/* early checks (the task repeats them under the lock) */
	bool running = false;
	r = guest_is_running(gs, k, (long)vmid, &running, NULL, err);
	if (r == 0) {
		struct guest_state st = {.conf = g.conf, .running = running};
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
	char id[24];
	snprintf(id, sizeof(id), "%lld", vmid);
	return api_start_op(call, "qmdestroy", id, args, ret, err);
}

/* ---- the VM's directory and status -------------------------------------- */

static int api_vmdiridx(struct api_call *call, json_t **ret, struct error **err)
{
	long long vmid = api_param_int(call, "vmid", 0);
	int r = guest_find(call->ctx->guests, qemu_kind(), (long)vmid, NULL, err);
	if (r < 0)
		return r;
	static const char *const names[] = {"config", "pending", "status", "rrddata", NULL};
	json_t *a = json_array();
	for (const char *const *n = names; *n; n++)
		json_array_append_new(a, json_pack("{s:s}", "subdir", *n));
	*ret = a;
	return 0;
}

static int api_vm_status_index(struct api_call *call, json_t **ret, struct error **err)
{
	long long vmid = api_param_int(call, "vmid", 0);
	int r = guest_find(call->ctx->guests, qemu_kind(), (long)vmid, NULL, err);
	if (r < 0)
		return r;
	static const char *const names[] = {"current", "start",   "stop",   "reset", "shutdown",
	                                    "reboot",  "suspend", "resume", NULL};
	json_t *a = json_array();
	for (const char *const *n = names; *n; n++)
		json_array_append_new(a, json_pack("{s:s}", "subdir", *n));
	*ret = a;
	return 0;
}

static int api_vm_status_current(struct api_call *call, json_t **ret, struct error **err)
{
	long long vmid = api_param_int(call, "vmid", 0);
	struct guest g = {0};
	int r = guest_get(call->ctx->guests, qemu_kind(), (long)vmid, &g, err);
	if (r < 0)
		return r;
	json_t *e = NULL;
	r = guest_summary(call->ctx->guests, &g, &e, err);
	guest_release(&g);
	if (r < 0)
		return r;
	if (!json_object_get(e, "qmpstatus"))
		json_object_set(e, "qmpstatus", json_object_get(e, "status"));
	if (!json_object_get(e, "cpu"))
		json_object_set_new(e, "cpu", json_integer(0));
	json_object_set_new(e, "ha", json_pack("{s:i}", "managed", 0));
	*ret = e;
	return 0;
}

/* POST .../status/<op>: the early checks, then the task. */
static int power(struct api_call *call, enum guest_op op, const char *type, json_t **ret,
                 struct error **err)
{
	const struct guest_kind_ops *k = qemu_kind();
	struct guest_store *gs = call->ctx->guests;
	long long vmid = api_param_int(call, "vmid", 0);
	unsigned flags = 0;
	int r = skiplock_flags(call, &flags, err);
	if (r < 0)
		return r;
	if (api_param_bool(call, "forceStop", false))
		flags |= GUEST_FORCE;
	if (api_param_bool(call, "todisk", false))
		flags |= GUEST_TODISK;
	struct guest g = {0};
	r = guest_get(gs, k, (long)vmid, &g, err);
	if (r < 0)
		return r;
	bool running = false;
	r = guest_is_running(gs, k, (long)vmid, &running, NULL, err);
	if (r == 0) {
		struct guest_state st = {.conf = g.conf, .running = running};
		r = guest_check_op(k, (long)vmid, &st, op, flags, err);
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
	char id[24];
	snprintf(id, sizeof(id), "%lld", vmid);
	return api_start_op(call, type, id, args, ret, err);
}

#define POWER_HANDLER(name, OP, type)                                                     \
	static int api_vm_##name(struct api_call *call, json_t **ret, struct error **err) \
	{                                                                                 \
		return power(call, OP, type, ret, err);                                   \
	}
POWER_HANDLER(start, GUEST_OP_START, "qmstart")
POWER_HANDLER(stop, GUEST_OP_STOP, "qmstop")
POWER_HANDLER(shutdown, GUEST_OP_SHUTDOWN, "qmshutdown")
POWER_HANDLER(reboot, GUEST_OP_REBOOT, "qmreboot")
POWER_HANDLER(reset, GUEST_OP_RESET, "qmreset")
POWER_HANDLER(suspend, GUEST_OP_SUSPEND, "qmsuspend")
POWER_HANDLER(resume, GUEST_OP_RESUME, "qmresume")

/* ---- monitor and sendkey ------------------------------------------------ */

static int api_vm_monitor(struct api_call *call, json_t **ret, struct error **err)
{
	long long vmid = api_param_int(call, "vmid", 0);
	_cleanup_free_ char *out = NULL;
	int r = guest_monitor(call->ctx->guests, qemu_kind(), (long)vmid,
	                      api_param_str(call, "command"), &out, err);
	if (r < 0)
		return r;
	*ret = json_string(out);
	return 0;
}

static int api_vm_sendkey(struct api_call *call, json_t **ret, struct error **err)
{
	long long vmid = api_param_int(call, "vmid", 0);
	unsigned flags = 0;
	int r = skiplock_flags(call, &flags, err);
	if (r == 0)
		r = guest_sendkey(call->ctx->guests, qemu_kind(), (long)vmid,
		                  api_param_str(call, "key"), flags, err);
	if (r < 0)
		return r;
	*ret = json_null();
	return 0;
}

/* ---- rows --------------------------------------------------------------- */

#define VM_PARAMS API_PARAM_NODE, API_PARAM_VMID
#define P_SKIPLOCK                                                                       \
	{                                                                                \
		.name = "skiplock", .type = API_TYPE_BOOLEAN, .optional = true,          \
		.description = "Ignore locks - only root is allowed to use this option." \
	}
#define P_TIMEOUT(d)                                                                            \
	{                                                                                       \
		.name = "timeout", .type = API_TYPE_INTEGER, .optional = true, .has_min = true, \
		.minimum = 0, .has_max = true, .maximum = 86400, .description = (d)             \
	}
#define UPID_RETURN                                                      \
	{                                                                \
		.type = API_TYPE_STRING, .description = "The task UPID." \
	}
#define PERM_VM(priv) API_CHECK(API_PERM("/vms/{vmid}", priv))
#define POWER_ROW(suffix, nm, desc, fn, ...)                                                    \
	{                                                                                       \
		.path = "/nodes/{node}/qemu/{vmid}/status/" suffix, .verb = "POST", .name = nm, \
		.description = desc,                                                            \
		.params = (const struct api_param[]){VM_PARAMS, __VA_ARGS__ API_END},           \
		.returns = UPID_RETURN, .perm = PERM_VM("VM.PowerMgmt"),                        \
		.flags = API_ASYNC | API_PROTECTED, .handler = fn,                              \
	}

static const char *const config_privs_text =
    "You need 'VM.Config.*' on /vms/{vmid} for the keys you change (Disk, CDROM, CPU, Memory, "
    "Network, HWType, Options, Cloudinit); root@pam only for args, hookscript and other "
    "host-level keys.";

const struct api_method api_methods_qemu[] = {
    {
        .path = "/nodes/{node}/qemu",
        .verb = "GET",
        .name = "vmlist",
        .description = "Virtual machine index (per node).",
        .params = (const struct api_param[]){API_PARAM_NODE,
                                             {.name = "full",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .description = "Determine the full status of "
                                                             "active VMs."},
                                             API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("Only list VMs where you have VM.Audit permissions on "
                             "/vms/<vmid>."),
        .handler = api_vmlist,
    },
    {
        .path = "/nodes/{node}/qemu",
        .verb = "POST",
        .name = "create_vm",
        .description = "Create a virtual machine.",
        .params =
            (const struct api_param[]){
                API_PARAM_NODE,
                API_PARAM_VMID,
                {.name = "pool",
                 .type = API_TYPE_STRING,
                 .format = "pve-poolid",
                 .optional = true,
                 .description = "Add the VM to the specified pool."},
                {.name = "start",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .default_text = "0",
                 .description = "Start VM after it was created successfully."},
                {.name = "archive",
                 .type = API_TYPE_STRING,
                 .optional = true,
                 .max_length = 255,
                 .description = "The backup archive (not supported yet)."},
                {.name = "unique",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .description = "Assign a unique random ethernet address."},
                API_QEMU_CONFIG_PARAMS API_END},
        .returns = UPID_RETURN,
        .perm = API_CHECK_DESC(
            API_OR(API_PERM("/vms/{vmid}", "VM.Allocate"),
                   &(const struct api_check){.kind = API_CHECK_PERM,
                                             .path = "/pool/{pool}",
                                             .privs = API_PRIVS("VM.Allocate"),
                                             .require_param = "pool"}),
            "You need 'VM.Allocate' permissions on /vms/{vmid} or on the VM pool /pool/{pool}. "
            "For disks you need 'Datastore.AllocateSpace' on any used storage."),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_create_vm,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}",
        .verb = "GET",
        .name = "vmdiridx",
        .description = "Directory index",
        .params = (const struct api_param[]){VM_PARAMS, API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("Any authenticated user."),
        .handler = api_vmdiridx,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}",
        .verb = "DELETE",
        .name = "destroy_vm",
        .description = "Destroy the VM and  all used/owned volumes. Removes any VM specific "
                       "permissions and firewall rules",
        .params = (const struct api_param[]){VM_PARAMS,
                                             P_SKIPLOCK,
                                             {.name = "purge",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .description = "Remove VMID from configurations, "
                                                             "like backup & replication jobs "
                                                             "and HA."},
                                             {.name = "destroy-unreferenced-disks",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .default_text = "1",
                                              .description = "If set, destroy additionally all "
                                                             "disks not referenced in the "
                                                             "config but with a matching VMID "
                                                             "from all enabled storages."},
                                             API_END},
        .returns = UPID_RETURN,
        .perm = PERM_VM("VM.Allocate"),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_destroy_vm,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/config",
        .verb = "GET",
        .name = "vm_config",
        .description = "Get the virtual machine configuration with pending configuration "
                       "changes applied. Set the 'current' parameter to get the current "
                       "configuration instead.",
        .params = (const struct api_param[]){VM_PARAMS,
                                             {.name = "current",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .default_text = "0",
                                              .description = "Get current values (instead of "
                                                             "pending values)."},
                                             {.name = "snapshot",
                                              .type = API_TYPE_STRING,
                                              .format = "pve-configid",
                                              .optional = true,
                                              .max_length = 40,
                                              .description = "Fetch config values from given "
                                                             "snapshot."},
                                             API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = PERM_VM("VM.Audit"),
        .handler = api_vm_config,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/config",
        .verb = "PUT",
        .name = "update_vm",
        .description = "Set virtual machine options (synchronous API) - You should consider "
                       "using the POST method instead for any actions involving hotplug or "
                       "storage allocation.",
        .params = (const struct api_param[]){VM_PARAMS,
                                             API_PARAM_DELETE,
                                             API_PARAM_DIGEST,
                                             P_SKIPLOCK,
                                             {.name = "revert",
                                              .type = API_TYPE_STRING,
                                              .format = "pve-configid-list",
                                              .optional = true,
                                              .max_length = 4096,
                                              .description = "Revert a pending change."},
                                             {.name = "force",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .description = "Force physical removal. Without "
                                                             "this, we simple remove the disk "
                                                             "from the config file and create "
                                                             "an additional configuration "
                                                             "entry called 'unused[n]', which "
                                                             "contains the volume ID."},
                                             API_QEMU_CONFIG_PARAMS API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK_DESC(API_PERM_ANY("/vms/{vmid}", "VM.Config.Disk", "VM.Config.CDROM",
                                            "VM.Config.CPU", "VM.Config.Memory",
                                            "VM.Config.Network", "VM.Config.HWType",
                                            "VM.Config.Options", "VM.Config.Cloudinit"),
                               config_privs_text),
        .flags = API_PROTECTED,
        .handler = api_update_vm,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/config",
        .verb = "POST",
        .name = "update_vm_async",
        .description = "Set virtual machine options (asynchronous API).",
        .params = (const struct api_param[]){VM_PARAMS,
                                             API_PARAM_DELETE,
                                             API_PARAM_DIGEST,
                                             P_SKIPLOCK,
                                             {.name = "revert",
                                              .type = API_TYPE_STRING,
                                              .format = "pve-configid-list",
                                              .optional = true,
                                              .max_length = 4096,
                                              .description = "Revert a pending change."},
                                             {.name = "force",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .description = "Force physical removal."},
                                             {.name = "background_delay",
                                              .type = API_TYPE_INTEGER,
                                              .optional = true,
                                              .has_min = true,
                                              .minimum = 1,
                                              .has_max = true,
                                              .maximum = 30,
                                              .description = "Time to wait for the task to "
                                                             "finish (ignored)."},
                                             API_QEMU_CONFIG_PARAMS API_END},
        .returns = UPID_RETURN,
        .perm = API_CHECK_DESC(API_PERM_ANY("/vms/{vmid}", "VM.Config.Disk", "VM.Config.CDROM",
                                            "VM.Config.CPU", "VM.Config.Memory",
                                            "VM.Config.Network", "VM.Config.HWType",
                                            "VM.Config.Options", "VM.Config.Cloudinit"),
                               config_privs_text),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_update_vm_async,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/pending",
        .verb = "GET",
        .name = "vm_pending",
        .description = "Get the virtual machine configuration with both current and pending "
                       "values.",
        .params = (const struct api_param[]){VM_PARAMS, API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = PERM_VM("VM.Audit"),
        .handler = api_vm_pending,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/status",
        .verb = "GET",
        .name = "vmcmdidx",
        .description = "Directory index",
        .params = (const struct api_param[]){VM_PARAMS, API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("Any authenticated user."),
        .handler = api_vm_status_index,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/status/current",
        .verb = "GET",
        .name = "vm_status",
        .description = "Get virtual machine status.",
        .params = (const struct api_param[]){VM_PARAMS, API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = PERM_VM("VM.Audit"),
        .handler = api_vm_status_current,
    },
    POWER_ROW("start", "vm_start", "Start virtual machine.", api_vm_start, P_SKIPLOCK,
              P_TIMEOUT("Wait maximal timeout seconds."), ),
    POWER_ROW("stop", "vm_stop",
              "Stop virtual machine. The qemu process will exit immediately. This is akin to "
              "pulling the power plug of a running computer and may damage the VM data.",
              api_vm_stop, P_SKIPLOCK, P_TIMEOUT("Wait maximal timeout seconds."),
              {.name = "keepActive",
               .type = API_TYPE_BOOLEAN,
               .optional = true,
               .description = "Do not deactivate storage volumes."},
              {.name = "overrule-shutdown",
               .type = API_TYPE_BOOLEAN,
               .optional = true,
               .description = "Try to abort active 'qmshutdown' tasks before stopping."}, ),
    POWER_ROW("shutdown", "vm_shutdown",
              "Shutdown virtual machine. This is similar to pressing the power button on a "
              "physical machine. This will send an ACPI event for the guest OS, which should "
              "then proceed to a clean shutdown.",
              api_vm_shutdown, P_SKIPLOCK, P_TIMEOUT("Wait maximal timeout seconds."),
              {.name = "forceStop",
               .type = API_TYPE_BOOLEAN,
               .optional = true,
               .default_text = "0",
               .description = "Make sure the VM stops."},
              {.name = "keepActive",
               .type = API_TYPE_BOOLEAN,
               .optional = true,
               .description = "Do not deactivate storage volumes."}, ),
    POWER_ROW("reboot", "vm_reboot",
              "Reboot the VM by shutting it down, and starting it again. Applies pending "
              "changes.",
              api_vm_reboot, P_TIMEOUT("Wait maximal timeout seconds for the shutdown."), ),
    POWER_ROW("reset", "vm_reset", "Reset virtual machine.", api_vm_reset, P_SKIPLOCK, ),
    POWER_ROW("suspend", "vm_suspend", "Suspend virtual machine.", api_vm_suspend, P_SKIPLOCK,
              {.name = "todisk",
               .type = API_TYPE_BOOLEAN,
               .optional = true,
               .default_text = "0",
               .description = "If set, suspends the VM to disk. Will be resumed on next VM "
                              "start."},
              {.name = "statestorage",
               .type = API_TYPE_STRING,
               .format = "pve-storage-id",
               .optional = true,
               .max_length = 100,
               .description = "The storage for the VM state"}, ),
    POWER_ROW("resume", "vm_resume", "Resume virtual machine.", api_vm_resume, P_SKIPLOCK,
              {.name = "nocheck", .type = API_TYPE_BOOLEAN, .optional = true}, ),
    {
        .path = "/nodes/{node}/qemu/{vmid}/sendkey",
        .verb = "PUT",
        .name = "vm_sendkey",
        .description = "Send key event to virtual machine.",
        .params = (const struct api_param[]){VM_PARAMS,
                                             {.name = "key",
                                              .type = API_TYPE_STRING,
                                              .max_length = 64,
                                              .description = "The key (qemu monitor encoding)."},
                                             P_SKIPLOCK,
                                             API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = PERM_VM("VM.Console"),
        .flags = API_PROTECTED,
        .handler = api_vm_sendkey,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/monitor",
        .verb = "POST",
        .name = "monitor",
        .description = "Execute QEMU monitor commands.",
        .params = (const struct api_param[]){VM_PARAMS,
                                             {.name = "command",
                                              .type = API_TYPE_STRING,
                                              .max_length = 4096,
                                              .description = "The monitor command."},
                                             API_END},
        .returns = {.type = API_TYPE_STRING},
        /* the monitor reaches the host (files, devices, migration to a
         * command): root@pam's alone, stricter than PVE's Sys.Modify */
        .perm = {.user = API_PERM_ROOT, .description = "Only root@pam may use the monitor."},
        .flags = API_PROTECTED,
        .handler = api_vm_monitor,
    },
    {.path = NULL},
};

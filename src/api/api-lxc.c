/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * /nodes/{node}/lxc: containers (pve-api.md 7.2, PVE::API2::LXC and
 * ::Status).  The rows point at the handlers every kind shares
 * (api-guest.h); this file keeps what only containers have: create from a
 * template (vzcreate), PVE's root@pam rules of check_ct_modify_config_perm
 * with its words, and the directory indexes.
 */
#include "common.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api-guest-rows.h"
#include "api-guest.h"
#include "api-internal.h"
#include "api-lxc-params.h"
#include "api.h"
#include "error.h"
#include "guest-ops.h"
#include "guest.h"
#include "jsonutil.h"
#include "lxc-conf.h"
#include "volid.h"
#include "xalloc.h"

static const struct guest_kind_ops *lxc_kind(void)
{
	return guest_kind_find("lxc");
}

static int perm_exc(struct error **err, const char *what)
{
	/* PVE's raise_perm_exc() */
	return error_set(err, -EPERM, 403, "permission check failed (%s)", what);
}

/* Whether a features value names a flag other than nesting. */
static bool features_beyond_nesting(const char *value)
{
	for (const char *q = value; *q;) {
		size_t len = strcspn(q, ",");
		size_t klen = strcspn(q, "=,");
		if (len && strspn(q, " \t") < len && !(klen == 7 && !strncmp(q, "nesting", 7)))
			return true;
		q += len;
		if (*q == ',')
			q++;
	}
	return false;
}

/* 403 when value (a rootfs or mpN value) is a bind mount or a device. */
static int check_mount_value(const char *value, struct error **err)
{
	_cleanup_free_ char *vol = value ? lxc_mount_volume(value) : NULL;
	if (!vol || vol[0] != '/')
		return 0;
	_cleanup_free_ char *m = xasprintf("mount point type %s is only allowed for root@pam",
	                                   strncmp(vol, "/dev/", 5) ? "bind" : "device");
	return perm_exc(err, m);
}

static bool is_family(const char *key, const char *prefix)
{
	size_t n = strlen(prefix);
	return !strncmp(key, prefix, n) && key[n] >= '0' && key[n] <= '9';
}

int api_lxc_check_root_keys(struct api_call *call, const json_t *keys, const json_t *set,
                            const json_t *cur, struct error **err)
{
	if (streq(call->authid, "root@pam"))
		return 0;
	const char *u = json_string_value(json_object_get(set, "unprivileged"));
	if (!u)
		u = json_string_value(json_object_get(cur, "unprivileged"));
	bool unprivileged = !cur && !u ? true : streq_ptr(u, "1");
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)keys, key, v) {
		const char *value = json_string_value(json_object_get(set, key));
		/* what the key holds now counts as much as what it gets: a bind
		 * mount is not replaced or deleted by anyone but root@pam */
		const char *old = json_string_value(json_object_get(cur, key));
		if (is_family(key, "dev"))
			return perm_exc(
			    err, "configuring device passthrough is only allowed for root@pam");
		if (streq(key, "rootfs") || is_family(key, "mp")) {
			int r = check_mount_value(old, err);
			if (r == 0)
				r = check_mount_value(value, err);
			if (r < 0)
				return r;
		}
		if (value && streq(key, "features")) {
			if (!unprivileged)
				return perm_exc(err,
				                "changing feature flags for privileged container "
				                "is only allowed for root@pam");
			if (features_beyond_nesting(value))
				return perm_exc(err,
				                "changing feature flags (except nesting) is only "
				                "allowed for root@pam");
		}
		if (streq(key, "unprivileged") && (!value || !streq(value, "1")))
			return perm_exc(err, "privileged containers are only allowed for root@pam");
	}
	return 0;
}

/* ---- create ------------------------------------------------------------- */

/* Parameters of the create row that are not config keys. */
static const char *const create_meta[] = {
    "ostemplate",           "password", "ssh-public-keys", "storage", "force", "start", "pool",
    "ignore-unpack-errors", "restore",  "unique",          NULL,
};

/* PVE's encrypt_pw: a SHA-256 crypt(3) hash with a random salt, what
 * every distribution's shadow (busybox's too) reads. */
static int hash_password(const char *pw, char **ret, struct error **err)
{
	_cleanup_free_ char *setting = crypt_gensalt_ra("$5$", 0, NULL, 0);
	if (!setting)
		return error_set(err, -EIO, 500, "unable to make a password salt");
	void *data = NULL;
	int size = 0;
	const char *h = crypt_ra(pw, setting, &data, &size);
	int r = 0;
	if (!h || h[0] != '$')
		r = error_set(err, -EIO, 500, "unable to hash the password");
	else
		*ret = xstrdup(h);
	free(data);
	return r;
}

/* ostemplate: a vztmpl volume the caller may read (PVE's
 * check_volume_access: Datastore.Audit or .AllocateSpace on its storage). */
static int check_template(struct api_call *call, const char *volid, struct error **err)
{
	const char *colon = strchr(volid, ':');
	if (!colon || colon == volid)
		return error_param(err, "ostemplate", "invalid format - not a volume id");
	_cleanup_free_ char *storeid = xstrndup(volid, (size_t)(colon - volid));
	_cleanup_free_ char *volname = NULL;
	struct volname_info info = {0};
	struct error *e = NULL;
	int r = api_storage_resolve_volume(call->ctx, storeid, colon + 1, &volname, &info, &e);
	if (r < 0) {
		r = error_param(err, "ostemplate", "%s", e ? e->msg : "invalid volume");
		error_free(e);
		return r;
	}
	bool tmpl = info.vtype == VTYPE_VZTMPL;
	bool ok = api_storage_volume_access(call, storeid, vtype_to_string(info.vtype), info.vmid);
	volname_info_clear(&info);
	if (!ok)
		return error_set(err, -EPERM, 403, "Permission check failed (/storage/%s, %s)",
		                 storeid, "Datastore.Audit");
	if (!tmpl)
		return error_param(err, "ostemplate", "'%s' is not a container template", volid);
	return 0;
}

/* rootfs as PVE reads it at create: absent, <storage>:4; a bare number,
 * that many GiB on storage. */
static char *rootfs_value(struct api_call *call)
{
	const char *storage = api_param_str(call, "storage");
	if (!storage)
		storage = "local";
	json_t *v = json_object_get(call->params, "rootfs");
	if (!v)
		return xasprintf("%s:4", storage);
	if (json_is_integer(v) || json_is_real(v))
		return xasprintf("%s:%g", storage, json_number_value(v));
	const char *s = json_string_value(v);
	size_t n = strcspn(s, ",");
	if (n && strspn(s, "0123456789.") == n)
		return xasprintf("%s:%s", storage, s);
	return xstrdup(s);
}

static int api_create_ct(struct api_call *call, json_t **ret, struct error **err)
{
	const struct guest_kind_ops *k = lxc_kind();
	long long vmid = api_param_int(call, "vmid", 0);
	if (api_param_bool(call, "restore", false))
		return error_param(err, "restore", "restoring a backup is not supported yet");
	const char *ostemplate = api_param_str(call, "ostemplate");
	const char *pool = NULL;
	int r = api_guest_check_pool(call, &pool, err);
	if (r < 0)
		return r;
	/* rootfs resolved and unprivileged=1 by default (ctvm's choice, as
	 * the GUI's and Ansible's) before the keys are checked */
	_cleanup_free_ char *rootfs = rootfs_value(call);
	json_object_set_new(call->params, "rootfs", json_string(rootfs));
	if (!json_object_get(call->params, "unprivileged"))
		json_object_set_new(call->params, "unprivileged", json_true());
	_cleanup_json_ json_t *set = NULL;
	r = api_guest_config_params(call, k, create_meta, &set, err);
	if (r < 0)
		return r;
	bool unpriv = streq_ptr(json_string_value(json_object_get(set, "unprivileged")), "1");
	/* PVE 7.2: a privileged container needs Sys.Modify on / */
	if (!unpriv && !api_call_has_priv(call, "/", "Sys.Modify"))
		return error_set(err, -EPERM, 403, "Permission check failed (/, Sys.Modify)");
	r = api_guest_check_new_keys(call, k, vmid, set, err);
	if (r == 0)
		r = check_template(call, ostemplate, err);
	if (r < 0)
		return r;
	/* force: PVE's create_vm honours it only with restore (check_vmid_unused
	 * unless restore && force && the CT exists; then the old volumes go
	 * after the new ones are made); a plain create of an existing id is
	 * refused whatever force says, as the reservation does here ("CT 100
	 * already exists on node ...") */
	_cleanup_free_ char *conf = NULL;
	r = api_guest_create_conf(k, set, &conf, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *args =
	    json_pack("{s:s, s:s, s:b}", "conf", conf, "ostemplate", ostemplate, "start",
	              api_param_bool(call, "start", false));
	const char *pw = api_param_str(call, "password");
	if (pw) {
		_cleanup_free_ char *hash = NULL;
		r = hash_password(pw, &hash, err);
		if (r < 0)
			return r;
		json_object_set_new(args, "password-hash", json_string(hash));
	}
	const char *keys_text = api_param_str(call, "ssh-public-keys");
	if (keys_text)
		json_object_set_new(args, "ssh-public-keys", json_string(keys_text));
	if (pool)
		json_object_set_new(args, "pool", json_string(pool));
	return api_guest_create_task(call, k, vmid, args, ret, err);
}

/* ---- directory indexes -------------------------------------------------- */

/* PVE's vmdiridx (API2/LXC.pm), in its order; api_guest_diridx() keeps
 * those ctvm has rows for. */
static int api_ctdiridx(struct api_call *call, json_t **ret, struct error **err)
{
	static const char *const names[] = {"config",    "pending",      "status",     "vncproxy",
	                                    "termproxy", "vncwebsocket", "spiceproxy", "migrate",
	                                    "clone",     "rrd",          "rrddata",    "firewall",
	                                    "snapshot",  "resize",       "interfaces", NULL};
	return api_guest_diridx(call, names, ret, err);
}

static int api_ct_status_index(struct api_call *call, json_t **ret, struct error **err)
{
	static const char *const names[] = {"current", "start",   "stop",   "shutdown",
	                                    "reboot",  "suspend", "resume", NULL};
	return api_guest_subdirs(call, names, ret, err);
}

static int api_ct_interfaces(struct api_call *call, json_t **ret, struct error **err)
{
	return guest_interfaces(call->ctx->guests, lxc_kind(), (long)api_param_int(call, "vmid", 0),
	                        ret, err);
}

/* ---- rows --------------------------------------------------------------- */

#define CT_PARAMS      API_PARAM_NODE, API_PARAM_VMID
#define POWER_ROW(...) GUEST_POWER_ROW("lxc", __VA_ARGS__)
#define CONFIG_PERM                                                                               \
	API_CHECK_DESC(API_PERM_ANY("/vms/{vmid}", "VM.Config.Disk", "VM.Config.CPU",             \
	                            "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options", \
	                            "VM.Allocate"),                                               \
	               config_privs_text)

static const char *const config_privs_text =
    "You need 'VM.Config.*' on /vms/{vmid} for the keys you change (Disk, CPU, Memory, "
    "Network, Options; VM.Allocate for features=nesting); root@pam only for bind mounts, "
    "devices, features beyond nesting, privileged mode and lxc.* keys.";

const struct api_method api_methods_lxc[] = {
    {
        .path = "/nodes/{node}/lxc",
        .verb = "GET",
        .name = "vmlist",
        .description = "LXC container index (per node).",
        .params = (const struct api_param[]){API_PARAM_NODE, API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("Only list CTs where you have VM.Audit permissions on "
                             "/vms/<vmid>."),
        .handler = api_guest_list,
    },
    {
        .path = "/nodes/{node}/lxc",
        .verb = "POST",
        .name = "create_vm",
        .description = "Create or restore a container.",
        .params =
            (const struct api_param[]){
                API_PARAM_NODE,
                API_PARAM_VMID,
                {.name = "ostemplate",
                 .type = API_TYPE_STRING,
                 .max_length = 255,
                 .description = "The OS template or backup file."},
                {.name = "storage",
                 .type = API_TYPE_STRING,
                 .format = "pve-storage-id",
                 .optional = true,
                 .default_text = "local",
                 .max_length = 100,
                 .description = "Default Storage."},
                {.name = "password",
                 .type = API_TYPE_STRING,
                 .optional = true,
                 .min_length = 5,
                 .max_length = 256,
                 .secret = true,
                 .description = "Sets root password inside container."},
                {.name = "ssh-public-keys",
                 .type = API_TYPE_STRING,
                 .optional = true,
                 .max_length = 4096,
                 .description = "Setup public SSH keys (one key per line, OpenSSH format)."},
                {.name = "pool",
                 .type = API_TYPE_STRING,
                 .format = "pve-poolid",
                 .optional = true,
                 .description = "Add the VM to the specified pool."},
                {.name = "start",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .default_text = "0",
                 .description = "Start the CT after its creation finished successfully."},
                {.name = "force",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .description = "Allow to overwrite existing container (refused: the id "
                                "must be free)."},
                {.name = "unique",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .description = "Assign a unique random ethernet address."},
                {.name = "restore",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .description = "Mark this as restore task (not supported yet)."},
                {.name = "ignore-unpack-errors",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .description = "Ignore errors when extracting the template."},
                API_LXC_CONFIG_PARAMS API_END},
        .returns = UPID_RETURN,
        .perm = PERM_CREATE(
            "You need 'VM.Allocate' permissions on /vms/{vmid} or on the VM pool /pool/{pool}. "
            "For restore, it is enough if the user has 'VM.Backup' permission and the VM "
            "already exists. You also need 'Datastore.AllocateSpace' permissions on the "
            "storage; privileged containers need 'Sys.Modify' on / and root@pam."),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_create_ct,
    },
    GUEST_DIRIDX_ROW("lxc", api_ctdiridx),
    {
        .path = "/nodes/{node}/lxc/{vmid}",
        .verb = "DELETE",
        .name = "destroy_vm",
        .description = "Destroy the container (also delete all uses files).",
        .params = (const struct api_param[]){CT_PARAMS,
                                             {.name = "force",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .default_text = "0",
                                              .description = "Force destroy, even if "
                                                             "running."},
                                             {.name = "purge",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .default_text = "0",
                                              .description = "Remove container from all "
                                                             "related configurations."},
                                             {.name = "destroy-unreferenced-disks",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .description = "If set, destroy additionally "
                                                             "all disks with the VMID from "
                                                             "all enabled storages which "
                                                             "are not referenced in the "
                                                             "config."},
                                             API_END},
        .returns = UPID_RETURN,
        .perm = PERM_VM("VM.Allocate"),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_guest_destroy,
    },
    {
        .path = "/nodes/{node}/lxc/{vmid}/config",
        .verb = "GET",
        .name = "vm_config",
        .description = "Get container configuration.",
        .params = (const struct api_param[]){CT_PARAMS, P_CONFIG_GET, API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = PERM_VM("VM.Audit"),
        .handler = api_guest_config_get,
    },
    {
        .path = "/nodes/{node}/lxc/{vmid}/config",
        .verb = "PUT",
        .name = "update_vm",
        .description = "Set container options.",
        .params = (const struct api_param[]){CT_PARAMS, API_PARAM_DELETE, API_PARAM_DIGEST,
                                             P_REVERT, API_LXC_CONFIG_PARAMS API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = CONFIG_PERM,
        .flags = API_PROTECTED,
        .handler = api_guest_config_put,
    },
    {
        .path = "/nodes/{node}/lxc/{vmid}/pending",
        .verb = "GET",
        .name = "vm_pending",
        .description = "Get container configuration, including pending changes.",
        .params = (const struct api_param[]){CT_PARAMS, API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = PERM_VM("VM.Audit"),
        .handler = api_guest_pending,
    },
    GUEST_STATUS_ROWS("lxc", api_ct_status_index),
    POWER_ROW("start", "vm_start", "Start the container.", api_guest_start, P_SKIPLOCK,
              {.name = "debug",
               .type = API_TYPE_BOOLEAN,
               .optional = true,
               .description = "If set, enables very verbose debug log-level on start."}, ),
    POWER_ROW("stop", "vm_stop",
              "Stop the container. This will abruptly stop all processes running in the "
              "container.",
              api_guest_stop, P_SKIPLOCK,
              {.name = "overrule-shutdown",
               .type = API_TYPE_BOOLEAN,
               .optional = true,
               .description = "Try to abort active 'vzshutdown' tasks before stopping."}, ),
    POWER_ROW("shutdown", "vm_shutdown",
              "Shutdown the container. This will trigger a clean shutdown of the container, "
              "see lxc-stop(1) for details.",
              api_guest_shutdown, P_TIMEOUT("Wait maximal timeout seconds."),
              {.name = "forceStop",
               .type = API_TYPE_BOOLEAN,
               .optional = true,
               .default_text = "0",
               .description = "Make sure the Container stops."}, ),
    POWER_ROW("reboot", "vm_reboot",
              "Reboot the container by shutting it down, and starting it again. Applies "
              "pending changes.",
              api_guest_reboot, P_TIMEOUT("Wait maximal timeout seconds for the shutdown."), ),
    POWER_ROW("suspend", "vm_suspend", "Suspend the container.", api_guest_suspend, ),
    POWER_ROW("resume", "vm_resume", "Resume the container.", api_guest_resume, ),
    {
        .path = "/nodes/{node}/lxc/{vmid}/template",
        .verb = "POST",
        .name = "template",
        .description = "Create a Template.",
        .params = (const struct api_param[]){CT_PARAMS, API_END},
        .returns = UPID_RETURN,
        .perm = PERM_VM("VM.Allocate"),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_guest_template,
    },
    {
        .path = "/nodes/{node}/lxc/{vmid}/clone",
        .verb = "POST",
        .name = "clone_vm",
        .description = "Create a container clone/copy",
        .params = (const struct api_param[]){CT_PARAMS,
                                             P_CLONE_NEWID,
                                             {.name = "hostname",
                                              .type = API_TYPE_STRING,
                                              .optional = true,
                                              .max_length = 255,
                                              .description = "Set a hostname for the new CT."},
                                             P_CLONE_COPY("CT"),
                                             P_CLONE_MODE("CT"),
                                             API_END},
        .returns = UPID_RETURN,
        .perm = API_CHECK_DESC(API_PERM("/vms/{vmid}", "VM.Clone"),
                               "You need 'VM.Clone' permissions on /vms/{vmid}, and "
                               "'VM.Allocate' permissions on /vms/{newid}. For any storage "
                               "a volume is cloned to you need 'Datastore.AllocateSpace'."),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_guest_clone,
    },
    {
        .path = "/nodes/{node}/lxc/{vmid}/move_volume",
        .verb = "POST",
        .name = "move_volume",
        .description = "Move a rootfs-/mp-volume to a different storage",
        .params = (const struct api_param[]){CT_PARAMS,
                                             {.name = "volume",
                                              .type = API_TYPE_STRING,
                                              .max_length = 16,
                                              .description = "Volume which will be moved."},
                                             {.name = "storage",
                                              .type = API_TYPE_STRING,
                                              .format = "pve-storage-id",
                                              .optional = true,
                                              .max_length = 100,
                                              .description = "Target Storage."},
                                             {.name = "delete",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .default_text = "0",
                                              .description = "Delete the original volume "
                                                             "after successful copy."},
                                             API_PARAM_DIGEST,
                                             {.name = "target-vmid",
                                              .type = API_TYPE_INTEGER,
                                              .optional = true,
                                              .description = "The (unique) ID of the target "
                                                             "CT (not supported yet)."},
                                             {.name = "bwlimit",
                                              .type = API_TYPE_NUMBER,
                                              .optional = true,
                                              .description = "Override I/O bandwidth limit "
                                                             "(ignored)."},
                                             API_END},
        .returns = UPID_RETURN,
        .perm = API_CHECK_DESC(API_PERM("/vms/{vmid}", "VM.Config.Disk"),
                               "You need 'VM.Config.Disk' permissions on /vms/{vmid}, and "
                               "'Datastore.AllocateSpace' permissions on the storage."),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_guest_move,
    },
    {
        .path = "/nodes/{node}/lxc/{vmid}/interfaces",
        .verb = "GET",
        .name = "ip",
        .description = "Get IP addresses of the specified container interface.",
        .params = (const struct api_param[]){CT_PARAMS, API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = PERM_VM("VM.Audit"),
        .handler = api_ct_interfaces,
    },
    {
        .path = "/nodes/{node}/lxc/{vmid}/resize",
        .verb = "PUT",
        .name = "resize_vm",
        .description = "Resize a container mount point.",
        .params = (const struct api_param[]){CT_PARAMS,
                                             {.name = "disk",
                                              .type = API_TYPE_STRING,
                                              .max_length = 16,
                                              .description = "The disk you want to resize."},
                                             {.name = "size",
                                              .type = API_TYPE_STRING,
                                              .max_length = 64,
                                              .description = "The new size. With the '+' "
                                                             "sign the value is added to the "
                                                             "actual size of the volume and "
                                                             "without it, the value is taken "
                                                             "as an absolute one."},
                                             API_PARAM_DIGEST,
                                             API_END},
        .returns = UPID_RETURN,
        .perm = PERM_VM("VM.Config.Disk"),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_guest_resize,
    },
    {.path = NULL},
};

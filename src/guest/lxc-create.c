/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * vzcreate: a container from a template (PVE::API2::LXC's create_vm and
 * PVE::LXC::Create).  The API reserved the vmid (`lock: create`) and
 * resolved the rootfs to `<storage>:<GiB>`; the guest layer's create
 * (guest_op_create()) joins the pool and allocates the rootfs and volume
 * mount points (the kind's format_volume: subvols, or ext4 images); then
 * fill() below mounts the rootfs, unpacks the template into it under the
 * container's id map, finds the ostype when none was given, writes root's
 * password hash and ssh keys and the network/hostname files inside, and
 * unmounts it.  Any failure there fails the create, which frees the
 * volumes and removes the reservation: nothing is left behind.
 *
 * vzcreate {vmid, conf, ostemplate, [password-hash], [ssh-public-keys],
 *           [start], [pool]}
 * The password arrives as a crypt(3) hash made by the API: the clear text
 * is never a task argument and never logged.
 */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "guest-ops.h"
#include "guest.h"
#include "jsonutil.h"
#include "lxc-conf.h"
#include "lxc-idmap.h"
#include "lxc-power.h"
#include "lxc-setup.h"
#include "lxc-tmpl.h"
#include "storage-ops.h"
#include "storage.h"
#include "task.h"
#include "volid.h"
#include "xalloc.h"

static const char *arg_str(const json_t *args, const char *key)
{
	const char *s = json_string_value(json_object_get(args, key));
	return s && *s ? s : NULL;
}

/* The host path of the template volume (a vztmpl of an enabled storage). */
static int template_path(struct guest_store *gs, const char *volid, char **ret, struct error **err)
{
	struct volid v = {0};
	_cleanup_(storage_freep) struct storage *st = NULL;
	int r = volid_parse(volid, &v, err);
	if (r == 0 && strncmp(v.volname, "vztmpl/", 7))
		r = error_param(err, "ostemplate", "'%s' is not a container template", volid);
	if (r == 0)
		r = storage_load_open_enabled(guest_store_storage(gs), guest_store_node(gs),
		                              v.storeid, &st, err);
	if (r == 0)
		r = storage_activate(st, err);
	if (r == 0)
		r = storage_path(st, v.volname, ret, err);
	volid_clear(&v);
	return r;
}

/* A new container's map: Proxmox's default for unprivileged ones (raw
 * lxc.idmap keys can only come later, from root@pam's PUT). */
static void new_map(const json_t *set, struct lxc_idmap *map)
{
	*map = (struct lxc_idmap){0};
	if (!lxc_conf_unprivileged(set))
		return;
	map->e[0] =
	    (struct lxc_idmap_entry){'u', 0, LXC_IDMAP_DEFAULT_HOST, LXC_IDMAP_DEFAULT_COUNT};
	map->e[1] =
	    (struct lxc_idmap_entry){'g', 0, LXC_IDMAP_DEFAULT_HOST, LXC_IDMAP_DEFAULT_COUNT};
	map->n = 2;
}

static int fill(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                const json_t *args, json_t *set, struct task_worker *w, struct error **err)
{
	const char *rootfs_val = json_string_value(json_object_get(set, "rootfs"));
	if (!rootfs_val)
		return error_param(err, "rootfs", "a container needs a rootfs");
	struct lxc_mount root = {0};
	struct lxc_idmap map;
	_cleanup_free_ char *archive = NULL, *rootfs = NULL, *ostype = NULL;
	bool mounted = false;
	new_map(set, &map);
	int r = template_path(gs, arg_str(args, "ostemplate"), &archive, err);
	if (r == 0)
		r = lxc_conf_mount_parse("rootfs", rootfs_val, &root, err);
	if (r == 0)
		r = lxc_volume_mount(gs, vmid, "rootfs", root.volume, &rootfs, &mounted, w, err);
	if (r == 0)
		r = lxc_tmpl_unpack(archive, rootfs, &map, w, err);
	const char *given = json_string_value(json_object_get(set, "ostype"));
	if (r == 0) {
		if (given) {
			ostype = xstrdup(given);
		} else {
			r = lxc_setup_detect(rootfs, &ostype, err);
			if (r == 0) {
				task_log(w, "detected ostype '%s'", ostype);
				json_object_set_new(set, "ostype", json_string(ostype));
			}
		}
	}
	if (r == 0)
		r = lxc_setup_post_create(rootfs, ostype, set, arg_str(args, "password-hash"),
		                          arg_str(args, "ssh-public-keys"), &map, err);
	if (r == 0)
		r = lxc_setup_pre_start(rootfs, ostype, set, vmid, &map, err);
	lxc_mount_done(&root);
	struct error *e = NULL;
	int u = lxc_volume_umount_all(gs, vmid, w, &e);
	if (r == 0 && u < 0) {
		error_propagate(err, e);
		return u;
	}
	error_free(e);
	(void)k;
	return r;
}

static int op_vzcreate(struct task_worker *w, const json_t *args, struct error **err)
{
	return guest_op_create(w, args, fill, err);
}

static int check_args(const json_t *args, struct error **err)
{
	json_int_t vmid = json_integer_value(json_object_get(args, "vmid"));
	if (vmid < GUEST_VMID_MIN || vmid > GUEST_VMID_MAX)
		return error_set(err, -EINVAL, 400, "invalid vmid %lld", (long long)vmid);
	const char *h = arg_str(args, "password-hash");
	/* a crypt(3) hash, never a clear text */
	if (h && h[0] != '$')
		return error_param(err, "password", "not a password hash");
	return 0;
}

static const struct task_op_arg create_args[] = {
    {.name = "vmid", .type = TASK_ARG_INTEGER},
    {.name = "conf", .type = TASK_ARG_STRING, .max_len = GUEST_CONF_ARG_MAX},
    {.name = "ostemplate", .type = TASK_ARG_STRING},
    {.name = "password-hash", .type = TASK_ARG_STRING, .optional = true},
    {.name = "ssh-public-keys", .type = TASK_ARG_STRING, .optional = true},
    {.name = "start", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = "pool", .type = TASK_ARG_STRING, .optional = true},
    {.name = NULL},
};

const struct guest_op_def guest_lxc_op_defs[] = {
    {.name = "create", .kind = "lxc", .args = create_args, .check = check_args, .run = op_vzcreate},
    {.run = NULL},
};

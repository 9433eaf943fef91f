/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The changes a running VM takes at once (qemu-hotplug.h). */

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "guest.h"
#include "jsonutil.h"
#include "log.h"
#include "qemu-conf.h"
#include "qemu-hotplug.h"
#include "qemu-run.h"
#include "netdev.h"
#include "qemu-cmd.h"
#include "strv.h"
#include "task.h"
#include "xalloc.h"

/* PVE's `hotplug` option: a list of network, disk, cpu, memory, usb,
 * cloudinit; "1" is the default list, "0" none. */
static bool hotplug_enabled(const json_t *conf, const char *what)
{
	const char *h = json_string_value(json_object_get(conf, "hotplug"));
	if (!h || streq(h, "1"))
		h = "network,disk,usb";
	size_t n = strlen(what);
	for (const char *p = h; *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, what, n) == 0)
			return true;
		p += len;
		p += strspn(p, ",");
	}
	return false;
}

/* The NIC models hot-plugged, as the command line names their devices. */
static const char *nic_device(const char *model)
{
	static const char *const m[][2] = {
	    {"virtio", "virtio-net-pci"}, {"e1000", "e1000"},     {"e1000e", "e1000e"},
	    {"rtl8139", "rtl8139"},       {"vmxnet3", "vmxnet3"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(m); i++)
		if (streq(model, m[i][0]))
			return m[i][1];
	return NULL;
}

static int set_link(const struct qemu_run_env *env, long vmid, const char *key, bool down,
                    struct error **err)
{
	_cleanup_json_ json_t *a = json_pack("{s:s, s:b}", "name", key, "up", !down);
	return qemu_run_qmp(env, vmid, "set_link", a, 0, NULL, err);
}

/* A new NIC: on a bridge, one queue, on the first PCI bus (net0..net5 at
 * the addresses the command line gives them, 0x12..0x17). */
static int add_nic(const struct qemu_run_env *env, long vmid, const char *key,
                   const struct qemu_net *n, struct error **err)
{
	const char *device = nic_device(n->model);
	if (!n->bridge || !device || n->queues > 1 || n->index < 0 || n->index > 5 ||
	    !n->macaddr[0])
		return -EOPNOTSUPP;
	char addr[8];
	snprintf(addr, sizeof(addr), "0x%x", 0x12 + n->index);
	_cleanup_json_ json_t *dev =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "driver", device, "id", key, "netdev", key,
	              "mac", n->macaddr, "bus", "pci.0", "addr", addr);
	if (streq(n->model, "virtio")) {
		json_object_set_new(dev, "rx_queue_size", json_integer(1024));
		json_object_set_new(dev, "tx_queue_size", json_integer(256));
	}
	struct qemu_run_nic nic = {
	    .index = (unsigned)n->index,
	    .bridge = n->bridge,
	    .tag = n->tag > 0 ? (unsigned)n->tag : 0,
	    .mtu = n->mtu > 1 ? (unsigned)n->mtu : 0,
	    .rate = n->rate,
	    .link_down = n->link_down,
	};
	return qemu_run_nic_hotplug(env, vmid, &nic, dev, err);
}

/* ---- what a change is ------------------------------------------------ */

static bool ne(const char *a, const char *b)
{
	return !streq_ptr(a, b);
}

static enum qemu_hotplug_action plan_net(const json_t *conf, const char *key, const char *old,
                                         const char *value)
{
	bool hotplug = hotplug_enabled(conf, "network");
	if (!value)
		return hotplug ? QEMU_HOTPLUG_NIC_DEL : QEMU_HOTPLUG_PENDING;
	if (!old)
		return hotplug ? QEMU_HOTPLUG_NIC_ADD : QEMU_HOTPLUG_PENDING;
	struct qemu_net o, n;
	if (qemu_net_parse(key, old, &o, NULL) < 0)
		return QEMU_HOTPLUG_PENDING;
	if (qemu_net_parse(key, value, &n, NULL) < 0) {
		qemu_net_clear(&o);
		return QEMU_HOTPLUG_PENDING;
	}
	/* PVE's vmconfig_update_net: what the device is made of needs a new
	 * device (and the hotplug option); what the tap is made of is changed
	 * on the tap, whatever the option says */
	enum qemu_hotplug_action a;
	if (ne(o.model, n.model) || ne(o.macaddr, n.macaddr) || o.queues != n.queues ||
	    o.mtu != n.mtu || !o.bridge || !n.bridge)
		a = hotplug ? QEMU_HOTPLUG_NIC_REPLUG : QEMU_HOTPLUG_PENDING;
	else if (ne(o.bridge, n.bridge) || o.tag != n.tag || o.firewall != n.firewall ||
	         ne(o.trunks, n.trunks) || o.rate != n.rate)
		a = QEMU_HOTPLUG_NIC_UPDATE;
	else
		a = QEMU_HOTPLUG_NIC_LINK;
	qemu_net_clear(&o);
	qemu_net_clear(&n);
	return a;
}

static enum qemu_hotplug_action plan_disk(const json_t *conf, const char *key, const char *old,
                                          const char *value)
{
	bool hotplug = hotplug_enabled(conf, "disk");
	/* QEMU can take scsi and virtio disks while it runs; ide and sata
	 * (and what hangs off the firmware) wait for the next start, as in PVE */
	bool pluggable = str_startswith(key, "scsi") || str_startswith(key, "virtio");
	if (!value)
		return hotplug && pluggable ? QEMU_HOTPLUG_DISK_DEL : QEMU_HOTPLUG_PENDING;
	if (!old)
		return hotplug && pluggable ? QEMU_HOTPLUG_DISK_ADD : QEMU_HOTPLUG_PENDING;
	struct qemu_drive o, n;
	if (qemu_drive_parse(key, old, &o, NULL) < 0)
		return QEMU_HOTPLUG_PENDING;
	if (qemu_drive_parse(key, value, &n, NULL) < 0) {
		qemu_drive_clear(&o);
		return QEMU_HOTPLUG_PENDING;
	}
	enum qemu_hotplug_action a = QEMU_HOTPLUG_PENDING;
	if (o.cdrom != n.cdrom)
		a = QEMU_HOTPLUG_PENDING; /* PVE: "unable to change media type" */
	else if (o.cdrom)
		a = ne(o.file, n.file) ? QEMU_HOTPLUG_CDROM : QEMU_HOTPLUG_PENDING;
	else if (ne(o.file, n.file) && hotplug && pluggable)
		a = QEMU_HOTPLUG_DISK_REPLUG;
	/* the same volume with other options: at the next start (PVE applies
	 * throttle limits live; ctvm does not yet) */
	qemu_drive_clear(&o);
	qemu_drive_clear(&n);
	return a;
}

enum qemu_hotplug_action qemu_hotplug_plan(const json_t *conf, const char *key, const char *old,
                                           const char *value)
{
	int idx;
	char tail;
	if ((!old && !value) || streq_ptr(old, value))
		return QEMU_HOTPLUG_PENDING;
	if (sscanf(key, "net%d%c", &idx, &tail) == 1)
		return plan_net(conf, key, old, value);
	if (qemu_conf_is_drive_key(key, false))
		return plan_disk(conf, key, old, value);
	return QEMU_HOTPLUG_PENDING;
}

/* ---- QMP helpers --------------------------------------------------------- */

static int qmp1(const struct qemu_run_env *env, long vmid, const char *cmd, json_t *args,
                struct error **err)
{
	int r = qemu_run_qmp(env, vmid, cmd, args, 0, NULL, err);
	json_decref(args);
	return r;
}

/* The names under QOM path (the devices with an id: /machine/peripheral;
 * the objects: /objects), as a JSON object name -> true. */
static int qom_names(const struct qemu_run_env *env, long vmid, const char *path, json_t **ret,
                     struct error **err)
{
	_cleanup_json_ json_t *a = json_pack("{s:s}", "path", path);
	_cleanup_json_ json_t *list = NULL;
	int r = qemu_run_qmp(env, vmid, "qom-list", a, 0, &list, err);
	if (r < 0)
		return r;
	json_t *names = json_object();
	size_t i;
	json_t *e;
	json_array_foreach (list, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		if (name)
			json_object_set_new(names, name, json_true());
	}
	*ret = names;
	return 0;
}

static int has_device(const struct qemu_run_env *env, long vmid, const char *id, struct error **err)
{
	_cleanup_json_ json_t *names = NULL;
	int r = qom_names(env, vmid, "/machine/peripheral", &names, err);
	return r < 0 ? r : json_object_get(names, id) != NULL;
}

/* PVE's qemu_devicedel + qemu_devicedelverify: device_del is asynchronous
 * (a PCI device leaves once the guest lets it go), so the device's id is
 * watched until it is gone, for at most 5 s as in PVE.  A device not there
 * is not an error. */
#define UNPLUG_WAIT_MS 5000
static int device_del(const struct qemu_run_env *env, long vmid, const char *id, struct error **err)
{
	int r = has_device(env, vmid, id, err);
	if (r <= 0)
		return r;
	if ((r = qmp1(env, vmid, "device_del", json_pack("{s:s}", "id", id), err)) < 0)
		return r;
	for (int waited = 0; waited <= UNPLUG_WAIT_MS; waited += 100) {
		if ((r = has_device(env, vmid, id, err)) <= 0)
			return r;
		usleep(100 * 1000);
	}
	return error_set(err, -EBUSY, 500,
	                 "error on hot-unplugging device '%s' - still busy in guest?", id);
}

/* A -device option string as device_add's arguments: QEMU takes typed
 * values from QMP, so the integer properties the drive devices use become
 * integers (wwn one too, written in hex). */
static json_t *device_args(const char *opts)
{
	static const char *const ints[] = {"scsi-id",   "channel",    "lun",  "rotation_rate",
	                                   "bootindex", "num_queues", "unit", "wwn"};
	json_t *a = json_object();
	size_t len = strcspn(opts, ",");
	json_object_set_new(a, "driver", json_stringn(opts, len));
	for (const char *p = opts + len; *p;) {
		p += strspn(p, ",");
		len = strcspn(p, ",");
		const char *eq = memchr(p, '=', len);
		if (eq) {
			_cleanup_free_ char *k = xstrndup(p, (size_t)(eq - p));
			_cleanup_free_ char *v = xstrndup(eq + 1, len - (size_t)(eq - p) - 1);
			bool integer = false;
			for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
				integer |= streq(k, ints[i]);
			if (integer)
				json_object_set_new(a, k,
				                    json_integer((json_int_t)strtoull(v, NULL, 0)));
			else
				json_object_set_new(a, k, json_string(v));
		}
		p += len;
	}
	return a;
}

/* "-object" argument as object-add's: a JSON object, or "iothread,id=X". */
static json_t *object_args(const char *arg)
{
	if (arg[0] == '{')
		return json_loads(arg, 0, NULL);
	json_t *a = device_args(arg);
	json_object_set(a, "qom-type", json_object_get(a, "driver"));
	json_object_del(a, "driver");
	return a;
}

/* ---- disks --------------------------------------------------------------- */

static void env_rundir(const struct qemu_run_env *env, long vmid, char **ret)
{
	if (qemu_run_dir(env, vmid, false, ret, NULL) < 0)
		*ret = NULL;
}

/* The drive's part of the command line (qemu_cmd_drive_args()) for conf
 * with key set to value. */
static int drive_args(struct guest_store *gs, const struct qemu_run_env *env, long vmid,
                      const json_t *conf, const char *key, const char *value, char ***ret,
                      struct error **err)
{
	_cleanup_json_ json_t *c = json_deep_copy(conf);
	json_object_set_new(c, key, json_string(value));
	_cleanup_free_ char *dir = NULL;
	env_rundir(env, vmid, &dir);
	struct qemu_cmd_env cenv = qemu_cmd_env_of(gs, vmid, dir);
	return qemu_cmd_drive_args(&cenv, c, key, ret, err);
}

/* Deletes what disk_add added, newest first; the VM as it was. */
static void disk_rollback(const struct qemu_run_env *env, long vmid, const char *node,
                          json_t *objects)
{
	if (node)
		qmp1(env, vmid, "blockdev-del", json_pack("{s:s}", "node-name", node), NULL);
	for (size_t i = json_array_size(objects); i-- > 0;)
		qmp1(env, vmid, "object-del", json_pack("{s:O}", "id", json_array_get(objects, i)),
		     NULL);
}

/*
 * PVE's vm_deviceplug for scsiN/virtioN: the iothread and throttle group,
 * the controller when it is not there yet (virtio-scsi-single: one per
 * disk), the blockdev tree and the device, each as the command line has
 * it.  On failure what was added goes again (a controller added stays, as
 * in PVE: it is empty and harmless).
 */
static int disk_add(struct guest_store *gs, const struct qemu_run_env *env, long vmid,
                    const json_t *conf, const char *key, const char *value, struct error **err)
{
	_cleanup_strv_free_ char **args = NULL;
	int r = drive_args(gs, env, vmid, conf, key, value, &args, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *devices = NULL, *objects = NULL;
	if ((r = qom_names(env, vmid, "/machine/peripheral", &devices, err)) < 0 ||
	    (r = qom_names(env, vmid, "/objects", &objects, err)) < 0)
		return r;
	if (json_object_get(devices, key))
		return error_set(err, -EEXIST, 500, "device '%s' already exists", key);
	_cleanup_json_ json_t *added = json_array();
	_cleanup_free_ char *node = NULL;
	for (size_t i = 0; args[i] && args[i + 1] && r == 0; i += 2) {
		const char *opt = args[i], *arg = args[i + 1];
		if (streq(opt, "-object")) {
			json_t *o = object_args(arg);
			const char *id = json_string_value(json_object_get(o, "id"));
			if (!id || json_object_get(objects, id)) {
				json_decref(o);
				continue;
			}
			json_array_append_new(added, json_string(id));
			r = qmp1(env, vmid, "object-add", o, err);
			if (r < 0)
				json_array_remove(added, json_array_size(added) - 1);
		} else if (streq(opt, "-blockdev")) {
			json_t *b = json_loads(arg, 0, NULL);
			node = xstrdup(json_string_value(json_object_get(b, "node-name")));
			r = qmp1(env, vmid, "blockdev-add", b, err);
			if (r < 0) {
				free(node);
				node = NULL;
			}
		} else if (streq(opt, "-device")) {
			json_t *d = device_args(arg);
			const char *id = json_string_value(json_object_get(d, "id"));
			if (id && !streq(id, key) && json_object_get(devices, id)) {
				json_decref(d); /* the controller is there already */
				continue;
			}
			r = qmp1(env, vmid, "device_add", d, err);
		}
	}
	if (r < 0)
		disk_rollback(env, vmid, node, added);
	else
		task_log_or_debug(env->w, "%s: hot-plugged", key);
	return r;
}

/* The drives the guest boots from (PVE's get_bootdisks): boot's order=,
 * else the legacy bootdisk. */
static bool is_bootdisk(const json_t *conf, const char *key)
{
	const char *boot = guest_conf_get(conf, "boot");
	const char *order = boot ? strstr(boot, "order=") : NULL;
	if (!order)
		return streq_ptr(guest_conf_get(conf, "bootdisk"), key);
	size_t n = strlen(key);
	for (const char *p = order + 6; *p && *p != ',';) {
		size_t len = strcspn(p, ";,");
		if (len == n && strncmp(p, key, n) == 0)
			return true;
		p += len;
		p += strspn(p, ";");
	}
	return false;
}

/* blockdev-del of a drive whose device just went: QEMU lets go of the
 * node once the device is finalized, which may come a moment after it
 * left the tree, so "in use" is retried within the unplug bound. */
static int blockdev_del(const struct qemu_run_env *env, long vmid, const char *node,
                        struct error **err)
{
	for (int waited = 0;; waited += 100) {
		struct error *e = NULL;
		int r = qmp1(env, vmid, "blockdev-del", json_pack("{s:s}", "node-name", node), &e);
		if (r == 0 || waited >= UNPLUG_WAIT_MS || !e || !strstr(e->msg, "is in use")) {
			error_propagate(err, e);
			return r;
		}
		error_free(e);
		usleep(100 * 1000);
	}
}

/* PVE's vm_deviceunplug for scsiN/virtioN: the device (waited for), its
 * blockdev tree, its throttle group and iothread, and a virtio-scsi-single
 * disk's own controller. */
static int disk_del(const struct qemu_run_env *env, long vmid, const json_t *conf, const char *key,
                    struct error **err)
{
	if (is_bootdisk(conf, key))
		return error_set(err, -EBUSY, 500, "can't unplug bootdisk '%s'", key);
	struct qemu_drive d;
	int r = qemu_drive_parse(key, guest_conf_get(conf, key), &d, err);
	if (r < 0)
		return r;
	bool iothread = d.iothread, none = streq(d.file, "none");
	int index = d.index;
	qemu_drive_clear(&d);
	if ((r = device_del(env, vmid, key, err)) < 0)
		return r;
	_cleanup_free_ char *node = xasprintf("drive-%s", key);
	_cleanup_free_ char *throttle = xasprintf("throttle-drive-%s", key);
	if (!none && (r = blockdev_del(env, vmid, node, err)) < 0)
		return r;
	if (!none)
		qmp1(env, vmid, "object-del", json_pack("{s:s}", "id", throttle), NULL);
	if (str_startswith(key, "virtio") && iothread) {
		_cleanup_free_ char *io = xasprintf("iothread-%s", key);
		qmp1(env, vmid, "object-del", json_pack("{s:s}", "id", io), NULL);
	}
	if (str_startswith(key, "scsi") &&
	    streq_ptr(guest_conf_get(conf, "scsihw"), "virtio-scsi-single")) {
		char ctrl[32];
		snprintf(ctrl, sizeof(ctrl), "virtioscsi%d", index);
		if ((r = device_del(env, vmid, ctrl, err)) < 0)
			return r;
		if (iothread) {
			_cleanup_free_ char *io = xasprintf("iothread-%s", ctrl);
			qmp1(env, vmid, "object-del", json_pack("{s:s}", "id", io), NULL);
		}
	}
	task_log_or_debug(env->w, "%s: unplugged", key);
	return 0;
}

/*
 * A cdrom's new medium (PVE's vmconfig_update_disk for a cdrom, its
 * Blockdev change_medium): the tray opened, the old medium and its tree
 * gone, then for a new one its tree (as the command line builds it) put in
 * and the tray closed.  "none" leaves the drive empty.
 */
static int cdrom_change(struct guest_store *gs, const struct qemu_run_env *env, long vmid,
                        const json_t *conf, const char *key, const char *old, const char *value,
                        struct error **err)
{
	_cleanup_strv_free_ char **args = NULL;
	struct qemu_drive n;
	int r = qemu_drive_parse(key, value, &n, err);
	if (r < 0)
		return r;
	bool none = streq(n.file, "none");
	qemu_drive_clear(&n);
	/* resolved first: a volume that cannot be found leaves the old medium */
	if (!none && (r = drive_args(gs, env, vmid, conf, key, value, &args, err)) < 0)
		return r;
	_cleanup_json_ json_t *objects = NULL;
	if ((r = qom_names(env, vmid, "/objects", &objects, err)) < 0)
		return r;
	if ((r = qmp1(env, vmid, "blockdev-open-tray",
	              json_pack("{s:s,s:b}", "id", key, "force", 1), err)) < 0 ||
	    (r = qmp1(env, vmid, "blockdev-remove-medium", json_pack("{s:s}", "id", key), err)) < 0)
		return r;
	_cleanup_free_ char *node = xasprintf("drive-%s", key);
	struct qemu_drive o;
	if (qemu_drive_parse(key, old, &o, NULL) == 0) {
		if (!streq(o.file, "none"))
			blockdev_del(env, vmid, node, NULL);
		qemu_drive_clear(&o);
	}
	for (size_t i = 0; args && args[i] && args[i + 1] && r == 0; i += 2) {
		if (streq(args[i], "-object")) {
			json_t *ob = object_args(args[i + 1]);
			const char *id = json_string_value(json_object_get(ob, "id"));
			if (!id || json_object_get(objects, id))
				json_decref(ob);
			else
				r = qmp1(env, vmid, "object-add", ob, err);
		} else if (streq(args[i], "-blockdev")) {
			r = qmp1(env, vmid, "blockdev-add", json_loads(args[i + 1], 0, NULL), err);
			if (r == 0 &&
			    (r = qmp1(env, vmid, "blockdev-insert-medium",
			              json_pack("{s:s,s:s}", "id", key, "node-name", node), err)) <
			        0)
				qmp1(env, vmid, "blockdev-del",
				     json_pack("{s:s}", "node-name", node), NULL);
		}
	}
	if (r == 0 && !none)
		r = qmp1(env, vmid, "blockdev-close-tray", json_pack("{s:s}", "id", key), err);
	if (r == 0)
		task_log_or_debug(env->w, "%s: medium changed", key);
	return r;
}

/* ---- NICs ---------------------------------------------------------------- */

/* PVE's vm_deviceunplug for netN: the device (waited for), its netdev, then
 * the tap ctvm made for it. */
static int nic_del(const struct qemu_run_env *env, long vmid, const char *key, int index,
                   struct error **err)
{
	int r = device_del(env, vmid, key, err);
	if (r < 0)
		return r;
	_cleanup_error_ struct error *e = NULL;
	if (qmp1(env, vmid, "netdev_del", json_pack("{s:s}", "id", key), &e) < 0)
		log_debug("VM %ld %s: netdev_del: %s", vmid, key, e->msg);
	char tap[NETDEV_TAP_NAME_MAX];
	if (netdev_tap_name(tap, vmid, (unsigned)index) == 0)
		netdev_tap_delete(tap, NULL);
	task_log_or_debug(env->w, "%s: unplugged", key);
	return 0;
}

static int tap_rate(const char *tap, double rate, struct error **err)
{
	netdev_tap_rate_clear(tap, NULL);
	return rate > 0 ? netdev_tap_rate_limit(tap, rate, NULL, err) : 0;
}

/* PVE's vmconfig_update_net on the same device: a new bridge, tag or
 * firewall flag moves the tap (the guest's link down meanwhile, so it
 * renews its lease), a new rate is set on the tap. */
static int nic_update(const struct qemu_run_env *env, long vmid, const char *key,
                      const struct qemu_net *o, const struct qemu_net *n, struct error **err)
{
	char tap[NETDEV_TAP_NAME_MAX];
	if (netdev_tap_name(tap, vmid, (unsigned)n->index) < 0)
		return error_set(err, -ENAMETOOLONG, 400, "tap name for %s too long", key);
	bool moved = ne(o->bridge, n->bridge) || o->tag != n->tag;
	int r = 0;
	if (moved || o->firewall != n->firewall || ne(o->trunks, n->trunks)) {
		/* checked before the tap leaves its bridge: a bad one leaves it */
		bool vlan_aware;
		if ((r = netdev_bridge_info(n->bridge, NULL, &vlan_aware, err)) < 0)
			return r;
		if (n->tag > 0 && !vlan_aware)
			return error_set(err, -EINVAL, 400,
			                 "bridge '%s' is not VLAN aware - unable to use tag %d",
			                 n->bridge, n->tag);
		if ((r = netdev_tap_unplug(tap, err)) < 0)
			return r;
		if (moved && (r = set_link(env, vmid, key, true, err)) < 0)
			return r;
		unsigned mtu = n->mtu > 1 ? (unsigned)n->mtu : 0,
		         tag = n->tag > 0 ? (unsigned)n->tag : 0;
		if ((r = netdev_tap_plug(tap, n->bridge, mtu, tag, err)) < 0) {
			netdev_tap_plug(tap, o->bridge, mtu, o->tag > 0 ? (unsigned)o->tag : 0,
			                NULL);
			set_link(env, vmid, key, o->link_down, NULL);
			return r;
		}
		r = tap_rate(tap, n->rate, err);
		task_log_or_debug(env->w, "%s: tap %s on bridge %s", key, tap, n->bridge);
	} else if (o->rate != n->rate) {
		r = tap_rate(tap, n->rate, err);
	}
	if (r == 0 && (moved || o->link_down != n->link_down))
		r = set_link(env, vmid, key, n->link_down, err);
	return r;
}

/* ---- the hotplug slot ------------------------------------------------------ */

static int net_change(const struct qemu_run_env *env, long vmid, enum qemu_hotplug_action a,
                      const char *key, const char *old, const char *value, struct error **err)
{
	struct qemu_net o = {0}, n = {0};
	int r = 0;
	if (old && (r = qemu_net_parse(key, old, &o, err)) < 0)
		return r;
	if (value && (r = qemu_net_parse(key, value, &n, err)) < 0) {
		if (old)
			qemu_net_clear(&o);
		return r;
	}
	switch (a) {
	case QEMU_HOTPLUG_NIC_ADD:
		r = add_nic(env, vmid, key, &n, err);
		break;
	case QEMU_HOTPLUG_NIC_LINK:
		r = set_link(env, vmid, key, n.link_down, err);
		break;
	case QEMU_HOTPLUG_NIC_UPDATE:
		r = nic_update(env, vmid, key, &o, &n, err);
		break;
	case QEMU_HOTPLUG_NIC_DEL:
		r = nic_del(env, vmid, key, o.index, err);
		break;
	case QEMU_HOTPLUG_NIC_REPLUG:
		/* checked before the old one goes */
		if (!nic_device(n.model) || !n.bridge || n.queues > 1 || !n.macaddr[0])
			r = -EOPNOTSUPP;
		if (r == 0)
			r = nic_del(env, vmid, key, o.index, err);
		if (r == 0)
			r = add_nic(env, vmid, key, &n, err);
		break;
	default:
		r = -EOPNOTSUPP;
	}
	if (old)
		qemu_net_clear(&o);
	if (value)
		qemu_net_clear(&n);
	return r;
}

int qemu_hotplug(struct guest_store *gs, long vmid, const json_t *conf, const char *key,
                 const char *old, const char *value, struct error **err)
{
	enum qemu_hotplug_action a = qemu_hotplug_plan(conf, key, old, value);
	struct qemu_run_env env = {.run_root = guest_store_run_dir(gs)};
	switch (a) {
	case QEMU_HOTPLUG_PENDING:
		return -EOPNOTSUPP;
	case QEMU_HOTPLUG_DISK_ADD:
		return disk_add(gs, &env, vmid, conf, key, value, err);
	case QEMU_HOTPLUG_DISK_DEL:
		return disk_del(&env, vmid, conf, key, err);
	case QEMU_HOTPLUG_DISK_REPLUG: {
		/* PVE: the old volume unplugged (the config keeps it unused),
		 * the new one plugged */
		int r = disk_del(&env, vmid, conf, key, err);
		return r < 0 ? r : disk_add(gs, &env, vmid, conf, key, value, err);
	}
	case QEMU_HOTPLUG_CDROM:
		return cdrom_change(gs, &env, vmid, conf, key, old, value, err);
	default:
		return net_change(&env, vmid, a, key, old, value, err);
	}
}

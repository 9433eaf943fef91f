/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The changes a running VM takes at once (qemu-hotplug.h). */

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "guest.h"
#include "jsonutil.h"
#include "qemu-conf.h"
#include "qemu-hotplug.h"
#include "qemu-run.h"
#include "strbuf.h"
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

/* value without its link_down=... part, malloc'd. */
static char *without_link(const char *value)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *p = value; *p;) {
		size_t len = strcspn(p, ",");
		if (!(len >= 10 && strncmp(p, "link_down=", 10) == 0)) {
			if (sb.len)
				strbuf_addch(&sb, ',');
			strbuf_add(&sb, p, len);
		}
		p += len;
		p += strspn(p, ",");
	}
	return strbuf_detach(&sb, NULL);
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

int qemu_hotplug(struct guest_store *gs, long vmid, const json_t *conf, const char *key,
                 const char *old, const char *value, struct error **err)
{
	int idx;
	char tail;
	if (!value || sscanf(key, "net%d%c", &idx, &tail) != 1 || !hotplug_enabled(conf, "network"))
		return -EOPNOTSUPP;
	struct qemu_run_env env = {.run_root = guest_store_run_dir(gs)};
	struct qemu_net n;
	int r = qemu_net_parse(key, value, &n, err);
	if (r < 0)
		return r;
	if (!old) {
		r = add_nic(&env, vmid, key, &n, err);
	} else {
		/* the same NIC with another link state: set_link */
		_cleanup_free_ char *a = without_link(old);
		_cleanup_free_ char *b = without_link(value);
		r = streq(a, b) ? set_link(&env, vmid, key, n.link_down, err) : -EOPNOTSUPP;
	}
	qemu_net_clear(&n);
	return r;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qemu-hotplug: the changes of a running VM's config QEMU takes at once
 * (PVE's vmconfig_hotplug_pending), the qemu kind's hotplug slot
 * (guest.h).  With `network` in the VM's `hotplug` option (the default
 * list is "network,disk,usb"): a new NIC on a bridge is plugged, a deleted
 * one unplugged, a new model, MAC, queues or MTU unplug and plug it.
 * Whatever the option: a new bridge, tag, firewall flag, rate or link
 * state is applied to the NIC's tap and link.  With `disk`: a new scsiN or
 * virtioN disk is plugged, a deleted one unplugged (its volume becomes
 * unusedN, guest-config.c), a new volume for one unplugs the old and plugs
 * the new.  A cdrom's medium changes live on any bus.  Everything else
 * (ide/sata disks, other drive options, CPU, memory, ...) stays pending
 * until the next start.  docs/vms.md has the table for users.
 */
#pragma once

#include <jansson.h>

#include "qemu-cmd.h"

struct error;
struct guest_store;

/* What a change of key (old -> value, NULL: none) is to the running VM of
 * main section conf.  Pure: the unit tests hold its table. */
enum qemu_hotplug_action {
	QEMU_HOTPLUG_PENDING,     /* waits for the next start */
	QEMU_HOTPLUG_NIC_ADD,     /* tap, netdev_add, device_add */
	QEMU_HOTPLUG_NIC_LINK,    /* set_link only */
	QEMU_HOTPLUG_NIC_UPDATE,  /* the tap moved, re-tagged or re-rated */
	QEMU_HOTPLUG_NIC_REPLUG,  /* unplugged and plugged again */
	QEMU_HOTPLUG_NIC_DEL,     /* device_del, netdev_del, tap deleted */
	QEMU_HOTPLUG_DISK_ADD,    /* blockdev-add, device_add */
	QEMU_HOTPLUG_DISK_DEL,    /* device_del, blockdev-del */
	QEMU_HOTPLUG_DISK_REPLUG, /* another volume: the old out, the new in */
	QEMU_HOTPLUG_CDROM,       /* a cdrom's medium changed or ejected */
};

enum qemu_hotplug_action qemu_hotplug_plan(const json_t *conf, const char *key, const char *old,
                                           const char *value);

/* The command line builder's environment start uses for vmid, rundir its
 * run directory (qemu.c). */
struct qemu_cmd_env qemu_cmd_env_of(struct guest_store *gs, long vmid, const char *rundir);

int qemu_hotplug(struct guest_store *gs, long vmid, const json_t *conf, const char *key,
                 const char *old, const char *value, struct error **err);

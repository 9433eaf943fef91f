/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qemu-hotplug: the changes of a running VM's config QEMU takes at once
 * (PVE's vmconfig_hotplug_pending), the qemu kind's hotplug slot
 * (guest.h).  Today: a NIC's link_down (QMP set_link) and a new NIC on a
 * bridge (tap, netdev_add, device_add), when the VM's `hotplug` option
 * holds `network` (the default, "network,disk,usb").  Everything else
 * stays pending until the next start.
 */
#pragma once

#include <jansson.h>

struct error;
struct guest_store;

int qemu_hotplug(struct guest_store *gs, long vmid, const json_t *conf, const char *key,
                 const char *old, const char *value, struct error **err);

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * netdev: the host side of a VM's NICs, tap devices on Linux bridges.
 *
 * ctvm creates each tap itself before QEMU starts (persistent, named
 * tap<vmid>i<N>, QEMU's flags) and joins it to the bridge with the MTU and
 * the VLAN tag; QEMU then opens it by name with script=no,downscript=no.
 * Proxmox lets QEMU create the tap and plugs it from its pve-bridge
 * script: the result on the host is the same, without a script run per
 * NIC (docs/dev/GUESTS.md).  A persistent tap outlives QEMU, so whoever
 * sees a VM gone deletes its taps (qemu-run.c).
 *
 * Differences from Proxmox, deliberate: a VLAN tag needs a VLAN-aware
 * bridge (Proxmox builds vmbr0vN bridges for the others); where the kernel
 * has no tc policing (these hosts), rate= limits only the traffic towards
 * the guest, with a warning.
 *
 * Needs CAP_NET_ADMIN (the task worker, root).  Library code: no logging
 * above debug.
 */
#pragma once

#include <stdbool.h>

struct error;

#define NETDEV_TAP_NAME_MAX 16 /* IFNAMSIZ */

/* "tap<vmid>i<index>" into buf; -ENAMETOOLONG when it does not fit IFNAMSIZ. */
int netdev_tap_name(char buf[NETDEV_TAP_NAME_MAX], long vmid, unsigned index);

bool netdev_exists(const char *ifname);

/* Bridge bridge: 0 with its MTU and whether it filters VLANs; -ENOENT
 * (400 "bridge 'vmbr9' does not exist") when there is no such bridge. */
int netdev_bridge_info(const char *bridge, unsigned *ret_mtu, bool *ret_vlan_aware,
                       struct error **err);

/* Creates the persistent tap name, replacing a stale one of that name. */
int netdev_tap_create(const char *name, struct error **err);

/*
 * Joins tap to bridge and brings it up: MTU mtu (0: the bridge's), tag
 * 1..4094 as the port's untagged PVID (0: none; needs a VLAN-aware bridge).
 */
int netdev_tap_plug(const char *tap, const char *bridge, unsigned mtu, unsigned tag,
                    struct error **err);

/*
 * Proxmox's rate= (MB/s, PVE::Network::tap_rate_limit): an htb root qdisc
 * limits what goes to the guest, an ingress police filter what comes from
 * it (burst 1 MiB).  The egress part failing is an error; the ingress part
 * failing (no cls_basic/act_police in the kernel) sets *ret_ingress_ok
 * false and is not.
 */
int netdev_tap_rate_limit(const char *tap, double rate_mbps, bool *ret_ingress_ok,
                          struct error **err);

/* Takes tap out of the bridge it is a port of (PVE's tap_unplug); 0 when it
 * is in none. */
int netdev_tap_unplug(const char *tap, struct error **err);

/* Removes rate='s qdiscs from tap (PVE's tap_rate_limit without a rate);
 * missing ones are not an error. */
int netdev_tap_rate_clear(const char *tap, struct error **err);

/* Deletes the tap; a missing one is not an error. */
int netdev_tap_delete(const char *name, struct error **err);

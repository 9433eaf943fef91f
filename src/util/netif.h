/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * netif: the host's network interfaces as the kernel has them (sysfs and
 * getifaddrs(), never /etc/network/interfaces and never a command), in the
 * shape of Proxmox's GET /nodes/{node}/network entries.
 */
#pragma once

#include <jansson.h>

struct error;

/*
 * The interfaces under sysroot ("/sys"; a test tree otherwise), sorted by
 * name, at most 4096: bridges, physical ports (eth), bonds and VLANs, with
 * their IPv4/IPv6 addresses.  The loopback and guest devices (tap*, veth*,
 * fwbr*, fwpr*, fwln*) are left out, as Proxmox leaves them out.  Each is
 * {iface, type, active, exists, autostart, method, method6, families,
 * priority, [address, netmask, cidr], [address6, netmask6, cidr6],
 * [bridge_ports, bridge_stp, bridge_fd], [bond-primary...], [vlan-raw-device]}.
 */
int netif_list(const char *sysroot, json_t **ret, struct error **err);

/* The MTU of bridge name under sysroot, or -ENOENT when there is no such
 * bridge (an interface that is not a bridge counts as none). */
int netif_bridge_mtu(const char *sysroot, const char *name);

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lxc_conf_props[]: every key of lxc/<vmid>.conf, one row each
 * (lxc-conf.h).  The rows restate PVE's pct.conf(5) (PVE::LXC::Config's
 * $confdesc): names, types, bounds, enumerations, defaults and the first
 * sentence of each description.  Keys that reach the host carry
 * CONF_PROP_ROOT_ONLY (hookscript, devN); a value can also need root (a
 * bind mount, unprivileged=0, features beyond nesting): lxc.c's needs_root.
 */
#include "common.h"

#include "lxc-conf-internal.h"
#include "qemu-conf-internal.h" /* check_mac, check_disk_size */

static const char *const arch_values[] = {"amd64",   "i386",    "arm64", "armhf",
                                          "riscv32", "riscv64", NULL};
static const char *const cmode_values[] = {"shell", "console", "tty", NULL};
static const char *const lock_values[] = {"backup",   "create",          "destroyed", "disk",
                                          "fstrim",   "migrate",         "mounted",   "rollback",
                                          "snapshot", "snapshot-delete", NULL};
static const char *const ostype_values[] = {"debian", "devuan",   "ubuntu",    "centos",
                                            "fedora", "opensuse", "archlinux", "alpine",
                                            "gentoo", "nixos",    "unmanaged", NULL};
static const char *const net_type_values[] = {"veth", NULL};

#define MOUNT_OPTION "(noatime|nodev|nosuid|noexec)"

/* PVE's $rootfs_desc; mpN adds backup, mp and keepattrs */
#define ROOTFS_ROWS                                                                             \
	{.name = "acl",                                                                         \
	 .type = CONF_TYPE_BOOLEAN,                                                             \
	 .flags = CONF_PROP_OPTIONAL,                                                           \
	 .description = "Explicitly enable or disable ACL support"},                            \
	    {.name = "mountoptions",                                                            \
	     .type = CONF_TYPE_STRING,                                                          \
	     .flags = CONF_PROP_OPTIONAL,                                                       \
	     .pattern = MOUNT_OPTION "(;" MOUNT_OPTION ")*",                                    \
	     .typetext = "opt[;opt...]",                                                        \
	     .description = "Extra mount options for rootfs/mps"},                              \
	    {.name = "quota",                                                                   \
	     .type = CONF_TYPE_BOOLEAN,                                                         \
	     .flags = CONF_PROP_OPTIONAL,                                                       \
	     .description = "Enable user quotas inside the container (not supported with zfs "  \
	                    "subvolumes)"},                                                     \
	    {.name = "replicate",                                                               \
	     .type = CONF_TYPE_BOOLEAN,                                                         \
	     .flags = CONF_PROP_OPTIONAL,                                                       \
	     .default_text = "1",                                                               \
	     .description = "Will include this volume to a storage replica job"},               \
	    {.name = "ro",                                                                      \
	     .type = CONF_TYPE_BOOLEAN,                                                         \
	     .flags = CONF_PROP_OPTIONAL,                                                       \
	     .description = "Read-only mount point"},                                           \
	    {.name = "shared",                                                                  \
	     .type = CONF_TYPE_BOOLEAN,                                                         \
	     .flags = CONF_PROP_OPTIONAL,                                                       \
	     .default_text = "0",                                                               \
	     .description = "Mark this non-volume mount point as available on multiple nodes"}, \
	    {.name = "size",                                                                    \
	     .type = CONF_TYPE_STRING,                                                          \
	     .flags = CONF_PROP_OPTIONAL,                                                       \
	     .typetext = "DiskSize",                                                            \
	     .check = check_disk_size,                                                          \
	     .description = "Volume size (read only value)"},                                   \
	{                                                                                       \
		.name = "volume", .type = CONF_TYPE_STRING, .typetext = "volume",               \
		.check = lxc_check_mp_string,                                                   \
		.description = "Volume, device or directory to mount into the container"        \
	}

static const struct conf_prop rootfs_props[] = {
    ROOTFS_ROWS,
    {.name = NULL},
};
static const struct conf_propstring rootfs_ps = {rootfs_props, "volume"};

static const struct conf_prop mp_props[] = {
    ROOTFS_ROWS,
    {.name = "backup",
     .type = CONF_TYPE_BOOLEAN,
     .flags = CONF_PROP_OPTIONAL,
     .description = "Whether to include the mount point in backups"},
    {.name = "keepattrs",
     .type = CONF_TYPE_BOOLEAN,
     .flags = CONF_PROP_OPTIONAL,
     .default_text = "0",
     .description = "Inherit ownership and permissions from the mount point directory"},
    {.name = "mp",
     .type = CONF_TYPE_STRING,
     .typetext = "Path",
     .check = lxc_check_mp_string,
     .description = "Path to the mount point as seen from inside the container (must not "
                    "contain symlinks)"},
    {.name = NULL},
};
static const struct conf_propstring mp_ps = {mp_props, "volume"};

static const struct conf_prop net_props[] = {
    {.name = "bridge",
     .type = CONF_TYPE_STRING,
     .flags = CONF_PROP_OPTIONAL,
     .pattern = "[-_.A-Za-z0-9]+",
     .typetext = "bridge",
     .description = "Bridge to attach the network device to"},
    {.name = "firewall",
     .type = CONF_TYPE_BOOLEAN,
     .flags = CONF_PROP_OPTIONAL,
     .description = "Controls whether this interface's firewall rules should be used"},
    {.name = "gw",
     .type = CONF_TYPE_STRING,
     .flags = CONF_PROP_OPTIONAL,
     .typetext = "GatewayIPv4",
     .check = lxc_check_ipv4,
     .description = "Default gateway for IPv4 traffic"},
    {.name = "gw6",
     .type = CONF_TYPE_STRING,
     .flags = CONF_PROP_OPTIONAL,
     .typetext = "GatewayIPv6",
     .check = lxc_check_ipv6,
     .description = "Default gateway for IPv6 traffic"},
    {.name = "host-managed",
     .type = CONF_TYPE_BOOLEAN,
     .flags = CONF_PROP_OPTIONAL,
     .description = "Whether this interface's IP configuration should be managed by the host"},
    {.name = "hwaddr",
     .type = CONF_TYPE_STRING,
     .flags = CONF_PROP_OPTIONAL,
     .typetext = "XX:XX:XX:XX:XX:XX",
     .check = check_mac,
     .description = "The interface MAC address"},
    {.name = "ip",
     .type = CONF_TYPE_STRING,
     .flags = CONF_PROP_OPTIONAL,
     .typetext = "(IPv4/CIDR|dhcp|manual)",
     .check = lxc_check_ipv4_config,
     .description = "IPv4 address in CIDR format"},
    {.name = "ip6",
     .type = CONF_TYPE_STRING,
     .flags = CONF_PROP_OPTIONAL,
     .typetext = "(IPv6/CIDR|auto|dhcp|manual)",
     .check = lxc_check_ipv6_config,
     .description = "IPv6 address in CIDR format"},
    {.name = "link_down",
     .type = CONF_TYPE_BOOLEAN,
     .flags = CONF_PROP_OPTIONAL,
     .description = "Whether this interface should be disconnected (like pulling the plug)"},
    {.name = "mtu",
     .type = CONF_TYPE_INTEGER,
     .flags = CONF_PROP_OPTIONAL,
     .has_min = true,
     .min = 64,
     .has_max = true,
     .max = 65535,
     .description = "Maximum transfer unit of the interface"},
    {.name = "name",
     .type = CONF_TYPE_STRING,
     .pattern = "[-_.A-Za-z0-9]+",
     .typetext = "string",
     .description = "Name of the network device as seen from inside the container"},
    {.name = "rate",
     .type = CONF_TYPE_NUMBER,
     .flags = CONF_PROP_OPTIONAL,
     .typetext = "mbps",
     .description = "Apply rate limiting to the interface"},
    {.name = "tag",
     .type = CONF_TYPE_INTEGER,
     .flags = CONF_PROP_OPTIONAL,
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 4094,
     .description = "VLAN tag for this interface"},
    {.name = "trunks",
     .type = CONF_TYPE_STRING,
     .flags = CONF_PROP_OPTIONAL,
     .pattern = "[0-9]+(;[0-9]+)*",
     .typetext = "vlanid[;vlanid...]",
     .description = "VLAN ids to pass through the interface"},
    {.name = "type",
     .type = CONF_TYPE_ENUM,
     .flags = CONF_PROP_OPTIONAL,
     .enum_values = net_type_values,
     .description = "Network interface type"},
    {.name = NULL},
};
static const struct conf_propstring net_ps = {net_props, NULL};

static const struct conf_prop features_props[] = {
    {.name = "force_rw_sys",
     .type = CONF_TYPE_BOOLEAN,
     .flags = CONF_PROP_OPTIONAL,
     .default_text = "0",
     .description = "Mount /sys in unprivileged containers as `rw` instead of `mixed`"},
    {.name = "fuse",
     .type = CONF_TYPE_BOOLEAN,
     .flags = CONF_PROP_OPTIONAL,
     .default_text = "0",
     .description = "Allow using 'fuse' file systems in a container"},
    {.name = "keyctl",
     .type = CONF_TYPE_BOOLEAN,
     .flags = CONF_PROP_OPTIONAL,
     .default_text = "0",
     .description = "For unprivileged containers only: Allow the use of the keyctl() system "
                    "call"},
    {.name = "mknod",
     .type = CONF_TYPE_BOOLEAN,
     .flags = CONF_PROP_OPTIONAL,
     .default_text = "0",
     .description = "Allow unprivileged containers to use mknod() to add certain device nodes"},
    {.name = "mount",
     .type = CONF_TYPE_STRING,
     .flags = CONF_PROP_OPTIONAL,
     .pattern = "[a-zA-Z0-9_; ]+",
     .max_length = 127,
     .typetext = "fstype;fstype;...",
     .description = "Allow mounting file systems of specific types"},
    {.name = "nesting",
     .type = CONF_TYPE_BOOLEAN,
     .flags = CONF_PROP_OPTIONAL,
     .default_text = "0",
     .description = "Allow nesting"},
    {.name = NULL},
};
static const struct conf_propstring features_ps = {features_props, NULL};

static const struct conf_prop dev_props[] = {
    {.name = "deny-write",
     .type = CONF_TYPE_BOOLEAN,
     .flags = CONF_PROP_OPTIONAL,
     .default_text = "0",
     .description = "Deny the container to write to the device"},
    {.name = "gid",
     .type = CONF_TYPE_INTEGER,
     .flags = CONF_PROP_OPTIONAL,
     .has_min = true,
     .min = 0,
     .description = "Group ID to be assigned to the device node"},
    {.name = "mode",
     .type = CONF_TYPE_STRING,
     .flags = CONF_PROP_OPTIONAL,
     .pattern = "0[0-7]{3}",
     .typetext = "Octal access mode",
     .description = "Access mode to be set on the device node"},
    {.name = "path",
     .type = CONF_TYPE_STRING,
     .flags = CONF_PROP_OPTIONAL,
     .typetext = "Path",
     .check = lxc_check_dev_string,
     .description = "Device to pass through to the container"},
    {.name = "uid",
     .type = CONF_TYPE_INTEGER,
     .flags = CONF_PROP_OPTIONAL,
     .has_min = true,
     .min = 0,
     .description = "User ID to be assigned to the device node"},
    {.name = NULL},
};
static const struct conf_propstring dev_ps = {dev_props, "path"};

const struct conf_prop lxc_conf_props[] = {
    {.name = "arch",
     .type = CONF_TYPE_ENUM,
     .enum_values = arch_values,
     .default_text = "amd64",
     .description = "OS architecture type"},
    {.name = "cmode",
     .type = CONF_TYPE_ENUM,
     .enum_values = cmode_values,
     .default_text = "tty",
     .description = "Console mode"},
    {.name = "console",
     .type = CONF_TYPE_BOOLEAN,
     .default_text = "1",
     .description = "Attach a console device (/dev/console) to the container"},
    {.name = "cores",
     .type = CONF_TYPE_INTEGER,
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 8192,
     .description = "The number of cores assigned to the container"},
    {.name = "cpulimit",
     .type = CONF_TYPE_NUMBER,
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 8192,
     .default_text = "0",
     .description = "Limit of CPU usage"},
    {.name = "cpuunits",
     .type = CONF_TYPE_INTEGER,
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 500000,
     .default_text = "cgroup v1: 1024, cgroup v2: 100",
     .description = "CPU weight for a container"},
    {.name = "debug",
     .type = CONF_TYPE_BOOLEAN,
     .default_text = "0",
     .description = "Try to be more verbose"},
    {.name = "description",
     .type = CONF_TYPE_STRING,
     .max_length = LXC_CONF_DESCRIPTION_MAX,
     .typetext = "string",
     .description = "Description for the Container"},
    {.name = "dev",
     .type = CONF_TYPE_PROPSTRING,
     .flags = CONF_PROP_INDEXED | CONF_PROP_ROOT_ONLY,
     .index_max = 255,
     .sub = &dev_ps,
     .description = "Device to pass through to the container"},
    {.name = "entrypoint",
     .type = CONF_TYPE_STRING,
     .pattern = "[^\x01-\x08\x0a-\x1f\x7f]+",
     .default_text = "/sbin/init",
     .description = "Command to run as init, optionally with arguments"},
    {.name = "features",
     .type = CONF_TYPE_PROPSTRING,
     .sub = &features_ps,
     .description = "Allow containers access to advanced features"},
    {.name = "hookscript",
     .type = CONF_TYPE_STRING,
     .flags = CONF_PROP_ROOT_ONLY,
     .format = "pve-volume-id",
     .description = "Script that will be executed during various steps in the containers "
                    "lifetime"},
    {.name = "hostname",
     .type = CONF_TYPE_STRING,
     .max_length = 255,
     .check = lxc_check_dns_name,
     .typetext = "string",
     .description = "Set a host name for the container"},
    {.name = "lock",
     .type = CONF_TYPE_ENUM,
     .enum_values = lock_values,
     .description = "Lock/unlock the container"},
    {.name = "memory",
     .type = CONF_TYPE_INTEGER,
     .has_min = true,
     .min = 16,
     .default_text = "512",
     .description = "Amount of RAM for the container in MB"},
    {.name = "mp",
     .type = CONF_TYPE_PROPSTRING,
     .flags = CONF_PROP_INDEXED,
     .index_max = LXC_CONF_MAX_MPS - 1,
     .sub = &mp_ps,
     .description = "Use volume as container mount point"},
    {.name = "nameserver",
     .type = CONF_TYPE_STRING,
     .check = lxc_check_nameserver_list,
     .typetext = "string",
     .description = "Sets DNS server IP address for a container"},
    {.name = "net",
     .type = CONF_TYPE_PROPSTRING,
     .flags = CONF_PROP_INDEXED,
     .index_max = LXC_CONF_MAX_NETS - 1,
     .sub = &net_ps,
     .description = "Specifies network interfaces for the container"},
    {.name = "onboot",
     .type = CONF_TYPE_BOOLEAN,
     .default_text = "0",
     .description = "Specifies whether a container will be started during system bootup"},
    {.name = "ostype",
     .type = CONF_TYPE_ENUM,
     .enum_values = ostype_values,
     .description = "OS type"},
    {.name = "protection",
     .type = CONF_TYPE_BOOLEAN,
     .default_text = "0",
     .description = "Sets the protection flag of the container"},
    {.name = "rootfs",
     .type = CONF_TYPE_PROPSTRING,
     .sub = &rootfs_ps,
     .description = "Use volume as container root"},
    {.name = "searchdomain",
     .type = CONF_TYPE_STRING,
     .check = lxc_check_dns_name_list,
     .typetext = "string",
     .description = "Sets DNS search domains for a container"},
    {.name = "startup",
     .type = CONF_TYPE_STRING,
     .check = lxc_check_startup,
     .typetext = "[[order=]\\d+] [,up=\\d+] [,down=\\d+]",
     .description = "Startup and shutdown behavior"},
    {.name = "swap",
     .type = CONF_TYPE_INTEGER,
     .has_min = true,
     .min = 0,
     .default_text = "512",
     .description = "Amount of SWAP for the container in MB"},
    {.name = "tags",
     .type = CONF_TYPE_STRING,
     .check = lxc_check_tags,
     .typetext = "string",
     .description = "Tags of the Container"},
    {.name = "template",
     .type = CONF_TYPE_BOOLEAN,
     .default_text = "0",
     .description = "Enable/disable Template"},
    {.name = "timezone",
     .type = CONF_TYPE_STRING,
     .check = lxc_check_timezone,
     .typetext = "string",
     .description = "Time zone to use in the container"},
    {.name = "tty",
     .type = CONF_TYPE_INTEGER,
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 6,
     .default_text = "2",
     .description = "Specify the number of tty available to the container"},
    {.name = "unprivileged",
     .type = CONF_TYPE_BOOLEAN,
     .default_text = "0",
     .description = "Makes the container run as unprivileged user"},
    {.name = "unused",
     .type = CONF_TYPE_STRING,
     .flags = CONF_PROP_INDEXED,
     .index_max = LXC_CONF_MAX_MPS - 1,
     .format = "pve-volume-id",
     .description = "Reference to unused volumes"},
    /* kept by PVE in the file for snapshots; not settable through the API */
    {.name = "parent",
     .type = CONF_TYPE_STRING,
     .max_length = 40,
     .format = "pve-configid",
     .description = "Parent snapshot name"},
    {.name = "snaptime",
     .type = CONF_TYPE_INTEGER,
     .has_min = true,
     .min = 0,
     .description = "Timestamp for snapshots"},
    {.name = NULL},
};

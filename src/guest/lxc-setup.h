/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lxc-setup: Proxmox's PVE::LXC::Setup -- what is written inside a
 * container's root file system according to its distribution: hostname,
 * /etc/hosts, network configuration, resolv.conf, getty/inittab/securetty,
 * root's password and ssh keys.
 *
 * Every access inside the rootfs is relative to a directory fd of it and
 * resolved with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so a
 * symlink -- absolute or relative -- is followed as the container would
 * follow it and never leads out of the rootfs.  A file is replaced
 * atomically (a temporary file beside it, renamed over it: a symlink in
 * its place is replaced, not written through), owned by the container's
 * root (the map's host ids for an unprivileged container).  A file with a
 * ".pve-ignore.<name>" beside it is left alone, as in PVE.
 *
 * Runs in a task worker as root.  Files are read with a bound (a file
 * larger than LXC_SETUP_FILE_MAX fails the setup).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

struct error;
struct lxc_idmap;

#define LXC_SETUP_FILE_MAX (4u << 20)

/* The ostype of the tree (debian, devuan, ubuntu, alpine, centos, fedora,
 * opensuse, archlinux, unmanaged...) from its files, as PVE detects it. */
int lxc_setup_detect(const char *rootfs, char **ret_ostype, struct error **err);

/* What runs before every start (PVE's pre_start_hook): hostname,
 * /etc/hosts, network config, resolv.conf (nameserver/searchdomain or the
 * host's), inittab/securetty/... according to ostype, from conf (the main
 * section). Never follows a symlink out of rootfs.  Idempotent.
 * ostype NULL: detected. */
int lxc_setup_pre_start(const char *rootfs, const char *ostype, const json_t *conf, long vmid,
                        const struct lxc_idmap *map, struct error **err);

/* What runs once after create (PVE's post_create_hook): root's password
 * (pw_hash: a crypt(3) hash, NULL: unchanged) and ssh keys (NULL: none)
 * written inside -- and, as PVE does then, the template fixups, the
 * machine-id cleared, the root crontab's minutes randomized, everything
 * pre_start writes but /fastboot, and new ssh host keys when the tree has
 * /etc/ssh (ssh-keygen run on the host).  pw_hash "*": locked. */
int lxc_setup_post_create(const char *rootfs, const char *ostype, const json_t *conf,
                          const char *pw_hash, const char *ssh_keys, const struct lxc_idmap *map,
                          struct error **err);

/*
 * Test seams (never set in ctvmd): the random source of the crontab
 * minutes (a double in [0, 1)), the UUID of NetworkManager/ifcfg files,
 * the host's resolv.conf (default /etc/resolv.conf) whose nameservers and
 * search domains a container without its own gets.  NULL resets.
 */
struct lxc_setup_hooks {
	double (*rand)(void);
	void (*uuid)(char out[37]);
	const char *host_resolv_conf;
};
void lxc_setup_set_hooks(const struct lxc_setup_hooks *hooks);

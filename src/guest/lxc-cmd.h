/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lxc-cmd: the LXC config of a container (docs/dev/GUESTS.md, "Containers:
 * running").  A pure function of the container's main section (key ->
 * string, guest-conf.h Contract 1) and what the caller resolved on the
 * host (paths, the id map, host facts), so golden tests run without root.
 *
 * It writes what PVE's update_lxc_config() writes (the cgroup layout
 * lxc/<vmid>, Debian's lxc.include of <ostype>.common.conf and, for
 * unprivileged containers, <ostype>.userns.conf, the id map, tty count,
 * hostname, memory and CPU limits, one veth per netN, the raw lxc.* keys
 * last) with these differences:
 *
 *  - cgroup v1 keys (memory.limit_in_bytes, memory.memsw.limit_in_bytes,
 *    cpu.cfs_quota_us/cfs_period_us, cpu.shares) on a v1 host, PVE 7's
 *    names; cgroup2 keys (PVE 8's) only with opts->cgroup_v2;
 *  - the rootfs is the directory the caller mounted (dir:<path>), and mount
 *    points are lxc.mount.entry bind mounts of the host paths the caller
 *    resolved, not mounts made by a pre-start hook;
 *  - a veth joins its bridge through lxc.net.N.link (liblxc), not PVE's
 *    lxcnetaddbr hook; a VLAN tag is lxc.net.N.veth.vlan.id, the untagged
 *    VLAN of the bridge port (the bridge must filter VLANs, as PVE's
 *    VLAN-aware bridges do); rate= and firewall= are not applied;
 *  - no AppArmor profile where the host has none (unconfined); no
 *    generated seccomp rules (keyctl is not refused in unprivileged
 *    containers); cores is not pinned to a cpuset;
 *  - busybox-init ostypes (alpine) stop on SIGUSR1, reboot on SIGTERM;
 *  - without lxcfs on the host, the lxcfs hooks of Debian's common.conf.d
 *    are cleared (a no-op mount hook, a post-stop hook that sleeps 0.5 s).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "lxc-idmap-types.h"

struct error;

/* Where Debian's lxc keeps the distribution configs lxc.include names. */
#define LXC_CMD_CONFIG_DIR "/usr/share/lxc/config"

struct lxc_cmd_opts {
	long vmid;
	const char *rootfs_path;       /* a directory (mounted rootfs) */
	const char *const *mp_paths;   /* host path per mpN key, parallel to mp_keys */
	const char *const *mp_keys;    /* "mp0", ...; NULL-terminated */
	const struct lxc_idmap *idmap; /* n 0: privileged */
	const json_t *raw;             /* lxc_conf_raw_keys(): appended last (root's) */
	bool cgroup_v2;                /* false on this host (v1 hybrid) */
	bool apparmor;                 /* false: lxc.apparmor.profile = unconfined */
	const char *console_dir;       /* where the console socket / log goes */
	bool memsw; /* v1: the host accounts swap (memory.memsw.*): memory+swap limit */
	/* lxcfs serves /var/lib/lxcfs: keep the hooks Debian's common.conf.d
	 * adds for it; false: cleared (its post-stop hook sleeps 0.5 s) */
	bool lxcfs;
};

/*
 * The config text ("key = value" lines) of container o->vmid from conf,
 * its main section.  400 with the key for a value that cannot be used
 * (a bad net or mount point, a line break anywhere), 500 for missing
 * caller facts (rootfs path).  *ret_text is the caller's.
 */
int lxc_cmd_build(const json_t *conf, const struct lxc_cmd_opts *o, char **ret_text,
                  struct error **err);

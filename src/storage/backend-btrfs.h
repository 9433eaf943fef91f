/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backend-btrfs: the btrfs storage type (storage.md 1.4, 1.6).
 *
 * Every volume is a subvolume under <path>/images/<vmid>/: a VM disk
 * "100/vm-100-disk-0.raw" is the file disk.raw inside subvolume
 * vm-100-disk-0, a container volume "100/subvol-100-disk-0.subvol" is the
 * subvolume itself (size limit: its qgroup's max referenced).  Snapshots are
 * read-only sibling subvolumes "<subvolume>@<snap>"; templates are renamed
 * to base-/basevol- and set read-only; linked clones are writable snapshots
 * of a base that remember it in the xattr user.ctvm.parent.
 *
 * Subvolume operations use libbtrfsutil; qgroups go through the btrfs
 * command via the runner, built by the pure builders below.
 */
#pragma once

#include <stdint.h>

struct cmd;
struct storage_backend;

extern const struct storage_backend storage_backend_btrfs;

/* btrfs -q qgroup limit <bytes|none> -- <path>  (bytes 0: none) */
void btrfs_qgroup_limit_build_cmd(struct cmd *c, const char *path, uint64_t bytes);
/* btrfs qgroup show -re --raw -f -- <path> */
void btrfs_qgroup_show_build_cmd(struct cmd *c, const char *path);
/* btrfs -q quota enable <mountpoint> (absolute) */
void btrfs_quota_enable_build_cmd(struct cmd *c, const char *mountpoint);
/* mkfs.btrfs -q -f -- <device or image file> */
void btrfs_mkfs_build_cmd(struct cmd *c, const char *device);

/*
 * Parses the output of btrfs_qgroup_show_build_cmd() for qgroup 0/<subvolid>:
 * referenced bytes and the referenced limit (0 for "none").  -ENOENT when
 * the qgroup is not in the output, -EINVAL on a malformed line.
 */
int btrfs_qgroup_show_parse(const char *out, uint64_t subvolid, uint64_t *ret_rfer,
                            uint64_t *ret_max_rfer);

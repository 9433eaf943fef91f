/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * disks-ops: what runs commands for the Disks API: the node's inventory,
 * the listings of what exists (volume groups, thin pools, zpools, directory
 * mounts), and the four task operations that create storage on an unused
 * disk, PVE's UPID types with these argument objects:
 *
 *   lvmcreate      {name, device, add-storage}
 *   lvmthincreate  {name, device, add-storage}
 *   zfscreate      {name, devices, raidlevel, ashift, compression, add-storage}
 *   dircreate      {name, device, filesystem, add-storage}
 *
 * devices is a comma-separated list of /dev paths.  Each operation checks
 * again that its disks are unused (they may have changed since the API
 * looked), then creates; when a later step fails it takes back what the
 * earlier ones made (the PV, the VG, the file system, the mount, the fstab
 * line), so a failed task leaves the disk blank.  add-storage writes the
 * storage.cfg entry last, restricted to this node as PVE does.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct disk_info;
struct error;
struct storage_task_env;
struct task_ops;
struct task_worker;

enum disks_kind { DISKS_LVM, DISKS_LVMTHIN, DISKS_ZFS, DISKS_DIR };

struct disks_request {
	enum disks_kind kind;
	const char *name;        /* storage id, VG, pool or directory name */
	char **devices;          /* strv of /dev paths; one but for zfs */
	const char *raidlevel;   /* zfs: single mirror raidz raidz2 raidz3 */
	const char *compression; /* zfs */
	unsigned ashift;         /* zfs, 9..16 */
	const char *filesystem;  /* dir: ext4 xfs */
	bool add_storage;
};

/* The request's own rules, without looking at the host: 400 naming the
 * problem (name, device paths, their number for the raid level, the
 * enumerations, no device twice). */
int disks_request_check(const struct disks_request *rq, struct error **err);

/* lsblk and pvs, classified (disks.h); pvs may be missing (no lvm2). */
int disks_inventory(struct disk_info **ret, size_t *ret_n, struct error **err);
/* disks_inventory() and disks_check_unused() on each of devices. */
int disks_check_devices_unused(char *const *devices, struct error **err);

/* Runs rq (task_log on w, which may be NULL in tests), env's store and
 * node for add_storage. */
int disks_create(const struct disks_request *rq, const struct storage_task_env *env,
                 struct task_worker *w, struct error **err);

/* GET .../disks/{lvm,lvmthin,zfs,directory}: what exists. */
int disks_list_lvm(json_t **ret, struct error **err);
int disks_list_lvmthin(json_t **ret, struct error **err);
int disks_list_zfs(json_t **ret, struct error **err);
int disks_list_directory(json_t **ret, struct error **err);

/* GET /nodes/{node}/scan/{lvm,lvmthin,zfs} (PVE::API2::Storage::Scan): the
 * volume groups [{vg, size, free}], the thin pools of vg (rows of
 * disks/lvmthin) and the pools [{pool, size, free}] (whole pools only:
 * PVE also lists their file-system datasets).  A host without lvm2 or
 * zfsutils answers an empty list, as one without volume groups or pools. */
int disks_scan_lvm(json_t **ret, struct error **err);
int disks_scan_lvmthin(const char *vg, json_t **ret, struct error **err);
int disks_scan_zfs(json_t **ret, struct error **err);

/* The task type of a kind ("lvmcreate", ...). */
const char *disks_task_type(enum disks_kind kind);
/* rq as the operation's arguments, and back (strings point into args;
 * free the strv with disks_request_clear()). */
json_t *disks_request_args(const struct disks_request *rq);
void disks_request_clear(struct disks_request *rq);

/* Registers the four operations; called by storage_task_ops_register(). */
int disks_task_ops_register(struct task_ops *reg, struct storage_task_env *env, struct error **err);

/* Tests: where the fstab and the mount points are (default /etc/fstab,
 * /mnt/pve); NULL restores the default. */
void disks_set_paths(const char *fstab, const char *mount_base);

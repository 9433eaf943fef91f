/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * disks: the node's block devices and storage created from a blank disk, as
 * Proxmox's Disks panel does (PVE::Diskmanage, PVE::API2::Disks::*).
 *
 * The inventory comes from one `lsblk --json --list --bytes` (which reads
 * /sys/block, the udev database and /proc/self/mountinfo itself), completed
 * by `pvs` for physical volumes blkid cannot tell (a PV on a device lsblk
 * has no signature for).  The parsers and the classification are pure
 * (unit tests on recorded output, a fuzzer each); disks_inventory() runs
 * the commands through the one runner.
 *
 * A device is "in use" when it is an LVM PV, a ZFS member, mounted, holds
 * partitions, is held by device-mapper, or carries any file-system or RAID
 * signature: creating anything on it would destroy data, so the four
 * creation operations (disks-ops.c) refuse it, in the API before the task
 * starts and again in the task itself (the disk may change in between).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct cmd;
struct error;

#define DISKS_MAX_DEVICES     4096 /* rows of lsblk / pvs output taken */
#define DISKS_ZFS_MAX_DEVICES 64

struct disk_info {
	char *name;     /* "sdb", "sdb1" */
	char *devpath;  /* "/dev/sdb" */
	char *parent;   /* a partition's disk ("/dev/sdb"), else NULL */
	bool partition; /* else a whole disk */
	uint64_t size;  /* bytes */
	bool rotational;
	char *model, *serial, *wwn, *vendor, *tran; /* NULL when unknown */
	char *fstype;                               /* blkid's TYPE: "ext4", "LVM2_member", ... */
	char *mountpoint;                           /* NULL when not mounted */
	char *pttype;                               /* "gpt", "dos" or NULL */
	bool held;  /* a device-mapper (or other) device sits on it */
	char *used; /* disks_classify(): NULL when unused */
};

/*
 * The disks and partitions of `lsblk --json --list --bytes -o
 * DISKS_LSBLK_FIELDS` output (other rows, of type lvm, crypt, loop, rom,
 * only mark their parent as held by device-mapper; zram, ram and floppy
 * disks are left out).  -EINVAL (*ret untouched) for output that is not
 * such a report or a row without name, path or type; -E2BIG above
 * DISKS_MAX_DEVICES rows.
 */
int disks_lsblk_parse(const char *json, size_t len, struct disk_info **ret, size_t *ret_n);
void disk_info_list_free(struct disk_info *d, size_t n);

/* The physical volumes of `pvs --reportformat json -o pv_name,vg_name`
 * (strv of device paths).  -EINVAL / -E2BIG as above. */
int disks_pvs_parse(const char *json, size_t len, char ***ret);

/* KEY=value lines of `blkid -o export <dev>`: the value of key (a new
 * string) or -ENOENT; -EINVAL for a line that is not KEY=value. */
int disks_blkid_get(const char *out, const char *key, char **ret);

/* `blkid -c /dev/null -o export` (every device, probed afresh; blocks of
 * KEY=value lines, a blank line between): the TYPE of each DEVNAME becomes
 * the fstype of that device of d where lsblk had none (lsblk reads it from
 * the udev database, which a host without udev lacks).  -EINVAL for a line
 * that is not KEY=value (d untouched). */
int disks_blkid_all_apply(const char *out, struct disk_info *d, size_t n);

/* Sets every device's `used` (PVE's words): "LVM", "ZFS", "mounted",
 * "partitions", "Device Mapper", else its file-system type; pvs (NULL:
 * none) lists physical volumes.  A disk whose partition is in use is
 * "partitions" anyway. */
void disks_classify(struct disk_info *d, size_t n, char *const *pvs);

/* The row of GET /nodes/{node}/disks/list for d, in Proxmox's fields and
 * JSON types (gpt and mounted 0/1, size an integer, health "UNKNOWN"). */
json_t *disk_info_json(const struct disk_info *d);

/* The device named path (a /dev path as given; disks_resolve() follows
 * /dev/disk/by-* links first), or NULL. */
const struct disk_info *disks_find(const struct disk_info *d, size_t n, const char *path);

/* 400 "device '<path>' is already in use (<what>)" or "unable to find
 * device '<path>'" unless path is an unused disk or partition of d. */
int disks_check_unused(const struct disk_info *d, size_t n, const char *path, struct error **err);

/* A /dev path's grammar: "/dev/" then [A-Za-z0-9._:+/-], no "..", at most
 * 255 bytes. */
bool disks_devpath_valid(const char *path);

/* lvmthin sizes on a new VG of vg_bytes (storage.md 5.3): metadata 1% of
 * the VG, at least 1 GiB where the VG has 16 GiB or more and at most 16
 * GiB; the same again for LVM's spare metadata LV; 1% (at least 4 MiB) of
 * slack left free for autoextend; all in whole 4 MiB extents.  -ENOSPC
 * when too small for a pool (below 64 MiB). */
int disks_thin_sizes(uint64_t vg_bytes, uint64_t *ret_data, uint64_t *ret_meta);

/* zfs raid levels: -EINVAL with a 400 naming the rule unless n devices
 * fit level ("single" 1, "mirror" 2+, "raidz" 3+, "raidz2" 4+, "raidz3"
 * 5+). */
int disks_zfs_check_devices(const char *level, size_t n, struct error **err);

/* The /etc/fstab line of a directory storage's file system. */
char *disks_fstab_line(const char *uuid, const char *mountpoint, const char *fstype);

/* The directory storages of an fstab (mounts under DISKS_MOUNT_BASE): rows
 * {path, device, type, options} of GET /nodes/{node}/disks/directory. */
json_t *disks_fstab_dirs(const char *fstab);

#define DISKS_MOUNT_BASE "/mnt/pve"

/* --- builders (golden tests) --- */

#define DISKS_LSBLK_FIELDS \
	"NAME,PATH,TYPE,SIZE,ROTA,MODEL,SERIAL,WWN,VENDOR,TRAN,FSTYPE,MOUNTPOINT,PTTYPE,PKNAME"
/* lsblk --json --list --bytes -o DISKS_LSBLK_FIELDS */
void disks_lsblk_build_cmd(struct cmd *c);
/* pvs --reportformat json -o pv_name,vg_name */
void disks_pvs_build_cmd(struct cmd *c);
/* blkid -o export <dev> */
void disks_blkid_build_cmd(struct cmd *c, const char *dev);
/* blkid -c /dev/null -o export */
void disks_blkid_all_build_cmd(struct cmd *c);
/* lvcreate --yes --type thin-pool -L <K>k --poolmetadatasize <K>k -n <pool>
 * <vg>: lvm2 2.03 refuses --errorwhenfull here (exit 3), so the pool gets
 * it from lvm_errorwhenfull_build_cmd() next */
void disks_thinpool_create_build_cmd(struct cmd *c, const char *vg, const char *pool,
                                     uint64_t data_bytes, uint64_t meta_bytes);
/* pvremove -y <dev>; vgremove -y <vg> (undoing a half-done creation) */
void disks_pvremove_build_cmd(struct cmd *c, const char *dev);
void disks_vgremove_build_cmd(struct cmd *c, const char *vg);
/* zpool create -o ashift=<n> -O compression=<c> <pool> [<level>] <devs...> */
void disks_zpool_create_build_cmd(struct cmd *c, const char *pool, unsigned ashift,
                                  const char *compression, const char *level, char *const *devices);
/* zpool list -Hp -o name,size,alloc,free,frag,dedupratio,health */
void disks_zpool_list_build_cmd(struct cmd *c);
/* mkfs.ext4 -q -F <dev> | mkfs.xfs -q -f <dev> */
void disks_mkfs_build_cmd(struct cmd *c, const char *fstype, const char *dev);
/* mount -t <fstype> <dev> <dir>; umount <dir> */
void disks_mount_build_cmd(struct cmd *c, const char *fstype, const char *dev, const char *dir);
void disks_umount_build_cmd(struct cmd *c, const char *dir);
/* wipefs -a <dev>: takes back a fresh file system that could not be used */
void disks_wipefs_build_cmd(struct cmd *c, const char *dev);

/* `zpool list -Hp -o name,size,alloc,free,frag,dedupratio,health` lines as
 * rows of GET /nodes/{node}/disks/zfs; -EINVAL for a malformed line. */
int disks_zpool_list_parse(const char *out, json_t **ret);

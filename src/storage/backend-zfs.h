/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backend-zfs: the zfspool storage type (storage.md 1.6-1.9, 5.2).
 *
 * A VM disk is a zvol "<pool>/vm-<vmid>-disk-N" (sparse with `sparse`,
 * volblocksize `blocksize`), a container volume the dataset
 * "<pool>/subvol-<vmid>-disk-N" limited by refquota.  Snapshots are ZFS
 * snapshots "<dataset>@<snap>"; a template is renamed to base-... and gets
 * the snapshot "@__base__", which its linked clones ("zfs clone") start
 * from; a clone's volume name records its base:
 * "base-100-disk-0/vm-101-disk-0".
 *
 * Every command is built by the pure builders below (golden-tested) and
 * read back from `-Hp` output: tab-separated, exact bytes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cmd;
struct storage_backend;

extern const struct storage_backend storage_backend_zfspool;

/* --- builders (sizes: KiB; volsize rounded up to 1 MiB, openzfs #8541) --- */

/* zfs create [-s] [-b <blocksize>] -V <K>k <dataset> */
void zfs_create_zvol_build_cmd(struct cmd *c, const char *dataset, uint64_t bytes, bool sparse,
                               const char *blocksize);
/* zfs create -o acltype=posixacl -o xattr=sa -o refquota=<K>k|none <dataset>
 * (bytes 0: none) */
void zfs_create_subvol_build_cmd(struct cmd *c, const char *dataset, uint64_t bytes);
/* zfs snapshot <dataset>@<snap> */
void zfs_snapshot_build_cmd(struct cmd *c, const char *dataset, const char *snap);
/* zfs rollback [-r] <dataset>@<snap>: -r (destroying the newer snapshots)
 * only when the caller was told to */
void zfs_rollback_build_cmd(struct cmd *c, const char *dataset, const char *snap,
                            bool destroy_newer);
/* zfs clone [-o refquota=<K>k] <dataset>@<snap> <newdataset> (bytes 0: no
 * refquota option) */
void zfs_clone_build_cmd(struct cmd *c, const char *dataset, const char *snap,
                         const char *newdataset, uint64_t refquota);
/* zfs destroy [-r] <dataset>; with snap: zfs destroy <dataset>@<snap> */
void zfs_destroy_build_cmd(struct cmd *c, const char *dataset, const char *snap, bool recursive);
/* zfs set volsize=<K>k <dataset> (rounded up to 1 MiB) */
void zfs_set_volsize_build_cmd(struct cmd *c, const char *dataset, uint64_t bytes);
/* zfs set refquota=<K>k|none <dataset> */
void zfs_set_refquota_build_cmd(struct cmd *c, const char *dataset, uint64_t bytes);
/* zfs rename <from> <to> */
void zfs_rename_build_cmd(struct cmd *c, const char *from, const char *to);
/* zfs get -Hp -o name,property,value <props> <dataset> */
void zfs_get_build_cmd(struct cmd *c, const char *props, const char *dataset);
/* zfs list -Hp -t volume,filesystem -d1 -o name,type,volsize,refquota,origin,used,creation
 *   <pool> */
void zfs_list_build_cmd(struct cmd *c, const char *pool);
/* zfs list -Hp -t snapshot -d1 -s creation -o name,creation <dataset> */
void zfs_list_snapshots_build_cmd(struct cmd *c, const char *dataset);
/* zpool list -Hp -o name,size,alloc,free,frag,cap,health <pool> */
void zpool_list_build_cmd(struct cmd *c, const char *pool);
/* zpool status -x <pool> */
void zpool_status_build_cmd(struct cmd *c, const char *pool);
/* zpool create -o ashift=<n> [-m <mountpoint>] <pool> [mirror|raidz...] <devs...>
 * (layout NULL or "single": the devices as they are) */
void zpool_create_build_cmd(struct cmd *c, const char *pool, unsigned ashift, const char *layout,
                            const char *const *devices, size_t n_devices);

/* How long alloc, clone and create_base wait for a zvol's device link
 * (default 10 s); 0: not at all, and a busy dataset's destroy is retried
 * without pausing (dry-run tests, where nothing is created). */
void zfs_set_zvol_wait(int ms);

/* --- parsers of -Hp output --- */

struct zfs_dataset {
	char *name;                       /* full: "tank/data/vm-100-disk-0" */
	bool volume;                      /* type volume, else filesystem */
	uint64_t volsize, refquota, used; /* bytes; 0 for "-" / none */
	char *origin;                     /* "tank/base-100-disk-0@__base__" or NULL */
	long long creation;
};

struct zfs_snapshot {
	char *name; /* the part after '@' */
	long long creation;
};

struct zpool_info {
	char *name;
	uint64_t size, alloc, free;
	int frag, cap; /* percent; -1 when "-" */
	char *health;  /* ONLINE, DEGRADED, ... */
};

#define ZFS_MAX_ROWS 65536

/* The lines of zfs_list_build_cmd() output.  -EINVAL (*ret untouched) on a
 * line with other fields, -E2BIG above ZFS_MAX_ROWS lines. */
int zfs_list_parse(const char *out, struct zfs_dataset **ret, size_t *ret_n);
void zfs_dataset_list_free(struct zfs_dataset *d, size_t n);
/* zfs_list_snapshots_build_cmd() output, in its order (creation). */
int zfs_snapshots_parse(const char *out, struct zfs_snapshot **ret, size_t *ret_n);
void zfs_snapshot_list_free(struct zfs_snapshot *s, size_t n);
/* The value of property prop in zfs_get_build_cmd() output ("name\tprop\tvalue"
 * lines), as bytes: "-" and "none" are 0.  -ENOENT when it is not there,
 * -EINVAL when it is not a number. */
int zfs_get_parse_u64(const char *out, const char *prop, uint64_t *ret);
/* zpool_list_build_cmd() output: its one line. */
int zpool_list_parse(const char *out, struct zpool_info *ret);
void zpool_info_clear(struct zpool_info *p);

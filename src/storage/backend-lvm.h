/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backend-lvm: the lvm (thick) and lvmthin storage types (storage.md 1.6-1.9).
 *
 * A volume is a logical volume of the storage's volume group, named as PVE
 * names them: "vm-<vmid>-disk-N" (and "base-<vmid>-disk-N" for lvmthin
 * templates), tagged "pve-vm-<vmid>" with its owner, created with
 * autoactivation off.  lvmthin volumes live in the thin pool `thinpool`; a
 * snapshot <snap> of volume <lv> is the thin LV "snap_<lv>_<snap>" and a
 * linked clone is a thin snapshot of its base.
 *
 * Everything goes through the lvm2 commands, built by the pure builders
 * below (golden-tested) and read back through their JSON reports (sizes in
 * bytes: --units b --nosuffix).  Sizes handed to LVM are KiB, rounded up.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cmd;
struct storage_backend;

extern const struct storage_backend storage_backend_lvm;
extern const struct storage_backend storage_backend_lvmthin;

/* --- names --- */

#define LVM_NAME_MAX 127 /* lvm2's NAME_LEN, less its NUL */

/* lvm(8)'s grammar for VG and LV names: a-z A-Z 0-9 + _ . -, not starting
 * with '-' (so never an option of an lvm command), not "." or "..", at most
 * LVM_NAME_MAX bytes.  The one check of every name ctvm hands to lvm2 from
 * a client or storage.cfg (vgname, thinpool, pvesm scan's vg). */
bool lvm_name_valid(const char *name);

/* --- builders --- */

/* lvcreate -aly -Wy --yes --size <K>k --name <lv> --setautoactivation n
 *   --addtag pve-vm-<vmid> <vg> */
void lvm_lvcreate_build_cmd(struct cmd *c, const char *vg, const char *lv, long vmid,
                            uint64_t bytes);
/* lvcreate -aly -V <K>k --name <lv> --addtag pve-vm-<vmid> --thinpool <vg>/<pool> */
void lvm_lvcreate_thin_build_cmd(struct cmd *c, const char *vg, const char *pool, const char *lv,
                                 long vmid, uint64_t bytes);
/* lvcreate --yes --type thin-pool -L <K>k --poolmetadatasize <K>k
 *   -n <pool> <vg>.  The thin pools ctvm creates fail writes at once when
 * full instead of queueing a guest's I/O: lvm 2.03.16 refuses
 * --errorwhenfull on lvcreate of a thin pool, so the creator follows this
 * with lvm_errorwhenfull_build_cmd(). */
void lvm_thinpool_create_build_cmd(struct cmd *c, const char *vg, const char *pool,
                                   uint64_t data_bytes, uint64_t meta_bytes);
/* lvchange --errorwhenfull y <vg>/<pool> */
void lvm_errorwhenfull_build_cmd(struct cmd *c, const char *vg, const char *pool);
/* lvchange --setautoactivation n <vg>/<lv> (thin LVs: lvcreate of some
 * lvm2 versions refuses the flag for them) */
void lvm_noautoactivation_build_cmd(struct cmd *c, const char *vg, const char *lv);
/* lvcreate -n <snaplv> -pr -ky -s <vg>/<lv>: a read-only thin snapshot,
 * skipped by activation */
void lvm_snapshot_build_cmd(struct cmd *c, const char *vg, const char *lv, const char *snaplv);
/* lvcreate -n <lv> -kn --addtag pve-vm-<vmid> -s <vg>/<snaplv>: the origin
 * again, from a snapshot (rollback), activatable */
void lvm_rollback_build_cmd(struct cmd *c, const char *vg, const char *snaplv, const char *lv,
                            long vmid);
/* lvcreate -n <newlv> -prw -kn --addtag pve-vm-<vmid> -s <vg>/<base>: a
 * linked clone */
void lvm_clone_build_cmd(struct cmd *c, const char *vg, const char *base, const char *newlv,
                         long vmid);
/* lvremove -f <vg>/<lv> */
void lvm_lvremove_build_cmd(struct cmd *c, const char *vg, const char *lv);
/* lvextend --size <K>k <vg>/<lv>: grows only (lvresize would shrink a
 * volume, and its data, without a word) */
void lvm_lvextend_build_cmd(struct cmd *c, const char *vg, const char *lv, uint64_t bytes);
/* lvrename <vg> <old> <new> */
void lvm_lvrename_build_cmd(struct cmd *c, const char *vg, const char *from, const char *to);
/* lvchange -pr -ky <vg>/<lv> (a template: read-only, activation-skip) */
void lvm_readonly_build_cmd(struct cmd *c, const char *vg, const char *lv);
/* lvchange -ay [-K] <vg>/<lv>; -an to deactivate (active false) */
void lvm_lvchange_activate_build_cmd(struct cmd *c, const char *vg, const char *lv, bool active,
                                     bool ignore_skip);
/* blkdiscard --zeroout <device>: saferemove */
void lvm_zero_build_cmd(struct cmd *c, const char *device);
/* lvs --reportformat json --units b --nosuffix
 *   --config report/time_format="%s" -o <LVM_LVS_FIELDS> <vg>[/<lv>] */
void lvm_lvs_build_cmd(struct cmd *c, const char *vg, const char *lv);
/* vgs --reportformat json --units b --nosuffix -o vg_name,vg_size,vg_free,lv_count [<vg>] */
void lvm_vgs_build_cmd(struct cmd *c, const char *vg);
/* pvcreate --metadatasize 250k <dev>; vgcreate <vg> <dev> (the Disks API) */
void lvm_pvcreate_build_cmd(struct cmd *c, const char *device);
void lvm_vgcreate_build_cmd(struct cmd *c, const char *vg, const char *device);

/* --- parsers of the JSON reports --- */

struct lvm_lv {
	char *vg, *name;
	uint64_t size;      /* bytes */
	char attr[11];      /* lv_attr, NUL-terminated; "" when absent */
	char *pool;         /* pool_lv: the thin pool of a thin LV, else NULL */
	char *origin;       /* the origin of a snapshot, else NULL */
	double data_pct;    /* data_percent (thin pools and volumes); -1: none */
	double meta_pct;    /* metadata_percent (thin pools); -1: none */
	char **tags;        /* lv_tags, NULL-terminated (strv), never NULL */
	long long ctime;    /* lv_time as seconds; 0 when unknown */
	uint64_t meta_size; /* lv_metadata_size, bytes; 0 when none */
	int when_full;      /* lv_when_full: 1 error, 0 queue, -1 unknown */
};

struct lvm_vg {
	char *name;
	uint64_t size, free; /* bytes */
	long lv_count;
};

#define LVM_REPORT_MAX_ROWS 65536

/* The rows of `lvs --reportformat json` / `vgs --reportformat json` output
 * (the builders' fields; others are ignored, missing ones take their
 * defaults).  -EINVAL (*ret untouched) for output that is not such a
 * report, a row without a name or a number that is not one; -E2BIG above
 * LVM_REPORT_MAX_ROWS rows. */
int lvm_lvs_parse(const char *json, size_t len, struct lvm_lv **ret, size_t *ret_n);
int lvm_vgs_parse(const char *json, size_t len, struct lvm_vg **ret, size_t *ret_n);
void lvm_lv_list_free(struct lvm_lv *lvs, size_t n);
void lvm_vg_list_free(struct lvm_vg *vgs, size_t n);
bool lvm_lv_has_tag(const struct lvm_lv *lv, const char *tag);

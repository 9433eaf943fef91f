/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Throw-away lvm, lvmthin and zfspool storages for the contract suite, made
 * on a blank block device the lab VM tier hands over in CTVM_LAB_DISK (a
 * second one, CTVM_LAB_DISK2, for mirrors).  Setup wipes the disk and makes
 * the volume group "ctvmlab" (plus thin pool "data" for lvmthin) or the
 * zpool "ctvmlab" on it, and a storage section "<type>: <id>" naming it;
 * teardown destroys it and wipes the disk again.
 *
 * The host where unit tests normally run has no device-mapper and no ZFS:
 * setup answers -EOPNOTSUPP (the caller skips) when CTVM_LAB_DISK is unset,
 * when not root, when the tools are missing or when the storage type has no
 * backend yet.
 */
#pragma once

#include <stdbool.h>

struct section;
struct section_config;

struct lab_fixture {
	char *type; /* lvm, lvmthin, zfspool */
	char *disk;
	char *dir; /* a temp dir (lock files, read copies) */
	struct section_config *cfg;
	struct section *section; /* in cfg */
};

#define LAB_VG   "ctvmlab"
#define LAB_POOL "ctvmlab"
#define LAB_THIN "data"

/* 0 and *ret, -EOPNOTSUPP when this host cannot do it, another negative
 * errno on failure (message on stderr). */
int lab_fixture_setup(const char *type, const char *id, struct lab_fixture **ret);
/* Destroys the VG / zpool, wipes the disk, removes the temp dir; accepts
 * NULL. */
void lab_fixture_teardown(struct lab_fixture *f);
/* How many volumes are left: LVs of the VG other than the thin pool, or
 * datasets below the zpool's root; negative errno when it cannot tell. */
int lab_fixture_count_volumes(const struct lab_fixture *f);
/* The storage's total size as the tools report it, independently of the
 * backend's parsers: vgs vg_size (lvm), lvs lv_size of the thin pool
 * (lvmthin), zfs get available + used of the pool (zfspool).  Bytes, or a
 * negative errno. */
long long lab_fixture_total(const struct lab_fixture *f);

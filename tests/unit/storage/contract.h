/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The storage contract sequence (contract.c): one sequence of operations
 * every backend must pass, driven only through the storage_*() entry points.
 * A fixture brings a fresh storage section on something the backend can use
 * (a temp directory for dir, a loop-mounted file system for btrfs, the lab
 * VM's disks for lvm, lvmthin and zfspool, a storage the Disks API made);
 * steps that need a capability the backend lacks are skipped, and a format
 * is only used where the backend lists it.
 *
 * Used by test-storage-contract.c (its fixtures and the tests beyond the
 * sequence) and by the lab VM's disks-lab.c (the sequence on each storage the
 * Disks API created).  cmocka test code: failures are cmocka assertions.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct cmd;
struct error;
struct section;
struct section_config;
struct storage;
struct storage_config_snapshot;
struct storage_status;
struct FTW;

#define MiB (1ull << 20)

struct contract_env {
	char *root; /* temp dir of the whole run, removed at the end */
	char *path; /* the storage's directory: must be empty again at the end */
	struct section_config *cfg;
	struct section *section; /* in cfg */
	void *priv;              /* the fixture's own state */
	/* cfg as the store hands it out, made at the first env_open(); it owns
	 * cfg from then on.  A test may still change section between opens. */
	const struct storage_config_snapshot *snap;
};

struct contract_fixture {
	const char *type;
	/* 0, or -EOPNOTSUPP when this host cannot provide it (skip) */
	int (*setup)(struct contract_env *env);
	void (*teardown)(struct contract_env *env);
	/* the backend can limit a subvol's size (btrfs qgroups) */
	bool subvol_size;
	/* optional, for a storage without a path (LVM, ZFS): asserts that
	 * nothing of it is left once every volume is freed (no LV, no
	 * dataset).  NULL: env->path holds nothing but empty directories. */
	void (*assert_empty)(struct contract_env *env);
	/* needs the lab VM (CTVM_LAB_DISK): run only when selected by name */
	bool lab;
	/* rolls back only to the latest snapshot (ZFS): an older one is
	 * refused naming the newer ones, unless they are to be destroyed */
	bool rollback_latest_only;
	/* must copy from a snapshot (PVE's volume_has_feature 'copy' with a
	 * snapname: dir's qcow2, btrfs, lvmthin), so that step cannot pass by
	 * being refused; false: it is checked either way (copied right, or
	 * refused with nothing allocated) */
	bool copy_snapshot;
	/* optional: compares a status with what the host's tools say */
	void (*check_status)(struct contract_env *env, const struct storage_status *s);
};

/* Runs the whole sequence on a fresh storage from fx->setup() and tears it
 * down; skips (or fails, with CTVM_CONTRACT_REQUIRE set) when setup answers
 * -EOPNOTSUPP. */
void contract_run(const struct contract_fixture *fx);

/* --- helpers for the suites built on it --- */

void rm_rf(const char *path);
/* Opens the fixture's storage from its config snapshot. */
int env_open(struct contract_env *env, struct storage **ret, struct error **err);
void env_config_free(struct contract_env *env);
/* Fails the test with the error's message when r < 0. */
void check_ok(int r, struct error *err, const char *what);
void run_cmd_ok(struct cmd *c);
char *vol_path(struct storage *st, const char *volname);
/* 4 KiB of byte at offset, as a guest would see it. */
void vol_write(struct storage *st, const char *volname, const char *fmt, uint64_t off,
               unsigned char byte);
/* The byte at offset as a guest sees it. */
unsigned char vol_read(struct contract_env *env, struct storage *st, const char *volname,
                       const char *fmt, uint64_t off);
bool has_format(const struct storage *st, const char *fmt);
bool listed(struct storage *st, long vmid, const char *volname);
size_t count(struct storage *st, long vmid);
/* nftw() callback: anything but a content directory is a leak. */
int leftover_entry(const char *path, const struct stat *s, int flag, struct FTW *ftw);
/* FS_IOC_GETFLAGS works on the file system holding dir */
bool flags_supported(const char *dir);
bool file_immutable(const char *path);

/* OK(storage_x(..., E), "what"): the call must succeed. */
#define OK(call, what)                     \
	do {                               \
		struct error *err_ = NULL; \
		int r_ = (call);           \
		check_ok(r_, err_, what);  \
	} while (0)
#define E (&err_)

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A throw-away btrfs storage for tests: a 512 MiB file in a temp dir,
 * mkfs.btrfs, loop-mounted, quotas enabled, and a storage section
 * "btrfs: <id>" with "path <mnt>/store".
 */
#pragma once

#include <stdbool.h>

struct section;
struct section_config;

struct btrfs_fixture {
	char *dir;   /* the temp dir holding everything */
	char *image; /* <dir>/btrfs.img */
	char *mnt;   /* <dir>/mnt */
	bool mounted;
	struct section_config *cfg;
	struct section *section; /* in cfg */
};

/* 0 and *ret, -EOPNOTSUPP when this host cannot do it (not root, no
 * mkfs.btrfs, no loop devices: the caller skips), another negative errno
 * on failure (message on stderr). */
int btrfs_fixture_setup(const char *id, struct btrfs_fixture **ret);
/* Unmounts and removes everything; accepts NULL. */
void btrfs_fixture_teardown(struct btrfs_fixture *f);

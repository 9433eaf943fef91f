/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * What the lab VM's test programs (disks-lab.c, full-lab.c) share: the
 * disks they may touch.
 */
#pragma once

/* The lab VM's three disks from CTVM_LAB_DISKS (blank disk, partition,
 * partition; a strv), or NULL with a line on stdout saying why when the
 * variable does not name three, or one of them is not a 4 GiB virtio disk
 * or a partition of one: the program then exits 77 (skipped) and touches
 * nothing. */
char **lab_disks_from_env(void);

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * guest-ops: the guest layer's task operations, registered once at start
 * with the guest store their bodies use (task_worker_env()).
 *
 * Node-wide (PVE's startall/stopall):
 *   startall  {[vms], [force]}                      onboot guests in startup order
 *   stopall   {[vms], [timeout], [force-stop]}       running ones, reverse order
 * Per guest, for each kind (qemu: the types below; lxc later with vz*):
 *   qmstart, qmstop, qmshutdown, qmreboot, qmreset, qmsuspend, qmresume
 *             {vmid, [timeout], [skiplock], [force-stop], [todisk]}
 *   qmdestroy {vmid, [skiplock], [purge], [destroy-unreferenced-disks]}
 *   qmcreate  {vmid, conf, [start], [pool]}   conf: JSON text of key -> value
 *   qmconfig  {vmid, set, [delete], [revert], [digest], [force], [skiplock]}
 *
 * conf and set are checked again against the kind's table in the worker;
 * being one task argument each they are bounded by GUEST_CONF_ARG_MAX.
 *
 * Every body takes the guest's config lock, loads its config as it is now,
 * applies the dispatcher's rules (guest_check_op()) and only then calls
 * the kind's slot, so a refusal reads the same from the API (which checks
 * early) and from the task.
 */
#pragma once

#include "task.h"

/* The most a new config (qmcreate's conf) or one change (qmconfig's set)
 * may be as compact JSON text.  A config of every disk and NIC slot with
 * their options and an 8 KiB description (QEMU_CONF_DESCRIPTION_MAX) fits
 * in less than half; the API refuses more with 400 (PUT the rest). */
#define GUEST_CONF_ARG_MAX TASK_ARG_TEXT_MAX

struct error;
struct guest_store;
struct task_ops;

/* Registers every guest operation, once per registry; gs may be NULL in
 * tests that only look at the table. */
int guest_task_ops_register(struct task_ops *reg, struct guest_store *gs, struct error **err);
/* qmsnapshot, qmdelsnapshot, qmrollback (guest-snapshot.c). */
int guest_snapshot_task_ops_register(struct task_ops *reg, struct guest_store *gs,
                                     struct error **err);
/* resize (guest-disk-ops.c). */
int guest_disk_task_ops_register(struct task_ops *reg, struct guest_store *gs, struct error **err);
/* qmclone, qmtemplate (guest-clone.c). */
int guest_clone_task_ops_register(struct task_ops *reg, struct guest_store *gs, struct error **err);
